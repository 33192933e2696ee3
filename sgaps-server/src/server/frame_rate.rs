//! The per-session frame rate limit: a token bucket holding one second's worth of
//! frames, refilled at `server.max_frames_per_second`. A client streaming at its
//! target_fps never meets it; one sending faster is refused frame by frame (answered,
//! not queued), so it cannot make the server store or reconstruct more.

use std::time::Instant;

pub struct FrameRate {
    per_second: f64,
    tokens: f64,
    refilled: Instant,
}

impl FrameRate {
    pub fn new(per_second: f64) -> FrameRate {
        FrameRate { per_second, tokens: per_second.max(1.0), refilled: Instant::now() }
    }

    /// Whether a frame arriving at `now` is within the rate; takes its token if so.
    pub fn admit(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.refilled).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.per_second).min(self.per_second.max(1.0));
        self.refilled = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    pub fn per_second(&self) -> f64 {
        self.per_second
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_burst_of_one_second_then_the_rate() {
        let start = Instant::now();
        let mut rate = FrameRate::new(10.0);
        let admitted = (0..25).filter(|_| rate.admit(start)).count();
        assert_eq!(admitted, 10, "one second's worth at once");
        assert!(!rate.admit(start + Duration::from_millis(50)), "half a frame's time refills half a token");
        assert!(rate.admit(start + Duration::from_millis(100)));
        // Steady at the rate: every frame is admitted.
        let steady = (2..50).filter(|i| rate.admit(start + Duration::from_millis(100 * i))).count();
        assert_eq!(steady, 48);
    }

    #[test]
    fn an_idle_session_does_not_save_up_more_than_the_burst() {
        let start = Instant::now();
        let mut rate = FrameRate::new(5.0);
        let later = start + Duration::from_secs(600);
        assert_eq!((0..100).filter(|_| rate.admit(later)).count(), 5);
    }
}
