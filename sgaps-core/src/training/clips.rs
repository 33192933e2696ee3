//! Recorded sessions as clips for the temporal family: every session's frames with
//! ground truth, in order (cleaning would cut holes into the sequences a temporal model
//! learns from, so it does not apply here). The last `validation_fraction` of each
//! session is held out, as for the single-frame trainer; or, with
//! `training.validation_files`, those files are held out whole and the others train in
//! full (validation on games the model never sees).

use std::path::PathBuf;

use image::GrayImage;

use crate::config::Config;
use crate::data::read_file;
use crate::metrics::resized_to;

/// One recorded frame of a sequence.
#[derive(Debug, Clone)]
pub struct ClipFrame {
    /// The client's native frame, top row first: what samples are taken from.
    pub truth: GrayImage,
    /// `truth` at the model's resolution: what the reconstruction is scored against.
    pub target: GrayImage,
    pub state: Vec<f32>,
    pub timestamp: f64,
}

/// Consecutive frames of one session.
pub type Sequence = Vec<ClipFrame>;

#[derive(Debug, Default)]
pub struct ClipSet {
    pub train: Vec<Sequence>,
    pub validation: Vec<Sequence>,
}

impl ClipSet {
    pub fn train_frames(&self) -> usize {
        self.train.iter().map(Vec::len).sum()
    }

    pub fn validation_frames(&self) -> usize {
        self.validation.iter().map(Vec::len).sum()
    }
}

/// Reads every file and splits each session by time, or by file.
pub fn load_clips(paths: &[PathBuf], config: &Config) -> anyhow::Result<ClipSet> {
    anyhow::ensure!(!paths.is_empty(), "no training data: name at least one recorded .h5 file");
    let held_out_files = &config.training.validation_files;
    let name_of = |path: &PathBuf| path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    for name in held_out_files {
        anyhow::ensure!(
            paths.iter().any(|path| name_of(path) == *name),
            "training.validation_files names `{name}`, which is none of the data files (give the name without .h5)"
        );
    }
    let [width, height] = config.model.resolution.map(|d| d as u32);
    let max_state = config.model.max_state_dim as usize;
    let fraction = config.training.validation_fraction.clamp(0.0, 0.9);
    let mut set = ClipSet::default();
    for path in paths {
        for session in read_file(path)? {
            let frames: Sequence = session
                .frames
                .into_iter()
                .filter_map(|f| {
                    let truth = f.ground_truth?;
                    Some(ClipFrame {
                        target: resized_to(&truth, width, height),
                        truth,
                        state: f.state.into_iter().take(max_state).collect(),
                        timestamp: f.timestamp,
                    })
                })
                .collect();
            let held_out = match held_out_files.is_empty() {
                true => (frames.len() as f64 * fraction).round() as usize,
                false if held_out_files.contains(&name_of(path)) => frames.len(),
                false => 0,
            };
            let mut train = frames;
            let validation = train.split_off(train.len() - held_out);
            for (part, into) in [(train, &mut set.train), (validation, &mut set.validation)] {
                if !part.is_empty() {
                    into.push(part);
                }
            }
        }
    }
    anyhow::ensure!(set.train_frames() > 0, "no recorded frame with ground truth: the temporal model learns from frame_data_debug sessions");
    Ok(set)
}
