"""SGAPS from Python: the engine in-process through libsgaps (ctypes + numpy).

    import sgaps
    with sgaps.Engine(overrides=["model=spt_small"]) as engine:
        with engine.session("mario", 640, 480) as session:
            coordinates = session.initial_coordinates          # (N, 2) float32 u, v
            result = session.submit(0, pixels, state)            # pixels: (N, 3) u, v, value
            result.reconstruction, result.importance, result.coordinates

The library is found through $SGAPS_LIBRARY, this package's folder, or the Cargo build
tree (target/release, then target/debug); see sgaps._native.library_candidates.
"""

from ._native import ABI_VERSION, library_path, lib as _lib
from .engine import Engine, EngineInfo, FrameResult, Session, SessionParams, SessionStats
from .png import write_importance_png, write_png_gray
from .errors import (BufferTooSmallError, CheckpointError, ConfigError, InvalidArgumentError,
                     InvalidFrameError, IoError, LibraryError, ModelError, NullArgumentError,
                     PanicError, SgapsError, UnknownSessionError)


def version() -> str:
    """The loaded library's version, e.g. "0.1.0"."""
    return _lib().sgaps_version().decode()


__all__ = [
    "ABI_VERSION", "Engine", "EngineInfo", "FrameResult", "Session", "SessionParams", "SessionStats",
    "library_path", "version", "write_png_gray", "write_importance_png",
    "SgapsError", "LibraryError", "NullArgumentError", "InvalidArgumentError", "InvalidFrameError",
    "UnknownSessionError", "BufferTooSmallError", "ModelError", "ConfigError", "CheckpointError",
    "IoError", "PanicError",
]
