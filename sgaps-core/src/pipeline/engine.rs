//! The engine: the one API the C ABI and the server call. It opens with a composed
//! config, runs sessions, and reconstructs frames of many sessions in batched forward
//! passes on its inference worker ([`super::worker`]).
//!
//! Thread-safe: every method takes `&self`. Each session binds its model at
//! `begin_session` and keeps it until `rebind_session`; a checkpoint replaced on disk
//! serves new sessions.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use super::batch::warm_up;
use super::checkpoints::{CheckpointStore, LoadedCheckpoint, DEFAULT_KEY};
use super::frame::{Frame, FrameError};
use super::lock::lock;
use super::mask_scheduler::MaskScheduler;
use super::sampler::Sampler;
use super::session::{FrameResult, Session, SessionId, SessionParams, SessionStats};
use super::worker::{BatchObserver, Completion, InferenceWorker, Submitted};
use crate::config::{Config, MaskUpdateMode};
use crate::device::{describe, resolve_device, resolve_kind};
use crate::model::{Model, ModelError};

/// How many models stay loaded at once.
const LOADED_MODELS: usize = 4;
/// Sessions with a frame waiting for the inference worker, at most: beyond it
/// `submit_async` answers [`EngineError::Overloaded`] at once.
const QUEUE_CAPACITY: usize = 1024;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    InvalidFrame(#[from] FrameError),
    #[error("unknown session {0} (never started, or already ended)")]
    UnknownSession(SessionId),
    #[error("invalid argument `{field}`: {message}")]
    InvalidArgument { field: String, message: String },
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error("configuration: {0}")]
    Config(String),
    #[error("frame {frame_id} was superseded by frame {by} before it ran (a session's newest waiting frame wins)")]
    Superseded { frame_id: u64, by: u64 },
    #[error("the inference queue is full ({waiting} sessions have a frame waiting); submit again after a result arrives")]
    Overloaded { waiting: usize },
    #[error("internal error: {0}")]
    Internal(String),
}

/// A session as it starts (or is rebound): its parameters and the coordinates to
/// sample first (`uv_coordinates` with `target_frame_id` 0).
#[derive(Debug, Clone)]
pub struct SessionStart {
    pub params: SessionParams,
    pub initial_coordinates: Vec<[f32; 2]>,
}

pub struct Engine {
    state: Arc<EngineState>,
    worker: InferenceWorker,
    device_description: String,
    next_session: AtomicU64,
}

/// A live session, and what checking its frames needs without locking it.
#[derive(Clone)]
struct SessionHandle {
    session: Arc<Mutex<Session>>,
    max_state_dim: usize,
}

/// What the engine and its worker thread share.
pub(crate) struct EngineState {
    pub config: Config,
    pub checkpoints: CheckpointStore,
    sessions: Mutex<HashMap<SessionId, SessionHandle>>,
    /// Panics contained so far (see [`Engine::panics`]).
    pub panics: AtomicU64,
    /// Set by [`Engine::inject_panic`]: the next session's frame panics mid-batch.
    fault: AtomicBool,
}

