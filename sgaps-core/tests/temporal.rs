//! The temporal family end to end: the engine's session memory with late coordinates,
//! batches that keep sessions apart, resets, checkpoints that round-trip, and a tiny
//! model that learns a recorded game on clips and resumes exactly.

use std::path::{Path, PathBuf};
use std::time::Duration;

use image::GrayImage;
use sgaps_core::data::{RecordedFrame, Recorder, SessionInfo};
use sgaps_core::metrics::{psnr, resized_to};
use sgaps_core::model::Model;
use sgaps_core::pipeline::{Engine, Frame, Pixel};
use sgaps_core::training::clips::load_clips;
use sgaps_core::training::{train, TrainOptions};
use sgaps_core::Config;
use tch::Device;

const CLIENT: [u32; 2] = [96, 80];

fn overrides(dir: &Path, extra: &[&str]) -> Vec<String> {
    [
        "model=temporal",
        "model.resolution=[32,28]",
        "model.max_state_dim=4",
        "model.temporal.channels=[4,8,8]",
        "sampling=space_time",
        "mask_update=every_frame",
        "sampling.default_sample_count=60",
        "device=cpu",
    ]
    .iter()
    .chain(extra)
    .map(|s| s.to_string())
    .chain([format!("checkpoint_dir={}", dir.display())])
    .collect()
}

/// Blocks of random shades scrolling left three native pixels (one reconstruction
/// pixel) a frame.
fn scene(t: u32) -> GrayImage {
    GrayImage::from_fn(CLIENT[0], CLIENT[1], |x, y| {
        let (bx, by) = ((x + 3 * t) / 12, y / 10);
        let hash = (bx.wrapping_mul(2654435761) ^ by.wrapping_mul(40503)).wrapping_mul(2246822519) >> 24;
        image::Luma([(30 + hash % 200 + (y % 5) * 3) as u8])
    })
}

fn truth_at(engine_resolution: [usize; 2], t: u32) -> GrayImage {
    resized_to(&scene(t), engine_resolution[0] as u32, engine_resolution[1] as u32)
}

/// Streams `frames` frames whose coordinates arrive `lag` frames late (the client keeps
/// using the old ones until then, as the Unity client does); mean PSNR of the last half.
fn stream(engine: &Engine, key: &str, frames: u32, lag: usize) -> f64 {
    let start = engine.begin_session(key, [CLIENT[0] as usize, CLIENT[1] as usize]).unwrap();
    let id = start.params.session_id;
    let mut pending = vec![start.initial_coordinates.clone()];
    let mut coordinates = start.initial_coordinates;
    let mut total = 0.0;
    for t in 0..frames {
        if pending.len() > lag {
            coordinates = pending.remove(0);
        }
        let pixels = Pixel::sample(&scene(t), &coordinates);
        let result = engine.submit(id, Frame { frame_id: t as u64, timestamp: t as f64 / 30.0, pixels, ..Default::default() }).unwrap();
        pending.push(result.mask_update.expect("every_frame renews every frame").coordinates);
        if t >= frames / 2 {
            total += psnr(&truth_at(start.params.resolution, t), &result.reconstruction).unwrap();
        }
    }
    engine.end_session(id).unwrap();
    total / (frames - frames / 2) as f64
}

#[test]
fn history_helps_even_when_coordinates_arrive_two_frames_late() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::from_conf(None, &overrides(dir.path(), &[])).unwrap();
    let on_time = stream(&engine, "game", 24, 0);
    let late = stream(&engine, "game", 24, 2);
    // The untrained network blends the interpolations of this frame's and the recent
    // frames' samples: their placement comes from the u, v each pixel carries, so late
    // coordinates cost nothing.
    assert!((on_time - late).abs() < 1.5, "on time {on_time:.2} dB, late {late:.2} dB");
    // ... and history beats one frame's samples (linear interpolation of 60 samples).
    let start = engine.begin_session("game", [96, 80]).unwrap();
    let one = Pixel::sample(&scene(23), &start.initial_coordinates);
    let samples: Vec<[f32; 3]> = one.iter().map(|p| [p.u, p.v, p.value]).collect();
    let single = psnr(&truth_at(start.params.resolution, 23), &sgaps_core::baselines::linear_delaunay(&samples, 32, 28)).unwrap();
    assert!(late > single + 1.0, "late {late:.2} dB vs one frame {single:.2} dB");
}

