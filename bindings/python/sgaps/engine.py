"""The Pythonic surface: Engine, Session and what they return."""

from __future__ import annotations

import ctypes
import math
import os
from dataclasses import dataclass
from typing import Iterable, Optional, Sequence, Tuple, Union

import numpy as np

from . import _native
from ._native import check, lib
from .errors import (BufferTooSmallError, InvalidArgumentError, NullArgumentError, PendingError,
                     SupersededError, error_for)

ArrayLike = Union[np.ndarray, Sequence]


@dataclass(frozen=True)
class EngineInfo:
    sample_count: int       # pixels every session samples per frame
    max_sample_count: int   # the most pixels a frame may carry
    device: str             # e.g. "cpu (2 threads)"


@dataclass(frozen=True)
class SessionParams:
    """What a session runs with (the protocol's session_start_ack)."""
    session_id: int
    checkpoint_key: str         # the key actually used ("default" after a fallback)
    checkpoint_loaded: bool     # trained weights exist for the key asked for
    model_version: str
    sample_count: int           # pixels to sample per frame
    max_state_dim: int
    target_fps: int
    resolution: Tuple[int, int]         # (width, height) of reconstructions
    client_resolution: Tuple[int, int]  # (width, height) of the client's screen


@dataclass(frozen=True)
class SessionStats:
    frames_reconstructed: int
    mask_updates: int
    total_pixels: int
    frames_with_ground_truth: int
    last_frame_id: Optional[int]
    mean_sample_psnr: float
    mean_psnr: Optional[float]   # None without ground truth
    mean_ssim: Optional[float]


@dataclass(frozen=True)
class FrameResult:
    frame_id: int
    reconstruction: np.ndarray            # uint8, (height, width), top row first
    importance: np.ndarray                # float32, (height, width), in [0, 1]
    coordinates: Optional[np.ndarray]     # float32 (M, 2) of (u, v) when updated, else None
    target_frame_id: Optional[int]        # first frame to sample at `coordinates`, else None
    sample_psnr: float
    ground_truth_psnr: Optional[float]    # None without ground truth
    ground_truth_ssim: Optional[float]
    batch_size: int
    inference_ms: float


@dataclass(frozen=True)
class Superseded:
    """Session.poll's answer for a frame that was not reconstructed: a newer frame of
    the session replaced it while it waited (the newest waiting frame wins). Not an
    error; the game just has no picture for that frame."""
    frame_id: int


def _optional(value: float) -> Optional[float]:
    return None if math.isnan(value) else value


def _session_params(c: _native.SessionParams) -> SessionParams:
    return SessionParams(
        session_id=c.session_id,
        checkpoint_key=c.checkpoint_key.decode(),
        checkpoint_loaded=bool(c.checkpoint_loaded),
        model_version=c.model_version.decode(),
        sample_count=c.sample_count,
        max_state_dim=c.max_state_dim,
        target_fps=c.target_fps,
        resolution=(c.width, c.height),
        client_resolution=(c.client_width, c.client_height),
    )


def _float_pointer(array: np.ndarray):
    return array.ctypes.data_as(ctypes.POINTER(ctypes.c_float))


class _Frame:
    """A frame's arrays as C sees them; keeps the arrays alive while the C struct points
    into them."""

    def __init__(self, frame_id: int, pixels: ArrayLike, state: ArrayLike, timestamp: float,
                 ground_truth: Optional[ArrayLike]):
        self.pixels = np.ascontiguousarray(pixels, dtype=np.float32)
        if self.pixels.ndim != 2 or self.pixels.shape[1] != 3:
            raise InvalidArgumentError(f"pixels must have shape (N, 3) of (u, v, value), not {self.pixels.shape}")
        self.state = np.ascontiguousarray(state, dtype=np.float32).reshape(-1)
        self.struct = _native.Frame(
            frame_id=frame_id, timestamp=timestamp,
            pixels=_float_pointer(self.pixels), pixel_count=len(self.pixels),
            state=_float_pointer(self.state), state_len=len(self.state))
        if ground_truth is not None:
            self.ground_truth = np.ascontiguousarray(ground_truth, dtype=np.uint8)
            if self.ground_truth.ndim != 2:
                raise InvalidArgumentError(
                    f"ground_truth must be a (height, width) grey image, not shape {self.ground_truth.shape}")
            height, width = self.ground_truth.shape
            self.struct.ground_truth = self.ground_truth.ctypes.data_as(ctypes.POINTER(ctypes.c_uint8))
            self.struct.ground_truth_width, self.struct.ground_truth_height = width, height


