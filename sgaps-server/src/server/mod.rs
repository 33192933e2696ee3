//! `sgaps serve`: the WebSocket/REST shim over the engine for remote clients.
//!
//! ```text
//! socket ─ connection task ─┬─ storage writer thread (every frame, HDF5)
//!                           └─ batcher ── Engine::submit_async ── inference worker ── answers ─> connection
//! registry pruner (tokio interval): forgets ended sessions by count and age
//! ```
//!
//! Everything a client controls is bounded (docs/serving.md adds the bounds up).

mod batcher;
mod codec;
mod connection;
mod dashboard;
mod frame_rate;
mod metrics;
pub mod protocol;
mod registry;
mod rest;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{Query, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;
use sgaps_core::data::{Recorder, RecorderBounds};
use sgaps_core::pipeline::Engine;
use sgaps_core::Config;
use tokio::sync::Semaphore;

use batcher::Batcher;
use metrics::Metrics;
use registry::Registry;

/// Everything the handlers share.
pub struct App {
    pub config: Config,
    pub engine: Arc<Engine>,
    batcher: Batcher,
    storage: Option<Recorder>,
    metrics: Arc<Metrics>,
    registry: Registry,
    /// `server.max_sessions` permits; a streaming session holds one.
    session_slots: Arc<Semaphore>,
    /// `server.max_connections` permits; an open WebSocket holds one.
    connection_slots: Arc<Semaphore>,
    started: Instant,
    /// Flips to true once on SIGINT/SIGTERM; connections say goodbye and end.
    shutdown: tokio::sync::watch::Sender<bool>,
}

impl App {
    pub fn new(config: Config) -> anyhow::Result<Arc<App>> {
        check_limits(&config.server)?;
        let engine = Arc::new(Engine::open(config.clone())?);
        let metrics = Arc::new(Metrics::new());
        let batcher = Batcher::start(engine.clone(), metrics.clone());
        let storage = if config.server.storage.enabled {
            let storage = &config.server.storage;
            let bounds = RecorderBounds {
                max_buffered_bytes: storage.max_buffered_bytes,
                max_session_buffered_bytes: storage.max_session_buffered_bytes,
            };
            let flush_interval = Duration::from_secs_f64(storage.flush_interval_s);
            Some(Recorder::start_bounded(Path::new(&config.data_root), flush_interval, bounds)?)
        } else {
            None
        };
        Ok(Arc::new(App {
            registry: Registry::new(config.server.retention.clone()),
            session_slots: Arc::new(Semaphore::new(config.server.max_sessions as usize)),
            connection_slots: Arc::new(Semaphore::new(config.server.max_connections as usize)),
            config,
            engine,
            batcher,
            storage,
            metrics,
            started: Instant::now(),
            shutdown: tokio::sync::watch::channel(false).0,
        }))
    }

    /// Gauges that are read rather than counted: storage backlog, registry size.
    fn refresh_gauges(&self) {
        self.metrics.queue_depth.set(self.batcher.depth() as i64);
        self.metrics.registry_sessions.set(self.registry.len() as i64);
        if let Some(storage) = &self.storage {
            let stats = storage.stats();
            self.metrics.storage_buffered_bytes.set(stats.buffered_bytes as i64);
            self.metrics.storage_frames_unstored.set(stats.frames_unstored as i64);
        }
    }

