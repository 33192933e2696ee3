//! One WebSocket connection speaking PROTOCOL.md. The client streams open loop, so
//! reading never waits for inference: frames go to the batcher, and its answers come
//! back on a channel that this task turns into `uv_coordinates` messages.
//!
//! Every bad message is answered with an `error` and the connection stays usable; so
//! is every input a limit refuses (message size, session starts, frame rate, storage
//! room), with SERVER_OVERLOAD or INVALID_MESSAGE and `details.reason`. Only a message
//! beyond the socket's own cap (twice `server.max_message_bytes`) ends the connection,
//! with close code 1009, since the socket cannot skip it unread.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::ws::{close_code, CloseFrame, Message, WebSocket};
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use sgaps_core::data::{RecordedFrame, SessionInfo};
use sgaps_core::metrics::resized_to;
use sgaps_core::pipeline::{EngineError, SessionId};
use tokio::sync::{mpsc, OwnedSemaphorePermit};

use super::batcher::{Enqueued, FrameJob, FrameOutcome};
use super::codec::{decode_frame, encode_coordinates, DecodeLimits};
use super::frame_rate::FrameRate;
use super::metrics::Refusal;
use super::protocol::{ClientMessage, ErrorCode, ErrorPayload, FrameDataPayload, ServerMessage, SessionStartAck, SessionStartPayload};
use super::registry::{now_seconds, FrameRecord, Latest, SessionEntry, Status};
use super::App;

/// Frame answers a connection may have in flight before older ones are dropped.
const OUTCOMES_IN_FLIGHT: usize = 64;
const MESSAGE_TYPES: [&str; 4] = ["session_start", "frame_data", "frame_data_debug", "heartbeat"];

/// Just a message's `type`; serde skips every other field without allocating.
#[derive(serde::Deserialize)]
struct Envelope {
    #[serde(rename = "type")]
    kind: Option<String>,
}

struct ActiveSession {
    entry: Arc<Mutex<SessionEntry>>,
    engine_id: SessionId,
    /// One of the `server.max_sessions` slots, given back when the session ends.
    _slot: OwnedSemaphorePermit,
    frame_rate: FrameRate,
    /// `[width, height]` the server reconstructs at; the dashboard's ground truth too.
    resolution: [usize; 2],
    /// Frames refused in a row for want of storage room: logged when a run starts and ends.
    storage_refusals: u64,
    max_state_dim: usize,
    debug_mode: bool,
    quantized_coordinates: bool,
    /// Where the client samples now, for the dashboard's sample overlay.
    last_samples: Vec<[f32; 2]>,
    /// The newest ground-truth frame the client sent, for the dashboard.
    last_ground_truth: Option<image::GrayImage>,
    last_latency_ms: f64,
}

struct Connection {
    app: Arc<App>,
    out: mpsc::Sender<Message>,
    outcomes: mpsc::Sender<FrameOutcome>,
    /// A session created over REST and named by `?session_id=`.
    preset: Option<Arc<Mutex<SessionEntry>>>,
    session: Option<ActiveSession>,
    /// Sessions this connection has started, for `server.max_sessions_per_connection`.
    sessions_started: u32,
}

