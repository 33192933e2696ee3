//! `sgaps loadtest --soak`: a run that owns its server and tries to break it.
//!
//! ```text
//! write checkpoint `soak` ─ start server ─ clients (chaos) ──────────────────────────── end
//!                              │ RSS + metrics every second
//!                              ├ 40%: new checkpoint `soak` (another seed) written
//!                              ├ 60%: SIGKILL, restart on the same port and directories
//!                              └ end: SIGTERM (drain) ─ read the HDF5 files ─ checks
//! ```
//! Half the clients use the key `soak`, the others `default`.

use std::collections::{BTreeMap, HashMap};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{ensure, Context};
use serde::Serialize;
use sgaps_core::model::Model;
use sgaps_core::Config;
use tokio::time::Instant;

use super::chaos_client::{self, ChaosPlan, Ending, RunState, SessionLog};
use super::managed_server::ManagedServer;
use super::process;
use super::soak_check::{self, Check, MemorySummary, RssSample, StorageTally};
use crate::cli::LoadtestArgs;

/// The key whose checkpoint is replaced mid-run.
const SOAK_KEY: &str = "soak";
const REPLACE_AT: f64 = 0.4;
const KILL_AT: f64 = 0.6;
const SAMPLE_EVERY: Duration = Duration::from_secs(1);
/// Clients get this long after the end to finish their last heartbeat and close.
const CLIENT_GRACE: Duration = Duration::from_secs(30);

#[derive(Serialize)]
pub struct SoakReport {
    pub work_dir: PathBuf,
    pub server_overrides: Vec<String>,
    pub clients: usize,
    pub seconds: f64,
    pub fps: f64,
    pub sessions: usize,
    pub sessions_by_ending: BTreeMap<String, usize>,
    pub storage: StorageTally,
    /// Summed over both server processes (the last reading of each).
    pub frames_reconstructed: u64,
    pub coordinate_updates: u64,
    pub chaos_messages_sent: u64,
    pub errors_by_code: BTreeMap<String, u64>,
    pub checkpoint_replaced_at_s: Option<f64>,
    /// model_version of `soak` sessions started before and after the replacement.
    pub soak_versions_before: Vec<String>,
    pub soak_versions_after: Vec<String>,
    pub killed_at_s: Option<f64>,
    pub restart_took_s: Option<f64>,
    pub memory: Vec<MemorySummary>,
    pub rss: Vec<RssSample>,
    pub checks: Vec<Check>,
}

