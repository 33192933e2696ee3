//! The live dashboard at `/`: one self-contained HTML page (no build step) that polls
//! the REST API and shows, per session, the latest reconstruction, ground truth,
//! importance heatmap and sample points, with PSNR and latency over time.

use axum::response::Html;

pub async fn page() -> Html<&'static str> {
    Html(include_str!("dashboard.html"))
}