/// Serves one socket; `_slot` is its place under `server.max_connections`, given back
/// when the connection ends.
pub async fn run(socket: WebSocket, app: Arc<App>, preset: Option<Arc<Mutex<SessionEntry>>>, _slot: OwnedSemaphorePermit) {
    app.metrics.connections.inc();
    let (mut sink, mut stream) = socket.split();
    let (out, mut out_rx) = mpsc::channel::<Message>(256);
    let writer = tokio::spawn(async move {
        while let Some(message) = out_rx.recv().await {
            if sink.send(message).await.is_err() {
                break;
            }
        }
        let _ = sink.close().await;
    });
    let (outcomes, mut outcome_rx) = mpsc::channel(OUTCOMES_IN_FLIGHT);
    let mut conn = Connection { app: app.clone(), out, outcomes, preset, session: None, sessions_started: 0 };
    let client_id = uuid::Uuid::new_v4().to_string();
    conn.send(ServerMessage::ConnectionAck { client_id: client_id.clone(), server_version: env!("CARGO_PKG_VERSION").into() })
        .await;
    tracing::info!(client_id, "client connected");

    let idle = Duration::from_secs_f64(app.config.server.idle_timeout_s.max(0.001));
    let mut shutdown = app.shutdown.subscribe();
    let mut last_message = Instant::now();
    loop {
        let closed_over_rest = conn.session.as_ref().map(|s| s.entry.lock().expect("entry lock").close.clone());
        tokio::select! {
            message = stream.next() => match message {
                Some(Ok(Message::Text(text))) => {
                    last_message = Instant::now();
                    conn.app.metrics.bytes_received.inc_by(text.len() as u64);
                    if let Some(session) = &conn.session {
                        session.entry.lock().expect("entry lock").bytes_received += text.len() as u64;
                    }
                    conn.handle_text(text.as_str()).await;
                }
                Some(Ok(Message::Binary(_))) => {
                    last_message = Instant::now();
                    conn.error(ErrorCode::InvalidMessage, "binary frames are not part of the protocol; send JSON text", None).await;
                }
                Some(Err(e)) => {
                    conn.close_if_too_big(e).await;
                    break;
                }
                Some(Ok(Message::Close(_))) | None => break,
                Some(Ok(_)) => last_message = Instant::now(), // ping/pong: axum answers pings
            },
            Some(outcome) = outcome_rx.recv() => conn.handle_outcome(outcome).await,
            _ = tokio::time::sleep_until((last_message + idle).into()) => {
                conn.error(ErrorCode::Timeout, &format!("no message for {:.0} s; closing", idle.as_secs_f64()), None).await;
                break;
            }
            _ = async { closed_over_rest.unwrap().notified().await }, if closed_over_rest.is_some() => {
                conn.error(ErrorCode::SessionExpired, "the session was ended over the REST API", None).await;
                break;
            }
            _ = shutdown.changed() => {
                conn.error(ErrorCode::ServerOverload, "the server is shutting down", None).await;
                break;
            }
        }
    }
    conn.end_session();
    drop(conn);
    let _ = writer.await;
    app.metrics.connections.dec();
    tracing::info!(client_id, "client disconnected");
}

impl Connection {
    async fn send(&self, message: ServerMessage) {
        let text = serde_json::to_string(&message).expect("server messages serialise");
        let _ = self.out.send(Message::Text(text.into())).await;
    }

    async fn error(&self, code: ErrorCode, message: &str, details: Option<serde_json::Value>) {
        tracing::debug!(?code, message, "error sent to client");
        self.send(ServerMessage::Error(ErrorPayload { code, message: message.to_string(), details })).await;
    }

    /// A read error that is a message beyond the socket's cap: says so with close code
    /// 1009 before the connection ends (the socket cannot read on past it).
    async fn close_if_too_big(&self, error: axum::Error) {
        use tokio_tungstenite::tungstenite::error::{CapacityError, Error};
        let inner = error.into_inner();
        let Some(Error::Capacity(CapacityError::MessageTooLong { size, max_size })) = inner.downcast_ref::<Error>() else {
            tracing::debug!(error = %inner, "connection read failed");
            return;
        };
        self.app.metrics.refuse(Refusal::MessageTooLarge);
        tracing::info!(size, max_size, "message beyond the socket's cap; closing");
        let reason = format!("message of {size} bytes, the socket reads at most {max_size}");
        let _ = self.out.send(Message::Close(Some(CloseFrame { code: close_code::SIZE, reason: reason.into() }))).await;
    }

