"""Exceptions: one subclass of SgapsError per status code of the C API."""

from __future__ import annotations


class LibraryError(OSError):
    """libsgaps could not be found or loaded, or was built for another ABI."""


class SgapsError(Exception):
    """A call into libsgaps failed. `status` is the C status code, `status_name` its
    name in sgaps.h and `message` the library's explanation, naming what was wrong."""

    status = -1
    status_name = "SGAPS_STATUS_UNKNOWN"
    #: The frame this failure answers, when Session.poll raised it; else None.
    frame_id: int | None = None

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.message = message
        if status is not None and status != type(self).status:
            self.status = status  # a code this binding does not know (a newer library)

    def __str__(self) -> str:
        return f"[{self.status_name}] {self.message}"


class NullArgumentError(SgapsError, ValueError):
    status, status_name = 1, "SGAPS_STATUS_NULL_ARGUMENT"


class InvalidArgumentError(SgapsError, ValueError):
    status, status_name = 2, "SGAPS_STATUS_INVALID_ARGUMENT"


class InvalidFrameError(SgapsError, ValueError):
    status, status_name = 3, "SGAPS_STATUS_INVALID_FRAME"


class UnknownSessionError(SgapsError):
    status, status_name = 4, "SGAPS_STATUS_UNKNOWN_SESSION"


class BufferTooSmallError(SgapsError):
    status, status_name = 5, "SGAPS_STATUS_BUFFER_TOO_SMALL"


class ModelError(SgapsError):
    status, status_name = 6, "SGAPS_STATUS_MODEL_ERROR"


class ConfigError(SgapsError):
    status, status_name = 7, "SGAPS_STATUS_CONFIG_ERROR"


class CheckpointError(SgapsError):
    status, status_name = 8, "SGAPS_STATUS_CHECKPOINT_ERROR"


class IoError(SgapsError, OSError):
    status, status_name = 9, "SGAPS_STATUS_IO_ERROR"


class PanicError(SgapsError):
    """A bug in libsgaps: it panicked and the panic was caught. Inside inference only
    that frame's batch failed and the engine goes on; elsewhere, close the engine."""

    status, status_name = 10, "SGAPS_STATUS_PANIC"


class PendingError(SgapsError):
    """No result yet. Session.poll answers this with None instead of raising it."""

    status, status_name = 11, "SGAPS_STATUS_PENDING"


class SupersededError(SgapsError):
    """A newer frame of the session replaced this one before it ran. Not a failure:
    Session.poll answers it with a Superseded instead of raising it."""

    status, status_name = 12, "SGAPS_STATUS_SUPERSEDED"


class BusyError(SgapsError):
    """The engine's inference queue is full: Session.submit_async did not take the
    frame. Submit a later one after a result arrives."""

    status, status_name = 13, "SGAPS_STATUS_BUSY"


ERRORS = (NullArgumentError, InvalidArgumentError, InvalidFrameError, UnknownSessionError,
          BufferTooSmallError, ModelError, ConfigError, CheckpointError, IoError, PanicError,
          PendingError, SupersededError, BusyError)
_BY_STATUS = {cls.status: cls for cls in ERRORS}


def error_for(status: int, message: str) -> SgapsError:
    """The exception for a failed call's status and message."""
    return _BY_STATUS.get(status, SgapsError)(message, status=status)
