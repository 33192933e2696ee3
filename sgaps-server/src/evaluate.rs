//! `sgaps evaluate`: the model in the closed loop and on the plain space-time pattern,
//! on recorded clips with ground truth at several sample counts, next to the classical
//! single-frame and temporal baselines and the all-pixels ceiling
//! (`sgaps_core::evaluation`); a Markdown report by group and game, a picture grid and
//! a strip over time per game.

use std::path::{Path, PathBuf};

use anyhow::Context;
use image::GrayImage;
use indicatif::{ProgressBar, ProgressStyle};
use sgaps_core::data::read_file;
use sgaps_core::evaluation::{evaluate_clip, BaselineOptions, ClipPictures, ClipScores, Mean};
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

    let runs = games.len() * args.samples.len();
    let progress = ProgressBar::new(runs as u64);
    progress.set_style(ProgressStyle::with_template("{msg} {bar:30} {pos}/{len} runs [{elapsed} < {eta}]").expect("valid template"));
    let baselines = BaselineOptions { union_frames: args.union_frames, max_shift: args.max_shift };
    let mut rows = Vec::new();
    for &count in &args.samples {
        let mut overrides = args.overrides.clone();
        overrides.push(format!("sampling.default_sample_count={count}"));
        overrides.push(format!("sampling.max_sample_count={}", count.max(4096)));
        let engine = Engine::open(conf.load(&overrides)?)?;
        // Games run on `--jobs` threads sharing the engine: the classical baselines are
        // single-threaded Rust, so a second worker keeps the other core busy.
        let next = std::sync::atomic::AtomicUsize::new(0);
        let scored: Vec<anyhow::Result<(usize, ClipScores)>> = std::thread::scope(|scope| {
            let workers: Vec<_> = (0..args.jobs.max(1))
                .map(|_| {
                    scope.spawn(|| {
                        let mut done = Vec::new();
                        loop {
                            let g = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            let Some(game) = games.get(g) else { break };
                            progress.set_message(format!("{} N={count}", game.name));
                            done.push(score_game(&engine, game, count, &args, baselines).map(|total| (g, total)));
                            progress.inc(1);
                        }
                        done
                    })
                })
                .collect();
            workers.into_iter().flat_map(|w| w.join().expect("an evaluation worker panicked")).collect()
        });
        let mut scored = scored.into_iter().collect::<anyhow::Result<Vec<_>>>()?;
        scored.sort_by_key(|(g, _)| *g);
        rows.extend(scored.into_iter().map(|(g, total)| (games[g].name.clone(), count, total)));
    }
    progress.finish_and_clear();
    let report = markdown(&rows, &args.checkpoint_key, baselines);
    std::fs::write(args.out.join("report.md"), &report)?;
    print!("{report}");
    println!("\npictures in {}: NAME_N.png (truth, reconstruction, importance, samples), NAME_N_strip.png (over time: truth, reconstruction, error, sample age)", args.out.display());
    Ok(())
}

/// Every clip of `game` at `count` samples; writes the first clip's pictures.
fn score_game(engine: &Engine, game: &Game, count: usize, args: &EvaluateArgs, baselines: BaselineOptions) -> anyhow::Result<ClipScores> {
    let mut total = ClipScores::default();
    for (i, (clip, states)) in game.clips.iter().enumerate() {
        let (scores, pictures, strip) = evaluate_clip(engine, &args.checkpoint_key, clip, states, baselines)?;
        total.accumulate(&scores);
        if let (0, Some(pictures)) = (i, pictures) {
            write_grid(&pictures, &args.out.join(format!("{}_{count}.png", game.name).to_lowercase()))?;
            if let Some(strip) = strip.picture(2) {
                let path = args.out.join(format!("{}_{count}_strip.png", game.name).to_lowercase());
                strip.save(&path).with_context(|| format!("cannot write {}", path.display()))?;
            }
        }
    }
    Ok(total)
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

/// The group a recording belongs to, from the file name the capture script gives it.
fn group_of(game: &str) -> &'static str {
    if game.starts_with("heldout-episode-") {
        "held-out episodes"
    } else if game.starts_with("heldout-mario-") {
        "held-out levels"
    } else if game.starts_with("heldout-") {
        "never-trained games"
    } else {
        "other"
    }
}

fn markdown(rows: &[(String, usize, ClipScores)], key: &str, baselines: BaselineOptions) -> String {
    let methods = ClipScores::default().methods().map(|(name, _)| name);
    let header = |first: &str| {
        let mut h = format!("| {first} | samples | frames |");
        methods.iter().for_each(|m| h += &format!(" {m} |"));
        h += "\n|---|---|---|";
        methods.iter().for_each(|_| h += "---|");
        h + "\n"
    };
    let row = |name: &str, count: usize, s: &ClipScores, cell: &dyn Fn(&Mean) -> String| {
        let mut r = format!("| {name} | {count} | {} |", s.frames);
        s.methods().iter().for_each(|(_, m)| r += &format!(" {} |", cell(m)));
        r + "\n"
    };
    let psnr_ssim = |m: &Mean| format!("{:.2} / {:.3}", m.psnr, m.ssim);
    let mut out = format!("# Evaluation of checkpoint `{key}`\n\n");
    out += "PSNR dB / SSIM against the ground truth resized to the model's resolution (box filter).\n\n";
    out += "Sampling patterns: *model closed loop* samples where the engine says (importance-driven); ";
    out += "*model space-time* and every classical method sample the plain space-time stratified pattern, ";
    out += "renewed every frame, the pattern they do best with. *linear* and *nearest* interpolate the frame's own samples; ";
    out += &format!("*union* linearly interpolates the union of the last {} frames' samples (newest per pixel), ", baselines.union_frames);
    out += &format!("*union + scroll* moves that history by the global scroll estimated each frame (search radius {} px); ", baselines.max_shift);
    out += "*all-pixels ceiling* point-samples every pixel of the reconstruction grid once on the native frame.\n\n";
    // Groups first: the numbers the quality targets are stated in.
    out += "## Groups\n\n";
    out += &header("group");
    let mut counts: Vec<usize> = rows.iter().map(|r| r.1).collect();
    counts.dedup();
    for group in ["held-out levels", "held-out episodes", "never-trained games", "other"] {
        for &count in &counts {
            let mut total = ClipScores::default();
            rows.iter().filter(|(g, c, _)| group_of(g) == group && *c == count).for_each(|(_, _, s)| total.accumulate(s));
            if total.frames > 0 {
                out += &row(group, count, &total, &psnr_ssim);
            }
        }
    }
    for &count in &counts {
        let mut total = ClipScores::default();
        rows.iter().filter(|(_, c, _)| *c == count).for_each(|(_, _, s)| total.accumulate(s));
        out += &row("all", count, &total, &psnr_ssim);
    }
    out += "\n## Games\n\n";
    out += &header("game");
    for (game, count, scores) in rows {
        out += &row(game, *count, scores, &psnr_ssim);
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
