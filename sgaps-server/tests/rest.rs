//! The REST API of PROTOCOL.md against a real server.

mod support;

use std::time::Duration;

use serde_json::{json, Value};
use support::*;

fn get(server: &TestServer, path: &str) -> Result<Value, u16> {
    match ureq::get(&server.http(path)).call() {
        Ok(r) => Ok(serde_json::from_str(&r.into_string().unwrap()).unwrap()),
        Err(ureq::Error::Status(code, _)) => Err(code),
        Err(e) => panic!("{e}"),
    }
}

fn send(server: &TestServer, method: &str, path: &str, body: &str) -> Result<(u16, Value), u16> {
    match ureq::request(method, &server.http(path)).set("Content-Type", "application/json").send_string(body) {
        Ok(r) => Ok((r.status(), serde_json::from_str(&r.into_string().unwrap()).unwrap())),
        Err(ureq::Error::Status(code, _)) => Err(code),
        Err(e) => panic!("{e}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn sessions_created_over_rest_stream_and_end() {
    let server = TestServer::start(&["server.max_sessions=2"]);
    let health = get(&server, "/api/health").unwrap();
    assert_eq!(health["status"], "ok");
    assert!(health["device"].as_str().unwrap().starts_with("cpu"));

    let (status, created) = send(&server, "POST", "/api/sessions/create", r#"{"checkpoint_key": "pong"}"#).unwrap();
    assert_eq!(status, 201);
    let id = created["session_id"].as_str().unwrap().to_string();
    assert_eq!(created["ws_endpoint"], format!("/ws/stream?session_id={id}"));
    assert!(created["expires_at"].as_f64().unwrap() > created["created_at"].as_f64().unwrap());
    assert_eq!(send(&server, "POST", "/api/sessions/create", r#"{"checkpoint_key": 5}"#), Err(400));
    assert_eq!(send(&server, "POST", "/api/sessions/create", "not json"), Err(400));
    send(&server, "POST", "/api/sessions/create", "").unwrap();
    assert_eq!(send(&server, "POST", "/api/sessions/create", ""), Err(429), "limit of 2 sessions");

    let mut client = Client::connect(&server.ws(&format!("?session_id={id}"))).await;
    let (ack, coords) = client.start_session("pong", [640, 480], false).await;
    assert_eq!(ack["payload"]["session_id"], id);
    for frame_id in 0..6 {
        client.send(frame_message(frame_id, &coords, false)).await;
        tokio::time::sleep(Duration::from_millis(60)).await;
    }
    client.assert_alive().await;
    tokio::time::sleep(Duration::from_millis(500)).await;

    let session = get(&server, &format!("/api/sessions/{id}")).unwrap();
    assert_eq!(session["status"], "active");
    assert_eq!(session["frames_received"], 6);
    assert_eq!(session["stats"]["avg_pixels"], SAMPLES as f64);
    let page = get(&server, &format!("/api/sessions/{id}/frames?offset=2&limit=3")).unwrap();
    let ids: Vec<u64> = page["frames"].as_array().unwrap().iter().map(|f| f["frame_id"].as_u64().unwrap()).collect();
    assert_eq!(ids, vec![2, 3, 4]);
    assert_eq!(page["frames"][0]["num_pixels"], SAMPLES);

    let png = ureq::get(&server.http(&format!("/api/sessions/{id}/frames/5/download"))).call().unwrap();
    assert_eq!(png.header("content-type"), Some("image/png"));
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut png.into_reader(), &mut bytes).unwrap();
    let image = image::load_from_memory(&bytes).unwrap();
    assert_eq!((image.width(), image.height()), (32, 24));
    for picture in ["reconstruction", "importance", "samples"] {
        let r = ureq::get(&server.http(&format!("/api/sessions/{id}/latest/{picture}.png"))).call().unwrap();
        assert_eq!(r.header("content-type"), Some("image/png"), "{picture}");
    }

    let (status, patched) =
        send(&server, "PATCH", &format!("/api/sessions/{id}/config"), r#"{"target_fps": 30, "mask_update_mode": "quality_based"}"#)
            .unwrap();
    assert_eq!((status, patched["target_fps"].as_u64()), (200, Some(30)));
    assert_eq!(send(&server, "PATCH", &format!("/api/sessions/{id}/config"), r#"{"mask_update_mode": "sometimes"}"#), Err(400));
    assert_eq!(send(&server, "PATCH", &format!("/api/sessions/{id}/config"), r#"{"target_fps": 0}"#), Err(400));

    assert_eq!(get(&server, "/api/sessions/nope"), Err(404));
    assert_eq!(get(&server, &format!("/api/sessions/{id}/frames/999/download")).map(|_| ()), Err(404));
    assert_eq!(send(&server, "DELETE", "/api/sessions/nope", ""), Err(404));
    assert_eq!(send(&server, "PATCH", "/api/sessions/nope/config", "{}"), Err(404));

    let (status, ended) = send(&server, "DELETE", &format!("/api/sessions/{id}"), "").unwrap();
    assert_eq!(status, 200);
    assert_eq!(ended["session"]["frames_received"], 6);
    assert_eq!(ended["engine_stats"]["frames_reconstructed"], 6);
    client.expect_error("SESSION_EXPIRED").await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(get(&server, &format!("/api/sessions/{id}")).unwrap()["status"], "ended");

    // A session id that is not pending cannot be joined.
    assert!(tokio_tungstenite::connect_async(server.ws(&format!("?session_id={id}"))).await.is_err());
    let _ = json!(null);
}
