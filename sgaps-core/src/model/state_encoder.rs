//! The game state vector as one "global context" token (seed section 2.1).

use tch::{nn, nn::Module, Tensor};

/// `LayerNorm(Linear(state * mask))`: sentinel entries (mask 0) contribute nothing, so
/// games with shorter state vectors share the model. Names: `state_encoder.linear`,
/// `state_encoder.norm`.
#[derive(Debug)]
pub struct StateVectorEncoder {
    linear: nn::Linear,
    norm: nn::LayerNorm,
}

impl StateVectorEncoder {
    pub fn new(vs: nn::Path, max_state_dim: i64, embed_dim: i64) -> Self {
        StateVectorEncoder {
            linear: nn::linear(&vs / "linear", max_state_dim, embed_dim, Default::default()),
            norm: nn::layer_norm(&vs / "norm", vec![embed_dim], Default::default()),
        }
    }

    /// `state`, `mask`: `[B, max_state_dim]` -> `[B, 1, embed_dim]`.
    pub fn forward(&self, state: &Tensor, mask: &Tensor) -> Tensor {
        self.norm.forward(&self.linear.forward(&(state * mask))).unsqueeze(1)
    }
}
