//! Training of the temporal family on clips: short rollouts through the session
//! memory, each frame sampled on the true frame where the sampler says (space-time
//! stratified; in closed-loop phases partly where the model's own predicted error is
//! high), the model's own previous output fed back (detached) as the next frame's
//! history. The sample density varies between clips over `training.sample_counts`.
//!
//! Loss per frame: L1 to the target, an L1 term on its horizontal and vertical
//! gradients (edges matter to the eye and to PSNR), the predicted-error head's L1 to
//! the actual error, and (`training.psnr_loss_weight`) the mean over frames of ln MSE,
//! which is minus the PSNR the evaluation reports, up to scale. The optimiser's moments
//! are saved with the last checkpoint, and every epoch draws from its own seeded stream,
//! so `--resume` equals an uninterrupted run.

use std::path::Path;
use std::time::Instant;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tch::{Kind, Tensor};

use super::adamw::AdamW;
use super::augment::Augmentation;
use super::clips::{load_clips, ClipFrame, Sequence};
use super::schedule::cosine_learning_rate;
use super::trainer::{TrainerState, STATE_FILE};
use super::{Progress, TrainOptions, TrainSummary};
use crate::config::{Config, SamplingConfig, SamplingStrategy};
use crate::device::resolve_device;
use crate::metrics::FrameQuality;
use crate::model::{temporal_batch, unit_image, Model};
use crate::pipeline::checkpoints::CheckpointStore;
use crate::pipeline::importance::Importance;
use crate::pipeline::sampler::Sampler;
use crate::pipeline::Pixel;
use crate::temporal::{Plane, SessionMemory, TemporalInputs};
use crate::tensorboard::SummaryWriter;
use crate::visualize::{gray_to_rgb, importance_heatmap, side_by_side};

const OPTIMIZER_FILE: &str = "optimizer.safetensors";
const GRADIENT_LOSS_WEIGHT: f64 = 0.5;
const ERROR_LOSS_WEIGHT: f64 = 0.1;
/// Keeps ln MSE finite on a perfect frame: 1e-5 is 50 dB.
const PSNR_LOSS_FLOOR: f64 = 1e-5;
/// Share of clips trained without their state vector, so clients that send none lose
/// nothing.
const STATE_DROPOUT: f64 = 0.3;
/// Validation: this many frames from the start of every held-out sequence.
const VALIDATION_FRAMES_PER_SEQUENCE: usize = 24;

