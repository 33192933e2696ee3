//! Recorded sessions as training frames: cleaned file by file (seed 3.2; a file holds
//! one game, whose state vectors mean the same thing, so its clusters are situations
//! of that game), the last
//! `validation_fraction` of every session held out for validation (later frames, so
//! neighbouring frames never sit on both sides), ground truth resized once.

use std::path::PathBuf;

use image::GrayImage;

use crate::config::Config;
use crate::data::{clean, read_file, CleaningReport, FrameRef, RecordedSession};
use crate::metrics::resized_to;

/// One recorded frame ready for training.
#[derive(Debug, Clone)]
pub struct TrainingFrame {
    /// What the client sent: (u, v, value) with all three in [0, 1].
    pub pixels: Vec<[f32; 3]>,
    /// The state vector, cut to `max_state_dim`.
    pub state: Vec<f32>,
    /// The full-resolution true frame (top row first), when it was recorded.
    pub truth: Option<GrayImage>,
    /// `truth` at the training resolution: the full-frame loss target.
    pub target: Option<GrayImage>,
}

#[derive(Debug)]
pub struct TrainingSet {
    pub train: Vec<TrainingFrame>,
    pub validation: Vec<TrainingFrame>,
    /// Each file's cleaning report, by file stem.
    pub cleaning: Vec<(String, CleaningReport)>,
}

/// Reads every file (our layout or the reference one), cleans each with
/// `config.cleaning`, and splits it with `config.training.validation_fraction`.
pub fn load_training_set(paths: &[PathBuf], config: &Config) -> anyhow::Result<TrainingSet> {
    anyhow::ensure!(!paths.is_empty(), "no training data: name at least one recorded .h5 file");
    let mut set = TrainingSet { train: Vec::new(), validation: Vec::new(), cleaning: Vec::new() };
    for path in paths {
        let sessions = read_file(path)?;
        let cleaned = clean(&sessions, &config.cleaning);
        add_sessions(&mut set, &sessions, &cleaned.kept, config);
        let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        set.cleaning.push((stem, cleaned.report));
    }
    anyhow::ensure!(!set.train.is_empty(), "no training frame is left after cleaning");
    Ok(set)
}

fn add_sessions(set: &mut TrainingSet, sessions: &[RecordedSession], kept: &[FrameRef], config: &Config) {
    let [width, height] = config.training.resolution.map(|d| d as u32);
    let max_state = config.model.max_state_dim as usize;
    let fraction = config.training.validation_fraction.clamp(0.0, 0.9);

    let mut kept_per_session = vec![Vec::new(); sessions.len()];
    for frame in kept {
        kept_per_session[frame.session].push(frame.frame);
    }
    for (session, kept) in sessions.iter().zip(kept_per_session) {
        let held_out = (kept.len() as f64 * fraction).round() as usize;
        let first_validation = kept.len() - held_out;
        for (i, index) in kept.into_iter().enumerate() {
            let recorded = &session.frames[index];
            let frame = TrainingFrame {
                pixels: recorded.pixels.iter().map(|&[u, v, x]| [u, v, x / 255.0]).collect(),
                state: recorded.state.iter().copied().take(max_state).collect(),
                target: recorded.ground_truth.as_ref().map(|t| resized_to(t, width, height)),
                truth: recorded.ground_truth.clone(),
            };
            if frame.pixels.is_empty() && frame.truth.is_none() {
                continue;
            }
            if i < first_validation { set.train.push(frame) } else { set.validation.push(frame) }
        }
    }
}