    async fn handle_text(&mut self, text: &str) {
        let max = self.app.config.server.max_message_bytes;
        if text.len() > max {
            self.app.metrics.refuse(Refusal::MessageTooLarge);
            let details = json!({ "reason": "message_too_large", "bytes": text.len(), "max_message_bytes": max });
            let message = format!("a message of {} bytes is over server.max_message_bytes = {max}; it was not read", text.len());
            return self.error(ErrorCode::InvalidMessage, &message, Some(details)).await;
        }
        // The type first, skipping the payload unread: a generic JSON tree of a large
        // message would cost many times its size.
        let kind = match serde_json::from_str::<Envelope>(text) {
            Ok(Envelope { kind: Some(kind) }) => kind,
            Ok(Envelope { kind: None }) => {
                return self.error(ErrorCode::InvalidMessage, "a message needs a string field `type`", None).await;
            }
            Err(e) if e.classify() == serde_json::error::Category::Data => {
                let message = format!("a message is an object with a string field `type`: {e}");
                return self.error(ErrorCode::InvalidMessage, &message, None).await;
            }
            Err(e) => return self.error(ErrorCode::InvalidMessage, &format!("not valid JSON: {e}"), None).await,
        };
        if !MESSAGE_TYPES.contains(&kind.as_str()) {
            let details = json!({ "type": kind, "known_types": MESSAGE_TYPES });
            return self.error(ErrorCode::UnknownMessageType, &format!("unknown message type `{kind}`"), Some(details)).await;
        }
        let message: ClientMessage = match serde_json::from_str(text) {
            Ok(m) => m,
            Err(e) => {
                let code = if kind.starts_with("frame_data") { ErrorCode::InvalidFrameData } else { ErrorCode::InvalidMessage };
                return self.error(code, &format!("bad `{kind}` payload: {e}"), None).await;
            }
        };
        match message {
            ClientMessage::SessionStart(payload) => self.start_session(payload).await,
            ClientMessage::FrameData(payload) => self.frame(payload, false).await,
            ClientMessage::FrameDataDebug(payload) => self.frame(payload, true).await,
            ClientMessage::Heartbeat(_) => {
                let latency_ms = self.session.as_ref().map_or(0.0, |s| s.last_latency_ms);
                self.send(ServerMessage::HeartbeatAck { server_time: now_seconds(), latency_ms }).await;
            }
        }
    }

    async fn start_session(&mut self, payload: SessionStartPayload) {
        let app = self.app.clone();
        let per_connection = app.config.server.max_sessions_per_connection;
        if self.sessions_started >= per_connection {
            app.metrics.refuse(Refusal::SessionStarts);
            let message = format!(
                "this connection has started {per_connection} sessions (server.max_sessions_per_connection); reconnect to start another"
            );
            let details = json!({ "reason": "session_starts", "max_sessions_per_connection": per_connection });
            return self.error(ErrorCode::ServerOverload, &message, Some(details)).await;
        }
        // A second session_start replaces the first.
        self.end_session();
        let Ok(slot) = app.session_slots.clone().try_acquire_owned() else {
            app.metrics.refuse(Refusal::SessionLimit);
            let max = app.config.server.max_sessions;
            let details = json!({ "reason": "session_limit", "max_sessions": max });
            return self.error(ErrorCode::ServerOverload, &format!("the server is at its limit of {max} sessions"), Some(details)).await;
        };
        self.sessions_started += 1;
        let key = payload.checkpoint_key.clone();
        let resolution = payload.resolution;
        // Loading a checkpoint reads files and builds a model: off the async threads.
        let engine = app.engine.clone();
        let started = tokio::task::spawn_blocking(move || engine.begin_session(&key, resolution)).await;
        let start = match started {
            Ok(Ok(start)) => start,
            Ok(Err(EngineError::InvalidArgument { field, message })) => {
                return self.error(ErrorCode::InvalidMessage, &format!("`{field}` {message}"), None).await;
            }
            Ok(Err(e)) => return self.error(ErrorCode::ModelError, &e.to_string(), None).await,
            Err(e) => return self.error(ErrorCode::ModelError, &format!("session start failed: {e}"), None).await,
        };
        let params = &start.params;
        let entry = match self.preset.take() {
            Some(entry) => entry,
            None => app.registry.create(Status::Active, &params.checkpoint_key, params.target_fps, 0.0),
        };
        let session_id = {
            let mut e = entry.lock().expect("entry lock");
            e.status = Status::Active;
            e.engine_session = Some(params.session_id);
            e.checkpoint_key = params.checkpoint_key.clone();
            e.target_fps = params.target_fps;
            e.last_activity = now_seconds();
            e.id.clone()
        };
        let debug_mode = payload.debug && app.config.server.allow_debug;
        let compression = payload.compression.unwrap_or_default();
        if let Some(storage) = &app.storage {
            // Recorded under the key the client asked for: that is the model its data
            // trains, even while `default` serves it.
            storage.begin_session(SessionInfo {
                session_id: session_id.clone(),
                created_at: now_seconds(),
                checkpoint_key: payload.checkpoint_key.clone(),
                model_version: params.model_version.clone(),
                client_resolution: params.client_resolution.map(|d| d as u32),
                resolution: params.resolution.map(|d| d as u32),
                sample_count: params.sample_count as u32,
                max_state_dim: params.max_state_dim as u32,
                sentinel_value: app.engine.config().model.sentinel_value,
            });
        }
        app.metrics.active_sessions.inc();
        tracing::info!(session_id, key = %params.checkpoint_key, loaded = params.checkpoint_loaded, debug_mode, "session started");
        self.send(ServerMessage::SessionStartAck(SessionStartAck {
            checkpoint_key: params.checkpoint_key.clone(),
            checkpoint_loaded: params.checkpoint_loaded,
            model_version: params.model_version.clone(),
            sample_count: params.sample_count,
            max_state_dim: params.max_state_dim,
            target_fps: params.target_fps,
            resolution: params.resolution,
            debug_mode,
            session_id,
        }))
        .await;
        self.send(ServerMessage::UvCoordinates(encode_coordinates(0, &start.initial_coordinates, compression.coordinates)))
            .await;
        self.session = Some(ActiveSession {
            entry,
            engine_id: params.session_id,
            _slot: slot,
            frame_rate: FrameRate::new(app.config.server.max_frames_per_second),
            resolution: params.resolution,
            storage_refusals: 0,
            max_state_dim: params.max_state_dim,
            debug_mode,
            quantized_coordinates: compression.coordinates,
            last_samples: start.initial_coordinates,
            last_ground_truth: None,
            last_latency_ms: 0.0,
        });
    }

