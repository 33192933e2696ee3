//! Scores reconstruction on recorded clips with ground truth, the way a client would
//! drive it, next to classical methods on the same frames. Each method gets the
//! sampling pattern it does best with:
//!
//! - the model in the closed loop: the engine's coordinates, swapped at their target
//!   frame (importance-driven);
//! - the model in the open loop: the plain space-time stratified pattern, renewed every
//!   frame (no importance);
//! - the classical methods on that same space-time pattern, which suits them best (a
//!   fixed grid gives one frame the same coverage and history none): nearest-neighbour
//!   and Delaunay-linear interpolation of the frame's own samples, and linear
//!   interpolation of the union of the last `union_frames` frames' samples, with and
//!   without scroll compensation;
//! - the all-pixels ceiling of a single frame: every pixel of the reconstruction grid
//!   point-sampled once on the native frame.
//!
//! The truth is the native frame resized to the model's resolution with a box filter.

use image::{GrayImage, Rgb, RgbImage};
use serde::Serialize;

use crate::baselines::{linear_delaunay, nearest_neighbour};
use crate::config::SamplingConfig;
use crate::metrics::{resized_to, FrameQuality};
use crate::pipeline::importance::ImportanceMap;
use crate::pipeline::sampler::Sampler;
use crate::pipeline::{Engine, EngineError, Frame, Pixel};
use crate::temporal::UnionBaseline;
use crate::visualize::{gray_to_rgb, importance_heatmap};

/// What the classical temporal baselines use.
#[derive(Debug, Clone, Copy)]
pub struct BaselineOptions {
    /// Frames in the union.
    pub union_frames: usize,
    /// Scroll search radius of the compensated union, in pixels.
    pub max_shift: i32,
}

impl Default for BaselineOptions {
    fn default() -> Self {
        BaselineOptions { union_frames: 8, max_shift: 6 }
    }
}

/// Mean quality over a clip's frames of every method.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ClipScores {
    pub frames: usize,
    /// The model, closed loop.
    pub model: Mean,
    /// The model on the plain space-time pattern.
    pub open: Mean,
    pub nearest: Mean,
    pub linear: Mean,
    pub union: Mean,
    pub union_scroll: Mean,
    pub ceiling: Mean,
}

