//! `sgaps bench model`: forward-pass latency and FLOP rate of the Sparse Pixel Transformer.
//! `sgaps bench frame`: the whole per-frame path of the engine, any model family.

use std::time::Instant;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use sgaps_core::device::{describe, resolve_device, resolve_kind};
use sgaps_core::model::{forward_flops, AttentionOutput, FrameInput, Model, SparseBatch};
use tch::Device;

use crate::cli::{BenchFrameArgs, BenchModelArgs, ConfArgs};
use sgaps_core::pipeline::{Engine, Frame, Pixel};

#[derive(Serialize)]
struct ModelBenchReport {
    model: String,
    decoder: String,
    embed_dim: i64,
    device: String,
    precision: String,
    threads: i32,
    width: i64,
    height: i64,
    pixels: u32,
    batch: u32,
    attention: bool,
    iters: u32,
    p50_ms: f64,
    p90_ms: f64,
    mean_ms: f64,
    frames_per_s: f64,
    gflop_per_pass: f64,
    gflop_per_s: f64,
}

pub fn model(conf: &ConfArgs, args: BenchModelArgs) -> anyhow::Result<()> {
    let config = conf.load(&args.overrides)?;
    let device = resolve_device(config.device).map_err(anyhow::Error::msg)?;
    let kind = resolve_kind(config.precision, device);
    let (height, width) = config.model.height_width();
    let (height, width) = (args.height.unwrap_or(height), args.width.unwrap_or(width));
    anyhow::ensure!(args.batch > 0 && args.pixels > 0 && args.iters > 0, "--batch, --pixels and --iters must be positive");

    let mut model = Model::new_seeded(&config.model, device, config.seed as i64)?;
    model.set_kind(kind);
    let frames = random_frames(args.batch as usize, args.pixels as usize);
    let inputs: Vec<FrameInput> = frames.iter().map(|p| FrameInput { pixels: p, state: &[0.5, -0.25] }).collect();
    let batch = SparseBatch::new(&inputs, &config.model, device, kind)?;

    let forward = || -> anyhow::Result<f64> {
        let start = Instant::now();
        let extra = if args.attention { AttentionOutput::Entropy } else { AttentionOutput::None };
        let out = model.infer_batch(&batch, height, width, extra)?;
        if let Device::Cuda(i) = device {
            tch::Cuda::synchronize(i as i64);
        }
        drop(out);
        Ok(start.elapsed().as_secs_f64() * 1e3)
    };
    for _ in 0..args.warmup {
        forward().context("warm-up forward pass")?;
    }
    let progress = if args.json { ProgressBar::hidden() } else { ProgressBar::new(args.iters as u64) };
    progress.set_style(ProgressStyle::with_template("{msg} {bar:30} {pos}/{len} passes, {eta} left").unwrap());
    progress.set_message(format!("{} {:?} {width}x{height} N={} B={}", config.model.name, config.model.decoder, args.pixels, args.batch));
    let mut times = Vec::with_capacity(args.iters as usize);
    for _ in 0..args.iters {
        times.push(forward()?);
        progress.inc(1);
    }
    progress.finish_and_clear();

    let flops = forward_flops(&config.model, args.batch as u64, args.pixels as u64, height as u64, width as u64);
    let mean_ms = times.iter().sum::<f64>() / times.len() as f64;
    let report = ModelBenchReport {
        model: config.model.name.clone(),
        decoder: format!("{:?}", config.model.decoder).to_lowercase(),
        embed_dim: config.model.embed_dim,
        device: describe(device),
        precision: format!("{kind:?}"),
        threads: tch::get_num_threads(),
        width,
        height,
        pixels: args.pixels,
        batch: args.batch,
        attention: args.attention,
        iters: args.iters,
        p50_ms: percentile(&times, 0.5),
        p90_ms: percentile(&times, 0.9),
        mean_ms,
        frames_per_s: args.batch as f64 / (mean_ms / 1e3),
        gflop_per_pass: flops as f64 / 1e9,
        gflop_per_s: flops as f64 / 1e9 / (mean_ms / 1e3),
    };
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print_table(&report);
    }
    Ok(())
}

fn print_table(r: &ModelBenchReport) {
    println!("model      {} (decoder {}, embed_dim {})", r.model, r.decoder, r.embed_dim);
    println!("device     {} {} ({} threads)", r.device, r.precision, r.threads);
    println!("input      {}x{}, {} pixels, batch {}, attention {}", r.width, r.height, r.pixels, r.batch, r.attention);
    println!("latency    p50 {:.1} ms   p90 {:.1} ms   mean {:.1} ms   ({} passes)", r.p50_ms, r.p90_ms, r.mean_ms, r.iters);
    println!("throughput {:.2} frames/s", r.frames_per_s);
    println!("compute    {:.1} GFLOP per pass, {:.1} GFLOP/s", r.gflop_per_pass, r.gflop_per_s);
}

