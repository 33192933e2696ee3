//! `sgaps loadtest`: simulated game clients against a running server.
//!
//! ```text
//! metrics before ─ connect + session_start (all clients) ─ stream open loop ─ drain, close
//!                                                           └ progress bar, server RSS
//! ─ metrics after, server-side frame latencies ─ report
//! ```
//!
//! With `--soak` it owns the server instead and tries to break it (`soak.rs`).

mod chaos_client;
mod client;
mod endpoint;
mod managed_server;
mod process;
mod report;
mod scene;
mod soak;
mod soak_check;

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{ensure, Context};
use indicatif::{ProgressBar, ProgressStyle};
use tokio::time::Instant;

use crate::cli::LoadtestArgs;
use client::{ClientRun, Plan, Progress};
use endpoint::Endpoint;
use report::{Latency, LatencySource, Report};

const PROGRESS_TICK: Duration = Duration::from_millis(200);

pub fn run(args: LoadtestArgs) -> anyhow::Result<()> {
    if args.soak {
        return soak::run(args);
    }
    ensure!(args.clients > 0, "--clients must be at least 1");
    ensure!(args.seconds > 0.0, "--seconds must be positive");
    ensure!(args.fps.is_none_or(|f| f > 0.0 && f <= 1000.0), "--fps must be in (0, 1000]");
    let endpoint = Endpoint::parse(&args.url, args.token.clone())?;
    // Reaching /api first gives a clear error when nothing listens there.
    let before = endpoint.counters()?;
    let server_pid = args.server_pid.or_else(|| endpoint.local_port().and_then(process::listening_pid));

    let runtime = tokio::runtime::Runtime::new()?;
    let streamed = runtime.block_on(drive(&args, &endpoint, server_pid))?;
    drop(runtime);

    let broken = streamed.runs.iter().enumerate().find_map(|(i, r)| {
        r.broken.as_ref().map(|why| format!("client {i} (session {}): {why}", r.session_id))
    });
    let after_the_run = || match &broken {
        Some(broken) => format!("after the run, in which a client lost its connection: {broken}"),
        None => "after the run".into(),
    };
    let after = endpoint.counters().with_context(after_the_run)?;
    let mut server_ms = Vec::new();
    for run in &streamed.runs {
        server_ms.extend(endpoint.frame_latencies(&run.session_id).with_context(after_the_run)?);
    }
    let report = build_report(&args, streamed, before, after, &server_ms, server_pid);

    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        report.print_table();
    }
    if let Some(broken) = broken {
        anyhow::bail!("a client lost its connection: {broken}");
    }
    Ok(())
}

/// What the streaming phase produced.
struct Streamed {
    runs: Vec<ClientRun>,
    fps: f64,
    sample_count: usize,
    largest_rss: Option<u64>,
}

/// Starts every session, then streams them all for `--seconds` while the progress bar
/// and the server's RSS are updated.
async fn drive(args: &LoadtestArgs, endpoint: &Endpoint, server_pid: Option<u32>) -> anyhow::Result<Streamed> {
    let debug = args.debug_every > 0;
    let connecting = (0..args.clients).map(|_| client::connect(&endpoint.ws_url, &args.checkpoint_key, debug));
    let mut sessions = Vec::new();
    for (i, connected) in futures_util::future::join_all(connecting).await.into_iter().enumerate() {
        sessions.push(connected.with_context(|| format!("client {i} of {}", args.clients))?);
    }
    let fps = args.fps.unwrap_or(sessions[0].target_fps.max(1) as f64);
    let sample_count = sessions[0].sample_count;

    let progress = Arc::new(Progress::default());
    let bar = if args.json { ProgressBar::hidden() } else { ProgressBar::new((args.seconds * 1e3) as u64) };
    bar.set_style(ProgressStyle::with_template("{bar:30} {elapsed}  {msg}").expect("a valid template"));

    // Clients start a fraction of a frame apart, as independent games would.
    let start = Instant::now() + Duration::from_millis(50);
    let period = Duration::from_secs_f64(1.0 / fps);
    let clients = sessions.len();
    let tasks: Vec<_> = sessions
        .into_iter()
        .enumerate()
        .map(|(i, connected)| {
            let plan = Plan { client: i, fps, seconds: args.seconds, debug_every: args.debug_every };
            let offset = period.mul_f64(i as f64 / clients as f64);
            tokio::spawn(client::stream(connected, plan, start + offset, progress.clone()))
        })
        .collect();

    let mut largest_rss = None;
    loop {
        let rss = server_pid.and_then(process::rss_bytes);
        largest_rss = largest_rss.max(rss);
        let rss = rss.map_or(String::new(), |b| format!(", server RSS {} MiB", b >> 20));
        let sent = progress.frames_sent.load(Ordering::Relaxed);
        let replies = progress.replies.load(Ordering::Relaxed);
        bar.set_message(format!("{sent} frames sent, {replies} replies{rss}"));
        bar.set_position(start.elapsed().as_millis() as u64);
        if tasks.iter().all(|t| t.is_finished()) {
            break;
        }
        tokio::time::sleep(PROGRESS_TICK).await;
    }
    bar.finish_and_clear();
    let mut runs = Vec::new();
    for task in tasks {
        runs.push(task.await.context("a client task panicked")?);
    }
    Ok(Streamed { runs, fps, sample_count, largest_rss })
}

fn build_report(
    args: &LoadtestArgs,
    streamed: Streamed,
    before: endpoint::Counters,
    after: endpoint::Counters,
    server_ms: &[f64],
    server_pid: Option<u32>,
) -> Report {
    // Each client streams exactly --seconds (their starts differ by less than a frame).
    let seconds = args.seconds;
    let frames_sent: u64 = streamed.runs.iter().map(|r| r.sent_at.len() as u64).sum();
    let frames_reconstructed = after.reconstructed.saturating_sub(before.reconstructed);
    let frames_skipped = after.skipped.saturating_sub(before.skipped);
    let reply_ms: Vec<f64> = streamed.runs.iter().flat_map(ClientRun::reply_latencies_ms).collect();
    let reply_latency = Latency::of(&reply_ms);
    let server_latency = Latency::of(server_ms);
    let latency_source = LatencySource::choose(reply_latency.as_ref(), server_latency.as_ref());
    let chosen = match latency_source {
        LatencySource::Replies => reply_latency.as_ref(),
        LatencySource::Server => server_latency.as_ref(),
        LatencySource::None => None,
    };
    let errors: Vec<&String> = streamed.runs.iter().flat_map(|r| &r.server_errors).collect();
    Report {
        url: args.url.clone(), // without the token
        clients: streamed.runs.len(),
        fps: streamed.fps,
        seconds,
        sample_count: streamed.sample_count,
        debug_every: args.debug_every,
        frames_sent,
        sent_per_s: frames_sent as f64 / seconds,
        frames_reconstructed,
        reconstructed_per_s: frames_reconstructed as f64 / seconds,
        frames_skipped,
        frames_unanswered: frames_sent.saturating_sub(frames_reconstructed + frames_skipped),
        latency_source,
        latency_p50_ms: chosen.map(|l| l.p50_ms),
        latency_p99_ms: chosen.map(|l| l.p99_ms),
        reply_latency,
        server_latency,
        server_errors: errors.len(),
        first_server_error: errors.first().map(|e| e.to_string()),
        server_pid,
        server_rss_mib: streamed.largest_rss.map(|b| b as f64 / (1024.0 * 1024.0)),
    }
}
