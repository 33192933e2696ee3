//! The Sparse Pixel Transformer (seed section 2.1): a few hundred (u, v, value) pixels
//! and a state vector in, the whole H x W frame out.
//!
//! ```text
//! pixels [B,N,3] -> Linear(3,E) + PE(u,v) --+
//! state  [B,S]   -> StateVectorEncoder -----+-> [state; pixels] -> pre-LN encoder -> memory [B,N+1,E]
//! query grid [H*W,2] -> PE -> decoder (cross-attends memory) (+ skip) -> [B,E,H,W] -> RefineHead -> [B,1,H,W]
//! ```
//! Parameter names equal the PyTorch `state_dict` keys of the seed's module tree.

use image::GrayImage;
use tch::{nn, nn::Module, Device, Kind, Tensor};

use super::batch::SparseBatch;
use super::positional_encoding::PositionalEncoding;
use super::refine_head::RefineHead;
use super::state_encoder::StateVectorEncoder;
use super::transformer::{DecoderLayer, EncoderLayer};
use crate::config::ModelConfig;

/// What a forward pass returns besides the reconstruction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttentionOutput {
    /// Nothing more: the fastest pass.
    None,
    /// The last decoder layer's cross-attention weights `[B, heads, H*W, N+1]`.
    Weights,
    /// Their per-query entropy after averaging the heads, `[B, H*W]`: what importance
    /// needs, computed in blocks without holding all the weights.
    Entropy,
}

/// What one forward pass returns.
#[derive(Debug)]
pub struct SptOutput {
    /// `[B, 1, H, W]`, intensities in (0, 1).
    pub reconstruction: Tensor,
    /// The last decoder layer's cross-attention weights `[B, heads, H*W, N+1]` (key 0 is
    /// the state token), with [`AttentionOutput::Weights`].
    pub attention: Option<Tensor>,
    /// Per-query entropy of the head-averaged weights `[B, H*W]`, with
    /// [`AttentionOutput::Entropy`].
    pub entropy: Option<Tensor>,
}

impl SptOutput {
    /// The reconstructions as 8-bit images, one per frame of the batch.
    pub fn images(&self) -> Vec<GrayImage> {
        let (b, _, h, w) = self.reconstruction.size4().expect("[B, 1, H, W]");
        let bytes = (self.reconstruction.to_kind(Kind::Float) * 255.0).round().clamp(0.0, 255.0).to_kind(Kind::Uint8);
        let bytes = Vec::<u8>::try_from(bytes.to_device(Device::Cpu).flatten(0, -1)).expect("u8 tensor");
        let frame_len = (h * w) as usize;
        (0..b as usize)
            .map(|i| GrayImage::from_raw(w as u32, h as u32, bytes[i * frame_len..(i + 1) * frame_len].to_vec()).expect("sized"))
            .collect()
    }
}

#[derive(Debug)]
pub struct SparsePixelTransformer {
    pixel_embed: nn::Linear,
    state_encoder: StateVectorEncoder,
    pos_encoder: PositionalEncoding,
    encoder: Vec<EncoderLayer>,
    /// `Sequential(Linear, Dropout, LayerNorm)`: `skip_proj.0`, `skip_proj.2`.
    skip_proj: Option<(nn::Linear, nn::LayerNorm)>,
    decoder: Vec<DecoderLayer>,
    refine_head: RefineHead,
    config: ModelConfig,
}

impl SparsePixelTransformer {
    pub fn new(vs: &nn::Path, config: &ModelConfig) -> Self {
        let e = config.embed_dim;
        let skip = &config.architecture.skip;
        let skip_proj = skip.enabled.then(|| {
            (
                nn::linear(vs / "skip_proj" / 0, e, e, Default::default()),
                nn::layer_norm(vs / "skip_proj" / 2, vec![e], Default::default()),
            )
        });
        SparsePixelTransformer {
            pixel_embed: nn::linear(vs / "pixel_embed", 3, e, Default::default()),
            state_encoder: StateVectorEncoder::new(vs / "state_encoder", config.max_state_dim, e),
            pos_encoder: PositionalEncoding::new(vs / "pos_encoder", e, &config.positional_encoding),
            encoder: (0..config.num_encoder_layers)
                .map(|i| EncoderLayer::new(vs / "encoder" / "layers" / i, config))
                .collect(),
            skip_proj,
            decoder: (0..config.num_decoder_layers)
                .map(|i| DecoderLayer::new(vs / "decoder" / "layers" / i, config))
                .collect(),
            refine_head: RefineHead::new(vs / "refine_head", e, config.architecture.interpolation_prior),
            config: config.clone(),
        }
    }

