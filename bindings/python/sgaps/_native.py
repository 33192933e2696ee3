"""libsgaps through ctypes: finding and loading the library, the structs of sgaps.h in
header order, and each function's types (its C prototype quoted above it)."""

from __future__ import annotations

import ctypes
import os
import sys
from ctypes import (POINTER, Structure, c_bool, c_char, c_char_p, c_double, c_float, c_int32,
                    c_size_t, c_uint8, c_uint32, c_uint64, c_void_p)
from pathlib import Path

from .errors import LibraryError, error_for

ABI_VERSION = 1  # SGAPS_ABI_VERSION of the sgaps.h this module mirrors
TORCH_VERSION = "2.13.0"  # the libtorch libsgaps links (scripts/versions.sh); pinned in pyproject.toml
NAME_CAPACITY = 160  # SGAPS_NAME_CAPACITY

if sys.platform == "darwin":
    LIBRARY_FILE = "libsgaps.dylib"
elif sys.platform == "win32":
    LIBRARY_FILE = "sgaps.dll"
else:
    LIBRARY_FILE = "libsgaps.so"

PACKAGE_DIR = Path(__file__).resolve().parent


def library_candidates() -> list[Path]:
    """Where the library is looked for, in order: $SGAPS_LIBRARY, this package's folder,
    then target/release and target/debug of the Cargo workspace above this package
    (an editable install or a checkout) or above the working directory."""
    override = os.environ.get("SGAPS_LIBRARY")
    if override:
        return [Path(override)]  # explicit: never fall back to another copy
    candidates = [PACKAGE_DIR / LIBRARY_FILE]
    for start in (PACKAGE_DIR, Path.cwd().resolve()):
        for root in (start, *start.parents):
            if (root / "Cargo.toml").is_file() and (root / "target").is_dir():
                candidates += [root / "target" / profile / LIBRARY_FILE for profile in ("release", "debug")]
                break
    return candidates


def load_torch_libraries(path: Path) -> None:
    """The library inside this package (a wheel) takes libtorch from the `torch` package
    it depends on: importing torch loads its libtorch into the process, and the dynamic
    loader then binds libsgaps to those copies by name, wherever torch is installed."""
    if path != PACKAGE_DIR / LIBRARY_FILE:
        return  # a build tree or `make dist` library finds its libtorch through its rpath
    try:
        import torch  # noqa: F401  (imported for its shared libraries)
    except ImportError as e:
        raise LibraryError(
            f"{path} needs libtorch from the torch package: pip install torch=={TORCH_VERSION} ({e})") from e
    if torch.__version__.split("+")[0] != TORCH_VERSION:
        raise LibraryError(f"{path} was built against torch {TORCH_VERSION}, but torch {torch.__version__} is installed")


def load_library() -> tuple[ctypes.CDLL, Path]:
    candidates = library_candidates()
    path = next((p for p in candidates if p.is_file()), None)
    if path is None:
        tried = "\n  ".join(str(p) for p in candidates)
        raise LibraryError(
            f"{LIBRARY_FILE} not found; tried:\n  {tried}\n"
            "Build it (scripts/with-env cargo build -p sgaps-ffi) or set SGAPS_LIBRARY to its path.")
    load_torch_libraries(path)
    if sys.platform == "win32":
        os.add_dll_directory(str(path.parent))  # libtorch's DLLs sit beside it
    try:
        library = ctypes.CDLL(str(path))
    except OSError as e:
        raise LibraryError(f"cannot load {path}: {e}") from e
    library.sgaps_abi_version.restype = c_uint32
    library.sgaps_abi_version.argtypes = []
    found = library.sgaps_abi_version()
    if found != ABI_VERSION:
        raise LibraryError(f"{path} has ABI version {found}, but this binding speaks {ABI_VERSION}")
    _declare(library)
    return library, path


# Structs, field for field as in sgaps.h.

class EngineOptions(Structure):
    _fields_ = [("conf_dir", c_char_p), ("overrides", POINTER(c_char_p)), ("override_count", c_size_t)]


class EngineInfo(Structure):
    _fields_ = [("sample_count", c_uint32), ("max_sample_count", c_uint32), ("device", c_char * 64)]


