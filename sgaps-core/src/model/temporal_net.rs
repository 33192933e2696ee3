//! The temporal family's network: a three-level U-Net over the planes of
//! [`crate::temporal::TemporalInputs`]. It predicts per-pixel blend weights over the
//! candidate reconstructions (this frame's interpolation, the recent union's, the
//! scroll-warped previous frame, the canvas) plus a small residual, and the error it
//! expects at each pixel, which is the importance the sampler uses.
//!
//! Blending observed values generalises better than predicting pixels (kernel-predicting
//! networks, Bako et al. 2017): an untrained network already returns the union
//! interpolation, and a game it never saw still gets its own pixels back.
//!
//! The state vector, when a client sends one, modulates the bottleneck (FiLM); entries
//! equal to the sentinel count as absent, so a client without one costs nothing.

use tch::{nn, nn::Module, Tensor};

use crate::config::{ModelConfig, TemporalConfig};
use crate::temporal::{CANDIDATES, PLANES};

/// Residuals stay small: the candidates carry the picture, the residual fixes detail.
const RESIDUAL_SCALE: f64 = 0.25;
/// The untrained blend logit of the union interpolation (the others start at 0).
const UNION_PREFERENCE: f64 = 2.0;

#[derive(Debug)]
pub struct TemporalNet {
    config: ModelConfig,
    full: [nn::Conv2D; 2],
    down_half: nn::Conv2D,
    half: nn::Conv2D,
    down_quarter: nn::Conv2D,
    quarter: nn::Conv2D,
    film_hidden: nn::Linear,
    film: nn::Linear,
    up_half: nn::Conv2D,
    merge_half: nn::Conv2D,
    up_full: nn::Conv2D,
    merge_full: nn::Conv2D,
    head: nn::Conv2D,
}

/// One forward pass: `[B, 1, H, W]` each.
#[derive(Debug)]
pub struct TemporalOutput {
    /// Intensities in [0, 1].
    pub reconstruction: Tensor,
    /// The absolute error the network expects at each pixel (>= 0).
    pub predicted_error: Tensor,
}

impl TemporalNet {
    /// `config.temporal` must be present (the config was validated).
    pub fn new(vs: &nn::Path, config: &ModelConfig) -> TemporalNet {
        let temporal: &TemporalConfig = config.temporal.as_ref().expect("a validated temporal config");
        let [c0, c1, c2] = temporal.channels;
        let conv = |name: &str, i: i64, o: i64, stride: i64| {
            nn::conv2d(vs / name, i, o, 3, nn::ConvConfig { padding: 1, stride, ..Default::default() })
        };
        let state_features = 2 * config.max_state_dim;
        let zero = nn::LinearConfig { ws_init: nn::Init::Const(0.0), bs_init: Some(nn::Init::Const(0.0)), bias: true };
        // The head starts at zero but for the blend logits' bias, which prefers the
        // union interpolation (weight 0.71, the other candidates 0.1 each): the untrained
        // network is a classical blend, and no softmax starts saturated.
        let head_config = nn::ConvConfig { ws_init: nn::Init::Const(0.0), bs_init: nn::Init::Const(0.0), ..Default::default() };
        let head = nn::conv2d(vs / "head", c0, CANDIDATES.len() as i64 + 2, 1, head_config);
        tch::no_grad(|| {
            let bias = head.bs.as_ref().expect("head has a bias");
            let _ = bias.get(1).fill_(UNION_PREFERENCE);
            let _ = bias.get(CANDIDATES.len() as i64 + 1).fill_(-3.0);
        });
        TemporalNet {
            config: config.clone(),
            full: [conv("full_in", PLANES as i64, c0, 1), conv("full", c0, c0, 1)],
            down_half: conv("down_half", c0, c1, 2),
            half: conv("half", c1, c1, 1),
            down_quarter: conv("down_quarter", c1, c2, 2),
            quarter: conv("quarter", c2, c2, 1),
            film_hidden: nn::linear(vs / "film_hidden", state_features, temporal.state_embed_dim, Default::default()),
            film: nn::linear(vs / "film", temporal.state_embed_dim, 2 * c2, zero),
            up_half: conv("up_half", c2, c1, 1),
            merge_half: conv("merge_half", 2 * c1, c1, 1),
            up_full: conv("up_full", c1, c0, 1),
            merge_full: conv("merge_full", 2 * c0, c0, 1),
            head,
        }
    }

