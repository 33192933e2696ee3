//! The training loop of one phase: AdamW, cosine annealing, gradient-norm clipping,
//! bf16 autocast on CUDA, a validation pass per epoch, the best checkpoint registered
//! under `checkpoint_key`, the last one kept in the run directory for `--resume`, and
//! TensorBoard event files (scalars and pictures) in the run directory.

use std::path::{Path, PathBuf};
use std::time::Instant;

use image::GrayImage;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use tch::nn::OptimizerConfig;
use tch::{Device, Kind, Tensor};

use super::batches::into_batches;
use super::dataset::{load_training_set, TrainingFrame};
use super::loss::{full_frame_loss, sampled_pixel_loss};
use super::positions::{choose, recorded_subset, sample_truth, Example, Positions};
use super::schedule::cosine_learning_rate;
use crate::baselines::linear_delaunay;
use crate::config::{Config, ModelFamily, SamplingStrategy};
use crate::device::{resolve_device, resolve_kind};
use crate::metrics::{psnr, FrameQuality};
use crate::model::{AttentionOutput, FrameInput, Model, SparseBatch};
use crate::pipeline::importance::{importance_from_entropy, ImportanceMap};
use crate::pipeline::checkpoints::CheckpointStore;
use crate::pipeline::sampler::Sampler;
use crate::tensorboard::SummaryWriter;
use crate::visualize::{gray_to_rgb, importance_heatmap, sample_overlay, side_by_side};

/// What `sgaps train` asks for besides the configuration.
#[derive(Debug, Clone)]
pub struct TrainOptions {
    /// Recorded `.h5` files (our layout or the reference one).
    pub data: Vec<PathBuf>,
    /// The best model is registered as `{checkpoint_dir}/{checkpoint_key}`.
    pub checkpoint_key: String,
    /// Last checkpoint, trainer state, TensorBoard events and the cleaning report.
    pub run_dir: PathBuf,
    /// Continue from `{run_dir}/last` where the last run stopped.
    pub resume: bool,
    /// Start from these weights (the previous phase's checkpoint) instead of new ones.
    pub init: Option<PathBuf>,
}

/// Reported after every optimisation step.
#[derive(Debug, Clone)]
pub struct Progress {
    pub epoch: u32,
    pub epochs: u32,
    pub step_in_epoch: usize,
    pub steps_in_epoch: usize,
    pub loss: f64,
    pub learning_rate: f64,
    pub frames_per_second: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct TrainSummary {
    pub train_frames: usize,
    pub validation_frames: usize,
    pub epochs_run: u32,
    pub best_epoch: u32,
    /// `training.best_metric` of the best epoch.
    pub best_metric: f64,
    /// The last validation's frames and samples reconstructed by linear interpolation
    /// (NaN when a closed-loop phase ran no epoch).
    pub linear_psnr: f64,
    pub checkpoint: PathBuf,
}

/// Where a run stands, written with `{run_dir}/last` after every epoch (both families).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct TrainerState {
    pub phase: u32,
    pub epochs_done: u32,
    pub step: usize,
    pub best_metric: Option<f64>,
    pub best_epoch: u32,
}

pub(super) const STATE_FILE: &str = "trainer_state.json";
/// Training scalars go to TensorBoard every this many steps.
const SCALAR_EVERY_STEPS: usize = 10;
/// Validation frames, evenly spaced over the held-out ones: enough for a stable mean,
/// few enough that validating costs a fraction of an epoch on a CPU.
const MAX_VALIDATION_FRAMES: usize = 256;

