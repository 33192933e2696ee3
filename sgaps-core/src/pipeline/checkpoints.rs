//! Checkpoints by key: `{checkpoint_dir}/{key}/model.safetensors` (+ `config.json`),
//! loaded lazily, kept in a bounded cache, and reloaded when the file on disk changes.
//! An unknown key falls back to `default`; with no `default` either, the configured
//! model serves with freshly initialised weights (`checkpoint_loaded = false`).

use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use tch::{Device, Kind};

use crate::config::{ModelConfig, ModelFamily};
use crate::model::{Model, ModelError, WEIGHTS_FILE};

pub const DEFAULT_KEY: &str = "default";

/// A model ready to serve, and what it is.
#[derive(Clone)]
pub struct LoadedCheckpoint {
    /// The key actually used (`default` after a fallback).
    pub key: String,
    /// Whether trained weights exist for the key that was asked for.
    pub loaded: bool,
    /// Identifies the weights: `{key}-{hash of the file's identity}`, or `untrained`.
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
    dir: PathBuf,
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
    /// `fallback_config` builds the untrained model when no `default` checkpoint
    /// exists; `capacity` bounds how many models stay loaded.
    pub fn new(dir: &Path, fallback_config: &ModelConfig, device: Device, kind: Kind, seed: u64, capacity: usize) -> Self {
        CheckpointStore {
            dir: dir.to_path_buf(),
            fallback_config: fallback_config.clone(),
            device,
            kind,
            seed: seed as i64,
            capacity: capacity.max(1),
            cache: Mutex::new(Cache::default()),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
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

    /// Keys with a weights file under the checkpoint directory, sorted.
    pub fn keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = std::fs::read_dir(&self.dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.path().join(WEIGHTS_FILE).is_file())
            .filter_map(|e| e.file_name().into_string().ok())
            .collect();
        keys.sort();
        keys
    }

    /// Saves `model` as checkpoint `key` (atomically) and serves it from now on.
    pub fn register(&self, key: &str, model: &Model) -> Result<(), ModelError> {
        validate_key(key)?;
        model.save_checkpoint(&self.dir.join(key))?;
        self.cache.lock().expect("cache lock").entries.remove(key);
        tracing::info!(key, "registered checkpoint");
        Ok(())
    }

    fn stamp(&self, key: &str) -> Option<FileStamp> {
        let meta = std::fs::metadata(self.dir.join(key).join(WEIGHTS_FILE)).ok()?;
        Some(FileStamp { len: meta.len(), modified: meta.modified().ok()?, inode: meta.ino() })
    }

    /// `key` exactly: from the cache when its file is unchanged, else from disk; the
    /// untrained model when `key` has no file.
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
                let mut model = Model::load_checkpoint(&self.dir.join(key), self.device)?;
                model.set_kind(self.kind);
                tracing::info!(key, model = %model.config().name, "loaded checkpoint");
                LoadedCheckpoint {
                    key: key.to_string(),
                    loaded: true,
                    version: format!("{key}-{:08x}", version_hash(stamp)),
                    family: model.family(),
                    model: Arc::new(Mutex::new(model)),
                }
            }
            None => {
                let mut model = Model::new_seeded(&self.fallback_config, self.device, self.seed)?;
                model.set_kind(self.kind);
                tracing::warn!(key, dir = %self.dir.display(), "no checkpoint on disk; serving untrained weights");
                LoadedCheckpoint {
                    key: key.to_string(),
                    loaded: false,
                    version: "untrained".into(),
                    family: model.family(),
                    model: Arc::new(Mutex::new(model)),
                }
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

    #[test]
    fn keys_that_are_not_plain_names_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path(), 4);
        for key in ["", "../etc", "a/b", ".hidden"] {
            assert!(store.get(key).is_err(), "{key:?} accepted");
        }
    }
}