pub fn train_temporal(config: &Config, options: &TrainOptions, on_progress: &mut dyn FnMut(&Progress)) -> anyhow::Result<TrainSummary> {
    let t = &config.training;
    anyhow::ensure!(t.best_metric == "val_psnr", "the temporal trainer selects by val_psnr, not `{}`", t.best_metric);
    anyhow::ensure!(t.clip_frames > 0, "training.clip_frames must be positive");
    let device = resolve_device(config.device).map_err(anyhow::Error::msg)?;
    std::fs::create_dir_all(&options.run_dir)?;
    let clips = load_clips(&options.data, config)?;
    tracing::info!(train = clips.train_frames(), validation = clips.validation_frames(), "clips loaded");

    let last_dir = options.run_dir.join("last");
    let mut state = TrainerState { phase: t.phase, epochs_done: 0, step: 0, best_metric: None, best_epoch: 0 };
    let mut optimizer = AdamW::new(t.weight_decay);
    let model = if options.resume && last_dir.join(STATE_FILE).exists() {
        state = serde_json::from_str(&std::fs::read_to_string(last_dir.join(STATE_FILE))?)?;
        anyhow::ensure!(state.phase == t.phase, "{} holds phase {}, not phase {}", last_dir.display(), state.phase, t.phase);
        tracing::info!(epochs_done = state.epochs_done, step = state.step, "resuming");
        optimizer.load(&last_dir.join(OPTIMIZER_FILE), state.step as i64, device)?;
        Model::load_checkpoint(&last_dir, device)?
    } else if let Some(init) = &options.init {
        // The run's config defines the model, its session-memory rules included (a later
        // phase may change how inputs are made); --init gives the weights.
        Model::from_weights(&config.model, &init.join(crate::model::WEIGHTS_FILE), device)?
    } else {
        Model::new_seeded(&config.model, device, config.seed as i64)?
    };
    anyhow::ensure!(model.temporal().is_some(), "the temporal trainer takes a model of family temporal");
    let store = CheckpointStore::new(Path::new(&config.checkpoint_dir), model.config(), device, Kind::Float, config.seed, 1);
    let mut events = SummaryWriter::create(&options.run_dir)?;

    let batch = t.batch_size.max(1) as usize;
    let frames_per_step = batch * t.clip_frames as usize;
    let steps_per_epoch = (t.frames_per_epoch as usize).max(frames_per_step) / frames_per_step;
    // Optimisation steps: one per trained frame of a clip.
    let total_steps = steps_per_epoch * t.epochs as usize * t.clip_frames as usize;
    // Clip starts per warm-up length: starts[w] leaves room for w + clip_frames frames.
    let starts: Vec<Vec<(usize, usize)>> =
        (0..=t.clip_warmup_frames).map(|w| clip_starts(&clips.train, (w + t.clip_frames) as usize)).collect();
    anyhow::ensure!(!starts[0].is_empty(), "no recorded session is long enough for a clip of {} frames", t.clip_frames);
    let mut summary = TrainSummary {
        train_frames: clips.train_frames(),
        validation_frames: clips.validation_frames(),
        epochs_run: 0,
        best_epoch: state.best_epoch,
        best_metric: state.best_metric.unwrap_or(f64::NAN),
        linear_psnr: f64::NAN,
        checkpoint: store.writable_dir()?.join(&options.checkpoint_key),
    };

    for epoch in state.epochs_done..t.epochs {
        let mut rng = ChaCha8Rng::seed_from_u64(config.seed ^ (u64::from(epoch) << 32) ^ u64::from(t.phase));
        let started = Instant::now();
        let (mut frames_seen, mut loss_sum, mut losses) = (0usize, 0.0, 0usize);
        for step_in_epoch in 0..steps_per_epoch {
            // A random warm-up, as long as the sessions allow: the model meets session
            // starts and long histories alike.
            let drawn = rng.random_range(0..=t.clip_warmup_frames) as usize;
            let warmup = (0..=drawn).rev().find(|&w| !starts[w].is_empty()).unwrap_or(0);
            let candidates = &starts[warmup];
            let chosen: Vec<(usize, usize)> = (0..batch).map(|_| candidates[rng.random_range(0..candidates.len())]).collect();
            let mut rollout = Rollout::new(&clips.train, &chosen, config, &mut rng)?;
            rollout.warmup = warmup;
            for _ in 0..rollout.warmup {
                tch::no_grad(|| rollout.advance(&model, None));
            }
            let mut clip_loss = 0.0;
            for _ in 0..t.clip_frames {
                let learning_rate = cosine_learning_rate(t.learning_rate, state.step, total_steps);
                let loss = rollout.advance(&model, Some((&mut optimizer, learning_rate, t.grad_clip_norm)));
                anyhow::ensure!(loss.is_finite(), "the loss became {loss} at step {}", state.step);
                clip_loss += loss;
                state.step += 1;
            }
            frames_seen += frames_per_step;
            loss_sum += clip_loss;
            losses += t.clip_frames as usize;
            let loss = clip_loss / t.clip_frames as f64;
            let learning_rate = cosine_learning_rate(t.learning_rate, state.step, total_steps);
            let frames_per_second = frames_seen as f64 / started.elapsed().as_secs_f64().max(1e-9);
            events.add_scalar("train/loss", loss as f32, state.step as i64)?;
            events.add_scalar("train/learning_rate", learning_rate as f32, state.step as i64)?;
            events.add_scalar("train/frames_per_second", frames_per_second as f32, state.step as i64)?;
            if step_in_epoch % 10 == 9 {
                events.flush()?;
            }
            on_progress(&Progress {
                epoch: epoch + 1,
                epochs: t.epochs,
                step_in_epoch: step_in_epoch + 1,
                steps_in_epoch: steps_per_epoch,
                loss,
                learning_rate,
                frames_per_second,
            });
        }

        let validation = validate(&model, &clips.validation, config)?;
        let step = state.step as i64;
        events.add_scalar("val/psnr", validation.psnr as f32, step)?;
        events.add_scalar("val/ssim", validation.ssim as f32, step)?;
        events.add_scalar("val/interpolation_psnr", validation.current_psnr as f32, step)?;
        events.add_scalar("val/union_psnr", validation.union_psnr as f32, step)?;
        events.add_scalar("val/canvas_psnr", validation.canvas_psnr as f32, step)?;
        events.add_scalar("val/warped_previous_psnr", validation.previous_psnr as f32, step)?;
        if let Some(picture) = &validation.picture {
            events.add_image("val/truth_reconstruction_importance", picture, step)?;
        }
        events.flush()?;
        summary.linear_psnr = validation.current_psnr;
        let improved = state.best_metric.is_none_or(|best| validation.psnr > best);
        tracing::info!(
            epoch = epoch + 1,
            train_loss = loss_sum / losses.max(1) as f64,
            val_psnr = validation.psnr,
            val_ssim = validation.ssim,
            interpolation_psnr = validation.current_psnr,
            union_psnr = validation.union_psnr,
            canvas_psnr = validation.canvas_psnr,
            improved,
            "epoch done"
        );
        if improved {
            state.best_metric = Some(validation.psnr);
            state.best_epoch = epoch + 1;
            store.register(&options.checkpoint_key, &model)?;
        }
        state.epochs_done = epoch + 1;
        model.save_checkpoint(&last_dir)?;
        optimizer.save(&last_dir.join(OPTIMIZER_FILE))?;
        std::fs::write(last_dir.join(STATE_FILE), serde_json::to_string_pretty(&state)?)?;
        summary.epochs_run += 1;
    }
    summary.best_epoch = state.best_epoch;
    summary.best_metric = state.best_metric.unwrap_or(f64::NAN);
    Ok(summary)
}

