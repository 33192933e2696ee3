//! One batch of frames through the models: validation against each session, one
//! forward pass per model (a session with two frames gets a second pass), and each
//! session's post-processing. The inference worker runs this inside its panic
//! boundary; `Engine::submit_batch` does too, on the caller's thread.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use image::GrayImage;

use super::checkpoints::LoadedCheckpoint;
use super::engine::{EngineError, EngineState};
use super::frame::Frame;
use super::importance::{importance_from_entropy, Importance};
use super::lock::lock;
use super::session::{FrameResult, Session, SessionId};
use crate::config::ModelFamily;
use crate::model::{unit_image, AttentionOutput, FrameInput, ModelError};
use crate::temporal::{SessionMemory, TemporalInputs};

/// Reconstructs `frames` (of many sessions): one result per frame, in order; a bad
/// frame fails alone.
pub(super) fn run_batch(state: &EngineState, frames: Vec<(SessionId, Frame)>) -> Vec<Result<FrameResult, EngineError>> {
    let mut results: Vec<Option<Result<FrameResult, EngineError>>> = (0..frames.len()).map(|_| None).collect();
    // Validate and group by model; a group is (checkpoint, indices of its frames).
    let mut groups: Vec<(LoadedCheckpoint, Vec<usize>)> = Vec::new();
    let mut sessions = Vec::with_capacity(frames.len());
    for (i, (id, frame)) in frames.iter().enumerate() {
        match state.prepare(*id, frame) {
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
            let member_sessions: Vec<&Arc<Mutex<Session>>> =
                members.iter().map(|&i| sessions[i].as_ref().expect("prepared")).collect();
            let member_frames = members.iter().map(|&i| &frames[i].1);
            let reconstructed = match checkpoint.family {
                ModelFamily::Spt => {
                    state.fault_point();
                    let detail_weight = state.config.sampling.importance_detail_weight as f32;
                    reconstruct(&checkpoint, member_frames, detail_weight)
                }
                ModelFamily::Temporal => reconstruct_temporal(state, &checkpoint, &member_sessions, member_frames),
            };
            let inference_ms = started.elapsed().as_secs_f64() * 1e3;
            match reconstructed {
                Ok(outputs) => {
                    for ((&i, session), (image, importance)) in members.iter().zip(&member_sessions).zip(outputs) {
                        let result = lock(session).finish_frame(&frames[i].1, image, importance, members.len(), inference_ms);
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

/// One forward pass over `frames` on `checkpoint`'s model: the reconstructions as
/// 8-bit images and the importance maps (entropy blended with `detail_weight` of the
/// reconstruction's detail), at the model's resolution.
fn reconstruct<'a>(
    checkpoint: &LoadedCheckpoint,
    frames: impl Iterator<Item = &'a Frame>,
    detail_weight: f32,
) -> Result<Vec<(GrayImage, Importance)>, ModelError> {
    let frames: Vec<&Frame> = frames.collect();
    let pixels: Vec<Vec<[f32; 3]>> = frames.iter().map(|f| f.model_pixels()).collect();
    let inputs: Vec<FrameInput> =
        frames.iter().zip(&pixels).map(|(f, p)| FrameInput { pixels: p, state: &f.state }).collect();
    let output = lock(&checkpoint.model).infer(&inputs, AttentionOutput::Entropy)?;
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
/// The importance is the predicted error map. The memories' updates run on two
/// threads: on a small CPU they are a tenth of a frame's time.
fn reconstruct_temporal<'a>(
    state: &EngineState,
    checkpoint: &LoadedCheckpoint,
    sessions: &[&Arc<Mutex<Session>>],
    frames: impl Iterator<Item = &'a Frame>,
) -> Result<Vec<(GrayImage, Importance)>, ModelError> {
    let frames: Vec<&Frame> = frames.collect();
    let model = lock(&checkpoint.model);
    let temporal = model.config().temporal.as_ref().expect("a temporal model has its config");
    let [width, height] = model.config().resolution.map(|d| d as usize);
    let observe = |session: &Arc<Mutex<Session>>, frame: &Frame| {
        let mut session = lock(session);
        state.fault_point();
        // Made at the first frame, and again if the session's model changed resolution or
        // memory rules (a rebind).
        let memory = session.memory.get_or_insert_with(|| SessionMemory::new(temporal, width, height));
        if memory.resolution() != (width, height) || memory.config() != temporal {
            *memory = SessionMemory::new(temporal, width, height);
        }
        memory.observe(frame.frame_id, frame.timestamp, &frame.raw_pixels()).0
    };
    let inputs = in_two_halves(sessions, &frames, observe);
    let input_refs: Vec<&TemporalInputs> = inputs.iter().collect();
    let states: Vec<&[f32]> = frames.iter().map(|f| f.state.as_slice()).collect();
    let output = model.infer_temporal(&input_refs, &states)?;
    drop(model);
    Ok(sessions
        .iter()
        .zip(output.reconstruction_rows().into_iter().zip(output.error_rows()))
        .map(|(session, (values, error))| {
            let image = unit_image(&values, width as u32, height as u32);
            let importance = Importance::from_predicted_error(width, height, &error);
            if let Some(memory) = lock(session).memory.as_mut() {
                memory.remember(values);
            }
            (image, importance)
        })
        .collect())
}

/// `f` over the pairs of `sessions` and `frames`, the second half on a scoped thread.
fn in_two_halves<T: Send>(
    sessions: &[&Arc<Mutex<Session>>],
    frames: &[&Frame],
    f: impl Fn(&Arc<Mutex<Session>>, &Frame) -> T + Sync,
) -> Vec<T> {
    let split = sessions.len().div_ceil(2);
    let run = |range: std::ops::Range<usize>| range.map(|i| f(sessions[i], frames[i])).collect::<Vec<T>>();
    if sessions.len() < 4 {
        return run(0..sessions.len());
    }
    std::thread::scope(|scope| {
        let second = scope.spawn(|| run(split..sessions.len()));
        let mut first = run(0..split);
        // A panic on the second half goes on in this thread, inside the caller's boundary.
        first.extend(second.join().unwrap_or_else(|payload| std::panic::resume_unwind(payload)));
        first
    })
}

/// One forward pass on empty input, whose result is thrown away.
pub(super) fn warm_up(checkpoint: &LoadedCheckpoint) {
    let model = lock(&checkpoint.model);
    let [width, height] = model.config().resolution.map(|d| d as usize);
    let outcome = match checkpoint.family {
        ModelFamily::Temporal => model.infer_temporal(&[&TemporalInputs::zeros(width, height)], &[&[]]).map(drop),
        ModelFamily::Spt => model.infer(&[FrameInput { pixels: &[[0.5, 0.5, 0.5]], state: &[] }], AttentionOutput::Entropy).map(drop),
    };
    if let Err(e) = outcome {
        tracing::warn!(error = %e, "warm-up forward pass failed");
    }
}
