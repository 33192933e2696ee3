//! The WebSocket protocol against a real server, with a client that sends exactly what
//! PROTOCOL.md says the Unity client sends, paced open loop at target_fps.

mod support;

use std::time::Duration;

use serde_json::json;
use support::*;

/// Streams `frames` frames open loop at `fps`, swapping coordinates at their target
/// frame as the Unity client does. Returns the target_frame_ids of updates received.
async fn stream(client: &mut Client, initial: Vec<[f32; 2]>, frames: u64, fps: f64, debug: bool) -> Vec<u64> {
    let mut coords = initial;
    let mut pending: Vec<(u64, Vec<[f32; 2]>)> = Vec::new();
    let mut updates = Vec::new();
    let period = Duration::from_secs_f64(1.0 / fps);
    for frame_id in 0..frames {
        let tick = tokio::time::Instant::now();
        if let Some(i) = pending.iter().position(|(target, _)| *target <= frame_id) {
            coords = pending.remove(i).1;
        }
        client.send(frame_message(frame_id, &coords, debug && frame_id % 3 == 0)).await;
        // Open loop: take whatever arrived, never wait for a reply.
        while let Some(message) = client.try_recv(Duration::ZERO).await {
            collect_update(&message, &mut pending, &mut updates);
        }
        tokio::time::sleep_until(tick + period).await;
    }
    // Let the last answers arrive.
    while let Some(message) = client.try_recv(Duration::from_millis(1500)).await {
        collect_update(&message, &mut pending, &mut updates);
    }
    updates
}

