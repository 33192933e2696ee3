//! The two model families on libtorch (tch), one file per building block, and
//! [`Model`]: a network with its weights on a device.
//!
//! - The seed's Sparse Pixel Transformer (`spt.rs` and its blocks): one frame's samples.
//! - The temporal U-Net (`temporal_net.rs`): the samples and the session's history,
//!   rasterized by [`crate::temporal::SessionMemory`].

mod attention;
mod batch;
mod flops;
mod positional_encoding;
mod refine_head;
mod spt;
mod state_encoder;
mod temporal_net;
mod transformer;
mod weights;

use std::path::Path;

use tch::{nn::VarStore, Device, Kind};

pub use batch::{FrameInput, SparseBatch};
pub use flops::forward_flops;
pub use attention::head_mean_entropy;
pub use spt::{AttentionOutput, SparsePixelTransformer, SptOutput};
pub use temporal_net::{temporal_flops, unit_image, TemporalNet, TemporalOutput};

use crate::config::{ModelConfig, ModelFamily};
use crate::temporal::TemporalInputs;

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

/// A network of either family with its weights on one device, in one precision.
#[derive(Debug)]
pub struct Model {
    vs: VarStore,
    network: Network,
    kind: Kind,
}

#[derive(Debug)]
enum Network {
    Spt(SparsePixelTransformer),
    Temporal(TemporalNet),
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
        let network = match config.family {
            ModelFamily::Spt => Network::Spt(SparsePixelTransformer::new(&vs.root(), config)),
            ModelFamily::Temporal => Network::Temporal(TemporalNet::new(&vs.root(), config)),
        };
        Ok(Model { vs, network, kind: Kind::Float })
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

    /// Loads checkpoint weights held in memory (the default model built into the
    /// library), strictly; the model config must be in the file's metadata, as
    /// [`Model::save_checkpoint`] writes it. `source` names the weights in errors.
    pub fn load_checkpoint_bytes(bytes: &[u8], source: &Path, device: Device) -> Result<Model, ModelError> {
        let file = weights::parse(bytes, source)?;
        let json = file
            .config_json
            .ok_or_else(|| ModelError::Checkpoint(format!("{}: no model config in the metadata", source.display())))?;
        let config: ModelConfig = serde_json::from_str(&json)
            .map_err(|e| ModelError::Checkpoint(format!("model config in {}: {e}", source.display())))?;
        let mut model = Model::new(&config, device)?;
        weights::load_strict(&mut model.vs, file.tensors, source)?;
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
        match &self.network {
            Network::Spt(spt) => spt.config(),
            Network::Temporal(net) => net.config(),
        }
    }

    pub fn family(&self) -> ModelFamily {
        self.config().family
    }

    /// The transformer, for a model of the SPT family.
    pub fn spt(&self) -> Option<&SparsePixelTransformer> {
        match &self.network {
            Network::Spt(spt) => Some(spt),
            Network::Temporal(_) => None,
        }
    }

    /// The U-Net, for a model of the temporal family.
    pub fn temporal(&self) -> Option<&TemporalNet> {
        match &self.network {
            Network::Temporal(net) => Some(net),
            Network::Spt(_) => None,
        }
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
        let spt = self.spt().ok_or_else(|| ModelError::Input("a temporal model reconstructs from TemporalInputs (infer_temporal)".into()))?;
        // tch panics on libtorch errors; this is one of the places they become values.
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _guard = tch::no_grad_guard();
            spt.forward(batch, height, width, extra, false)
        }))
        .map_err(|panic| ModelError::Torch(panic_message(panic)))
    }

    /// Inference of the temporal family: one frame per `inputs` (planes at the model's
    /// resolution) with its state vector (at most `max_state_dim` entries; the rest is
    /// padded with the sentinel). Libtorch failures come back as errors.
    pub fn infer_temporal(&self, inputs: &[&TemporalInputs], states: &[&[f32]]) -> Result<TemporalOutput, ModelError> {
        let net = self.temporal().ok_or_else(|| ModelError::Input("infer_temporal takes a temporal model".into()))?;
        let (height, width) = self.config().height_width();
        if let Some(bad) = inputs.iter().find(|i| (i.width as i64, i.height as i64) != (width, height)) {
            return Err(ModelError::Input(format!("inputs are {}x{}, the model works at {width}x{height}", bad.width, bad.height)));
        }
        if inputs.is_empty() || inputs.len() != states.len() {
            return Err(ModelError::Input(format!("{} inputs and {} state vectors", inputs.len(), states.len())));
        }
        let (planes, state) = temporal_batch(inputs, states, self.config());
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _guard = tch::no_grad_guard();
            let options = (self.kind, self.device());
            net.forward(&planes.to_device(options.1).to_kind(options.0), &state.to_device(options.1).to_kind(options.0))
        }))
        .map_err(|panic| ModelError::Torch(panic_message(panic)))
    }
}

/// The batch tensors of the temporal family on the CPU: `[B, PLANES, H, W]` and
/// `[B, max_state_dim]` (extra state entries are cut off, missing ones are the sentinel).
pub fn temporal_batch(inputs: &[&TemporalInputs], states: &[&[f32]], config: &ModelConfig) -> (tch::Tensor, tch::Tensor) {
    let (h, w) = (inputs[0].height as i64, inputs[0].width as i64);
    let planes: Vec<f32> = inputs.iter().flat_map(|i| i.planes.iter().copied()).collect();
    let planes = tch::Tensor::from_slice(&planes).view([inputs.len() as i64, crate::temporal::PLANES as i64, h, w]);
    let s = config.max_state_dim as usize;
    let mut state = vec![config.sentinel_value; inputs.len() * s];
    for (row, values) in states.iter().enumerate() {
        let n = values.len().min(s);
        state[row * s..row * s + n].copy_from_slice(&values[..n]);
    }
    let state = tch::Tensor::from_slice(&state).view([inputs.len() as i64, s as i64]);
    (planes, state)
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
