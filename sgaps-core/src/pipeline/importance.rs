//! Importance: where the model is unsure, from the entropy of its cross-attention
//! (seed section 3.2). A query pixel that spreads its attention over many sampled
//! pixels (high entropy) is poorly pinned down and deserves more samples; one that
//! attends to a single nearby sample (low entropy) is not.
//!
//! `sampling.importance_detail_weight` blends in where the reconstruction has detail
//! (edges, sprites, text), which is where interpolating a few samples goes wrong; flat
//! backgrounds need few samples whatever the attention says.

use image::GrayImage;
use tch::Tensor;

use crate::model::head_mean_entropy;

/// Keeps the min-max division finite on a flat map; the seed's value.
const EPSILON: f64 = 1e-9;

/// A per-pixel importance map at the sampling resolution, min-max normalised to [0, 1],
/// row-major (`values[y * width + x]`).
#[derive(Debug, Clone, PartialEq)]
pub struct ImportanceMap {
    pub width: usize,
    pub height: usize,
    pub values: Vec<f32>,
}

/// A frame's importance map with its summary numbers.
#[derive(Debug, Clone, PartialEq)]
pub struct Importance {
    pub map: ImportanceMap,
    pub stats: ImportanceStats,
}

/// Summary numbers of one importance map, for logs and metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct ImportanceStats {
    /// Mean, max and standard deviation of the normalised map.
    pub mean: f32,
    pub max: f32,
    pub std: f32,
    /// Mean attention entropy in nats before normalisation: how spread out the
    /// model's attention is overall (ln(N+1) would be uniform attention).
    pub entropy: f32,
}

impl ImportanceMap {
    pub fn get(&self, x: usize, y: usize) -> f32 {
        self.values[y * self.width + x]
    }
}

impl Importance {
    /// Normalises raw per-pixel entropies (row-major, `width * height`) to [0, 1].
    pub fn from_entropy(width: usize, height: usize, entropy: &[f32]) -> Importance {
        assert_eq!(entropy.len(), width * height, "entropy holds one value per pixel");
        let values = min_max_normalised(entropy);
        let mean_entropy = entropy.iter().sum::<f32>() / entropy.len() as f32;
        Importance::from_values(width, height, values, mean_entropy)
    }

    /// Normalises a predicted error map (row-major, `width * height`) to [0, 1]: the
    /// temporal model's importance. `stats.entropy` then holds the mean predicted error.
    pub fn from_predicted_error(width: usize, height: usize, error: &[f32]) -> Importance {
        Importance::from_entropy(width, height, error)
    }

    /// `(1 - weight) * self + weight * detail(reconstruction)`, renormalised; `self` when
    /// `weight` is 0. The reconstruction must have the map's size.
    pub fn blend_detail(self, reconstruction: &GrayImage, weight: f32) -> Importance {
        if weight <= 0.0 {
            return self;
        }
        let detail = detail_map(reconstruction);
        assert_eq!(detail.len(), self.map.values.len(), "reconstruction and map sizes match");
        let blended: Vec<f32> = self.map.values.iter().zip(&detail).map(|(e, d)| (1.0 - weight) * e + weight * d).collect();
        Importance::from_values(self.map.width, self.map.height, min_max_normalised(&blended), self.stats.entropy)
    }

    fn from_values(width: usize, height: usize, values: Vec<f32>, mean_entropy: f32) -> Importance {
        let n = values.len() as f32;
        let mean = values.iter().sum::<f32>() / n;
        let std = (values.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / n).sqrt();
        let stats = ImportanceStats { mean, max: values.iter().copied().fold(0.0, f32::max), std, entropy: mean_entropy };
        Importance { map: ImportanceMap { width, height, values }, stats }
    }
}

fn min_max_normalised(values: &[f32]) -> Vec<f32> {
    let (min, max) = values.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &e| (lo.min(e), hi.max(e)));
    let range = max - min + EPSILON as f32;
    values.iter().map(|&e| (e - min) / range).collect()
}

