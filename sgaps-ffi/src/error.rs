//! Status codes, the error type every function body returns, and the thread-local
//! message of the last failure (`sgaps_last_error`).

use std::cell::RefCell;
use std::ffi::{c_char, CStr, CString};

use sgaps_core::model::ModelError;
use sgaps_core::pipeline::EngineError;

/// What a call did. Every function that can fail returns one; 0 is success.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SgapsStatus {
    /// Success.
    Ok = 0,
    /// A pointer argument that must not be NULL was NULL.
    NullArgument = 1,
    /// An argument is malformed: not UTF-8, misaligned, out of range, inconsistent.
    InvalidArgument = 2,
    /// The frame breaks the protocol (a pixel outside [0, 1], too many pixels, ...).
    InvalidFrame = 3,
    /// The session was ended (or the handle belongs to another engine).
    UnknownSession = 4,
    /// A caller buffer is smaller than the output; the message says how large it must be.
    BufferTooSmall = 5,
    /// libtorch failed during inference.
    ModelError = 6,
    /// The configuration does not compose or is invalid.
    ConfigError = 7,
    /// A checkpoint directory is missing, unreadable or does not match its model.
    CheckpointError = 8,
    /// A file could not be written.
    IoError = 9,
    /// A bug: SGAPS panicked. The panic was caught and the process goes on. A panic
    /// inside inference fails only the frames of that batch (their sessions' history
    /// restarts); the engine goes on.
    Panic = 10,
    /// sgaps_session_poll: no result arrived within the timeout; poll again later.
    Pending = 11,
    /// The frame was not reconstructed: a newer frame of its session replaced it while
    /// it waited (the newest waiting frame wins). Nothing is wrong; its result slot
    /// says which frame it was.
    Superseded = 12,
    /// The engine's inference queue is full; the frame was not taken. Submit again
    /// after a result arrives.
    Busy = 13,
}

impl SgapsStatus {
    /// The code's name as C spells it.
    pub fn name(self) -> &'static CStr {
        match self {
            SgapsStatus::Ok => c"SGAPS_STATUS_OK",
            SgapsStatus::NullArgument => c"SGAPS_STATUS_NULL_ARGUMENT",
            SgapsStatus::InvalidArgument => c"SGAPS_STATUS_INVALID_ARGUMENT",
            SgapsStatus::InvalidFrame => c"SGAPS_STATUS_INVALID_FRAME",
            SgapsStatus::UnknownSession => c"SGAPS_STATUS_UNKNOWN_SESSION",
            SgapsStatus::BufferTooSmall => c"SGAPS_STATUS_BUFFER_TOO_SMALL",
            SgapsStatus::ModelError => c"SGAPS_STATUS_MODEL_ERROR",
            SgapsStatus::ConfigError => c"SGAPS_STATUS_CONFIG_ERROR",
            SgapsStatus::CheckpointError => c"SGAPS_STATUS_CHECKPOINT_ERROR",
            SgapsStatus::IoError => c"SGAPS_STATUS_IO_ERROR",
            SgapsStatus::Panic => c"SGAPS_STATUS_PANIC",
            SgapsStatus::Pending => c"SGAPS_STATUS_PENDING",
            SgapsStatus::Superseded => c"SGAPS_STATUS_SUPERSEDED",
            SgapsStatus::Busy => c"SGAPS_STATUS_BUSY",
        }
    }

    const ALL: [SgapsStatus; 14] = [
        SgapsStatus::Ok,
        SgapsStatus::NullArgument,
        SgapsStatus::InvalidArgument,
        SgapsStatus::InvalidFrame,
        SgapsStatus::UnknownSession,
        SgapsStatus::BufferTooSmall,
        SgapsStatus::ModelError,
        SgapsStatus::ConfigError,
        SgapsStatus::CheckpointError,
        SgapsStatus::IoError,
        SgapsStatus::Panic,
        SgapsStatus::Pending,
        SgapsStatus::Superseded,
        SgapsStatus::Busy,
    ];

    /// The status with this numeric value, if any (C may pass any integer).
    pub fn from_code(code: i32) -> Option<SgapsStatus> {
        SgapsStatus::ALL.into_iter().find(|s| *s as i32 == code)
    }
}

/// A failure on its way to the caller: the code returned and the message kept.
#[derive(Debug, Clone, PartialEq)]
pub struct FfiError {
    pub status: SgapsStatus,
    pub message: String,
}

impl FfiError {
    pub fn new(status: SgapsStatus, message: impl Into<String>) -> FfiError {
        FfiError { status, message: message.into() }
    }

    pub fn null(argument: &str) -> FfiError {
        FfiError::new(SgapsStatus::NullArgument, format!("`{argument}` is NULL"))
    }

