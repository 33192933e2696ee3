//! Listing and registering checkpoints (directories of model.safetensors + config.json
//! in the engine's checkpoint directory: the checkpoint_dir setting, else
//! SGAPS_CHECKPOINT_DIR, else checkpoints/ beside libsgaps.so).

use std::ffi::c_char;
use std::path::Path;

use crate::engine::SgapsEngine;
use crate::error::{FfiError, SgapsStatus};
use crate::panic::status_boundary;
use crate::pointers::{copy_into, output, reference, utf8};

/// Writes the keys that serve trained weights (those in the checkpoint directory, and
/// "default" when the default model built into the library serves it), sorted, one
/// per line ("a\nb"), as a NUL-terminated string into `buffer`, and their length in
/// bytes including the NUL into `*out_length`. Pass NULL and 0 to ask for the length
/// only; a buffer that is too small fails with SGAPS_STATUS_BUFFER_TOO_SMALL (after
/// setting `*out_length`).
/// No checkpoints gives "".
///
/// Ownership: `buffer` belongs to the caller.
/// Thread safety: any thread, concurrently with any other call on the engine.
///
/// # Safety
/// `engine` must be a live handle, `buffer` NULL or writable for `capacity` bytes, and
/// `out_length` writable.
#[no_mangle]
pub unsafe extern "C" fn sgaps_engine_list_checkpoints(
    engine: *const SgapsEngine,
    buffer: *mut c_char,
    capacity: usize,
    out_length: *mut usize,
) -> SgapsStatus {
    status_boundary("sgaps_engine_list_checkpoints", || {
        let engine = &unsafe { reference(engine, "engine") }?.engine;
        let mut out_length = unsafe { output(out_length, "out_length") }?;
        let target = unsafe { crate::pointers::buffer(buffer.cast::<u8>(), capacity, "buffer") }?;
        let mut text = engine.checkpoints().keys().join("\n").into_bytes();
        text.push(0);
        out_length.write(text.len());
        match target {
            Some(target) => copy_into(&text, target, "buffer"),
            None => Ok(()),
        }
    })
}

/// Registers the checkpoint directory `checkpoint_dir` (model.safetensors and
/// config.json, e.g. written by the trainer) as `key`: loads it strictly (a missing,
/// unexpected or mis-shaped tensor fails with SGAPS_STATUS_CHECKPOINT_ERROR naming it)
/// and copies it into the engine's checkpoint directory. New sessions of `key` use it;
/// live ones keep their model until sgaps_session_rebind. Without a checkpoint directory (no
/// checkpoint_dir setting, no SGAPS_CHECKPOINT_DIR, no checkpoints/ beside the library)
/// it fails with SGAPS_STATUS_CHECKPOINT_ERROR saying how to set one.
///
/// Ownership: the strings are only read during the call.
/// Thread safety: any thread, concurrently with any other call on the engine.
///
/// # Safety
/// `engine` must be a live handle; `key` and `checkpoint_dir` NUL-terminated strings.
#[no_mangle]
pub unsafe extern "C" fn sgaps_engine_register_checkpoint(
    engine: *const SgapsEngine,
    key: *const c_char,
    checkpoint_dir: *const c_char,
) -> SgapsStatus {
    status_boundary("sgaps_engine_register_checkpoint", || {
        let engine = &unsafe { reference(engine, "engine") }?.engine;
        let key = unsafe { utf8(key, "key") }?;
        let dir = unsafe { utf8(checkpoint_dir, "checkpoint_dir") }?;
        engine.register_checkpoint_dir(key, Path::new(dir)).map_err(FfiError::from)
    })
}