/// Trains one phase of `config.model`: the temporal family on clips
/// ([`super::temporal_trainer`]), the SPT family here.
pub fn train(config: &Config, options: &TrainOptions, on_progress: &mut dyn FnMut(&Progress)) -> anyhow::Result<TrainSummary> {
    if config.model.family == ModelFamily::Temporal {
        return super::temporal_trainer::train_temporal(config, options, on_progress);
    }
    anyhow::ensure!(
        config.training.validation_files.is_empty() && !config.training.augment && config.training.psnr_loss_weight == 0.0,
        "training.validation_files, training.augment and training.psnr_loss_weight apply to the temporal family only"
    );
    let t = &config.training;
    anyhow::ensure!(
        ["val_psnr", "val_ssim", "val_loss"].contains(&t.best_metric.as_str()),
        "training.best_metric is `{}`; it must be val_psnr, val_ssim or val_loss",
        t.best_metric
    );
    let device = resolve_device(config.device).map_err(anyhow::Error::msg)?;
    let autocast = device != Device::Cpu && resolve_kind(config.precision, device) != Kind::Float;
    std::fs::create_dir_all(&options.run_dir)?;

    let set = load_training_set(&options.data, config)?;
    for (file, report) in &set.cleaning {
        report.write(&options.run_dir.join("cleaning").join(file))?;
    }
    tracing::info!(train = set.train.len(), validation = set.validation.len(), "training set loaded and cleaned");

    let last_dir = options.run_dir.join("last");
    let mut state = TrainerState { phase: t.phase, epochs_done: 0, step: 0, best_metric: None, best_epoch: 0 };
    let model = if options.resume && last_dir.join(STATE_FILE).exists() {
        state = serde_json::from_str(&std::fs::read_to_string(last_dir.join(STATE_FILE))?)?;
        anyhow::ensure!(state.phase == t.phase, "{} holds phase {}, not phase {}", last_dir.display(), state.phase, t.phase);
        tracing::info!(epochs_done = state.epochs_done, step = state.step, "resuming");
        Model::load_checkpoint(&last_dir, device)?
    } else if let Some(init) = &options.init {
        Model::load_checkpoint(init, device)?
    } else {
        Model::new_seeded(&config.model, device, config.seed as i64)?
    };
    let store = CheckpointStore::new(Path::new(&config.checkpoint_dir), model.config(), device, Kind::Float, config.seed, 1);
    let mut optimizer = tch::nn::adamw(0.9, 0.999, t.weight_decay).build(model.var_store(), t.learning_rate)?;
    let mut events = SummaryWriter::create(&options.run_dir)?;

    let frames_per_epoch = match t.frames_per_epoch as usize {
        0 => set.train.len(),
        n => n.min(set.train.len()),
    };
    let batch_size = t.batch_size.max(1) as usize;
    let steps_per_epoch = (frames_per_epoch * t.repeats.max(1) as usize).div_ceil(batch_size);
    let total_steps = steps_per_epoch * t.epochs as usize;
    let [height, width] = [t.resolution[1], t.resolution[0]];
    let counts = t.sample_counts.map(|c| c as usize);
    // Grid samples never change; adaptive ones (closed-loop phases) follow the model and
    // are drawn again each epoch.
    let grid_validation = match t.closed_loop {
        false => Some(validation_examples(&set.validation, config, None)?),
        true => None,
    };
    let mut summary = TrainSummary {
        train_frames: set.train.len(),
        validation_frames: set.validation.len(),
        epochs_run: 0,
        best_epoch: state.best_epoch,
        best_metric: state.best_metric.unwrap_or(f64::NAN),
        linear_psnr: grid_validation.as_ref().map_or(f64::NAN, |v| v.linear_psnr),
        checkpoint: store.writable_dir()?.join(&options.checkpoint_key),
    };

    for epoch in state.epochs_done..t.epochs {
        // Seeded per epoch, so a resumed run draws what the uninterrupted one would.
        let mut rng = ChaCha8Rng::seed_from_u64(config.seed ^ (u64::from(epoch) << 32) ^ u64::from(t.phase));
        let mut chosen: Vec<usize> = (0..set.train.len()).collect();
        chosen.shuffle(&mut rng);
        chosen.truncate(frames_per_epoch);
        let mut examples = Vec::new();
        for &index in &chosen {
            for _ in 0..t.repeats.max(1) {
                let frame = &set.train[index];
                let positions = choose(frame, t.resample_fraction, counts, t.closed_loop, &mut rng);
                examples.push(make_example(index, frame, positions, config, &model, &mut rng)?);
            }
        }
        let batches = into_batches(examples, batch_size, &mut rng);
        let started = Instant::now();
        let (mut frames_seen, mut loss_sum) = (0usize, 0.0);
        for (i, batch) in batches.iter().enumerate() {
            let learning_rate = cosine_learning_rate(t.learning_rate, state.step, total_steps);
            optimizer.set_lr(learning_rate);
            let loss = tch::autocast(autocast, || batch_loss(&model, &set.train, batch, config, height, width))?;
            optimizer.zero_grad();
            loss.backward();
            optimizer.clip_grad_norm(t.grad_clip_norm);
            optimizer.step();
            let loss = loss.double_value(&[]);
            anyhow::ensure!(loss.is_finite(), "the loss became {loss} at step {}", state.step);
            state.step += 1;
            frames_seen += batch.len();
            loss_sum += loss;
            let frames_per_second = frames_seen as f64 / started.elapsed().as_secs_f64().max(1e-9);
            if state.step % SCALAR_EVERY_STEPS == 0 {
                events.add_scalar("train/loss", loss as f32, state.step as i64)?;
                events.add_scalar("train/learning_rate", learning_rate as f32, state.step as i64)?;
                events.add_scalar("train/frames_per_second", frames_per_second as f32, state.step as i64)?;
                // Visible to a TensorBoard watching the run, not only at the epoch's end.
                events.flush()?;
            }
            on_progress(&Progress {
                epoch: epoch + 1,
                epochs: t.epochs,
                step_in_epoch: i + 1,
                steps_in_epoch: batches.len(),
                loss,
                learning_rate,
                frames_per_second,
            });
        }

        let adaptive_validation;
        let validation = match &grid_validation {
            Some(grid) => grid,
            None => {
                adaptive_validation = validation_examples(&set.validation, config, Some(&model))?;
                &adaptive_validation
            }
        };
        let linear_psnr = validation.linear_psnr;
        summary.linear_psnr = linear_psnr;
        let scores = validate(&model, validation)?;
        let step = state.step as i64;
        events.add_scalar("val/psnr", scores.psnr as f32, step)?;
        events.add_scalar("val/ssim", scores.ssim as f32, step)?;
        events.add_scalar("val/loss", scores.loss as f32, step)?;
        events.add_scalar("val/linear_psnr", linear_psnr as f32, step)?;
        if let Some(picture) = validation_picture(&model, validation)? {
            events.add_image("val/truth_reconstruction_importance_samples", &picture, step)?;
        }
        events.flush()?;
        let metric = match t.best_metric.as_str() {
            "val_psnr" => scores.psnr,
            "val_ssim" => scores.ssim,
            _ => -scores.loss, // val_loss: lower is better
        };
        let improved = state.best_metric.is_none_or(|best| metric > best);
        tracing::info!(
            epoch = epoch + 1,
            train_loss = loss_sum / batches.len().max(1) as f64,
            val_psnr = scores.psnr,
            val_ssim = scores.ssim,
            linear_psnr,
            improved,
            "epoch done"
        );
        if improved {
            state.best_metric = Some(metric);
            state.best_epoch = epoch + 1;
            store.register(&options.checkpoint_key, &model)?;
        }
        state.epochs_done = epoch + 1;
        model.save_checkpoint(&last_dir)?;
        std::fs::write(last_dir.join(STATE_FILE), serde_json::to_string_pretty(&state)?)?;
        summary.epochs_run += 1;
    }
    summary.best_epoch = state.best_epoch;
    summary.best_metric = state.best_metric.unwrap_or(f64::NAN);
    Ok(summary)
}

