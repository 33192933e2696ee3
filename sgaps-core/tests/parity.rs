//! Parity of the Rust Sparse Pixel Transformer with PyTorch.
//!
//! `tests/parity/make_reference.py` builds the seed's model with torch.nn and random
//! weights for every combination of decoder (seed, cross), positional encoding
//! (sinusoidal, Gaussian-Fourier) and skip connection (on, off), and saves the weights
//! as a checkpoint directory, a padded batch of frames with different pixel counts and
//! PyTorch's outputs. Here the Rust model loads each checkpoint and must give the same
//! reconstruction and last-layer cross-attention weights within 1e-4.

use std::path::{Path, PathBuf};
use std::process::Command;

use sgaps_core::model::{head_mean_entropy, AttentionOutput, FrameInput, Model, SparseBatch};
use tch::{Device, Kind, Tensor};

const TOLERANCE: f64 = 1e-4;

fn python() -> String {
    std::env::var("SGAPS_PYTHON").unwrap_or_else(|_| "python3".into())
}

fn generate_reference(out: &Path) -> Vec<String> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/parity/make_reference.py");
    let status = Command::new(python())
        .arg(&script)
        .arg(out)
        .status()
        .expect("python3 runs (make setup installs torch into the cached venv)");
    assert!(status.success(), "{} failed", script.display());
    let names = std::fs::read_to_string(out.join("cases.json")).unwrap();
    serde_json::from_str(&names).unwrap()
}

fn read(path: PathBuf) -> std::collections::HashMap<String, Tensor> {
    Tensor::read_safetensors(&path).unwrap().into_iter().collect()
}

fn max_abs_diff(a: &Tensor, b: &Tensor) -> f64 {
    assert_eq!(a.size(), b.size(), "shapes differ");
    (a - b).abs().max().double_value(&[])
}

#[test]
fn rust_model_matches_pytorch() {
    let dir = tempfile::tempdir().unwrap();
    let cases = generate_reference(dir.path());
    assert_eq!(cases.len(), 8);
    for name in cases {
        let case = dir.path().join(&name);
        let model = Model::load_checkpoint(&case, Device::Cpu).unwrap();
        let inputs = read(case.join("inputs.safetensors"));
        let expected = read(case.join("expected.safetensors"));
        let (height, width) = model.config().height_width();

        // The batch exactly as PyTorch saw it.
        let batch = SparseBatch {
            pixels: inputs["pixels"].shallow_clone(),
            pixel_padding: Some(inputs["padding"].to_kind(Kind::Bool)),
            state: inputs["state"].shallow_clone(),
            state_mask: inputs["state_mask"].shallow_clone(),
            prior: None,
        };
        // A saturated sigmoid would hide differences: the reference must vary.
        let spread = expected["reconstruction"].std(false).double_value(&[]);
        assert!(spread > 1e-2, "{name}: reference reconstruction is nearly constant ({spread})");
        let out = model.infer_batch(&batch, height, width, AttentionOutput::Weights).unwrap();
        let recon_diff = max_abs_diff(&out.reconstruction, &expected["reconstruction"]);
        let attn_diff = max_abs_diff(out.attention.as_ref().unwrap(), &expected["attention"]);
        println!("{name}: reconstruction {recon_diff:.2e}, attention {attn_diff:.2e}");
        assert!(recon_diff < TOLERANCE, "{name}: reconstruction differs by {recon_diff}");
        assert!(attn_diff < TOLERANCE, "{name}: attention differs by {attn_diff}");

        // The blockwise entropy the engine uses equals the entropy of the full weights.
        let entropy = model.infer_batch(&batch, height, width, AttentionOutput::Entropy).unwrap().entropy.unwrap();
        let entropy_diff = max_abs_diff(&entropy, &head_mean_entropy(&expected["attention"]));
        assert!(entropy_diff < TOLERANCE, "{name}: entropy differs by {entropy_diff}");

        // The same frames built by SparseBatch::new from plain slices, as the engine does.
        let counts = Vec::<i64>::try_from(&inputs["pixel_counts"]).unwrap();
        let lengths = Vec::<i64>::try_from(&inputs["state_lengths"]).unwrap();
        let pixels: Vec<Vec<[f32; 3]>> = counts
            .iter()
            .enumerate()
            .map(|(i, &n)| {
                let flat = Vec::<f32>::try_from(inputs["pixels"].get(i as i64).narrow(0, 0, n).flatten(0, -1)).unwrap();
                flat.chunks(3).map(|c| [c[0], c[1], c[2]]).collect()
            })
            .collect();
        let states: Vec<Vec<f32>> = lengths
            .iter()
            .enumerate()
            .map(|(i, &n)| Vec::<f32>::try_from(inputs["state"].get(i as i64).narrow(0, 0, n)).unwrap())
            .collect();
        let frames: Vec<FrameInput> =
            pixels.iter().zip(&states).map(|(p, s)| FrameInput { pixels: p, state: s }).collect();
        let out = model.infer(&frames, AttentionOutput::None).unwrap();
        let diff = max_abs_diff(&out.reconstruction, &expected["reconstruction"]);
        assert!(diff < TOLERANCE, "{name}: SparseBatch::new batch differs by {diff}");
        assert!(out.attention.is_none());
    }
}

