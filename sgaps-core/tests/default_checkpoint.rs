//! The committed `checkpoints/default`: small enough to ship, loads strictly, and beats
//! linear interpolation from the same 500 grid samples on frames of held-out levels and
//! episodes (`tests/data/heldout/`: full-resolution ground truth and the state vector
//! the game sent, recorded by tools/capture.py).

use std::path::PathBuf;

use image::GrayImage;
use sgaps_core::baselines::linear_delaunay;
use sgaps_core::metrics::{psnr, resized_to};
use sgaps_core::model::{AttentionOutput, FrameInput, Model, WEIGHTS_FILE};
use sgaps_core::pipeline::sampler::Sampler;
use sgaps_core::Config;
use tch::Device;

fn checkpoint() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../checkpoints/default")
}

#[test]
fn the_default_checkpoint_is_small_and_loads() {
    let size = std::fs::metadata(checkpoint().join(WEIGHTS_FILE)).unwrap().len();
    assert!(size <= 20 * 1024 * 1024, "{size} bytes");
    let model = Model::load_checkpoint(&checkpoint(), Device::Cpu).unwrap();
    assert_eq!(model.config().name, "spt_cpu");
}

#[test]
fn the_default_checkpoint_beats_linear_interpolation_on_held_out_frames() {
    let model = Model::load_checkpoint(&checkpoint(), Device::Cpu).unwrap();
    let (h, w) = model.config().height_width();
    let config = Config::load(None, &[]).unwrap();
    let grid = Sampler::new(&config.sampling, w as usize, h as usize, 0).unwrap().initial(500).unwrap();
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/heldout");
    let states: std::collections::HashMap<String, Vec<f32>> =
        serde_json::from_str(&std::fs::read_to_string(dir.join("states.json")).unwrap()).unwrap();
    let (mut model_total, mut linear_total) = (0.0, 0.0);
    for name in ["mario-1-2", "mario-4-1", "episode-pong", "episode-qbert"] {
        let truth = image::open(dir.join(format!("{name}.png"))).unwrap().to_luma8();
        let (tw, th) = truth.dimensions();
        let samples: Vec<[f32; 3]> = grid
            .iter()
            .map(|&[u, v]| {
                let (x, y) = (((u * tw as f32) as u32).min(tw - 1), ((v * th as f32) as u32).min(th - 1));
                [u, v, truth.get_pixel(x, y)[0] as f32]
            })
            .collect();
        let pixels: Vec<[f32; 3]> = samples.iter().map(|&[u, v, x]| [u, v, x / 255.0]).collect();
        let state = &states[name];
        let out = model.infer(&[FrameInput { pixels: &pixels, state }], AttentionOutput::None).unwrap();
        let values = Vec::<f32>::try_from(out.reconstruction.flatten(0, -1)).unwrap();
        let reconstruction = GrayImage::from_raw(w as u32, h as u32, values.iter().map(|v| (v * 255.0).round() as u8).collect()).unwrap();
        let target = resized_to(&truth, w as u32, h as u32);
        let (ours, linear) = (psnr(&target, &reconstruction).unwrap(), psnr(&target, &linear_delaunay(&samples, w as u32, h as u32)).unwrap());
        println!("{name}: model {ours:.2} dB, linear {linear:.2} dB");
        model_total += ours;
        linear_total += linear;
    }
    assert!(model_total > linear_total, "model {:.2} dB vs linear {:.2} dB (mean)", model_total / 4.0, linear_total / 4.0);
}