/// Sobel gradient magnitude of `image`, then the largest value of each 3x3
/// neighbourhood, so both sides of an edge count (the next frame's edge is rarely in
/// exactly the same place). Row-major, unnormalised.
pub fn detail_map(image: &GrayImage) -> Vec<f32> {
    let (w, h) = (image.width() as i64, image.height() as i64);
    let at = |x: i64, y: i64| image.get_pixel(x.clamp(0, w - 1) as u32, y.clamp(0, h - 1) as u32)[0] as f32;
    let mut gradient = vec![0f32; (w * h) as usize];
    for y in 0..h {
        for x in 0..w {
            let gx = at(x + 1, y - 1) + 2.0 * at(x + 1, y) + at(x + 1, y + 1) - at(x - 1, y - 1) - 2.0 * at(x - 1, y) - at(x - 1, y + 1);
            let gy = at(x - 1, y + 1) + 2.0 * at(x, y + 1) + at(x + 1, y + 1) - at(x - 1, y - 1) - 2.0 * at(x, y - 1) - at(x + 1, y - 1);
            gradient[(y * w + x) as usize] = (gx * gx + gy * gy).sqrt();
        }
    }
    let mut spread = vec![0f32; gradient.len()];
    for y in 0..h {
        for x in 0..w {
            let mut largest = 0f32;
            for (dx, dy) in (-1..=1).flat_map(|dy| (-1..=1).map(move |dx| (dx, dy))) {
                let (nx, ny) = ((x + dx).clamp(0, w - 1), (y + dy).clamp(0, h - 1));
                largest = largest.max(gradient[(ny * w + nx) as usize]);
            }
            spread[(y * w + x) as usize] = largest;
        }
    }
    spread
}

/// One importance map per frame from the last decoder layer's cross-attention weights
/// `[B, heads, H*W, N+1]`: head-average, per-pixel entropy over the keys, min-max
/// normalise. Padded keys carry zero weight and so add nothing to the entropy.
pub fn importance_from_attention(attention: &Tensor, width: usize, height: usize) -> Vec<Importance> {
    importance_from_entropy(&head_mean_entropy(attention), width, height)
}

/// One importance map per frame from per-pixel attention entropies `[B, H*W]` (what
/// the model returns with `AttentionOutput::Entropy`).
pub fn importance_from_entropy(entropy: &Tensor, width: usize, height: usize) -> Vec<Importance> {
    let batch = entropy.size()[0];
    (0..batch)
        .map(|i| {
            let values = Vec::<f32>::try_from(entropy.get(i).to_device(tch::Device::Cpu))
                .expect("entropy is a float tensor");
            Importance::from_entropy(width, height, &values)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn focused_attention_is_unimportant_and_spread_attention_important() {
        // Two query pixels, 4 keys, 2 heads: pixel 0 attends to one key, pixel 1 to all.
        let focused = [1.0f32, 0.0, 0.0, 0.0];
        let spread = [0.25f32; 4];
        let per_head: Vec<f32> = [focused, spread].concat();
        let weights = Tensor::from_slice(&[per_head.clone(), per_head].concat()).reshape([1, 2, 2, 4]);
        let maps = importance_from_attention(&weights, 2, 1);
        assert_eq!(maps.len(), 1);
        let (map, stats) = (&maps[0].map, &maps[0].stats);
        assert!(map.get(0, 0) < 1e-6, "{:?}", map.values);
        assert!((map.get(1, 0) - 1.0).abs() < 1e-6, "{:?}", map.values);
        // Mean raw entropy: (0 + ln 4) / 2.
        assert!((stats.entropy - 4f32.ln() / 2.0).abs() < 1e-5);
        assert!((stats.mean - 0.5).abs() < 1e-6 && (stats.std - 0.5).abs() < 1e-6);
    }

    #[test]
    fn heads_are_averaged_before_the_entropy() {
        // Each head is focused, on different keys: the average is spread.
        let head_a = [1.0f32, 0.0, 0.0, 1.0];
        let head_b = [0.0f32, 1.0, 0.0, 1.0];
        let weights = Tensor::from_slice(&[head_a, head_b].concat()).reshape([1, 2, 2, 2]);
        let map = &importance_from_attention(&weights, 1, 2)[0].map;
        assert!(map.get(0, 0) > 0.99 && map.get(0, 1) < 0.01, "{:?}", map.values);
    }

    #[test]
    fn detail_marks_both_sides_of_an_edge_and_nothing_flat() {
        // A vertical edge between x = 4 and x = 5 of a 10x6 frame.
        let frame = GrayImage::from_fn(10, 6, |x, _| image::Luma([if x < 5 { 20 } else { 200 }]));
        let detail = detail_map(&frame);
        let at = |x: usize, y: usize| detail[y * 10 + x];
        assert!(at(4, 3) > 0.0 && at(5, 3) > 0.0 && at(3, 3) > 0.0 && at(6, 3) > 0.0);
        assert_eq!((at(0, 3), at(9, 3), at(1, 0)), (0.0, 0.0, 0.0));

        let flat = Importance::from_entropy(10, 6, &[0.5; 60]);
        let blended = flat.clone().blend_detail(&frame, 0.5);
        assert!((blended.map.get(4, 2) - 1.0).abs() < 1e-6 && blended.map.get(0, 2) < 1e-6);
        assert_eq!(flat.clone().blend_detail(&frame, 0.0), flat);
    }

    #[test]
    fn a_flat_map_normalises_to_zero() {
        let map = Importance::from_entropy(3, 2, &[0.7; 6]).map;
        assert!(map.values.iter().all(|&v| v == 0.0));
    }
}