pub fn run(args: LoadtestArgs) -> anyhow::Result<()> {
    ensure!(args.clients > 0, "--clients must be at least 1");
    ensure!(args.seconds >= 5.0, "--soak needs --seconds of at least 5 (it kills and restarts the server mid-run)");
    let fps = args.fps.unwrap_or(10.0);
    ensure!(fps > 0.0 && fps <= 240.0, "--fps must be in (0, 240] for --soak");
    let work_dir = match &args.work_dir {
        Some(dir) => dir.clone(),
        None => std::env::temp_dir().join(format!("sgaps-soak-{}", std::process::id())),
    };
    std::fs::create_dir_all(&work_dir).with_context(|| format!("creating --work-dir {}", work_dir.display()))?;
    let conf_dir = std::env::var_os("SGAPS_CONF_DIR").map(PathBuf::from);
    let config = Config::load(conf_dir.as_deref(), &args.server_overrides).context("the server overrides after `--`")?;

    let mut server = ManagedServer::start(&work_dir, &args.server_overrides)?;
    write_checkpoint(&config, &server.checkpoint_dir, 1)?;
    eprintln!("soak: server pid {} on port {}, work dir {}", server.pid(), server.port, work_dir.display());

    let state = Arc::new(RunState::default());
    let runtime = tokio::runtime::Runtime::new()?;
    let started = Instant::now();
    let end = started + Duration::from_secs_f64(args.seconds);
    let clients: Vec<_> = (0..args.clients as usize)
        .map(|client| {
            let plan = ChaosPlan {
                client,
                url: server.ws_url(),
                checkpoint_key: if client % 2 == 0 { SOAK_KEY.into() } else { "default".into() },
                fps,
                end,
                oversized_bytes: config.server.max_message_bytes + 1024,
                debug_every: args.debug_every,
                seed: 0x50A4 + client as u64,
                run: state.clone(),
            };
            runtime.spawn(chaos_client::run(plan))
        })
        .collect();

    let mut rss = Vec::new();
    let mut reconstructed_by_instance = [0u64; 2];
    let mut replaced_at = None;
    let mut killed_at = None;
    let mut restart_took = None;
    let mut unexpected_exits = Vec::new();
    let grace_end = end + CLIENT_GRACE;
    // One updating line on a terminal, a line every ten seconds in a log.
    let interactive = std::io::stderr().is_terminal();
    while !clients.iter().all(|c| c.is_finished()) && Instant::now() < grace_end {
        let t = started.elapsed().as_secs_f64();
        let instance = state.instance.load(Ordering::SeqCst);
        if let Some(status) = server.exited() {
            unexpected_exits.push(format!("instance {instance} exited at {t:.1} s: {status}"));
            server.restart()?;
        }
        if let Some(mib) = process::rss_bytes(server.pid()).map(|b| b as f64 / (1024.0 * 1024.0)) {
            rss.push(RssSample { t, instance, mib });
        }
        if let Some(n) = reconstructed(&server) {
            reconstructed_by_instance[instance.min(1)] = n;
        }
        if replaced_at.is_none() && t >= args.seconds * REPLACE_AT {
            write_checkpoint(&config, &server.checkpoint_dir, 2)?;
            replaced_at = Some(Instant::now());
            eprintln!("soak: {t:.1} s: checkpoint `{SOAK_KEY}` replaced");
        }
        if killed_at.is_none() && t >= args.seconds * KILL_AT {
            let at = Instant::now();
            state.instance.store(1, Ordering::SeqCst);
            server.kill()?;
            killed_at = Some(at);
            server.restart()?;
            restart_took = Some(at.elapsed().as_secs_f64());
            eprintln!("soak: {t:.1} s: server killed with SIGKILL, restarted in {:.1} s", at.elapsed().as_secs_f64());
        }
        let progress = format!("soak: {t:5.1} s  {} frames sent, {} sessions", state.frames_sent.load(Ordering::Relaxed), state.sessions.load(Ordering::Relaxed));
        if interactive {
            eprint!("\r{progress}   ");
        } else if rss.len() % 10 == 1 {
            eprintln!("{progress}");
        }
        std::thread::sleep(SAMPLE_EVERY);
    }
    if interactive {
        eprintln!();
    }
    if let Some(n) = reconstructed(&server) {
        reconstructed_by_instance[1] = n;
    }
    let mut logs: Vec<SessionLog> = Vec::new();
    for client in clients {
        ensure!(client.is_finished(), "a client did not finish within {CLIENT_GRACE:?} of the end");
        logs.extend(runtime.block_on(client).context("a client task panicked")?);
    }
    drop(runtime);

    let status = server.terminate()?;
    let (stored, unreadable) = read_stored(&server.data_root)?;
    let flush_s = config.server.storage.flush_interval_s;
    let tally = soak_check::tally_storage(&logs, &stored, killed_at.map(|k| (k, flush_s)));
    let (memory, memory_summary) = soak_check::memory_check(&rss);
    let crash = Check {
        name: "no crash but the planned kill",
        passed: unexpected_exits.is_empty() && status.success(),
        detail: if unexpected_exits.is_empty() {
            format!("the last server stopped on SIGTERM with {status}")
        } else {
            unexpected_exits.join("; ")
        },
    };
    let (before, after) = soak_versions(&logs, replaced_at);
    let replaced = Check {
        name: "new sessions serve the replaced checkpoint",
        passed: !before.is_empty() && !after.is_empty() && after.iter().all(|v| !before.contains(v)),
        detail: format!("`{SOAK_KEY}` sessions before: {before:?}, after: {after:?}"),
    };
    let readable = Check {
        name: "stored files readable",
        passed: unreadable.is_empty(),
        detail: if unreadable.is_empty() { "every HDF5 file read back whole".into() } else { unreadable.join("; ") },
    };
    let checks = vec![crash, readable, soak_check::storage_check(&tally), soak_check::chaos_check(&logs), memory, replaced];

    let mut errors_by_code = BTreeMap::new();
    let mut sessions_by_ending = BTreeMap::new();
    for log in &logs {
        for (code, n) in &log.errors {
            *errors_by_code.entry(code.clone()).or_default() += n;
        }
        let ending = match log.ending {
            Ending::Clean => "clean",
            Ending::Abrupt => "abrupt",
            Ending::Broken(_) => "broken",
        };
        *sessions_by_ending.entry(ending.to_string()).or_default() += 1;
    }
    let since_start = |at: Option<Instant>| at.map(|a| a.duration_since(started).as_secs_f64());
    let report = SoakReport {
        work_dir,
        server_overrides: args.server_overrides.clone(),
        clients: args.clients as usize,
        seconds: args.seconds,
        fps,
        sessions: logs.len(),
        sessions_by_ending,
        storage: tally,
        frames_reconstructed: reconstructed_by_instance.iter().sum(),
        coordinate_updates: logs.iter().map(|l| l.coordinate_updates).sum(),
        chaos_messages_sent: logs.iter().map(|l| l.chaos_sent).sum(),
        errors_by_code,
        checkpoint_replaced_at_s: since_start(replaced_at),
        soak_versions_before: before,
        soak_versions_after: after,
        killed_at_s: since_start(killed_at),
        restart_took_s: restart_took,
        memory: memory_summary,
        rss,
        checks,
    };
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print_table(&report);
    }
    let failed: Vec<&str> = report.checks.iter().filter(|c| !c.passed).map(|c| c.name).collect();
    ensure!(failed.is_empty(), "soak checks failed: {}", failed.join(", "));
    Ok(())
}

