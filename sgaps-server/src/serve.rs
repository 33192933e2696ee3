//! `sgaps serve`: loads the model and serves HTTP. The WebSocket protocol of
//! PROTOCOL.md arrives with the engine; today the server answers `GET /api/health`.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use axum::{extract::State, routing::get, Json, Router};
use serde_json::{json, Value};
use sgaps_core::device::{describe, resolve_device, resolve_kind};
use sgaps_core::model::Model;
use sgaps_core::Config;

use crate::cli::{ConfArgs, ServeArgs};

struct AppState {
    started: Instant,
    device: String,
    model_name: String,
    checkpoint_loaded: bool,
}

pub fn run(conf: &ConfArgs, args: ServeArgs) -> anyhow::Result<()> {
    let config = conf.load(&args.overrides)?;
    let device = resolve_device(config.device).map_err(anyhow::Error::msg)?;
    let (model, checkpoint_loaded) = load_default_model(&config, device)?;
    tracing::info!(
        device = %describe(device),
        model = %model.config().name,
        decoder = ?model.config().decoder,
        checkpoint_loaded,
        "model ready"
    );
    let state = Arc::new(AppState {
        started: Instant::now(),
        device: describe(device),
        model_name: model.config().name.clone(),
        checkpoint_loaded,
    });
    let addr: SocketAddr = format!("{}:{}", config.server.host, config.server.port)
        .parse()
        .with_context(|| format!("server.host/server.port do not form an address: {}:{}", config.server.host, config.server.port))?;

    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async move {
        let app = Router::new().route("/api/health", get(health)).with_state(state);
        let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| format!("cannot listen on {addr}"))?;
        tracing::info!("listening on http://{addr} (health: http://{addr}/api/health)");
        axum::serve(listener, app).with_graceful_shutdown(shutdown_signal()).await?;
        tracing::info!("stopped");
        anyhow::Ok(())
    })
}

/// The `default` checkpoint under `checkpoint_dir`, or random weights when there is none
/// (reported as `checkpoint_loaded: false`, as PROTOCOL.md asks).
fn load_default_model(config: &Config, device: tch::Device) -> anyhow::Result<(Model, bool)> {
    let dir = Path::new(&config.checkpoint_dir).join("default");
    let (mut model, loaded) = if dir.join(sgaps_core::model::WEIGHTS_FILE).exists() {
        (Model::load_checkpoint(&dir, device)?, true)
    } else {
        tracing::warn!("no checkpoint at {}; serving the configured model with random weights", dir.display());
        (Model::new_seeded(&config.model, device, config.seed as i64)?, false)
    };
    model.set_kind(resolve_kind(config.precision, device));
    Ok((model, loaded))
}

async fn health(State(state): State<Arc<AppState>>) -> Json<Value> {
    Json(json!({
        "status": "ok",
        "version": env!("CARGO_PKG_VERSION"),
        "uptime_seconds": state.started.elapsed().as_secs_f64(),
        "device": state.device,
        "model": state.model_name,
        "checkpoint_loaded": state.checkpoint_loaded,
    }))
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async { tokio::signal::ctrl_c().await.ok() };
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        _ = ctrl_c => {},
        _ = term.recv() => {},
    }
    tracing::info!("shutdown signal received");
}