/// Every (sequence, first frame) with `length` frames after it.
fn clip_starts(sequences: &[Sequence], length: usize) -> Vec<(usize, usize)> {
    sequences
        .iter()
        .enumerate()
        .flat_map(|(s, frames)| (0..(frames.len() + 1).saturating_sub(length)).map(move |start| (s, start)))
        .collect()
}

/// Several clips stepped together: per clip its memory, sampler and position.
struct Rollout<'a> {
    clips: Vec<ClipState<'a>>,
    /// Frames to run without training first.
    warmup: usize,
    state_dropped: Vec<bool>,
    config: &'a Config,
}

struct ClipState<'a> {
    frames: &'a [ClipFrame],
    next: usize,
    memory: SessionMemory,
    sampler: Sampler,
    count: usize,
    coordinates: Vec<[f32; 2]>,
    augmentation: Augmentation,
}

/// What one frame of a rollout gave, for validation and pictures.
struct Step {
    reconstruction: Vec<Vec<f32>>,
    inputs: Vec<TemporalInputs>,
    importance: Vec<Importance>,
    loss: f64,
}

impl<'a> Rollout<'a> {
    fn new(sequences: &'a [Sequence], chosen: &[(usize, usize)], config: &'a Config, rng: &mut ChaCha8Rng) -> anyhow::Result<Self> {
        let [w, h] = config.model.resolution.map(|d| d as usize);
        let temporal = config.model.temporal.as_ref().expect("temporal config");
        let [low, high] = config.training.sample_counts.map(|c| c as usize);
        let sampling = match config.training.closed_loop {
            true => SamplingConfig { strategy: SamplingStrategy::SpaceTime, ..config.sampling.clone() },
            false => config.sampling.plain_space_time(),
        };
        let mut clips = Vec::new();
        let mut state_dropped = Vec::new();
        for &(sequence, start) in chosen {
            let count = rng.random_range(low.min(high)..=high.max(low)).min(w * h);
            let sampler = Sampler::new(&sampling, w, h, rng.random())?;
            let coordinates = sampler.initial(count)?;
            let augmentation = if config.training.augment { Augmentation::draw(rng) } else { Augmentation::NONE };
            clips.push(ClipState {
                frames: &sequences[sequence][start..],
                next: 0,
                memory: SessionMemory::new(temporal, w, h),
                sampler,
                count,
                coordinates,
                augmentation,
            });
            state_dropped.push(rng.random_bool(STATE_DROPOUT));
        }
        Ok(Rollout { clips, warmup: 0, state_dropped, config })
    }