/// A checkpoint of the served model configuration, weights from `seed`, under `soak`.
fn write_checkpoint(config: &Config, checkpoint_dir: &Path, seed: i64) -> anyhow::Result<()> {
    let model = Model::new_seeded(&config.model, tch::Device::Cpu, seed)?;
    model.save_checkpoint(&checkpoint_dir.join(SOAK_KEY))?;
    Ok(())
}

/// `sgaps_frames_reconstructed_total` of the running server, if it answers.
fn reconstructed(server: &ManagedServer) -> Option<u64> {
    let text = ureq::get(&server.http("/api/metrics")).timeout(Duration::from_secs(2)).call().ok()?.into_string().ok()?;
    let line = text.lines().find(|l| l.starts_with("sgaps_frames_reconstructed_total "))?;
    line.split_whitespace().nth(1)?.parse::<f64>().ok().map(|v| v as u64)
}

/// Frame ids by session id, and the files that could not be read.
type Stored = (HashMap<String, Vec<u64>>, Vec<String>);

/// Frame ids by session id, from every HDF5 file under `data_root`, and the files that
/// could not be read (their sessions then count as not stored).
fn read_stored(data_root: &Path) -> anyhow::Result<Stored> {
    let mut stored = HashMap::new();
    let mut unreadable = Vec::new();
    for entry in std::fs::read_dir(data_root).with_context(|| format!("reading {}", data_root.display()))? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "h5") {
            match sgaps_core::data::read_file(&path) {
                Ok(sessions) => {
                    for session in sessions {
                        stored.insert(session.info.session_id, session.frames.iter().map(|f| f.frame_id).collect());
                    }
                }
                Err(e) => unreadable.push(e.to_string()),
            }
        }
    }
    Ok((stored, unreadable))
}

/// Distinct model versions of `soak` sessions started before and after the replacement
/// (sessions started within a second of it are left out: they may have raced it).
fn soak_versions(logs: &[SessionLog], replaced_at: Option<Instant>) -> (Vec<String>, Vec<String>) {
    let Some(replaced) = replaced_at else { return (vec![], vec![]) };
    let mut before: Vec<String> = Vec::new();
    let mut after: Vec<String> = Vec::new();
    for log in logs.iter().filter(|l| l.checkpoint_key == SOAK_KEY) {
        let started = log.started;
        let side = if started + Duration::from_secs(1) < replaced {
            &mut before
        } else if started > replaced + Duration::from_secs(1) {
            &mut after
        } else {
            continue;
        };
        if !side.contains(&log.model_version) {
            side.push(log.model_version.clone());
        }
    }
    (before, after)
}

fn print_table(r: &SoakReport) {
    let s = &r.storage;
    println!("soak       {} clients x {} fps for {:.0} s ({:.1} min), server {:?}", r.clients, r.fps, r.seconds, r.seconds / 60.0, r.server_overrides);
    println!("sessions   {} ({:?})", r.sessions, r.sessions_by_ending);
    println!(
        "frames     sent {}   acknowledged {}   refused {}   stored {}   reconstructed {}   coordinate updates {}",
        s.frames_sent, s.frames_acknowledged, s.frames_refused, s.frames_stored, r.frames_reconstructed, r.coordinate_updates
    );
    println!("chaos      {} malformed/oversized messages; errors {:?}", r.chaos_messages_sent, r.errors_by_code);
    let at = |x: Option<f64>| x.map_or("never".to_string(), |v| format!("{v:.1} s"));
    println!(
        "events     checkpoint replaced at {}, SIGKILL at {} (restart took {})",
        at(r.checkpoint_replaced_at_s),
        at(r.killed_at_s),
        at(r.restart_took_s)
    );
    for m in &r.memory {
        let mib = |x: Option<f64>| x.map_or("-".to_string(), |v| format!("{v:.0}"));
        println!(
            "memory     instance {}: start {:.0} MiB, after warm-up {} MiB, end {} MiB, peak {:.0} MiB ({} samples)",
            m.instance,
            m.start_mib,
            mib(m.after_warmup_mib),
            mib(m.end_peak_mib),
            m.peak_mib,
            m.samples
        );
    }
    for c in &r.checks {
        println!("{}  {}: {}", if c.passed { "PASS" } else { "FAIL" }, c.name, c.detail);
    }
    println!("work dir   {}", r.work_dir.display());
}
