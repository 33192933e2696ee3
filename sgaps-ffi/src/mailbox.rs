//! Where a session's results wait until the game polls them (sgaps_session_poll):
//! filled on the engine's inference worker, in the order the session's frames were
//! submitted. Bounded: a game that stops polling keeps only the newest results.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use sgaps_core::pipeline::{EngineError, FrameResult};

/// Results kept for a game that does not poll; beyond it the oldest is dropped (and
/// logged).
pub(crate) const MAILBOX_CAPACITY: usize = 8;

/// One frame's outcome, with the frame it answers.
pub(crate) struct Delivered {
    pub frame_id: u64,
    pub result: Result<FrameResult, EngineError>,
}

#[derive(Default)]
pub(crate) struct Mailbox {
    results: Mutex<VecDeque<Delivered>>,
    arrived: Condvar,
}

impl Mailbox {
    pub fn deliver(&self, frame_id: u64, result: Result<FrameResult, EngineError>) {
        let mut results = self.results.lock().unwrap_or_else(PoisonError::into_inner);
        if results.len() >= MAILBOX_CAPACITY {
            if let Some(dropped) = results.pop_front() {
                tracing::warn!(frame_id = dropped.frame_id, "result dropped unpolled: the mailbox holds {MAILBOX_CAPACITY}");
            }
        }
        results.push_back(Delivered { frame_id, result });
        self.arrived.notify_all();
    }

    /// The oldest result, waiting up to `timeout` for one.
    pub fn take(&self, timeout: Duration) -> Option<Delivered> {
        let deadline = Instant::now() + timeout;
        let mut results = self.results.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if let Some(delivered) = results.pop_front() {
                return Some(delivered);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            results = self.arrived.wait_timeout(results, left).unwrap_or_else(PoisonError::into_inner).0;
        }
    }
}
