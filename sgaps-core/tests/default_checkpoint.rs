//! The committed `checkpoints/default`: small enough to ship, loads strictly, and, served
//! by the engine on its built-in defaults, beats the classical methods on short clips of
//! games and levels it never trained on (`tests/data/clips/`: full-resolution ground
//! truth and the state vectors the game sent, recorded by tools/capture.py).

use std::path::PathBuf;

use sgaps_core::evaluation::{evaluate_clip, BaselineOptions, ClipScores};
use sgaps_core::model::{Model, WEIGHTS_FILE};
use sgaps_core::pipeline::Engine;
use tch::Device;

fn checkpoints() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../checkpoints")
}

#[test]
fn the_default_checkpoint_is_small_and_loads() {
    let size = std::fs::metadata(checkpoints().join("default").join(WEIGHTS_FILE)).unwrap().len();
    assert!(size <= 20 * 1024 * 1024, "{size} bytes");
    let model = Model::load_checkpoint(&checkpoints().join("default"), Device::Cpu).unwrap();
    assert_eq!(model.config().name, "temporal");
    assert!(model.temporal().is_some());
}

#[test]
fn the_default_checkpoint_beats_the_classical_methods_on_held_out_clips() {
    let engine = Engine::from_conf(None, &[format!("checkpoint_dir={}", checkpoints().display()), "device=cpu".into()]).unwrap();
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/clips");
    let states: std::collections::HashMap<String, Vec<Vec<f32>>> =
        serde_json::from_str(&std::fs::read_to_string(dir.join("states.json")).unwrap()).unwrap();
    let mut total = ClipScores::default();
    for name in ["mario-1-2", "episode-pong", "breakout"] {
        let frames: Vec<image::GrayImage> =
            (0..16).map(|i| image::open(dir.join(name).join(format!("{i:02}.png"))).unwrap().to_luma8()).collect();
        let (scores, _, _) = evaluate_clip(&engine, "default", &frames, &states[name], BaselineOptions::default()).unwrap();
        println!(
            "{name}: model {:.2} dB, union + scroll {:.2} dB, linear {:.2} dB",
            scores.model.psnr, scores.union_scroll.psnr, scores.linear.psnr
        );
        total.accumulate(&scores);
    }
    let best_classical = total.union.psnr.max(total.union_scroll.psnr).max(total.linear.psnr);
    assert!(total.model.psnr > best_classical, "model {:.2} dB vs the best classical method {best_classical:.2} dB", total.model.psnr);
    assert!(total.model.psnr > total.linear.psnr + 1.0, "model {:.2} dB vs linear {:.2} dB", total.model.psnr, total.linear.psnr);
}