class _Outputs:
    """Fresh numpy arrays for one frame's results, handed to C as its buffers."""

    def __init__(self, params: SessionParams):
        width, height = params.resolution
        self.reconstruction = np.empty((height, width), dtype=np.uint8)
        self.importance = np.empty((height, width), dtype=np.float32)
        self.coordinates = np.empty((params.sample_count, 2), dtype=np.float32)
        self.struct = _native.FrameBuffers(
            reconstruction=self.reconstruction.ctypes.data_as(ctypes.POINTER(ctypes.c_uint8)),
            reconstruction_capacity=self.reconstruction.size,
            importance=_float_pointer(self.importance), importance_capacity=self.importance.size,
            coordinates=_float_pointer(self.coordinates), coordinates_capacity=self.coordinates.size)

    def result(self, c: _native.FrameResult) -> FrameResult:
        updated = bool(c.coordinates_updated)
        shape = (c.height, c.width)  # a result computed before a rebind keeps its old size
        return FrameResult(
            frame_id=c.frame_id,
            reconstruction=self.reconstruction.reshape(-1)[:c.height * c.width].reshape(shape),
            importance=self.importance.reshape(-1)[:c.height * c.width].reshape(shape),
            coordinates=self.coordinates[:c.coordinate_count] if updated else None,
            target_frame_id=c.target_frame_id if updated else None,
            sample_psnr=c.sample_psnr,
            ground_truth_psnr=_optional(c.ground_truth_psnr),
            ground_truth_ssim=_optional(c.ground_truth_ssim),
            batch_size=c.batch_size,
            inference_ms=c.inference_ms,
        )


class _Owned:
    """Owns one library handle, freed by `_free_function` on close, on leaving a `with`
    block, or when garbage-collected."""

    _free_function = ""  # name of the sgaps_*_free function
    _kind = ""

    def _live(self) -> ctypes.c_void_p:
        if not self._handle:
            raise ValueError(f"this {self._kind} is closed")
        return self._handle

    def close(self) -> None:
        """Frees the handle; safe to call twice."""
        if getattr(self, "_handle", None):
            getattr(lib(), self._free_function)(self._handle)
            self._handle = ctypes.c_void_p()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # at interpreter exit the library may be gone already
            pass


