//! Checkpoints by key: `{dir}/{key}/model.safetensors` (+ `config.json`), loaded
//! lazily, kept in a bounded cache, and reloaded when the file on disk changes.
//!
//! The directory is the `checkpoint_dir` setting, else `SGAPS_CHECKPOINT_DIR`, else a
//! `checkpoints/` folder beside the library ([`location`]); never the working directory.
//! An unknown key falls back to `default`. With no `default` on disk the default model
//! built into the library serves, when the configured model is the one it was trained as
//! (the built-in configuration's); a configuration asking for another model (say
//! `model=spt_small`) gets that model with freshly initialised weights
//! (`checkpoint_loaded = false`), as it asked.

mod embedded_default;
mod location;

use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use tch::{Device, Kind};

use crate::config::{ModelConfig, ModelFamily};
use crate::model::{Model, ModelError, WEIGHTS_FILE};

pub use location::{library_dir, CheckpointDir, Origin as CheckpointDirOrigin, ENV_VAR as CHECKPOINT_DIR_ENV};

pub const DEFAULT_KEY: &str = "default";

/// A model ready to serve, and what it is.
#[derive(Clone)]
pub struct LoadedCheckpoint {
    /// The key actually used (`default` after a fallback).
    pub key: String,
    /// Whether trained weights exist for the key that was asked for.
    pub loaded: bool,
    /// Identifies the weights: `{key}-{hash of the file's identity}`,
    /// `default-embedded-{hash}` for the built-in default, or `untrained`.
    pub version: String,
    /// The model's family: which reconstruction path the engine takes.
    pub family: ModelFamily,
    /// Locked for each forward pass: tch tensors are `Send` but not `Sync`, and on a
    /// CPU one pass already uses every core, so passes on one model take turns.
    pub model: Arc<Mutex<Model>>,
}

/// What identifies one version of a weights file on disk.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct FileStamp {
    len: u64,
    modified: SystemTime,
    /// A replacement by rename always has a new inode, even within one mtime tick.
    inode: u64,
}

struct CacheEntry {
    stamp: Option<FileStamp>,
    checkpoint: LoadedCheckpoint,
    last_used: u64,
}

pub struct CheckpointStore {
    /// `None`: nothing configured and no `checkpoints/` beside the library.
    dir: Option<CheckpointDir>,
    fallback_config: ModelConfig,
    device: Device,
    kind: Kind,
    seed: i64,
    capacity: usize,
    cache: Mutex<Cache>,
}

#[derive(Default)]
struct Cache {
    entries: HashMap<String, CacheEntry>,
    clock: u64,
}

impl CheckpointStore {
    /// A store over the checkpoint directory found from the `checkpoint_dir` setting
    /// `configured` (empty: not set; see the module comment). `fallback_config` builds
    /// the model that serves when no `default` checkpoint exists; `capacity` bounds how
    /// many models stay loaded.
    pub fn new(configured: &Path, fallback_config: &ModelConfig, device: Device, kind: Kind, seed: u64, capacity: usize) -> Self {
        let dir = location::resolve(configured);
        match &dir {
            Some(CheckpointDir { path, origin }) => {
                tracing::info!(dir = %path.display(), from = %origin, "checkpoint directory");
                if !path.is_dir() {
                    tracing::warn!(dir = %path.display(), from = %origin, "the checkpoint directory does not exist (yet)");
                }
            }
            None => tracing::info!(
                "no checkpoint directory (checkpoint_dir and {CHECKPOINT_DIR_ENV} are unset, no {}/ beside {})",
                location::BESIDE_LIBRARY,
                library_dir().map_or("the library".into(), |d| d.display().to_string())
            ),
        }
        CheckpointStore::with_dir(dir, fallback_config, device, kind, seed, capacity)
    }

    fn with_dir(dir: Option<CheckpointDir>, fallback_config: &ModelConfig, device: Device, kind: Kind, seed: u64, capacity: usize) -> Self {
        CheckpointStore {
            dir,
            fallback_config: fallback_config.clone(),
            device,
            kind,
            seed: seed as i64,
            capacity: capacity.max(1),
            cache: Mutex::new(Cache::default()),
        }
    }

