//! What the server knows about each session for REST and the dashboard: status,
//! counters, a window of recent frame records and the latest pictures.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use image::GrayImage;
use serde::Serialize;
use sgaps_core::pipeline::importance::ImportanceMap;
use sgaps_core::config::RetentionConfig;
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

/// Every session REST can see. Active and pending ones are bounded by
/// `server.max_sessions`; ended ones by `server.retention` (count and age), pruned on a
/// timer and whenever a session is created.
pub struct Registry {
    sessions: Mutex<HashMap<String, Arc<Mutex<SessionEntry>>>>,
    retention: RetentionConfig,
}

/// Forgets ended sessions past their age or beyond the newest `max_ended_sessions`, and
/// REST-created ones whose client never came. Returns how many it forgot.
fn prune(sessions: &mut HashMap<String, Arc<Mutex<SessionEntry>>>, now: f64, retention: &RetentionConfig) -> usize {
    let before = sessions.len();
    let mut ended = Vec::new();
    sessions.retain(|id, entry| {
        let e = entry.lock().expect("entry lock");
        match e.status {
            Status::Ended => {
                let keep = now - e.last_activity < retention.ended_ttl_s;
                if keep {
                    ended.push((e.last_activity, id.clone()));
                }
                keep
            }
            Status::Pending => now < e.expires_at,
            Status::Active => true,
        }
    });
    if ended.len() > retention.max_ended_sessions {
        ended.sort_by(|a, b| b.0.total_cmp(&a.0)); // newest first
        for (_, id) in &ended[retention.max_ended_sessions..] {
            sessions.remove(id);
        }
    }
    before - sessions.len()
}

pub fn now_seconds() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0)
}

impl Registry {
    pub fn new(retention: RetentionConfig) -> Registry {
        Registry { sessions: Mutex::default(), retention }
    }

    /// Applies the retention rules now; returns how many sessions were forgotten.
    pub fn prune(&self) -> usize {
        prune(&mut self.sessions.lock().expect("registry lock"), now_seconds(), &self.retention)
    }

    /// Sessions held now, of every status.
    pub fn len(&self) -> usize {
        self.sessions.lock().expect("registry lock").len()
    }

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
        prune(&mut sessions, now, &self.retention);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn retention(max_ended_sessions: usize, ended_ttl_s: f64) -> RetentionConfig {
        RetentionConfig { max_ended_sessions, ended_ttl_s, prune_interval_s: 1.0 }
    }

    /// An entry ended `age` seconds ago.
    fn ended(registry: &Registry, age: f64) -> String {
        let entry = registry.create(Status::Active, "default", 10, 0.0);
        let mut e = entry.lock().unwrap();
        e.status = Status::Ended;
        e.last_activity = now_seconds() - age;
        e.id.clone()
    }

    #[test]
    fn ended_sessions_are_kept_by_count_and_age() {
        let registry = Registry::new(retention(3, 100.0));
        let old = ended(&registry, 500.0);
        let newest: Vec<String> = (0..5).map(|i| ended(&registry, 10.0 - i as f64)).collect();
        let active = registry.create(Status::Active, "default", 10, 0.0).lock().unwrap().id.clone();
        let pending = registry.create(Status::Pending, "default", 10, 300.0).lock().unwrap().id.clone();
        let expired = registry.create(Status::Pending, "default", 10, -1.0).lock().unwrap().id.clone();
        // Creating prunes too, so some went already; the timer's prune finishes the job.
        registry.prune();
        assert_eq!(registry.len(), 5, "3 ended + 1 active + 1 pending");
        for id in [&old, &newest[0], &newest[1], &expired] {
            assert!(registry.get(id).is_none(), "{id} should be forgotten");
        }
        for id in newest[2..].iter().chain([&active, &pending]) {
            assert!(registry.get(id).is_some(), "{id} should be kept");
        }
        assert_eq!(registry.prune(), 0, "nothing more to prune");
    }

    #[test]
    fn active_sessions_are_never_pruned() {
        let registry = Registry::new(retention(0, 0.0));
        let entry = registry.create(Status::Active, "default", 10, 0.0);
        entry.lock().unwrap().last_activity = 0.0;
        assert_eq!(registry.prune(), 0);
        entry.lock().unwrap().status = Status::Ended;
        assert_eq!(registry.prune(), 1);
    }
}