#[test]
fn padding_does_not_change_a_frame() {
    // A frame reconstructed alone equals the same frame inside a padded batch.
    let config = sgaps_core::Config::load(None, &["model=spt_small".into(), "model.resolution=[12,8]".into()])
        .unwrap()
        .model;
    let model = Model::new_seeded(&config, Device::Cpu, 7).unwrap();
    let short: Vec<[f32; 3]> = (0..5).map(|i| [i as f32 / 5.0, 0.3, 0.5]).collect();
    let long: Vec<[f32; 3]> = (0..40).map(|i| [0.7, i as f32 / 40.0, 0.2]).collect();
    let state = [1.0f32, -2.0];
    let alone = model.infer(&[FrameInput { pixels: &short, state: &state }], AttentionOutput::Weights).unwrap();
    let batched = model
        .infer(&[FrameInput { pixels: &long, state: &[] }, FrameInput { pixels: &short, state: &state }], AttentionOutput::Weights)
        .unwrap();
    let diff = max_abs_diff(&alone.reconstruction.get(0), &batched.reconstruction.get(1));
    assert!(diff < 1e-5, "padding changed the reconstruction by {diff}");
    // Padded keys get no attention at all.
    let weights = batched.attention.unwrap().get(1);
    let on_padding = weights.narrow(-1, 1 + short.len() as i64, (long.len() - short.len()) as i64);
    assert_eq!(on_padding.abs().max().double_value(&[]), 0.0);
}

#[test]
fn checkpoint_round_trip_and_strict_loading() {
    let config = sgaps_core::Config::load(None, &["model=spt_small".into()]).unwrap().model;
    let model = Model::new_seeded(&config, Device::Cpu, 3).unwrap();
    let dir = tempfile::tempdir().unwrap();
    model.save_checkpoint(dir.path()).unwrap();
    let loaded = Model::load_checkpoint(dir.path(), Device::Cpu).unwrap();
    let pixels: Vec<[f32; 3]> = (0..30).map(|i| [(i % 6) as f32 / 6.0, (i / 6) as f32 / 5.0, 0.4]).collect();
    let frame = [FrameInput { pixels: &pixels, state: &[0.5] }];
    let a = model.infer(&frame, AttentionOutput::None).unwrap().reconstruction;
    let b = loaded.infer(&frame, AttentionOutput::None).unwrap().reconstruction;
    assert_eq!(max_abs_diff(&a, &b), 0.0);

    // A model of another shape refuses these weights, naming the tensor.
    let mut wider = config.clone();
    wider.architecture.feedforward_dim = 256;
    let err = Model::from_weights(&wider, &dir.path().join("model.safetensors"), Device::Cpu).unwrap_err().to_string();
    assert!(err.contains("`decoder.layers.0.linear1.bias` has shape [128]") && err.contains("[256]"), "{err}");
    // A model with more layers names the first missing tensor.
    let mut deeper = config.clone();
    deeper.num_encoder_layers += 1;
    let err = Model::from_weights(&deeper, &dir.path().join("model.safetensors"), Device::Cpu).unwrap_err().to_string();
    assert!(err.contains("missing") && err.contains("encoder.layers.3."), "{err}");
    // A model without the skip projection names the unexpected tensors.
    let mut no_skip = config;
    no_skip.architecture.skip.enabled = false;
    let err = Model::from_weights(&no_skip, &dir.path().join("model.safetensors"), Device::Cpu).unwrap_err().to_string();
    assert!(err.contains("unexpected") && err.contains("skip_proj.0.weight"), "{err}");
}

#[test]
fn blockwise_entropy_equals_the_entropy_of_all_weights() {
    // 40x30 = 1200 queries: more than one block of queries.
    let config = sgaps_core::Config::load(None, &["model=spt_small".into(), "model.resolution=[40,30]".into()])
        .unwrap()
        .model;
    let model = Model::new_seeded(&config, Device::Cpu, 11).unwrap();
    let pixels: Vec<[f32; 3]> = (0..50).map(|i| [(i % 10) as f32 / 10.0, (i / 10) as f32 / 5.0, 0.3]).collect();
    let frames = [FrameInput { pixels: &pixels, state: &[1.0] }, FrameInput { pixels: &pixels[..20], state: &[] }];
    let weights = model.infer(&frames, AttentionOutput::Weights).unwrap().attention.unwrap();
    let entropy = model.infer(&frames, AttentionOutput::Entropy).unwrap().entropy.unwrap();
    assert_eq!(entropy.size(), vec![2, 1200]);
    let diff = max_abs_diff(&entropy, &head_mean_entropy(&weights));
    assert!(diff < 1e-5, "blockwise entropy differs by {diff}");
}
