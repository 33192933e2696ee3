//! A frame in (pixels, state, optional ground truth), its results out (reconstruction,
//! importance, new coordinates into caller buffers), and sgaps_session_submit.

use image::GrayImage;
use sgaps_core::pipeline::{Frame, FrameResult, Pixel};

use crate::error::{FfiError, SgapsStatus};
use crate::panic::status_boundary;
use crate::pointers::{buffer, copy_into, output, reference, slice};
use crate::session::{SgapsBufferSizes, SgapsSession};

/// One frame from the client. Initialise with sgaps_frame_default().
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct SgapsFrame {
    /// Increases per session; gaps are fine.
    pub frame_id: u64,
    /// Client time in seconds.
    pub timestamp: f64,
    /// `pixel_count` sampled pixels as (u, v, value) float triples: u across and v down
    /// in [0, 1] (v = 0 is the top row), value the grey level 0..255.
    pub pixels: *const f32,
    pub pixel_count: usize,
    /// `state_len` state values (at most max_state_dim); NULL when `state_len` is 0.
    pub state: *const f32,
    pub state_len: usize,
    /// Optional whole grey frame, row-major, top row first, for quality numbers (the
    /// protocol's debug frames): NULL, or ground_truth_width * ground_truth_height bytes.
    pub ground_truth: *const u8,
    pub ground_truth_width: u32,
    pub ground_truth_height: u32,
}

/// Caller memory that sgaps_session_submit writes into. Capacities count elements
/// (bytes for `reconstruction`, floats for the others); sgaps_session_buffer_sizes
/// says what each needs. NULL with capacity 0 skips an output.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct SgapsFrameBuffers {
    /// The reconstruction, width * height grey levels, row-major, top row first.
    pub reconstruction: *mut u8,
    pub reconstruction_capacity: usize,
    /// The importance map, width * height values in [0, 1], row-major.
    pub importance: *mut f32,
    pub importance_capacity: usize,
    /// New (u, v) coordinates, written only when the result's coordinates_updated is
    /// set: 2 * sample_count floats.
    pub coordinates: *mut f32,
    pub coordinates_capacity: usize,
}

/// What sgaps_session_submit reports about one frame besides the buffers.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct SgapsFrameResult {
    pub frame_id: u64,
    /// When coordinates_updated: the first frame to sample at the new coordinates
    /// (frame_id + 1). 0 otherwise.
    pub target_frame_id: u64,
    /// The size of the reconstruction and importance map.
    pub width: u32,
    pub height: u32,
    /// (u, v) pairs in the new coordinates; 0 when coordinates_updated is false.
    pub coordinate_count: u32,
    /// Frames in the forward pass that produced this one.
    pub batch_size: u32,
    /// PSNR (dB) of the reconstruction at the sampled pixels.
    pub sample_psnr: f64,
    /// PSNR (dB, infinite when identical) and SSIM against the ground truth; NaN
    /// when the frame carried none.
    pub ground_truth_psnr: f64,
    pub ground_truth_ssim: f64,
    /// Time of the forward pass in milliseconds.
    pub inference_ms: f64,
    /// Whether the engine chose new coordinates (written to buffers->coordinates).
    pub coordinates_updated: bool,
}

/// An empty frame: id 0, time 0, no pixels, no state, no ground truth.
///
/// Thread safety: any thread.
#[no_mangle]
pub extern "C" fn sgaps_frame_default() -> SgapsFrame {
    crate::panic::value_boundary(EMPTY_FRAME, || EMPTY_FRAME)
}

const EMPTY_FRAME: SgapsFrame = SgapsFrame {
    frame_id: 0,
    timestamp: 0.0,
    pixels: std::ptr::null(),
    pixel_count: 0,
    state: std::ptr::null(),
    state_len: 0,
    ground_truth: std::ptr::null(),
    ground_truth_width: 0,
    ground_truth_height: 0,
};

/// Buffers that skip every output (all NULL, capacity 0).
///
/// Thread safety: any thread.
#[no_mangle]
pub extern "C" fn sgaps_frame_buffers_default() -> SgapsFrameBuffers {
    crate::panic::value_boundary(NO_BUFFERS, || NO_BUFFERS)
}

const NO_BUFFERS: SgapsFrameBuffers = SgapsFrameBuffers {
    reconstruction: std::ptr::null_mut(),
    reconstruction_capacity: 0,
    importance: std::ptr::null_mut(),
    importance_capacity: 0,
    coordinates: std::ptr::null_mut(),
    coordinates_capacity: 0,
};

/// Copies a C frame into the engine's frame. The values themselves (ranges, counts)
/// are checked by the engine; here only the memory. `name` prefixes argument names.
///
/// # Safety
/// The frame's pointers must be NULL or valid for their lengths.
pub(crate) unsafe fn frame_from_c(frame: &SgapsFrame, name: &str) -> Result<Frame, FfiError> {
    let float_count = frame
        .pixel_count
        .checked_mul(3)
        .ok_or_else(|| FfiError::invalid(&format!("{name}.pixel_count"), "overflows"))?;
    let pixels = unsafe { slice(frame.pixels, float_count, &format!("{name}.pixels")) }?;
    let state = unsafe { slice(frame.state, frame.state_len, &format!("{name}.state")) }?;
    let ground_truth = if frame.ground_truth.is_null() {
        None
    } else {
        let (width, height) = (frame.ground_truth_width, frame.ground_truth_height);
        if width == 0 || height == 0 {
            return Err(FfiError::invalid(
                &format!("{name}.ground_truth_width/height"),
                format!("is {width}x{height}, an empty image"),
            ));
        }
        let bytes = (width as usize).saturating_mul(height as usize);
        let levels = unsafe { slice(frame.ground_truth, bytes, &format!("{name}.ground_truth")) }?;
        Some(GrayImage::from_raw(width, height, levels.to_vec()).expect("exactly width * height bytes"))
    };
    Ok(Frame {
        frame_id: frame.frame_id,
        timestamp: frame.timestamp,
        pixels: pixels.chunks_exact(3).map(|p| Pixel { u: p[0], v: p[1], value: p[2] }).collect(),
        state: state.to_vec(),
        ground_truth,
    })
}