/// One example of `frame` with positions chosen as `positions` says. Adaptive examples
/// ask the current model where it is unsure, as the served closed loop does.
fn make_example(
    index: usize,
    frame: &TrainingFrame,
    positions: Positions,
    config: &Config,
    model: &Model,
    rng: &mut ChaCha8Rng,
) -> anyhow::Result<Example> {
    let t = &config.training;
    let [w, h] = t.resolution.map(|d| d as usize);
    let seed = rand::Rng::random(rng);
    let sampler = |strategy| {
        let sampling = crate::config::SamplingConfig { strategy, warmup_frames: 0, ..config.sampling.clone() };
        Sampler::new(&sampling, w, h, seed)
    };
    let coordinates = match positions {
        Positions::Recorded => return Ok(recorded_subset(index, frame, t.visible_fraction, rng)),
        Positions::Grid(count) => sampler(SamplingStrategy::Uniform)?.initial(count)?,
        Positions::Stratified(count) => sampler(SamplingStrategy::Stratified)?.next_mask(None, count)?,
        Positions::Adaptive(count) => {
            let truth = frame.truth.as_ref().expect("adaptive examples have ground truth");
            adaptive_coordinates(model, truth, &frame.state, count, config, seed)?
        }
    };
    let truth = frame.truth.as_ref().expect("fresh examples have ground truth");
    let scored = sample_truth(truth, &coordinates);
    let subset = TrainingFrame { pixels: scored, state: vec![], truth: None, target: None };
    Ok(recorded_subset(index, &subset, t.visible_fraction, rng))
}