impl Engine {
    /// Opens an engine on `config`: resolves the device, loads and warms up the default
    /// model (other checkpoints load on the first session that needs them), and starts
    /// the inference worker.
    pub fn open(config: Config) -> Result<Engine, EngineError> {
        let device = resolve_device(config.device).map_err(EngineError::Config)?;
        let kind = resolve_kind(config.precision, device);
        let checkpoints =
            CheckpointStore::new(Path::new(&config.checkpoint_dir), &config.model, device, kind, config.seed, LOADED_MODELS);
        let keys = checkpoints.keys();
        let checkpoint_dir = match checkpoints.dir() {
            Some(dir) => format!("{} ({})", dir.path.display(), dir.origin),
            None => "none (the built-in default only)".into(),
        };
        tracing::info!(device = %describe(device), precision = ?kind, %checkpoint_dir, checkpoints = ?keys, "engine open");
        if !keys.iter().any(|k| k == DEFAULT_KEY) {
            tracing::warn!("no `default` checkpoint: sessions without a trained key run untrained weights");
        }
        // Load and run the default model once now, so the first client's first frames do
        // not wait for the checkpoint and libtorch's first-call set-up.
        let default = checkpoints.get(DEFAULT_KEY)?;
        warm_up(&default);
        tracing::info!(model = %lock(&default.model).config().name, version = %default.version, "default model ready");
        let batching = config.server.batching.clone();
        let state = Arc::new(EngineState {
            config,
            checkpoints,
            sessions: Mutex::default(),
            panics: AtomicU64::new(0),
            fault: AtomicBool::new(false),
        });
        let worker = InferenceWorker::start(
            Arc::clone(&state),
            batching.max_batch_size,
            Duration::from_millis(batching.max_queue_delay_ms),
            QUEUE_CAPACITY,
        );
        Ok(Engine { state, worker, device_description: describe(device), next_session: AtomicU64::new(1) })
    }

    /// Composes `conf_dir` (or the built-in conf) with `overrides` and opens an engine.
    pub fn from_conf(conf_dir: Option<&Path>, overrides: &[String]) -> Result<Engine, EngineError> {
        let config = Config::load(conf_dir, overrides).map_err(|e| EngineError::Config(e.to_string()))?;
        Engine::open(config)
    }

    pub fn config(&self) -> &Config {
        &self.state.config
    }

    pub fn device(&self) -> &str {
        &self.device_description
    }

    pub fn checkpoints(&self) -> &CheckpointStore {
        &self.state.checkpoints
    }

    pub fn active_sessions(&self) -> usize {
        self.state.live_sessions()
    }

    /// Starts a session for a client of `client_resolution` `[width, height]` on the
    /// checkpoint `checkpoint_key` (unknown keys fall back to `default`). The session
    /// keeps that model until [`Engine::rebind_session`].
    pub fn begin_session(&self, checkpoint_key: &str, client_resolution: [usize; 2]) -> Result<SessionStart, EngineError> {
        if client_resolution[0] == 0 || client_resolution[1] == 0 {
            return Err(EngineError::InvalidArgument {
                field: "resolution".into(),
                message: format!("{}x{} is empty", client_resolution[0], client_resolution[1]),
            });
        }
        let session_id = self.next_session.fetch_add(1, Ordering::Relaxed);
        let (session, start) = self.state.bind(checkpoint_key, client_resolution, session_id)?;
        let max_state_dim = start.params.max_state_dim;
        lock(&self.state.sessions).insert(session_id, SessionHandle { session: Arc::new(Mutex::new(session)), max_state_dim });
        let params = &start.params;
        tracing::info!(session_id, key = %params.checkpoint_key, version = %params.model_version, loaded = params.checkpoint_loaded, "session started");
        Ok(start)
    }

    /// Binds `session` again to the checkpoint its key names now (a replaced or newly
    /// trained one; the key it asked for at the start, not the fallback): new
    /// parameters (resolution, model version) and coordinates, which the client must
    /// use from its next frame. Its history starts afresh; its statistics go on.
    pub fn rebind_session(&self, session: SessionId) -> Result<SessionStart, EngineError> {
        let handle = self.state.session(session)?;
        let mut current = lock(&handle);
        let (fresh, start) = self.state.bind(&current.requested_key, current.params.client_resolution, session)?;
        current.rebind(fresh);
        if let Some(handle) = lock(&self.state.sessions).get_mut(&session) {
            handle.max_state_dim = start.params.max_state_dim;
        }
        tracing::info!(session_id = session, key = %start.params.checkpoint_key, version = %start.params.model_version, "session rebound");
        Ok(start)
    }

    /// Queues one frame of `session` on the inference worker and returns at once;
    /// `done` gets the outcome on the worker thread. The frame is checked first: a bad
    /// one is refused here and `done` is not called. See [`super::worker`] for the
    /// rules (a newer frame supersedes a session's waiting one).
    pub fn submit_async(&self, session: SessionId, frame: Frame, done: Completion) -> Result<Submitted, EngineError> {
        self.state.validate(session, &frame)?;
        self.worker.submit(session, frame, done)
    }

