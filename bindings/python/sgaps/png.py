"""PNG pictures of results, written by the library (no imaging package needed)."""

from __future__ import annotations

import ctypes
import os
from typing import Union

import numpy as np

from ._native import check, lib
from .errors import InvalidArgumentError


def _image(array, dtype, what: str) -> np.ndarray:
    image = np.ascontiguousarray(array, dtype=dtype)
    if image.ndim != 2:
        raise InvalidArgumentError(f"{what} must be a (height, width) array, not shape {image.shape}")
    return image


def write_png_gray(path: Union[str, os.PathLike], image) -> None:
    """Writes a (height, width) array of grey levels 0..255 as an 8-bit PNG."""
    image = _image(image, np.uint8, "image")
    height, width = image.shape
    pointer = image.ctypes.data_as(ctypes.POINTER(ctypes.c_uint8))
    check(lib().sgaps_write_png_gray(os.fsencode(path), pointer, image.size, width, height))


def write_importance_png(path: Union[str, os.PathLike], importance) -> None:
    """Writes a (height, width) importance map in [0, 1] as a viridis heatmap PNG."""
    importance = _image(importance, np.float32, "importance")
    height, width = importance.shape
    pointer = importance.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
    check(lib().sgaps_write_importance_png(os.fsencode(path), pointer, importance.size, width, height))
