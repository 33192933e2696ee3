"""The Sparse Pixel Transformer in PyTorch, from the seed's code (SERVER_IMPLEMENTATION.md
section 2), with the extensions the Rust model adds: a key-padding mask so one batch can
hold frames with different pixel counts, the `cross` decoder (no query self-attention),
and the learnable Gaussian-Fourier positional encoding.

This is the reference the Rust model is checked against; keep it close to the seed.
"""

import math

import torch
import torch.nn as nn
from torchvision_basic_block import BasicBlock


class ContinuousPositionalEncoding(nn.Module):
    def __init__(self, embed_dim, max_freq=10):
        super().__init__()
        num_bands = embed_dim // 4
        freqs = torch.logspace(0, math.log10(max_freq), num_bands)
        self.register_buffer("freqs", freqs)

    def encode(self, uv):
        u, v = uv[:, :, 0:1], uv[:, :, 1:2]
        u_enc, v_enc = [], []
        for freq in self.freqs:
            u_enc.append(torch.sin(2 * math.pi * freq * u))
            u_enc.append(torch.cos(2 * math.pi * freq * u))
            v_enc.append(torch.sin(2 * math.pi * freq * v))
            v_enc.append(torch.cos(2 * math.pi * freq * v))
        return torch.cat(u_enc + v_enc, dim=2)

    def forward(self, embeddings, uv):
        return embeddings + self.encode(uv)