    /// The checkpoint directory and why it was chosen; `None` when there is none.
    pub fn dir(&self) -> Option<&CheckpointDir> {
        self.dir.as_ref()
    }

    /// The directory [`CheckpointStore::register`] writes into, or an error saying how
    /// to choose one.
    pub fn writable_dir(&self) -> Result<&Path, ModelError> {
        self.dir.as_ref().map(|d| d.path.as_path()).ok_or_else(|| {
            ModelError::Checkpoint(format!(
                "no checkpoint directory to register checkpoints in: set `checkpoint_dir=DIR` (an override) or \
                 {CHECKPOINT_DIR_ENV}=DIR, or create {}/ beside {} (the working directory is never used by default)",
                location::BESIDE_LIBRARY,
                library_dir().map_or("the library".into(), |d| d.display().to_string())
            ))
        })
    }

    /// The model for `key`, loading or reloading it when needed.
    pub fn get(&self, key: &str) -> Result<LoadedCheckpoint, ModelError> {
        validate_key(key)?;
        if self.stamp(key).is_some() {
            return self.get_exact(key);
        }
        if key != DEFAULT_KEY {
            tracing::info!(key, "no checkpoint for this key; falling back to `{DEFAULT_KEY}`");
        }
        let mut fallback = self.get_exact(DEFAULT_KEY)?;
        // Trained weights exist for the key asked for only if it was `default` itself.
        fallback.loaded &= key == DEFAULT_KEY;
        Ok(fallback)
    }

    /// Keys that serve trained weights, sorted: those with a weights file in the
    /// checkpoint directory, and `default` when the built-in default serves it.
    pub fn keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self
            .dir
            .iter()
            .flat_map(|d| std::fs::read_dir(&d.path))
            .flatten()
            .flatten()
            .filter(|e| e.path().join(WEIGHTS_FILE).is_file())
            .filter_map(|e| e.file_name().into_string().ok())
            .collect();
        if self.embedded_default_applies() && !keys.iter().any(|k| k == DEFAULT_KEY) {
            keys.push(DEFAULT_KEY.to_string());
        }
        keys.sort();
        keys
    }

    /// Saves `model` as checkpoint `key` (atomically) and serves it from now on.
    pub fn register(&self, key: &str, model: &Model) -> Result<(), ModelError> {
        validate_key(key)?;
        model.save_checkpoint(&self.writable_dir()?.join(key))?;
        self.cache.lock().expect("cache lock").entries.remove(key);
        tracing::info!(key, "registered checkpoint");
        Ok(())
    }

    /// Whether the default built into the library is the configured model.
    fn embedded_default_applies(&self) -> bool {
        &self.fallback_config == embedded_default::config()
    }

    fn key_dir(&self, key: &str) -> Option<PathBuf> {
        self.dir.as_ref().map(|d| d.path.join(key))
    }

    fn stamp(&self, key: &str) -> Option<FileStamp> {
        let meta = std::fs::metadata(self.key_dir(key)?.join(WEIGHTS_FILE)).ok()?;
        Some(FileStamp { len: meta.len(), modified: meta.modified().ok()?, inode: meta.ino() })
    }

    /// `key` exactly: from the cache when its file is unchanged, else from disk; with no
    /// file, the built-in default (for `default`) or the untrained configured model.
    fn get_exact(&self, key: &str) -> Result<LoadedCheckpoint, ModelError> {
        let stamp = self.stamp(key);
        {
            let mut cache = self.cache.lock().expect("cache lock");
            cache.clock += 1;
            let now = cache.clock;
            if let Some(entry) = cache.entries.get_mut(key).filter(|e| e.stamp == stamp) {
                entry.last_used = now;
                return Ok(entry.checkpoint.clone());
            }
        }
        // Load outside the lock: it takes a while and other keys stay servable.
        let checkpoint = match stamp {
            Some(stamp) => {
                let dir = self.key_dir(key).expect("a stamp implies a directory");
                let mut model = Model::load_checkpoint(&dir, self.device)?;
                model.set_kind(self.kind);
                tracing::info!(key, dir = %dir.display(), model = %model.config().name, "loaded checkpoint");
                serving(key, true, format!("{key}-{:08x}", version_hash(stamp)), model)
            }
            None if key == DEFAULT_KEY && self.embedded_default_applies() => {
                let mut model = embedded_default::load(self.device)?;
                model.set_kind(self.kind);
                let version = embedded_default::version();
                tracing::info!(key, version, "serving the default model built into the library (no `{DEFAULT_KEY}` on disk)");
                serving(key, true, version.to_string(), model)
            }
            None => {
                let mut model = Model::new_seeded(&self.fallback_config, self.device, self.seed)?;
                model.set_kind(self.kind);
                tracing::warn!(
                    key,
                    dir = %self.dir.as_ref().map_or("none".into(), |d| d.path.display().to_string()),
                    model = %self.fallback_config.name,
                    "no checkpoint on disk, and the configured model is not the built-in default's: serving untrained weights"
                );
                serving(key, false, "untrained".into(), model)
            }
        };
        let mut cache = self.cache.lock().expect("cache lock");
        cache.clock += 1;
        let now = cache.clock;
        cache.entries.insert(key.to_string(), CacheEntry { stamp, checkpoint: checkpoint.clone(), last_used: now });
        while cache.entries.len() > self.capacity {
            let oldest = cache.entries.iter().min_by_key(|(_, e)| e.last_used).map(|(k, _)| k.clone());
            if let Some(oldest) = oldest {
                cache.entries.remove(&oldest);
            }
        }
        Ok(checkpoint)
    }
}

