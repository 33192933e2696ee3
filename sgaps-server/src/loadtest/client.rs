//! One simulated game client, speaking PROTOCOL.md as the Unity client does: connect,
//! `session_start`, then `frame_data` open loop at a fixed rate, sampling the test
//! scene at the coordinates the server handed out and swapping to new ones at their
//! `target_frame_id`. A reader task takes the server's messages as they come, so the
//! sender never waits for a reply.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{bail, Context};
use futures_util::stream::SplitStream;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tokio::time::{Instant, MissedTickBehavior};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::scene;

pub(super) type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;
pub(super) type Coordinates = Vec<[f32; 2]>;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the session start may take (the server may load a checkpoint first).
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// After the last frame: how long to wait for the server's reaction to it.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(2);

/// A client whose session has started, ready to stream.
pub struct Connected {
    pub(super) socket: Socket,
    pub session_id: String,
    /// The `model_version` of session_start_ack: which weights serve the session.
    pub model_version: String,
    pub target_fps: u32,
    pub sample_count: usize,
    pub(super) coordinates: Coordinates,
}

/// How a client streams.
#[derive(Clone, Copy)]
pub struct Plan {
    pub client: usize,
    pub fps: f64,
    pub seconds: f64,
    /// Every k-th frame is a `frame_data_debug`; 0 = never.
    pub debug_every: u64,
}

/// Progress shared by all clients, for the progress bar.
#[derive(Default)]
pub struct Progress {
    pub frames_sent: AtomicU64,
    pub replies: AtomicU64,
}

/// What one client saw.
pub struct ClientRun {
    pub session_id: String,
    /// When frame `i` was sent, at index `i` (frame ids are 0, 1, 2, ...).
    pub sent_at: Vec<Instant>,
    /// `uv_coordinates` replies after the start: (target_frame_id, when received).
    pub replies: Vec<(u64, Instant)>,
    /// `error` messages from the server, as `CODE: message`.
    pub server_errors: Vec<String>,
    /// Why the connection ended before the client closed it, if it did.
    pub broken: Option<String>,
}

impl ClientRun {
    /// Send-to-reply times in ms: a reply with target_frame_id N+1 answers frame N.
    pub fn reply_latencies_ms(&self) -> Vec<f64> {
        self.replies
            .iter()
            .filter_map(|&(target, received)| {
                let sent = *self.sent_at.get(target.checked_sub(1)? as usize)?;
                Some(received.duration_since(sent).as_secs_f64() * 1e3)
            })
            .collect()
    }
}

/// Connects to `url` and starts a session; fails with the reason (connection refused,
/// HTTP status of a refused upgrade, the server's `error`).
pub async fn connect(url: &str, checkpoint_key: &str, debug: bool) -> anyhow::Result<Connected> {
    let (mut socket, _) = match tokio::time::timeout(CONNECT_TIMEOUT, tokio_tungstenite::connect_async(url)).await {
        Err(_) => bail!("no WebSocket connection to {url} within {CONNECT_TIMEOUT:?}"),
        Ok(Err(tokio_tungstenite::tungstenite::Error::Http(response))) => {
            let body = response.body().as_ref().map(|b| String::from_utf8_lossy(b).into_owned()).unwrap_or_default();
            bail!("{url} refused the WebSocket: HTTP {} {body}", response.status())
        }
        Ok(Err(e)) => bail!("cannot connect to {url}: {e}; is `sgaps serve` running there?"),
        Ok(Ok(connected)) => connected,
    };
    let start = json!({"type": "session_start", "payload": {
        "checkpoint_key": checkpoint_key, "resolution": scene::RESOLUTION, "debug": debug}});
    socket.send(Message::Text(start.to_string().into())).await.context("sending session_start")?;

    let ack = tokio::time::timeout(START_TIMEOUT, async {
        let ack = next_of_type(&mut socket, "session_start_ack").await?;
        let coordinates = next_of_type(&mut socket, "uv_coordinates").await?;
        anyhow::Ok((ack, coordinates))
    });
    let (ack, coordinates) = ack.await.with_context(|| format!("no session_start_ack within {START_TIMEOUT:?}"))??;
    let payload = &ack["payload"];
    Ok(Connected {
        socket,
        session_id: payload["session_id"].as_str().context("session_start_ack without session_id")?.to_string(),
        model_version: payload["model_version"].as_str().unwrap_or("").to_string(),
        // The fallbacks PROTOCOL.md gives for missing fields.
        target_fps: payload["target_fps"].as_u64().unwrap_or(10) as u32,
        sample_count: payload["sample_count"].as_u64().unwrap_or(500) as usize,
        coordinates: parse_coordinates(&coordinates["payload"])?,
    })
}