    /// Reconstructs one frame of `session` on the inference worker (batched with other
    /// sessions' frames) and waits for it.
    pub fn submit(&self, session: SessionId, frame: Frame) -> Result<FrameResult, EngineError> {
        let (sender, receiver) = mpsc::sync_channel(1);
        self.submit_async(session, frame, Box::new(move |result| drop(sender.send(result))))?;
        receiver.recv().unwrap_or_else(|_| Err(EngineError::Internal("the inference worker dropped the frame".into())))
    }

    /// Reconstructs frames of many sessions on the caller's thread, now, inside the
    /// same panic boundary as the worker: one forward pass per model, one result per
    /// frame in order; a bad frame fails alone. For tools and benchmarks that form
    /// their own batches.
    pub fn submit_batch(&self, frames: Vec<(SessionId, Frame)>) -> Vec<Result<FrameResult, EngineError>> {
        let sessions: Vec<SessionId> = frames.iter().map(|(s, _)| *s).collect();
        super::worker::run_contained(&self.state, &sessions, frames)
    }

    /// Sessions with a frame waiting for the inference worker.
    pub fn queue_depth(&self) -> usize {
        self.worker.depth()
    }

    /// Tells `observer` each worker batch's size and time (for metrics).
    pub fn set_batch_observer(&self, observer: BatchObserver) {
        self.worker.set_observer(observer);
    }

    /// Panics contained by the engine so far (each failed one batch).
    pub fn panics(&self) -> u64 {
        self.state.panics.load(Ordering::Relaxed)
    }

    /// Makes the next reconstruction panic mid-batch, while it holds a session's lock:
    /// for tests of the panic boundary.
    #[doc(hidden)]
    pub fn inject_panic(&self) {
        self.state.fault.store(true, Ordering::SeqCst);
    }

    /// Drops the history of `session` (temporal models): the next frame starts afresh,
    /// as after a scene cut. A no-op for single-frame models.
    pub fn reset_session(&self, session: SessionId) -> Result<(), EngineError> {
        if let Some(memory) = lock(self.state.session(session)?.as_ref()).memory.as_mut() {
            memory.reset();
        }
        Ok(())
    }

    /// The coordinates `session` currently samples at.
    pub fn coordinates(&self, session: SessionId) -> Result<Vec<[f32; 2]>, EngineError> {
        Ok(lock(self.state.session(session)?.as_ref()).coordinates.clone())
    }

    pub fn session_params(&self, session: SessionId) -> Result<SessionParams, EngineError> {
        Ok(lock(self.state.session(session)?.as_ref()).params.clone())
    }

    pub fn session_stats(&self, session: SessionId) -> Result<SessionStats, EngineError> {
        Ok(lock(self.state.session(session)?.as_ref()).stats())
    }

    /// Changes the mask-update mode of a live session.
    pub fn set_mask_update_mode(&self, session: SessionId, mode: MaskUpdateMode) -> Result<(), EngineError> {
        lock(self.state.session(session)?.as_ref()).scheduler.set_mode(mode);
        Ok(())
    }

    /// Ends `session` and returns its statistics. A frame of it still waiting for the
    /// worker fails with [`EngineError::UnknownSession`].
    pub fn end_session(&self, session: SessionId) -> Result<SessionStats, EngineError> {
        let removed = lock(&self.state.sessions).remove(&session);
        let stats = lock(&removed.ok_or(EngineError::UnknownSession(session))?.session).stats();
        tracing::info!(session_id = session, frames = stats.frames_reconstructed, "session ended");
        Ok(stats)
    }

    /// Saves `model` as checkpoint `key`: new sessions of that key use it, live ones
    /// after [`Engine::rebind_session`].
    pub fn register_checkpoint(&self, key: &str, model: &Model) -> Result<(), EngineError> {
        Ok(self.state.checkpoints.register(key, model)?)
    }

