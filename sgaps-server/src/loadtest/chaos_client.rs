//! One client of a soak run: sessions one after another until the run ends, each
//! streaming frames open loop with heartbeats, and now and then a malformed or
//! oversized message, an abrupt disconnect or a clean one. When the server is gone
//! (killed), it reconnects as soon as it is back.
//!
//! Acknowledgement: the server handles one connection's messages in order and answers
//! every heartbeat, so the k-th `heartbeat_ack` says every message sent before the k-th
//! heartbeat was handled. A frame handled and not refused was given to storage.

use std::collections::{BTreeMap, VecDeque};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::stream::SplitStream;
use futures_util::{SinkExt, StreamExt};
use serde::Serialize;
use serde_json::{json, Value};
use tokio::sync::watch;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_tungstenite::tungstenite::Message;

use super::client::{self, Mask, Socket};

/// Heartbeats every this many frames.
const HEARTBEAT_EVERY: u64 = 5;
/// How long a client waits for the answer to its last heartbeat before closing.
const ACK_TIMEOUT: Duration = Duration::from_secs(10);
/// Retry period while the server is down.
const RECONNECT_PERIOD: Duration = Duration::from_millis(250);

/// Per frame tick, the chance of each chaos event.
const P_ABRUPT_DISCONNECT: f64 = 0.003;
const P_CLEAN_RECONNECT: f64 = 0.003;
const P_MALFORMED: f64 = 0.02;
const P_OVERSIZED: f64 = 0.002;

/// What a client does, and what it shares with the run.
#[derive(Clone)]
pub struct ChaosPlan {
    pub client: usize,
    pub url: String,
    pub checkpoint_key: String,
    pub fps: f64,
    pub end: Instant,
    /// Bytes of an oversized message: over `server.max_message_bytes`, under the socket's cap.
    pub oversized_bytes: usize,
    pub debug_every: u64,
    pub seed: u64,
    pub run: Arc<RunState>,
}

/// Shared by the run's clients and its controller.
#[derive(Default)]
pub struct RunState {
    /// Which server process serves now: 0 at first, 1 after the restart.
    pub instance: AtomicUsize,
    pub frames_sent: AtomicU64,
    pub sessions: AtomicU64,
}

/// How a session ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Ending {
    /// Last heartbeat acknowledged, then a close handshake.
    Clean,
    /// The client dropped the TCP connection on purpose.
    Abrupt,
    /// The connection broke under the client (the server was killed).
    Broken(String),
}

/// What one session saw.
pub struct SessionLog {
    pub session_id: String,
    pub checkpoint_key: String,
    pub model_version: String,
    pub instance: usize,
    /// When session_start_ack arrived.
    pub started: Instant,
    /// Valid frames sent, in order.
    pub sent: Vec<u64>,
    /// Acknowledgements in order: (frames of `sent` covered, when the ack arrived).
    pub acks: Vec<(usize, Instant)>,
    /// Frames the server refused by id (SERVER_OVERLOAD), with the reason.
    pub refused: Vec<(u64, String)>,
    /// Malformed and oversized messages sent.
    pub chaos_sent: u64,
    /// Of those, how many an acknowledgement covered without their error having come first.
    pub chaos_unanswered: u64,
    /// Errors by `CODE` or `CODE/reason`.
    pub errors: BTreeMap<String, u64>,
    pub coordinate_updates: u64,
    pub ending: Ending,
}

impl SessionLog {
    /// Frames of `sent` that acknowledgements received before `cutoff` cover.
    pub fn acknowledged_before(&self, cutoff: Option<Instant>) -> usize {
        self.acks.iter().filter(|(_, at)| cutoff.is_none_or(|c| *at < c)).map(|(n, _)| *n).max().unwrap_or(0)
    }
}

/// A number in [0, 1) fixed by the seed, the client, the tick and what it decides.
fn chance(seed: u64, client: usize, tick: u64, what: &str) -> f64 {
    let mut hasher = DefaultHasher::new();
    (seed, client, tick, what).hash(&mut hasher);
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}

