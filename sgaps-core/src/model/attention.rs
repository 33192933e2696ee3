//! Multi-head attention with the parameter layout of `torch.nn.MultiheadAttention`
//! (`in_proj_weight [3E, E]`, `in_proj_bias [3E]`, `out_proj.{weight,bias}`), so
//! PyTorch weights load one to one.

use tch::{nn, nn::Module, Kind, Tensor};

#[derive(Debug)]
pub struct MultiheadAttention {
    in_proj_weight: Tensor,
    in_proj_bias: Tensor,
    out_proj: nn::Linear,
    num_heads: i64,
    dropout: f64,
}

impl MultiheadAttention {
    pub fn new(vs: nn::Path, embed_dim: i64, num_heads: i64, dropout: f64) -> Self {
        let bound = (6.0 / (embed_dim as f64 * 4.0)).sqrt(); // xavier_uniform on [3E, E]
        MultiheadAttention {
            in_proj_weight: vs.var("in_proj_weight", &[3 * embed_dim, embed_dim], nn::Init::Uniform { lo: -bound, up: bound }),
            in_proj_bias: vs.var("in_proj_bias", &[3 * embed_dim], nn::Init::Const(0.0)),
            out_proj: nn::linear(&vs / "out_proj", embed_dim, embed_dim, Default::default()),
            num_heads,
            dropout,
        }
    }

    /// `query [B, L, E]` attends to `key_value [B, S, E]`. `key_padding_mask [B, S]`
    /// is true where a key is padding. Returns the output `[B, L, E]` and, when
    /// `need_weights`, the per-head attention weights `[B, heads, L, S]`.
    pub fn forward(
        &self,
        query: &Tensor,
        key_value: &Tensor,
        key_padding_mask: Option<&Tensor>,
        need_weights: bool,
        train: bool,
    ) -> (Tensor, Option<Tensor>) {
        let (b, l, e) = query.size3().expect("query is [B, L, E]");
        let s = key_value.size()[1];
        let head_dim = e / self.num_heads;
        let w = self.in_proj_weight.chunk(3, 0);
        let bias = self.in_proj_bias.chunk(3, 0);
        let heads = |x: &Tensor, i: usize, len: i64| {
            x.linear(&w[i], Some(&bias[i])).view([b, len, self.num_heads, head_dim]).transpose(1, 2)
        };
        let (q, k, v) = (heads(query, 0, l), heads(key_value, 1, s), heads(key_value, 2, s));
        // Additive mask [B, 1, 1, S]: -inf on padded keys.
        let mask = key_padding_mask.map(|m| {
            Tensor::zeros([b, 1, 1, s], (q.kind(), q.device())).masked_fill(&m.view([b, 1, 1, s]), f64::NEG_INFINITY)
        });
        let dropout = if train { self.dropout } else { 0.0 };
        // The fused kernel never materialises the [L, S] matrix, which matters for the
        // seed decoder's query self-attention over H*W tokens.
        let fused = |mask: Option<Tensor>| Tensor::scaled_dot_product_attention(&q, &k, &v, mask, dropout, false, None, false);
        if !need_weights {
            let context = fused(mask).transpose(1, 2).reshape([b, l, e]);
            return (self.out_proj.forward(&context), None);
        }
        let scores = q.matmul(&k.transpose(-2, -1)) / (head_dim as f64).sqrt();
        let scores = match &mask {
            Some(m) => scores + m,
            None => scores,
        };
        let weights = scores.softmax(-1, Kind::Float).to_kind(q.kind());
        let context = if train {
            // The output must come from the very weights returned (same dropout).
            weights.dropout(dropout, train).matmul(&v)
        } else {
            // Inference wants the weights only for importance; the fused kernel gives
            // the output faster than multiplying them with V.
            fused(mask)
        };
        let context = context.transpose(1, 2).reshape([b, l, e]);
        (self.out_proj.forward(&context), Some(weights))
    }
}