    async fn frame(&mut self, payload: FrameDataPayload, debug: bool) {
        let received = Instant::now();
        let app = self.app.clone();
        let Some(session) = self.session.as_mut() else {
            return self.error(ErrorCode::SessionNotStarted, "send session_start before frames", None).await;
        };
        if !session.frame_rate.admit(received) {
            app.metrics.refuse(Refusal::FrameRate);
            let fps = session.frame_rate.per_second();
            let frame_id = payload.frame_id;
            let details = json!({ "reason": "frame_rate", "frame_id": frame_id, "max_frames_per_second": fps });
            let message = format!("frame {frame_id} refused (not stored): over server.max_frames_per_second = {fps} for this session");
            return self.error(ErrorCode::ServerOverload, &message, Some(details)).await;
        }
        let limits = DecodeLimits {
            max_pixels: app.config.sampling.max_sample_count as usize,
            max_debug_frame_pixels: app.config.server.max_debug_frame_pixels,
        };
        let mut frame = match decode_frame(payload, &limits) {
            Ok(frame) => frame,
            Err(e) => {
                app.metrics.frames_invalid.inc();
                let details = json!({ "field": e.field });
                return self.error(ErrorCode::InvalidFrameData, &format!("`{}` {}", e.field, e.message), Some(details)).await;
            }
        };
        if !(debug && session.debug_mode) {
            frame.ground_truth = None; // debug frames only count when the session allows them
        }
        if let Err(e) = frame.validate(app.config.sampling.max_sample_count as usize, session.max_state_dim) {
            app.metrics.frames_invalid.inc();
            let details = json!({ "field": e.field, "frame_id": frame.frame_id });
            return self.error(ErrorCode::InvalidFrameData, &e.to_string(), Some(details)).await;
        }
        // Stored first: a frame the recorder has no room for is refused before it counts
        // as received, so every frame the server accepts is stored.
        if let Some(storage) = &app.storage {
            let id = session.entry.lock().expect("entry lock").id.clone();
            let recorded = RecordedFrame {
                frame_id: frame.frame_id,
                timestamp: frame.timestamp,
                pixels: frame.pixels.iter().map(|p| [p.u, p.v, p.value]).collect(),
                state: frame.state.clone(),
                ground_truth: frame.ground_truth.clone(),
            };
            if let Err(refused) = storage.try_record(&id, recorded) {
                app.metrics.refuse(Refusal::StorageFull);
                if session.storage_refusals == 0 {
                    tracing::warn!(session_id = id, frame_id = frame.frame_id, %refused, "storage is behind: refusing this session's frames until it catches up");
                }
                session.storage_refusals += 1;
                let details = json!({ "reason": "storage_full", "frame_id": frame.frame_id });
                let message = format!("frame {} refused (not stored): {refused}", frame.frame_id);
                return self.error(ErrorCode::ServerOverload, &message, Some(details)).await;
            }
            if session.storage_refusals > 0 {
                tracing::warn!(session_id = id, refused = session.storage_refusals, "storage caught up; frames accepted again");
                session.storage_refusals = 0;
            }
        }
        app.metrics.frames_received.inc();
        {
            let mut entry = session.entry.lock().expect("entry lock");
            entry.frames_received += 1;
            entry.pixels_received += frame.pixels.len() as u64;
            entry.last_activity = now_seconds();
            entry.record_frame(FrameRecord {
                frame_id: frame.frame_id,
                timestamp: frame.timestamp,
                num_pixels: frame.pixels.len(),
                reconstruction_psnr: None,
                reconstruction_ssim: None,
                sample_psnr: None,
                latency_ms: None,
                skipped: false,
            });
        }
        session.last_samples = frame.pixels.iter().map(|p| [p.u, p.v]).collect();
        if let Some(truth) = &frame.ground_truth {
            // Kept for the dashboard at the reconstruction's size: a session holds at most
            // one reconstruction-sized truth, however large the client's screen.
            let [w, h] = session.resolution.map(|d| d as u32);
            session.last_ground_truth = Some(resized_to(truth, w, h));
        }
        let job = FrameJob { session: session.engine_id, frame, received, reply: self.outcomes.clone() };
        if let Enqueued::ReplacedOlder(older) = app.batcher.submit(job) {
            app.metrics.frames_skipped.inc();
            let mut entry = session.entry.lock().expect("entry lock");
            entry.frames_skipped += 1;
            if let Some(record) = entry.frame_mut(older) {
                record.skipped = true;
            }
        }
        app.metrics.queue_depth.set(app.batcher.depth() as i64);
    }

