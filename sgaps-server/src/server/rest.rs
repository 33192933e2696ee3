//! The REST API under `/api` (PROTOCOL.md) and the pictures the dashboard shows.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use sgaps_core::config::MaskUpdateMode;
use sgaps_core::visualize::{gray_to_rgb, importance_heatmap, sample_overlay};

use super::codec::png_bytes;
use super::registry::{now_seconds, Status};
use super::App;

/// How long a session created over REST waits for its WebSocket.
const PENDING_TTL_SECONDS: f64 = 300.0;

pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .route("/sessions", get(list_sessions))
        .route("/sessions/create", post(create_session))
        .route("/sessions/{id}", delete(delete_session).get(get_session))
        .route("/sessions/{id}/config", axum::routing::patch(patch_config))
        .route("/sessions/{id}/frames", get(list_frames))
        .route("/sessions/{id}/frames/{frame_id}/download", get(download_frame))
        .route("/sessions/{id}/latest/{picture}", get(latest_picture))
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({ "error": message.into() }))).into_response()
}

fn png(bytes: Vec<u8>) -> Response {
    ([(header::CONTENT_TYPE, "image/png"), (header::CACHE_CONTROL, "no-store")], bytes).into_response()
}

async fn health(State(app): State<Arc<App>>) -> Json<Value> {
    Json(json!({
        "status": "ok",
        "version": env!("CARGO_PKG_VERSION"),
        "uptime_seconds": app.started.elapsed().as_secs_f64(),
        "active_connections": app.metrics.connections.get(),
        "active_sessions": app.engine.active_sessions(),
        "device": app.engine.device(),
    }))
}

async fn metrics(State(app): State<Arc<App>>) -> Response {
    app.refresh_gauges();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], app.metrics.render()).into_response()
}