#[test]
fn sessions_in_one_batch_never_see_each_other() {
    let dir = tempfile::tempdir().unwrap();
    let run = |together: bool| -> Vec<Vec<u8>> {
        let engine = Engine::from_conf(None, &overrides(dir.path(), &[])).unwrap();
        let a = engine.begin_session("game", [96, 80]).unwrap();
        let b = engine.begin_session("game", [96, 80]).unwrap();
        let mut out = Vec::new();
        for t in 0..6u32 {
            // Session b streams an inverted scene; a its own.
            let frame_a = Frame { frame_id: t as u64, pixels: Pixel::sample(&scene(t), &a.initial_coordinates), ..Default::default() };
            let inverted = image::GrayImage::from_fn(96, 80, |x, y| image::Luma([255 - scene(t).get_pixel(x, y)[0]]));
            let frame_b = Frame { frame_id: t as u64, pixels: Pixel::sample(&inverted, &b.initial_coordinates), ..Default::default() };
            let result = if together {
                let mut results = engine.submit_batch(vec![(a.params.session_id, frame_a), (b.params.session_id, frame_b)]);
                results.remove(0).unwrap()
            } else {
                engine.submit(a.params.session_id, frame_a).unwrap()
            };
            out.push(result.reconstruction.into_raw());
        }
        out
    };
    assert_eq!(run(true), run(false));
}

#[test]
fn a_reset_session_starts_over_and_frame_ids_may_repeat_or_go_back() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::from_conf(None, &overrides(dir.path(), &[])).unwrap();
    let start = engine.begin_session("game", [96, 80]).unwrap();
    let id = start.params.session_id;
    let frame = |t: u32| Frame { frame_id: t as u64, pixels: Pixel::sample(&scene(t), &start.initial_coordinates), ..Default::default() };
    let first = engine.submit(id, frame(0)).unwrap().reconstruction;
    for t in 1..5 {
        engine.submit(id, frame(t)).unwrap();
    }
    engine.submit(id, frame(4)).unwrap(); // repeated id
    engine.submit(id, frame(2)).unwrap(); // backwards: history dropped, no error
    engine.reset_session(id).unwrap();
    assert_eq!(engine.submit(id, frame(0)).unwrap().reconstruction, first, "after a reset the session is new");
    assert!(engine.reset_session(999).is_err(), "unknown sessions are refused");
}

#[test]
fn a_temporal_checkpoint_round_trips_strictly() {
    let dir = tempfile::tempdir().unwrap();
    let config = Config::load(None, &overrides(dir.path(), &[])).unwrap();
    let model = Model::new_seeded(&config.model, Device::Cpu, 7).unwrap();
    model.save_checkpoint(&dir.path().join("game")).unwrap();
    let loaded = Model::load_checkpoint(&dir.path().join("game"), Device::Cpu).unwrap();
    assert_eq!(loaded.config(), model.config());
    assert!(loaded.temporal().is_some() && loaded.spt().is_none());
    let engine = Engine::from_conf(None, &overrides(dir.path(), &[])).unwrap();
    assert!(engine.begin_session("game", [96, 80]).unwrap().params.checkpoint_loaded);
}

fn record(dir: &Path) -> PathBuf {
    record_as(dir, "blocks")
}

/// 60 frames of the moving blocks into `{dir}/{key}.h5`.
fn record_as(dir: &Path, key: &str) -> PathBuf {
    let recorder = Recorder::start(dir, Duration::from_secs(1)).unwrap();
    recorder.begin_session(SessionInfo {
        session_id: "run".into(),
        created_at: 0.0,
        checkpoint_key: key.into(),
        model_version: "untrained".into(),
        client_resolution: CLIENT,
        resolution: [32, 28],
        sample_count: 60,
        max_state_dim: 4,
        sentinel_value: -999.0,
    });
    for t in 0..60u32 {
        let state = vec![t as f32 / 60.0];
        recorder.record("run", RecordedFrame { frame_id: t as u64, timestamp: t as f64 / 30.0, pixels: vec![], state, ground_truth: Some(scene(t)) });
    }
    recorder.shutdown();
    dir.join(format!("{key}.h5"))
}

