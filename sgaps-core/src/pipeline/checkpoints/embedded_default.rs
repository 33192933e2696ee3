//! The trained default model (`checkpoints/default/` of the repository, 0.3 MB), built
//! into the library, so an engine opened from any folder, in a game or a Python script,
//! serves it without a file on disk.

use std::path::Path;
use std::sync::OnceLock;

use tch::Device;

use crate::config::ModelConfig;
use crate::model::{Model, ModelError};

const WEIGHTS: &[u8] = include_bytes!("../../../../checkpoints/default/model.safetensors");
const CONFIG_JSON: &str = include_str!("../../../../checkpoints/default/config.json");

/// Names the embedded weights in errors and logs.
const SOURCE: &str = "<default model built into libsgaps>";

/// `default-embedded-<hash of the weights>`: changes whenever the weights do.
pub fn version() -> &'static str {
    use std::hash::{Hash, Hasher};
    static VERSION: OnceLock<String> = OnceLock::new();
    VERSION.get_or_init(|| {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        WEIGHTS.hash(&mut hasher);
        format!("default-embedded-{:08x}", hasher.finish() as u32)
    })
}

/// The model config the embedded default was trained as.
pub fn config() -> &'static ModelConfig {
    static CONFIG: OnceLock<ModelConfig> = OnceLock::new();
    CONFIG.get_or_init(|| serde_json::from_str(CONFIG_JSON).expect("checkpoints/default/config.json is a model config"))
}

/// Builds the embedded default on `device`, loading its weights strictly.
pub fn load(device: Device) -> Result<Model, ModelError> {
    Model::load_checkpoint_bytes(WEIGHTS, Path::new(SOURCE), device)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_default_loads_and_matches_its_config() {
        let model = load(Device::Cpu).unwrap();
        assert_eq!(model.config(), config());
        assert!(model.temporal().is_some(), "the default is a temporal model");
        assert!(version().starts_with("default-embedded-") && version().len() == "default-embedded-".len() + 8);
    }

    #[test]
    fn the_built_in_configuration_describes_the_embedded_model() {
        // What makes the embedded default serve an engine opened on the built-in config.
        let built_in = crate::Config::load(None, &[]).unwrap();
        assert_eq!(&built_in.model, config());
    }
}