/// The importance map the engine would compute from these samples.
fn importance_of(model: &Model, pixels: &[[f32; 3]], state: &[f32], config: &Config) -> anyhow::Result<ImportanceMap> {
    let out = model.infer(&[FrameInput { pixels, state }], AttentionOutput::Entropy)?;
    let (h, w) = model.config().height_width();
    let entropy = out.entropy.as_ref().expect("asked for entropy");
    let importance = importance_from_entropy(entropy, w as usize, h as usize).remove(0);
    let reconstruction = out.images().remove(0);
    Ok(importance.blend_detail(&reconstruction, config.sampling.importance_detail_weight as f32).map)
}

/// Coordinates where the served closed loop would sample `truth` next: the adaptive
/// sampler on the importance of a reconstruction from `count` grid samples.
fn adaptive_coordinates(
    model: &Model,
    truth: &GrayImage,
    state: &[f32],
    count: usize,
    config: &Config,
    seed: u64,
) -> anyhow::Result<Vec<[f32; 2]>> {
    let [w, h] = config.training.resolution.map(|d| d as usize);
    let sampling = crate::config::SamplingConfig { warmup_frames: 0, ..config.sampling.clone() };
    let mut sampler = Sampler::new(&sampling, w, h, seed)?;
    let grid = sampler.initial(count)?;
    let importance = importance_of(model, &sample_truth(truth, &grid), state, config)?;
    Ok(sampler.next_mask(Some(&importance), count)?)
}

fn batch_loss(
    model: &Model,
    frames: &[TrainingFrame],
    batch: &[Example],
    config: &Config,
    height: i64,
    width: i64,
) -> anyhow::Result<Tensor> {
    let t = &config.training;
    let inputs: Vec<FrameInput> =
        batch.iter().map(|e| FrameInput { pixels: &e.visible, state: &frames[e.frame].state }).collect();
    let sparse = SparseBatch::new(&inputs, model.config(), model.device(), Kind::Float)?;
    let out = anyhow::Context::context(model.spt(), "the SPT trainer takes an SPT model")?.forward(&sparse, height, width, AttentionOutput::None, true);
    let scored: Vec<&[[f32; 3]]> = batch.iter().map(|e| e.scored.as_slice()).collect();
    let mut loss = sampled_pixel_loss(&out.reconstruction, &scored) * t.sampled_loss_weight;
    if t.full_frame_loss_weight > 0.0 {
        let targets: Vec<Option<&GrayImage>> = batch.iter().map(|e| frames[e.frame].target.as_ref()).collect();
        if let Some(full) = full_frame_loss(&out.reconstruction, &targets) {
            loss += full * t.full_frame_loss_weight;
        }
    }
    Ok(loss)
}

/// The validation frames with their samples: on the serving default's grid when the
/// true frame is known (as the open loop) or where the adaptive sampler sends the model
/// (closed-loop phases), else all its recorded pixels.
struct Validation {
    examples: Vec<ValidationFrame>,
    /// The training resolution `(height, width)`, the targets'.
    height_width: (i64, i64),
    /// Linear interpolation of the same samples: the number to beat.
    linear_psnr: f64,
}

struct ValidationFrame {
    /// (u, v, value) in [0, 1].
    pixels: Vec<[f32; 3]>,
    state: Vec<f32>,
    /// The true frame at the training resolution, when known.
    target: Option<GrayImage>,
}

