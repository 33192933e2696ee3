//! `sgaps evaluate`: closed- vs open-loop reconstruction on recorded clips with ground
//! truth, at several sample counts, next to nearest-neighbour and Delaunay-linear
//! interpolation from the same samples; a Markdown table and a PNG grid per run.

use std::path::{Path, PathBuf};

use anyhow::Context;
use image::GrayImage;
use indicatif::{ProgressBar, ProgressStyle};
use sgaps_core::data::read_file;
use sgaps_core::evaluation::{evaluate_clip, ClipPictures, ClipScores, Loop, Mean};
use sgaps_core::pipeline::Engine;
use sgaps_core::visualize::{gray_to_rgb, importance_heatmap, sample_overlay, side_by_side};

use crate::cli::{ConfArgs, EvaluateArgs};

/// One game's clips: the ground-truth frames of each recorded session, with the state
/// vectors the client sent beside them.
struct Game {
    name: String,
    clips: Vec<(Vec<GrayImage>, Vec<Vec<f32>>)>,
}

pub fn run(conf: &ConfArgs, args: EvaluateArgs) -> anyhow::Result<()> {
    anyhow::ensure!(!args.data.is_empty(), "name at least one recorded .h5 file with --data");
    let games = args.data.iter().map(|path| load_game(path, args.max_frames)).collect::<anyhow::Result<Vec<_>>>()?;
    std::fs::create_dir_all(&args.out).with_context(|| format!("cannot create {}", args.out.display()))?;

    let runs = games.len() * args.samples.len() * 2;
    let progress = ProgressBar::new(runs as u64);
    progress.set_style(ProgressStyle::with_template("{msg} {bar:30} {pos}/{len} runs").expect("valid template"));
    let mut rows = Vec::new();
    for &count in &args.samples {
        let mut overrides = args.overrides.clone();
        overrides.push(format!("sampling.default_sample_count={count}"));
        overrides.push(format!("sampling.max_sample_count={}", count.max(4096)));
        let engine = Engine::open(conf.load(&overrides)?)?;
        for game in &games {
            for mode in [Loop::Closed, Loop::Open] {
                progress.set_message(format!("{} N={count} {mode:?}", game.name));
                let mut total = ClipScores::default();
                for (i, (clip, states)) in game.clips.iter().enumerate() {
                    let (scores, pictures) = evaluate_clip(&engine, &args.checkpoint_key, clip, states, mode)?;
                    accumulate(&mut total, &scores);
                    if let (0, Some(pictures)) = (i, pictures) {
                        let path = args.out.join(format!("{}_{count}_{mode:?}.png", game.name).to_lowercase());
                        write_grid(&pictures, &path)?;
                    }
                }
                rows.push((game.name.clone(), count, mode, total));
                progress.inc(1);
            }
        }
    }
    progress.finish_and_clear();
    let report = markdown(&rows, &args.checkpoint_key);
    std::fs::write(args.out.join("report.md"), &report)?;
    print!("{report}");
    println!("\npictures (ground truth, reconstruction, importance, samples) in {}", args.out.display());
    Ok(())
}

/// The ground-truth frames of every session in `path`, at most `max_frames` each.
fn load_game(path: &Path, max_frames: usize) -> anyhow::Result<Game> {
    let sessions = read_file(path)?;
    let clips: Vec<(Vec<GrayImage>, Vec<Vec<f32>>)> = sessions
        .into_iter()
        .map(|s| s.frames.into_iter().filter_map(|f| Some((f.ground_truth?, f.state))).take(max_frames).unzip())
        .filter(|(clip, _): &(Vec<GrayImage>, _)| !clip.is_empty())
        .collect();
    anyhow::ensure!(!clips.is_empty(), "{}: no session holds ground-truth frames (record with frame_data_debug)", path.display());
    let name = path.file_stem().and_then(|s| s.to_str()).unwrap_or("data").to_string();
    Ok(Game { name, clips })
}

/// Frame-weighted means over clips.
fn accumulate(total: &mut ClipScores, clip: &ClipScores) {
    let n = (total.frames + clip.frames).max(1) as f64;
    let (a, b) = (total.frames as f64 / n, clip.frames as f64 / n);
    let mix = |t: &mut Mean, c: &Mean| {
        t.psnr = t.psnr * a + c.psnr * b;
        t.ssim = t.ssim * a + c.ssim * b;
        t.mae = t.mae * a + c.mae * b;
    };
    mix(&mut total.model, &clip.model);
    mix(&mut total.nearest, &clip.nearest);
    mix(&mut total.linear, &clip.linear);
    total.frames += clip.frames;
}

fn markdown(rows: &[(String, usize, Loop, ClipScores)], key: &str) -> String {
    let header = |first: &str| format!("| {first} | samples | loop | frames | model | nearest | linear |\n|---|---|---|---|---|---|---|\n");
    let cell = |m: &Mean| format!("{:.2} / {:.3} / {:.1}", m.psnr, m.ssim, m.mae);
    let row = |game: &str, count: usize, mode: Loop, s: &ClipScores| {
        let mode = format!("{mode:?}").to_lowercase();
        format!("| {game} | {count} | {mode} | {} | {} | {} | {} |\n", s.frames, cell(&s.model), cell(&s.nearest), cell(&s.linear))
    };
    let mut out = format!("# Evaluation of checkpoint `{key}`\n\n");
    out += "PSNR dB / SSIM / MAE against the ground truth resized to the model's resolution; ";
    out += "the baselines interpolate the same samples.\n\n";
    out += &header("game");
    for (game, count, mode, scores) in rows {
        out += &row(game, *count, *mode, scores);
    }
    // Overall: frame-weighted over games, per sample count and loop.
    out += "\n";
    out += &header("overall");
    let mut keys: Vec<(usize, Loop)> = Vec::new();
    for (_, count, mode, _) in rows {
        if !keys.contains(&(*count, *mode)) {
            keys.push((*count, *mode));
        }
    }
    for (count, mode) in keys {
        let mut total = ClipScores::default();
        rows.iter().filter(|(_, c, m, _)| (*c, *m) == (count, mode)).for_each(|(_, _, _, s)| accumulate(&mut total, s));
        out += &row("all", count, mode, &total);
    }
    out
}

fn write_grid(pictures: &ClipPictures, path: &PathBuf) -> anyhow::Result<()> {
    let panels = [
        gray_to_rgb(&pictures.truth),
        gray_to_rgb(&pictures.reconstruction),
        importance_heatmap(&pictures.importance)?,
        sample_overlay(&pictures.truth, &pictures.samples),
    ];
    side_by_side(&panels, 3)?.save(path).with_context(|| format!("cannot write {}", path.display()))
}
