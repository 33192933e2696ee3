"""sgaps.linear_interpolation and sgaps.psnr: the yardstick the examples print next to
the model, and the measure."""

import math

import numpy as np
import pytest

import sgaps


def ramp(width=40, height=30):
    return np.tile(np.linspace(0, 255, width).round().astype(np.uint8), (height, 1))


def grid_samples(truth, step=3):
    height, width = truth.shape
    ys = sorted({*range(0, height, step), height - 1})
    xs = sorted({*range(0, width, step), width - 1})
    return np.array([((x + 0.5) / width, (y + 0.5) / height, truth[y, x]) for y in ys for x in xs], np.float32)


def test_a_ramp_is_reproduced_and_measured_against_the_ground_truth():
    truth = ramp()
    image = sgaps.linear_interpolation(grid_samples(truth), 40, 30)
    assert image.shape == (30, 40) and image.dtype == np.uint8
    assert np.abs(image.astype(int) - truth).max() <= 1
    assert sgaps.psnr(image, truth) > 45
    assert math.isinf(sgaps.psnr(truth, truth))
    # At half the size, against the truth resized as the engine resizes it.
    assert sgaps.psnr(sgaps.linear_interpolation(grid_samples(truth), 20, 15), truth) > 30
    assert sgaps.psnr(np.full((30, 40), 128, np.uint8), truth) < 12


def test_bad_input_is_named():
    with pytest.raises(sgaps.InvalidArgumentError, match=r"\(N, 3\)"):
        sgaps.linear_interpolation(np.zeros((5, 2)), 40, 30)
    with pytest.raises(sgaps.InvalidArgumentError, match="pixel_count"):
        sgaps.linear_interpolation(np.zeros((0, 3)), 40, 30)
    with pytest.raises(sgaps.InvalidArgumentError, match="0x30"):
        sgaps.linear_interpolation(grid_samples(ramp()), 0, 30)
    with pytest.raises(sgaps.InvalidArgumentError, match="reference"):
        sgaps.psnr(ramp(), np.zeros(5, np.uint8))
