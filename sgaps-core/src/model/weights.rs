//! Checkpoint weights in safetensors, loaded strictly. tch's `VarStore::load` ignores
//! extra keys and copies with broadcasting, so a misnamed or mis-shaped tensor could load
//! silently; here both key sets and every shape must match.
//!
//! The file also carries the model config in its metadata (key `sgaps.model_config`), so
//! one file, replaced by one atomic rename, always holds weights and config that belong
//! together. `config.json` beside it is for people and for converted PyTorch weights.

use std::collections::BTreeMap;
use std::path::Path;

use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use tch::{nn::VarStore, Kind, Tensor};

use super::ModelError;

const CONFIG_METADATA_KEY: &str = "sgaps.model_config";

/// The tensors of a safetensors file and the model config in its metadata, if any.
pub struct WeightsFile {
    pub config_json: Option<String>,
    pub tensors: BTreeMap<String, Tensor>,
}

pub fn read(path: &Path) -> Result<WeightsFile, ModelError> {
    let bytes = std::fs::read(path).map_err(|e| ModelError::Weights(format!("{}: {e}", path.display())))?;
    parse(&bytes, path)
}

/// The tensors and config of safetensors `bytes`; `source` names them in errors.
pub fn parse(bytes: &[u8], source: &Path) -> Result<WeightsFile, ModelError> {
    let fail = |e: &dyn std::fmt::Display| ModelError::Weights(format!("{}: {e}", source.display()));
    let file = SafeTensors::deserialize(bytes).map_err(|e| fail(&format!("{e:?}")))?;
    let (_, metadata) = SafeTensors::read_metadata(bytes).map_err(|e| fail(&format!("{e:?}")))?;
    let config_json = metadata.metadata().as_ref().and_then(|m| m.get(CONFIG_METADATA_KEY).cloned());
    let tensors = file
        .tensors()
        .into_iter()
        .map(|(name, view)| Tensor::try_from(view).map(|t| (name, t)).map_err(|e| fail(&e)))
        .collect::<Result<_, _>>()?;
    Ok(WeightsFile { config_json, tensors })
}

/// Buffers PyTorch keeps in a `state_dict` that this model derives instead: BatchNorm's
/// step counter and the seed's cached query grid. Accepted in a file, never required.
fn is_derived_buffer(name: &str) -> bool {
    name.ends_with(".num_batches_tracked") || name == "query_grid"
}

/// Copies `tensors` into the variables of `vs`; `source` names them in errors.
pub fn load_strict(vs: &mut VarStore, mut tensors: BTreeMap<String, Tensor>, source: &Path) -> Result<(), ModelError> {
    let fail = |message: String| ModelError::Weights(format!("{}: {message}", source.display()));
    let list = |keys: Vec<&String>| keys.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ");
    // Sorted, so an error names the same tensor every time.
    let variables: BTreeMap<String, Tensor> = vs.variables().into_iter().collect();

    let missing: Vec<&String> = variables.keys().filter(|k| !tensors.contains_key(*k)).collect();
    if !missing.is_empty() {
        return Err(fail(format!("missing tensor(s) {}", list(missing))));
    }
    let unexpected: Vec<&String> =
        tensors.keys().filter(|k| !variables.contains_key(*k) && !is_derived_buffer(k)).collect();
    if !unexpected.is_empty() {
        return Err(fail(format!(
            "unexpected tensor(s) {} (does the model config match these weights?)",
            list(unexpected)
        )));
    }
    for (name, variable) in &variables {
        let found = tensors[name].size();
        if found != variable.size() {
            return Err(fail(format!("tensor `{name}` has shape {found:?}, the model expects {:?}", variable.size())));
        }
    }
    tch::no_grad(|| {
        for (name, mut variable) in variables {
            let source = tensors.remove(&name).expect("checked above");
            variable.copy_(&source.to_kind(variable.kind()).to_device(variable.device()));
        }
    });
    Ok(())
}

/// Writes every variable of `vs` as float32, sorted by name, with `config_json` in the
/// metadata: to a temporary file beside `path`, renamed over it, so a reader never
/// sees a half-written file.
pub fn write_atomic(vs: &VarStore, config_json: &str, path: &Path) -> Result<(), ModelError> {
    let fail = |e: &dyn std::fmt::Display| ModelError::Weights(format!("{}: {e}", path.display()));
    let named: BTreeMap<String, (Vec<usize>, Vec<u8>)> = vs
        .variables()
        .into_iter()
        .map(|(name, t)| {
            let t = t.to_device(tch::Device::Cpu).to_kind(Kind::Float).contiguous();
            let shape = t.size().iter().map(|&d| d as usize).collect();
            let values = Vec::<f32>::try_from(t.flatten(0, -1)).expect("float tensor");
            (name, (shape, values.iter().flat_map(|v| v.to_le_bytes()).collect()))
        })
        .collect();
    let views = named
        .iter()
        .map(|(name, (shape, bytes))| TensorView::new(Dtype::F32, shape.clone(), bytes).map(|v| (name.as_str(), v)))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| fail(&format!("{e:?}")))?;
    let metadata = Some([(CONFIG_METADATA_KEY.to_string(), config_json.to_string())].into());
    let bytes = safetensors::tensor::serialize(views, &metadata).map_err(|e| fail(&format!("{e:?}")))?;
    write_file_atomic(path, &bytes).map_err(|e| fail(&e))
}

/// Writes `bytes` to a temporary sibling of `path`, syncs it, and renames it over `path`.
pub fn write_file_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
    let mut file = std::fs::File::create(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&tmp, path)
}