    /// Runs one frame of every clip; with an optimiser, trains on it and returns the loss.
    fn advance(&mut self, model: &Model, train: Option<(&mut AdamW, f64, f64)>) -> f64 {
        self.step(model, train).loss
    }

    fn step(&mut self, model: &Model, train: Option<(&mut AdamW, f64, f64)>) -> Step {
        let inputs: Vec<TemporalInputs> = self
            .clips
            .iter_mut()
            .map(|clip| {
                let frame = &clip.frames[clip.next];
                let augmentation = clip.augmentation;
                let sources: Vec<[f32; 2]> = clip.coordinates.iter().map(|&c| augmentation.source(c)).collect();
                let pixels: Vec<[f32; 3]> = Pixel::sample(&frame.truth, &sources)
                    .iter()
                    .zip(&clip.coordinates)
                    .map(|(p, &[u, v])| [u, v, augmentation.value(p.value)])
                    .collect();
                clip.memory.observe(clip.next as u64, frame.timestamp, &pixels).0
            })
            .collect();
        let no_state: &[f32] = &[];
        let states: Vec<&[f32]> = self
            .clips
            .iter()
            .zip(&self.state_dropped)
            .map(|(clip, &dropped)| if dropped { no_state } else { clip.frames[clip.next].state.as_slice() })
            .collect();
        let refs: Vec<&TemporalInputs> = inputs.iter().collect();
        let (planes, state) = temporal_batch(&refs, &states, &self.config.model);
        let device = model.device();
        let net = model.temporal().expect("a temporal model");
        let out = net.forward(&planes.to_device(device), &state.to_device(device));
        let targets: Vec<f32> =
            self.clips.iter().flat_map(|clip| clip.augmentation.target(&clip.frames[clip.next].target)).collect();
        let target = Tensor::from_slice(&targets).view_as(&out.reconstruction).to_device(device);
        let error = (&out.reconstruction - &target).abs();
        let loss = error.mean(Kind::Float)
            + gradient_l1(&out.reconstruction, &target) * GRADIENT_LOSS_WEIGHT
            + (&out.predicted_error - error.detach()).abs().mean(Kind::Float) * ERROR_LOSS_WEIGHT
            + log_mse(&error) * self.config.training.psnr_loss_weight;
        if let Some((optimizer, learning_rate, clip_norm)) = train {
            optimizer.zero_grad(model.var_store());
            loss.backward();
            optimizer.clip_grad_norm(model.var_store(), clip_norm);
            optimizer.step(model.var_store(), learning_rate);
        }
        let loss = loss.double_value(&[]);
        let reconstruction = out.reconstruction_rows();
        let predicted_error = out.error_rows();
        let [w, h] = self.config.model.resolution.map(|d| d as usize);
        let mut importance = Vec::new();
        for ((clip, values), error) in self.clips.iter_mut().zip(&reconstruction).zip(predicted_error) {
            clip.memory.remember(values.clone());
            let map = Importance::from_predicted_error(w, h, &error);
            if let Ok(next) = clip.sampler.next_mask(Some(&map.map), clip.count) {
                clip.coordinates = next;
            }
            clip.next += 1;
            importance.push(map);
        }
        Step { reconstruction, inputs, importance, loss }
    }
}

/// The mean over frames of ln MSE: minimising it maximises the mean PSNR per frame
/// (PSNR = -10 log10 MSE for intensities in [0, 1]), capped near 50 dB.
fn log_mse(error: &Tensor) -> Tensor {
    (error.square().mean_dim([1i64, 2, 3].as_slice(), false, Kind::Float) + PSNR_LOSS_FLOOR).log().mean(Kind::Float)
}

/// Mean L1 of the difference of horizontal and vertical neighbour differences.
fn gradient_l1(prediction: &Tensor, target: &Tensor) -> Tensor {
    let dx = |t: &Tensor| t.narrow(3, 1, t.size()[3] - 1) - t.narrow(3, 0, t.size()[3] - 1);
    let dy = |t: &Tensor| t.narrow(2, 1, t.size()[2] - 1) - t.narrow(2, 0, t.size()[2] - 1);
    (dx(prediction) - dx(target)).abs().mean(Kind::Float) + (dy(prediction) - dy(target)).abs().mean(Kind::Float)
}