/// The next message of type `kind`, skipping others; an `error` or a closed socket fails.
async fn next_of_type(socket: &mut Socket, kind: &str) -> anyhow::Result<Value> {
    loop {
        let text = match socket.next().await {
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(Message::Close(_))) | None => bail!("the server closed the connection before `{kind}`"),
            Some(Err(e)) => bail!("connection lost before `{kind}`: {e}"),
            Some(Ok(_)) => continue,
        };
        let message: Value = serde_json::from_str(text.as_str()).context("the server sent a message that is not JSON")?;
        match message["type"].as_str() {
            Some(t) if t == kind => return Ok(message),
            Some("error") => bail!("the server answered with an error: {}", describe_error(&message)),
            _ => continue,
        }
    }
}

pub(super) fn describe_error(message: &Value) -> String {
    let payload = &message["payload"];
    format!("{}: {}", payload["code"].as_str().unwrap_or("?"), payload["message"].as_str().unwrap_or(""))
}

pub(super) fn parse_coordinates(payload: &Value) -> anyhow::Result<Coordinates> {
    payload["coordinates"]
        .as_array()
        .context("uv_coordinates without a `coordinates` list")?
        .iter()
        .map(|c| Some([c["u"].as_f64()? as f32, c["v"].as_f64()? as f32]))
        .collect::<Option<_>>()
        .context("uv_coordinates with a coordinate that is not {u, v}")
}

/// Everything the reader task collects.
#[derive(Default)]
struct Inbox {
    replies: Vec<(u64, Instant)>,
    server_errors: Vec<String>,
    closed: Option<String>,
}

/// Streams from `start` for `plan.seconds`, then waits briefly for the reply to the last
/// frame and closes the connection.
pub async fn stream(connected: Connected, plan: Plan, start: Instant, progress: Arc<Progress>) -> ClientRun {
    let Connected { socket, session_id, coordinates, .. } = connected;
    let (mut sink, source) = socket.split();
    let inbox = Arc::new(Mutex::new(Inbox::default()));
    let (updates_tx, mut updates) = mpsc::unbounded_channel();
    let (newest_target_tx, mut newest_target) = watch::channel(0u64);
    let reader = tokio::spawn(read(source, inbox.clone(), updates_tx, newest_target_tx, progress.clone()));

    let period = Duration::from_secs_f64(1.0 / plan.fps);
    let end = start + Duration::from_secs_f64(plan.seconds);
    let mut ticks = tokio::time::interval_at(start, period);
    // A client that falls behind drops frames, as a game at a fixed frame clock would.
    ticks.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut mask = Mask::new(coordinates);
    let mut sent_at = Vec::new();
    let mut broken = None;
    loop {
        if ticks.tick().await >= end {
            break;
        }
        let frame_id = sent_at.len() as u64;
        while let Ok((target, coordinates)) = updates.try_recv() {
            mask.offer(target, coordinates);
        }
        let debug = plan.debug_every > 0 && frame_id % plan.debug_every == 0;
        // `timestamp` is the game's clock, as Unity's Time.time: seconds since streaming began.
        let timestamp = start.elapsed().as_secs_f64();
        let text = frame_message(plan.client, frame_id, timestamp, mask.for_frame(frame_id), debug).to_string();
        sent_at.push(Instant::now());
        if let Err(e) = sink.send(Message::Text(text.into())).await {
            sent_at.pop();
            broken = Some(format!("sending frame {frame_id} failed: {e}"));
            break;
        }
        progress.frames_sent.fetch_add(1, Ordering::Relaxed);
    }

    if broken.is_none() {
        let last_reply = sent_at.len() as u64; // target_frame_id of the reply to the last frame
        let _ = tokio::time::timeout(DRAIN_TIMEOUT, newest_target.wait_for(|&t| t >= last_reply)).await;
        let _ = sink.send(Message::Close(None)).await;
    }
    // The server answers our Close with its own, which ends the reader.
    if tokio::time::timeout(DRAIN_TIMEOUT, reader).await.is_err() {
        tracing::debug!(session_id, "the reader did not end after close");
    }
    let inbox = std::mem::take(&mut *inbox.lock().expect("inbox lock"));
    ClientRun {
        session_id,
        sent_at,
        replies: inbox.replies,
        server_errors: inbox.server_errors,
        broken: broken.or(inbox.closed),
    }
}

