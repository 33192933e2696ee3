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
    /// One entry per balanced group (game, or all sessions); empty when balancing is off
    /// or there was nothing to cluster.
    pub clusters: Vec<ClusterSizes>,
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

/// Cluster sizes of one group, largest first, before and after capping at `cap`.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterSizes {
    /// The checkpoint_key of the sessions clustered together, or `all`.
    pub group: String,
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
        if !bal.enabled {
            return out;
        }
        out += &format!(
            "## Balancing\n\nk-means (k = {}, seed {}) {} on the state vector and the pixel count (weight {}), \
             standardised; each cluster capped at the {} percentile of the cluster sizes.\n",
            bal.clusters,
            bal.seed.map_or("0".into(), |s| s.to_string()),
            if bal.per_game { "per checkpoint_key" } else { "over all sessions" },
            bal.pixel_count_weight,
            bal.cap_percentile,
        );
        if self.clusters.is_empty() {
            out += "\nNothing to cluster (no frames, or no state and no pixel-count weight).\n";
        }
        for clusters in &self.clusters {
            let (before, after): (usize, usize) = (clusters.before.iter().sum(), clusters.after.iter().sum());
            out += &format!(
                "\n### {}\n\n{before} frames in {} clusters, cap {}: {after} kept.\n\n| cluster | before | after |\n|---|---|---|\n",
                clusters.group,
                clusters.before.len(),
                clusters.cap
            );
            for (i, (b, a)) in clusters.before.iter().zip(&clusters.after).enumerate() {
                out += &format!("| {i} | {b} | {a} |\n");
            }
        }
        out
    }

    /// `report.md` and, when balancing ran, `clusters.png` into `dir` (created if missing).
    pub fn write(&self, dir: &Path) -> io::Result<()> {
        std::fs::create_dir_all(dir)?;
        std::fs::write(dir.join("report.md"), self.markdown())?;
        if !self.clusters.is_empty() {
            cluster_chart(&self.clusters).save(dir.join("clusters.png")).map_err(io::Error::other)?;
        }
        Ok(())
    }
}

/// One bar per cluster, groups left to right with a wider gap between them: size before
/// capping in grey, after in blue, each group's cap as a red line over its bars.
fn cluster_chart(groups: &[ClusterSizes]) -> RgbImage {
    const BAR: u32 = 24;
    const GAP: u32 = 8;
    const GROUP_GAP: u32 = 32;
    const PLOT_HEIGHT: u32 = 200;
    const MARGIN: u32 = 16;
    let bars: u32 = groups.iter().map(|g| g.before.len() as u32).sum();
    let width = 2 * MARGIN + bars * (BAR + GAP) + groups.len().saturating_sub(1) as u32 * GROUP_GAP;
    let height = PLOT_HEIGHT + 2 * MARGIN;
    let mut chart = RgbImage::from_pixel(width, height, Rgb([255, 255, 255]));
    let largest = groups.iter().flat_map(|g| g.before.iter().copied()).max().unwrap_or(1).max(1) as f64;
    let bar_height = |size: usize| (size as f64 / largest * PLOT_HEIGHT as f64).round() as u32;
    let baseline = MARGIN + PLOT_HEIGHT;
    let fill = |chart: &mut RgbImage, x0: u32, h: u32, colour: Rgb<u8>| {
        for x in x0..x0 + BAR {
            for y in baseline - h..baseline {
                chart.put_pixel(x, y, colour);
            }
        }
    };
    let mut x0 = MARGIN;
    for group in groups {
        let start = x0;
        for (&before, &after) in group.before.iter().zip(&group.after) {
            fill(&mut chart, x0, bar_height(before), Rgb([190, 190, 190]));
            fill(&mut chart, x0, bar_height(after), Rgb([60, 120, 200]));
            x0 += BAR + GAP;
        }
        let cap_y = baseline - bar_height(group.cap).min(PLOT_HEIGHT);
        for x in start..x0 - GAP {
            chart.put_pixel(x, cap_y, Rgb([220, 40, 40]));
        }
        x0 += GROUP_GAP;
    }
    chart
}
