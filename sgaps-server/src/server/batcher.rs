//! The server's side of dynamic batching, a thin user of the engine's inference
//! worker (sgaps-core's `pipeline::worker`), which owns the queue, the batching rule
//! (`server.batching`), the panic boundary and the forward passes. This adapts it to
//! connections: each frame's outcome goes to its connection's channel, and a frame
//! replaced by a newer one of its session is reported here as skipped (it was already
//! stored) rather than answered.

use std::sync::Arc;
use std::time::Instant;

use sgaps_core::pipeline::{Engine, EngineError, Frame, FrameResult, SessionId, Submitted};
use tokio::sync::mpsc;

use super::metrics::Metrics;

/// A frame for reconstruction and where to send the answer.
pub struct FrameJob {
    pub session: SessionId,
    pub frame: Frame,
    pub received: Instant,
    pub reply: mpsc::Sender<FrameOutcome>,
}

/// The answer to one frame.
pub struct FrameOutcome {
    pub result: Result<FrameResult, EngineError>,
    pub received: Instant,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Enqueued {
    /// Waiting for the next batch (or already answered, when the engine refused it).
    Queued,
    /// Replaced this session's older waiting frame (its id here), which will not be
    /// reconstructed.
    ReplacedOlder(u64),
}

pub struct Batcher {
    engine: Arc<Engine>,
}

impl Batcher {
    /// Reports each batch the engine runs to `metrics`.
    pub fn start(engine: Arc<Engine>, metrics: Arc<Metrics>) -> Batcher {
        engine.set_batch_observer(Arc::new(move |frames, took| metrics.observe_batch(frames, took)));
        Batcher { engine }
    }

    pub fn submit(&self, job: FrameJob) -> Enqueued {
        let FrameJob { session, frame, received, reply } = job;
        let answer = reply.clone();
        let done = Box::new(move |result: Result<FrameResult, EngineError>| {
            // A superseded frame was counted as skipped when it was replaced.
            if !matches!(result, Err(EngineError::Superseded { .. })) {
                // A full or closed channel means the client is gone or far behind.
                let _ = answer.try_send(FrameOutcome { result, received });
            }
        });
        match self.engine.submit_async(session, frame, done) {
            Ok(Submitted::Queued) => Enqueued::Queued,
            Ok(Submitted::Superseded { older_frame_id }) => Enqueued::ReplacedOlder(older_frame_id),
            // Refused before queueing (a bad frame, a full queue): answered like any outcome.
            Err(error) => {
                let _ = reply.try_send(FrameOutcome { result: Err(error), received });
                Enqueued::Queued
            }
        }
    }

    /// Sessions with a frame waiting now.
    pub fn depth(&self) -> usize {
        self.engine.queue_depth()
    }
}