/// Where to sample: the coordinates in use and updates waiting for their target frame.
pub(super) struct Mask {
    current: Coordinates,
    waiting: Vec<(u64, Coordinates)>,
}

impl Mask {
    pub(super) fn new(initial: Coordinates) -> Mask {
        Mask { current: initial, waiting: Vec::new() }
    }

    /// New coordinates from `uv_coordinates`, to be used from frame `target` on.
    pub(super) fn offer(&mut self, target: u64, coordinates: Coordinates) {
        self.waiting.push((target, coordinates));
    }

    /// The coordinates for frame `frame_id`: the newest update whose target has come
    /// (a late update applies to the next frame captured), else the current ones.
    pub(super) fn for_frame(&mut self, frame_id: u64) -> &[[f32; 2]] {
        let due = self.waiting.iter().enumerate().filter(|(_, (target, _))| *target <= frame_id);
        if let Some((i, _)) = due.max_by_key(|(_, (target, _))| *target) {
            self.current = self.waiting.swap_remove(i).1;
            self.waiting.retain(|(target, _)| *target > frame_id);
        }
        &self.current
    }
}

/// Takes the server's messages until the connection ends: coordinate updates go to the
/// sender, everything is noted in the inbox.
async fn read(
    mut source: SplitStream<Socket>,
    inbox: Arc<Mutex<Inbox>>,
    updates: mpsc::UnboundedSender<(u64, Coordinates)>,
    newest_target: watch::Sender<u64>,
    progress: Arc<Progress>,
) {
    loop {
        let text = match source.next().await {
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(Message::Close(frame))) => {
                // A close the server starts (shutdown, timeout) comes before ours is sent.
                if let Some(frame) = frame.filter(|f| !f.reason.is_empty()) {
                    inbox.lock().expect("inbox lock").closed = Some(format!("the server closed the connection: {}", frame.reason));
                }
                return;
            }
            None => return,
            Some(Err(e)) => {
                inbox.lock().expect("inbox lock").closed = Some(format!("connection lost: {e}"));
                return;
            }
            Some(Ok(_)) => continue,
        };
        let received = Instant::now();
        let Ok(message) = serde_json::from_str::<Value>(text.as_str()) else {
            inbox.lock().expect("inbox lock").server_errors.push(format!("not JSON: {text}"));
            continue;
        };
        match message["type"].as_str() {
            Some("uv_coordinates") => {
                let payload = &message["payload"];
                let (Some(target), Ok(coordinates)) = (payload["target_frame_id"].as_u64(), parse_coordinates(payload)) else {
                    inbox.lock().expect("inbox lock").server_errors.push(format!("bad uv_coordinates: {payload}"));
                    continue;
                };
                inbox.lock().expect("inbox lock").replies.push((target, received));
                progress.replies.fetch_add(1, Ordering::Relaxed);
                newest_target.send_modify(|t| *t = (*t).max(target));
                let _ = updates.send((target, coordinates));
            }
            Some("error") => inbox.lock().expect("inbox lock").server_errors.push(describe_error(&message)),
            _ => {} // heartbeat_ack, frame_gap_detected: nothing to measure
        }
    }
}