    async fn handle_outcome(&mut self, outcome: FrameOutcome) {
        let app = self.app.clone();
        let Some(session) = self.session.as_mut() else { return };
        let result = match outcome.result {
            Ok(result) => result,
            Err(EngineError::UnknownSession(_)) => return, // the session ended meanwhile
            Err(EngineError::InvalidFrame(e)) => {
                return self.error(ErrorCode::InvalidFrameData, &e.to_string(), Some(json!({ "field": e.field }))).await;
            }
            Err(e @ EngineError::Overloaded { .. }) => {
                return self.error(ErrorCode::ServerOverload, &e.to_string(), Some(json!({ "reason": "inference_queue_full" }))).await;
            }
            Err(e) => return self.error(ErrorCode::ModelError, &e.to_string(), None).await,
        };
        let latency = outcome.received.elapsed();
        session.last_latency_ms = latency.as_secs_f64() * 1e3;
        app.metrics.frames_reconstructed.inc();
        app.metrics.latency_seconds.observe(latency.as_secs_f64());
        if let Some(q) = &result.ground_truth_quality {
            app.metrics.reconstruction_psnr.observe(q.psnr.min(100.0));
        }
        {
            let mut entry = session.entry.lock().expect("entry lock");
            if let Some(record) = entry.frame_mut(result.frame_id) {
                record.sample_psnr = Some(result.sample_psnr);
                record.reconstruction_psnr = result.ground_truth_quality.as_ref().map(|q| q.psnr.min(100.0));
                record.reconstruction_ssim = result.ground_truth_quality.as_ref().map(|q| q.ssim);
                record.latency_ms = Some(session.last_latency_ms);
            }
            entry.keep_reconstruction(result.frame_id, result.reconstruction.clone());
            entry.latest = Some(Latest {
                frame_id: result.frame_id,
                reconstruction: result.reconstruction,
                importance: result.importance.map,
                samples: session.last_samples.clone(),
                ground_truth: session.last_ground_truth.clone(),
            });
        }
        if let Some(update) = result.mask_update {
            let quantized = session.quantized_coordinates;
            self.send(ServerMessage::UvCoordinates(encode_coordinates(update.target_frame_id, &update.coordinates, quantized)))
                .await;
        }
    }

    /// Ends the engine session (its data stays stored).
    fn end_session(&mut self) {
        let Some(session) = self.session.take() else { return };
        let stats = self.app.engine.end_session(session.engine_id).ok();
        let id = {
            let mut entry = session.entry.lock().expect("entry lock");
            entry.status = Status::Ended;
            entry.last_activity = now_seconds();
            entry.id.clone()
        };
        if let Some(storage) = &self.app.storage {
            storage.end_session(&id);
        }
        self.app.metrics.active_sessions.dec();
        tracing::info!(session_id = id, frames = stats.map(|s| s.frames_reconstructed), "session ended");
    }
}