/// The validation examples: on the grid, or (closed-loop phases, `model` given) where
/// the adaptive sampler sends that model.
fn validation_examples(frames: &[TrainingFrame], config: &Config, model: Option<&Model>) -> anyhow::Result<Validation> {
    let [w, h] = config.training.resolution.map(|d| d as usize);
    let count = config.sampling.default_sample_count as usize;
    let grid = Sampler::new(&config.sampling, w, h, config.seed)?.initial(count)?;
    let mut examples = Vec::new();
    let mut linear = Vec::new();
    let stride = frames.len().div_ceil(MAX_VALIDATION_FRAMES).max(1);
    for (i, frame) in frames.iter().step_by(stride).enumerate() {
        let pixels = match (&frame.truth, model) {
            (Some(truth), Some(model)) => {
                let coordinates = adaptive_coordinates(model, truth, &frame.state, count, config, config.seed + i as u64)?;
                sample_truth(truth, &coordinates)
            }
            (Some(truth), None) => sample_truth(truth, &grid),
            (None, _) => frame.pixels.clone(),
        };
        if let Some(target) = &frame.target {
            let samples: Vec<[f32; 3]> = pixels.iter().map(|&[u, v, x]| [u, v, x * 255.0]).collect();
            linear.push(psnr(target, &linear_delaunay(&samples, w as u32, h as u32))?.min(100.0));
        }
        examples.push(ValidationFrame { pixels, state: frame.state.clone(), target: frame.target.clone() });
    }
    let linear_psnr = linear.iter().sum::<f64>() / linear.len().max(1) as f64;
    Ok(Validation { examples, height_width: (h as i64, w as i64), linear_psnr })
}

#[derive(Debug, Default)]
struct Scores {
    psnr: f64,
    ssim: f64,
    loss: f64,
}

fn validate(model: &Model, validation: &Validation) -> anyhow::Result<Scores> {
    let mut scores = Scores::default();
    let (mut with_truth, mut all) = (0usize, 0usize);
    for chunk in validation.examples.chunks(16) {
        let inputs: Vec<FrameInput> = chunk.iter().map(|f| FrameInput { pixels: &f.pixels, state: &f.state }).collect();
        let out = infer_at(model, &inputs, validation.height_width, AttentionOutput::None)?;
        let scored: Vec<&[[f32; 3]]> = chunk.iter().map(|f| f.pixels.as_slice()).collect();
        let targets: Vec<Option<&GrayImage>> = chunk.iter().map(|f| f.target.as_ref()).collect();
        let loss = full_frame_loss(&out.reconstruction, &targets).unwrap_or_else(|| sampled_pixel_loss(&out.reconstruction, &scored));
        scores.loss += loss.double_value(&[]) * chunk.len() as f64;
        all += chunk.len();
        for (target, image) in targets.iter().zip(out.images()) {
            if let Some(target) = target {
                let quality = FrameQuality::between(target, &image)?;
                scores.psnr += quality.psnr.min(100.0);
                scores.ssim += quality.ssim;
                with_truth += 1;
            }
        }
    }
    scores.loss /= all.max(1) as f64;
    scores.psnr /= with_truth.max(1) as f64;
    scores.ssim /= with_truth.max(1) as f64;
    Ok(scores)
}

/// Truth, reconstruction, importance and samples of the first validation frame with
/// ground truth, side by side.
fn validation_picture(model: &Model, validation: &Validation) -> anyhow::Result<Option<image::RgbImage>> {
    let Some(ValidationFrame { pixels, state, target: Some(truth) }) = validation.examples.iter().find(|f| f.target.is_some()) else {
        return Ok(None);
    };
    let (h, w) = validation.height_width;
    let out = infer_at(model, &[FrameInput { pixels, state }], (h, w), AttentionOutput::Entropy)?;
    let importance = importance_from_entropy(out.entropy.as_ref().expect("asked for entropy"), w as usize, h as usize);
    let coordinates: Vec<[f32; 2]> = pixels.iter().map(|&[u, v, _]| [u, v]).collect();
    let panels = [
        gray_to_rgb(truth),
        gray_to_rgb(&out.images()[0]),
        importance_heatmap(&importance[0].map)?,
        sample_overlay(truth, &coordinates),
    ];
    Ok(Some(side_by_side(&panels, 2)?))
}

/// Inference at the training resolution, which may differ from the model's.
fn infer_at(model: &Model, inputs: &[FrameInput], (h, w): (i64, i64), extra: AttentionOutput) -> anyhow::Result<crate::model::SptOutput> {
    let batch = SparseBatch::new(inputs, model.config(), model.device(), model.kind())?;
    Ok(model.infer_batch(&batch, h, w, extra)?)
}
