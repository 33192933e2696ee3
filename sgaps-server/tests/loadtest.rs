//! `sgaps loadtest` against a real server: the numbers it reports add up, and a server
//! that is missing or refuses it is a clear error.

mod support;

use std::process::{Command, Output};

use serde_json::Value;
use support::TestServer;

fn loadtest(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sgaps")).arg("loadtest").args(args).output().expect("sgaps runs")
}

fn report(output: &Output) -> Value {
    assert!(output.status.success(), "loadtest failed: {}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).expect("--json prints one JSON object")
}

#[test]
fn every_frame_is_answered_when_the_mask_is_renewed_every_frame() {
    let server = TestServer::start(&["mask_update.fixed_interval=1"]);
    let r = report(&loadtest(&["--url", &server.ws(""), "--clients", "2", "--seconds", "3", "--json"]));

    assert_eq!(r["fps"], 10.0, "the fps of session_start_ack: {r}");
    assert_eq!(r["sample_count"], support::SAMPLES);
    // 2 clients x 10 fps x 3 s; a client that falls behind drops a frame or two.
    let sent = r["frames_sent"].as_u64().unwrap();
    assert!((54..=60).contains(&sent), "frames_sent {sent}: {r}");
    let reconstructed = r["frames_reconstructed"].as_u64().unwrap();
    assert!(reconstructed > 0, "{r}");
    // Every frame is reconstructed or skipped for a newer one of its session.
    assert_eq!(reconstructed + r["frames_skipped"].as_u64().unwrap(), sent, "{r}");
    assert_eq!(r["frames_unanswered"], 0, "{r}");

    // With fixed_interval 1 each reconstruction is answered with uv_coordinates.
    assert_eq!(r["latency_source"], "replies", "{r}");
    assert_eq!(r["reply_latency"]["frames"].as_u64().unwrap(), reconstructed, "{r}");
    assert_eq!(r["server_latency"]["frames"].as_u64().unwrap(), reconstructed, "{r}");
    let (p50, p99) = (r["latency_p50_ms"].as_f64().unwrap(), r["latency_p99_ms"].as_f64().unwrap());
    assert!(p50 > 0.0 && p99 >= p50 && p99 < 5000.0, "{r}");
    // The client's measure includes the server's (receipt to reconstruction).
    assert!(p50 >= r["server_latency"]["p50_ms"].as_f64().unwrap(), "{r}");
    assert_eq!(r["server_errors"], 0, "{r}");

    assert_eq!(r["server_pid"], server.child.id(), "the process listening on the port: {r}");
    assert!(r["server_rss_mib"].as_f64().unwrap() > 1.0, "{r}");
}

#[test]
fn other_mask_modes_fall_back_to_the_servers_latency_and_tokens_pass() {
    // The test server renews the mask every 5 frames: a reply for one frame in five.
    let server = TestServer::start(&["server.auth_token=s3cret"]);
    let url = server.ws("");
    let r = report(&loadtest(&["--url", &url, "--token", "s3cret", "--seconds", "2", "--debug-every", "4", "--json"]));
    assert_eq!(r["latency_source"], "server", "{r}");
    let reconstructed = r["frames_reconstructed"].as_u64().unwrap();
    assert!(reconstructed > 0, "{r}");
    assert_eq!(r["server_latency"]["frames"].as_u64().unwrap(), reconstructed, "{r}");
    assert!(r["latency_p50_ms"].as_f64().unwrap() > 0.0, "{r}");
    assert!(r["reply_latency"]["frames"].as_u64().unwrap() < reconstructed, "{r}");
    assert_eq!(r["server_errors"], 0, "debug frames are accepted: {r}");

    let refused = loadtest(&["--url", &url, "--seconds", "1"]);
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("401") && stderr.contains("--token"), "{stderr}");
}

#[test]
fn a_missing_server_or_a_bad_url_is_a_clear_error() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let nobody = loadtest(&["--url", &format!("ws://127.0.0.1:{port}/ws/stream"), "--seconds", "1"]);
    assert!(!nobody.status.success());
    let stderr = String::from_utf8_lossy(&nobody.stderr);
    assert!(stderr.contains("cannot reach the server") && stderr.to_lowercase().contains("refused"), "{stderr}");

    let bad = loadtest(&["--url", "http://127.0.0.1:8000/ws/stream", "--seconds", "1"]);
    assert!(!bad.status.success());
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(stderr.contains("bad --url") && stderr.contains("ws://HOST:PORT"), "{stderr}");
}
