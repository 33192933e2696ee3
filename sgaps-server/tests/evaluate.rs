//! `sgaps evaluate` on a recorded file with ground truth: a report row per sample count
//! and loop, and a picture grid per run.

use std::process::Command;
use std::time::Duration;

use sgaps_core::data::{RecordedFrame, Recorder, SessionInfo};

#[test]
fn evaluate_writes_a_report_and_pictures() {
    let dir = tempfile::tempdir().unwrap();
    let recorder = Recorder::start(dir.path(), Duration::from_secs(1)).unwrap();
    recorder.begin_session(SessionInfo {
        session_id: "clip".into(),
        created_at: 0.0,
        checkpoint_key: "game".into(),
        model_version: "untrained".into(),
        client_resolution: [64, 48],
        resolution: [32, 24],
        sample_count: 100,
        max_state_dim: 64,
        sentinel_value: -999.0,
    });
    for t in 0..6u32 {
        let truth = image::GrayImage::from_fn(64, 48, |x, y| image::Luma([((x + 2 * t) * 3 + y) as u8]));
        recorder.record("clip", RecordedFrame { frame_id: t as u64, timestamp: 0.0, pixels: vec![], state: vec![], ground_truth: Some(truth) });
    }
    recorder.shutdown();

    let out = dir.path().join("evaluation");
    let output = Command::new(env!("CARGO_BIN_EXE_sgaps"))
        .args(["evaluate", "--data"])
        .arg(dir.path().join("game.h5"))
        .args(["--samples", "50,100", "--out"])
        .arg(&out)
        .args(["model=spt_small", "model.resolution=[32,24]", "device=cpu"])
        .arg(format!("checkpoint_dir={}", dir.path().join("none").display()))
        .env("RUST_LOG", "error")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    for row in ["| game | 50 | 6 |", "| game | 100 | 6 |", "| other | 100 | 6 |", "| all | 50 | 6 |"] {
        assert!(report.contains(row), "missing `{row}` in\n{report}");
    }
    for method in ["model closed loop", "model space-time", "union + scroll", "all-pixels ceiling"] {
        assert!(report.contains(method), "missing `{method}` in\n{report}");
    }
    for picture in ["game_50.png", "game_100.png"] {
        let image = image::open(out.join(picture)).unwrap();
        assert!(image.width() > 4 * 32 && image.height() >= 24, "{picture}");
    }
    let strip = image::open(out.join("game_100_strip.png")).unwrap();
    assert!(strip.height() > 4 * 24 && strip.width() > 6 * 32, "{}x{}", strip.width(), strip.height());

    // A file without ground truth is refused with a clear message.
    let failed = Command::new(env!("CARGO_BIN_EXE_sgaps")).args(["evaluate", "--data", "/nonexistent.h5"]).output().unwrap();
    assert!(!failed.status.success());
    assert!(String::from_utf8_lossy(&failed.stderr).contains("nonexistent.h5"));
}
