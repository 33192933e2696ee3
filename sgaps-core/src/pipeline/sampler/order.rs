//! Candidate orders: the sequences in which the random strategies offer pixels.
//! Both are lazy, so a caller that stops early pays little beyond the set-up.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// Every pixel index below `pixel_count` once, in uniformly random order
/// (a Fisher-Yates shuffle done one step per item).
pub(super) fn random_order(
    pixel_count: usize,
    rng: &mut ChaCha8Rng,
) -> impl Iterator<Item = usize> + '_ {
    let mut pixels: Vec<usize> = (0..pixel_count).collect();
    (0..pixel_count).map(move |i| {
        pixels.swap(i, rng.random_range(i..pixel_count));
        pixels[i]
    })
}

/// Every pixel of a `width x height` image in the order a Hilbert curve visits them (over
/// the smallest power-of-two square holding the image): neighbours along the order are
/// neighbours in the image, so evenly spaced picks along it are evenly spread in space.
pub(super) fn hilbert_order(width: usize, height: usize) -> Vec<usize> {
    let side = width.max(height).next_power_of_two();
    let mut keyed: Vec<(usize, usize)> = (0..width * height).map(|p| (hilbert_index(side, p % width, p / width), p)).collect();
    keyed.sort_unstable();
    keyed.into_iter().map(|(_, pixel)| pixel).collect()
}

/// The distance along the Hilbert curve over a `side x side` square of (x, y).
fn hilbert_index(side: usize, mut x: usize, mut y: usize) -> usize {
    let mut d = 0;
    let mut s = side / 2;
    while s > 0 {
        let (rx, ry) = ((x & s > 0) as usize, (y & s > 0) as usize);
        d += s * s * ((3 * rx) ^ ry);
        // Rotate the quadrant so the curve inside it runs the right way.
        if ry == 0 {
            if rx == 1 {
                x = side - 1 - x;
                y = side - 1 - y;
            }
            std::mem::swap(&mut x, &mut y);
        }
        s /= 2;
    }
    d
}

/// The pixels with positive weight, in the order of weighted sampling without
/// replacement: each next pixel is drawn with probability proportional to its weight
/// among those not yet drawn. Efraimidis and Spirakis (2006): give each pixel the key
/// `ln(U) / w` with `U` uniform in (0, 1] and take the keys largest first. A heap makes
/// that O(N) to set up and O(log N) per pixel taken. Zero, negative and non-finite
/// weights are never drawn.
pub(super) fn weighted_order(weights: &[f32], rng: &mut ChaCha8Rng) -> impl Iterator<Item = usize> {
    let keyed: Vec<Keyed> = weights
        .iter()
        .enumerate()
        .filter(|(_, weight)| weight.is_finite() && **weight > 0.0)
        .map(|(pixel, weight)| {
            let u = 1.0 - rng.random::<f32>();
            Keyed {
                key: u.ln() / weight,
                pixel,
            }
        })
        .collect();
    let mut heap = BinaryHeap::from(keyed);
    std::iter::from_fn(move || heap.pop().map(|keyed| keyed.pixel))
}

/// A pixel and its sampling key, ordered by key alone.
struct Keyed {
    key: f32,
    pixel: usize,
}

impl Ord for Keyed {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key.total_cmp(&other.key)
    }
}

impl PartialOrd for Keyed {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Keyed {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other).is_eq()
    }
}

impl Eq for Keyed {}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn random_order_is_a_permutation() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut order: Vec<usize> = random_order(100, &mut rng).collect();
        assert_ne!(order, (0..100).collect::<Vec<_>>());
        order.sort_unstable();
        assert_eq!(order, (0..100).collect::<Vec<_>>());
    }

    #[test]
    fn the_hilbert_order_visits_every_pixel_once_stepping_to_a_neighbour() {
        let order = hilbert_order(16, 16);
        let mut seen = order.clone();
        seen.sort_unstable();
        assert_eq!(seen, (0..256).collect::<Vec<usize>>());
        for pair in order.windows(2) {
            let (a, b) = ((pair[0] % 16, pair[0] / 16), (pair[1] % 16, pair[1] / 16));
            assert_eq!(a.0.abs_diff(b.0) + a.1.abs_diff(b.1), 1, "{a:?} -> {b:?}");
        }
        // Any size: a permutation of its pixels.
        let mut odd = hilbert_order(112, 90);
        odd.sort_unstable();
        assert_eq!(odd, (0..112 * 90).collect::<Vec<usize>>());
    }

    #[test]
    fn weighted_order_draws_in_proportion_to_weight() {
        // Pixel 1 should come first three times as often as pixel 3; pixel 0 never.
        let weights = [0.0, 0.75, f32::NAN, 0.25];
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let trials = 4000;
        let mut firsts = [0usize; 4];
        for _ in 0..trials {
            let order: Vec<usize> = weighted_order(&weights, &mut rng).collect();
            assert_eq!(order.len(), 2);
            firsts[order[0]] += 1;
        }
        let share = firsts[1] as f64 / trials as f64;
        assert!(
            (share - 0.75).abs() < 0.03,
            "pixel 1 first {share} of the time"
        );
    }
}
