//! What cleaning did: frames kept after each step per session, the stationarity
//! threshold each session got, and cluster sizes before and after capping; as Markdown
//! and as a bar chart.

use std::io;
use std::path::Path;

use image::{Rgb, RgbImage};

use crate::config::CleaningConfig;

#[derive(Debug, Clone, PartialEq)]
pub struct CleaningReport {
    pub config: CleaningConfig,
    pub sessions: Vec<SessionCounts>,
    /// `None` when balancing is off or there was nothing to cluster.
    pub clusters: Option<ClusterSizes>,
}

/// Frames of one session left after each step (a step that is off keeps all).
#[derive(Debug, Clone, PartialEq)]
pub struct SessionCounts {
    pub session: String,
    pub recorded: usize,
    pub after_min_pixels: usize,
    pub after_stationarity: usize,
    pub after_balance: usize,
    pub stationarity: Stationarity,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Stationarity {
    /// The step is off (or cleaning is).
    Off,
    /// No frame has a state vector: all frames kept.
    NoState,
    /// Frames with a lower state velocity were dropped; `quantile_value` is the velocity
    /// quantile, `threshold` that or the noise floor, whichever is larger.
    Threshold { threshold: f64, quantile_value: f64 },
}

/// Cluster sizes, largest first, before and after capping at `cap`.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterSizes {
    pub before: Vec<usize>,
    pub after: Vec<usize>,
    pub cap: usize,
}

impl SessionCounts {
    pub(super) fn new(session: &str, recorded: usize) -> Self {
        SessionCounts {
            session: session.to_string(),
            recorded,
            after_min_pixels: recorded,
            after_stationarity: recorded,
            after_balance: recorded,
            stationarity: Stationarity::Off,
        }
    }
}

impl CleaningReport {
    /// Frames before any step and after the last, over all sessions.
    pub fn totals(&self) -> (usize, usize) {
        (self.sessions.iter().map(|s| s.recorded).sum(), self.sessions.iter().map(|s| s.after_balance).sum())
    }

    pub fn markdown(&self) -> String {
        let c = &self.config;
        let (recorded, kept) = self.totals();
        let percent = 100.0 * kept as f64 / recorded.max(1) as f64;
        let mut out = "# Training data cleaning\n\n".to_string();
        out += &format!("{recorded} recorded frames in {} sessions, {kept} kept ({percent:.1}%).\n\n", self.sessions.len());
        if !c.enabled {
            return out + "Cleaning is off (`cleaning.enabled: false`): every frame is kept.\n";
        }
        let (st, bal) = (&c.stationarity, &c.balance);
        let on = |enabled: bool| if enabled { "" } else { " (off)" };
        out += &format!(
            "| session | recorded | >= {} pixels | moving{} | balanced{} | stationarity threshold |\n|---|---|---|---|---|---|\n",
            c.min_pixels,
            on(st.enabled),
            on(bal.enabled)
        );
        for s in &self.sessions {
            let threshold = match s.stationarity {
                Stationarity::Off => "-".to_string(),
                Stationarity::NoState => "no state vector: all kept".to_string(),
                Stationarity::Threshold { threshold, quantile_value } => {
                    format!("{threshold:.4} (quantile {quantile_value:.4})")
                }
            };
            out += &format!(
                "| {} | {} | {} | {} | {} | {threshold} |\n",
                s.session, s.recorded, s.after_min_pixels, s.after_stationarity, s.after_balance
            );
        }
        let sum = |f: fn(&SessionCounts) -> usize| self.sessions.iter().map(f).sum::<usize>();
        out += &format!(
            "| **total** | {recorded} | {} | {} | {kept} | |\n\n",
            sum(|s| s.after_min_pixels),
            sum(|s| s.after_stationarity)
        );
        if st.enabled {
            out += &format!(
                "Stationarity: a frame is dropped when its state velocity ||s_t - s_(t-1)|| is below \
                 max({}, the {} quantile of its session's velocities); the first frame of a session is kept.\n\n",
                st.noise_floor, st.quantile
            );
        }
        match (&self.clusters, bal.enabled) {
            (_, false) => {}
            (None, true) => out += "Balancing: nothing to cluster (no frames, no state and no pixel-count weight).\n",
            (Some(clusters), true) => {
                let before: usize = clusters.before.iter().sum();
                out += &format!(
                    "## Balancing\n\nk-means (k = {}, seed {}) on {before} frames: state vector and pixel count \
                     (weight {}), standardised. Cap = {} frames, the {} percentile of the {} cluster sizes.\n\n",
                    bal.clusters,
                    bal.seed.map_or("0".into(), |s| s.to_string()),
                    bal.pixel_count_weight,
                    clusters.cap,
                    bal.cap_percentile,
                    clusters.before.len()
                );
                out += "| cluster | before | after |\n|---|---|---|\n";
                for (i, (b, a)) in clusters.before.iter().zip(&clusters.after).enumerate() {
                    out += &format!("| {i} | {b} | {a} |\n");
                }
            }
        }
        out
    }

    /// `report.md` and, when balancing ran, `clusters.png` into `dir` (created if missing).
    pub fn write(&self, dir: &Path) -> io::Result<()> {
        std::fs::create_dir_all(dir)?;
        std::fs::write(dir.join("report.md"), self.markdown())?;
        if let Some(clusters) = &self.clusters {
            cluster_chart(clusters).save(dir.join("clusters.png")).map_err(io::Error::other)?;
        }
        Ok(())
    }
}

/// One bar per cluster: size before capping in grey, after in blue, the cap as a red line.
fn cluster_chart(clusters: &ClusterSizes) -> RgbImage {
    const BAR: u32 = 24;
    const GAP: u32 = 8;
    const PLOT_HEIGHT: u32 = 200;
    const MARGIN: u32 = 16;
    let bars = clusters.before.len() as u32;
    let (width, height) = (2 * MARGIN + bars * (BAR + GAP), PLOT_HEIGHT + 2 * MARGIN);
    let mut chart = RgbImage::from_pixel(width, height, Rgb([255, 255, 255]));
    let largest = clusters.before.iter().copied().max().unwrap_or(1).max(1) as f64;
    let bar_height = |size: usize| (size as f64 / largest * PLOT_HEIGHT as f64).round() as u32;
    let baseline = MARGIN + PLOT_HEIGHT;
    let mut fill = |x0: u32, h: u32, colour: Rgb<u8>| {
        for x in x0..x0 + BAR {
            for y in baseline - h..baseline {
                chart.put_pixel(x, y, colour);
            }
        }
    };
    for (i, (&before, &after)) in clusters.before.iter().zip(&clusters.after).enumerate() {
        let x0 = MARGIN + i as u32 * (BAR + GAP);
        fill(x0, bar_height(before), Rgb([190, 190, 190]));
        fill(x0, bar_height(after), Rgb([60, 120, 200]));
    }
    let cap_y = baseline - bar_height(clusters.cap).min(PLOT_HEIGHT);
    for x in MARGIN / 2..width - MARGIN / 2 {
        chart.put_pixel(x, cap_y, Rgb([220, 40, 40]));
    }
    chart
}
