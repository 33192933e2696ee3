//! Prometheus metrics of the server, served as text at `/api/metrics`.

use std::time::Duration;

use prometheus::{Encoder, Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, Opts, Registry, TextEncoder};

pub struct Metrics {
    registry: Registry,
    pub frames_received: IntCounter,
    pub frames_reconstructed: IntCounter,
    /// Frames stored but not reconstructed because a newer frame of the same session
    /// arrived while they waited (overload).
    pub frames_skipped: IntCounter,
    pub frames_invalid: IntCounter,
    /// Inputs refused by a limit, by `reason` (see [`Refusal`]); nothing of them is kept.
    pub refused: IntCounterVec,
    /// Bytes of accepted frames the recorder holds, not yet written.
    pub storage_buffered_bytes: IntGauge,
    /// Frames accepted and then not written (HDF5 error): lost, and said so here.
    pub storage_frames_unstored: IntGauge,
    /// Sessions the registry holds (active, pending and ended ones kept for REST).
    pub registry_sessions: IntGauge,
    pub registry_pruned: IntCounter,
    pub bytes_received: IntCounter,
    pub active_sessions: IntGauge,
    pub connections: IntGauge,
    pub queue_depth: IntGauge,
    pub batch_size: Histogram,
    pub inference_seconds: Histogram,
    /// From frame receipt to the reconstruction being ready.
    pub latency_seconds: Histogram,
    /// PSNR against the ground truth of `frame_data_debug` frames.
    pub reconstruction_psnr: Histogram,
}

impl Metrics {
    pub fn new() -> Metrics {
        let registry = Registry::new_custom(Some("sgaps".into()), None).expect("valid prefix");
        let counter = |name: &str, help: &str| {
            let c = IntCounter::new(name, help).expect("valid metric");
            registry.register(Box::new(c.clone())).expect("unique metric");
            c
        };
        let gauge = |name: &str, help: &str| {
            let g = IntGauge::new(name, help).expect("valid metric");
            registry.register(Box::new(g.clone())).expect("unique metric");
            g
        };
        let histogram = |name: &str, help: &str, buckets: Vec<f64>| {
            let h = Histogram::with_opts(HistogramOpts::new(name, help).buckets(buckets)).expect("valid metric");
            registry.register(Box::new(h.clone())).expect("unique metric");
            h
        };
        let seconds = vec![0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0];
        Metrics {
            frames_received: counter("frames_received_total", "Frames received from clients"),
            frames_reconstructed: counter("frames_reconstructed_total", "Frames reconstructed"),
            frames_skipped: counter("frames_skipped_total", "Frames stored but not reconstructed under overload"),
            frames_invalid: counter("frames_invalid_total", "Frames refused as invalid"),
            refused: {
                let opts = Opts::new("refused_total", "Client inputs refused by a server limit, by reason");
                let c = IntCounterVec::new(opts, &["reason"]).expect("valid metric");
                registry.register(Box::new(c.clone())).expect("unique metric");
                c
            },
            storage_buffered_bytes: gauge("storage_buffered_bytes", "Bytes of accepted frames not yet written to HDF5"),
            storage_frames_unstored: gauge("storage_frames_unstored", "Frames accepted but not written (HDF5 errors)"),
            registry_sessions: gauge("registry_sessions", "Sessions known to REST (active, pending, ended and kept)"),
            registry_pruned: counter("registry_pruned_total", "Sessions forgotten by retention"),
            bytes_received: counter("bytes_received_total", "WebSocket message bytes received"),
            active_sessions: gauge("active_sessions", "Sessions streaming now"),
            connections: gauge("websocket_connections", "Open WebSocket connections"),
            queue_depth: gauge("queue_depth", "Frames waiting for the batcher"),
            batch_size: histogram("batch_size", "Frames per batched forward pass", vec![1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0]),
            inference_seconds: histogram("inference_seconds", "Time of one batched forward pass", seconds.clone()),
            latency_seconds: histogram("frame_latency_seconds", "Frame receipt to reconstruction", seconds),
            reconstruction_psnr: histogram(
                "reconstruction_psnr_db",
                "PSNR of reconstructions against ground truth frames",
                vec![10.0, 15.0, 20.0, 25.0, 30.0, 35.0, 40.0, 50.0],
            ),
            registry,
        }
    }

    pub fn refuse(&self, reason: Refusal) {
        self.refused.with_label_values(&[reason.label()]).inc();
    }

    pub fn observe_batch(&self, frames: usize, took: Duration) {
        self.batch_size.observe(frames as f64);
        self.inference_seconds.observe(took.as_secs_f64());
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut out).expect("text encoding");
        String::from_utf8(out).expect("prometheus text is UTF-8")
    }
}

/// Which limit refused a client's input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Over `server.max_message_bytes`.
    MessageTooLarge,
    /// Over `server.max_frames_per_second` for its session.
    FrameRate,
    /// The recorder's buffer bound (`server.storage.max_*buffered_bytes`).
    StorageFull,
    /// `server.max_sessions` sessions stream already.
    SessionLimit,
    /// Over `server.max_sessions_per_connection` session starts.
    SessionStarts,
    /// `server.max_connections` sockets are open already.
    ConnectionLimit,
}

impl Refusal {
    fn label(self) -> &'static str {
        match self {
            Refusal::MessageTooLarge => "message_too_large",
            Refusal::FrameRate => "frame_rate",
            Refusal::StorageFull => "storage_full",
            Refusal::SessionLimit => "session_limit",
            Refusal::SessionStarts => "session_starts",
            Refusal::ConnectionLimit => "connection_limit",
        }
    }
}
