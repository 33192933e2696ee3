//! A real `sgaps serve` process on a free loopback port, and a WebSocket client that
//! speaks exactly what PROTOCOL.md says the Unity client sends.

#![allow(dead_code)] // each test binary uses part of this

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

pub const SAMPLES: usize = 100;

pub struct TestServer {
    pub child: Child,
    pub port: u16,
    pub data_dir: tempfile::TempDir,
    pub checkpoint_dir: tempfile::TempDir,
}

impl TestServer {
    /// Starts the server with a small model and `extra` overrides; waits until it answers.
    pub fn start(extra: &[&str]) -> TestServer {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let data_dir = tempfile::tempdir().unwrap();
        let checkpoint_dir = tempfile::tempdir().unwrap();
        let mut args: Vec<String> = vec![
            "serve".into(),
            "model=spt_small".into(),
            "model.resolution=[32,24]".into(),
            format!("sampling.default_sample_count={SAMPLES}"),
            "mask_update=fixed".into(),
            "mask_update.fixed_interval=5".into(),
            "device=cpu".into(),
            format!("server.port={port}"),
            "server.storage.flush_interval_s=0.2".into(),
            format!("data_root={}", data_dir.path().display()),
            format!("checkpoint_dir={}", checkpoint_dir.path().display()),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        let child = Command::new(env!("CARGO_BIN_EXE_sgaps"))
            .args(&args)
            .env("RUST_LOG", "error")
            .stdout(Stdio::null())
            .spawn()
            .expect("sgaps starts");
        let server = TestServer { child, port, data_dir, checkpoint_dir };
        let deadline = Instant::now() + Duration::from_secs(60);
        while ureq::get(&server.http("/api/health")).call().is_err() {
            assert!(Instant::now() < deadline, "server did not come up");
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    pub fn http(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn ws(&self, query: &str) -> String {
        format!("ws://127.0.0.1:{}/ws/stream{query}", self.port)
    }

    /// Sends a signal (`TERM`, `KILL`) and waits for the process to end.
    pub fn signal(&mut self, signal: &str) {
        Command::new("kill").args([&format!("-{signal}"), &self.child.id().to_string()]).status().unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.child.try_wait().unwrap().is_none() {
            assert!(Instant::now() < deadline, "server did not stop on SIG{signal}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn h5_path(&self, key: &str) -> PathBuf {
        self.data_dir.path().join(format!("{key}.h5"))
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub struct Client {
    pub socket: Socket,
}

impl Client {
    pub async fn connect(url: &str) -> Client {
        let (socket, _) = tokio_tungstenite::connect_async(url).await.expect("websocket connects");
        let mut client = Client { socket };
        let ack = client.recv().await;
        assert_eq!(ack["type"], "connection_ack", "{ack}");
        client
    }

    pub async fn send(&mut self, message: Value) {
        self.send_text(&message.to_string()).await;
    }

    pub async fn send_text(&mut self, text: &str) {
        self.socket.send(Message::Text(text.to_string().into())).await.expect("send");
    }

    /// The next JSON message (10 s at most).
    pub async fn recv(&mut self) -> Value {
        self.try_recv(Duration::from_secs(10)).await.expect("a message within 10 s")
    }

    pub async fn try_recv(&mut self, wait: Duration) -> Option<Value> {
        loop {
            match tokio::time::timeout(wait, self.socket.next()).await.ok()?? {
                Ok(Message::Text(text)) => return Some(serde_json::from_str(text.as_str()).expect("JSON from server")),
                Ok(Message::Close(_)) | Err(_) => return None,
                Ok(_) => continue,
            }
        }
    }

    /// The next message of `kind`, skipping others (e.g. coordinate updates).
    pub async fn recv_type(&mut self, kind: &str) -> Value {
        loop {
            let message = self.recv().await;
            if message["type"] == kind {
                return message;
            }
        }
    }

    /// session_start as the Unity client sends it; returns (ack, initial coordinates).
    pub async fn start_session(&mut self, key: &str, resolution: [u32; 2], debug: bool) -> (Value, Vec<[f32; 2]>) {
        self.send(json!({"type": "session_start", "payload": {
            "checkpoint_key": key, "resolution": resolution, "debug": debug,
            "max_state_dim": 64, "sample_count": 500}}))
        .await;
        let ack = self.recv().await;
        assert_eq!(ack["type"], "session_start_ack", "{ack}");
        let coords = self.recv().await;
        assert_eq!(coords["type"], "uv_coordinates", "{coords}");
        assert_eq!(coords["payload"]["target_frame_id"], 0);
        (ack, parse_coordinates(&coords["payload"]))
    }

    /// Heartbeat round trip: proves the connection is still usable.
    pub async fn assert_alive(&mut self) {
        self.send(json!({"type": "heartbeat", "payload": {"timestamp": 1.0}})).await;
        let ack = self.recv_type("heartbeat_ack").await;
        assert!(ack["payload"]["server_time"].as_f64().unwrap() > 0.0);
    }

    /// Expects an `error` with `code`.
    pub async fn expect_error(&mut self, code: &str) -> Value {
        let message = self.recv_type("error").await;
        assert_eq!(message["payload"]["code"], code, "{message}");
        message
    }
}

pub fn parse_coordinates(payload: &Value) -> Vec<[f32; 2]> {
    payload["coordinates"]
        .as_array()
        .expect("plain coordinates")
        .iter()
        .map(|c| [c["u"].as_f64().unwrap() as f32, c["v"].as_f64().unwrap() as f32])
        .collect()
}

/// The test scene at time `t`: a bright square moving over a vertical gradient.
pub fn scene(t: u64, u: f32, v: f32) -> u8 {
    let (x, y) = (u * 640.0, v * 480.0);
    let left = 40.0 + 12.0 * t as f32;
    if (left..left + 120.0).contains(&x) && (160.0..280.0).contains(&y) {
        250
    } else {
        (v * 200.0) as u8
    }
}

/// A `frame_data` message sampling the scene at `coords`, as the Unity client builds it.
pub fn frame_message(frame_id: u64, coords: &[[f32; 2]], debug: bool) -> Value {
    let pixels: Vec<Value> =
        coords.iter().map(|&[u, v]| json!({"u": u, "v": v, "value": scene(frame_id, u, v)})).collect();
    let mut payload = json!({
        "frame_id": frame_id, "timestamp": frame_id as f64 * 0.1, "resolution": [640, 480],
        "num_pixels": pixels.len(), "pixels": pixels, "state_vector": [frame_id as f64, 0.5],
    });
    if debug {
        payload["full_frame_base64"] = json!(debug_png(frame_id));
        json!({"type": "frame_data_debug", "payload": payload})
    } else {
        json!({"type": "frame_data", "payload": payload})
    }
}

/// The whole frame as a PNG, bottom row first, as the Unity client encodes it (small,
/// 160x120, to keep messages light).
pub fn debug_png(frame_id: u64) -> String {
    let image = image::GrayImage::from_fn(160, 120, |x, y| {
        let v = (119 - y) as f32 / 120.0; // row 0 of the PNG is the bottom of the screen
        image::Luma([scene(frame_id, x as f32 / 160.0, v)])
    });
    let mut png = std::io::Cursor::new(Vec::new());
    image.write_to(&mut png, image::ImageFormat::Png).unwrap();
    base64::engine::general_purpose::STANDARD.encode(png.into_inner())
}

/// Runs `script` with the venv's python (h5py), returning its JSON output.
pub fn python_json(script: &str, args: &[&str]) -> Value {
    let python = std::env::var("SGAPS_PYTHON").unwrap_or_else(|_| "python3".into());
    let output = Command::new(python).arg("-c").arg(script).args(args).output().expect("python3 runs");
    assert!(output.status.success(), "python failed: {}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).expect("python prints JSON")
}

/// Reads an HDF5 file with h5py: per session, frame count, pixel rows, ground truths.
pub const H5PY_SUMMARY: &str = r#"
import json, sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    out = {}
    for name, g in f["sessions"].items():
        out[name] = {
            "frame_count": int(g.attrs["frame_count"]),
            "frames": int(g["frame_id"].shape[0]),
            "frame_ids": [int(x) for x in g["frame_id"][:]],
            "pixels": int(g["pixels"].shape[0]),
            "state_dim": int(g["state_vector"].shape[1]),
            "first_state": [float(x) for x in g["state_vector"][0][:3]] if g["state_vector"].shape[0] else [],
            "ground_truth": list(g["ground_truth"].shape) if "ground_truth" in g else None,
            "checkpoint_key": g.attrs["checkpoint_key"].decode() if isinstance(g.attrs["checkpoint_key"], bytes) else str(g.attrs["checkpoint_key"]),
        }
    print(json.dumps(out))
"#;
