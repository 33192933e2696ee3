//! `sgaps loadtest --soak`, short: 8 clients for 20 s against a server it starts,
//! with random disconnects, malformed and oversized messages, a checkpoint replaced
//! and the server killed with SIGKILL and restarted. Every check it makes must pass, and
//! the numbers it reports must add up.

use std::process::Command;

use serde_json::Value;

#[test]
fn a_short_soak_survives_chaos_and_a_sigkill_and_stores_every_acknowledged_frame() {
    let work_dir = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_sgaps"))
        .args(["loadtest", "--soak", "--clients", "8", "--seconds", "20", "--json", "--work-dir"])
        .arg(work_dir.path())
        .args([
            "--",
            "model=spt_small",
            "model.resolution=[32,24]",
            "sampling.default_sample_count=100",
            "mask_update=fixed",
            "mask_update.fixed_interval=5",
            "device=cpu",
            "server.storage.flush_interval_s=0.5",
            "server.max_message_bytes=100000",
        ])
        .output()
        .expect("sgaps runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let log = std::fs::read_to_string(work_dir.path().join("server.log")).unwrap_or_default();
    assert!(
        output.status.success(),
        "soak failed:\n{stdout}\n{}\nserver log tail:\n{}",
        String::from_utf8_lossy(&output.stderr),
        &log[log.len().saturating_sub(4000)..]
    );
    let r: Value = serde_json::from_str(&stdout).expect("--json prints one JSON object");

    for check in r["checks"].as_array().unwrap() {
        assert_eq!(check["passed"], true, "{check}");
    }
    assert_eq!(r["checks"].as_array().unwrap().len(), 6);
    let s = &r["storage"];
    let sent = s["frames_sent"].as_u64().unwrap();
    // 8 clients x 10 fps x 20 s, less the restart's gap, reconnects and ticks a busy
    // machine skipped.
    assert!((800..=1600).contains(&sent), "frames_sent {sent}: {r}");
    let acknowledged = s["frames_acknowledged"].as_u64().unwrap();
    let stored = s["frames_stored"].as_u64().unwrap();
    assert!(acknowledged > sent / 2 && stored >= s["frames_required"].as_u64().unwrap(), "{s}");
    assert!(stored <= sent, "{s}");
    assert_eq!(s["required_missing"], 0, "{s}");
    assert!(r["frames_reconstructed"].as_u64().unwrap() > 0, "{r}");

    // The chaos happened: more sessions than clients (reconnects after disconnects and
    // the kill), malformed and oversized messages, each answered.
    assert!(r["sessions"].as_u64().unwrap() > 8, "{r}");
    assert!(r["sessions_by_ending"]["broken"].as_u64().unwrap_or(0) >= 1, "the kill broke connections: {r}");
    assert!(r["chaos_messages_sent"].as_u64().unwrap() > 0, "{r}");
    let errors = &r["errors_by_code"];
    assert!(errors["INVALID_MESSAGE"].as_u64().unwrap_or(0) + errors["UNKNOWN_MESSAGE_TYPE"].as_u64().unwrap_or(0) > 0, "{r}");
    assert!(r["killed_at_s"].as_f64().unwrap() > 10.0, "{r}");
    assert!(r["rss"].as_array().unwrap().len() >= 15, "memory sampled every second: {r}");

    // The files the check read are where the report says.
    assert!(work_dir.path().join("data").join("soak.h5").exists());
    assert!(work_dir.path().join("checkpoints").join("soak").exists());
}
