//! The session handle: begin (parameters and initial coordinates), the buffer sizes its
//! frames need, end (statistics), free.

use std::ffi::c_char;
use std::sync::{Arc, Mutex, PoisonError};

use sgaps_core::pipeline::{Engine, SessionId, SessionParams, SessionStats};

use crate::engine::SgapsEngine;
use crate::error::{FfiError, SgapsStatus};
use crate::mailbox::Mailbox;
use crate::panic::status_boundary;
use crate::pointers::{buffer, copy_into, output, reference, utf8, write_fixed_string};

/// Bytes of the fixed string fields (checkpoint key, model version), NUL included.
pub const SGAPS_NAME_CAPACITY: usize = 160;

/// One client's stream of frames on an engine. Opaque; create with
/// sgaps_session_begin, free with sgaps_session_free.
pub struct SgapsSession {
    pub(crate) engine: Arc<Engine>,
    pub(crate) id: SessionId,
    /// Replaced by sgaps_session_rebind.
    pub(crate) params: Mutex<SessionParams>,
    /// Results of sgaps_session_submit_async, for sgaps_session_poll.
    pub(crate) mailbox: Arc<Mailbox>,
}

/// What a session runs with (the protocol's `session_start_ack`). The client must
/// sample `sample_count` pixels per frame and send at most `max_state_dim` state values.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct SgapsSessionParams {
    pub session_id: u64,
    /// Pixels to sample per frame; coordinate buffers hold 2 * sample_count floats.
    pub sample_count: u32,
    pub max_state_dim: u32,
    pub target_fps: u32,
    /// The resolution frames are reconstructed (and sampled) at: reconstruction and
    /// importance buffers hold width * height elements, row-major, top row first.
    pub width: u32,
    pub height: u32,
    /// The client's screen, as given to sgaps_session_begin.
    pub client_width: u32,
    pub client_height: u32,
    /// The checkpoint key actually used ("default" after a fallback), NUL-terminated.
    pub checkpoint_key: [c_char; SGAPS_NAME_CAPACITY],
    /// Identifies the weights, e.g. "mario-1a2b3c4d" or "untrained", NUL-terminated.
    pub model_version: [c_char; SGAPS_NAME_CAPACITY],
    /// Whether trained weights exist for the key that was asked for.
    pub checkpoint_loaded: bool,
}

/// Elements each output buffer of sgaps_session_submit needs for this session.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SgapsBufferSizes {
    /// uint8_t values: width * height.
    pub reconstruction: usize,
    /// float values: width * height.
    pub importance: usize,
    /// float values: 2 * sample_count, (u, v) pairs.
    pub coordinates: usize,
}

/// A session's totals, from sgaps_session_end.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct SgapsSessionStats {
    pub frames_reconstructed: u64,
    pub mask_updates: u64,
    pub total_pixels: u64,
    /// Frames that carried a ground-truth image.
    pub frames_with_ground_truth: u64,
    /// The id of the last frame reconstructed; 0 when frames_reconstructed is 0.
    pub last_frame_id: u64,
    /// Mean PSNR (dB) of the reconstructions at the sampled pixels.
    pub mean_sample_psnr: f64,
    /// Mean PSNR (dB) and SSIM against ground truth; NaN without ground truth.
    pub mean_psnr: f64,
    pub mean_ssim: f64,
}

impl SgapsSession {
    pub(crate) fn buffer_sizes(&self) -> SgapsBufferSizes {
        let params = self.params.lock().unwrap_or_else(PoisonError::into_inner);
        let [width, height] = params.resolution;
        SgapsBufferSizes {
            reconstruction: width * height,
            importance: width * height,
            coordinates: 2 * params.sample_count,
        }
    }
}

fn params_to_c(params: &SessionParams) -> SgapsSessionParams {
    let to_u32 = |value: usize| u32::try_from(value).unwrap_or(u32::MAX);
    let mut c = SgapsSessionParams {
        session_id: params.session_id,
        sample_count: to_u32(params.sample_count),
        max_state_dim: to_u32(params.max_state_dim),
        target_fps: params.target_fps,
        width: to_u32(params.resolution[0]),
        height: to_u32(params.resolution[1]),
        client_width: to_u32(params.client_resolution[0]),
        client_height: to_u32(params.client_resolution[1]),
        checkpoint_key: [0; SGAPS_NAME_CAPACITY],
        model_version: [0; SGAPS_NAME_CAPACITY],
        checkpoint_loaded: params.checkpoint_loaded,
    };
    write_fixed_string(&params.checkpoint_key, &mut c.checkpoint_key);
    write_fixed_string(&params.model_version, &mut c.model_version);
    c
}

