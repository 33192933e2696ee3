//! Pre-LN transformer layers with the parameter names of PyTorch's
//! `nn.TransformerEncoderLayer` / `nn.TransformerDecoderLayer` (`norm_first=True`,
//! ReLU feed-forward), so `encoder.layers.{i}.*` and `decoder.layers.{i}.*` load 1:1.

use tch::{nn, nn::Module, Tensor};

use super::attention::MultiheadAttention;
use super::spt::AttentionOutput;
use crate::config::{DecoderKind, ModelConfig};

/// `linear2(dropout(relu(linear1(x))))`.
#[derive(Debug)]
struct FeedForward {
    linear1: nn::Linear,
    linear2: nn::Linear,
    dropout: f64,
}

impl FeedForward {
    fn new(vs: &nn::Path, config: &ModelConfig) -> Self {
        let (e, f) = (config.embed_dim, config.architecture.feedforward_dim);
        FeedForward {
            linear1: nn::linear(vs / "linear1", e, f, Default::default()),
            linear2: nn::linear(vs / "linear2", f, e, Default::default()),
            dropout: config.architecture.dropout,
        }
    }

    fn forward(&self, x: &Tensor, train: bool) -> Tensor {
        self.linear2.forward(&self.linear1.forward(x).relu().dropout(self.dropout, train))
    }
}

fn layer_norm(vs: &nn::Path, name: &str, embed_dim: i64) -> nn::LayerNorm {
    nn::layer_norm(vs / name, vec![embed_dim], Default::default())
}

/// `x + SA(norm1(x))`, then `x + FF(norm2(x))`.
#[derive(Debug)]
pub struct EncoderLayer {
    self_attn: MultiheadAttention,
    norm1: nn::LayerNorm,
    norm2: nn::LayerNorm,
    feed_forward: FeedForward,
    dropout: f64,
}

impl EncoderLayer {
    pub fn new(vs: nn::Path, config: &ModelConfig) -> Self {
        let (e, dropout) = (config.embed_dim, config.architecture.dropout);
        EncoderLayer {
            self_attn: MultiheadAttention::new(&vs / "self_attn", e, config.num_heads, dropout),
            norm1: layer_norm(&vs, "norm1", e),
            norm2: layer_norm(&vs, "norm2", e),
            feed_forward: FeedForward::new(&vs, config),
            dropout,
        }
    }

    /// `x [B, S, E]`; `padding [B, S]` is true on padded tokens.
    pub fn forward(&self, x: &Tensor, padding: Option<&Tensor>, train: bool) -> Tensor {
        let h = self.norm1.forward(x);
        let (attended, _) = self.self_attn.forward(&h, &h, padding, false, train);
        let x = x + attended.dropout(self.dropout, train);
        let ff = self.feed_forward.forward(&self.norm2.forward(&x), train);
        &x + ff.dropout(self.dropout, train)
    }
}

/// A decoder layer over the query grid. `seed`: `x + SA(norm1(x))`, `x + CA(norm2(x),
/// memory)`, `x + FF(norm3(x))`. `cross` drops the query self-attention (and `norm1`),
/// keeping the other names, so a seed checkpoint's cross-attention and feed-forward
/// weights fit a cross model.
#[derive(Debug)]
pub struct DecoderLayer {
    self_attn: Option<(MultiheadAttention, nn::LayerNorm)>,
    multihead_attn: MultiheadAttention,
    norm2: nn::LayerNorm,
    norm3: nn::LayerNorm,
    feed_forward: FeedForward,
    dropout: f64,
}

impl DecoderLayer {
    pub fn new(vs: nn::Path, config: &ModelConfig) -> Self {
        let (e, h, dropout) = (config.embed_dim, config.num_heads, config.architecture.dropout);
        let self_attn = (config.decoder == DecoderKind::Seed)
            .then(|| (MultiheadAttention::new(&vs / "self_attn", e, h, dropout), layer_norm(&vs, "norm1", e)));
        DecoderLayer {
            self_attn,
            multihead_attn: MultiheadAttention::new(&vs / "multihead_attn", e, h, dropout),
            norm2: layer_norm(&vs, "norm2", e),
            norm3: layer_norm(&vs, "norm3", e),
            feed_forward: FeedForward::new(&vs, config),
            dropout,
        }
    }

    /// `x [B, L, E]` queries, `memory [B, S, E]`, `memory_padding [B, S]`. Returns the
    /// new queries and, as `extra` asks, the cross-attention weights `[B, heads, L, S]`
    /// or their per-query entropy `[B, L]`.
    pub fn forward(
        &self,
        x: &Tensor,
        memory: &Tensor,
        memory_padding: Option<&Tensor>,
        extra: AttentionOutput,
        train: bool,
    ) -> (Tensor, Option<Tensor>) {
        let mut x = x.shallow_clone();
        if let Some((self_attn, norm1)) = &self.self_attn {
            let h = norm1.forward(&x);
            let (attended, _) = self_attn.forward(&h, &h, None, false, train);
            x = &x + attended.dropout(self.dropout, train);
        }
        let h = self.norm2.forward(&x);
        let need_weights = extra == AttentionOutput::Weights;
        let (attended, weights) = self.multihead_attn.forward(&h, memory, memory_padding, need_weights, train);
        let extra = match extra {
            AttentionOutput::Entropy => Some(self.multihead_attn.entropy(&h, memory, memory_padding)),
            _ => weights,
        };
        let x = &x + attended.dropout(self.dropout, train);
        let ff = self.feed_forward.forward(&self.norm3.forward(&x), train);
        (&x + ff.dropout(self.dropout, train), extra)
    }
}