class SessionParams(Structure):
    _fields_ = [
        ("session_id", c_uint64), ("sample_count", c_uint32), ("max_state_dim", c_uint32),
        ("target_fps", c_uint32), ("width", c_uint32), ("height", c_uint32),
        ("client_width", c_uint32), ("client_height", c_uint32),
        ("checkpoint_key", c_char * NAME_CAPACITY), ("model_version", c_char * NAME_CAPACITY),
        ("checkpoint_loaded", c_bool),
    ]


class BufferSizes(Structure):
    _fields_ = [("reconstruction", c_size_t), ("importance", c_size_t), ("coordinates", c_size_t)]


class SessionStats(Structure):
    _fields_ = [
        ("frames_reconstructed", c_uint64), ("mask_updates", c_uint64), ("total_pixels", c_uint64),
        ("frames_with_ground_truth", c_uint64), ("last_frame_id", c_uint64),
        ("mean_sample_psnr", c_double), ("mean_psnr", c_double), ("mean_ssim", c_double),
    ]


class Frame(Structure):
    _fields_ = [
        ("frame_id", c_uint64), ("timestamp", c_double),
        ("pixels", POINTER(c_float)), ("pixel_count", c_size_t),
        ("state", POINTER(c_float)), ("state_len", c_size_t),
        ("ground_truth", POINTER(c_uint8)), ("ground_truth_width", c_uint32), ("ground_truth_height", c_uint32),
    ]


class FrameBuffers(Structure):
    _fields_ = [
        ("reconstruction", POINTER(c_uint8)), ("reconstruction_capacity", c_size_t),
        ("importance", POINTER(c_float)), ("importance_capacity", c_size_t),
        ("coordinates", POINTER(c_float)), ("coordinates_capacity", c_size_t),
    ]


class FrameResult(Structure):
    _fields_ = [
        ("frame_id", c_uint64), ("target_frame_id", c_uint64), ("width", c_uint32), ("height", c_uint32),
        ("coordinate_count", c_uint32), ("batch_size", c_uint32), ("sample_psnr", c_double),
        ("ground_truth_psnr", c_double), ("ground_truth_ssim", c_double), ("inference_ms", c_double),
        ("coordinates_updated", c_bool),
    ]


class BatchItem(Structure):
    _fields_ = [("session", c_void_p), ("frame", Frame), ("buffers", FrameBuffers),
                ("result", FrameResult), ("status", c_int32)]


Status = c_int32


