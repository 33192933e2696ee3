//! Continuous positional encodings of (u, v) in [0, 1] (seed section 2.2).

use std::f64::consts::PI;

use tch::{nn, Kind, Tensor};

use crate::config::{PositionalEncodingConfig, PositionalEncodingKind};

/// Adds a positional code of the continuous coordinates to token embeddings.
#[derive(Debug)]
pub enum PositionalEncoding {
    /// The seed's fixed code: `embed_dim / 4` log-spaced frequencies from 1 to
    /// `max_freq`, laid out as `[sin(2πf₀u), cos(2πf₀u), sin(2πf₁u), …, (same for v)]`.
    /// `freqs` is a buffer (saved, not trained), named `pos_encoder.freqs` as in PyTorch.
    Sinusoidal { freqs: Tensor },
    /// Learnable Gaussian random Fourier features: `[sin(2π uv·B), cos(2π uv·B)]` with
    /// `B` of shape `[2, embed_dim / 2]` drawn from N(0, sigma²), named `pos_encoder.projection`.
    GaussianFourier { projection: Tensor },
}

impl PositionalEncoding {
    pub fn new(vs: nn::Path, embed_dim: i64, config: &PositionalEncodingConfig) -> Self {
        match config.kind {
            PositionalEncodingKind::Sinusoidal => {
                let num_bands = embed_dim / 4;
                let values = Tensor::logspace(0.0, config.max_freq.log10(), num_bands, 10.0, (Kind::Float, vs.device()));
                let mut freqs = vs.zeros_no_train("freqs", &[num_bands]);
                tch::no_grad(|| freqs.copy_(&values));
                PositionalEncoding::Sinusoidal { freqs }
            }
            PositionalEncodingKind::GaussianFourier => {
                let init = nn::Init::Randn { mean: 0.0, stdev: config.fourier_sigma };
                PositionalEncoding::GaussianFourier { projection: vs.var("projection", &[2, embed_dim / 2], init) }
            }
        }
    }

    /// The code alone for `uv` of shape `[B, L, 2]`: `[B, L, embed_dim]`.
    pub fn encode(&self, uv: &Tensor) -> Tensor {
        match self {
            PositionalEncoding::Sinusoidal { freqs } => {
                let freqs = freqs.to_kind(uv.kind());
                let band = |coord: Tensor| {
                    // [B, L, 1] * [F] -> [B, L, F]; interleave sin/cos per band as the seed does.
                    let angle = coord * freqs.shallow_clone() * (2.0 * PI);
                    let (b, l, f) = angle.size3().expect("angle is [B, L, F]");
                    Tensor::stack(&[angle.sin(), angle.cos()], -1).reshape([b, l, 2 * f])
                };
                let u = uv.narrow(-1, 0, 1);
                let v = uv.narrow(-1, 1, 1);
                Tensor::cat(&[band(u), band(v)], -1)
            }
            PositionalEncoding::GaussianFourier { projection } => {
                let angle = uv.matmul(&projection.to_kind(uv.kind())) * (2.0 * PI);
                Tensor::cat(&[angle.sin(), angle.cos()], -1)
            }
        }
    }

    /// `embeddings + encode(uv)`.
    pub fn forward(&self, embeddings: &Tensor, uv: &Tensor) -> Tensor {
        embeddings + self.encode(uv)
    }
}
