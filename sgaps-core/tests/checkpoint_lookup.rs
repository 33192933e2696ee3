//! Where an engine finds its model, as a game or a script started from another folder
//! sees it: the working directory is never looked at, the built-in default serves from
//! anywhere, and SGAPS_CHECKPOINT_DIR and the checkpoint_dir setting apply in that order.
//!
//! One test, because it changes the process's working directory and environment.

use std::path::{Path, PathBuf};

use sgaps_core::evaluation::{evaluate_clip, BaselineOptions, ClipScores};
use sgaps_core::model::Model;
use sgaps_core::pipeline::checkpoints::CHECKPOINT_DIR_ENV;
use sgaps_core::pipeline::Engine;
use sgaps_core::Config;
use tch::Device;

fn clip_scores(engine: &Engine) -> ClipScores {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/clips");
    let states: std::collections::HashMap<String, Vec<Vec<f32>>> =
        serde_json::from_str(&std::fs::read_to_string(dir.join("states.json")).unwrap()).unwrap();
    let frames: Vec<image::GrayImage> =
        (0..16).map(|i| image::open(dir.join("mario-1-2").join(format!("{i:02}.png"))).unwrap().to_luma8()).collect();
    evaluate_clip(engine, "default", &frames, &states["mario-1-2"], BaselineOptions::default()).unwrap().0
}

/// A small model saved as `key` under `dir`, told apart by its `[width, height]`.
fn save_spt(dir: &Path, key: &str, resolution: [i64; 2]) {
    let overrides = ["model=spt_small".into(), format!("model.resolution=[{},{}]", resolution[0], resolution[1])];
    let config = Config::load(None, &overrides).unwrap().model;
    Model::new_seeded(&config, Device::Cpu, 1).unwrap().save_checkpoint(&dir.join(key)).unwrap();
}

#[test]
fn the_model_is_found_without_the_working_directory() {
    // A folder with a `checkpoints/default` that must be ignored: the working directory.
    let elsewhere = tempfile::tempdir().unwrap();
    save_spt(&elsewhere.path().join("checkpoints"), "default", [32, 24]);
    std::env::set_current_dir(elsewhere.path()).unwrap();
    std::env::remove_var(CHECKPOINT_DIR_ENV);

    // The built-in config, nothing set: the trained default built into the library.
    let engine = Engine::from_conf(None, &["device=cpu".into()]).unwrap();
    let params = engine.begin_session("default", [256, 240]).unwrap().params;
    assert!(params.checkpoint_loaded);
    assert!(params.model_version.starts_with("default-embedded-"), "{}", params.model_version);
    let trained = clip_scores(&engine);
    // The same model untrained (an override makes the config differ from the default's).
    let untrained_engine = Engine::from_conf(None, &["device=cpu".into(), "model.temporal.union_frames=7".into()]).unwrap();
    let untrained = clip_scores(&untrained_engine);
    println!(
        "mario-1-2 from an empty folder: built-in default {:.2} dB, untrained {:.2} dB, linear {:.2} dB",
        trained.model.psnr, untrained.model.psnr, trained.linear.psnr
    );
    assert!(trained.model.psnr > trained.linear.psnr + 1.0, "{:.2} vs linear {:.2}", trained.model.psnr, trained.linear.psnr);
    assert!(trained.model.psnr > untrained.model.psnr + 1.0, "{:.2} vs untrained {:.2}", trained.model.psnr, untrained.model.psnr);

    // SGAPS_CHECKPOINT_DIR: its keys serve, unknown keys still fall back to the built-in default.
    let from_env = tempfile::tempdir().unwrap();
    save_spt(from_env.path(), "mygame", [32, 24]);
    std::env::set_var(CHECKPOINT_DIR_ENV, from_env.path());
    let engine = Engine::from_conf(None, &["device=cpu".into()]).unwrap();
    let p = engine.begin_session("mygame", [64, 48]).unwrap().params;
    assert!(p.checkpoint_loaded && p.checkpoint_key == "mygame" && p.resolution == [32, 24], "{p:?}");
    let p = engine.begin_session("other", [64, 48]).unwrap().params;
    assert!(!p.checkpoint_loaded && p.model_version.starts_with("default-embedded-"), "{p:?}");
    assert_eq!(engine.checkpoints().dir().unwrap().path, from_env.path());

    // The setting wins over the variable.
    let from_setting = tempfile::tempdir().unwrap();
    save_spt(from_setting.path(), "mygame", [40, 30]);
    let setting = format!("checkpoint_dir={}", from_setting.path().display());
    let engine = Engine::from_conf(None, &["device=cpu".into(), setting]).unwrap();
    let p = engine.begin_session("mygame", [64, 48]).unwrap().params;
    assert_eq!(engine.checkpoints().dir().unwrap().path, from_setting.path());
    assert!(p.checkpoint_loaded && p.resolution == [40, 30], "{p:?}");
    std::env::remove_var(CHECKPOINT_DIR_ENV);
}
