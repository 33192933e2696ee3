"""The classical yardstick: linear interpolation of a frame's own samples."""

from __future__ import annotations

import ctypes
import math
from dataclasses import dataclass
from typing import Optional

import numpy as np

from ._native import check, lib
from .engine import ArrayLike, _Frame
from .errors import InvalidArgumentError


@dataclass(frozen=True)
class LinearInterpolation:
    image: np.ndarray          # uint8 (height, width), top row first
    psnr: Optional[float]      # dB against the ground truth; None without one


def linear_interpolation(pixels: ArrayLike, width: int, height: int,
                         ground_truth: Optional[ArrayLike] = None) -> LinearInterpolation:
    """Interpolates `pixels` ((N, 3) of u, v, value as sent to Session.submit) linearly
    over their Delaunay triangulation into a width x height image; outside the samples'
    convex hull a pixel takes the nearest sample's value. With `ground_truth` (the
    whole frame, (H, W) uint8) also its PSNR, measured as the engine measures a
    reconstruction's `ground_truth_psnr` (the truth resized to width x height): pass the
    reconstruction's size to compare the model with interpolation of the same samples."""
    if width <= 0 or height <= 0:
        raise InvalidArgumentError(f"width x height must be positive, not {width}x{height}")
    frame = _Frame(0, pixels, (), 0.0, ground_truth)
    image = np.empty((height, width), dtype=np.uint8)
    psnr = ctypes.c_double()
    check(lib().sgaps_linear_interpolation(
        frame.struct, width, height, image.ctypes.data_as(ctypes.POINTER(ctypes.c_uint8)), image.size,
        ctypes.byref(psnr)))
    return LinearInterpolation(image, None if math.isnan(psnr.value) else psnr.value)
