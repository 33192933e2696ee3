//! The wire messages of PROTOCOL.md: `{"type": "...", "payload": {...}}` JSON text
//! frames, snake_case fields, exactly what the existing Unity client sends and parses.

use serde::{Deserialize, Serialize};

/// Messages from the client.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", content = "payload", rename_all = "snake_case")]
pub enum ClientMessage {
    SessionStart(SessionStartPayload),
    FrameData(FrameDataPayload),
    FrameDataDebug(FrameDataPayload),
    /// `{"timestamp": ...}` or `{"client_time": ...}`; the server needs neither.
    Heartbeat(serde::de::IgnoredAny),
}

#[derive(Debug, Deserialize)]
pub struct SessionStartPayload {
    #[serde(default = "default_key")]
    pub checkpoint_key: String,
    /// `[width, height]` of the client's screen.
    pub resolution: [usize; 2],
    #[serde(default)]
    pub debug: bool,
    /// Opt-in compact forms. `pixels_compressed` frames are accepted from any client;
    /// `"compression": {"coordinates": true}` asks for `coordinates_quantized` replies.
    /// (Older clients also send `max_state_dim` and `sample_count`: the server decides
    /// those, so they are ignored.)
    #[serde(default)]
    pub compression: Option<CompressionRequest>,
}

#[derive(Debug, Default, Deserialize)]
pub struct CompressionRequest {
    #[serde(default)]
    pub coordinates: bool,
}

fn default_key() -> String {
    "default".into()
}

#[derive(Debug, Deserialize)]
pub struct FrameDataPayload {
    pub frame_id: u64,
    #[serde(default)]
    pub timestamp: f64,
    #[serde(default)]
    pub num_pixels: Option<usize>,
    #[serde(default)]
    pub pixels: Option<Vec<WirePixel>>,
    #[serde(default)]
    pub pixels_compressed: Option<CompressedPixels>,
    #[serde(default)]
    pub state_vector: Vec<f32>,
    /// `frame_data_debug` only: base64 PNG of the whole grayscale frame, bottom row first.
    #[serde(default)]
    pub full_frame_base64: Option<String>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
pub struct WirePixel {
    pub u: f32,
    pub v: f32,
    pub value: f32,
}

#[derive(Debug, Deserialize)]
pub struct CompressedPixels {
    pub format: String,
    pub data: String,
}

/// Messages to the client.
#[derive(Debug, Serialize)]
#[serde(tag = "type", content = "payload", rename_all = "snake_case")]
pub enum ServerMessage {
    ConnectionAck { client_id: String, server_version: String },
    SessionStartAck(SessionStartAck),
    UvCoordinates(UvCoordinates),
    HeartbeatAck { server_time: f64, latency_ms: f64 },
    Error(ErrorPayload),
}

#[derive(Debug, Serialize)]
pub struct SessionStartAck {
    pub checkpoint_key: String,
    pub checkpoint_loaded: bool,
    pub model_version: String,
    pub sample_count: usize,
    pub max_state_dim: usize,
    pub target_fps: u32,
    /// `[width, height]` the server reconstructs at.
    pub resolution: [usize; 2],
    pub debug_mode: bool,
    pub session_id: String,
}

#[derive(Debug, Serialize)]
pub struct UvCoordinates {
    pub target_frame_id: u64,
    pub num_coordinates: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coordinates: Option<Vec<WireCoordinate>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coordinates_quantized: Option<QuantizedCoordinates>,
}

#[derive(Debug, Serialize)]
pub struct WireCoordinate {
    pub u: f32,
    pub v: f32,
}

#[derive(Debug, Serialize)]
pub struct QuantizedCoordinates {
    pub format: &'static str,
    pub data: String,
}

#[derive(Debug, Serialize)]
pub struct ErrorPayload {
    pub code: ErrorCode,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<serde_json::Value>,
}

/// The error codes PROTOCOL.md lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    SessionNotStarted,
    InvalidFrameData,
    InvalidMessage,
    UnknownMessageType,
    SessionExpired,
    ServerOverload,
    ModelError,
    Timeout,
}
