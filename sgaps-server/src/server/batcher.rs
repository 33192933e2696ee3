//! Dynamic batching: frames from all sessions are gathered into one call of
//! `Engine::submit_batch` (which runs one forward pass per model) on a dedicated
//! thread, so the async runtime never blocks on libtorch.
//!
//! A batch closes when `max_batch_size` sessions have a frame waiting or the oldest
//! waiting frame is `max_queue_delay` old. Each session has at most one waiting frame:
//! a newer frame replaces it (the older one is counted as skipped; it was already
//! stored), so under overload every session gets its newest frame reconstructed.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use sgaps_core::pipeline::{Engine, EngineError, Frame, FrameResult, SessionId};
use tokio::sync::mpsc;

use super::metrics::Metrics;

/// A frame waiting for reconstruction and where to send the answer.
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
    /// Waiting for the next batch.
    Queued,
    /// Replaced this session's older waiting frame (its id here), which will not be
    /// reconstructed.
    ReplacedOlder(u64),
}

struct Waiting {
    job: FrameJob,
    /// When this session's slot first filled: its place in the deadline order.
    since: Instant,
}

#[derive(Default)]
struct Queue {
    order: VecDeque<SessionId>,
    waiting: HashMap<SessionId, Waiting>,
    closed: bool,
}

pub struct Batcher {
    shared: Arc<(Mutex<Queue>, Condvar)>,
    worker: Option<JoinHandle<()>>,
}

impl Batcher {
    pub fn start(engine: Arc<Engine>, max_batch_size: usize, max_queue_delay: Duration, metrics: Arc<Metrics>) -> Batcher {
        let shared = Arc::new((Mutex::new(Queue::default()), Condvar::new()));
        let worker_shared = shared.clone();
        let worker = std::thread::Builder::new()
            .name("sgaps-batcher".into())
            .spawn(move || run(&engine, &worker_shared, max_batch_size.max(1), max_queue_delay, &metrics))
            .expect("spawn the batcher thread");
        Batcher { shared, worker: Some(worker) }
    }

    pub fn submit(&self, job: FrameJob) -> Enqueued {
        let (lock, wake) = &*self.shared;
        let mut queue = lock.lock().expect("batcher lock");
        let session = job.session;
        let outcome = match queue.waiting.get_mut(&session) {
            Some(waiting) => {
                let older = std::mem::replace(&mut waiting.job, job);
                Enqueued::ReplacedOlder(older.frame.frame_id)
            }
            None => {
                queue.order.push_back(session);
                queue.waiting.insert(session, Waiting { job, since: Instant::now() });
                Enqueued::Queued
            }
        };
        wake.notify_one();
        outcome
    }

    /// Frames waiting now.
    pub fn depth(&self) -> usize {
        self.shared.0.lock().expect("batcher lock").waiting.len()
    }

    /// Reconstructs what is waiting, then stops the worker.
    pub fn shutdown(mut self) {
        self.close();
    }

    fn close(&mut self) {
        {
            let (lock, wake) = &*self.shared;
            lock.lock().expect("batcher lock").closed = true;
            wake.notify_all();
        }
        if let Some(worker) = self.worker.take() {
            let _ = worker.join();
        }
    }
}

impl Drop for Batcher {
    fn drop(&mut self) {
        self.close();
    }
}

fn run(engine: &Engine, shared: &(Mutex<Queue>, Condvar), max_batch: usize, max_delay: Duration, metrics: &Metrics) {
    let (lock, wake) = shared;
    loop {
        let jobs: Vec<FrameJob> = {
            let mut queue = lock.lock().expect("batcher lock");
            while queue.order.is_empty() && !queue.closed {
                queue = wake.wait(queue).expect("batcher lock");
            }
            if queue.order.is_empty() {
                return; // closed and drained
            }
            // Fill the batch until it is full or the oldest frame has waited long enough.
            let oldest = queue.waiting[&queue.order[0]].since;
            loop {
                let now = Instant::now();
                let deadline = oldest + max_delay;
                if queue.order.len() >= max_batch || now >= deadline || queue.closed {
                    break;
                }
                queue = wake.wait_timeout(queue, deadline - now).expect("batcher lock").0;
            }
            let take = queue.order.len().min(max_batch);
            let sessions: Vec<SessionId> = queue.order.drain(..take).collect();
            sessions.iter().map(|s| queue.waiting.remove(s).expect("queued sessions wait").job).collect()
        };

        let started = Instant::now();
        let count = jobs.len();
        let (frames, replies): (Vec<_>, Vec<_>) =
            jobs.into_iter().map(|j| ((j.session, j.frame), (j.reply, j.received))).unzip();
        let results = engine.submit_batch(frames);
        metrics.observe_batch(count, started.elapsed());
        for ((reply, received), result) in replies.into_iter().zip(results) {
            // A full or closed reply channel means the client is gone or far behind.
            let _ = reply.try_send(FrameOutcome { result, received });
        }
    }
}