    pub fn config(&self) -> &ModelConfig {
        &self.config
    }

    /// `inputs` `[B, PLANES, H, W]`, `state` `[B, max_state_dim]` padded with the
    /// sentinel value.
    pub fn forward(&self, inputs: &Tensor, state: &Tensor) -> TemporalOutput {
        let act = |x: Tensor| x.relu();
        let inputs = &channels_last(inputs);
        let full = act(self.full[1].forward(&act(self.full[0].forward(inputs))));
        let half = act(self.half.forward(&act(self.down_half.forward(&full))));
        let quarter = act(self.quarter.forward(&act(self.down_quarter.forward(&half))));
        let quarter = self.modulate(quarter, state);
        let up = act(self.up_half.forward(&upsample_to(&quarter, &half)));
        let half = act(self.merge_half.forward(&Tensor::cat(&[up, half], 1)));
        let up = act(self.up_full.forward(&upsample_to(&half, &full)));
        let full = act(self.merge_full.forward(&Tensor::cat(&[up, full], 1)));
        let head = self.head.forward(&full);

        let k = CANDIDATES.len() as i64;
        let weights = head.narrow(1, 0, k).softmax(1, head.kind());
        let candidates = Tensor::cat(&CANDIDATES.map(|p| inputs.narrow(1, p as i64, 1)), 1);
        let blended = (weights * candidates).sum_dim_intlist(1, true, head.kind());
        let residual = head.narrow(1, k, 1).tanh() * RESIDUAL_SCALE;
        let reconstruction = (blended + residual).clamp(0.0, 1.0);
        let predicted_error = head.narrow(1, k + 1, 1).softplus();
        TemporalOutput { reconstruction, predicted_error }
    }

    /// FiLM: `x * (1 + gamma) + beta` from the state; the last layer starts at zero, so
    /// an untrained network ignores the state.
    fn modulate(&self, x: Tensor, state: &Tensor) -> Tensor {
        let present = state.ne(self.config.sentinel_value as f64).to_kind(x.kind());
        // Signed log squashes raw values (RAM bytes, pixel positions) into a sane range.
        let values = state.abs().log1p() * state.sign() * &present;
        let features = Tensor::cat(&[values, present], 1);
        let film = self.film.forward(&self.film_hidden.forward(&features).relu());
        let c = x.size()[1];
        let gamma = film.narrow(1, 0, c).unsqueeze(-1).unsqueeze(-1);
        let beta = film.narrow(1, c, c).unsqueeze(-1).unsqueeze(-1);
        x * (gamma + 1.0) + beta
    }
}

/// `x` `[B, C, H, W]` stored channels-last (NHWC). Convolutions follow their input's
/// layout, and oneDNN's NHWC kernels are much faster than NCHW at a dozen channels.
fn channels_last(x: &Tensor) -> Tensor {
    x.permute([0, 2, 3, 1]).contiguous().permute([0, 3, 1, 2])
}

/// `x` upsampled (nearest) to the spatial size of `like`, so odd sizes line up.
fn upsample_to(x: &Tensor, like: &Tensor) -> Tensor {
    let size = like.size();
    x.upsample_nearest2d([size[2], size[3]], None::<f64>, None::<f64>)
}

impl TemporalOutput {
    /// The reconstructions, one row-major `Vec` of intensities in [0, 1] per frame.
    pub fn reconstruction_rows(&self) -> Vec<Vec<f32>> {
        frame_rows(&self.reconstruction)
    }

    /// The predicted error maps, one row-major `Vec` per frame.
    pub fn error_rows(&self) -> Vec<Vec<f32>> {
        frame_rows(&self.predicted_error)
    }
}

/// `[B, 1, H, W]` -> one row-major `Vec<f32>` per frame, on the CPU, without autograd.
fn frame_rows(tensor: &Tensor) -> Vec<Vec<f32>> {
    let b = tensor.size()[0] as usize;
    let flat = Vec::<f32>::try_from(tensor.detach().to_kind(tch::Kind::Float).to_device(tch::Device::Cpu).flatten(0, -1))
        .expect("a float tensor converts");
    flat.chunks(flat.len() / b).map(<[f32]>::to_vec).collect()
}

