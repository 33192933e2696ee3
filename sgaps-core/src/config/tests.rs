use std::path::{Path, PathBuf};

use super::*;

fn repo_conf() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../conf")
}

fn load(overrides: &[&str]) -> Result<Config, ConfigError> {
    let overrides: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
    Config::load(Some(&repo_conf()), &overrides)
}

/// A copy of conf/ that a test may break.
fn scratch_conf() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&repo_conf(), dir.path());
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[test]
fn defaults_compose_from_every_group() {
    let config = load(&[]).unwrap();
    assert_eq!((config.model.name.as_str(), config.model.family), ("temporal", ModelFamily::Temporal));
    assert_eq!(config.model.temporal.as_ref().unwrap().union_frames, 8);
    assert_eq!(config.training.phase, 1);
    assert_eq!(config.sampling.strategy, SamplingStrategy::SpaceTime);
    assert_eq!(config.mask_update.mode, MaskUpdateMode::EveryFrame);
    let spt = load(&["model=spt"]).unwrap().model;
    assert_eq!((spt.family, spt.embed_dim, spt.decoder, spt.temporal), (ModelFamily::Spt, 256, DecoderKind::Cross, None));
    assert_eq!(config.server.port, 8000);
    assert_eq!(config.device, DeviceChoice::Auto);
}

#[test]
fn embedded_conf_equals_the_repository_conf() {
    let embedded = Config::load(None, &[]).unwrap();
    assert_eq!(embedded, load(&[]).unwrap());
}

#[test]
fn group_and_value_overrides_apply_in_order() {
    let config = load(&["model=spt_small", "model.embed_dim=128", "sampling=uniform", "training=phase3"]).unwrap();
    assert_eq!(config.model.name, "spt_small");
    assert_eq!(config.model.embed_dim, 128);
    assert_eq!(config.model.num_heads, 4);
    assert_eq!(config.sampling.strategy, SamplingStrategy::Uniform);
    assert!(config.training.closed_loop);
    let config = load(&["model=spt", "model.resolution=[64, 48]", "server.auth_token=secret", "model.decoder=seed"]).unwrap();
    assert_eq!(config.model.height_width(), (48, 64));
    assert_eq!(config.server.auth_token.as_deref(), Some("secret"));
    assert_eq!(config.model.decoder, DecoderKind::Seed);
}

#[test]
fn unknown_key_in_a_file_names_key_and_file() {
    let dir = scratch_conf();
    let path = dir.path().join("model/spt.yaml");
    let text = std::fs::read_to_string(&path).unwrap().replace("embed_dim: 256", "embed_dim: 256\nembed_dimm: 3");
    std::fs::write(&path, text).unwrap();
    let err = Config::load(Some(dir.path()), &["model=spt".into()]).unwrap_err().to_string();
    assert!(err.contains("model.embed_dimm"), "{err}");
    assert!(err.contains("model/spt.yaml"), "{err}");
}

#[test]
fn bad_value_in_a_file_names_key_and_file() {
    let dir = scratch_conf();
    let path = dir.path().join("server/base.yaml");
    let text = std::fs::read_to_string(&path).unwrap().replace("port: 8000", "port: eighty");
    std::fs::write(&path, text).unwrap();
    let err = Config::load(Some(dir.path()), &[]).unwrap_err().to_string();
    assert!(err.contains("server.port"), "{err}");
    assert!(err.contains("server/base.yaml"), "{err}");
}

#[test]
fn bad_override_values_name_the_override() {
    let err = load(&["model.embed_dim=abc"]).unwrap_err().to_string();
    assert!(err.contains("model.embed_dim") && err.contains("override"), "{err}");
    let err = load(&["model.embed_dimm=3"]).unwrap_err().to_string();
    assert!(err.contains("unknown key `model.embed_dimm`"), "{err}");
    let err = load(&["model=huge"]).unwrap_err().to_string();
    assert!(err.contains("spt_small") && err.contains("huge"), "{err}");
    let err = load(&["model.decoder=diagonal"]).unwrap_err().to_string();
    assert!(err.contains("model.decoder"), "{err}");
    assert!(load(&["nonsense"]).unwrap_err().to_string().contains("KEY=VALUE"));
}

#[test]
fn shape_rules_are_checked() {
    let err = load(&["model=spt", "model.num_heads=7"]).unwrap_err().to_string();
    assert!(err.contains("model.num_heads") && err.contains("override"), "{err}");
    let err = load(&["model=spt", "model.num_heads=2", "model.embed_dim=66"]).unwrap_err().to_string();
    assert!(err.contains("model.embed_dim"), "{err}");
    let err = load(&["sampling.importance_ratio=0.9"]).unwrap_err().to_string();
    assert!(err.contains("sampling.importance_ratio") && err.contains("override"), "{err}");
    let err = load(&["training=temporal", "training.psnr_loss_weight=-0.1"]).unwrap_err().to_string();
    assert!(err.contains("training.psnr_loss_weight") && err.contains(">= 0"), "{err}");
    assert_eq!(load(&["training=temporal", "training.psnr_loss_weight=0.2"]).unwrap().training.psnr_loss_weight, 0.2);
}

#[test]
fn cleaning_seed_defaults_to_the_top_level_seed_and_ranges_are_checked() {
    let config = load(&["seed=7"]).unwrap();
    assert!(config.cleaning.enabled);
    assert_eq!(config.cleaning.balance.seed, Some(7));
    assert_eq!(load(&["cleaning.balance.seed=3"]).unwrap().cleaning.balance.seed, Some(3));
    let err = load(&["cleaning.stationarity.quantile=1.5"]).unwrap_err().to_string();
    assert!(err.contains("cleaning.stationarity.quantile"), "{err}");
    let err = load(&["cleaning.balance.clusters=0"]).unwrap_err().to_string();
    assert!(err.contains("cleaning.balance.clusters"), "{err}");
}

#[test]
fn each_model_family_checks_its_own_fields() {
    let err = load(&["model=spt", "model.family=temporal"]).unwrap_err().to_string();
    assert!(err.contains("model.temporal") && err.contains("required"), "{err}");
    let err = load(&["model.temporal.max_shift=99"]).unwrap_err().to_string();
    assert!(err.contains("model.temporal.max_shift"), "{err}");
    let err = load(&["model=spt", "model.embed_dim=0"]).unwrap_err().to_string();
    assert!(err.contains("model.embed_dim"), "{err}");
}
