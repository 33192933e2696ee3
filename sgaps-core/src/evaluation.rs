//! Scores reconstruction on recorded clips with ground truth, the way a client would
//! drive it: the engine picks coordinates (closed loop) or a fixed grid is kept (open
//! loop), the true frame is sampled there, and the reconstruction is compared with the
//! true frame resized to the model's resolution, next to the classical baselines
//! computed from the very same samples.

use image::GrayImage;
use serde::Serialize;

use crate::baselines::{linear_delaunay, nearest_neighbour};
use crate::metrics::{resized_to, FrameQuality};
use crate::pipeline::{Engine, EngineError, Frame, Pixel};

/// Who picks the sample positions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Loop {
    /// The engine's coordinates, swapped at their target frame (adaptive sampling).
    Closed,
    /// The session's initial coordinates (the uniform grid) for the whole clip.
    Open,
}

/// Mean quality over a clip's frames of the model and of the baselines.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ClipScores {
    pub frames: usize,
    pub model: Mean,
    pub nearest: Mean,
    pub linear: Mean,
}

/// Means of PSNR (capped at 100 dB), SSIM and MAE.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Mean {
    pub psnr: f64,
    pub ssim: f64,
    pub mae: f64,
}

impl Mean {
    fn add(&mut self, q: &FrameQuality, n: usize) {
        // Running mean over n frames so far (n counts this one).
        let w = 1.0 / n as f64;
        self.psnr += (q.psnr.min(100.0) - self.psnr) * w;
        self.ssim += (q.ssim - self.ssim) * w;
        self.mae += (q.mae - self.mae) * w;
    }
}

/// The last frame's pictures, for a report.
pub struct ClipPictures {
    pub truth: GrayImage,
    pub reconstruction: GrayImage,
    pub importance: crate::pipeline::importance::ImportanceMap,
    pub samples: Vec<[f32; 2]>,
}

/// Streams `frames` (full-resolution ground truth, top row first) through a new session
/// of `engine` under `checkpoint_key`, sampling each true frame where `mode` says and
/// sending the recorded state vectors (`states`: one per frame, or empty for none).
pub fn evaluate_clip(
    engine: &Engine,
    checkpoint_key: &str,
    frames: &[GrayImage],
    states: &[Vec<f32>],
    mode: Loop,
) -> Result<(ClipScores, Option<ClipPictures>), EngineError> {
    let Some(first) = frames.first() else { return Ok((ClipScores::default(), None)) };
    let (w, h) = first.dimensions();
    let start = engine.begin_session(checkpoint_key, [w as usize, h as usize])?;
    let [rw, rh] = start.params.resolution.map(|d| d as u32);
    let session = start.params.session_id;
    let mut coordinates = start.initial_coordinates;
    let mut next: Option<(u64, Vec<[f32; 2]>)> = None;
    let mut scores = ClipScores::default();
    let mut pictures = None;
    for (i, truth) in frames.iter().enumerate() {
        let frame_id = i as u64;
        if let Some((target, _)) = &next {
            if *target <= frame_id {
                coordinates = next.take().expect("checked").1;
            }
        }
        let pixels = Pixel::sample(truth, &coordinates);
        let samples: Vec<[f32; 3]> = pixels.iter().map(|p| [p.u, p.v, p.value]).collect();
        let state = states.get(i).cloned().unwrap_or_default();
        let result = engine.submit(session, Frame { frame_id, pixels, state, ..Default::default() })?;
        if mode == Loop::Closed {
            if let Some(update) = &result.mask_update {
                next = Some((update.target_frame_id, update.coordinates.clone()));
            }
        }
        let small_truth = resized_to(truth, rw, rh);
        let n = i + 1;
        let quality = |image: &GrayImage| {
            FrameQuality::between(&small_truth, image).map_err(|e| EngineError::Config(format!("metrics: {e}")))
        };
        scores.model.add(&quality(&result.reconstruction)?, n);
        scores.nearest.add(&quality(&nearest_neighbour(&samples, rw, rh))?, n);
        scores.linear.add(&quality(&linear_delaunay(&samples, rw, rh))?, n);
        scores.frames = n;
        if n == frames.len() {
            pictures = Some(ClipPictures {
                truth: small_truth,
                reconstruction: result.reconstruction,
                importance: result.importance.map,
                samples: coordinates.clone(),
            });
        }
    }
    engine.end_session(session)?;
    Ok((scores, pictures))
}
