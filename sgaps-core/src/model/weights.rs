//! Strict safetensors loading. tch's `VarStore::load` ignores extra keys and copies with
//! broadcasting, so a misnamed or mis-shaped tensor could load silently; here both key
//! sets and every shape must match.

use std::collections::BTreeMap;
use std::path::Path;

use tch::{nn::VarStore, Tensor};

use super::ModelError;

/// Buffers PyTorch keeps in a `state_dict` that this model derives instead: BatchNorm's
/// step counter and the seed's cached query grid. Accepted in a file, never required.
fn is_derived_buffer(name: &str) -> bool {
    name.ends_with(".num_batches_tracked") || name == "query_grid"
}

/// Copies every tensor of `path` into the variables of `vs`.
pub fn load_strict(vs: &mut VarStore, path: &Path) -> Result<(), ModelError> {
    let file = Tensor::read_safetensors(path).map_err(|e| ModelError::Weights(format!("{}: {e}", path.display())))?;
    let mut tensors: BTreeMap<String, Tensor> = file.into_iter().collect();
    // Sorted, so an error names the same tensor every time.
    let variables: BTreeMap<String, Tensor> = vs.variables().into_iter().collect();

    let missing: Vec<&String> = variables.keys().filter(|k| !tensors.contains_key(*k)).collect();
    if !missing.is_empty() {
        return Err(ModelError::Weights(format!(
            "{}: missing tensor(s) {}",
            path.display(),
            missing.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ")
        )));
    }
    let unexpected: Vec<&String> =
        tensors.keys().filter(|k| !variables.contains_key(*k) && !is_derived_buffer(k)).collect();
    if !unexpected.is_empty() {
        return Err(ModelError::Weights(format!(
            "{}: unexpected tensor(s) {} (does the config beside it match the model?)",
            path.display(),
            unexpected.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ")
        )));
    }
    for (name, variable) in &variables {
        let source = &tensors[name];
        if source.size() != variable.size() {
            return Err(ModelError::Weights(format!(
                "{}: tensor `{name}` has shape {:?}, the model expects {:?}",
                path.display(),
                source.size(),
                variable.size()
            )));
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

/// Writes every variable of `vs` as float32 on the CPU, sorted by name.
pub fn save(vs: &VarStore, path: &Path) -> Result<(), ModelError> {
    let mut named: Vec<(String, Tensor)> = vs
        .variables()
        .into_iter()
        .map(|(name, t)| (name, t.to_device(tch::Device::Cpu).to_kind(tch::Kind::Float).contiguous()))
        .collect();
    named.sort_by(|a, b| a.0.cmp(&b.0));
    Tensor::write_safetensors(&named, path).map_err(|e| ModelError::Weights(format!("{}: {e}", path.display())))
}
