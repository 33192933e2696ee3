//! Multi-head attention with the parameter layout of `torch.nn.MultiheadAttention`
//! (`in_proj_weight [3E, E]`, `in_proj_bias [3E]`, `out_proj.{weight,bias}`), so
//! PyTorch weights load one to one.

use tch::{nn, nn::Module, Kind, Tensor};

/// Keeps `log(0)` finite in the entropy; the seed's value.
const ENTROPY_EPSILON: f64 = 1e-9;
/// Queries per block when only the entropy of the weights is wanted: bounds the
/// weights held at once to `B * heads * QUERY_BLOCK * S` floats.
const QUERY_BLOCK: i64 = 1024;

#[derive(Debug)]
pub struct MultiheadAttention {
    in_proj_weight: Tensor,
    in_proj_bias: Tensor,
    out_proj: nn::Linear,
    num_heads: i64,
    dropout: f64,
}

/// Queries, keys and values split into heads: `[B, heads, len, head_dim]`.
struct Heads {
    q: Tensor,
    k: Tensor,
    v: Tensor,
    /// Additive mask `[B, 1, 1, S]`, -inf on padded keys.
    mask: Option<Tensor>,
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

    fn heads(&self, query: &Tensor, key_value: &Tensor, key_padding_mask: Option<&Tensor>) -> Heads {
        let (b, l, e) = query.size3().expect("query is [B, L, E]");
        let s = key_value.size()[1];
        let head_dim = e / self.num_heads;
        let w = self.in_proj_weight.chunk(3, 0);
        let bias = self.in_proj_bias.chunk(3, 0);
        let split = |x: &Tensor, i: usize, len: i64| {
            x.linear(&w[i], Some(&bias[i])).view([b, len, self.num_heads, head_dim]).transpose(1, 2)
        };
        let q = split(query, 0, l);
        let mask = key_padding_mask.map(|m| {
            Tensor::zeros([b, 1, 1, s], (q.kind(), q.device())).masked_fill(&m.view([b, 1, 1, s]), f64::NEG_INFINITY)
        });
        Heads { k: split(key_value, 1, s), v: split(key_value, 2, s), q, mask }
    }

    /// Softmax attention weights of `q` (a block of queries) on the keys.
    fn weights(q: &Tensor, heads: &Heads) -> Tensor {
        let head_dim = q.size()[3];
        let scores = q.matmul(&heads.k.transpose(-2, -1)) / (head_dim as f64).sqrt();
        let scores = match &heads.mask {
            Some(m) => scores + m,
            None => scores,
        };
        scores.softmax(-1, Kind::Float).to_kind(q.kind())
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
        let heads = self.heads(query, key_value, key_padding_mask);
        let dropout = if train { self.dropout } else { 0.0 };
        let weights = need_weights.then(|| Self::weights(&heads.q, &heads));
        let context = match &weights {
            // Training returns the weights the output really used (same dropout).
            Some(w) if train => w.dropout(dropout, train).matmul(&heads.v),
            // Otherwise the fused kernel, which never materialises the [L, S] matrix
            // (that matters for the seed decoder's self-attention over H*W queries).
            _ => Tensor::scaled_dot_product_attention(
                &heads.q,
                &heads.k,
                &heads.v,
                heads.mask.as_ref(),
                dropout,
                false,
                None,
                false,
            ),
        };
        let (b, l, e) = query.size3().expect("query is [B, L, E]");
        let context = context.transpose(1, 2).reshape([b, l, e]);
        (self.out_proj.forward(&context), weights)
    }

    /// Per query, the entropy over keys of the head-averaged attention weights,
    /// `[B, L]`, computed a block of queries at a time so all the weights never exist
    /// at once. (Importance, seed section 3.2.)
    pub fn entropy(&self, query: &Tensor, key_value: &Tensor, key_padding_mask: Option<&Tensor>) -> Tensor {
        let heads = self.heads(query, key_value, key_padding_mask);
        let blocks: Vec<Tensor> =
            heads.q.split(QUERY_BLOCK, 2).iter().map(|q| head_mean_entropy(&Self::weights(q, &heads))).collect();
        Tensor::cat(&blocks, 1)
    }
}

/// `-Σ p log p` over the last axis of the head-averaged weights `[B, heads, L, S]`,
/// giving `[B, L]`. Padded keys carry zero weight and add nothing.
pub fn head_mean_entropy(weights: &Tensor) -> Tensor {
    let averaged = weights.to_kind(Kind::Float).mean_dim(1, false, Kind::Float);
    -(&averaged * (&averaged + ENTROPY_EPSILON).log()).sum_dim_intlist(-1, false, Kind::Float)
}
