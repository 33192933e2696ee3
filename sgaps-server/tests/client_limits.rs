//! Every limit on what a client controls, over a real WebSocket: each bad input is
//! answered with its error code and `details.reason`, and a normal frame on the same
//! connection is answered after it. Also: the recorder's memory bound refuses frames
//! before they count as received (and every accepted frame is stored), and the registry
//! forgets ended sessions on its timer.

mod support;

use std::time::Duration;

use futures_util::StreamExt;
use serde_json::{json, Value};
use support::*;
use tokio_tungstenite::tungstenite::Message;

/// Sends a valid frame and waits for its answer: with `mask_update=every_frame` every
/// reconstructed frame is answered with coordinates for the next one.
async fn answered_normally(client: &mut Client, frame_id: u64, coords: &[[f32; 2]]) {
    client.send(frame_message(frame_id, coords, false)).await;
    loop {
        let message = client.recv().await;
        assert_ne!(message["type"], "error", "{message}");
        if message["type"] == "uv_coordinates" && message["payload"]["target_frame_id"] == frame_id + 1 {
            return;
        }
    }
}

/// The next error: its code and `details.reason` as expected.
async fn expect_refusal(client: &mut Client, code: &str, reason: &str) -> Value {
    let error = client.expect_error(code).await;
    assert_eq!(error["payload"]["details"]["reason"], reason, "{error}");
    error
}

fn metrics(server: &TestServer) -> String {
    ureq::get(&server.http("/api/metrics")).call().unwrap().into_string().unwrap()
}

