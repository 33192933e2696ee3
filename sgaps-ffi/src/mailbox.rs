//! Where a session's results wait until the game polls them (sgaps_session_poll):
//! filled on the engine's inference worker, which answers a session's frames in the
//! order they were submitted (superseded ones too), and handed out in that order.
//! Bounded: a game that stops polling keeps only the newest answers.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use sgaps_core::pipeline::{EngineError, FrameResult};

/// Reconstructions kept for a game that does not poll; beyond it the oldest is dropped
/// (and logged).
pub(crate) const MAILBOX_CAPACITY: usize = 8;
/// Answers of any kind kept (superseded and failed frames are a few bytes each).
const MAILBOX_ANSWER_CAPACITY: usize = 256;

/// One frame's outcome, with the frame it answers.
pub(crate) struct Delivered {
    pub frame_id: u64,
    pub result: Result<FrameResult, EngineError>,
}

#[derive(Default)]
pub(crate) struct Mailbox {
    answers: Mutex<VecDeque<Delivered>>,
    arrived: Condvar,
}

impl Mailbox {
    /// Files a frame's answer behind the ones before it.
    pub fn deliver(&self, frame_id: u64, result: Result<FrameResult, EngineError>) {
        let mut answers = self.answers.lock().unwrap_or_else(PoisonError::into_inner);
        answers.push_back(Delivered { frame_id, result });
        // A game that stops polling loses the oldest answers. Only the reconstructions
        // (whole pictures) count toward MAILBOX_CAPACITY: a long forward pass at 60 Hz is
        // answered together with a dozen frames superseded meanwhile, and a game that
        // polls every tick must get them all.
        let is_result = |answer: &Delivered| answer.result.is_ok();
        loop {
            let oldest = if answers.iter().filter(|a| is_result(a)).count() > MAILBOX_CAPACITY {
                answers.iter().position(is_result)
            } else if answers.len() > MAILBOX_ANSWER_CAPACITY {
                Some(0)
            } else {
                break;
            };
            let dropped = answers.remove(oldest.expect("counted above")).expect("a position in the line");
            tracing::warn!(frame_id = dropped.frame_id, "answer dropped unpolled: the mailbox holds {MAILBOX_CAPACITY} results");
        }
        self.arrived.notify_all();
    }

    /// Returns a taken answer to the front of the line (the caller could not use it yet).
    pub fn put_back(&self, delivered: Delivered) {
        self.answers.lock().unwrap_or_else(PoisonError::into_inner).push_front(delivered);
    }

    /// The oldest answer, waiting up to `timeout` for one.
    pub fn take(&self, timeout: Duration) -> Option<Delivered> {
        let deadline = Instant::now() + timeout;
        let mut answers = self.answers.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if let Some(answer) = answers.pop_front() {
                return Some(answer);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            answers = self.arrived.wait_timeout(answers, left).unwrap_or_else(PoisonError::into_inner).0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn superseded(frame_id: u64) -> Result<FrameResult, EngineError> {
        Err(EngineError::Superseded { frame_id, by: frame_id + 1 })
    }

    fn taken(mailbox: &Mailbox) -> Vec<u64> {
        std::iter::from_fn(|| mailbox.take(Duration::ZERO)).map(|d| d.frame_id).collect()
    }

    #[test]
    fn a_poll_waits_for_an_answer_up_to_its_timeout() {
        let mailbox = std::sync::Arc::new(Mailbox::default());
        assert!(mailbox.take(Duration::from_millis(10)).is_none());
        let filler = std::sync::Arc::clone(&mailbox);
        let thread = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            filler.deliver(7, superseded(7));
        });
        assert_eq!(mailbox.take(Duration::from_secs(10)).map(|d| d.frame_id), Some(7));
        thread.join().unwrap();
    }

    #[test]
    fn a_game_that_stops_polling_keeps_the_newest_answers() {
        let mailbox = Mailbox::default();
        let count = MAILBOX_ANSWER_CAPACITY as u64 + 5;
        for frame_id in 0..count {
            mailbox.deliver(frame_id, superseded(frame_id));
        }
        assert_eq!(taken(&mailbox), (5..count).collect::<Vec<u64>>());
    }
}