    pub fn router(self: &Arc<App>) -> Router {
        let api = rest::routes().layer(middleware::from_fn_with_state(self.clone(), require_token));
        Router::new()
            .route("/", get(dashboard::page))
            .route("/ws/stream", get(websocket))
            .nest("/api", api)
            .with_state(self.clone())
    }
}

#[derive(Deserialize)]
struct StreamQuery {
    session_id: Option<String>,
    token: Option<String>,
}

async fn websocket(State(app): State<Arc<App>>, Query(query): Query<StreamQuery>, upgrade: WebSocketUpgrade) -> Response {
    if let Some(expected) = &app.config.server.auth_token {
        if query.token.as_deref() != Some(expected) {
            return (StatusCode::UNAUTHORIZED, "missing or wrong ?token=").into_response();
        }
    }
    let preset = match &query.session_id {
        Some(id) => match app.registry.get(id) {
            Some(entry) if entry.lock().expect("entry lock").status == registry::Status::Pending => Some(entry),
            _ => return (StatusCode::NOT_FOUND, format!("no pending session `{id}`")).into_response(),
        },
        None => None,
    };
    let Ok(slot) = app.connection_slots.clone().try_acquire_owned() else {
        app.metrics.refuse(metrics::Refusal::ConnectionLimit);
        let message = format!("the server is at its limit of {} connections (server.max_connections)", app.config.server.max_connections);
        return (StatusCode::SERVICE_UNAVAILABLE, message).into_response();
    };
    // The socket reads up to twice the limit, so a message a little over it is answered
    // (INVALID_MESSAGE) and the connection goes on; beyond that it closes (1009).
    let socket_cap = app.config.server.max_message_bytes.saturating_mul(2);
    upgrade
        .max_message_size(socket_cap)
        .max_frame_size(socket_cap)
        .on_upgrade(move |socket| connection::run(socket, app, preset, slot))
}

/// REST access control: with `server.auth_token` set, `Authorization: Bearer <token>`
/// is required everywhere under `/api` except `/api/health`.
async fn require_token(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    let Some(expected) = &app.config.server.auth_token else {
        return next.run(request).await;
    };
    if request.uri().path() == "/health" {
        return next.run(request).await;
    }
    let presented = request.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    if presented.and_then(|v| v.strip_prefix("Bearer ")) == Some(expected.as_str()) {
        next.run(request).await
    } else {
        (StatusCode::UNAUTHORIZED, axum::Json(serde_json::json!({ "error": "missing or wrong bearer token" }))).into_response()
    }
}

/// Runs the server until SIGINT/SIGTERM, then drains: connections end their sessions,
/// storage flushes and closes its files, and the engine's worker finishes what waits.
pub fn run(config: Config) -> anyhow::Result<()> {
    let addr: SocketAddr = format!("{}:{}", config.server.host, config.server.port)
        .parse()
        .with_context(|| format!("server.host/server.port do not form an address: {}:{}", config.server.host, config.server.port))?;
    let app = App::new(config)?;
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(serve(app.clone(), addr))?;
    drop(runtime);
    match Arc::try_unwrap(app) {
        Ok(app) => app.close(),
        Err(_) => tracing::warn!("some handler still holds the server state; skipping the drain"),
    }
    tracing::info!("stopped");
    Ok(())
}

async fn serve(app: Arc<App>, addr: SocketAddr) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| format!("cannot listen on {addr}"))?;
    tracing::info!("listening on {addr}: dashboard http://{addr}/, stream ws://{addr}/ws/stream, REST http://{addr}/api");
    let pruner = tokio::spawn(prune_registry(app.clone()));
    let shutdown_app = app.clone();
    axum::serve(listener, app.router())
        .with_graceful_shutdown(async move {
            shutdown_signal().await;
            let _ = shutdown_app.shutdown.send(true);
        })
        .await?;
    // Upgraded sockets outlive axum's graceful shutdown: wait for them to end.
    let deadline = Instant::now() + Duration::from_secs(5);
    while app.metrics.connections.get() > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    pruner.abort();
    let _ = pruner.await;
    Ok(())
}

/// Applies `server.retention` every `prune_interval_s`, so ended sessions go even when
/// no new session is created.
async fn prune_registry(app: Arc<App>) {
    let mut ticks = tokio::time::interval(Duration::from_secs_f64(app.config.server.retention.prune_interval_s));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let pruned = app.registry.prune();
        if pruned > 0 {
            app.metrics.registry_pruned.inc_by(pruned as u64);
            tracing::debug!(pruned, "registry pruned");
        }
        app.refresh_gauges();
    }
}

/// Refuses limits that would make the server refuse everything or nothing, naming the key.
fn check_limits(server: &sgaps_core::config::ServerConfig) -> anyhow::Result<()> {
    let positive = [
        ("server.max_sessions", server.max_sessions as f64),
        ("server.max_connections", server.max_connections as f64),
        ("server.max_sessions_per_connection", server.max_sessions_per_connection as f64),
        ("server.max_message_bytes", server.max_message_bytes as f64),
        ("server.max_frames_per_second", server.max_frames_per_second),
        ("server.storage.max_buffered_bytes", server.storage.max_buffered_bytes as f64),
        ("server.storage.max_session_buffered_bytes", server.storage.max_session_buffered_bytes as f64),
        ("server.retention.prune_interval_s", server.retention.prune_interval_s),
        ("server.retention.ended_ttl_s", server.retention.ended_ttl_s),
    ];
    for (key, value) in positive {
        anyhow::ensure!(value.is_finite() && value > 0.0, "`{key}` must be a positive number, got {value}");
    }
    Ok(())
}

impl App {
    /// Storage flushes and closes its files; the engine's worker reconstructs what still
    /// waits when the engine is dropped.
    fn close(self) {
        if let Some(storage) = self.storage {
            storage.shutdown();
        }
    }
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async { tokio::signal::ctrl_c().await.ok() };
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        _ = ctrl_c => {},
        _ = term.recv() => {},
    }
    tracing::info!("shutdown signal received; draining");
}