/// Sessions until the run ends.
pub async fn run(plan: ChaosPlan) -> Vec<SessionLog> {
    let mut logs = Vec::new();
    let mut attempt = 0u64;
    while Instant::now() < plan.end {
        attempt += 1;
        let instance = plan.run.instance.load(Ordering::SeqCst);
        let debug = plan.debug_every > 0;
        let connected = match client::connect(&plan.url, &plan.checkpoint_key, debug).await {
            Ok(connected) => connected,
            Err(e) => {
                tracing::debug!(client = plan.client, error = %e, "no session; retrying");
                tokio::time::sleep(RECONNECT_PERIOD).await;
                continue;
            }
        };
        plan.run.sessions.fetch_add(1, Ordering::Relaxed);
        logs.push(stream_session(&plan, connected, instance, attempt).await);
    }
    logs
}

/// Shared by a session's sender and its reader.
#[derive(Default)]
struct Inbox {
    /// Per heartbeat not yet answered: (frames sent before it, chaos messages before it).
    heartbeats: VecDeque<(usize, u64)>,
    acks: Vec<(usize, Instant)>,
    refused: Vec<(u64, String)>,
    chaos_answers: u64,
    chaos_unanswered: u64,
    errors: BTreeMap<String, u64>,
    updates: Vec<(u64, Vec<[f32; 2]>)>,
    coordinate_updates: u64,
    broken: Option<String>,
}

async fn stream_session(plan: &ChaosPlan, connected: client::Connected, instance: usize, attempt: u64) -> SessionLog {
    let started = Instant::now();
    let client::Connected { socket, session_id, model_version, coordinates, .. } = connected;
    let (mut sink, source) = socket.split();
    let inbox = Arc::new(Mutex::new(Inbox::default()));
    let (acked_tx, mut acked) = watch::channel(0usize);
    let reader = tokio::spawn(read(source, inbox.clone(), acked_tx));
    let mut mask = Mask::new(coordinates);
    let mut sent: Vec<u64> = Vec::new();
    let mut chaos_sent = 0u64;
    let mut heartbeats_sent = 0usize;
    let mut ticks = tokio::time::interval(Duration::from_secs_f64(1.0 / plan.fps));
    ticks.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let seed = plan.seed ^ attempt.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let mut tick = 0u64;

    let ending = loop {
        ticks.tick().await;
        tick += 1;
        if let Some(why) = inbox.lock().expect("inbox lock").broken.clone() {
            break Ending::Broken(why);
        }
        let roll = |what: &str| chance(seed, plan.client, tick, what);
        let finish = Instant::now() >= plan.end || roll("close") < P_CLEAN_RECONNECT;
        if finish {
            // A last heartbeat covers every frame; then a close handshake.
            let frames = sent.len();
            let heartbeat = heartbeat_message(tick);
            inbox.lock().expect("inbox lock").heartbeats.push_back((frames, chaos_sent));
            heartbeats_sent += 1;
            if let Err(e) = sink.send(heartbeat).await {
                break Ending::Broken(format!("sending the last heartbeat: {e}"));
            }
            let covered = tokio::time::timeout(ACK_TIMEOUT, acked.wait_for(|&n| n >= heartbeats_sent)).await.is_ok_and(|r| r.is_ok());
            if !covered {
                let why = inbox.lock().expect("inbox lock").broken.clone();
                break Ending::Broken(why.unwrap_or_else(|| "the last heartbeat was not answered".into()));
            }
            let _ = sink.send(Message::Close(None)).await;
            let _ = tokio::time::timeout(ACK_TIMEOUT, reader).await;
            break Ending::Clean;
        }
        if roll("abrupt") < P_ABRUPT_DISCONNECT {
            reader.abort();
            break Ending::Abrupt; // the socket halves drop here without a close frame
        }
        if roll("malformed") < P_MALFORMED {
            chaos_sent += 1;
            if let Err(e) = sink.send(Message::Text(malformed_message(roll("kind")).into())).await {
                break Ending::Broken(format!("sending a malformed message: {e}"));
            }
        }
        if roll("oversized") < P_OVERSIZED {
            chaos_sent += 1;
            if let Err(e) = sink.send(Message::Text(oversized_message(plan.oversized_bytes).into())).await {
                break Ending::Broken(format!("sending an oversized message: {e}"));
            }
        }

        for (target, coordinates) in std::mem::take(&mut inbox.lock().expect("inbox lock").updates) {
            mask.offer(target, coordinates);
        }
        let frame_id = sent.len() as u64;
        let debug = plan.debug_every > 0 && frame_id % plan.debug_every == 0;
        let timestamp = tick as f64 / plan.fps;
        let text = client::frame_message(plan.client, frame_id, timestamp, mask.for_frame(frame_id), debug).to_string();
        if let Err(e) = sink.send(Message::Text(text.into())).await {
            break Ending::Broken(format!("sending frame {frame_id}: {e}"));
        }
        sent.push(frame_id);
        plan.run.frames_sent.fetch_add(1, Ordering::Relaxed);
        if sent.len() as u64 % HEARTBEAT_EVERY == 0 {
            inbox.lock().expect("inbox lock").heartbeats.push_back((sent.len(), chaos_sent));
            heartbeats_sent += 1;
            if let Err(e) = sink.send(heartbeat_message(tick)).await {
                break Ending::Broken(format!("sending a heartbeat: {e}"));
            }
        }
    };
    if !matches!(ending, Ending::Clean) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let inbox = std::mem::take(&mut *inbox.lock().expect("inbox lock"));
    SessionLog {
        session_id,
        checkpoint_key: plan.checkpoint_key.clone(),
        model_version,
        instance,
        started,
        sent,
        acks: inbox.acks,
        refused: inbox.refused,
        chaos_sent,
        chaos_unanswered: inbox.chaos_unanswered,
        errors: inbox.errors,
        coordinate_updates: inbox.coordinate_updates,
        ending,
    }
}

