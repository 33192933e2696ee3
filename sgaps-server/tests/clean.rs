//! `sgaps clean` on a recorded file: a session with thin frames and a still segment
//! and a session without state; the report counts each step and the chart is written.

use std::process::Command;
use std::time::Duration;

use sgaps_core::data::{RecordedFrame, Recorder, SessionInfo};

fn info(session_id: &str) -> SessionInfo {
    SessionInfo {
        session_id: session_id.into(),
        created_at: 0.0,
        checkpoint_key: "game".into(),
        model_version: "untrained".into(),
        client_resolution: [64, 48],
        resolution: [32, 24],
        sample_count: 32,
        max_state_dim: 4,
        sentinel_value: -999.0,
    }
}

fn frame(frame_id: u64, pixels: usize, state: Vec<f32>) -> RecordedFrame {
    RecordedFrame { frame_id, timestamp: frame_id as f64, pixels: vec![[0.5, 0.5, 100.0]; pixels], state, ground_truth: None }
}

#[test]
fn clean_reports_every_step_and_writes_the_chart() {
    let dir = tempfile::tempdir().unwrap();
    let recorder = Recorder::start(dir.path(), Duration::from_secs(1)).unwrap();
    // "moving": 40 frames, frames 5 and 6 with 4 pixels, still on frames 20..30.
    recorder.begin_session(info("moving"));
    for t in 0..40u64 {
        let x = (if t < 20 { t } else if t < 30 { 19 } else { t - 10 }) as f32;
        recorder.record("moving", frame(t, if t == 5 || t == 6 { 4 } else { 32 }, vec![x, 0.5 * x, 1.0]));
    }
    recorder.begin_session(info("stateless"));
    for t in 0..10u64 {
        recorder.record("stateless", frame(t, 32, vec![]));
    }
    recorder.shutdown();

    let out = dir.path().join("cleaning");
    let output = Command::new(env!("CARGO_BIN_EXE_sgaps"))
        .args(["clean", "--data"])
        .arg(dir.path().join("game.h5"))
        .arg("--out")
        .arg(&out)
        .args(["cleaning.min_pixels=16", "cleaning.balance.clusters=3"])
        .env("RUST_LOG", "error")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(String::from_utf8_lossy(&output.stdout).starts_with(&report));
    // Thin frames go first, then exactly the still segment; the stateless session keeps all.
    assert!(report.contains("| game.h5/moving | 40 | 38 | 28 |"), "{report}");
    assert!(report.contains("| game.h5/stateless | 10 | 10 | 10 |"), "{report}");
    assert!(report.contains("no state vector: all kept"), "{report}");
    assert!(report.contains("| **total** | 50 | 48 | 38 |"), "{report}");

    // Cluster sizes add up to the frames before and after balancing.
    let cluster_rows: Vec<(usize, usize)> = report
        .split("| cluster | before | after |")
        .nth(1)
        .unwrap()
        .lines()
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .map(|l| {
            let cells: Vec<usize> = l.split('|').filter_map(|c| c.trim().parse().ok()).collect();
            (cells[1], cells[2])
        })
        .collect();
    assert!(!cluster_rows.is_empty() && cluster_rows.len() <= 3, "{report}");
    assert_eq!(cluster_rows.iter().map(|r| r.0).sum::<usize>(), 38);
    let balanced: usize = cluster_rows.iter().map(|r| r.1).sum();
    assert!(report.contains(&format!("| **total** | 50 | 48 | 38 | {balanced} |")), "{report}");
    assert!(cluster_rows.iter().all(|(before, after)| after <= before));
    assert!(image::open(out.join("clusters.png")).unwrap().width() > 0);

    // A missing file is named in the error.
    let failed = Command::new(env!("CARGO_BIN_EXE_sgaps")).args(["clean", "--data", "/nonexistent.h5"]).output().unwrap();
    assert!(!failed.status.success());
    assert!(String::from_utf8_lossy(&failed.stderr).contains("nonexistent.h5"));
}