#[test]
fn validation_files_hold_out_whole_games() {
    let dir = tempfile::tempdir().unwrap();
    let files = vec![record_as(dir.path(), "seen"), record_as(dir.path(), "unseen")];
    let mut config = training_config(dir.path(), 1);
    // By default the last 20 % of every session validates.
    let split = load_clips(&files, &config).unwrap();
    assert_eq!((split.train_frames(), split.validation_frames()), (96, 24));
    // Named files validate whole; the others train in full.
    config.training.validation_files = vec!["unseen".into()];
    let by_file = load_clips(&files, &config).unwrap();
    assert_eq!((by_file.train_frames(), by_file.validation_frames()), (60, 60));
    // A name that is no data file is an error that names it.
    config.training.validation_files = vec!["unseen.h5".into()];
    let error = load_clips(&files, &config).unwrap_err().to_string();
    assert!(error.contains("`unseen.h5`") && error.contains("without .h5"), "{error}");
}

fn training_config(dir: &Path, epochs: u32) -> Config {
    let extra = [
        "training=temporal".to_string(),
        "training.resolution=[32,28]".into(),
        "training.batch_size=4".into(),
        "training.frames_per_epoch=192".into(),
        "training.clip_frames=4".into(),
        "training.clip_warmup_frames=8".into(),
        "training.sample_counts=[40,80]".into(),
        "training.validation_fraction=0.2".into(),
        "training.learning_rate=1e-2".into(),
        "training.psnr_loss_weight=0.05".into(),
        format!("training.epochs={epochs}"),
    ];
    let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
    Config::load(None, &overrides(&dir.join("checkpoints"), &extra)).unwrap()
}

#[test]
fn a_tiny_temporal_model_learns_and_resumes_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let data = record(dir.path());
    let options = |run: &str, resume: bool| TrainOptions {
        data: vec![data.clone()],
        checkpoint_key: "blocks".into(),
        run_dir: dir.path().join(run),
        resume,
        init: None,
    };
    // The same validation with the untrained weights (a learning rate of 0).
    let mut still = training_config(dir.path(), 1);
    still.training.learning_rate = 0.0;
    let untrained = train(&still, &options("untrained", false), &mut |_| {}).unwrap();
    let mut steps = 0;
    let full = train(&training_config(dir.path(), 3), &options("full", false), &mut |_| steps += 1).unwrap();
    assert_eq!(full.epochs_run, 3);
    assert_eq!(steps, 3 * 12, "192 frames an epoch in clips of 4 frames of 4 clips: 12 steps");
    assert!(
        full.best_metric > untrained.best_metric + 0.25,
        "validation PSNR trained {:.2} dB, untrained {:.2} dB",
        full.best_metric,
        untrained.best_metric
    );
    assert!(dir.path().join("checkpoints/blocks/model.safetensors").exists());

    // A run killed in its third epoch, then resumed: the same weights as three epochs in
    // one go (the schedule, the examples and the optimiser's moments all continue).
    let killed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        train(&training_config(dir.path(), 3), &options("split", false), &mut |p| assert!(p.epoch < 3, "killed"))
    }));
    assert!(killed.is_err());
    let resumed = train(&training_config(dir.path(), 3), &options("split", true), &mut |_| {}).unwrap();
    assert_eq!(resumed.epochs_run, 1);
    let weights = |run: &str| Model::load_checkpoint(&dir.path().join(run).join("last"), Device::Cpu).unwrap();
    let (a, b) = (weights("full"), weights("split"));
    for (name, tensor) in a.var_store().variables() {
        let other = &b.var_store().variables()[&name];
        assert!(tensor.equal(other), "{name} differs after resuming");
    }
}