def _declare(lib: ctypes.CDLL) -> None:
    def fn(name, restype, *argtypes):
        function = getattr(lib, name)
        function.restype = restype
        function.argtypes = list(argtypes)

    # const char *sgaps_version(void);
    fn("sgaps_version", c_char_p)
    # const char *sgaps_last_error(void);
    fn("sgaps_last_error", c_char_p)
    # const char *sgaps_status_name(int32_t status);
    fn("sgaps_status_name", c_char_p, c_int32)
    # SgapsStatus sgaps_engine_open(const SgapsEngineOptions *options, SgapsEngine **out_engine);
    fn("sgaps_engine_open", Status, POINTER(EngineOptions), POINTER(c_void_p))
    # void sgaps_engine_free(SgapsEngine *engine);
    fn("sgaps_engine_free", None, c_void_p)
    # SgapsStatus sgaps_engine_get_info(const SgapsEngine *engine, SgapsEngineInfo *out_info);
    fn("sgaps_engine_get_info", Status, c_void_p, POINTER(EngineInfo))
    # SgapsStatus sgaps_session_begin(const SgapsEngine *engine, const char *checkpoint_key,
    #     uint32_t client_width, uint32_t client_height, SgapsSessionParams *out_params,
    #     float *initial_coordinates, size_t initial_coordinates_capacity, SgapsSession **out_session);
    fn("sgaps_session_begin", Status, c_void_p, c_char_p, c_uint32, c_uint32, POINTER(SessionParams),
       POINTER(c_float), c_size_t, POINTER(c_void_p))
    # SgapsStatus sgaps_session_buffer_sizes(const SgapsSession *session, SgapsBufferSizes *out_sizes);
    fn("sgaps_session_buffer_sizes", Status, c_void_p, POINTER(BufferSizes))
    # SgapsStatus sgaps_session_reset(const SgapsSession *session);
    fn("sgaps_session_reset", Status, c_void_p)
    # SgapsStatus sgaps_session_end(const SgapsSession *session, SgapsSessionStats *out_stats);
    fn("sgaps_session_end", Status, c_void_p, POINTER(SessionStats))
    # void sgaps_session_free(SgapsSession *session);
    fn("sgaps_session_free", None, c_void_p)
    # SgapsStatus sgaps_session_submit(const SgapsSession *session, const SgapsFrame *frame,
    #     const SgapsFrameBuffers *buffers, SgapsFrameResult *out_result);
    fn("sgaps_session_submit", Status, c_void_p, POINTER(Frame), POINTER(FrameBuffers), POINTER(FrameResult))
    # SgapsStatus sgaps_session_submit_async(const SgapsSession *session, const SgapsFrame *frame);
    fn("sgaps_session_submit_async", Status, c_void_p, POINTER(Frame))
    # SgapsStatus sgaps_session_poll(const SgapsSession *session, uint32_t timeout_ms,
    #     const SgapsFrameBuffers *buffers, SgapsFrameResult *out_result);
    fn("sgaps_session_poll", Status, c_void_p, c_uint32, POINTER(FrameBuffers), POINTER(FrameResult))
    # SgapsStatus sgaps_session_rebind(const SgapsSession *session, SgapsSessionParams *out_params,
    #     float *coordinates, size_t coordinates_capacity);
    fn("sgaps_session_rebind", Status, c_void_p, POINTER(SessionParams), POINTER(c_float), c_size_t)
    # SgapsStatus sgaps_engine_submit_batch(const SgapsEngine *engine, SgapsBatchItem *items, size_t count);
    fn("sgaps_engine_submit_batch", Status, c_void_p, POINTER(BatchItem), c_size_t)
    # SgapsStatus sgaps_engine_list_checkpoints(const SgapsEngine *engine, char *buffer,
    #     size_t capacity, size_t *out_length);
    fn("sgaps_engine_list_checkpoints", Status, c_void_p, c_char_p, c_size_t, POINTER(c_size_t))
    # SgapsStatus sgaps_engine_register_checkpoint(const SgapsEngine *engine, const char *key,
    #     const char *checkpoint_dir);
    fn("sgaps_engine_register_checkpoint", Status, c_void_p, c_char_p, c_char_p)
    # SgapsStatus sgaps_write_png_gray(const char *path, const uint8_t *pixels, size_t len,
    #     uint32_t width, uint32_t height);
    fn("sgaps_write_png_gray", Status, c_char_p, POINTER(c_uint8), c_size_t, c_uint32, c_uint32)
    # SgapsStatus sgaps_write_importance_png(const char *path, const float *values, size_t len,
    #     uint32_t width, uint32_t height);
    fn("sgaps_write_importance_png", Status, c_char_p, POINTER(c_float), c_size_t, c_uint32, c_uint32)
    # SgapsStatus sgaps_linear_interpolation(const float *pixels, size_t pixel_count,
    #     uint32_t width, uint32_t height, uint8_t *out_image, size_t capacity);
    fn("sgaps_linear_interpolation", Status, POINTER(c_float), c_size_t, c_uint32, c_uint32, POINTER(c_uint8),
       c_size_t)
    # SgapsStatus sgaps_psnr(const uint8_t *image, uint32_t width, uint32_t height,
    #     const uint8_t *reference, uint32_t reference_width, uint32_t reference_height, double *out_psnr);
    fn("sgaps_psnr", Status, POINTER(c_uint8), c_uint32, c_uint32, POINTER(c_uint8), c_uint32, c_uint32,
       POINTER(c_double))


_library: tuple[ctypes.CDLL, Path] | None = None


def lib() -> ctypes.CDLL:
    """The loaded library, loaded on first use."""
    global _library
    if _library is None:
        _library = load_library()
    return _library[0]


def library_path() -> Path:
    """The file the library was loaded from."""
    lib()
    return _library[1]


def check(status: int) -> None:
    """Raises the SgapsError subclass for a failed call, with this thread's message."""
    if status != 0:
        raise error_for(status, lib().sgaps_last_error().decode("utf-8", "replace"))
