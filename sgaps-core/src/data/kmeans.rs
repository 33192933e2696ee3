//! A small k-means: k-means++ seeding (Arthur & Vassilvitskii 2007), then Lloyd
//! iterations until no point changes cluster. Enough for balancing a few hundred
//! thousand low-dimensional feature rows; no linear-algebra dependency needed.

use rand::Rng;

/// Lloyd iterations stop here even if a few points still flip between clusters.
const MAX_ITERATIONS: usize = 100;

/// The cluster (0..k) of each row of `points` (`dim` values per row). `k` is clamped to
/// the number of rows; duplicate rows may leave a cluster empty.
pub(crate) fn kmeans(points: &[f64], dim: usize, k: usize, rng: &mut impl Rng) -> Vec<usize> {
    let n = points.len().checked_div(dim).unwrap_or(0);
    let k = k.min(n);
    if k <= 1 {
        return vec![0; n];
    }
    let row = |i: usize| &points[i * dim..(i + 1) * dim];
    let mut centres = seed_plus_plus(points, dim, k, rng);
    let mut assignment = vec![usize::MAX; n];
    for _ in 0..MAX_ITERATIONS {
        let mut changed = false;
        for (i, a) in assignment.iter_mut().enumerate() {
            let nearest = nearest_centre(row(i), &centres, dim);
            changed |= *a != nearest;
            *a = nearest;
        }
        if !changed {
            break;
        }
        // Each centre moves to the mean of its points; an empty cluster keeps its centre.
        let mut sums = vec![0.0; k * dim];
        let mut counts = vec![0usize; k];
        for (i, &a) in assignment.iter().enumerate() {
            counts[a] += 1;
            sums[a * dim..(a + 1) * dim].iter_mut().zip(row(i)).for_each(|(s, x)| *s += x);
        }
        for c in (0..k).filter(|&c| counts[c] > 0) {
            for (centre, sum) in centres[c * dim..(c + 1) * dim].iter_mut().zip(&sums[c * dim..(c + 1) * dim]) {
                *centre = sum / counts[c] as f64;
            }
        }
    }
    assignment
}

/// k-means++: the first centre uniformly, each next one with probability proportional
/// to the squared distance from the nearest centre so far, so centres spread out.
fn seed_plus_plus(points: &[f64], dim: usize, k: usize, rng: &mut impl Rng) -> Vec<f64> {
    let n = points.len() / dim;
    let row = |i: usize| &points[i * dim..(i + 1) * dim];
    let mut centres = row(rng.random_range(0..n)).to_vec();
    let mut distances: Vec<f64> = (0..n).map(|i| squared_distance(row(i), &centres)).collect();
    while centres.len() < k * dim {
        let total: f64 = distances.iter().sum();
        // All points coincide with a centre: any choice is as good as another.
        let next = if total <= 0.0 {
            rng.random_range(0..n)
        } else {
            pick_weighted(&distances, rng.random::<f64>() * total)
        };
        let centre = row(next).to_vec();
        distances.iter_mut().enumerate().for_each(|(i, d)| *d = d.min(squared_distance(row(i), &centre)));
        centres.extend(centre);
    }
    centres
}

/// The index where the running sum of `weights` first exceeds `target`; zero weights
/// are never picked.
fn pick_weighted(weights: &[f64], mut target: f64) -> usize {
    for (i, &w) in weights.iter().enumerate() {
        if target < w {
            return i;
        }
        target -= w;
    }
    // Rounding left `target` just past the sum: the last row with any weight.
    weights.iter().rposition(|&w| w > 0.0).unwrap_or(0)
}

/// Index of the nearest centre (the first one on ties).
fn nearest_centre(point: &[f64], centres: &[f64], dim: usize) -> usize {
    centres
        .chunks(dim)
        .map(|c| squared_distance(point, c))
        .enumerate()
        .fold((0, f64::INFINITY), |best, (c, d)| if d < best.1 { (c, d) } else { best })
        .0
}

fn squared_distance(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    /// Three tight blobs in 2-D of sizes 50, 20 and 5.
    fn blobs() -> Vec<f64> {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut points = Vec::new();
        for (centre, size) in [((0.0, 0.0), 50), ((10.0, 0.0), 20), ((0.0, 10.0), 5)] {
            for _ in 0..size {
                points.push(centre.0 + rng.random_range(-0.5..0.5));
                points.push(centre.1 + rng.random_range(-0.5..0.5));
            }
        }
        points
    }

    #[test]
    fn separated_blobs_are_found() {
        let assignment = kmeans(&blobs(), 2, 3, &mut ChaCha8Rng::seed_from_u64(7));
        let mut sizes = [0; 3];
        assignment.iter().for_each(|&a| sizes[a] += 1);
        sizes.sort_unstable();
        assert_eq!(sizes, [5, 20, 50]);
        // Each blob lies in one cluster.
        assert!(assignment[..50].iter().all(|&a| a == assignment[0]));
        assert!(assignment[70..].iter().all(|&a| a == assignment[70]));
    }

    #[test]
    fn more_clusters_than_points_and_identical_points_are_fine() {
        assert_eq!(kmeans(&[1.0, 2.0], 1, 5, &mut ChaCha8Rng::seed_from_u64(0)).len(), 2);
        let same = kmeans(&[3.0; 10], 1, 3, &mut ChaCha8Rng::seed_from_u64(0));
        assert_eq!(same.len(), 10);
        assert!(kmeans(&[], 2, 3, &mut ChaCha8Rng::seed_from_u64(0)).is_empty());
    }
}
