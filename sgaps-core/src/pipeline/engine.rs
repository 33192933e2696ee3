//! The engine: the one API the C ABI and the server call. It opens with a composed
//! config, runs sessions, and reconstructs frames of many sessions in one batched
//! forward pass per model.
//!
//! Thread-safe: every method takes `&self`. Sessions are locked one at a time, never
//! during a forward pass; each model is locked for its forward pass.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use image::GrayImage;

use super::checkpoints::{CheckpointStore, LoadedCheckpoint};
use super::frame::{Frame, FrameError};
use super::importance::importance_from_entropy;
use super::mask_scheduler::MaskScheduler;
use super::sampler::Sampler;
use super::session::{FrameResult, Session, SessionId, SessionParams, SessionStats};
use crate::config::{Config, MaskUpdateMode, ModelFamily};
use crate::device::{describe, resolve_device, resolve_kind};
use crate::model::{unit_image, AttentionOutput, FrameInput, Model, ModelError};
use crate::temporal::{SessionMemory, TemporalInputs};

/// How many models stay loaded at once.
const LOADED_MODELS: usize = 4;

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
}

/// A session as it starts: its parameters and the coordinates to sample first
/// (`uv_coordinates` with `target_frame_id` 0).
#[derive(Debug, Clone)]
pub struct SessionStart {
    pub params: SessionParams,
    pub initial_coordinates: Vec<[f32; 2]>,
}

pub struct Engine {
    config: Config,
    checkpoints: CheckpointStore,
    device_description: String,
    sessions: Mutex<HashMap<SessionId, Arc<Mutex<Session>>>>,
    next_session: AtomicU64,
}

impl Engine {
    /// Opens an engine on `config`: resolves the device and prepares the checkpoint
    /// store (models load lazily, on the first session that needs them).
    pub fn open(config: Config) -> Result<Engine, EngineError> {
        let device = resolve_device(config.device).map_err(EngineError::Config)?;
        let kind = resolve_kind(config.precision, device);
        let checkpoints =
            CheckpointStore::new(Path::new(&config.checkpoint_dir), &config.model, device, kind, config.seed, LOADED_MODELS);
        let keys = checkpoints.keys();
        tracing::info!(device = %describe(device), checkpoint_dir = %config.checkpoint_dir, checkpoints = ?keys, "engine open");
        if !keys.iter().any(|k| k == super::checkpoints::DEFAULT_KEY) {
            tracing::warn!("no `default` checkpoint: sessions without a trained key run untrained weights");
        }
        // Load and run the default model once now, so the first client's first frames do
        // not wait for the checkpoint and libtorch's first-call set-up.
        let default = checkpoints.get(super::checkpoints::DEFAULT_KEY)?;
        warm_up(&default);
        tracing::info!(model = %default.model.lock().expect("model lock").config().name, version = %default.version, "default model ready");
        Ok(Engine {
            checkpoints,
            device_description: describe(device),
            config,
            sessions: Mutex::new(HashMap::new()),
            next_session: AtomicU64::new(1),
        })
    }