struct Validation {
    psnr: f64,
    ssim: f64,
    /// The same frames from their own samples alone (push-pull interpolation).
    current_psnr: f64,
    /// ... and the candidates the model blends: the recent union's interpolation, the
    /// canvas, the warped previous reconstruction.
    union_psnr: f64,
    canvas_psnr: f64,
    previous_psnr: f64,
    picture: Option<image::RgbImage>,
}

/// Every held-out sequence from its start at `sampling.default_sample_count` samples,
/// in the loop the phase trains (space-time, plus importance in closed-loop phases).
fn validate(model: &Model, sequences: &[Sequence], config: &Config) -> anyhow::Result<Validation> {
    let mut config = config.clone();
    let count = config.sampling.default_sample_count;
    config.training.sample_counts = [count, count];
    config.training.augment = false;
    let [w, h] = config.model.resolution.map(|d| d as u32);
    let to_image = |values: &[f32]| unit_image(values, w, h);
    let (mut sums, mut n) = ([0.0f64; 6], 0usize);
    let mut picture = None;
    for (s, sequence) in sequences.iter().enumerate() {
        let mut rng = ChaCha8Rng::seed_from_u64(config.seed ^ s as u64);
        let mut rollout = Rollout::new(sequences, &[(s, 0)], &config, &mut rng)?;
        rollout.state_dropped = vec![false];
        for frame in sequence.iter().take(VALIDATION_FRAMES_PER_SEQUENCE) {
            let step = tch::no_grad(|| rollout.step(model, None));
            let reconstruction = to_image(&step.reconstruction[0]);
            let quality = |image: &image::GrayImage| FrameQuality::between(&frame.target, image);
            let model_quality = quality(&reconstruction)?;
            sums[0] += model_quality.psnr.min(100.0);
            sums[1] += model_quality.ssim;
            sums[2] += quality(&to_image(step.inputs[0].plane(Plane::InterpolatedCurrent)))?.psnr.min(100.0);
            sums[3] += quality(&to_image(step.inputs[0].plane(Plane::InterpolatedUnion)))?.psnr.min(100.0);
            sums[4] += quality(&to_image(step.inputs[0].plane(Plane::Canvas)))?.psnr.min(100.0);
            sums[5] += quality(&to_image(step.inputs[0].plane(Plane::WarpedPrevious)))?.psnr.min(100.0);
            n += 1;
            if s == 0 {
                let heat = importance_heatmap(&step.importance[0].map)?;
                picture = Some(side_by_side(&[gray_to_rgb(&frame.target), gray_to_rgb(&reconstruction), heat], 2)?);
            }
        }
    }
    let mean = |x: f64| if n > 0 { x / n as f64 } else { f64::NAN };
    Ok(Validation { psnr: mean(sums[0]), ssim: mean(sums[1]), current_psnr: mean(sums[2]), union_psnr: mean(sums[3]), canvas_psnr: mean(sums[4]), previous_psnr: mean(sums[5]), picture })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::psnr;
    use image::GrayImage;

    #[test]
    fn the_psnr_loss_is_minus_the_mean_psnr_per_frame_up_to_scale() {
        // Two 4x4 frames off the truth by 10 and 40 grey levels everywhere.
        let truth = GrayImage::new(4, 4);
        let offsets = [10u8, 40];
        let error = Tensor::from_slice(&offsets.map(|o| [f32::from(o) / 255.0; 16]).concat()).view([2, 1, 4, 4]);
        let mean_psnr: f64 = offsets
            .iter()
            .map(|&o| psnr(&truth, &GrayImage::from_pixel(4, 4, image::Luma([o]))).unwrap())
            .sum::<f64>()
            / 2.0;
        let from_loss = -10.0 / std::f64::consts::LN_10 * log_mse(&error).double_value(&[]);
        // The floor (50 dB) moves the 10-level frame's 28 dB by 0.03 dB.
        assert!((from_loss - mean_psnr).abs() < 0.05, "{from_loss:.3} dB from the loss, {mean_psnr:.3} dB measured");
    }
}
