"""SGAPS from Python: the engine in-process through libsgaps (ctypes + numpy).

    import sgaps
    with sgaps.Engine() as engine:                                 # the trained default model
        with engine.session("default", 256, 240) as session:      # the game's screen size
            coordinates = session.initial_coordinates          # (N, 2) float32 u, v
            result = session.submit(0, pixels, state)            # pixels: (N, 3) u, v, value
            result.reconstruction, result.importance, result.coordinates

A game loop that must not wait for inference uses session.submit_async and
session.poll instead of submit (help(sgaps.Session)).

The trained default model is built into libsgaps, so an engine works from any folder
(session.params.checkpoint_loaded says trained weights serve). Installed from a wheel
(scripts/build-wheel.sh) the library sits inside this package and takes libtorch from
the `torch` package; otherwise it is found through $SGAPS_LIBRARY or the Cargo build
tree (target/release, then target/debug); see sgaps._native.library_candidates.
help(sgaps.Engine) and help(sgaps.Session) explain the rest.
"""

from ._native import ABI_VERSION, library_path, lib as _lib
from .engine import Engine, EngineInfo, FrameResult, Session, SessionParams, SessionStats, Superseded
from .png import write_importance_png, write_png_gray
from .baseline import linear_interpolation, psnr
from .errors import (BufferTooSmallError, BusyError, CheckpointError, ConfigError, InvalidArgumentError,
                     InvalidFrameError, IoError, LibraryError, ModelError, NullArgumentError,
                     PanicError, PendingError, SgapsError, SupersededError, UnknownSessionError)


def version() -> str:
    """The loaded library's version, e.g. "0.1.0"."""
    return _lib().sgaps_version().decode()


__all__ = [
    "ABI_VERSION", "Engine", "EngineInfo", "FrameResult", "Session", "SessionParams", "SessionStats", "Superseded",
    "library_path", "version", "write_png_gray", "write_importance_png",
    "linear_interpolation", "psnr",
    "SgapsError", "LibraryError", "NullArgumentError", "InvalidArgumentError", "InvalidFrameError",
    "UnknownSessionError", "BufferTooSmallError", "ModelError", "ConfigError", "CheckpointError",
    "IoError", "PanicError", "PendingError", "SupersededError", "BusyError",
]