fn collect_update(message: &serde_json::Value, pending: &mut Vec<(u64, Vec<[f32; 2]>)>, updates: &mut Vec<u64>) {
    match message["type"].as_str() {
        Some("uv_coordinates") => {
            let target = message["payload"]["target_frame_id"].as_u64().unwrap();
            let coords = parse_coordinates(&message["payload"]);
            assert_eq!(coords.len(), SAMPLES);
            assert_eq!(message["payload"]["num_coordinates"], SAMPLES);
            assert!(coords.iter().flatten().all(|c| (0.0..=1.0).contains(c)));
            pending.push((target, coords));
            updates.push(target);
        }
        Some("error") => panic!("unexpected error: {message}"),
        _ => {}
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_unity_client_session_from_start_to_close() {
    let server = TestServer::start(&[]);
    let mut client = Client::connect(&server.ws("")).await;
    let (ack, initial) = client.start_session("mario_world1", [640, 480], true).await;
    let p = &ack["payload"];
    assert_eq!(p["checkpoint_key"], "default", "unknown keys fall back to default");
    assert_eq!(p["checkpoint_loaded"], false);
    assert_eq!(p["model_version"], "untrained");
    assert_eq!(p["sample_count"], SAMPLES);
    assert_eq!(p["max_state_dim"], 64);
    assert_eq!(p["target_fps"], 10);
    assert_eq!(p["resolution"], json!([32, 24]));
    assert_eq!(p["debug_mode"], true);
    assert_eq!(initial.len(), SAMPLES);

    let updates = stream(&mut client, initial, 20, 20.0, true).await;
    // mask_update=fixed with fixed_interval 5 and no overload: after frames 4, 9, 14, 19.
    assert_eq!(updates, vec![5, 10, 15, 20]);
    client.assert_alive().await;

    // The REST view of the session saw every frame, with PSNR from the debug frames.
    let sessions: serde_json::Value =
        serde_json::from_str(&ureq::get(&server.http("/api/sessions")).call().unwrap().into_string().unwrap()).unwrap();
    let session = &sessions["sessions"][0];
    assert_eq!(session["frames_received"], 20);
    assert_eq!(session["status"], "active");
    assert!(session["stats"]["avg_psnr"].as_f64().unwrap() > 0.0, "{session}");
    let metrics = ureq::get(&server.http("/api/metrics")).call().unwrap().into_string().unwrap();
    assert!(metrics.contains("sgaps_frames_received_total 20"), "{metrics}");
    assert!(metrics.contains("sgaps_frames_reconstructed_total"));
    client.socket.close(None).await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn several_sessions_at_once_batch_together() {
    let server = TestServer::start(&["server.batching.max_queue_delay_ms=30"]);
    let mut tasks = Vec::new();
    for i in 0..3 {
        let url = server.ws("");
        tasks.push(tokio::spawn(async move {
            let mut client = Client::connect(&url).await;
            let (_, initial) = client.start_session(&format!("game{i}"), [640, 480], false).await;
            stream(&mut client, initial, 15, 15.0, false).await
        }));
    }
    let mut all_updates = Vec::new();
    for task in tasks {
        all_updates.push(task.await.unwrap());
    }
    let metrics = ureq::get(&server.http("/api/metrics")).call().unwrap().into_string().unwrap();
    // Every 5th reconstructed frame moves the mask: at frame ids 4, 9, 14 (targets 5, 10,
    // 15) unless an overloaded machine made the server skip frames, which shifts them.
    assert!(metrics.contains("sgaps_frames_skipped_total "), "{metrics}");
    let none_skipped = metrics.contains("sgaps_frames_skipped_total 0\n");
    for updates in &all_updates {
        assert!(!updates.is_empty(), "no mask update");
        if none_skipped {
            assert!(updates.iter().all(|t| t % 5 == 0), "{updates:?}");
        }
    }
    assert!(metrics.contains("sgaps_frames_received_total 45"), "{metrics}");
    // Frames of different sessions shared forward passes.
    let batched = metrics.lines().find(|l| l.starts_with("sgaps_batch_size_bucket{le=\"1\"}")).unwrap();
    let passes = metrics.lines().find(|l| l.starts_with("sgaps_batch_size_count")).unwrap();
    let ones: f64 = batched.rsplit(' ').next().unwrap().parse().unwrap();
    let total: f64 = passes.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(ones < total, "no pass held more than one frame: {batched} / {passes}");
}

#[tokio::test(flavor = "multi_thread")]
async fn every_bad_input_gets_its_error_and_the_connection_survives() {
    let server = TestServer::start(&[]);
    let mut client = Client::connect(&server.ws("")).await;

    client.send(frame_message(0, &[[0.5, 0.5]], false)).await;
    client.expect_error("SESSION_NOT_STARTED").await;
    client.send_text("{not json").await;
    client.expect_error("INVALID_MESSAGE").await;
    client.send(json!({"payload": {}})).await;
    client.expect_error("INVALID_MESSAGE").await;
    client.send(json!({"type": "teleport", "payload": {}})).await;
    client.expect_error("UNKNOWN_MESSAGE_TYPE").await;
    client.send(json!({"type": "session_start", "payload": {"resolution": "wide"}})).await;
    client.expect_error("INVALID_MESSAGE").await;
    client.assert_alive().await;

    let (_, coords) = client.start_session("default", [640, 480], false).await;
    let bad_frames = [
        (json!({"type": "frame_data", "payload": {"frame_id": "one", "pixels": []}}), None),
        (frame_with(|p| p["pixels"][0]["u"] = json!(1.5)), Some("pixels[0].u")),
        (frame_with(|p| p["pixels"][1]["value"] = json!(300)), Some("pixels[1].value")),
        (frame_with(|p| { p["pixels"] = json!([]); p["num_pixels"] = json!(0) }), Some("pixels")),
        (frame_with(|p| p["num_pixels"] = json!(7)), Some("num_pixels")),
        (frame_with(|p| p["state_vector"] = json!(vec![0.0; 65])), Some("state_vector")),
        (
            frame_with(|p| {
                p["pixels"] = json!(vec![json!({"u": 0.1, "v": 0.1, "value": 1}); 5000]);
                p["num_pixels"] = json!(5000)
            }),
            Some("pixels"),
        ),
    ];
    for (message, field) in bad_frames {
        client.send(message).await;
        let error = client.expect_error("INVALID_FRAME_DATA").await;
        if let Some(field) = field {
            assert_eq!(error["payload"]["details"]["field"], field, "{error}");
        }
    }
    client.assert_alive().await;
    // And a good frame still goes through.
    client.send(frame_message(1, &coords, false)).await;
    client.assert_alive().await;
    let metrics = ureq::get(&server.http("/api/metrics")).call().unwrap().into_string().unwrap();
    assert!(metrics.contains("sgaps_frames_received_total 1"), "{metrics}");
}

fn frame_with(edit: impl FnOnce(&mut serde_json::Value)) -> serde_json::Value {
    let coords: Vec<[f32; 2]> = (0..10).map(|i| [i as f32 / 10.0, 0.5]).collect();
    let mut message = frame_message(3, &coords, false);
    edit(&mut message["payload"]);
    message
}

#[tokio::test(flavor = "multi_thread")]
async fn limits_overload_timeout_and_message_size() {
    let server = TestServer::start(&["server.max_sessions=1", "server.idle_timeout_s=1.5", "server.max_message_bytes=200000"]);
    // A message over twice max_message_bytes (the socket's cap) closes the connection;
    // one between is answered (tests/client_limits.rs).
    let mut oversized = Client::connect(&server.ws("")).await;
    oversized.send_text(&"x".repeat(500_000)).await;
    assert!(oversized.try_recv(Duration::from_secs(5)).await.is_none(), "closed after an oversized message");

    let mut first = Client::connect(&server.ws("")).await;
    first.start_session("default", [640, 480], false).await;
    let mut second = Client::connect(&server.ws("")).await;
    second.send(json!({"type": "session_start", "payload": {"checkpoint_key": "default", "resolution": [640, 480]}})).await;
    second.expect_error("SERVER_OVERLOAD").await;
    second.assert_alive().await;

    // An idle connection is told TIMEOUT and closed.
    let message = second.try_recv(Duration::from_secs(5)).await.expect("a TIMEOUT error");
    assert_eq!(message["payload"]["code"], "TIMEOUT", "{message}");
    assert!(second.try_recv(Duration::from_secs(2)).await.is_none(), "closed after TIMEOUT");
}

#[tokio::test(flavor = "multi_thread")]
async fn compact_forms_when_the_client_opts_in() {
    use base64::Engine as _;
    let server = TestServer::start(&[]);
    let mut client = Client::connect(&server.ws("")).await;
    client.send(json!({"type": "session_start", "payload": {"checkpoint_key": "default", "resolution": [640, 480],
        "compression": {"coordinates": true}}})).await;
    client.recv_type("session_start_ack").await;
    let coords = client.recv_type("uv_coordinates").await;
    let quantized = &coords["payload"]["coordinates_quantized"];
    assert_eq!(quantized["format"], "uint16");
    let bytes = base64::engine::general_purpose::STANDARD.decode(quantized["data"].as_str().unwrap()).unwrap();
    assert_eq!(bytes.len(), SAMPLES * 4);
    let uv: Vec<[f32; 2]> = bytes
        .chunks(4)
        .map(|c| [u16::from_le_bytes([c[0], c[1]]) as f32 / 65535.0, u16::from_le_bytes([c[2], c[3]]) as f32 / 65535.0])
        .collect();

    // pixels_compressed: LZ4-framed msgpack of [u, v, value] triples.
    let triples: Vec<(f32, f32, u8)> = uv.iter().map(|&[u, v]| (u, v, scene(0, u, v))).collect();
    let mut encoder = lz4_flex::frame::FrameEncoder::new(Vec::new());
    std::io::Write::write_all(&mut encoder, &rmp_serde::to_vec(&triples).unwrap()).unwrap();
    let data = base64::engine::general_purpose::STANDARD.encode(encoder.finish().unwrap());
    client.send(json!({"type": "frame_data", "payload": {"frame_id": 0, "timestamp": 0.0, "resolution": [640, 480],
        "num_pixels": SAMPLES, "pixels_compressed": {"format": "msgpack+lz4", "data": data}, "state_vector": []}})).await;
    client.assert_alive().await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let metrics = ureq::get(&server.http("/api/metrics")).call().unwrap().into_string().unwrap();
    assert!(metrics.contains("sgaps_frames_reconstructed_total 1"), "{metrics}");
}

#[tokio::test(flavor = "multi_thread")]
async fn bearer_token_guards_socket_and_rest() {
    let server = TestServer::start(&["server.auth_token=s3cret"]);
    assert!(tokio_tungstenite::connect_async(server.ws("")).await.is_err(), "no token, no socket");
    assert!(tokio_tungstenite::connect_async(server.ws("?token=wrong")).await.is_err());
    let mut client = Client::connect(&server.ws("?token=s3cret")).await;
    client.assert_alive().await;
    match ureq::get(&server.http("/api/sessions")).call() {
        Err(ureq::Error::Status(401, _)) => {}
        other => panic!("expected 401, got {other:?}"),
    }
    let ok = ureq::get(&server.http("/api/sessions")).set("Authorization", "Bearer s3cret").call().unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(ureq::get(&server.http("/api/health")).call().unwrap().status(), 200, "health stays open");
}
