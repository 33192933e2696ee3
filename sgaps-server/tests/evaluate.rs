//! `sgaps evaluate` on a recorded file with ground truth: a report row per sample count
//! and loop, and a picture grid per run; a missing file and one without ground truth
//! are refused.

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use sgaps_core::data::{RecordedFrame, Recorder, SessionInfo};

/// Records six frames of session "clip" to `dir/game.h5`, with ground truth or without.
fn record_game(dir: &Path, with_ground_truth: bool) {
    let recorder = Recorder::start(dir, Duration::from_secs(1)).unwrap();
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
        let ground_truth = with_ground_truth.then_some(truth);
        let pixels = vec![[0.5, 0.5, 100.0]];
        recorder.record("clip", RecordedFrame { frame_id: t as u64, timestamp: 0.0, pixels, state: vec![], ground_truth });
    }
    recorder.shutdown();
}

/// `sgaps evaluate --data <data>` with a small untrained model.
fn evaluate(data: &Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sgaps"))
        .args(["evaluate", "--data"])
        .arg(data)
        .args(extra)
        .args(["model=spt_small", "model.resolution=[32,24]", "device=cpu"])
        .arg(format!("checkpoint_dir={}", data.with_file_name("none").display()))
        .env("RUST_LOG", "error")
        .output()
        .unwrap()
}

#[test]
fn evaluate_writes_a_report_and_pictures() {
    let dir = tempfile::tempdir().unwrap();
    record_game(dir.path(), true);
    let out = dir.path().join("evaluation");
    let output = evaluate(&dir.path().join("game.h5"), &["--samples", "50,100", "--out", out.to_str().unwrap()]);
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

}

#[test]
fn a_missing_file_is_refused_with_its_path() {
    let dir = tempfile::tempdir().unwrap();
    let output = evaluate(&dir.path().join("missing.h5"), &["--out", dir.path().join("evaluation").to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(stderr.contains("missing.h5: ") && stderr.contains("No such file or directory"), "{stderr}");
    assert!(!stderr.contains("ground-truth"), "not mistaken for a file without ground truth: {stderr}");
}

#[test]
fn a_file_without_ground_truth_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    record_game(dir.path(), false);
    let output = evaluate(&dir.path().join("game.h5"), &["--out", dir.path().join("evaluation").to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(stderr.contains("game.h5: no session holds ground-truth frames (record with frame_data_debug)"), "{stderr}");
    assert!(!dir.path().join("evaluation").exists(), "refused before anything is written");
}