    /// Loads the checkpoint directory `dir` (strictly: a broken one is refused here)
    /// and registers it as `key`, like [`Engine::register_checkpoint`].
    pub fn register_checkpoint_dir(&self, key: &str, dir: &Path) -> Result<(), EngineError> {
        let model = Model::load_checkpoint(dir, tch::Device::Cpu)?;
        self.register_checkpoint(key, &model)
    }
}

impl EngineState {
    pub fn live_sessions(&self) -> usize {
        lock(&self.sessions).len()
    }

    fn session(&self, id: SessionId) -> Result<Arc<Mutex<Session>>, EngineError> {
        lock(&self.sessions).get(&id).map(|h| Arc::clone(&h.session)).ok_or(EngineError::UnknownSession(id))
    }

    /// A new session's state on the checkpoint `key` names now: parameters, sampler,
    /// first coordinates.
    fn bind(&self, key: &str, client_resolution: [usize; 2], session_id: SessionId) -> Result<(Session, SessionStart), EngineError> {
        let checkpoint = self.checkpoints.get(key)?;
        let model_config = lock(&checkpoint.model).config().clone();
        let [width, height] = model_config.resolution.map(|d| d as usize);
        let sample_count = self.config.sampling.default_sample_count as usize;
        if sample_count > width * height {
            return Err(EngineError::Config(format!(
                "sampling.default_sample_count ({sample_count}) exceeds the {width}x{height} pixels of model.resolution"
            )));
        }
        let params = SessionParams {
            session_id,
            checkpoint_key: checkpoint.key.clone(),
            checkpoint_loaded: checkpoint.loaded,
            model_version: checkpoint.version.clone(),
            sample_count,
            max_state_dim: model_config.max_state_dim as usize,
            target_fps: self.config.server.target_fps,
            resolution: [width, height],
            client_resolution,
        };
        // Each session draws its own reproducible stream: the config seed and its id.
        let seed = self.config.seed.wrapping_add(session_id);
        let sampler = Sampler::new(&self.config.sampling, width, height, seed)
            .map_err(|e| EngineError::Config(format!("sampling: {e}")))?;
        let initial_coordinates = sampler.initial(sample_count).map_err(|e| EngineError::Config(format!("sampling: {e}")))?;
        let scheduler = MaskScheduler::new(&self.config.mask_update);
        let session = Session::new(params.clone(), sampler, scheduler, initial_coordinates.clone(), checkpoint, key);
        Ok((session, SessionStart { params, initial_coordinates }))
    }

    /// Checks a frame against its session (counts, ranges, state length) without taking
    /// the session's lock, which the worker may hold: a game thread never waits here.
    fn validate(&self, id: SessionId, frame: &Frame) -> Result<Arc<Mutex<Session>>, EngineError> {
        let handle = lock(&self.sessions).get(&id).cloned().ok_or(EngineError::UnknownSession(id))?;
        frame.validate(self.config.sampling.max_sample_count as usize, handle.max_state_dim)?;
        Ok(handle.session)
    }

    /// Validates a frame and returns its session and the model the session is bound to.
    pub(super) fn prepare(&self, id: SessionId, frame: &Frame) -> Result<(Arc<Mutex<Session>>, LoadedCheckpoint), EngineError> {
        let session = self.validate(id, frame)?;
        let checkpoint = lock(&session).checkpoint.clone();
        Ok((session, checkpoint))
    }

    /// After a contained panic: these sessions' histories may be half updated, so they
    /// start afresh.
    pub(super) fn forget_history(&self, sessions: &[SessionId]) {
        for id in sessions {
            if let Ok(session) = self.session(*id) {
                lock(&session).memory = None;
            }
        }
    }

    /// Where [`Engine::inject_panic`] strikes.
    pub(super) fn fault_point(&self) {
        if self.fault.swap(false, Ordering::SeqCst) {
            panic!("injected fault (Engine::inject_panic)");
        }
    }
}
