"""A small CPU model with random weights and a private checkpoint directory, so tests
never read a real checkpoints/ folder and run in seconds."""

from pathlib import Path

import numpy as np
import pytest

import sgaps

REPO = Path(__file__).resolve().parents[3]
WIDTH, HEIGHT, SAMPLES = 32, 24, 100


def small_overrides(checkpoint_dir, *extra):
    return ["model=spt_small", f"model.resolution=[{WIDTH},{HEIGHT}]",
            f"sampling.default_sample_count={SAMPLES}", "device=cpu",
            f"checkpoint_dir={checkpoint_dir}", *extra]


@pytest.fixture
def overrides(tmp_path):
    return small_overrides(tmp_path / "checkpoints", "mask_update=fixed")


@pytest.fixture
def engine(overrides):
    with sgaps.Engine(overrides=overrides) as engine:
        yield engine


def scene(t, coordinates):
    """A bright square moving right over a vertical gradient, sampled at (u, v)."""
    u, v = coordinates[:, 0], coordinates[:, 1]
    inside = (u * 64 >= 4 + 2 * t) & (u * 64 < 16 + 2 * t) & (v * 48 >= 16) & (v * 48 < 28)
    return np.where(inside, 250.0, np.floor(v * 160.0))


def sample(t, coordinates):
    """(N, 3) pixels: (u, v, value) at each coordinate."""
    return np.column_stack([coordinates, scene(t, coordinates)]).astype(np.float32)