    pub fn invalid(argument: &str, why: impl std::fmt::Display) -> FfiError {
        FfiError::new(SgapsStatus::InvalidArgument, format!("`{argument}` {why}"))
    }

    pub fn too_small(buffer: &str, needed: usize, capacity: usize) -> FfiError {
        FfiError::new(
            SgapsStatus::BufferTooSmall,
            format!("`{buffer}` holds {capacity} elements but {needed} are needed"),
        )
    }
}

impl From<EngineError> for FfiError {
    fn from(error: EngineError) -> FfiError {
        let status = match &error {
            EngineError::InvalidFrame(_) => SgapsStatus::InvalidFrame,
            EngineError::UnknownSession(_) => SgapsStatus::UnknownSession,
            EngineError::InvalidArgument { .. } => SgapsStatus::InvalidArgument,
            EngineError::Config(_) => SgapsStatus::ConfigError,
            EngineError::Model(model) => match model {
                ModelError::Input(_) => SgapsStatus::InvalidFrame,
                ModelError::Config { .. } => SgapsStatus::ConfigError,
                ModelError::Weights(_) | ModelError::Checkpoint(_) => SgapsStatus::CheckpointError,
                ModelError::Torch(_) => SgapsStatus::ModelError,
            },
            EngineError::Superseded { .. } => SgapsStatus::Superseded,
            EngineError::Overloaded { .. } => SgapsStatus::Busy,
            // A panic the engine contained: that frame failed, the engine goes on.
            EngineError::Internal(_) => SgapsStatus::Panic,
        };
        FfiError::new(status, error.to_string())
    }
}

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

/// Remembers `message` as this thread's last error.
pub(crate) fn set_last_error(message: &str) {
    // A C string cannot hold NUL; no message of ours has one, but be safe.
    let message = CString::new(message.replace('\0', " ")).expect("NULs were replaced");
    // `try_with`: a call during thread teardown simply keeps no message.
    let _ = LAST_ERROR.try_with(|last| *last.borrow_mut() = message);
}

pub(crate) fn clear_last_error() {
    let _ = LAST_ERROR.try_with(|last| *last.borrow_mut() = CString::default());
}

/// The last error's bytes, without the terminating NUL.
fn last_error_bytes() -> Vec<u8> {
    LAST_ERROR.try_with(|last| last.borrow().as_bytes().to_vec()).unwrap_or_default()
}

/// The message of the most recent failed call on this thread, UTF-8, or "" after a
/// call that succeeded. Every function that returns a status replaces it.
///
/// Ownership: the string belongs to SGAPS and stays valid until the next sgaps_ call
/// on the same thread; copy it (or use sgaps_last_error_copy) to keep it.
/// Thread safety: each thread has its own message; never NULL.
#[no_mangle]
pub extern "C" fn sgaps_last_error() -> *const c_char {
    crate::panic::value_boundary(c"".as_ptr(), || {
        LAST_ERROR.try_with(|last| last.borrow().as_ptr()).unwrap_or(c"".as_ptr())
    })
}

/// Copies this thread's last error message into `buffer` (at most `capacity` bytes,
/// always NUL-terminated when `capacity` > 0, cut short if it does not fit) and
/// returns the message's full length in bytes, without the NUL, like snprintf. Pass
/// NULL and 0 to ask for the length. Does not change the message.
///
/// Ownership: `buffer` belongs to the caller.
/// Thread safety: reads the calling thread's message only.
///
/// # Safety
/// `buffer` must be NULL or point to `capacity` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn sgaps_last_error_copy(buffer: *mut c_char, capacity: usize) -> usize {
    crate::panic::value_boundary(0, || {
        let message = last_error_bytes();
        if !buffer.is_null() && capacity > 0 {
            let copied = message.len().min(capacity - 1);
            // SAFETY: the caller promises `capacity` writable bytes at `buffer`.
            unsafe {
                std::ptr::copy_nonoverlapping(message.as_ptr(), buffer.cast::<u8>(), copied);
                *buffer.add(copied) = 0;
            }
        }
        message.len()
    })
}

/// The name of a status code, e.g. "SGAPS_STATUS_INVALID_FRAME", or
/// "SGAPS_STATUS_UNKNOWN" for a number that is no status.
///
/// Ownership: a static string; never free it. Thread safety: any thread.
#[no_mangle]
pub extern "C" fn sgaps_status_name(status: i32) -> *const c_char {
    crate::panic::value_boundary(c"SGAPS_STATUS_UNKNOWN".as_ptr(), || {
        SgapsStatus::from_code(status).map_or(c"SGAPS_STATUS_UNKNOWN", SgapsStatus::name).as_ptr()
    })
}
