//! The Sparse Pixel Transformer on libtorch (tch), one file per building block, and
//! [`Model`]: the network with its weights on a device.

mod attention;
mod batch;
mod flops;
mod positional_encoding;
mod refine_head;
mod spt;
mod state_encoder;
mod transformer;
mod weights;

use std::path::Path;

use tch::{nn::VarStore, Device, Kind};

pub use batch::{FrameInput, SparseBatch};
pub use flops::forward_flops;
pub use attention::head_mean_entropy;
pub use spt::{AttentionOutput, SparsePixelTransformer, SptOutput};

use crate::config::ModelConfig;

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("bad model input: {0}")]
    Input(String),
    #[error("bad model config: `model.{key}` {message}")]
    Config { key: String, message: String },
    #[error("cannot load weights: {0}")]
    Weights(String),
    #[error("cannot read or write a checkpoint: {0}")]
    Checkpoint(String),
    #[error("libtorch failed: {0}")]
    Torch(String),
}

/// The file names of a checkpoint directory.
pub const WEIGHTS_FILE: &str = "model.safetensors";
pub const CONFIG_FILE: &str = "config.json";

/// A Sparse Pixel Transformer with its weights on one device, in one precision.
#[derive(Debug)]
pub struct Model {
    vs: VarStore,
    spt: SparsePixelTransformer,
    kind: Kind,
}

impl Model {
    /// A model with freshly initialised weights from libtorch's global generator.
    pub fn new(config: &ModelConfig, device: Device) -> Result<Model, ModelError> {
        let _only_one_initialiser = lock_initialisation();
        Model::build(config, device)
    }

    /// A model with freshly initialised weights drawn from `seed`: equal seeds give
    /// equal weights, whatever other threads do with libtorch's global generator.
    pub fn new_seeded(config: &ModelConfig, device: Device, seed: i64) -> Result<Model, ModelError> {
        let _only_one_initialiser = lock_initialisation();
        tch::manual_seed(seed);
        Model::build(config, device)
    }

    fn build(config: &ModelConfig, device: Device) -> Result<Model, ModelError> {
        config.validate().map_err(|(key, message)| ModelError::Config { key, message })?;
        let vs = VarStore::new(device);
        let spt = SparsePixelTransformer::new(&vs.root(), config);
        Ok(Model { vs, spt, kind: Kind::Float })
    }

    /// Builds the model `config` describes and loads `weights` strictly, whatever
    /// config the file's metadata holds.
    pub fn from_weights(config: &ModelConfig, weights: &Path, device: Device) -> Result<Model, ModelError> {
        let file = weights::read(weights)?;
        let mut model = Model::new(config, device)?;
        weights::load_strict(&mut model.vs, file.tensors, weights)?;
        Ok(model)
    }

    /// Loads a checkpoint directory: `model.safetensors`, with the model config from its
    /// metadata or, for weights converted from PyTorch, from `config.json` beside it.
    pub fn load_checkpoint(dir: &Path, device: Device) -> Result<Model, ModelError> {
        let weights_path = dir.join(WEIGHTS_FILE);
        let file = weights::read(&weights_path)?;
        let (config_json, origin) = match file.config_json {
            Some(json) => (json, weights_path.clone()),
            None => {
                let path = dir.join(CONFIG_FILE);
                let json = std::fs::read_to_string(&path)
                    .map_err(|e| ModelError::Checkpoint(format!("{}: {e}", path.display())))?;
                (json, path)
            }
        };
        let config: ModelConfig = serde_json::from_str(&config_json)
            .map_err(|e| ModelError::Checkpoint(format!("model config in {}: {e}", origin.display())))?;
        let mut model = Model::new(&config, device)?;
        weights::load_strict(&mut model.vs, file.tensors, &weights_path)?;
        Ok(model)
    }

    /// Writes `config.json` and `model.safetensors` into `dir` (created if needed), each
    /// by an atomic rename; the weights file carries the config too, so a reader that
    /// races a writer still gets a matching pair.
    pub fn save_checkpoint(&self, dir: &Path) -> Result<(), ModelError> {
        let io = |e: std::io::Error| ModelError::Checkpoint(format!("{}: {e}", dir.display()));
        std::fs::create_dir_all(dir).map_err(io)?;
        let config = serde_json::to_string_pretty(self.config()).expect("config serialises");
        weights::write_file_atomic(&dir.join(CONFIG_FILE), config.as_bytes()).map_err(io)?;
        weights::write_atomic(&self.vs, &config, &dir.join(WEIGHTS_FILE))
    }

    /// Casts the weights to half or bfloat16 (CUDA) or back to float32.
    pub fn set_kind(&mut self, kind: Kind) {
        self.vs.set_kind(kind);
        self.kind = kind;
    }

    pub fn kind(&self) -> Kind {
        self.kind
    }

    pub fn device(&self) -> Device {
        self.vs.device()
    }

    pub fn config(&self) -> &ModelConfig {
        self.spt.config()
    }

    pub fn network(&self) -> &SparsePixelTransformer {
        &self.spt
    }

    pub fn var_store(&self) -> &VarStore {
        &self.vs
    }

    /// Inference: pads `frames` into one batch and reconstructs them at the configured
    /// resolution without autograd. Bad input and libtorch failures (out of memory, say)
    /// come back as errors, never as a panic.
    pub fn infer(&self, frames: &[FrameInput], extra: AttentionOutput) -> Result<SptOutput, ModelError> {
        let batch = SparseBatch::new(frames, self.config(), self.device(), self.kind)?;
        let (height, width) = self.config().height_width();
        self.infer_batch(&batch, height, width, extra)
    }

    /// Inference on an already built batch at any resolution.
    pub fn infer_batch(
        &self,
        batch: &SparseBatch,
        height: i64,
        width: i64,
        extra: AttentionOutput,
    ) -> Result<SptOutput, ModelError> {
        if height <= 0 || width <= 0 {
            return Err(ModelError::Input(format!("resolution {width}x{height} is empty")));
        }
        // tch panics on libtorch errors; this is the one place they become values.
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _guard = tch::no_grad_guard();
            self.spt.forward(batch, height, width, extra, false)
        }))
        .map_err(|panic| ModelError::Torch(panic_message(panic)))
    }
}

/// Every weight initialisation draws from libtorch's one global generator; taking
/// turns keeps a seeded initialisation reproducible while other threads build models.
fn lock_initialisation() -> std::sync::MutexGuard<'static, ()> {
    static INIT: std::sync::Mutex<()> = std::sync::Mutex::new(());
    INIT.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn panic_message(panic: Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "unknown panic".into())
}
