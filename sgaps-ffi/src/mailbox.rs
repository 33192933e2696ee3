//! Where a session's results wait until the game polls them (sgaps_session_poll):
//! filled on the engine's inference worker, handed out in the order the session's frames
//! were submitted. A superseded frame is answered at once, while the frame before it may
//! still run, so each frame holds its place in line from submission on. Bounded: a game
//! that stops polling keeps only the newest answers.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use sgaps_core::pipeline::{EngineError, FrameResult};

/// Reconstructions kept for a game that does not poll; beyond it the oldest is dropped
/// (and logged).
pub(crate) const MAILBOX_CAPACITY: usize = 8;
/// Answers of any kind kept (superseded and failed frames are a few bytes each).
const MAILBOX_ANSWER_CAPACITY: usize = 256;

/// One frame's outcome, with the frame it answers.
pub(crate) struct Delivered {
    /// Its place in line (for [`Mailbox::put_back`]).
    ticket: u64,
    pub frame_id: u64,
    pub result: Result<FrameResult, EngineError>,
}

/// A submitted frame's place in line.
struct Slot {
    ticket: u64,
    frame_id: u64,
    state: SlotState,
}

enum SlotState {
    Waiting,
    Answered(Result<FrameResult, EngineError>),
    /// The engine refused or dropped the frame without an answer: skipped, never handed out.
    Unanswered,
}

#[derive(Default)]
struct Line {
    slots: VecDeque<Slot>,
    next_ticket: u64,
}

#[derive(Default)]
pub(crate) struct Mailbox {
    line: Mutex<Line>,
    arrived: Condvar,
}

/// Answers one reserved slot: `send` with the frame's result, or, dropped unsent (the
/// engine refused the frame), marks it unanswered so it does not hold up the line.
pub(crate) struct Reply {
    mailbox: Arc<Mailbox>,
    ticket: u64,
    sent: bool,
}

impl Reply {
    pub fn send(mut self, result: Result<FrameResult, EngineError>) {
        self.sent = true;
        self.mailbox.fill(self.ticket, SlotState::Answered(result));
    }
}

impl Drop for Reply {
    fn drop(&mut self) {
        if !self.sent {
            self.mailbox.fill(self.ticket, SlotState::Unanswered);
        }
    }
}

impl Mailbox {
    /// Takes the next place in line for `frame_id`, before the frame is submitted.
    pub fn reserve(self: &Arc<Self>, frame_id: u64) -> Reply {
        let mut line = self.line.lock().unwrap_or_else(PoisonError::into_inner);
        let ticket = line.next_ticket;
        line.next_ticket += 1;
        line.slots.push_back(Slot { ticket, frame_id, state: SlotState::Waiting });
        Reply { mailbox: Arc::clone(self), ticket, sent: false }
    }

    fn fill(&self, ticket: u64, state: SlotState) {
        let mut line = self.line.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(slot) = line.slots.iter_mut().find(|slot| slot.ticket == ticket) {
            slot.state = state;
        }
        // A game that stops polling loses the oldest answers. Only the reconstructions
        // (whole pictures) count toward MAILBOX_CAPACITY: a long forward pass at 60 Hz is
        // answered together with a dozen frames superseded meanwhile, and a game that
        // polls every tick must get them all.
        let is_result = |slot: &Slot| matches!(slot.state, SlotState::Answered(Ok(_)));
        let is_answer = |slot: &Slot| matches!(slot.state, SlotState::Answered(_));
        loop {
            let results = line.slots.iter().filter(|slot| is_result(slot)).count();
            let answers = line.slots.iter().filter(|slot| is_answer(slot)).count();
            let oldest = if results > MAILBOX_CAPACITY {
                line.slots.iter().position(is_result)
            } else if answers > MAILBOX_ANSWER_CAPACITY {
                line.slots.iter().position(is_answer)
            } else {
                break;
            };
            let dropped = line.slots.remove(oldest.expect("counted above")).expect("a position in the line");
            tracing::warn!(frame_id = dropped.frame_id, "answer dropped unpolled: the mailbox holds {MAILBOX_CAPACITY} results");
        }
        self.arrived.notify_all();
    }

    /// Returns a taken answer to the front of the line (the caller could not use it yet).
    pub fn put_back(&self, delivered: Delivered) {
        let Delivered { ticket, frame_id, result } = delivered;
        let mut line = self.line.lock().unwrap_or_else(PoisonError::into_inner);
        line.slots.push_front(Slot { ticket, frame_id, state: SlotState::Answered(result) });
    }

    /// The oldest frame's result once it is answered, waiting up to `timeout` for it.
    pub fn take(&self, timeout: Duration) -> Option<Delivered> {
        let deadline = Instant::now() + timeout;
        let mut line = self.line.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            while matches!(line.slots.front(), Some(Slot { state: SlotState::Unanswered, .. })) {
                line.slots.pop_front();
            }
            if matches!(line.slots.front(), Some(Slot { state: SlotState::Answered(_), .. })) {
                let slot = line.slots.pop_front().expect("checked above");
                let SlotState::Answered(result) = slot.state else { unreachable!("checked above") };
                return Some(Delivered { ticket: slot.ticket, frame_id: slot.frame_id, result });
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            line = self.arrived.wait_timeout(line, left).unwrap_or_else(PoisonError::into_inner).0;
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
    fn answers_wait_for_the_frames_submitted_before_them() {
        let mailbox = Arc::new(Mailbox::default());
        let running = mailbox.reserve(1);
        let replies: Vec<Reply> = (2..=20).map(|frame_id| mailbox.reserve(frame_id)).collect();
        // A long forward pass: every later frame is superseded before it ends.
        for (reply, frame_id) in replies.into_iter().zip(2..) {
            reply.send(superseded(frame_id));
        }
        assert!(mailbox.take(Duration::from_millis(10)).is_none(), "frame 1 still runs");
        running.send(superseded(1));
        assert_eq!(taken(&mailbox), (1..=20).collect::<Vec<u64>>(), "all of them, in order");
    }

    #[test]
    fn a_frame_the_engine_refused_holds_up_nothing() {
        let mailbox = Arc::new(Mailbox::default());
        let refused = mailbox.reserve(1);
        mailbox.reserve(2).send(superseded(2));
        drop(refused);
        assert_eq!(taken(&mailbox), vec![2]);
    }

    #[test]
    fn a_game_that_stops_polling_keeps_the_newest_answers() {
        let mailbox = Arc::new(Mailbox::default());
        let count = MAILBOX_ANSWER_CAPACITY as u64 + 5;
        for frame_id in 0..count {
            mailbox.reserve(frame_id).send(superseded(frame_id));
        }
        assert_eq!(taken(&mailbox), (5..count).collect::<Vec<u64>>());
    }
}