    pub fn config(&self) -> &ModelConfig {
        &self.config
    }

    /// Reconstructs `batch` at `height` x `width`. Shapes must already be valid (see
    /// [`SparseBatch::new`]); `train` turns on dropout and batch statistics.
    pub fn forward(&self, batch: &SparseBatch, height: i64, width: i64, extra: AttentionOutput, train: bool) -> SptOutput {
        let pixels = &batch.pixels;
        let (b, n, _) = pixels.size3().expect("pixels are [B, N, 3]");
        let e = self.config.embed_dim;

        let uv = pixels.narrow(-1, 0, 2);
        let pixel_tokens = self.pos_encoder.forward(&self.pixel_embed.forward(pixels), &uv);
        let state_token = self.state_encoder.forward(&batch.state, &batch.state_mask);
        let mut memory = Tensor::cat(&[state_token, pixel_tokens], 1);

        // The state token is never padding.
        let memory_padding = batch
            .pixel_padding
            .as_ref()
            .map(|p| Tensor::cat(&[p.zeros_like().narrow(1, 0, 1), p.shallow_clone()], 1));
        for layer in &self.encoder {
            memory = layer.forward(&memory, memory_padding.as_ref(), train);
        }

        let grid = query_grid(height, width, pixels);
        let mut queries = self.pos_encoder.encode(&grid).expand([b, height * width, e], false);
        let mut last_layer_extra = None;
        let last = self.decoder.len().saturating_sub(1);
        for (i, layer) in self.decoder.iter().enumerate() {
            let layer_extra = if i == last { extra } else { AttentionOutput::None };
            let (next, layer_output) = layer.forward(&queries, &memory, memory_padding.as_ref(), layer_extra, train);
            queries = next;
            last_layer_extra = layer_output.or(last_layer_extra);
        }

        if let Some((linear, norm)) = &self.skip_proj {
            // Mean over the real pixel tokens only (the seed has no padding: a plain mean).
            let encoded_pixels = memory.narrow(1, 1, n);
            let mean = match &batch.pixel_padding {
                Some(padding) => {
                    let valid = padding.logical_not().unsqueeze(-1).to_kind(memory.kind());
                    (encoded_pixels * &valid).sum_dim_intlist(1, true, None) / valid.sum_dim_intlist(1, true, None)
                }
                None => encoded_pixels.mean_dim(1, true, None),
            };
            let dropout = self.config.architecture.skip.dropout;
            let projected = norm.forward(&linear.forward(&mean).dropout(dropout, train));
            // Out of place: an in-place add would break autograd in training.
            queries = &queries + projected * self.config.architecture.skip.weight;
        }

        let features = queries.view([b, height, width, e]).permute([0, 3, 1, 2]);
        let (attention, entropy) = match extra {
            AttentionOutput::Weights => (last_layer_extra, None),
            AttentionOutput::Entropy => (None, last_layer_extra),
            AttentionOutput::None => (None, None),
        };
        let prior = batch.prior.as_ref().map(|prior| match prior.size()[2..] == [height, width] {
            true => prior.shallow_clone(),
            false => prior.upsample_bilinear2d([height, width], false, None, None),
        });
        let reconstruction = self.refine_head.forward(&features, prior.as_ref(), train);
        SptOutput { reconstruction, attention, entropy }
    }
}

/// Query positions of every output pixel, `[1, H*W, 2]` as (u, v), row-major, with
/// u = x / (W - 1) and v = y / (H - 1) as the seed's `linspace(0, 1, ·)`.
fn query_grid(height: i64, width: i64, like: &Tensor) -> Tensor {
    let options = (like.kind(), like.device());
    let ys = Tensor::linspace(0.0, 1.0, height, options);
    let xs = Tensor::linspace(0.0, 1.0, width, options);
    let grid = Tensor::meshgrid_indexing(&[&ys, &xs], "ij");
    Tensor::stack(&[grid[1].flatten(0, -1), grid[0].flatten(0, -1)], 1).unsqueeze(0)
}
