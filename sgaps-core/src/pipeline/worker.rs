//! The engine's inference worker: one thread that runs the forward passes of frames
//! submitted without waiting (`Engine::submit_async`, and `Engine::submit` on top of
//! it), in the manner of text-embeddings-inference's backend thread.
//!
//! - A bounded queue holds at most one waiting frame per session: a newer frame
//!   supersedes the waiting one, whose completion gets [`EngineError::Superseded`]
//!   (so under overload every session gets its newest frame reconstructed).
//! - Every completion runs on the worker thread, and a session's completions run in the
//!   order its frames were submitted: a superseded frame is answered before the frame
//!   that replaced it runs, and after the batch its predecessor is in (callers need no
//!   ordering of their own).
//! - A batch closes when `max_batch_size` sessions wait, when every live session has a
//!   frame waiting (no one else could join: a lone game session never waits), or when
//!   the oldest frame has waited `max_queue_delay`.
//! - The batch, its forward passes and every post-processing step run inside a panic
//!   boundary: a panic fails that batch's frames with [`EngineError::Internal`], their
//!   sessions' histories are reset, and the worker goes on.

use std::collections::{HashMap, VecDeque};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::engine::{EngineError, EngineState};
use super::frame::Frame;
use super::lock::lock;
use super::session::{FrameResult, SessionId};

/// Called once with a frame's outcome, on the worker thread: keep it short (send the
/// result somewhere). A panic in it is contained.
pub type Completion = Box<dyn FnOnce(Result<FrameResult, EngineError>) + Send>;

/// Told each batch's size and the time its passes took (for metrics).
pub type BatchObserver = Arc<dyn Fn(usize, Duration) + Send + Sync>;

/// What happened to a frame handed to `Engine::submit_async`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Submitted {
    /// Waiting for the next batch.
    Queued,
    /// Waiting, in place of this session's older waiting frame (its id), whose
    /// completion was told [`EngineError::Superseded`].
    Superseded { older_frame_id: u64 },
}

struct Job {
    frame: Frame,
    done: Completion,
    /// When this session's slot filled: its place in the deadline order.
    since: Instant,
}

#[derive(Default)]
struct Queue {
    order: VecDeque<SessionId>,
    waiting: HashMap<SessionId, Job>,
    /// Superseded frames, answered by the worker before the next batch runs (so after
    /// the one running now, which may hold their predecessors).
    superseded: Vec<(Completion, EngineError)>,
    closed: bool,
}

struct Shared {
    queue: Mutex<Queue>,
    wake: Condvar,
    observer: Mutex<Option<BatchObserver>>,
}

pub(crate) struct InferenceWorker {
    shared: Arc<Shared>,
    capacity: usize,
    thread: Option<JoinHandle<()>>,
}

impl InferenceWorker {
    /// Starts the worker thread. `capacity` bounds the sessions with a waiting frame.
    pub fn start(state: Arc<EngineState>, max_batch_size: usize, max_queue_delay: Duration, capacity: usize) -> Self {
        let shared = Arc::new(Shared { queue: Mutex::default(), wake: Condvar::new(), observer: Mutex::default() });
        let worker_shared = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("sgaps-inference".into())
            .spawn(move || run(&state, &worker_shared, max_batch_size.max(1), max_queue_delay))
            .expect("spawn the inference worker");
        InferenceWorker { shared, capacity: capacity.max(1), thread: Some(thread) }
    }

    /// Queues `frame` (already validated) for `session`; returns at once.
    pub fn submit(&self, session: SessionId, frame: Frame, done: Completion) -> Result<Submitted, EngineError> {
        let submitted = {
            let mut queue = lock(&self.shared.queue);
            if queue.closed {
                return Err(EngineError::Internal("the engine is shutting down".into()));
            }
            let waiting_now = queue.waiting.len();
            match queue.waiting.get_mut(&session) {
                Some(waiting) => {
                    let by = frame.frame_id;
                    let older = std::mem::replace(waiting, Job { frame, done, since: waiting.since });
                    let older_frame_id = older.frame.frame_id;
                    queue.superseded.push((older.done, EngineError::Superseded { frame_id: older_frame_id, by }));
                    Submitted::Superseded { older_frame_id }
                }
                None if waiting_now >= self.capacity => {
                    return Err(EngineError::Overloaded { waiting: waiting_now });
                }
                None => {
                    queue.order.push_back(session);
                    queue.waiting.insert(session, Job { frame, done, since: Instant::now() });
                    Submitted::Queued
                }
            }
        };
        Ok(self.wake_for(submitted))
    }

    fn wake_for(&self, submitted: Submitted) -> Submitted {
        self.shared.wake.notify_one();
        submitted
    }

