//! Every frame is stored in HDF5: read back with h5py after a clean stop, after a
//! client drops, and after the server is killed with SIGKILL.

mod support;

use std::time::{Duration, Instant};

use support::*;

async fn stream_frames(client: &mut Client, coords: &[[f32; 2]], frames: std::ops::Range<u64>, debug: bool) {
    for frame_id in frames {
        client.send(frame_message(frame_id, coords, debug)).await;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_clean_stop_stores_every_frame() {
    let mut server = TestServer::start(&[]);
    let mut client = Client::connect(&server.ws("")).await;
    let (_, coords) = client.start_session("mario", [640, 480], true).await;
    stream_frames(&mut client, &coords, 0..12, true).await;
    client.assert_alive().await;
    server.signal("TERM");
    assert!(server.child.wait().unwrap().success(), "SIGTERM drains and exits 0");

    // Recorded under the key the client asked for, though `default` served it.
    let summary = python_json(H5PY_SUMMARY, &[server.h5_path("mario").to_str().unwrap()]);
    let sessions = summary.as_object().unwrap();
    assert_eq!(sessions.len(), 1);
    let s = sessions.values().next().unwrap();
    assert_eq!(s["frame_count"], 12);
    assert_eq!(s["frame_ids"], serde_json::json!((0..12).collect::<Vec<u64>>()));
    assert_eq!(s["pixels"], 12 * SAMPLES as u64);
    assert_eq!(s["state_dim"], 64);
    assert_eq!(s["first_state"], serde_json::json!([0.0, 0.5, -999.0]), "padded with the sentinel");
    assert_eq!(s["ground_truth"], serde_json::json!([12, 120, 160]));
    assert_eq!(s["checkpoint_key"], "mario");

    // The Rust reader sees the same, with the ground truth flipped to top-row-first.
    let sessions = sgaps_core::data::read_file(&server.h5_path("mario")).unwrap();
    let frame = &sessions[0].frames[3];
    assert_eq!(frame.pixels.len(), SAMPLES);
    assert_eq!(frame.state, vec![3.0, 0.5]);
    let truth = frame.ground_truth.as_ref().unwrap();
    assert_eq!(truth.get_pixel(0, 0)[0], scene(3, 0.0, 0.0), "top row first");
    assert_eq!(truth.get_pixel(0, 119)[0], scene(3, 0.0, 119.0 / 120.0));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_that_drops_keeps_its_frames() {
    let mut server = TestServer::start(&[]);
    let mut client = Client::connect(&server.ws("")).await;
    let (_, coords) = client.start_session("default", [640, 480], false).await;
    stream_frames(&mut client, &coords, 0..8, false).await;
    drop(client); // no close frame: the TCP connection just goes away
    tokio::time::sleep(Duration::from_millis(800)).await;
    server.signal("KILL");
    let summary = python_json(H5PY_SUMMARY, &[server.h5_path("default").to_str().unwrap()]);
    let s = summary.as_object().unwrap().values().next().unwrap().clone();
    assert_eq!(s["frame_count"], 8, "{s}");
}

#[tokio::test(flavor = "multi_thread")]
async fn sigkill_loses_at_most_the_last_flush_interval() {
    // TestServer's `server.storage.flush_interval_s=0.2`.
    const FLUSH_INTERVAL: Duration = Duration::from_millis(200);
    // Time for a sent frame to reach the recorder and for a flush to finish.
    const SLACK: Duration = Duration::from_millis(100);
    let mut server = TestServer::start(&[]);
    let mut client = Client::connect(&server.ws("")).await;
    let (_, coords) = client.start_session("default", [640, 480], true).await;
    // 40 frames at 20 fps (2 s), killed mid-stream; when each send completed.
    let streaming = async {
        let mut sent_at = Vec::new();
        for frame_id in 0..40 {
            let message = frame_message(frame_id, &coords, true).to_string();
            if futures_util::SinkExt::send(&mut client.socket, message.into()).await.is_err() {
                break; // the server is gone
            }
            sent_at.push(Instant::now());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        sent_at
    };
    let killer = async {
        tokio::time::sleep(Duration::from_millis(1300)).await;
        let killed = Instant::now();
        server.signal("KILL");
        (killed, Instant::now())
    };
    let (sent_at, (killed, dead)) = tokio::join!(streaming, killer);
    let summary = python_json(H5PY_SUMMARY, &[server.h5_path("default").to_str().unwrap()]);
    let s = summary.as_object().unwrap().values().next().unwrap().clone();
    let stored = s["frame_count"].as_u64().unwrap() as usize;
    // Every frame sent a flush interval (and the slack) before the kill is stored; none
    // sent after the server was seen dead can be.
    let must = sent_at.iter().filter(|&&t| t + FLUSH_INTERVAL + SLACK < killed).count();
    let can = sent_at.iter().filter(|&&t| t < dead).count();
    assert!(must > 0 && can < 40, "the kill came mid-stream: {must} and {can} of {} frames", sent_at.len());
    assert!((must..=can).contains(&stored), "stored {stored}, expected {must}..={can}: {s}");
    // ...and what is there is a clean prefix.
    let ids: Vec<u64> = serde_json::from_value(s["frame_ids"].clone()).unwrap();
    assert_eq!(ids, (0..stored as u64).collect::<Vec<_>>());
    assert!(s["frames"].as_u64().unwrap() >= stored as u64);
}

#[test]
fn the_reference_layout_is_imported() {
    // PROTOCOL.md's layout, written with h5py as the reference Python trainer reads it.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mario_world1.h5");
    let script = r#"
import sys, json, h5py, numpy as np
with h5py.File(sys.argv[1], "w") as f:
    s = f.create_group("client_7")
    m = s.create_group("metadata")
    m.attrs["created_at"] = 1700000000.5
    m.attrs["frame_count"] = 2
    for fid in (0, 4):
        g = s.create_group(f"frames/{fid}")
        g.create_dataset("pixels", data=np.array([[0.1, 0.2, 30.0], [0.5, 0.5, 200.0]], dtype=np.float32))
        g.create_dataset("state_vector", data=np.array([1.0, 2.0] + [-999.0] * 62, dtype=np.float32))
        g.attrs["resolution"] = np.array([160, 120], dtype=np.uint32)
        g.attrs["timestamp"] = fid * 0.1
        if fid == 4:
            g.create_dataset("image", data=np.full((120, 160), 77, dtype=np.uint8))
print(json.dumps({"ok": True}))
"#;
    python_json(script, &[path.to_str().unwrap()]);
    let sessions = sgaps_core::data::read_file(&path).unwrap();
    assert_eq!(sessions.len(), 1);
    let s = &sessions[0];
    assert_eq!(s.info.session_id, "client_7");
    assert_eq!(s.info.created_at, 1700000000.5);
    assert_eq!(s.info.resolution, [160, 120]);
    assert_eq!(s.frames.iter().map(|f| f.frame_id).collect::<Vec<_>>(), vec![0, 4]);
    assert_eq!(s.frames[1].pixels[1], [0.5, 0.5, 200.0]);
    assert_eq!(s.frames[0].state, vec![1.0, 2.0]);
    assert!(s.frames[0].ground_truth.is_none());
    assert_eq!(s.frames[1].ground_truth.as_ref().unwrap().dimensions(), (160, 120));
}