class Session(_Owned):
    """One client's stream of frames. Create with Engine.session(); close (or use as a
    context manager) to end it. Feed one session's frames from one thread at a time.

    Two ways to submit, not to be mixed on one session: submit() blocks until the frame
    is reconstructed; submit_async() returns at once and poll() takes the results, for a
    game loop that must not wait for inference:

        session.submit_async(frame_id, pixels, state)   # every tick; never waits
        answer = session.poll()                         # 0 s: only look
        if isinstance(answer, sgaps.FrameResult):       # else None (nothing yet) or
            show(answer.reconstruction)                 # sgaps.Superseded (skipped)
    """

    _free_function = "sgaps_session_free"
    _kind = "session"

    def __init__(self, handle: int, params: SessionParams, initial_coordinates: np.ndarray,
                 max_sample_count: int):
        self._handle = ctypes.c_void_p(handle)
        self.params = params
        #: float32 (sample_count, 2): the (u, v) coordinates to sample from frame 0 on.
        self.initial_coordinates = initial_coordinates
        self._max_sample_count = max_sample_count  # room for rebind's coordinates

    def submit(self, frame_id: int, pixels: ArrayLike, state: ArrayLike = (), timestamp: float = 0.0,
               ground_truth: Optional[ArrayLike] = None) -> FrameResult:
        """Reconstructs one frame. `pixels` is an (N, 3) array of (u, v, value) with u, v
        in [0, 1] and value 0..255; `state` at most params.max_state_dim floats;
        `ground_truth` an optional (height, width) uint8 image of the whole frame."""
        frame = _Frame(frame_id, pixels, state, timestamp, ground_truth)
        outputs = _Outputs(self.params)
        result = _native.FrameResult()
        check(lib().sgaps_session_submit(self._live(), frame.struct, outputs.struct, result))
        return outputs.result(result)

    def submit_async(self, frame_id: int, pixels: ArrayLike, state: ArrayLike = (), timestamp: float = 0.0,
                     ground_truth: Optional[ArrayLike] = None) -> None:
        """Queues one frame (arguments as for submit) on the engine's inference worker
        and returns at once; take its answer with poll(). A bad frame raises
        InvalidFrameError here and gets no answer; BusyError means the engine's queue is
        full and the frame was not taken. The session holds at most one waiting frame:
        a newer one replaces it, and poll() answers the replaced one with Superseded."""
        frame = _Frame(frame_id, pixels, state, timestamp, ground_truth)
        check(lib().sgaps_session_submit_async(self._live(), frame.struct))  # copies the frame

    def poll(self, timeout: float = 0.0) -> Union[FrameResult, Superseded, None]:
        """The answer to the oldest frame submitted with submit_async, waiting at most
        `timeout` seconds (0: only look): its FrameResult; Superseded when a newer frame
        replaced it before it ran; None when nothing arrived in time. A frame that
        failed raises its SgapsError with `frame_id` set (e.g. PanicError: a bug in its
        batch was contained; the session goes on). Answers come in the order the frames
        were submitted; at most 8 reconstructions wait unpolled, beyond that the oldest are
        dropped."""
        if not 0.0 <= timeout <= 0xFFFFFFFF / 1000:  # also refuses NaN
            raise InvalidArgumentError(f"timeout must be 0 to {0xFFFFFFFF // 1000} seconds, not {timeout}")
        outputs = _Outputs(self.params)
        result = _native.FrameResult()
        status = lib().sgaps_session_poll(self._live(), round(timeout * 1000), outputs.struct, result)
        if status == 0:
            return outputs.result(result)
        if status == PendingError.status:
            return None
        if status == SupersededError.status:
            return Superseded(result.frame_id)
        error = error_for(status, lib().sgaps_last_error().decode("utf-8", "replace"))
        if status not in (NullArgumentError.status, InvalidArgumentError.status, BufferTooSmallError.status):
            error.frame_id = result.frame_id  # the frame's own failure, not the call's
        raise error

    def rebind(self) -> Tuple[SessionParams, np.ndarray]:
        """Binds the session to the checkpoint its key names now (one registered or
        trained since it began; a session never changes model by itself). Returns the
        new parameters, also in self.params (the resolution may change), and the float32
        (sample_count, 2) coordinates to sample from the next frame on. The history
        starts afresh. Poll every frame in flight first: their results keep the old size."""
        params = _native.SessionParams()
        coordinates = np.empty((self._max_sample_count, 2), dtype=np.float32)
        check(lib().sgaps_session_rebind(self._live(), params, _float_pointer(coordinates), coordinates.size))
        self.params = _session_params(params)
        return self.params, coordinates[:params.sample_count]

    def reset(self) -> None:
        """Drops the session's history (temporal models): the next frame is
        reconstructed as if it were the first. Call it where the picture starts over (a
        level load, a camera cut); the engine also detects scene cuts by itself."""
        check(lib().sgaps_session_reset(self._live()))

    def end(self) -> SessionStats:
        """Ends the session and returns its totals (the handle stays until close())."""
        stats = _native.SessionStats()
        check(lib().sgaps_session_end(self._live(), stats))
        return SessionStats(
            frames_reconstructed=stats.frames_reconstructed, mask_updates=stats.mask_updates,
            total_pixels=stats.total_pixels, frames_with_ground_truth=stats.frames_with_ground_truth,
            last_frame_id=stats.last_frame_id if stats.frames_reconstructed else None,
            mean_sample_psnr=stats.mean_sample_psnr,
            mean_psnr=_optional(stats.mean_psnr), mean_ssim=_optional(stats.mean_ssim))



