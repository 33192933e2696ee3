//! AdamW (Loshchilov & Hutter) over a `VarStore`, with moments we own: tch's optimizer
//! keeps its state inside libtorch where it cannot be saved, and a resumed run must
//! continue exactly where the interrupted one stopped, moments included.

use std::collections::HashMap;
use std::path::Path;

use tch::nn::VarStore;
use tch::Tensor;

const BETA1: f64 = 0.9;
const BETA2: f64 = 0.999;
const EPSILON: f64 = 1e-8;

pub struct AdamW {
    weight_decay: f64,
    /// Steps taken: Adam's bias correction depends on it.
    steps: i64,
    first: HashMap<String, Tensor>,
    second: HashMap<String, Tensor>,
}

impl AdamW {
    pub fn new(weight_decay: f64) -> AdamW {
        AdamW { weight_decay, steps: 0, first: HashMap::new(), second: HashMap::new() }
    }

    pub fn zero_grad(&self, vs: &VarStore) {
        for mut variable in vs.trainable_variables() {
            variable.zero_grad();
        }
    }

    /// Scales the gradients down so their global L2 norm is at most `max_norm`.
    pub fn clip_grad_norm(&self, vs: &VarStore, max_norm: f64) {
        let gradients: Vec<Tensor> = vs.trainable_variables().iter().map(|v| v.grad()).filter(|g| g.defined()).collect();
        let total: f64 = gradients.iter().map(|g| g.square().sum(tch::Kind::Float).double_value(&[])).sum::<f64>().sqrt();
        if total > max_norm && total.is_finite() {
            tch::no_grad(|| gradients.iter().for_each(|g| drop(g.shallow_clone().f_mul_(&Tensor::from(max_norm / total)))));
        }
    }

    /// One update of every trainable variable with a gradient.
    pub fn step(&mut self, vs: &VarStore, learning_rate: f64) {
        self.steps += 1;
        let correction1 = 1.0 - BETA1.powi(self.steps as i32);
        let correction2 = 1.0 - BETA2.powi(self.steps as i32);
        tch::no_grad(|| {
            for (name, mut variable) in vs.variables() {
                let gradient = variable.grad();
                if !variable.requires_grad() || !gradient.defined() {
                    continue;
                }
                let m = self.first.entry(name.clone()).or_insert_with(|| variable.zeros_like());
                *m = &*m * BETA1 + &gradient * (1.0 - BETA1);
                let v = self.second.entry(name).or_insert_with(|| variable.zeros_like());
                *v = &*v * BETA2 + gradient.square() * (1.0 - BETA2);
                let update = (&*m / correction1) / ((&*v / correction2).sqrt() + EPSILON);
                let decayed = &variable * (1.0 - learning_rate * self.weight_decay) - update * learning_rate;
                variable.copy_(&decayed);
            }
        });
    }

    /// Writes the moments to `path` (safetensors); the step count travels with the
    /// trainer's state.
    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        let mut named: Vec<(String, &Tensor)> = self.first.iter().map(|(k, t)| (format!("first.{k}"), t)).collect();
        named.extend(self.second.iter().map(|(k, t)| (format!("second.{k}"), t)));
        named.sort_by(|a, b| a.0.cmp(&b.0));
        Tensor::write_safetensors(&named, path)?;
        Ok(())
    }

    /// Restores moments written by [`AdamW::save`] after `steps` steps.
    pub fn load(&mut self, path: &Path, steps: i64, device: tch::Device) -> anyhow::Result<()> {
        self.steps = steps;
        for (name, tensor) in Tensor::read_safetensors(path)? {
            let tensor = tensor.to_device(device);
            if let Some(key) = name.strip_prefix("first.") {
                self.first.insert(key.to_string(), tensor);
            } else if let Some(key) = name.strip_prefix("second.") {
                self.second.insert(key.to_string(), tensor);
            } else {
                anyhow::bail!("{}: unexpected tensor {name}", path.display());
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{nn, Kind};

    /// Minimises (w - 3)^2: AdamW gets there, and a copy restored from a save takes
    /// exactly the same next step as the original.
    #[test]
    fn converges_and_resumes_exactly() {
        let vs = VarStore::new(tch::Device::Cpu);
        let w = vs.root().var("w", &[1], nn::Init::Const(0.0));
        let mut adam = AdamW::new(0.0);
        let step = |adam: &mut AdamW| {
            adam.zero_grad(&vs);
            (&w - 3.0).square().sum(Kind::Float).backward();
            adam.step(&vs, 0.1);
        };
        for _ in 0..20 {
            step(&mut adam);
        }
        let dir = tempfile::tempdir().unwrap();
        adam.save(&dir.path().join("adam.safetensors")).unwrap();
        let before = w.double_value(&[0]);
        let mut restored = AdamW::new(0.0);
        restored.load(&dir.path().join("adam.safetensors"), 20, tch::Device::Cpu).unwrap();
        step(&mut adam);
        let original = w.double_value(&[0]);
        tch::no_grad(|| drop(w.shallow_clone().fill_(before)));
        step(&mut restored);
        assert_eq!(w.double_value(&[0]), original);
        for _ in 0..300 {
            step(&mut adam);
        }
        assert!((w.double_value(&[0]) - 3.0).abs() < 0.05, "{}", w.double_value(&[0]));
    }
}
