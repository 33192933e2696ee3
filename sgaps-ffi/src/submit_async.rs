//! Non-blocking submission for game loops: sgaps_session_submit_async hands a frame to
//! the engine's inference worker and returns at once; sgaps_session_poll takes the
//! results, in the order the frames were submitted, waiting at most a given time.
//!
//! The rule for frames that wait: a session has at most one frame waiting for the
//! worker. A newer frame submitted meanwhile replaces it, and the replaced frame's
//! result is SGAPS_STATUS_SUPERSEDED (with its frame_id), so a game that submits faster
//! than the engine reconstructs always gets its newest frames reconstructed, and every
//! frame it submitted gets exactly one answer.

use std::time::Duration;

use crate::error::{FfiError, SgapsStatus};
use crate::frame::{frame_from_c, Outputs, SgapsFrame, SgapsFrameBuffers, SgapsFrameResult};
use crate::panic::status_boundary;
use crate::pointers::{output, reference};
use crate::session::SgapsSession;

/// Queues one frame of `session` for reconstruction and returns at once (it copies the
/// frame; it never waits for inference). Take its result with sgaps_session_poll.
///
/// A bad frame is refused here (SGAPS_STATUS_INVALID_FRAME, the message names the
/// field) and gets no result. SGAPS_STATUS_BUSY: the engine's queue is full, the frame
/// was not taken. A frame that replaces the session's waiting one succeeds; the
/// replaced one's result is SGAPS_STATUS_SUPERSEDED.
///
/// Ownership: the frame belongs to the caller and is only read during the call.
/// Thread safety: any thread, concurrently with any call on other sessions and with
/// sgaps_session_poll on this one. Do not mix with sgaps_session_submit on one session.
///
/// # Safety
/// `session` must be a live handle; `frame` must point to a valid struct whose
/// pointers are NULL or valid for their lengths.
#[no_mangle]
pub unsafe extern "C" fn sgaps_session_submit_async(session: *const SgapsSession, frame: *const SgapsFrame) -> SgapsStatus {
    status_boundary("sgaps_session_submit_async", || {
        let session = unsafe { reference(session, "session") }?;
        let frame = unsafe { frame_from_c(reference(frame, "frame")?, "frame") }?;
        // The engine answers a session's frames in order, on its worker: the mailbox
        // only keeps them until the game polls.
        let (mailbox, frame_id) = (std::sync::Arc::clone(&session.mailbox), frame.frame_id);
        session.engine.submit_async(session.id, frame, Box::new(move |result| mailbox.deliver(frame_id, result)))?;
        Ok(())
    })
}

/// Takes the oldest result of `session`'s submitted frames, waiting at most
/// `timeout_ms` milliseconds (0: only look). On SGAPS_STATUS_OK the reconstruction,
/// importance and new coordinates are written to `buffers` as sgaps_session_submit
/// does, and `*out_result` is filled.
///
/// Other answers: SGAPS_STATUS_PENDING, nothing arrived in time (poll again);
/// SGAPS_STATUS_SUPERSEDED, that frame was replaced before it ran; any other status is
/// that frame's failure (e.g. SGAPS_STATUS_PANIC: its batch hit a bug, the session goes
/// on). Whenever a frame is answered, `out_result->frame_id` says which one. A buffer
/// smaller than sgaps_session_buffer_sizes says fails with
/// SGAPS_STATUS_BUFFER_TOO_SMALL and keeps the result for the next poll.
///
/// At most 8 reconstructions (and 256 answers in all) wait unpolled; a game that stops
/// polling loses the oldest (logged).
/// After sgaps_session_free, frames still in flight are dropped with the session.
///
/// Ownership: `buffers` and `out_result` belong to the caller.
/// Thread safety: one thread at a time per session, concurrently with
/// sgaps_session_submit_async from another.
///
/// # Safety
/// `session` must be a live handle; `buffers` and `out_result` must point to valid
/// structs whose pointers are NULL or writable for their capacities.
#[no_mangle]
pub unsafe extern "C" fn sgaps_session_poll(
    session: *const SgapsSession,
    timeout_ms: u32,
    buffers: *const SgapsFrameBuffers,
    out_result: *mut SgapsFrameResult,
) -> SgapsStatus {
    status_boundary("sgaps_session_poll", || {
        let mut out_result = unsafe { output(out_result, "out_result") }?;
        out_result.write(SgapsFrameResult::default());
        let session = unsafe { reference(session, "session") }?;
        let outputs = unsafe { Outputs::new(reference(buffers, "buffers")?, session.buffer_sizes(), "buffers") }?;
        let Some(delivered) = session.mailbox.take(Duration::from_millis(timeout_ms.into())) else {
            return Err(FfiError::new(SgapsStatus::Pending, format!("no result within {timeout_ms} ms")));
        };
        match delivered.result {
            Err(error) => {
                out_result.write(SgapsFrameResult { frame_id: delivered.frame_id, ..SgapsFrameResult::default() });
                Err(error.into())
            }
            Ok(ref result) => match outputs.write(result) {
                Ok(scalars) => {
                    out_result.write(scalars);
                    Ok(())
                }
                // A result from before a rebind may be larger than the buffers now are:
                // it stays first in line for a poll with larger buffers.
                Err(error) => {
                    session.mailbox.put_back(delivered);
                    Err(error)
                }
            },
        }
    })
}
