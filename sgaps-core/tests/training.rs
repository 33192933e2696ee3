//! `sgaps_core::training` end to end on a small recorded file: a tiny model learns the
//! synthetic game far beyond its untrained self, registers its best checkpoint, writes
//! TensorBoard events and a cleaning report, and resumes where it stopped.

use std::path::{Path, PathBuf};
use std::time::Duration;

use image::GrayImage;
use sgaps_core::data::{RecordedFrame, Recorder, SessionInfo};
use sgaps_core::metrics::{psnr, resized_to};
use sgaps_core::model::{AttentionOutput, FrameInput, Model};
use sgaps_core::training::{train, TrainOptions};
use sgaps_core::Config;
use tch::Device;

const SIZE: [u32; 2] = [48, 40];

/// A bright block moving over a dark gradient, its position in the state vector.
fn frame(t: u32) -> (GrayImage, Vec<f32>) {
    let (bx, by) = (4 + (t * 3) % 30, 6 + (t * 2) % 24);
    let image = GrayImage::from_fn(SIZE[0], SIZE[1], |x, y| {
        let inside = x >= bx && x < bx + 10 && y >= by && y < by + 8;
        image::Luma([if inside { 220 } else { (20 + x + y) as u8 }])
    });
    (image, vec![bx as f32 / 48.0, by as f32 / 40.0])
}

/// Pixels a client would send: a jittered grid of about 60, sampled on the true frame.
fn samples(truth: &GrayImage, t: u32) -> Vec<[f32; 3]> {
    let mut pixels = Vec::new();
    for j in 0..6 {
        for i in 0..10 {
            let u = (i as f32 + 0.5 + 0.3 * ((t + i + j) % 3) as f32 - 0.3) / 10.0;
            let v = (j as f32 + 0.5) / 6.0;
            let value = truth.get_pixel((u * SIZE[0] as f32) as u32, (v * SIZE[1] as f32) as u32)[0];
            pixels.push([u, v, value as f32]);
        }
    }
    pixels
}

fn record(dir: &Path) -> PathBuf {
    let recorder = Recorder::start(dir, Duration::from_secs(1)).unwrap();
    recorder.begin_session(SessionInfo {
        session_id: "run".into(),
        created_at: 0.0,
        checkpoint_key: "blocks".into(),
        model_version: "untrained".into(),
        client_resolution: SIZE,
        resolution: [24, 24],
        sample_count: 60,
        max_state_dim: 8,
        sentinel_value: -999.0,
    });
    for t in 0..80 {
        let (truth, state) = frame(t);
        let pixels = samples(&truth, t);
        recorder.record("run", RecordedFrame { frame_id: t as u64, timestamp: t as f64 / 10.0, pixels, state, ground_truth: Some(truth) });
    }
    recorder.shutdown();
    dir.join("blocks.h5")
}

fn config(dir: &Path, epochs: u32) -> Config {
    let overrides = [
        "model=spt_small",
        "model.embed_dim=16",
        "model.num_heads=2",
        "model.num_encoder_layers=1",
        "model.num_decoder_layers=1",
        "model.max_state_dim=8",
        "model.architecture.feedforward_dim=32",
        "model.resolution=[24,24]",
        "training=phase2",
        "training.resolution=[24,24]",
        "training.batch_size=8",
        "training.learning_rate=3e-3",
        "training.frames_per_epoch=32",
        "training.sample_counts=[40,80]",
        "device=cpu",
        "cleaning.balance.clusters=4",
    ]
    .map(String::from)
    .into_iter()
    .chain([format!("training.epochs={epochs}"), format!("checkpoint_dir={}", dir.join("checkpoints").display())])
    .collect::<Vec<_>>();
    Config::load(None, &overrides).unwrap()
}

