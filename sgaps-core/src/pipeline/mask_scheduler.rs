//! When to send the client a new sampling mask (seed section 3.4, `conf/mask_update`).
//!
//! The quality signal is the PSNR (dB) of the reconstruction at the pixels the client
//! just sent: the server knows their true values, so it can score every frame without
//! ground truth. (The seed used the frame's standard deviation as a placeholder.)
//!
//! Intervals count reconstructed frames since the last update, not frame ids, because
//! clients skip ids and the server may coalesce frames under load.

use crate::config::{MaskUpdateConfig, MaskUpdateMode};

#[derive(Debug, Clone)]
pub struct MaskScheduler {
    config: MaskUpdateConfig,
    frames_since_update: u32,
}

impl MaskScheduler {
    pub fn new(config: &MaskUpdateConfig) -> Self {
        MaskScheduler { config: config.clone(), frames_since_update: 0 }
    }

    /// Records one reconstructed frame of quality `quality_db` and says whether the
    /// mask should change now. Modes:
    /// - `fixed`: every `fixed_interval` frames.
    /// - `adaptive`: below `quality_threshold` as soon as `min_interval` frames have
    ///   passed (a floor, so a struggling model does not churn the mask every frame);
    ///   otherwise every `max_interval` frames.
    /// - `quality_based`: below `low_quality_threshold` at once, above
    ///   `high_quality_threshold` every 10 frames, in between every 5 (the seed's rule).
    /// - `every_frame`: after every frame, whatever the quality (the `space_time` sampler
    ///   moves its samples each frame, so a kept mask would freeze its pattern).
    pub fn observe(&mut self, quality_db: f64) -> bool {
        self.frames_since_update += 1;
        let since = self.frames_since_update;
        let update = match self.config.mode {
            MaskUpdateMode::Fixed => since >= self.config.fixed_interval.max(1),
            MaskUpdateMode::Adaptive => {
                let a = &self.config.adaptive;
                (quality_db < a.quality_threshold && since >= a.min_interval.max(1)) || since >= a.max_interval.max(1)
            }
            MaskUpdateMode::QualityBased => {
                let q = &self.config.quality_based;
                let interval = if quality_db < q.low_quality_threshold {
                    1
                } else if quality_db > q.high_quality_threshold {
                    10
                } else {
                    5
                };
                since >= interval
            }
            MaskUpdateMode::EveryFrame => true,
        };
        if update {
            self.frames_since_update = 0;
        }
        update
    }

    pub fn mode(&self) -> MaskUpdateMode {
        self.config.mode
    }

    /// Switches the mode of a live session (REST `PATCH .../config`).
    pub fn set_mode(&mut self, mode: MaskUpdateMode) {
        self.config.mode = mode;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Config;

    fn scheduler(mode: &str) -> MaskScheduler {
        MaskScheduler::new(&Config::load(None, &[format!("mask_update={mode}")]).unwrap().mask_update)
    }

    /// The frames (1-based) at which `observe` said update, for a quality sequence.
    fn updates(s: &mut MaskScheduler, qualities: &[f64]) -> Vec<usize> {
        qualities.iter().enumerate().filter(|(_, &q)| s.observe(q)).map(|(i, _)| i + 1).collect()
    }

    #[test]
    fn fixed_updates_every_interval_whatever_the_quality() {
        // conf/mask_update/fixed.yaml: fixed_interval 10.
        assert_eq!(updates(&mut scheduler("fixed"), &[10.0; 30]), vec![10, 20, 30]);
        assert_eq!(updates(&mut scheduler("fixed"), &[40.0; 30]), vec![10, 20, 30]);
    }

    #[test]
    fn adaptive_reacts_to_low_quality_no_faster_than_min_interval() {
        let adaptive = || {
            let overrides = ["mask_update=adaptive", "mask_update.adaptive={min_interval: 5, max_interval: 30, quality_threshold: 25.0}"];
            MaskScheduler::new(&Config::load(None, &overrides.map(String::from)).unwrap().mask_update)
        };
        let mut s = adaptive();
        assert_eq!(updates(&mut s, &[35.0; 60]), vec![30, 60]);
        let mut s = adaptive();
        assert_eq!(updates(&mut s, &[20.0; 15]), vec![5, 10, 15]);
        // Good, then a drop at frame 13: update at the drop (min_interval passed).
        let mut s = adaptive();
        let mut q = vec![35.0; 12];
        q.extend([20.0; 3]);
        assert_eq!(updates(&mut s, &q), vec![13]);
    }

    #[test]
    fn quality_based_uses_three_rates() {
        assert_eq!(updates(&mut scheduler("quality_based"), &[10.0; 4]), vec![1, 2, 3, 4]);
        assert_eq!(updates(&mut scheduler("quality_based"), &[26.0; 20]), vec![5, 10, 15, 20]);
        assert_eq!(updates(&mut scheduler("quality_based"), &[35.0; 20]), vec![10, 20]);
    }

    #[test]
    fn every_frame_renews_on_every_frame_whatever_the_quality() {
        let mut s = scheduler("every_frame");
        assert_eq!(s.mode(), MaskUpdateMode::EveryFrame);
        assert_eq!(updates(&mut s, &[10.0, 40.0, 25.0, 99.0, 0.0]), vec![1, 2, 3, 4, 5]);
    }

    #[test]
    fn mode_can_change_on_a_live_session() {
        let mut s = scheduler("fixed");
        s.set_mode(MaskUpdateMode::QualityBased);
        assert_eq!(s.mode(), MaskUpdateMode::QualityBased);
        assert_eq!(updates(&mut s, &[10.0; 2]), vec![1, 2]);
    }
}