class Engine(_Owned):
    """An SGAPS engine: a configuration, its checkpoints and sessions.

    A game samples a few hundred grey pixels per frame where the engine says; the engine
    reconstructs the whole frame and says where to sample next:

        with sgaps.Engine() as engine, engine.session("default", 256, 240) as session:
            coordinates = session.initial_coordinates        # (N, 2) u, v in [0, 1]
            for frame_id, screen in enumerate(frames):       # screen: (240, 256) uint8
                x = (coordinates[:, 0] * 256).astype(int)   # the pixel under each (u, v)
                y = (coordinates[:, 1] * 240).astype(int)   # (v = 0 is the top row)
                pixels = np.column_stack([coordinates, screen[y, x]])
                result = session.submit(frame_id, pixels, state=game_state)
                if result.coordinates is not None:           # from result.target_frame_id on
                    coordinates = result.coordinates

    `conf_dir` is a conf/ directory (None: the configuration built into the library);
    `overrides` are strings such as "sampling.default_sample_count=250" or
    "checkpoint_dir=/path/to/checkpoints".

    Models: a checkpoint key names a folder {checkpoint_dir}/{key}/ (model.safetensors +
    config.json). The checkpoint directory is the `checkpoint_dir` override, else
    $SGAPS_CHECKPOINT_DIR, else a checkpoints/ folder beside libsgaps; never the working
    directory. A key without a checkpoint falls back to "default", and "default" without
    one is the trained default model built into the library, so the built-in
    configuration reconstructs with trained weights from any folder;
    session.params.model_version says which model serves ("default-embedded-..." for
    the built-in one) and checkpoint_loaded whether the key asked for has trained
    weights. Overrides that change the model itself (model=..., model.resolution=...)
    without a checkpoint for them run untrained weights.

    Thread-safe: share one engine between threads, each with its own sessions. Closing
    it leaves open sessions running until they are closed. Failures raise SgapsError
    subclasses naming what was wrong."""

    _free_function = "sgaps_engine_free"
    _kind = "engine"

    def __init__(self, conf_dir: Optional[Union[str, os.PathLike]] = None, overrides: Iterable[str] = ()):
        encoded = [str(o).encode() for o in overrides]
        array = (ctypes.c_char_p * len(encoded))(*encoded)
        options = _native.EngineOptions(
            conf_dir=os.fsencode(conf_dir) if conf_dir is not None else None,
            overrides=array, override_count=len(encoded))
        handle = ctypes.c_void_p()
        check(lib().sgaps_engine_open(options, ctypes.byref(handle)))
        self._handle = handle

    @property
    def info(self) -> EngineInfo:
        info = _native.EngineInfo()
        check(lib().sgaps_engine_get_info(self._live(), info))
        return EngineInfo(info.sample_count, info.max_sample_count, info.device.decode())

    def session(self, checkpoint_key: str = "default", width: int = 640, height: int = 480) -> Session:
        """Begins a session for a client screen of width x height pixels, served by
        `checkpoint_key` (a key without a checkpoint falls back to "default")."""
        info = self.info
        coordinates = np.empty((info.sample_count, 2), dtype=np.float32)
        params = _native.SessionParams()
        handle = ctypes.c_void_p()
        check(lib().sgaps_session_begin(
            self._live(), checkpoint_key.encode(), width, height, params,
            _float_pointer(coordinates), coordinates.size, ctypes.byref(handle)))
        return Session(handle.value, _session_params(params), coordinates[:params.sample_count],
                       info.max_sample_count)

    def submit_batch(self, frames: Sequence[tuple]) -> list:
        """Reconstructs frames of several sessions in one call, one forward pass per model.
        Each entry is (session, frame_id, pixels, state[, timestamp]). Returns one entry
        per frame, in order: a FrameResult, or the SgapsError that frame failed with (a
        bad frame fails alone). Only the first failure carries the library's message."""
        prepared = [(_Frame(frame_id, pixels, state, timestamp[0] if timestamp else 0.0, None),
                     _Outputs(session.params), session)
                    for session, frame_id, pixels, state, *timestamp in frames]
        items = (_native.BatchItem * len(prepared))()
        for item, (frame, outputs, session) in zip(items, prepared):
            item.session, item.frame, item.buffers = session._live(), frame.struct, outputs.struct
        status = lib().sgaps_engine_submit_batch(self._live(), items, len(items))
        # The message of the first failed item; the others have their status only.
        message = lib().sgaps_last_error().decode("utf-8", "replace") if status else ""
        results: list = []
        for item, (_, outputs, _) in zip(items, prepared):
            if item.status == 0:
                results.append(outputs.result(item.result))
            else:
                results.append(error_for(item.status, message or "failed (see the batch's first failure)"))
                message = ""
        return results

    def checkpoints(self) -> list:
        """The keys that serve trained weights, sorted: those in the checkpoint
        directory, and "default" when the built-in default model serves it."""
        length = ctypes.c_size_t()
        check(lib().sgaps_engine_list_checkpoints(self._live(), None, 0, ctypes.byref(length)))
        while True:
            buffer = ctypes.create_string_buffer(length.value)
            status = lib().sgaps_engine_list_checkpoints(self._live(), buffer, len(buffer), ctypes.byref(length))
            if status != BufferTooSmallError.status:  # else a checkpoint was added meanwhile
                break
        check(status)
        text = buffer.value.decode()
        return text.split("\n") if text else []

    def register_checkpoint(self, key: str, directory: Union[str, os.PathLike]) -> None:
        """Loads the checkpoint directory (model.safetensors + config.json) strictly and
        serves it as `key` from now on, copied into the engine's checkpoint directory
        (CheckpointError, saying how to set one, when the engine has none)."""
        check(lib().sgaps_engine_register_checkpoint(self._live(), key.encode(), os.fsencode(directory)))
