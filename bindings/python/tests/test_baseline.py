"""sgaps.linear_interpolation: the yardstick the examples print next to the model."""

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
    result = sgaps.linear_interpolation(grid_samples(truth), 40, 30, ground_truth=truth)
    assert result.image.shape == (30, 40) and result.image.dtype == np.uint8
    assert np.abs(result.image.astype(int) - truth).max() <= 1
    assert result.psnr > 45
    assert sgaps.linear_interpolation(grid_samples(truth), 40, 30).psnr is None


def test_bad_input_is_named():
    with pytest.raises(sgaps.InvalidArgumentError, match=r"\(N, 3\)"):
        sgaps.linear_interpolation(np.zeros((5, 2)), 40, 30)
    with pytest.raises(sgaps.InvalidArgumentError, match="pixel_count"):
        sgaps.linear_interpolation(np.zeros((0, 3)), 40, 30)
    with pytest.raises(sgaps.InvalidArgumentError, match="0x30"):
        sgaps.linear_interpolation(grid_samples(ramp()), 0, 30)