    /// Sessions with a frame waiting now.
    pub fn depth(&self) -> usize {
        lock(&self.shared.queue).waiting.len()
    }

    pub fn set_observer(&self, observer: BatchObserver) {
        *lock(&self.shared.observer) = Some(observer);
    }
}

impl Drop for InferenceWorker {
    /// Reconstructs what is waiting, then stops the thread.
    fn drop(&mut self) {
        lock(&self.shared.queue).closed = true;
        self.shared.wake.notify_all();
        if let Some(thread) = self.thread.take() {
            // The last engine handle may be dropped by a completion on the worker itself.
            if thread.thread().id() != std::thread::current().id() {
                let _ = thread.join();
            }
        }
    }
}

fn run(state: &EngineState, shared: &Shared, max_batch: usize, max_delay: Duration) {
    while let Some(batch) = next_batch(state, shared, max_batch, max_delay) {
        let started = Instant::now();
        let count = batch.len();
        let sessions: Vec<SessionId> = batch.iter().map(|(s, _)| *s).collect();
        let (frames, dones): (Vec<(SessionId, Frame)>, Vec<Completion>) =
            batch.into_iter().map(|(session, job)| ((session, job.frame), job.done)).unzip();
        let results = run_contained(state, &sessions, frames);
        if let Some(observer) = lock(&shared.observer).clone() {
            let took = started.elapsed();
            if catch_unwind(AssertUnwindSafe(|| observer(count, took))).is_err() {
                tracing::error!("the batch observer panicked");
            }
        }
        for (done, result) in dones.into_iter().zip(results) {
            complete(done, result);
        }
    }
}

/// Answers the superseded frames, with the queue unlocked meanwhile.
fn answer_superseded<'a>(shared: &'a Shared, mut queue: std::sync::MutexGuard<'a, Queue>) -> std::sync::MutexGuard<'a, Queue> {
    while !queue.superseded.is_empty() {
        let answers = std::mem::take(&mut queue.superseded);
        drop(queue);
        for (done, answer) in answers {
            complete(done, Err(answer));
        }
        queue = lock(&shared.queue);
    }
    queue
}

/// `run_batch` inside the panic boundary: a panic fails every frame of the batch and
/// resets the history of its sessions (it may be half updated).
pub(super) fn run_contained(
    state: &EngineState,
    sessions: &[SessionId],
    frames: Vec<(SessionId, Frame)>,
) -> Vec<Result<FrameResult, EngineError>> {
    let count = frames.len();
    match catch_unwind(AssertUnwindSafe(|| super::batch::run_batch(state, frames))) {
        Ok(results) => results,
        Err(payload) => {
            let message = panic_message(payload.as_ref());
            tracing::error!(panic = %message, frames = count, "inference panicked; the batch's frames fail, the engine goes on");
            state.panics.fetch_add(1, Ordering::Relaxed);
            state.forget_history(sessions);
            (0..count)
                .map(|_| Err(EngineError::Internal(format!("inference panicked ({message}); this frame was not reconstructed"))))
                .collect()
        }
    }
}

/// Waits for and takes the next batch; `None` once closed and drained.
fn next_batch(state: &EngineState, shared: &Shared, max_batch: usize, max_delay: Duration) -> Option<Vec<(SessionId, Job)>> {
    let mut queue = lock(&shared.queue);
    loop {
        queue = answer_superseded(shared, queue);
        if !queue.order.is_empty() || queue.closed {
            break;
        }
        queue = shared.wake.wait(queue).unwrap_or_else(std::sync::PoisonError::into_inner);
    }
    if queue.order.is_empty() {
        return None;
    }
    let oldest = queue.waiting[&queue.order[0]].since;
    loop {
        // Whatever was superseded meanwhile is answered before its successor can run.
        queue = answer_superseded(shared, queue);
        let now = Instant::now();
        let deadline = oldest + max_delay;
        let everyone_waits = queue.order.len() >= state.live_sessions().max(1);
        if queue.order.len() >= max_batch || everyone_waits || now >= deadline || queue.closed {
            break;
        }
        queue = shared.wake.wait_timeout(queue, deadline - now).unwrap_or_else(std::sync::PoisonError::into_inner).0;
    }
    let take = queue.order.len().min(max_batch);
    let sessions: Vec<SessionId> = queue.order.drain(..take).collect();
    Some(sessions.into_iter().map(|s| (s, queue.waiting.remove(&s).expect("queued sessions wait"))).collect())
}

/// Calls a completion; a panic in it is logged, not spread.
fn complete(done: Completion, result: Result<FrameResult, EngineError>) {
    if let Err(payload) = catch_unwind(AssertUnwindSafe(|| done(result))) {
        tracing::error!(panic = %panic_message(payload.as_ref()), "a frame's completion panicked");
    }
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into())
}