#[derive(Serialize)]
struct FrameBenchReport {
    model: String,
    checkpoint_loaded: bool,
    device: String,
    threads: i32,
    width: usize,
    height: usize,
    samples: usize,
    batch: u32,
    iters: u32,
    p50_ms: f64,
    p90_ms: f64,
    mean_ms: f64,
    ms_per_frame: f64,
    frames_per_s: f64,
}

/// `--batch` sessions stream a scrolling synthetic scene closed loop; each timed
/// iteration is one `submit_batch` of one frame per session.
pub fn frame(conf: &ConfArgs, args: BenchFrameArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.batch > 0 && args.iters > 0, "--batch and --iters must be positive");
    let engine = Engine::open(conf.load(&args.overrides)?)?;
    let client = [256usize, 240];
    let starts = (0..args.batch).map(|_| engine.begin_session("default", client)).collect::<Result<Vec<_>, _>>()?;
    let params = starts[0].params.clone();
    let mut coordinates: Vec<Vec<[f32; 2]>> = starts.iter().map(|s| s.initial_coordinates.clone()).collect();
    let mut frame_id = 0u64;
    let mut step = || -> anyhow::Result<f64> {
        // A side-scrolling scene: stripes and blocks moving two pixels a frame.
        let scene = image::GrayImage::from_fn(client[0] as u32, client[1] as u32, |x, y| {
            let x = x + 2 * frame_id as u32;
            image::Luma([(((x / 16 + y / 24) % 3) * 90 + (x % 7) * 4) as u8])
        });
        let frames: Vec<_> = starts
            .iter()
            .zip(&coordinates)
            .map(|(s, c)| {
                let pixels = Pixel::sample(&scene, c);
                (s.params.session_id, Frame { frame_id, timestamp: frame_id as f64 / 30.0, pixels, ..Default::default() })
            })
            .collect();
        let started = Instant::now();
        let results = engine.submit_batch(frames);
        let elapsed = started.elapsed().as_secs_f64() * 1e3;
        for (result, coordinates) in results.into_iter().zip(&mut coordinates) {
            if let Some(update) = result?.mask_update {
                *coordinates = update.coordinates;
            }
        }
        frame_id += 1;
        Ok(elapsed)
    };
    for _ in 0..args.warmup {
        step()?;
    }
    let progress = if args.json { ProgressBar::hidden() } else { ProgressBar::new(args.iters as u64) };
    progress.set_style(ProgressStyle::with_template("{msg} {bar:30} {pos}/{len} batches, {eta} left").unwrap());
    progress.set_message(format!("{} B={}", engine.config().model.name, args.batch));
    let mut times = Vec::with_capacity(args.iters as usize);
    for _ in 0..args.iters {
        times.push(step()?);
        progress.inc(1);
    }
    progress.finish_and_clear();
    let mean_ms = times.iter().sum::<f64>() / times.len() as f64;
    let report = FrameBenchReport {
        model: engine.config().model.name.clone(),
        checkpoint_loaded: params.checkpoint_loaded,
        device: engine.device().to_string(),
        threads: tch::get_num_threads(),
        width: params.resolution[0],
        height: params.resolution[1],
        samples: params.sample_count,
        batch: args.batch,
        iters: args.iters,
        p50_ms: percentile(&times, 0.5),
        p90_ms: percentile(&times, 0.9),
        mean_ms,
        ms_per_frame: mean_ms / args.batch as f64,
        frames_per_s: args.batch as f64 / (mean_ms / 1e3),
    };
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!("model      {} (trained weights: {})", report.model, report.checkpoint_loaded);
        println!("device     {} ({} threads)", report.device, report.threads);
        println!("input      {}x{}, {} samples, {} sessions per batch", report.width, report.height, report.samples, report.batch);
        println!("latency    p50 {:.2} ms   p90 {:.2} ms   mean {:.2} ms per batch ({} batches)", report.p50_ms, report.p90_ms, report.mean_ms, report.iters);
        println!("per frame  {:.2} ms, {:.1} frames/s", report.ms_per_frame, report.frames_per_s);
    }
    Ok(())
}

/// Nearest-rank percentile (also used by `sgaps loadtest`).
pub(crate) fn percentile(times: &[f64], q: f64) -> f64 {
    let mut sorted = times.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// Uniform random pixels (u, v, value in [0, 1)) from libtorch's seeded generator.
fn random_frames(batch: usize, pixels: usize) -> Vec<Vec<[f32; 3]>> {
    let values = Vec::<f32>::try_from(tch::Tensor::rand([(batch * pixels * 3) as i64], tch::kind::FLOAT_CPU))
        .expect("a float tensor converts");
    values.chunks(pixels * 3).map(|frame| frame.chunks(3).map(|p| [p[0], p[1], p[2]]).collect()).collect()
}