fn serving(key: &str, loaded: bool, version: String, model: Model) -> LoadedCheckpoint {
    LoadedCheckpoint { key: key.to_string(), loaded, version, family: model.family(), model: Arc::new(Mutex::new(model)) }
}

/// Keys name directories: no separators, no dot-files, nothing empty.
fn validate_key(key: &str) -> Result<(), ModelError> {
    let ok = !key.is_empty()
        && key.len() <= 128
        && !key.starts_with('.')
        && key.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if ok {
        Ok(())
    } else {
        Err(ModelError::Checkpoint(format!(
            "checkpoint key `{key}` must be 1-128 characters of letters, digits, `_`, `-`, `.`, not starting with `.`"
        )))
    }
}

fn version_hash(stamp: FileStamp) -> u32 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    stamp.hash(&mut hasher);
    hasher.finish() as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Config;

    fn small_config() -> ModelConfig {
        Config::load(None, &["model=spt_small".into(), "model.resolution=[8,6]".into()]).unwrap().model
    }

    fn store(dir: &Path, capacity: usize) -> CheckpointStore {
        CheckpointStore::new(dir, &small_config(), Device::Cpu, Kind::Float, 1, capacity)
    }

    fn model_with_seed(config: &ModelConfig, seed: i64) -> Model {
        Model::new_seeded(config, Device::Cpu, seed).unwrap()
    }

    #[test]
    fn unknown_keys_fall_back_to_default() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path(), 4);
        // Nothing on disk: untrained default.
        let c = store.get("mario").unwrap();
        assert_eq!((c.key.as_str(), c.loaded, c.version.as_str()), ("default", false, "untrained"));
        // A registered default serves unknown keys, still reported as not loaded.
        store.register("default", &model_with_seed(&small_config(), 5)).unwrap();
        let c = store.get("mario").unwrap();
        assert_eq!((c.key.as_str(), c.loaded), ("default", false));
        assert!(c.version.starts_with("default-"));
        let c = store.get("default").unwrap();
        assert!(c.loaded);
        // A key of its own is loaded.
        store.register("mario", &model_with_seed(&small_config(), 6)).unwrap();
        let c = store.get("mario").unwrap();
        assert_eq!((c.key.as_str(), c.loaded), ("mario", true));
        assert_eq!(store.keys(), vec!["default".to_string(), "mario".to_string()]);
    }

    #[test]
    fn loaded_models_are_cached_and_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path(), 2);
        for (i, key) in ["a", "b", "c"].iter().enumerate() {
            store.register(key, &model_with_seed(&small_config(), i as i64)).unwrap();
        }
        let a1 = store.get("a").unwrap();
        let a2 = store.get("a").unwrap();
        assert!(Arc::ptr_eq(&a1.model, &a2.model), "a cached model is reused");
        store.get("b").unwrap();
        store.get("c").unwrap(); // evicts "a", the least recently used
        assert_eq!(store.cache.lock().unwrap().entries.len(), 2);
        let a3 = store.get("a").unwrap();
        assert!(!Arc::ptr_eq(&a1.model, &a3.model), "an evicted model is loaded again");
    }

    #[test]
    fn a_checkpoint_replaced_on_disk_is_picked_up() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path(), 4);
        store.register("game", &model_with_seed(&small_config(), 1)).unwrap();
        let before = store.get("game").unwrap();
        // Another process (a trainer) replaces the files; a wider model this time.
        let mut wider = small_config();
        wider.architecture.feedforward_dim = 96;
        model_with_seed(&wider, 2).save_checkpoint(&dir.path().join("game")).unwrap();
        let after = store.get("game").unwrap();
        assert_ne!(before.version, after.version);
        assert_eq!(after.model.lock().unwrap().config().architecture.feedforward_dim, 96);
    }

    fn built_in_model() -> ModelConfig {
        Config::load(None, &[]).unwrap().model
    }

    fn setting(dir: &Path) -> Option<CheckpointDir> {
        Some(CheckpointDir { path: dir.to_path_buf(), origin: CheckpointDirOrigin::Setting })
    }

    #[test]
    fn the_built_in_default_serves_when_no_folder_has_one() {
        let empty = tempfile::tempdir().unwrap();
        for dir in [None, setting(empty.path())] {
            let store = CheckpointStore::with_dir(dir, &built_in_model(), Device::Cpu, Kind::Float, 1, 4);
            let c = store.get("default").unwrap();
            assert!(c.loaded);
            assert!(c.version.starts_with("default-embedded-"), "{}", c.version);
            assert_eq!(c.model.lock().unwrap().config(), &built_in_model());
            // Unknown keys fall back to it, reported as not trained for themselves.
            let c = store.get("mario").unwrap();
            assert_eq!((c.key.as_str(), c.loaded), ("default", false));
            assert!(c.version.starts_with("default-embedded-"));
            assert_eq!(store.keys(), vec!["default".to_string()]);
        }
    }

    #[test]
    fn a_default_on_disk_wins_over_the_built_in_one() {
        let dir = tempfile::tempdir().unwrap();
        let store = CheckpointStore::with_dir(setting(dir.path()), &built_in_model(), Device::Cpu, Kind::Float, 1, 4);
        assert!(store.get("default").unwrap().version.starts_with("default-embedded-"));
        store.register("default", &model_with_seed(&small_config(), 3)).unwrap();
        let c = store.get("default").unwrap();
        assert!(c.loaded && !c.version.starts_with("default-embedded-"), "{}", c.version);
        assert_eq!(c.model.lock().unwrap().config(), &small_config());
    }

    #[test]
    fn another_configured_model_is_served_untrained_not_replaced_by_the_built_in_default() {
        let store = CheckpointStore::with_dir(None, &small_config(), Device::Cpu, Kind::Float, 1, 4);
        let c = store.get("default").unwrap();
        assert_eq!((c.loaded, c.version.as_str()), (false, "untrained"));
        assert!(store.keys().is_empty());
    }

    #[test]
    fn registering_without_a_checkpoint_directory_says_how_to_set_one() {
        let store = CheckpointStore::with_dir(None, &small_config(), Device::Cpu, Kind::Float, 1, 4);
        let error = store.register("mario", &model_with_seed(&small_config(), 1)).unwrap_err().to_string();
        assert!(error.contains("checkpoint_dir=DIR") && error.contains(CHECKPOINT_DIR_ENV), "{error}");
    }

    #[test]
    fn keys_that_are_not_plain_names_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path(), 4);
        for key in ["", "../etc", "a/b", ".hidden"] {
            assert!(store.get(key).is_err(), "{key:?} accepted");
        }
    }
}
