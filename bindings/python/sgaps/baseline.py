"""The classical yardstick and the measure to hold a model to it: linear interpolation
of a frame's own samples, and PSNR as the engine measures `ground_truth_psnr`."""

from __future__ import annotations

import ctypes

import numpy as np

from ._native import check, lib
from .engine import ArrayLike
from .errors import InvalidArgumentError


def _gray(array: ArrayLike, what: str) -> np.ndarray:
    image = np.ascontiguousarray(array, dtype=np.uint8)
    if image.ndim != 2:
        raise InvalidArgumentError(f"{what} must be a (height, width) grey image, not shape {image.shape}")
    return image


def _bytes(image: np.ndarray):
    return image.ctypes.data_as(ctypes.POINTER(ctypes.c_uint8))


def linear_interpolation(pixels: ArrayLike, width: int, height: int) -> np.ndarray:
    """Interpolates `pixels` ((N, 3) of u, v, value, as sent to Session.submit) linearly
    over their Delaunay triangulation into a (height, width) uint8 image; outside the
    samples' convex hull a pixel takes the nearest sample's value. Pass a
    reconstruction's size to compare the model with interpolation of the same samples."""
    samples = np.ascontiguousarray(pixels, dtype=np.float32)
    if samples.ndim != 2 or samples.shape[1] != 3:
        raise InvalidArgumentError(f"pixels must have shape (N, 3) of (u, v, value), not {samples.shape}")
    if width <= 0 or height <= 0:
        raise InvalidArgumentError(f"width x height must be positive, not {width}x{height}")
    image = np.empty((height, width), dtype=np.uint8)
    check(lib().sgaps_linear_interpolation(
        samples.ctypes.data_as(ctypes.POINTER(ctypes.c_float)), len(samples), width, height, _bytes(image), image.size))
    return image


def psnr(image: ArrayLike, reference: ArrayLike) -> float:
    """PSNR (dB; inf when identical) of `image` against `reference` (e.g. the whole
    screen) resized to the image's size exactly as the engine resizes ground truth for
    FrameResult.ground_truth_psnr."""
    image, reference = _gray(image, "image"), _gray(reference, "reference")
    value = ctypes.c_double()
    check(lib().sgaps_psnr(_bytes(image), image.shape[1], image.shape[0],
                           _bytes(reference), reference.shape[1], reference.shape[0], ctypes.byref(value)))
    return value.value