fn heartbeat_message(tick: u64) -> Message {
    Message::Text(json!({"type": "heartbeat", "payload": {"timestamp": tick as f64}}).to_string().into())
}

/// One of the malformed messages a buggy client sends; each is answered with an error
/// in order (INVALID_MESSAGE, UNKNOWN_MESSAGE_TYPE or INVALID_FRAME_DATA).
fn malformed_message(kind: f64) -> String {
    match (kind * 4.0) as u32 {
        0 => "{\"type\": \"frame_data\", \"payload\": {".into(),
        1 => json!({"type": "teleport", "payload": {}}).to_string(),
        2 => json!({"type": "frame_data", "payload": {"frame_id": "seven", "pixels": []}}).to_string(),
        _ => json!({"type": "frame_data", "payload": {"frame_id": u64::MAX, "timestamp": 0.0, "num_pixels": 1,
            "pixels": [{"u": 7.5, "v": 0.5, "value": 10}], "state_vector": []}})
        .to_string(),
    }
}

/// A message over the server's message limit: answered with INVALID_MESSAGE unread.
fn oversized_message(bytes: usize) -> String {
    let padding = "x".repeat(bytes.saturating_sub(64));
    json!({"type": "heartbeat", "payload": {"padding": padding}}).to_string()
}

/// The error codes a chaos message is answered with.
fn answers_chaos(code: &str) -> bool {
    matches!(code, "INVALID_MESSAGE" | "UNKNOWN_MESSAGE_TYPE" | "INVALID_FRAME_DATA")
}