async fn list_sessions(State(app): State<Arc<App>>) -> Json<Value> {
    let sessions: Vec<Value> = app.registry.all().iter().map(|e| e.lock().expect("entry lock").summary()).collect();
    Json(json!({ "sessions": sessions }))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct CreateSession {
    #[serde(default)]
    checkpoint_key: Option<String>,
}

async fn create_session(State(app): State<Arc<App>>, body: Bytes) -> Response {
    let request: CreateSession = if body.is_empty() {
        CreateSession::default()
    } else {
        match serde_json::from_slice(&body) {
            Ok(r) => r,
            Err(e) => return error(StatusCode::BAD_REQUEST, format!("bad body: {e}")),
        }
    };
    if app.registry.live_count() >= app.config.server.max_sessions as usize {
        return error(StatusCode::TOO_MANY_REQUESTS, format!("the limit of {} sessions is reached", app.config.server.max_sessions));
    }
    let key = request.checkpoint_key.unwrap_or_else(|| "default".into());
    let entry = app.registry.create(Status::Pending, &key, app.config.server.target_fps, PENDING_TTL_SECONDS);
    let e = entry.lock().expect("entry lock");
    let body = json!({
        "session_id": e.id,
        "ws_endpoint": format!("/ws/stream?session_id={}", e.id),
        "created_at": e.created_at,
        "expires_at": e.expires_at,
    });
    (StatusCode::CREATED, Json(body)).into_response()
}

async fn get_session(State(app): State<Arc<App>>, Path(id): Path<String>) -> Response {
    match app.registry.get(&id) {
        Some(entry) => Json(entry.lock().expect("entry lock").summary()).into_response(),
        None => error(StatusCode::NOT_FOUND, format!("no session `{id}`")),
    }
}

async fn delete_session(State(app): State<Arc<App>>, Path(id): Path<String>) -> Response {
    let Some(entry) = app.registry.get(&id) else {
        return error(StatusCode::NOT_FOUND, format!("no session `{id}`"));
    };
    let (summary, engine_session, close) = {
        let e = entry.lock().expect("entry lock");
        (e.summary(), e.engine_session.filter(|_| e.status != Status::Ended), e.close.clone())
    };
    let engine_stats = engine_session.and_then(|s| app.engine.session_stats(s).ok());
    // The connection ends the engine session and says goodbye to the client.
    close.notify_one();
    entry.lock().expect("entry lock").status = Status::Ended;
    Json(json!({ "session": summary, "engine_stats": engine_stats })).into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigPatch {
    target_fps: Option<u32>,
    mask_update_mode: Option<MaskUpdateMode>,
}

async fn patch_config(State(app): State<Arc<App>>, Path(id): Path<String>, body: Bytes) -> Response {
    let patch: ConfigPatch = match serde_json::from_slice(&body) {
        Ok(p) => p,
        Err(e) => return error(StatusCode::BAD_REQUEST, format!("bad body: {e}")),
    };
    let Some(entry) = app.registry.get(&id) else {
        return error(StatusCode::NOT_FOUND, format!("no session `{id}`"));
    };
    let mut e = entry.lock().expect("entry lock");
    if let Some(fps) = patch.target_fps {
        if fps == 0 || fps > 240 {
            return error(StatusCode::BAD_REQUEST, "target_fps must be in 1..=240");
        }
        e.target_fps = fps;
    }
    if let Some(mode) = patch.mask_update_mode {
        let Some(session) = e.engine_session.filter(|_| e.status == Status::Active) else {
            return error(StatusCode::BAD_REQUEST, "mask_update_mode applies to an active session");
        };
        if let Err(err) = app.engine.set_mask_update_mode(session, mode) {
            return error(StatusCode::NOT_FOUND, err.to_string());
        }
    }
    e.last_activity = now_seconds();
    Json(e.summary()).into_response()
}

#[derive(Deserialize)]
struct Page {
    #[serde(default)]
    offset: usize,
    #[serde(default = "default_limit")]
    limit: usize,
}

fn default_limit() -> usize {
    100
}

async fn list_frames(State(app): State<Arc<App>>, Path(id): Path<String>, Query(page): Query<Page>) -> Response {
    let Some(entry) = app.registry.get(&id) else {
        return error(StatusCode::NOT_FOUND, format!("no session `{id}`"));
    };
    let e = entry.lock().expect("entry lock");
    let frames: Vec<_> = e.frames.iter().skip(page.offset).take(page.limit.min(1000)).cloned().collect();
    Json(json!({ "session_id": id, "total": e.frames.len(), "offset": page.offset, "frames": frames })).into_response()
}

async fn download_frame(State(app): State<Arc<App>>, Path((id, frame_id)): Path<(String, u64)>) -> Response {
    let Some(entry) = app.registry.get(&id) else {
        return error(StatusCode::NOT_FOUND, format!("no session `{id}`"));
    };
    let image = entry.lock().expect("entry lock").reconstructions.iter().find(|(f, _)| *f == frame_id).map(|(_, i)| i.clone());
    match image {
        Some(image) => png(png_bytes(&image)),
        None => error(StatusCode::NOT_FOUND, format!("no reconstruction of frame {frame_id} is kept (the newest 64 are)")),
    }
}

/// `reconstruction.png`, `importance.png`, `samples.png` or `ground_truth.png` of the
/// newest reconstructed frame.
async fn latest_picture(State(app): State<Arc<App>>, Path((id, picture)): Path<(String, String)>) -> Response {
    let Some(entry) = app.registry.get(&id) else {
        return error(StatusCode::NOT_FOUND, format!("no session `{id}`"));
    };
    let Some(latest) = entry.lock().expect("entry lock").latest.clone() else {
        return error(StatusCode::NOT_FOUND, "no frame reconstructed yet");
    };
    let encode = |image: image::RgbImage| png(png_bytes(&image));
    match picture.as_str() {
        "reconstruction.png" => png(png_bytes(&latest.reconstruction)),
        "importance.png" => match importance_heatmap(&latest.importance) {
            Ok(heatmap) => encode(heatmap),
            Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
        },
        "samples.png" => {
            // Markers are a few pixels wide: draw them on an enlarged frame so a small
            // reconstruction stays visible under them.
            let (w, h) = latest.reconstruction.dimensions();
            let scale = (224 / w.min(h).max(1)).max(1);
            let frame = image::imageops::resize(&latest.reconstruction, w * scale, h * scale, image::imageops::FilterType::Nearest);
            encode(sample_overlay(&frame, &latest.samples))
        }
        "ground_truth.png" => match latest.ground_truth {
            Some(truth) => encode(gray_to_rgb(&truth)),
            None => error(StatusCode::NOT_FOUND, "this session sends no ground truth (debug mode off)"),
        },
        other => error(StatusCode::NOT_FOUND, format!("no picture `{other}`")),
    }
}