/// The caller's output buffers, checked against what a session's frames need.
pub(crate) struct Outputs<'a> {
    reconstruction: Option<&'a mut [u8]>,
    importance: Option<&'a mut [f32]>,
    coordinates: Option<&'a mut [f32]>,
    /// Names the buffers in errors, e.g. "buffers" or "items[2].buffers".
    name: String,
}

impl<'a> Outputs<'a> {
    /// Checks every buffer before the frame is submitted, so a short buffer costs the
    /// caller nothing (the frame is not consumed).
    ///
    /// # Safety
    /// The buffers' pointers must be NULL or writable for their capacities during `'a`.
    pub unsafe fn new(buffers: &SgapsFrameBuffers, sizes: SgapsBufferSizes, name: &str) -> Result<Outputs<'a>, FfiError> {
        let field = |field: &str| format!("{name}.{field}");
        let outputs = Outputs {
            reconstruction: unsafe {
                buffer(buffers.reconstruction, buffers.reconstruction_capacity, &field("reconstruction"))
            }?,
            importance: unsafe { buffer(buffers.importance, buffers.importance_capacity, &field("importance")) }?,
            coordinates: unsafe { buffer(buffers.coordinates, buffers.coordinates_capacity, &field("coordinates")) }?,
            name: name.to_string(),
        };
        let checks = [
            ("reconstruction", outputs.reconstruction.as_ref().map(|b| b.len()), sizes.reconstruction),
            ("importance", outputs.importance.as_ref().map(|b| b.len()), sizes.importance),
            ("coordinates", outputs.coordinates.as_ref().map(|b| b.len()), sizes.coordinates),
        ];
        for (buffer_name, capacity, needed) in checks {
            if let Some(capacity) = capacity.filter(|&capacity| capacity < needed) {
                return Err(FfiError::too_small(&field(buffer_name), needed, capacity));
            }
        }
        Ok(outputs)
    }

    /// Writes `result` into the buffers and returns the scalar part.
    pub fn write(self, result: &FrameResult) -> Result<SgapsFrameResult, FfiError> {
        let field = |field: &str| format!("{}.{field}", self.name);
        if let Some(target) = self.reconstruction {
            copy_into(result.reconstruction.as_raw(), target, &field("reconstruction"))?;
        }
        if let Some(target) = self.importance {
            copy_into(&result.importance.map.values, target, &field("importance"))?;
        }
        let update = result.mask_update.as_ref();
        if let (Some(target), Some(update)) = (self.coordinates, update) {
            let flat: Vec<f32> = update.coordinates.iter().flatten().copied().collect();
            copy_into(&flat, target, &field("coordinates"))?;
        }
        let quality = result.ground_truth_quality.as_ref();
        Ok(SgapsFrameResult {
            frame_id: result.frame_id,
            target_frame_id: update.map_or(0, |u| u.target_frame_id),
            width: result.reconstruction.width(),
            height: result.reconstruction.height(),
            coordinate_count: update.map_or(0, |u| u.coordinates.len() as u32),
            batch_size: result.batch_size as u32,
            sample_psnr: result.sample_psnr,
            ground_truth_psnr: quality.map_or(f64::NAN, |q| q.psnr),
            ground_truth_ssim: quality.map_or(f64::NAN, |q| q.ssim),
            inference_ms: result.inference_ms,
            coordinates_updated: update.is_some(),
        })
    }
}

/// Reconstructs one frame of `session`: writes the reconstruction, the importance map
/// and, when the engine chose new ones, the coordinates into `buffers`, and fills
/// `*out_result` (zeroed on failure). One forward pass; blocks until it is done.
///
/// A bad frame (SGAPS_STATUS_INVALID_FRAME, the message names the field, e.g.
/// "pixels[3].value") fails alone: the session goes on. A buffer smaller than
/// sgaps_session_buffer_sizes says fails with SGAPS_STATUS_BUFFER_TOO_SMALL before
/// the frame is used.
///
/// Ownership: the frame and buffers belong to the caller; the frame is only read
/// during the call.
/// Thread safety: any thread, concurrently with calls on other sessions (passes on one
/// model take turns; sgaps_engine_submit_batch shares one pass). Submit one session's
/// frames from one thread at a time, in order.
///
/// # Safety
/// `session` must be a live handle; `frame`, `buffers` and `out_result` must point to
/// valid structs whose pointers are NULL or valid for their lengths.
#[no_mangle]
pub unsafe extern "C" fn sgaps_session_submit(
    session: *const SgapsSession,
    frame: *const SgapsFrame,
    buffers: *const SgapsFrameBuffers,
    out_result: *mut SgapsFrameResult,
) -> SgapsStatus {
    status_boundary("sgaps_session_submit", || {
        let mut out_result = unsafe { output(out_result, "out_result") }?;
        out_result.write(SgapsFrameResult::default());
        let session = unsafe { reference(session, "session") }?;
        let frame = unsafe { frame_from_c(reference(frame, "frame")?, "frame") }?;
        let outputs = unsafe { Outputs::new(reference(buffers, "buffers")?, session.buffer_sizes(), "buffers") }?;
        let result = session.engine.submit(session.id, frame)?;
        out_result.write(outputs.write(&result)?);
        Ok(())
    })
}
