//! What the server knows about each session for REST and the dashboard: status,
//! counters, a window of recent frame records and the latest pictures.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use image::GrayImage;
use serde::Serialize;
use sgaps_core::pipeline::importance::ImportanceMap;
use sgaps_core::pipeline::SessionId;
use tokio::sync::Notify;

/// Recent frames kept per session for `/frames` and PNG download.
const FRAME_HISTORY: usize = 1000;
const RECONSTRUCTIONS_KEPT: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Created over REST, waiting for its WebSocket.
    Pending,
    Active,
    Ended,
}

#[derive(Debug, Clone, Serialize)]
pub struct FrameRecord {
    pub frame_id: u64,
    pub timestamp: f64,
    pub num_pixels: usize,
    pub reconstruction_psnr: Option<f64>,
    pub reconstruction_ssim: Option<f64>,
    pub sample_psnr: Option<f64>,
    pub latency_ms: Option<f64>,
    pub skipped: bool,
}

/// The latest outcome of a session, kept raw; PNGs are made when someone looks.
#[derive(Clone)]
pub struct Latest {
    pub frame_id: u64,
    pub reconstruction: GrayImage,
    pub importance: ImportanceMap,
    /// Where the client sampled that frame.
    pub samples: Vec<[f32; 2]>,
    pub ground_truth: Option<GrayImage>,
}

pub struct SessionEntry {
    pub id: String,
    pub engine_session: Option<SessionId>,
    pub status: Status,
    pub checkpoint_key: String,
    pub created_at: f64,
    pub expires_at: f64,
    pub last_activity: f64,
    pub frames_received: u64,
    pub frames_skipped: u64,
    pub bytes_received: u64,
    pub pixels_received: u64,
    pub target_fps: u32,
    pub frames: VecDeque<FrameRecord>,
    pub reconstructions: VecDeque<(u64, GrayImage)>,
    pub latest: Option<Latest>,
    /// Wakes the session's connection when REST ends the session.
    pub close: Arc<Notify>,
}

impl SessionEntry {
    pub fn record_frame(&mut self, record: FrameRecord) {
        if self.frames.len() == FRAME_HISTORY {
            self.frames.pop_front();
        }
        self.frames.push_back(record);
    }

    /// Fills in the outcome of a frame recorded on receipt.
    pub fn frame_mut(&mut self, frame_id: u64) -> Option<&mut FrameRecord> {
        self.frames.iter_mut().rev().find(|f| f.frame_id == frame_id)
    }

    pub fn keep_reconstruction(&mut self, frame_id: u64, image: GrayImage) {
        if self.reconstructions.len() == RECONSTRUCTIONS_KEPT {
            self.reconstructions.pop_front();
        }
        self.reconstructions.push_back((frame_id, image));
    }

    /// Summary for `GET /api/sessions/{id}`.
    pub fn summary(&self) -> serde_json::Value {
        let with_truth: Vec<f64> = self.frames.iter().filter_map(|f| f.reconstruction_psnr).collect();
        let avg = |v: &[f64]| (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64);
        serde_json::json!({
            "session_id": self.id,
            "status": self.status,
            "checkpoint_key": self.checkpoint_key,
            "created_at": self.created_at,
            "last_activity": self.last_activity,
            "frames_received": self.frames_received,
            "frames_skipped": self.frames_skipped,
            "target_fps": self.target_fps,
            "latest_frame_id": self.latest.as_ref().map(|l| l.frame_id),
            "has_ground_truth": self.latest.as_ref().is_some_and(|l| l.ground_truth.is_some()),
            "stats": {
                "avg_psnr": avg(&with_truth),
                "avg_pixels": if self.frames_received > 0 { self.pixels_received as f64 / self.frames_received as f64 } else { 0.0 },
                "mb_received": self.bytes_received as f64 / 1e6,
            },
        })
    }
}

#[derive(Default)]
pub struct Registry {
    sessions: Mutex<HashMap<String, Arc<Mutex<SessionEntry>>>>,
}

/// How long an ended session stays visible to REST.
const ENDED_RETENTION_SECONDS: f64 = 3600.0;

/// Forgets sessions ended an hour ago and REST-created ones whose client never came.
fn prune(sessions: &mut HashMap<String, Arc<Mutex<SessionEntry>>>, now: f64) {
    sessions.retain(|_, entry| {
        let e = entry.lock().expect("entry lock");
        match e.status {
            Status::Ended => now - e.last_activity < ENDED_RETENTION_SECONDS,
            Status::Pending => now < e.expires_at,
            Status::Active => true,
        }
    });
}

pub fn now_seconds() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0)
}

impl Registry {
    /// A new session entry with a fresh id.
    pub fn create(&self, status: Status, checkpoint_key: &str, target_fps: u32, ttl_seconds: f64) -> Arc<Mutex<SessionEntry>> {
        let now = now_seconds();
        let entry = SessionEntry {
            id: uuid::Uuid::new_v4().to_string(),
            engine_session: None,
            status,
            checkpoint_key: checkpoint_key.to_string(),
            created_at: now,
            expires_at: now + ttl_seconds,
            last_activity: now,
            frames_received: 0,
            frames_skipped: 0,
            bytes_received: 0,
            pixels_received: 0,
            target_fps,
            frames: VecDeque::new(),
            reconstructions: VecDeque::new(),
            latest: None,
            close: Arc::new(Notify::new()),
        };
        let id = entry.id.clone();
        let entry = Arc::new(Mutex::new(entry));
        let mut sessions = self.sessions.lock().expect("registry lock");
        prune(&mut sessions, now);
        sessions.insert(id, entry.clone());
        entry
    }

    pub fn get(&self, id: &str) -> Option<Arc<Mutex<SessionEntry>>> {
        self.sessions.lock().expect("registry lock").get(id).cloned()
    }


    /// Every session, newest first.
    pub fn all(&self) -> Vec<Arc<Mutex<SessionEntry>>> {
        let mut all: Vec<_> = self.sessions.lock().expect("registry lock").values().cloned().collect();
        all.sort_by(|a, b| b.lock().expect("entry lock").created_at.total_cmp(&a.lock().expect("entry lock").created_at));
        all
    }

    /// Sessions that hold (or wait for) a connection.
    pub fn live_count(&self) -> usize {
        self.sessions
            .lock()
            .expect("registry lock")
            .values()
            .filter(|e| matches!(e.lock().expect("entry lock").status, Status::Pending | Status::Active))
            .count()
    }
}