/// Row-major intensities in [0, 1] as an 8-bit image.
pub fn unit_image(values: &[f32], width: u32, height: u32) -> image::GrayImage {
    let bytes = values.iter().map(|v| (v * 255.0).round().clamp(0.0, 255.0) as u8).collect();
    image::GrayImage::from_raw(width, height, bytes).expect("one value per pixel")
}

/// The multiply-adds of one frame, for `sgaps bench`.
pub fn temporal_flops(config: &ModelConfig) -> f64 {
    let Some(t) = &config.temporal else { return 0.0 };
    let [c0, c1, c2] = t.channels.map(|c| c as f64);
    let (w, h) = (config.resolution[0] as f64, config.resolution[1] as f64);
    let (full, half, quarter) = (w * h, w * h / 4.0, w * h / 16.0);
    let p = PLANES as f64;
    let macs = 9.0 * (full * (p * c0 + c0 * c0 + 2.0 * c0 * c0 + c1 * c0)
        + half * (c0 * c1 + c1 * c1 + c2 * c1 + 2.0 * c1 * c1)
        + quarter * (c1 * c2 + c2 * c2))
        + full * c0 * (CANDIDATES.len() as f64 + 2.0);
    2.0 * macs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ModelFamily;
    use crate::temporal::Plane;
    use tch::Kind;

    fn config() -> ModelConfig {
        ModelConfig {
            name: "t".into(),
            family: ModelFamily::Temporal,
            max_state_dim: 4,
            sentinel_value: -999.0,
            resolution: [20, 14],
            temporal: Some(TemporalConfig { channels: [4, 6, 8], ..Default::default() }),
            embed_dim: 0,
            num_heads: 0,
            num_encoder_layers: 0,
            num_decoder_layers: 0,
            decoder: Default::default(),
            positional_encoding: Default::default(),
            architecture: Default::default(),
        }
    }

    #[test]
    fn untrained_it_is_a_fixed_blend_favouring_the_union_at_any_size() {
        let vs = nn::VarStore::new(tch::Device::Cpu);
        let net = TemporalNet::new(&vs.root(), &config());
        let inputs = Tensor::rand([2, PLANES as i64, 14, 21], (Kind::Float, tch::Device::Cpu));
        let state = Tensor::full([2, 4], -999.0, (Kind::Float, tch::Device::Cpu));
        let out = net.forward(&inputs, &state);
        assert_eq!(out.reconstruction.size(), [2, 1, 14, 21]);
        assert_eq!(out.predicted_error.size(), [2, 1, 14, 21]);
        let e = UNION_PREFERENCE.exp();
        let (union_weight, other_weight) = (e / (e + 3.0), 1.0 / (e + 3.0));
        let plane = |p: Plane| inputs.narrow(1, p as i64, 1);
        let expected = plane(Plane::InterpolatedUnion) * union_weight
            + (plane(Plane::InterpolatedCurrent) + plane(Plane::WarpedPrevious) + plane(Plane::Canvas)) * other_weight;
        let difference = (out.reconstruction - expected).abs().max().double_value(&[]);
        assert!(difference < 1e-5, "{difference}");
    }

    #[test]
    fn the_state_vector_changes_the_output_once_trained() {
        let vs = nn::VarStore::new(tch::Device::Cpu);
        let net = TemporalNet::new(&vs.root(), &config());
        tch::no_grad(|| {
            for (name, mut tensor) in vs.variables() {
                if name.starts_with("film.") || name.starts_with("head.weight") {
                    tensor.copy_(&(Tensor::randn_like(&tensor) * 0.5));
                }
            }
        });
        let inputs = Tensor::rand([1, PLANES as i64, 14, 20], (Kind::Float, tch::Device::Cpu));
        let absent = Tensor::full([1, 4], -999.0, (Kind::Float, tch::Device::Cpu));
        let present = Tensor::from_slice(&[3.0f32, -999.0, 1.0, 7.0]).view([1, 4]);
        let a = net.forward(&inputs, &absent).reconstruction;
        let b = net.forward(&inputs, &present).reconstruction;
        assert!((a - b).abs().max().double_value(&[]) > 1e-4);
    }
}