    /// Composes `conf_dir` (or the built-in conf) with `overrides` and opens an engine.
    pub fn from_conf(conf_dir: Option<&Path>, overrides: &[String]) -> Result<Engine, EngineError> {
        let config = Config::load(conf_dir, overrides).map_err(|e| EngineError::Config(e.to_string()))?;
        Engine::open(config)
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn device(&self) -> &str {
        &self.device_description
    }

    pub fn checkpoints(&self) -> &CheckpointStore {
        &self.checkpoints
    }

    pub fn active_sessions(&self) -> usize {
        self.sessions.lock().expect("sessions lock").len()
    }

    /// Starts a session for a client of `client_resolution` `[width, height]` using the
    /// checkpoint `checkpoint_key` (unknown keys fall back to `default`).
    pub fn begin_session(&self, checkpoint_key: &str, client_resolution: [usize; 2]) -> Result<SessionStart, EngineError> {
        if client_resolution[0] == 0 || client_resolution[1] == 0 {
            return Err(EngineError::InvalidArgument {
                field: "resolution".into(),
                message: format!("{}x{} is empty", client_resolution[0], client_resolution[1]),
            });
        }
        let checkpoint = self.checkpoints.get(checkpoint_key)?;
        let model_config = checkpoint.model.lock().expect("model lock").config().clone();
        let [width, height] = model_config.resolution.map(|d| d as usize);
        let sample_count = self.config.sampling.default_sample_count as usize;
        if sample_count > width * height {
            return Err(EngineError::Config(format!(
                "sampling.default_sample_count ({sample_count}) exceeds the {width}x{height} pixels of model.resolution"
            )));
        }
        let session_id = self.next_session.fetch_add(1, Ordering::Relaxed);
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
        let session = Session::new(
            params.clone(),
            sampler,
            MaskScheduler::new(&self.config.mask_update),
            initial_coordinates.clone(),
        );
        self.sessions.lock().expect("sessions lock").insert(session_id, Arc::new(Mutex::new(session)));
        tracing::info!(session_id, key = %params.checkpoint_key, loaded = params.checkpoint_loaded, "session started");
        Ok(SessionStart { params, initial_coordinates })
    }

    /// Reconstructs one frame of `session`.
    pub fn submit(&self, session: SessionId, frame: Frame) -> Result<FrameResult, EngineError> {
        self.submit_batch(vec![(session, frame)]).pop().expect("one result per frame")
    }

    /// Reconstructs frames of many sessions: one forward pass per model. Returns one
    /// result per frame, in order; a bad frame fails alone.
    pub fn submit_batch(&self, frames: Vec<(SessionId, Frame)>) -> Vec<Result<FrameResult, EngineError>> {
        let mut results: Vec<Option<Result<FrameResult, EngineError>>> = (0..frames.len()).map(|_| None).collect();
        // Validate and group by model; a group is (checkpoint, indices of its frames).
        let mut groups: Vec<(LoadedCheckpoint, Vec<usize>)> = Vec::new();
        let mut sessions = Vec::with_capacity(frames.len());
        for (i, (id, frame)) in frames.iter().enumerate() {
            match self.prepare(*id, frame) {
                Ok((session, checkpoint)) => {
                    sessions.push(Some(session));
                    match groups.iter_mut().find(|(c, _)| Arc::ptr_eq(&c.model, &checkpoint.model)) {
                        Some((_, members)) => members.push(i),
                        None => groups.push((checkpoint, vec![i])),
                    }
                }
                Err(e) => {
                    sessions.push(None);
                    results[i] = Some(Err(e));
                }
            }
        }
        for (checkpoint, members) in groups {
            // A session's history must see its frames one after another: a session with
            // two frames in this batch has the second in a later pass.
            for members in one_frame_per_session(&members, &frames) {
                let started = Instant::now();
                let reconstructed = match checkpoint.family {
                    ModelFamily::Spt => {
                        let detail_weight = self.config.sampling.importance_detail_weight as f32;
                        reconstruct(&checkpoint, members.iter().map(|&i| &frames[i].1), detail_weight)
                    }
                    ModelFamily::Temporal => {
                        let sessions: Vec<&Arc<Mutex<Session>>> = members.iter().map(|&i| sessions[i].as_ref().expect("prepared")).collect();
                        reconstruct_temporal(&checkpoint, &sessions, members.iter().map(|&i| &frames[i].1))
                    }
                };
                let inference_ms = started.elapsed().as_secs_f64() * 1e3;
                match reconstructed {
                    Ok(outputs) => {
                        for (&i, (image, importance)) in members.iter().zip(outputs) {
                            let session = sessions[i].as_ref().expect("prepared");
                            let mut session = session.lock().expect("session lock");
                            let result = session.finish_frame(&frames[i].1, image, importance, members.len(), inference_ms);
                            results[i] = Some(Ok(result));
                        }
                    }
                    Err(e) => {
                        tracing::error!(error = %e, frames = members.len(), "forward pass failed");
                        for &i in &members {
                            results[i] = Some(Err(EngineError::Model(ModelError::Torch(e.to_string()))));
                        }
                    }
                }
            }
        }
        results.into_iter().map(|r| r.expect("every frame answered")).collect()
    }

    /// Drops the history of `session` (temporal models): the next frame starts afresh,
    /// as after a scene cut. A no-op for single-frame models.
    pub fn reset_session(&self, session: SessionId) -> Result<(), EngineError> {
        if let Some(memory) = self.session(session)?.lock().expect("session lock").memory.as_mut() {
            memory.reset();
        }
        Ok(())
    }

    /// The coordinates `session` currently samples at.
    pub fn coordinates(&self, session: SessionId) -> Result<Vec<[f32; 2]>, EngineError> {
        Ok(self.session(session)?.lock().expect("session lock").coordinates.clone())
    }

    pub fn session_params(&self, session: SessionId) -> Result<SessionParams, EngineError> {
        Ok(self.session(session)?.lock().expect("session lock").params.clone())
    }

    pub fn session_stats(&self, session: SessionId) -> Result<SessionStats, EngineError> {
        Ok(self.session(session)?.lock().expect("session lock").stats())
    }

    /// Changes the mask-update mode of a live session.
    pub fn set_mask_update_mode(&self, session: SessionId, mode: MaskUpdateMode) -> Result<(), EngineError> {
        self.session(session)?.lock().expect("session lock").scheduler.set_mode(mode);
        Ok(())
    }

    /// Ends `session` and returns its statistics.
    pub fn end_session(&self, session: SessionId) -> Result<SessionStats, EngineError> {
        let removed = self.sessions.lock().expect("sessions lock").remove(&session);
        let stats = removed.ok_or(EngineError::UnknownSession(session))?.lock().expect("session lock").stats();
        tracing::info!(session_id = session, frames = stats.frames_reconstructed, "session ended");
        Ok(stats)
    }

    /// Saves `model` as checkpoint `key`; new sessions (and live sessions of that key,
    /// from their next frame) use it.
    pub fn register_checkpoint(&self, key: &str, model: &Model) -> Result<(), EngineError> {
        Ok(self.checkpoints.register(key, model)?)
    }

    fn session(&self, id: SessionId) -> Result<Arc<Mutex<Session>>, EngineError> {
        self.sessions.lock().expect("sessions lock").get(&id).cloned().ok_or(EngineError::UnknownSession(id))
    }

    /// Validates a frame and finds the model its session uses now (a checkpoint
    /// replaced on disk is picked up here).
    fn prepare(&self, id: SessionId, frame: &Frame) -> Result<(Arc<Mutex<Session>>, LoadedCheckpoint), EngineError> {
        let session = self.session(id)?;
        let key = {
            let s = session.lock().expect("session lock");
            frame.validate(self.config.sampling.max_sample_count as usize, s.params.max_state_dim)?;
            s.params.checkpoint_key.clone()
        };
        Ok((session, self.checkpoints.get(&key)?))
    }

    /// Loads the checkpoint directory `dir` (strictly: a broken one is refused here)
    /// and registers it as `key`, like [`Engine::register_checkpoint`].
    pub fn register_checkpoint_dir(&self, key: &str, dir: &Path) -> Result<(), EngineError> {
        let model = Model::load_checkpoint(dir, tch::Device::Cpu)?;
        self.register_checkpoint(key, &model)
    }
}

/// One forward pass over `frames` on `checkpoint`'s model: the reconstructions as
/// 8-bit images and the importance maps (entropy blended with `detail_weight` of the
/// reconstruction's detail), at the model's resolution.
fn reconstruct<'a>(
    checkpoint: &LoadedCheckpoint,
    frames: impl Iterator<Item = &'a Frame>,
    detail_weight: f32,
) -> Result<Vec<(GrayImage, super::importance::Importance)>, ModelError> {
    let frames: Vec<&Frame> = frames.collect();
    let pixels: Vec<Vec<[f32; 3]>> = frames.iter().map(|f| f.model_pixels()).collect();
    let inputs: Vec<FrameInput> =
        frames.iter().zip(&pixels).map(|(f, p)| FrameInput { pixels: p, state: &f.state }).collect();
    let model = checkpoint.model.lock().expect("model lock");
    let output = model.infer(&inputs, AttentionOutput::Entropy)?;
    drop(model);
    let (_, _, h, w) = output.reconstruction.size4().expect("[B, 1, H, W]");
    let entropy = output.entropy.as_ref().expect("entropy was asked for");
    let importance = importance_from_entropy(entropy, w as usize, h as usize);
    Ok(output
        .images()
        .into_iter()
        .zip(importance)
        .map(|(image, importance)| {
            let importance = importance.blend_detail(&image, detail_weight);
            (image, importance)
        })
        .collect())
}

