//! The load test's result: one JSON object (`--json`) or a short table.

use serde::Serialize;

use crate::bench::percentile;

/// Distribution of per-frame latencies.
#[derive(Serialize)]
pub struct Latency {
    pub frames: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub mean_ms: f64,
    pub max_ms: f64,
}

impl Latency {
    /// `None` for no samples.
    pub fn of(ms: &[f64]) -> Option<Latency> {
        (!ms.is_empty()).then(|| Latency {
            frames: ms.len(),
            p50_ms: percentile(ms, 0.5),
            p99_ms: percentile(ms, 0.99),
            mean_ms: ms.iter().sum::<f64>() / ms.len() as f64,
            max_ms: ms.iter().copied().fold(f64::MIN, f64::max),
        })
    }
}

/// Where `latency_p50_ms` / `latency_p99_ms` come from.
#[derive(Serialize, Clone, Copy, PartialEq, Eq, Debug)]
#[serde(rename_all = "lowercase")]
pub enum LatencySource {
    /// Client clock: sending frame N to receiving uv_coordinates for N+1.
    Replies,
    /// Server clock: receipt to reconstruction (`/api/sessions/{id}/frames`).
    Server,
    /// Nothing was reconstructed.
    None,
}

impl LatencySource {
    /// Replies when they answer at least 90% of the frames the server reconstructed
    /// (mask_update fixed, interval 1); otherwise the server's measure.
    pub fn choose(replies: Option<&Latency>, server: Option<&Latency>) -> LatencySource {
        match (replies, server) {
            (Some(r), Some(s)) if r.frames * 10 >= s.frames * 9 => LatencySource::Replies,
            (_, Some(_)) => LatencySource::Server,
            (Some(_), None) => LatencySource::Replies,
            (None, None) => LatencySource::None,
        }
    }
}

#[derive(Serialize)]
pub struct Report {
    pub url: String,
    pub clients: usize,
    /// Per client.
    pub fps: f64,
    /// How long each client streamed.
    pub seconds: f64,
    pub sample_count: usize,
    pub debug_every: u64,
    pub frames_sent: u64,
    pub sent_per_s: f64,
    /// Change of the server's counters over the run.
    pub frames_reconstructed: u64,
    pub reconstructed_per_s: f64,
    pub frames_skipped: u64,
    /// Sent but neither reconstructed nor skipped when the clients closed (still
    /// queued under overload, or dropped); their latency is not in the percentiles.
    pub frames_unanswered: u64,
    pub latency_source: LatencySource,
    pub latency_p50_ms: Option<f64>,
    pub latency_p99_ms: Option<f64>,
    pub reply_latency: Option<Latency>,
    pub server_latency: Option<Latency>,
    pub server_errors: usize,
    pub first_server_error: Option<String>,
    pub server_pid: Option<u32>,
    /// Largest VmRSS of the server seen during the run, MiB.
    pub server_rss_mib: Option<f64>,
}

impl Report {
    pub fn print_table(&self) {
        let or_unknown = |x: Option<String>| x.unwrap_or_else(|| "unknown".into());
        let process = match (self.server_pid, self.server_rss_mib) {
            (Some(pid), Some(rss)) => format!("pid {pid}, RSS {rss:.0} MiB (largest seen)"),
            (Some(pid), None) => format!("pid {pid}, RSS unreadable"),
            _ => "RSS unknown: no local process listens on the port; pass --server-pid".into(),
        };
        println!("server     {}  ({process})", self.url);
        println!(
            "load       {} clients x {} fps for {:.1} s, {} pixels per frame, debug every {}",
            self.clients, self.fps, self.seconds, self.sample_count, self.debug_every
        );
        println!(
            "frames     sent {} ({:.1}/s)   reconstructed {} ({:.1}/s)   skipped {}   unanswered at the end {}",
            self.frames_sent,
            self.sent_per_s,
            self.frames_reconstructed,
            self.reconstructed_per_s,
            self.frames_skipped,
            self.frames_unanswered
        );
        let ms = |x: Option<f64>| or_unknown(x.map(|v| format!("{v:.1} ms")));
        let source = match self.latency_source {
            LatencySource::Replies => "send -> uv_coordinates reply",
            LatencySource::Server => "server: receipt -> reconstruction; run the server with mask_update=fixed mask_update.fixed_interval=1 for end to end",
            LatencySource::None => "no frame was reconstructed",
        };
        let frames = match self.latency_source {
            LatencySource::Replies => self.reply_latency.as_ref().map_or(0, |l| l.frames),
            _ => self.server_latency.as_ref().map_or(0, |l| l.frames),
        };
        println!("latency    p50 {}   p99 {}   ({source}, {frames} frames)", ms(self.latency_p50_ms), ms(self.latency_p99_ms));
        if let (LatencySource::Replies, Some(server)) = (self.latency_source, &self.server_latency) {
            println!("  server   p50 {:.1} ms   p99 {:.1} ms   (receipt -> reconstruction)", server.p50_ms, server.p99_ms);
        }
        match &self.first_server_error {
            Some(first) => println!("errors     {} from the server, first: {first}", self.server_errors),
            None => println!("errors     none"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn latency(frames: usize) -> Latency {
        Latency::of(&vec![10.0; frames]).unwrap()
    }

    #[test]
    fn replies_are_used_when_they_answer_nearly_every_frame() {
        assert_eq!(LatencySource::choose(Some(&latency(95)), Some(&latency(100))), LatencySource::Replies);
        // mask_update=adaptive: a reply every tenth frame or so.
        assert_eq!(LatencySource::choose(Some(&latency(10)), Some(&latency(100))), LatencySource::Server);
        assert_eq!(LatencySource::choose(None, Some(&latency(100))), LatencySource::Server);
        assert_eq!(LatencySource::choose(None, None), LatencySource::None);
    }

    #[test]
    fn latency_summary() {
        let l = Latency::of(&[1.0, 2.0, 3.0, 4.0, 100.0]).unwrap();
        assert_eq!((l.frames, l.p50_ms, l.p99_ms, l.max_ms), (5, 3.0, 100.0, 100.0));
        assert!(Latency::of(&[]).is_none());
    }
}
