//! Frames of several sessions in one call: one forward pass per model.

use std::ptr::{addr_of, addr_of_mut};
use std::sync::Arc;

use sgaps_core::pipeline::{Engine, Frame, SessionId};

use crate::engine::SgapsEngine;
use crate::error::{set_last_error, FfiError, SgapsStatus};
use crate::frame::{frame_from_c, Outputs, SgapsFrame, SgapsFrameBuffers, SgapsFrameResult};
use crate::panic::status_boundary;
use crate::pointers::{check_array, reference};
use crate::session::SgapsSession;

/// One frame of a batch: the caller fills `session`, `frame` and `buffers`; the call
/// fills `result` and `status`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct SgapsBatchItem {
    pub session: *const SgapsSession,
    pub frame: SgapsFrame,
    pub buffers: SgapsFrameBuffers,
    /// Written by the call: as sgaps_session_submit's `out_result` (zeroed on failure).
    pub result: SgapsFrameResult,
    /// Written by the call: this item's own status.
    pub status: SgapsStatus,
}

/// Reconstructs `count` frames, of any sessions of this engine, in one call: frames
/// whose sessions use the same model share one forward pass. Each item gets its own
/// `status` and `result`, exactly as sgaps_session_submit would give them; a bad item
/// fails alone. Returns SGAPS_STATUS_OK when every item succeeded, else the status of
/// the first item that failed, whose message (prefixed "items[i]") sgaps_last_error
/// holds. When the call itself fails (NULL `engine` or `items`), no item is touched.
///
/// Ownership: the items and everything they point to belong to the caller.
/// Thread safety: any thread, concurrently with other calls on the engine. A session
/// may appear in several items (its frames are taken in item order), but should not
/// be submitted to from another thread meanwhile.
///
/// # Safety
/// `engine` must be a live handle; `items` must point to `count` writable items
/// whose pointers are NULL or valid for their lengths (NULL `items` only with
/// `count` 0), and no two items' output buffers may overlap.
#[no_mangle]
pub unsafe extern "C" fn sgaps_engine_submit_batch(
    engine: *const SgapsEngine,
    items: *mut SgapsBatchItem,
    count: usize,
) -> SgapsStatus {
    let mut first_failure: Option<(usize, FfiError)> = None;
    let status = status_boundary("sgaps_engine_submit_batch", || {
        let engine = &unsafe { reference(engine, "engine") }?.engine;
        // The items are read and written field by field through raw pointers, never
        // as references: their output fields may hold anything until we write them.
        check_array(items.cast_const(), count, "items")?;
        let mut record = |i: usize, outcome: Result<SgapsFrameResult, FfiError>| {
            let (result, status) = match outcome {
                Ok(result) => (result, SgapsStatus::Ok),
                Err(error) => {
                    let status = error.status;
                    // Items fail in two passes (checks, then the engine): keep the lowest.
                    if first_failure.as_ref().is_none_or(|(first, _)| i < *first) {
                        first_failure = Some((i, error));
                    }
                    (SgapsFrameResult::default(), status)
                }
            };
            // SAFETY: `i < count` and the items were checked above.
            unsafe {
                addr_of_mut!((*items.add(i)).result).write(result);
                addr_of_mut!((*items.add(i)).status).write(status);
            }
        };

        // Convert and check every item; the good ones go to the engine together.
        let mut pending: Vec<(usize, Outputs)> = Vec::with_capacity(count);
        let mut frames: Vec<(u64, Frame)> = Vec::with_capacity(count);
        for i in 0..count {
            let prepared = unsafe {
                let item = items.add(i);
                let session = addr_of!((*item).session).read();
                let frame = addr_of!((*item).frame).read();
                let buffers = addr_of!((*item).buffers).read();
                prepare(engine, session, &frame, &buffers, &format!("items[{i}]"))
            };
            match prepared {
                Ok((outputs, frame)) => {
                    pending.push((i, outputs));
                    frames.push(frame);
                }
                Err(error) => record(i, Err(error)),
            }
        }
        let results = engine.submit_batch(frames);
        for ((i, outputs), result) in pending.into_iter().zip(results) {
            record(i, result.map_err(FfiError::from).and_then(|result| outputs.write(&result)));
        }
        Ok(())
    });
    // The whole call failed (NULL engine, a panic) or one item did.
    match (status, first_failure) {
        (SgapsStatus::Ok, Some((i, error))) => {
            set_last_error(&format!("sgaps_engine_submit_batch: items[{i}]: {}", error.message));
            error.status
        }
        (status, _) => status,
    }
}

/// One item's session, frame and buffers, checked.
///
/// # Safety
/// As for sgaps_engine_submit_batch's items.
unsafe fn prepare<'a>(
    engine: &Arc<Engine>,
    session: *const SgapsSession,
    frame: &SgapsFrame,
    buffers: &SgapsFrameBuffers,
    name: &str,
) -> Result<(Outputs<'a>, (SessionId, Frame)), FfiError> {
    let session = unsafe { reference(session, &format!("{name}.session")) }?;
    if !Arc::ptr_eq(&session.engine, engine) {
        return Err(FfiError::new(
            SgapsStatus::UnknownSession,
            format!("`{name}.session` belongs to another engine"),
        ));
    }
    let frame = unsafe { frame_from_c(frame, &format!("{name}.frame")) }?;
    let outputs = unsafe { Outputs::new(buffers, session.buffer_sizes(), &format!("{name}.buffers")) }?;
    Ok((outputs, (session.id, frame)))
}