/// `members` split into passes in which each session appears once, in frame order.
fn one_frame_per_session(members: &[usize], frames: &[(SessionId, Frame)]) -> Vec<Vec<usize>> {
    let mut passes: Vec<Vec<usize>> = Vec::new();
    for &i in members {
        let session = frames[i].0;
        match passes.iter_mut().find(|pass| pass.iter().all(|&j| frames[j].0 != session)) {
            Some(pass) => pass.push(i),
            None => passes.push(vec![i]),
        }
    }
    passes
}

/// One forward pass of the temporal family: each session's memory takes in its frame
/// and gives the network's planes; after the pass each memory keeps its reconstruction.
/// The importance is the predicted error map.
fn reconstruct_temporal<'a>(
    checkpoint: &LoadedCheckpoint,
    sessions: &[&Arc<Mutex<Session>>],
    frames: impl Iterator<Item = &'a Frame>,
) -> Result<Vec<(GrayImage, super::importance::Importance)>, ModelError> {
    let frames: Vec<&Frame> = frames.collect();
    let model = checkpoint.model.lock().expect("model lock");
    let temporal = model.config().temporal.as_ref().expect("a temporal model has its config");
    let [width, height] = model.config().resolution.map(|d| d as usize);
    let inputs: Vec<TemporalInputs> = sessions
        .iter()
        .zip(&frames)
        .map(|(session, frame)| {
            let mut session = session.lock().expect("session lock");
            // Made at the first frame, and again if the session's model changed resolution.
            let memory = session.memory.get_or_insert_with(|| SessionMemory::new(temporal, width, height));
            if memory.resolution() != (width, height) {
                *memory = SessionMemory::new(temporal, width, height);
            }
            memory.observe(frame.frame_id, frame.timestamp, &frame.raw_pixels()).0
        })
        .collect();
    let input_refs: Vec<&TemporalInputs> = inputs.iter().collect();
    let states: Vec<&[f32]> = frames.iter().map(|f| f.state.as_slice()).collect();
    let output = model.infer_temporal(&input_refs, &states)?;
    drop(model);
    Ok(sessions
        .iter()
        .zip(output.reconstruction_rows().into_iter().zip(output.error_rows()))
        .map(|(session, (values, error))| {
            let image = unit_image(&values, width as u32, height as u32);
            let importance = super::importance::Importance::from_predicted_error(width, height, &error);
            if let Some(memory) = session.lock().expect("session lock").memory.as_mut() {
                memory.remember(values);
            }
            (image, importance)
        })
        .collect())
}

/// One forward pass on empty input, whose result is thrown away.
fn warm_up(checkpoint: &LoadedCheckpoint) {
    let model = checkpoint.model.lock().expect("model lock");
    let [width, height] = model.config().resolution.map(|d| d as usize);
    let outcome = match checkpoint.family {
        ModelFamily::Temporal => model.infer_temporal(&[&TemporalInputs::zeros(width, height)], &[&[]]).map(drop),
        ModelFamily::Spt => model.infer(&[FrameInput { pixels: &[[0.5, 0.5, 0.5]], state: &[] }], AttentionOutput::Entropy).map(drop),
    };
    if let Err(e) = outcome {
        tracing::warn!(error = %e, "warm-up forward pass failed");
    }
}
