"""Writes PyTorch reference cases for the Rust parity test.

For each case: a random-weight seed-style model (reference_spt.py), its state_dict as
model.safetensors with config.json beside it (a checkpoint directory the Rust model
loads), the inputs, and PyTorch's outputs, in OUT/<case>/.

    python make_reference.py OUT
"""

import json
import sys
from pathlib import Path

import torch
from safetensors.torch import save_file

from reference_spt import SparsePixelTransformer

WIDTH, HEIGHT = 10, 6            # not square, so a transposed grid is caught
PIXEL_COUNTS = [7, 12, 10]       # a padded batch: frames with different pixel counts
STATE_LENGTHS = [3, 0, 8]        # "no state" and a full state vector included


def model_config(decoder, pe, skip):
    return {
        "name": f"parity_{decoder}_{pe}_{'skip' if skip else 'noskip'}",
        "embed_dim": 32, "num_heads": 4, "num_encoder_layers": 2, "num_decoder_layers": 2,
        "max_state_dim": 8, "sentinel_value": -999.0, "resolution": [WIDTH, HEIGHT],
        "decoder": decoder,
        "positional_encoding": {"type": pe, "max_freq": 10.0, "fourier_sigma": 2.0},
        "architecture": {"feedforward_dim": 48, "dropout": 0.1,
                         "skip": {"enabled": skip, "weight": 0.5, "dropout": 0.1}},
    }


def randomise_batch_norms(model):
    """Non-trivial running statistics and affine parameters, so BatchNorm is tested."""
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 1.5)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)
            m.num_batches_tracked.fill_(7)


def make_inputs(max_state_dim, sentinel):
    n = max(PIXEL_COUNTS)
    b = len(PIXEL_COUNTS)
    pixels = torch.zeros(b, n, 3)
    padding = torch.ones(b, n, dtype=torch.bool)
    state = torch.full((b, max_state_dim), sentinel)
    state_mask = torch.zeros(b, max_state_dim)
    for i, (count, length) in enumerate(zip(PIXEL_COUNTS, STATE_LENGTHS)):
        pixels[i, :count] = torch.rand(count, 3)
        padding[i, :count] = False
        state[i, :length] = torch.randn(length) * 3
        state_mask[i, :length] = 1
    return pixels, padding, state, state_mask


def write_case(out, decoder, pe, skip):
    cfg = model_config(decoder, pe, skip)
    model = SparsePixelTransformer(cfg)
    randomise_batch_norms(model)
    model.eval()
    pixels, padding, state, state_mask = make_inputs(cfg["max_state_dim"], cfg["sentinel_value"])
    with torch.no_grad():
        reconstruction, attention = model(pixels, state, state_mask, padding, HEIGHT, WIDTH)

    case = out / cfg["name"]
    case.mkdir(parents=True, exist_ok=True)
    state_dict = {k: v.contiguous() for k, v in model.state_dict().items()}
    save_file(state_dict, str(case / "model.safetensors"))
    (case / "config.json").write_text(json.dumps(cfg, indent=2))
    save_file({
        "pixels": pixels, "padding": padding.to(torch.uint8), "state": state, "state_mask": state_mask,
        "pixel_counts": torch.tensor(PIXEL_COUNTS, dtype=torch.int64),
        "state_lengths": torch.tensor(STATE_LENGTHS, dtype=torch.int64),
    }, str(case / "inputs.safetensors"))
    save_file({"reconstruction": reconstruction.contiguous(), "attention": attention.contiguous()},
              str(case / "expected.safetensors"))
    return cfg["name"]


def main():
    out = Path(sys.argv[1])
    torch.manual_seed(1234)
    names = [write_case(out, decoder, pe, skip)
             for decoder in ("seed", "cross")
             for pe in ("sinusoidal", "gaussian_fourier")
             for skip in (True, False)]
    (out / "cases.json").write_text(json.dumps(names))
    print(f"wrote {len(names)} cases to {out}")


if __name__ == "__main__":
    main()