fn stats_to_c(stats: &SessionStats) -> SgapsSessionStats {
    SgapsSessionStats {
        frames_reconstructed: stats.frames_reconstructed,
        mask_updates: stats.mask_updates,
        total_pixels: stats.total_pixels,
        frames_with_ground_truth: stats.frames_with_ground_truth,
        last_frame_id: stats.last_frame_id.unwrap_or(0),
        mean_sample_psnr: stats.mean_sample_psnr,
        mean_psnr: stats.mean_psnr.unwrap_or(f64::NAN),
        mean_ssim: stats.mean_ssim.unwrap_or(f64::NAN),
    }
}

/// Begins a session for a client whose screen is `client_width` x `client_height`,
/// served by checkpoint `checkpoint_key` (NULL means "default"; a key without a
/// checkpoint falls back to "default"). Fills `*out_params`, writes the coordinates
/// to sample first (frame 0 on) into `initial_coordinates` as (u, v) pairs, and sets
/// `*out_session` (NULL on failure).
///
/// `initial_coordinates` must hold 2 * sample_count floats, with sample_count from
/// sgaps_engine_get_info (also returned in `out_params->sample_count`); a smaller
/// buffer fails with SGAPS_STATUS_BUFFER_TOO_SMALL and begins no session.
///
/// Ownership: the caller owns the session and frees it with sgaps_session_free; it
/// holds a reference to the engine, which stays alive until the session is freed.
/// Thread safety: any thread, concurrently with any other call on the engine.
///
/// # Safety
/// `engine` must be a live handle, `checkpoint_key` NULL or NUL-terminated,
/// `initial_coordinates` writable for `initial_coordinates_capacity` floats, and
/// `out_params` and `out_session` writable.
#[no_mangle]
pub unsafe extern "C" fn sgaps_session_begin(
    engine: *const SgapsEngine,
    checkpoint_key: *const c_char,
    client_width: u32,
    client_height: u32,
    out_params: *mut SgapsSessionParams,
    initial_coordinates: *mut f32,
    initial_coordinates_capacity: usize,
    out_session: *mut *mut SgapsSession,
) -> SgapsStatus {
    status_boundary("sgaps_session_begin", || {
        let mut out_session = unsafe { output(out_session, "out_session") }?;
        out_session.write(std::ptr::null_mut());
        let engine = &unsafe { reference(engine, "engine") }?.engine;
        let key = if checkpoint_key.is_null() { "default" } else { unsafe { utf8(checkpoint_key, "checkpoint_key") }? };
        let mut out_params = unsafe { output(out_params, "out_params") }?;
        let coordinates = unsafe { buffer(initial_coordinates, initial_coordinates_capacity, "initial_coordinates") }?
            .ok_or_else(|| FfiError::null("initial_coordinates"))?;
        // Refuse a short buffer before a session exists.
        let needed = 2 * engine.config().sampling.default_sample_count as usize;
        if coordinates.len() < needed {
            return Err(FfiError::too_small("initial_coordinates", needed, coordinates.len()));
        }

        let start = engine.begin_session(key, [client_width as usize, client_height as usize])?;
        let id = start.params.session_id;
        if let Err(error) = copy_coordinates(&start.initial_coordinates, coordinates, "initial_coordinates") {
            let _ = engine.end_session(id);
            return Err(error);
        }
        out_params.write(params_to_c(&start.params));
        let session = SgapsSession {
            engine: Arc::clone(engine),
            id,
            params: Mutex::new(start.params),
            mailbox: Arc::default(),
        };
        out_session.write(Box::into_raw(Box::new(session)));
        Ok(())
    })
}

fn copy_coordinates(coordinates: &[[f32; 2]], target: &mut [f32], name: &str) -> Result<(), FfiError> {
    let flat: Vec<f32> = coordinates.iter().flatten().copied().collect();
    copy_into(&flat, target, name)
}

