//! Importance: where the model is unsure, from the entropy of its cross-attention
//! (seed section 3.2). A query pixel that spreads its attention over many sampled
//! pixels (high entropy) is poorly pinned down and deserves more samples; one that
//! attends to a single nearby sample (low entropy) is not.

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
        let (min, max) = entropy.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &e| (lo.min(e), hi.max(e)));
        let range = max - min + EPSILON as f32;
        let values: Vec<f32> = entropy.iter().map(|&e| (e - min) / range).collect();
        let n = values.len() as f32;
        let mean = values.iter().sum::<f32>() / n;
        let std = (values.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / n).sqrt();
        let stats = ImportanceStats {
            mean,
            max: values.iter().copied().fold(0.0, f32::max),
            std,
            entropy: entropy.iter().sum::<f32>() / n,
        };
        Importance { map: ImportanceMap { width, height, values }, stats }
    }
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
    fn a_flat_map_normalises_to_zero() {
        let map = Importance::from_entropy(3, 2, &[0.7; 6]).map;
        assert!(map.values.iter().all(|&v| v == 0.0));
    }
}
