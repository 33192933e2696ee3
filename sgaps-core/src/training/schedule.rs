//! Cosine annealing with a short linear warm-up.

use std::f64::consts::PI;

/// The learning rate at `step` of `total`: a linear warm-up over the first 2 % of the
/// steps, then a cosine from `peak` down to `peak / 100`.
pub fn cosine_learning_rate(peak: f64, step: usize, total: usize) -> f64 {
    let total = total.max(1) as f64;
    let warmup = (total * 0.02).max(1.0);
    let step = step as f64;
    if step < warmup {
        return peak * (step + 1.0) / warmup;
    }
    let progress = ((step - warmup) / (total - warmup).max(1.0)).min(1.0);
    let floor = peak / 100.0;
    floor + 0.5 * (peak - floor) * (1.0 + (PI * progress).cos())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warms_up_peaks_and_anneals() {
        let lr = |s| cosine_learning_rate(1e-3, s, 1000);
        assert!(lr(0) < 1e-4);
        assert!((lr(20) - 1e-3).abs() < 1e-9);
        assert!((lr(510) - 0.5 * (1e-3 + 1e-5)).abs() < 1e-6);
        assert!((lr(1000) - 1e-5).abs() < 1e-9);
        assert!((1..1000).all(|s| s < 20 || lr(s) <= lr(s - 1)));
    }
}