/// A `frame_data` (or `frame_data_debug`) message sampling the scene at `coordinates`.
pub(super) fn frame_message(client: usize, frame_id: u64, timestamp: f64, coordinates: &[[f32; 2]], debug: bool) -> Value {
    let pixels: Vec<Value> = coordinates
        .iter()
        .map(|&[u, v]| json!({"u": u, "v": v, "value": scene::value(client, frame_id, u, v)}))
        .collect();
    let mut payload = json!({
        "frame_id": frame_id,
        "timestamp": timestamp,
        "resolution": scene::RESOLUTION,
        "num_pixels": pixels.len(),
        "pixels": pixels,
        "state_vector": [timestamp, (frame_id % 50) as f64 / 50.0, client as f64],
    });
    if debug {
        payload["full_frame_base64"] = json!(scene::full_frame_png_base64(client, frame_id));
        json!({"type": "frame_data_debug", "payload": payload})
    } else {
        json!({"type": "frame_data", "payload": payload})
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reply_for_frame_n_plus_one_times_frame_n() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let run = ClientRun {
            session_id: "s".into(),
            sent_at: vec![t0, t0 + ms(100), t0 + ms(200)],
            // Replies for frames 0 and 2, and the initial mask (target 0), which answers no frame.
            replies: vec![(0, t0), (1, t0 + ms(30)), (3, t0 + ms(250))],
            server_errors: vec![],
            broken: None,
        };
        let latencies = run.reply_latencies_ms();
        assert_eq!(latencies.len(), 2);
        assert!((latencies[0] - 30.0).abs() < 1e-6 && (latencies[1] - 50.0).abs() < 1e-6, "{latencies:?}");
    }

    #[test]
    fn coordinates_swap_at_their_target_frame() {
        let mut mask = Mask::new(vec![[0.0, 0.0]]);
        mask.offer(5, vec![[0.5, 0.5]]);
        mask.offer(3, vec![[0.3, 0.3]]);
        assert_eq!(mask.for_frame(2), [[0.0, 0.0]], "no update is due yet");
        assert_eq!(mask.for_frame(3), [[0.3, 0.3]]);
        assert_eq!(mask.for_frame(4), [[0.3, 0.3]], "kept until the next one is due");
        // Frames 5 and 6 were never captured: at frame 7 both updates are due; the newest wins.
        mask.offer(6, vec![[0.6, 0.6]]);
        assert_eq!(mask.for_frame(7), [[0.6, 0.6]]);
        assert_eq!(mask.for_frame(8), [[0.6, 0.6]]);
    }

    #[test]
    fn frames_carry_what_protocol_md_asks_for() {
        let coordinates = [[0.5, 0.0], [0.1, 0.5]];
        let message = frame_message(0, 3, 0.3, &coordinates, false);
        assert_eq!(message["type"], "frame_data");
        let p = &message["payload"];
        assert_eq!(p["num_pixels"], 2);
        assert_eq!(p["pixels"][0]["value"], scene::value(0, 3, 0.5, 0.0));
        assert_eq!(p["resolution"], json!([640, 480]));
        let debug = frame_message(0, 3, 0.3, &coordinates, true);
        assert_eq!(debug["type"], "frame_data_debug");
        assert!(debug["payload"]["full_frame_base64"].as_str().unwrap().len() > 100);
    }
}