class GaussianFourierEncoding(nn.Module):
    def __init__(self, embed_dim, sigma):
        super().__init__()
        self.projection = nn.Parameter(torch.randn(2, embed_dim // 2) * sigma)

    def encode(self, uv):
        angle = 2 * math.pi * uv @ self.projection
        return torch.cat([torch.sin(angle), torch.cos(angle)], dim=-1)

    def forward(self, embeddings, uv):
        return embeddings + self.encode(uv)


class StateVectorEncoder(nn.Module):
    def __init__(self, max_state_dim, embed_dim):
        super().__init__()
        self.linear = nn.Linear(max_state_dim, embed_dim)
        self.norm = nn.LayerNorm(embed_dim)

    def forward(self, state_vector, state_mask):
        return self.norm(self.linear(state_vector * state_mask)).unsqueeze(1)


class CrossDecoderLayer(nn.Module):
    """TransformerDecoderLayer without query self-attention (and without norm1)."""

    def __init__(self, d_model, nhead, dim_feedforward, dropout):
        super().__init__()
        self.multihead_attn = nn.MultiheadAttention(d_model, nhead, dropout=dropout, batch_first=True)
        self.linear1 = nn.Linear(d_model, dim_feedforward)
        self.linear2 = nn.Linear(dim_feedforward, d_model)
        self.norm2 = nn.LayerNorm(d_model)
        self.norm3 = nn.LayerNorm(d_model)
        self.dropout = nn.Dropout(dropout)

    def forward(self, tgt, memory, memory_key_padding_mask=None):
        x = tgt
        h = self.norm2(x)
        x = x + self.multihead_attn(h, memory, memory, key_padding_mask=memory_key_padding_mask, need_weights=False)[0]
        return x + self.linear2(self.dropout(torch.relu(self.linear1(self.norm3(x)))))


class SparsePixelTransformer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        e, heads = cfg["embed_dim"], cfg["num_heads"]
        arch = cfg["architecture"]
        self.pixel_embed = nn.Linear(3, e)
        self.state_encoder = StateVectorEncoder(cfg["max_state_dim"], e)
        pe = cfg["positional_encoding"]
        if pe["type"] == "sinusoidal":
            self.pos_encoder = ContinuousPositionalEncoding(e, pe["max_freq"])
        else:
            self.pos_encoder = GaussianFourierEncoding(e, pe["fourier_sigma"])
        enc_layer = nn.TransformerEncoderLayer(
            d_model=e, nhead=heads, dim_feedforward=arch["feedforward_dim"], dropout=arch["dropout"],
            batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(enc_layer, num_layers=cfg["num_encoder_layers"], enable_nested_tensor=False)
        self.skip_enabled = arch["skip"]["enabled"]
        if self.skip_enabled:
            self.skip_proj = nn.Sequential(nn.Linear(e, e), nn.Dropout(arch["skip"]["dropout"]), nn.LayerNorm(e))
        if cfg["decoder"] == "seed":
            dec_layer = nn.TransformerDecoderLayer(
                d_model=e, nhead=heads, dim_feedforward=arch["feedforward_dim"], dropout=arch["dropout"],
                batch_first=True, norm_first=True)
            self.decoder = nn.TransformerDecoder(dec_layer, num_layers=cfg["num_decoder_layers"])
        else:
            self.decoder = nn.Module()
            self.decoder.layers = nn.ModuleList(
                CrossDecoderLayer(e, heads, arch["feedforward_dim"], arch["dropout"])
                for _ in range(cfg["num_decoder_layers"]))
        self.refine_head = nn.Sequential(BasicBlock(e, e), BasicBlock(e, e), nn.Conv2d(e, 1, 3, padding=1), nn.Sigmoid())

    def query_grid(self, height, width):
        ys = torch.linspace(0, 1, height)
        xs = torch.linspace(0, 1, width)
        yy, xx = torch.meshgrid(ys, xs, indexing="ij")
        return torch.stack([xx.flatten(), yy.flatten()], dim=1)

    def forward(self, pixels, state, state_mask, padding, height, width):
        """Returns the reconstruction [B,1,H,W] and the last decoder layer's per-head
        cross-attention weights [B, heads, H*W, N+1]."""
        B, N, _ = pixels.shape
        e = self.cfg["embed_dim"]
        tokens = self.pos_encoder(self.pixel_embed(pixels), pixels[:, :, :2])
        memory = torch.cat([self.state_encoder(state, state_mask), tokens], dim=1)
        mem_pad = torch.cat([torch.zeros(B, 1, dtype=torch.bool), padding], dim=1)
        memory = self.encoder(memory, src_key_padding_mask=mem_pad)

        queries = self.pos_encoder(torch.zeros(B, height * width, e), self.query_grid(height, width).unsqueeze(0).repeat(B, 1, 1))
        layers = list(self.decoder.layers)
        for layer in layers[:-1]:
            queries = self.decoder_layer(layer, queries, memory, mem_pad)
        last = layers[-1]
        weights = self.last_layer_weights(last, queries, memory, mem_pad)
        queries = self.decoder_layer(last, queries, memory, mem_pad)

        if self.skip_enabled:
            valid = (~padding).unsqueeze(-1).float()
            mean = (memory[:, 1:, :] * valid).sum(1, keepdim=True) / valid.sum(1, keepdim=True)
            queries = queries + self.cfg["architecture"]["skip"]["weight"] * self.skip_proj(mean).expand(-1, queries.shape[1], -1)
        features = queries.view(B, height, width, e).permute(0, 3, 1, 2)
        return self.refine_head(features), weights

    def decoder_layer(self, layer, queries, memory, mem_pad):
        if isinstance(layer, CrossDecoderLayer):
            return layer(queries, memory, memory_key_padding_mask=mem_pad)
        return layer(queries, memory, memory_key_padding_mask=mem_pad)

    @staticmethod
    def last_layer_weights(layer, queries, memory, mem_pad):
        """The cross-attention weights of `layer`, recomputed with PyTorch's own modules."""
        x = queries
        if not isinstance(layer, CrossDecoderLayer):
            h = layer.norm1(x)
            x = x + layer.self_attn(h, h, h, need_weights=False)[0]
        _, weights = layer.multihead_attn(
            layer.norm2(x), memory, memory, key_padding_mask=mem_pad, need_weights=True, average_attn_weights=False)
        return weights