/// Mean PSNR of `model` on frames 70..80 sampled as the recording did.
fn mean_psnr(model: &Model) -> f64 {
    let scores: Vec<f64> = (70..80)
        .map(|t| {
            let (truth, state) = frame(t);
            let pixels: Vec<[f32; 3]> = samples(&truth, t).iter().map(|&[u, v, x]| [u, v, x / 255.0]).collect();
            let out = model.infer(&[FrameInput { pixels: &pixels, state: &state }], AttentionOutput::None).unwrap();
            let values: Vec<u8> = Vec::<f32>::try_from(out.reconstruction.flatten(0, -1))
                .unwrap()
                .iter()
                .map(|v| (v * 255.0).round() as u8)
                .collect();
            let reconstruction = GrayImage::from_raw(24, 24, values).unwrap();
            psnr(&resized_to(&truth, 24, 24), &reconstruction).unwrap()
        })
        .collect();
    scores.iter().sum::<f64>() / scores.len() as f64
}

#[test]
fn training_learns_registers_the_best_checkpoint_and_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let data = record(dir.path());
    let run_dir = dir.path().join("run");
    let options = TrainOptions {
        data: vec![data],
        checkpoint_key: "blocks".into(),
        run_dir: run_dir.clone(),
        resume: false,
        init: None,
    };

    let first = config(dir.path(), 3);
    let untrained = mean_psnr(&Model::new_seeded(&first.model, Device::Cpu, first.seed as i64).unwrap());
    let mut steps = 0;
    let summary = train(&first, &options, &mut |_| steps += 1).unwrap();
    assert_eq!(summary.epochs_run, 3);
    assert_eq!(steps, 3 * 32 * 2 / 8, "frames_per_epoch x repeats / batch_size steps per epoch");
    assert!(summary.validation_frames > 0 && summary.train_frames > summary.validation_frames);

    // The registered best checkpoint is the trained model, far better than untrained.
    let best = Model::load_checkpoint(&summary.checkpoint, Device::Cpu).unwrap();
    assert_eq!(best.config(), &first.model);
    let trained = mean_psnr(&best);
    assert!(trained > untrained + 5.0, "trained {trained:.2} dB vs untrained {untrained:.2} dB");

    // What the run leaves behind.
    assert!(run_dir.join("last/model.safetensors").exists());
    assert!(run_dir.join("cleaning/blocks/report.md").exists());
    let events = std::fs::read_dir(&run_dir)
        .unwrap()
        .flatten()
        .find(|e| e.file_name().to_string_lossy().starts_with("events.out.tfevents"))
        .expect("a TensorBoard event file");
    assert!(events.metadata().unwrap().len() > 1000, "scalars and pictures were written");

    // Resuming a 4-epoch run trains only the epoch that is missing.
    let resumed = TrainOptions { resume: true, ..options };
    steps = 0;
    let summary = train(&config(dir.path(), 4), &resumed, &mut |p| {
        assert_eq!(p.epoch, 4);
        steps += 1;
    })
    .unwrap();
    assert_eq!((summary.epochs_run, steps), (1, 8));

    // A resume of another phase is refused with a message naming both.
    let mut phase3 = config(dir.path(), 4);
    phase3.training.phase = 3;
    let error = train(&phase3, &resumed, &mut |_| {}).unwrap_err().to_string();
    assert!(error.contains("phase 2") && error.contains("phase 3"), "{error}");
}

#[test]
fn the_sparse_pixel_transformer_refuses_options_of_the_temporal_family() {
    let dir = tempfile::tempdir().unwrap();
    let options = TrainOptions {
        data: vec![dir.path().join("unread.h5")],
        checkpoint_key: "blocks".into(),
        run_dir: dir.path().join("run"),
        resume: false,
        init: None,
    };
    let mut config = config(dir.path(), 1);
    config.training.psnr_loss_weight = 0.05;
    let error = train(&config, &options, &mut |_| {}).unwrap_err().to_string();
    assert!(error.contains("training.psnr_loss_weight"), "{error}");
    assert!(error.contains("temporal family only"), "{error}");
}