/// Binds the session again to the checkpoint its key names now (a checkpoint replaced
/// or trained since it began; the key it asked for, not the "default" it fell back
/// to). A running session never changes model by itself: this is how it picks up a
/// new one. Fills `*out_params` with its new parameters (the resolution, and with it
/// the buffer sizes, may change) and writes the coordinates to sample from the next
/// frame on into `coordinates` (2 * sample_count floats). Its history starts afresh;
/// its statistics go on.
///
/// Thread safety: any thread, but not while this session has frames in flight (poll
/// them first): results computed before the rebind have the old size.
///
/// # Safety
/// `session` must be a live handle, `out_params` writable and `coordinates` writable for
/// `coordinates_capacity` floats.
#[no_mangle]
pub unsafe extern "C" fn sgaps_session_rebind(
    session: *const SgapsSession,
    out_params: *mut SgapsSessionParams,
    coordinates: *mut f32,
    coordinates_capacity: usize,
) -> SgapsStatus {
    status_boundary("sgaps_session_rebind", || {
        let session = unsafe { reference(session, "session") }?;
        let mut out_params = unsafe { output(out_params, "out_params") }?;
        let coordinates = unsafe { buffer(coordinates, coordinates_capacity, "coordinates") }?
            .ok_or_else(|| FfiError::null("coordinates"))?;
        let needed = 2 * session.engine.config().sampling.default_sample_count as usize;
        if coordinates.len() < needed {
            return Err(FfiError::too_small("coordinates", needed, coordinates.len()));
        }
        let start = session.engine.rebind_session(session.id)?;
        copy_coordinates(&start.initial_coordinates, coordinates, "coordinates")?;
        out_params.write(params_to_c(&start.params));
        *session.params.lock().unwrap_or_else(PoisonError::into_inner) = start.params;
        Ok(())
    })
}

/// Fills `*out_sizes` with how many elements each output buffer of
/// sgaps_session_submit needs for this session.
///
/// Ownership: `out_sizes` belongs to the caller.
/// Thread safety: any thread, concurrently with any other call on the session.
///
/// # Safety
/// `session` must be a live handle and `out_sizes` writable.
#[no_mangle]
pub unsafe extern "C" fn sgaps_session_buffer_sizes(
    session: *const SgapsSession,
    out_sizes: *mut SgapsBufferSizes,
) -> SgapsStatus {
    status_boundary("sgaps_session_buffer_sizes", || {
        let session = unsafe { reference(session, "session") }?;
        unsafe { output(out_sizes, "out_sizes") }?.write(session.buffer_sizes());
        Ok(())
    })
}

/// Ends the session and fills `*out_stats` with its totals. The handle stays valid
/// until sgaps_session_free, but frames submitted after the end fail with
/// SGAPS_STATUS_UNKNOWN_SESSION, as does ending it twice.
///
/// Ownership: `out_stats` belongs to the caller.
/// Thread safety: any thread, concurrently with calls on other sessions.
///
/// # Safety
/// `session` must be a live handle and `out_stats` writable.
#[no_mangle]
pub unsafe extern "C" fn sgaps_session_end(session: *const SgapsSession, out_stats: *mut SgapsSessionStats) -> SgapsStatus {
    status_boundary("sgaps_session_end", || {
        let session = unsafe { reference(session, "session") }?;
        let mut out_stats = unsafe { output(out_stats, "out_stats") }?;
        let stats = session.engine.end_session(session.id)?;
        out_stats.write(stats_to_c(&stats));
        Ok(())
    })
}

/// Drops the session's history: the next frame is reconstructed as if it were the
/// first (temporal models; a no-op for single-frame models). Call it where the game
/// knows the picture starts over: a level load, a menu, a camera cut. The engine also
/// detects scene cuts by itself.
///
/// Thread safety: any thread, concurrently with calls on other sessions.
///
/// # Safety
/// `session` must be a live handle.
#[no_mangle]
pub unsafe extern "C" fn sgaps_session_reset(session: *const SgapsSession) -> SgapsStatus {
    status_boundary("sgaps_session_reset", || {
        let session = unsafe { reference(session, "session") }?;
        session.engine.reset_session(session.id)?;
        Ok(())
    })
}

/// Frees a session handle, ending the session first if sgaps_session_end was not
/// called; NULL is ignored. Frees the engine too when its handle was freed already
/// and this was its last session.
///
/// Ownership: takes `session` back; do not use it afterwards.
/// Thread safety: not concurrently with any other call on this session.
///
/// # Safety
/// `session` must be NULL or a handle from sgaps_session_begin not yet freed.
#[no_mangle]
pub unsafe extern "C" fn sgaps_session_free(session: *mut SgapsSession) {
    crate::panic::value_boundary((), || {
        if session.is_null() {
            return;
        }
        // SAFETY: the caller hands back a handle from Box::into_raw.
        let session = unsafe { Box::from_raw(session) };
        // The only possible error is UnknownSession: it was ended already.
        let _ = session.engine.end_session(session.id);
    })
}
