//! The engine handle: open with a config, describe, free.

use std::ffi::c_char;
use std::path::Path;
use std::sync::Arc;

use sgaps_core::pipeline::Engine;

use crate::error::{FfiError, SgapsStatus};
use crate::panic::status_boundary;
use crate::pointers::{output, reference, slice, utf8, write_fixed_string};

/// An engine: a composed configuration, its checkpoints and its live sessions.
/// Opaque; create with sgaps_engine_open, free with sgaps_engine_free.
pub struct SgapsEngine {
    /// Shared with every session handle, which keeps the engine alive after
    /// sgaps_engine_free until the last session is freed.
    pub(crate) engine: Arc<Engine>,
}

/// How to open an engine. Initialise with sgaps_engine_options_default().
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct SgapsEngineOptions {
    /// A conf/ directory (UTF-8 path), or NULL for the configuration built into the library.
    pub conf_dir: *const c_char,
    /// `override_count` UTF-8 strings such as "model=spt_small" or
    /// "model.resolution=[64,48]"; NULL when `override_count` is 0.
    pub overrides: *const *const c_char,
    pub override_count: usize,
}

/// Engine-wide facts, from sgaps_engine_get_info.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct SgapsEngineInfo {
    /// Pixels every session samples per frame: the initial coordinates of a session
    /// hold this many (u, v) pairs.
    pub sample_count: u32,
    /// The most pixels a frame may carry.
    pub max_sample_count: u32,
    /// The device inference runs on, e.g. "cpu (2 threads)", NUL-terminated.
    pub device: [c_char; 64],
}

/// The default options: built-in configuration, no overrides.
///
/// Thread safety: any thread.
#[no_mangle]
pub extern "C" fn sgaps_engine_options_default() -> SgapsEngineOptions {
    crate::panic::value_boundary(DEFAULT_OPTIONS, || DEFAULT_OPTIONS)
}

const DEFAULT_OPTIONS: SgapsEngineOptions =
    SgapsEngineOptions { conf_dir: std::ptr::null(), overrides: std::ptr::null(), override_count: 0 };

/// Opens an engine: composes the configuration (`options->conf_dir` or the built-in
/// one, then the overrides in order) and prepares the checkpoint store. Checkpoints are
/// looked up in the `checkpoint_dir` setting, else the directory the environment
/// variable SGAPS_CHECKPOINT_DIR names, else a `checkpoints/` folder beside libsgaps.so;
/// never in the working directory. The trained default model is built into the
/// library: with the built-in model configuration, "default" (and any key without a
/// checkpoint) is served by it when no folder has one, from any working directory.
/// Models load lazily, on the first session that needs them. On success `*out_engine` receives
/// the new engine; on failure it is set to NULL and the status says why
/// (SGAPS_STATUS_CONFIG_ERROR names the bad key and where it came from).
///
/// Ownership: the caller owns the engine and frees it with sgaps_engine_free; the
/// options and their strings are only read during the call.
/// Thread safety: any thread.
///
/// # Safety
/// `options` must point to a valid SgapsEngineOptions whose strings are
/// NUL-terminated; `out_engine` must be writable.
#[no_mangle]
pub unsafe extern "C" fn sgaps_engine_open(
    options: *const SgapsEngineOptions,
    out_engine: *mut *mut SgapsEngine,
) -> SgapsStatus {
    status_boundary("sgaps_engine_open", || {
        let mut out_engine = unsafe { output(out_engine, "out_engine") }?;
        out_engine.write(std::ptr::null_mut());
        let options = unsafe { reference(options, "options") }?;
        let conf_dir =
            if options.conf_dir.is_null() { None } else { Some(unsafe { utf8(options.conf_dir, "options->conf_dir") }?) };
        let pointers = unsafe { slice(options.overrides, options.override_count, "options->overrides") }?;
        let overrides = pointers
            .iter()
            .enumerate()
            .map(|(i, &text)| unsafe { utf8(text, &format!("options->overrides[{i}]")) }.map(str::to_string))
            .collect::<Result<Vec<String>, FfiError>>()?;
        let engine = Engine::from_conf(conf_dir.map(Path::new), &overrides)?;
        out_engine.write(Box::into_raw(Box::new(SgapsEngine { engine: Arc::new(engine) })));
        Ok(())
    })
}

/// Frees an engine handle; NULL is ignored. Sessions still open keep the engine
/// running until they are freed, so they may be freed before or after it.
///
/// Ownership: takes `engine` back; do not use it afterwards.
/// Thread safety: not concurrently with any other call on this engine handle.
///
/// # Safety
/// `engine` must be NULL or a handle from sgaps_engine_open not yet freed.
#[no_mangle]
pub unsafe extern "C" fn sgaps_engine_free(engine: *mut SgapsEngine) {
    crate::panic::value_boundary((), || {
        if !engine.is_null() {
            // SAFETY: the caller hands back a handle from Box::into_raw.
            drop(unsafe { Box::from_raw(engine) });
        }
    })
}

/// Fills `*out_info` with the engine's sample count and device.
///
/// Ownership: `out_info` belongs to the caller.
/// Thread safety: any thread, concurrently with any other call on the engine.
///
/// # Safety
/// `engine` must be a live handle; `out_info` must be writable.
#[no_mangle]
pub unsafe extern "C" fn sgaps_engine_get_info(engine: *const SgapsEngine, out_info: *mut SgapsEngineInfo) -> SgapsStatus {
    status_boundary("sgaps_engine_get_info", || {
        let engine = unsafe { reference(engine, "engine") }?;
        let mut out_info = unsafe { output(out_info, "out_info") }?;
        let sampling = &engine.engine.config().sampling;
        let mut info = SgapsEngineInfo {
            sample_count: sampling.default_sample_count,
            max_sample_count: sampling.max_sample_count,
            device: [0; 64],
        };
        write_fixed_string(engine.engine.device(), &mut info.device);
        out_info.write(info);
        Ok(())
    })
}