impl ClipScores {
    /// The methods in report order, with their names.
    pub fn methods(&self) -> [(&'static str, &Mean); 7] {
        [
            ("model closed loop", &self.model),
            ("model space-time", &self.open),
            ("nearest", &self.nearest),
            ("linear", &self.linear),
            ("union", &self.union),
            ("union + scroll", &self.union_scroll),
            ("all-pixels ceiling", &self.ceiling),
        ]
    }

    fn methods_mut(&mut self) -> [&mut Mean; 7] {
        [
            &mut self.model,
            &mut self.open,
            &mut self.nearest,
            &mut self.linear,
            &mut self.union,
            &mut self.union_scroll,
            &mut self.ceiling,
        ]
    }

    /// Frame-weighted mean of `self` and `other`.
    pub fn accumulate(&mut self, other: &ClipScores) {
        let n = (self.frames + other.frames).max(1) as f64;
        let (a, b) = (self.frames as f64 / n, other.frames as f64 / n);
        for (mine, theirs) in self.methods_mut().into_iter().zip(other.methods().map(|(_, m)| m.clone())) {
            mine.psnr = mine.psnr * a + theirs.psnr * b;
            mine.ssim = mine.ssim * a + theirs.ssim * b;
            mine.mae = mine.mae * a + theirs.mae * b;
        }
        self.frames += other.frames;
    }
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

/// The last frame's pictures (closed loop), for a report.
pub struct ClipPictures {
    pub truth: GrayImage,
    pub reconstruction: GrayImage,
    pub importance: ImportanceMap,
    pub samples: Vec<[f32; 2]>,
}

/// The closed loop over time: truth, reconstruction, error and sample age per column.
pub struct ClipStrip {
    pub columns: Vec<[RgbImage; 4]>,
}

/// Columns of the strip over a clip.
const STRIP_COLUMNS: usize = 8;
/// Sample ages at and above this many frames look the same in the strip.
const STRIP_AGE_FRAMES: f32 = 16.0;

/// Streams `frames` (full-resolution ground truth, top row first) through two new
/// sessions of `engine` under `checkpoint_key` (closed and open loop), sending the
/// recorded state vectors (`states`: one per frame, or empty for none), and scores every
/// method of the module docs on each frame.
pub fn evaluate_clip(
    engine: &Engine,
    checkpoint_key: &str,
    frames: &[GrayImage],
    states: &[Vec<f32>],
    baselines: BaselineOptions,
) -> Result<(ClipScores, Option<ClipPictures>, ClipStrip), EngineError> {
    let mut strip = ClipStrip { columns: Vec::new() };
    let Some(first) = frames.first() else { return Ok((ClipScores::default(), None, strip)) };
    let (w, h) = first.dimensions();
    let closed = engine.begin_session(checkpoint_key, [w as usize, h as usize])?;
    let open = engine.begin_session(checkpoint_key, [w as usize, h as usize])?;
    let [rw, rh] = closed.params.resolution.map(|d| d as u32);
    let count = closed.params.sample_count;
    let (closed_id, open_id) = (closed.params.session_id, open.params.session_id);
    let mut pattern = space_time_sampler(&engine.config().sampling, rw as usize, rh as usize, engine.config().seed)?;
    let mut coordinates = closed.initial_coordinates;
    let mut next: Option<(u64, Vec<[f32; 2]>)> = None;
    let mut union = UnionBaseline::new(baselines.union_frames, None, rw, rh);
    let mut union_scroll = UnionBaseline::new(baselines.union_frames, Some(baselines.max_shift), rw, rh);
    let all_pixels: Vec<[f32; 2]> =
        (0..rh).flat_map(|y| (0..rw).map(move |x| [(x as f32 + 0.5) / rw as f32, (y as f32 + 0.5) / rh as f32])).collect();
    let mut age = vec![f32::INFINITY; (rw * rh) as usize];
    // The strip's moments: evenly spread from the first frame to the last.
    let columns = STRIP_COLUMNS.min(frames.len());
    let moments: Vec<usize> = (0..columns).map(|k| (k * (frames.len() - 1)).div_ceil(columns.max(2) - 1)).collect();
    let mut scores = ClipScores::default();
    let mut pictures = None;
    let metric_error = |e: crate::metrics::MetricsError| EngineError::Config(format!("metrics: {e}"));
    for (i, truth) in frames.iter().enumerate() {
        let frame_id = i as u64;
        if next.as_ref().is_some_and(|(target, _)| *target <= frame_id) {
            coordinates = next.take().expect("checked").1;
        }
        let state = states.get(i).cloned().unwrap_or_default();
        let pixels = Pixel::sample(truth, &coordinates);
        let result = engine.submit(closed_id, Frame { frame_id, pixels, state: state.clone(), ..Default::default() })?;
        if let Some(update) = &result.mask_update {
            next = Some((update.target_frame_id, update.coordinates.clone()));
        }
        let pattern_coordinates = pattern.next_mask(None, count).map_err(|e| EngineError::Config(format!("sampling: {e}")))?;
        let pattern_pixels = Pixel::sample(truth, &pattern_coordinates);
        let samples: Vec<[f32; 3]> = pattern_pixels.iter().map(|p| [p.u, p.v, p.value]).collect();
        let open_result = engine.submit(open_id, Frame { frame_id, pixels: pattern_pixels, state, ..Default::default() })?;

        let small_truth = resized_to(truth, rw, rh);
        let n = i + 1;
        let quality = |image: &GrayImage| FrameQuality::between(&small_truth, image).map_err(metric_error);
        let ceiling = GrayImage::from_raw(rw, rh, Pixel::sample(truth, &all_pixels).iter().map(|p| p.value as u8).collect())
            .expect("one value per pixel");
        scores.model.add(&quality(&result.reconstruction)?, n);
        scores.open.add(&quality(&open_result.reconstruction)?, n);
        scores.nearest.add(&quality(&nearest_neighbour(&samples, rw, rh))?, n);
        scores.linear.add(&quality(&linear_delaunay(&samples, rw, rh))?, n);
        scores.union.add(&quality(&union.reconstruct(&samples))?, n);
        scores.union_scroll.add(&quality(&union_scroll.reconstruct(&samples))?, n);
        scores.ceiling.add(&quality(&ceiling)?, n);
        scores.frames = n;

        age.iter_mut().for_each(|a| *a += 1.0);
        for &[u, v] in &coordinates {
            let x = ((u * rw as f32) as u32).min(rw - 1);
            let y = ((v * rh as f32) as u32).min(rh - 1);
            age[(y * rw + x) as usize] = 0.0;
        }
        if moments.contains(&i) {
            strip.columns.push(strip_column(&small_truth, &result.reconstruction, &age)?);
        }
        if n == frames.len() {
            pictures = Some(ClipPictures {
                truth: small_truth,
                reconstruction: result.reconstruction,
                importance: result.importance.map,
                samples: coordinates.clone(),
            });
        }
    }
    engine.end_session(closed_id)?;
    engine.end_session(open_id)?;
    Ok((scores, pictures, strip))
}

/// The plain space-time stratified pattern (no importance share) at `width x height`.
fn space_time_sampler(config: &SamplingConfig, width: usize, height: usize, seed: u64) -> Result<Sampler, EngineError> {
    Sampler::new(&config.plain_space_time(), width, height, seed).map_err(|e| EngineError::Config(format!("sampling: {e}")))
}

fn strip_column(truth: &GrayImage, reconstruction: &GrayImage, age: &[f32]) -> Result<[RgbImage; 4], EngineError> {
    let (w, h) = (truth.width() as usize, truth.height() as usize);
    let heat = |values: Vec<f32>| {
        importance_heatmap(&ImportanceMap { width: w, height: h, values }).map_err(|e| EngineError::Config(e.to_string()))
    };
    // Error: 0 dark, 64 grey levels or more bright. Age: just sampled bright, old dark.
    let error = truth.as_raw().iter().zip(reconstruction.as_raw()).map(|(&a, &b)| (a as f32 - b as f32).abs() / 64.0).collect();
    let freshness = age.iter().map(|&a| 1.0 - a.min(STRIP_AGE_FRAMES) / STRIP_AGE_FRAMES).collect();
    Ok([gray_to_rgb(truth), gray_to_rgb(reconstruction), heat(error)?, heat(freshness)?])
}

impl ClipStrip {
    /// Rows truth, reconstruction, error, sample age; one column per sampled moment,
    /// each panel `upscale` times larger.
    pub fn picture(&self, upscale: u32) -> Option<RgbImage> {
        let first = &self.columns.first()?[0];
        let (w, h) = (first.width() * upscale, first.height() * upscale);
        let gap = 2;
        let columns = self.columns.len() as u32;
        let mut out = RgbImage::from_pixel(columns * (w + gap) - gap, 4 * (h + gap) - gap, Rgb([255, 255, 255]));
        for (c, column) in self.columns.iter().enumerate() {
            for (r, panel) in column.iter().enumerate() {
                let big = image::imageops::resize(panel, w, h, image::imageops::FilterType::Nearest);
                image::imageops::replace(&mut out, &big, (c as u32 * (w + gap)) as i64, (r as u32 * (h + gap)) as i64);
            }
        }
        Some(out)
    }
}