async fn read(mut source: SplitStream<Socket>, inbox: Arc<Mutex<Inbox>>, acked: watch::Sender<usize>) {
    loop {
        let text = match source.next().await {
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(Message::Close(_))) | None => {
                inbox.lock().expect("inbox lock").broken.get_or_insert_with(|| "the server closed the connection".into());
                return;
            }
            Some(Err(e)) => {
                inbox.lock().expect("inbox lock").broken.get_or_insert_with(|| format!("connection lost: {e}"));
                return;
            }
            Some(Ok(_)) => continue,
        };
        let Ok(message) = serde_json::from_str::<Value>(text.as_str()) else { continue };
        let payload = &message["payload"];
        let mut inbox = inbox.lock().expect("inbox lock");
        match message["type"].as_str() {
            Some("heartbeat_ack") => {
                let Some((frames, chaos_before)) = inbox.heartbeats.pop_front() else { continue };
                inbox.acks.push((frames, Instant::now()));
                if inbox.chaos_answers < chaos_before {
                    inbox.chaos_unanswered += chaos_before - inbox.chaos_answers;
                    inbox.chaos_answers = chaos_before;
                }
                let count = inbox.acks.len();
                acked.send_replace(count);
            }
            Some("uv_coordinates") => {
                if let (Some(target), Ok(coordinates)) = (payload["target_frame_id"].as_u64(), client::parse_coordinates(payload)) {
                    inbox.updates.push((target, coordinates));
                    inbox.coordinate_updates += 1;
                }
            }
            Some("error") => {
                let code = payload["code"].as_str().unwrap_or("?").to_string();
                let reason = payload["details"]["reason"].as_str();
                let key = reason.map_or(code.clone(), |r| format!("{code}/{r}"));
                *inbox.errors.entry(key).or_default() += 1;
                match (code.as_str(), payload["details"]["frame_id"].as_u64()) {
                    ("SERVER_OVERLOAD", Some(frame_id)) => inbox.refused.push((frame_id, reason.unwrap_or("").to_string())),
                    (code, _) if answers_chaos(code) => inbox.chaos_answers += 1,
                    _ => {}
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chance_is_fixed_by_its_inputs_and_spread_over_the_unit_interval() {
        assert_eq!(chance(1, 2, 3, "abrupt"), chance(1, 2, 3, "abrupt"));
        assert_ne!(chance(1, 2, 3, "abrupt"), chance(1, 2, 4, "abrupt"));
        let draws: Vec<f64> = (0..10_000).map(|t| chance(7, 0, t, "malformed")).collect();
        assert!(draws.iter().all(|x| (0.0..1.0).contains(x)));
        let below = draws.iter().filter(|&&x| x < 0.02).count();
        assert!((120..=280).contains(&below), "{below} of 10000 below 0.02");
    }

    #[test]
    fn acknowledged_frames_are_those_covered_before_the_cutoff() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let log = SessionLog {
            session_id: "s".into(),
            checkpoint_key: "k".into(),
            model_version: "v".into(),
            instance: 0,
            started: t0,
            sent: (0..20).collect(),
            acks: vec![(5, t0), (10, t0 + ms(500)), (15, t0 + ms(1000))],
            refused: vec![],
            chaos_sent: 0,
            chaos_unanswered: 0,
            errors: BTreeMap::new(),
            coordinate_updates: 0,
            ending: Ending::Abrupt,
        };
        assert_eq!(log.acknowledged_before(None), 15);
        assert_eq!(log.acknowledged_before(Some(t0 + ms(600))), 10);
        assert_eq!(log.acknowledged_before(Some(t0)), 0);
    }

    #[test]
    fn every_malformed_kind_is_a_message_the_server_answers() {
        for kind in [0.0, 0.3, 0.6, 0.9] {
            let text = malformed_message(kind);
            let parsed = serde_json::from_str::<Value>(&text);
            // Either not JSON, or JSON the protocol refuses.
            assert!(parsed.is_err() || parsed.unwrap()["type"] != "heartbeat", "{text}");
        }
        assert!(oversized_message(1000).len() >= 1000 - 64);
    }
}