fn refused_total(server: &TestServer, reason: &str) -> u64 {
    let prefix = format!("sgaps_refused_total{{reason=\"{reason}\"}} ");
    metrics(server).lines().find_map(|l| l.strip_prefix(&prefix).map(|v| v.parse().unwrap())).unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread")]
async fn every_limit_answers_and_the_connection_goes_on() {
    let server = TestServer::start(&[
        "mask_update=every_frame",
        "server.max_message_bytes=200000",
        "server.max_frames_per_second=20",
        "server.max_sessions=2",
        "server.max_sessions_per_connection=2",
        "server.max_debug_frame_pixels=10000",
        "sampling.max_sample_count=150",
    ]);
    let mut client = Client::connect(&server.ws("")).await;
    let (_, coords) = client.start_session("default", [640, 480], true).await;
    answered_normally(&mut client, 0, &coords).await;

    // A message over max_message_bytes: answered unread.
    client.send_text(&"x".repeat(300_000)).await;
    let error = expect_refusal(&mut client, "INVALID_MESSAGE", "message_too_large").await;
    assert_eq!(error["payload"]["details"]["bytes"], 300_000);
    answered_normally(&mut client, 1, &coords).await;

    // More pixels than sampling.max_sample_count.
    let many: Vec<[f32; 2]> = (0..151).map(|i| [i as f32 / 151.0, 0.5]).collect();
    client.send(frame_message(2, &many, false)).await;
    let error = client.expect_error("INVALID_FRAME_DATA").await;
    assert_eq!(error["payload"]["details"]["field"], "pixels", "{error}");
    answered_normally(&mut client, 3, &coords).await;

    // A debug PNG whose base64 text alone is more than max_debug_frame_pixels can need.
    let mut debug = frame_message(4, &coords, true);
    debug["payload"]["full_frame_base64"] = json!("A".repeat(150_000));
    client.send(debug).await;
    let error = client.expect_error("INVALID_FRAME_DATA").await;
    assert_eq!(error["payload"]["details"]["field"], "full_frame_base64", "{error}");
    answered_normally(&mut client, 5, &coords).await;

    // Frames faster than max_frames_per_second: the excess is refused, each frame named.
    tokio::time::sleep(Duration::from_millis(1100)).await; // a full bucket of 20
    for frame_id in 6..46 {
        client.send(frame_message(frame_id, &coords, false)).await;
    }
    let mut refused = Vec::new();
    // Until the server falls quiet (which also refills the bucket).
    while let Some(message) = client.try_recv(Duration::from_millis(1500)).await {
        if message["type"] == "error" {
            assert_eq!(message["payload"]["code"], "SERVER_OVERLOAD", "{message}");
            assert_eq!(message["payload"]["details"]["reason"], "frame_rate", "{message}");
            refused.push(message["payload"]["details"]["frame_id"].as_u64().unwrap());
        }
    }
    // 20 tokens, and a few more refill while the burst is read.
    assert!((16..=20).contains(&refused.len()), "refused {refused:?}");
    assert!(refused.iter().all(|&f| f >= 26), "the first 20 frames were within the burst: {refused:?}");
    assert_eq!(refused_total(&server, "frame_rate"), refused.len() as u64);
    answered_normally(&mut client, 46, &coords).await;

    // Sessions per connection: the second start replaces the first, a third is refused
    // and the second session goes on.
    let (_, coords) = client.start_session("default", [640, 480], false).await;
    client.send(json!({"type": "session_start", "payload": {"checkpoint_key": "default", "resolution": [640, 480]}})).await;
    expect_refusal(&mut client, "SERVER_OVERLOAD", "session_starts").await;
    answered_normally(&mut client, 0, &coords).await;

    // Sessions overall: two stream, a third connection is refused until one ends.
    let mut second = Client::connect(&server.ws("")).await;
    second.start_session("default", [640, 480], false).await;
    let mut third = Client::connect(&server.ws("")).await;
    third.send(json!({"type": "session_start", "payload": {"checkpoint_key": "default", "resolution": [640, 480]}})).await;
    expect_refusal(&mut third, "SERVER_OVERLOAD", "session_limit").await;
    third.assert_alive().await;
    drop(second);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (_, third_coords) = third.start_session("default", [640, 480], false).await;
    answered_normally(&mut third, 0, &third_coords).await;

    // A message beyond the socket's cap (twice max_message_bytes) closes that connection
    // with 1009; the server and every other connection go on.
    let mut huge = Client::connect(&server.ws("")).await;
    huge.send_text(&"x".repeat(500_000)).await;
    let close = loop {
        match tokio::time::timeout(Duration::from_secs(10), huge.socket.next()).await.expect("closed within 10 s") {
            Some(Ok(Message::Close(frame))) => break frame.expect("a close frame with a code"),
            Some(Ok(_)) => continue,
            other => panic!("expected a close frame, got {other:?}"),
        }
    };
    assert_eq!(u16::from(close.code), 1009, "{close:?}");
    answered_normally(&mut client, 1, &coords).await;
    assert_eq!(refused_total(&server, "message_too_large"), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn frames_beyond_the_storage_bound_are_refused_and_every_accepted_one_is_stored() {
    // Each debug frame buffers ~20 KB (a 160x120 ground truth); the session may hold 5
    // of them, and nothing is written for an hour.
    let server = TestServer::start(&[
        "server.storage.flush_interval_s=3600",
        "server.storage.max_session_buffered_bytes=110000",
        "server.retention.max_ended_sessions=1",
        "server.retention.prune_interval_s=0.2",
    ]);
    let mut client = Client::connect(&server.ws("")).await;
    let (ack, coords) = client.start_session("bounded", [640, 480], true).await;
    let session_id = ack["payload"]["session_id"].as_str().unwrap().to_string();
    for frame_id in 0..8 {
        client.send(frame_message(frame_id, &coords, true)).await;
    }
    let mut refused = Vec::new();
    while refused.len() < 3 {
        let error = expect_refusal(&mut client, "SERVER_OVERLOAD", "storage_full").await;
        refused.push(error["payload"]["details"]["frame_id"].as_u64().unwrap());
    }
    assert_eq!(refused, vec![5, 6, 7]);
    client.assert_alive().await;
    let text = metrics(&server);
    assert!(text.contains("sgaps_frames_received_total 5"), "refused frames are not received: {text}");
    let buffered: f64 = text.lines().find_map(|l| l.strip_prefix("sgaps_storage_buffered_bytes ")).unwrap().parse().unwrap();
    assert!(buffered > 5.0 * 19_200.0 && buffered <= 110_000.0, "buffered {buffered}");
    assert_eq!(refused_total(&server, "storage_full"), 3);

    // Ending the session writes what it holds: exactly the accepted frames.
    drop(client);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut other = Client::connect(&server.ws("")).await;
    other.start_session("other", [640, 480], false).await;
    drop(other);
    tokio::time::sleep(Duration::from_millis(800)).await;
    let sessions = sgaps_core::data::read_file(&server.h5_path("bounded")).expect("the session's file");
    let stored: Vec<u64> = sessions[0].frames.iter().map(|f| f.frame_id).collect();
    assert_eq!(stored, vec![0, 1, 2, 3, 4]);

    // Retention keeps one ended session: the newer one; the timer pruned the first.
    let list: Value = serde_json::from_str(&ureq::get(&server.http("/api/sessions")).call().unwrap().into_string().unwrap()).unwrap();
    let ids: Vec<&str> = list["sessions"].as_array().unwrap().iter().map(|s| s["session_id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 1, "{list}");
    assert_ne!(ids[0], session_id, "the older ended session was pruned");
    assert!(metrics(&server).contains("sgaps_registry_pruned_total 1"));
}

#[tokio::test(flavor = "multi_thread")]
async fn connections_beyond_the_limit_are_refused_until_one_closes() {
    let server = TestServer::start(&["server.max_connections=2"]);
    let mut first = Client::connect(&server.ws("")).await;
    let _second = Client::connect(&server.ws("")).await;
    match tokio_tungstenite::connect_async(server.ws("")).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => assert_eq!(response.status(), 503),
        other => panic!("expected HTTP 503, got {:?}", other.map(|_| "a connection")),
    }
    first.assert_alive().await;
    first.socket.close(None).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut third = Client::connect(&server.ws("")).await;
    third.assert_alive().await;
    assert_eq!(refused_total(&server, "connection_limit"), 1);
}

#[test]
fn a_limit_that_would_refuse_everything_is_an_error_naming_its_key() {
    for (setting, key) in [
        ("server.max_frames_per_second=0", "server.max_frames_per_second"),
        ("server.storage.max_buffered_bytes=0", "server.storage.max_buffered_bytes"),
        ("server.retention.prune_interval_s=-1", "server.retention.prune_interval_s"),
    ] {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_sgaps"))
            .args(["serve", "model=spt_small", "device=cpu", "server.port=1", setting])
            .output()
            .expect("sgaps runs");
        assert!(!output.status.success(), "{setting} was accepted");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(&format!("`{key}` must be a positive number")), "{setting}: {stderr}");
    }
}
