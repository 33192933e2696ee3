//! Where the game samples next (seed section 3.3, `AdaptiveUVSampler`).
//!
//! A [`Sampler`] turns an importance map into the next set of pixel coordinates. The
//! coordinates are UV pairs at pixel centres of the sampling resolution `W x H`:
//! `u = (x + 0.5) / W` (left to right), `v = (y + 0.5) / H` (top to bottom), except for
//! `space_time`, whose points lie anywhere inside their pixel (`x <= u * W < x + 1`). u and
//! v are always in [0, 1). Every call returns exactly the requested count, each pixel at
//! most once.
//!
//! Strategies (`conf/sampling/*.yaml`):
//! - `uniform`: an aspect-aware grid (about `W / H` times as many columns as rows) with
//!   exactly `count` points spread over the whole frame.
//! - `random`: distinct pixels drawn uniformly.
//! - `stratified`: one random pixel in each cell of the aspect-aware grid.
//! - `importance_only`: weighted sampling without replacement, probability proportional to
//!   importance; an all-zero map weighs every pixel the same.
//! - `hybrid`: `importance_ratio / (importance_ratio + uniform_ratio)` of the samples by
//!   importance, the rest stratified over the pixels not chosen yet.
//! - `space_time`: stratified over space and time (see `space_time.rs`). The share
//!   `uniform_ratio / (importance_ratio + uniform_ratio)` (all of it without a map) is one
//!   sample per cell of an exact tiling, each cell's sample stepping frame by frame
//!   through its own scrambled low-discrepancy order of the cell's pixels at continuous
//!   sub-pixel offsets: every frame covers every cell, and a static scene is fully covered
//!   after about (cell area) frames. The importance share is drawn without replacement
//!   from the other pixels, weighted by `importance * (1 + age_weight * min(age, age_cap)
//!   / age_cap)`, where `age` counts the masks since a sample last landed on the pixel,
//!   and sits at a random offset inside its pixel. `initial` is the pattern's frame 0 and
//!   each `next_mask` the next frame; the first `next_mask` counts `initial` as sent.
//!   Renew it with `mask_update=every_frame`, or the pattern stands still.
//!
//! The first `warmup_frames` masks of a session, and every importance strategy without a
//! map, use the `uniform` grid: importance means nothing before the model has seen frames.
//! `space_time` has no warm-up: its pattern needs no importance.
//!
//! Minimum distance: samples are kept `min_distance` apart (UV units, Euclidean in the UV
//! square; 0 disables it). A candidate too close to a chosen sample is set aside. Where
//! the distance makes the count unreachable, the set-aside candidates are retried with
//! half the distance, then with none, and random pixels fill any remaining gap, so the
//! count is always met. The uniform grid and the space-time pattern are already evenly
//! spaced and are never thinned (the space-time importance share is).
//!
//! Determinism: the random strategies draw from a ChaCha8 generator seeded at
//! construction, so equal seeds and equal calls give equal masks. The space-time pattern
//! of a cell count depends on the seed alone.

mod grid;
mod order;
mod selection;
mod space_time;
mod spacing;
mod strategies;

use std::borrow::Cow;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::config::{HybridSpread, SamplingConfig, SamplingStrategy};
use crate::pipeline::importance::ImportanceMap;
use selection::Selection;
use space_time::SpaceTime;

/// Why a sampler could not be built or could not produce a mask.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SamplerError {
    #[error("sampling resolution must be at least 1x1 and fit in memory, got {width}x{height}")]
    Resolution { width: usize, height: usize },
    #[error("invalid sampling config: {0}")]
    Config(String),
    #[error("sample count must be between 1 and {pixels} (every pixel of {width}x{height}), got {count}")]
    Count {
        count: usize,
        width: usize,
        height: usize,
        pixels: usize,
    },
    #[error("importance map is {map_width}x{map_height} with {values} values, but the sampler works at {width}x{height}")]
    ImportanceShape {
        map_width: usize,
        map_height: usize,
        values: usize,
        width: usize,
        height: usize,
    },
}

/// Chooses the pixels a session samples, one mask per call. See the module docs.
#[derive(Debug, Clone)]
pub struct Sampler {
    strategy: SamplingStrategy,
    /// The hybrid strategy's fraction of samples drawn by importance.
    importance_share: f64,
    min_distance: f32,
    hybrid_spread: HybridSpread,
    warmup_frames: u32,
    width: usize,
    height: usize,
    masks_produced: u32,
    rng: ChaCha8Rng,
    /// Seeds the space-time pattern, which must not depend on the draws before it.
    seed: u64,
    age_weight: f32,
    age_cap: u32,
    /// `space_time`: the pattern of the latest cell count, kept while the count holds.
    pattern: Option<SpaceTime>,
    /// `space_time`: per pixel, the masks since a sample last landed there, at most
    /// `age_cap` (also for pixels never sampled).
    ages: Vec<u32>,
    /// `space_time`: the pixels in Hilbert-curve order, along which the importance share
    /// is drawn systematically; made at the first importance map.
    curve: Option<Vec<usize>>,
}

impl Sampler {
    /// A sampler at the sampling resolution `width x height` (the importance map's), seeded
    /// with `seed`. Fails on an empty resolution, negative or non-finite ratios, minimum
    /// distance or age weight, an age cap of 0, or a hybrid strategy whose two ratios are
    /// both zero.
    pub fn new(
        config: &SamplingConfig,
        width: usize,
        height: usize,
        seed: u64,
    ) -> Result<Self, SamplerError> {
        let fits = width
            .checked_mul(height)
            .is_some_and(|pixels| pixels <= isize::MAX as usize);
        if width == 0 || height == 0 || !fits {
            return Err(SamplerError::Resolution { width, height });
        }
        let non_negative = |name: &str, value: f64| {
            if value.is_finite() && value >= 0.0 {
                Ok(value)
            } else {
                Err(SamplerError::Config(format!(
                    "{name} must be a finite number >= 0, got {value}"
                )))
            }
        };
        let importance_ratio = non_negative("importance_ratio", config.importance_ratio)?;
        let uniform_ratio = non_negative("uniform_ratio", config.uniform_ratio)?;
        let min_distance = non_negative("min_distance", config.min_distance)?;
        let age_weight = non_negative("age_weight", config.age_weight)?;
        if config.age_cap == 0 {
            return Err(SamplerError::Config("age_cap must be at least 1".into()));
        }
        let ratio_sum = importance_ratio + uniform_ratio;
        if config.strategy == SamplingStrategy::Hybrid && ratio_sum == 0.0 {
            return Err(SamplerError::Config(
                "hybrid sampling needs importance_ratio + uniform_ratio > 0".into(),
            ));
        }
        Ok(Self {
            strategy: config.strategy,
            importance_share: if ratio_sum > 0.0 {
                importance_ratio / ratio_sum
            } else {
                0.0
            },
            min_distance: min_distance as f32,
            hybrid_spread: config.hybrid_spread,
            warmup_frames: config.warmup_frames,
            width,
            height,
            masks_produced: 0,
            rng: ChaCha8Rng::seed_from_u64(seed),
            seed,
            age_weight: age_weight as f32,
            age_cap: config.age_cap,
            pattern: None,
            curve: None,
            // Only space_time tracks ages; never-sampled pixels count as the oldest.
            ages: match config.strategy {
                SamplingStrategy::SpaceTime => vec![config.age_cap; width * height],
                _ => Vec::new(),
            },
        })
    }

    /// The mask before any frame has arrived: the uniform grid of `count` points
    /// (`space_time`: frame 0 of its pattern).
    pub fn initial(&self, count: usize) -> Result<Vec<[f32; 2]>, SamplerError> {
        self.check_count(count)?;
        if self.strategy == SamplingStrategy::SpaceTime {
            let pattern = SpaceTime::new(self.width, self.height, count, self.seed);
            return Ok(pattern.frame(0).map(|(_, uv)| uv).collect());
        }
        Ok(self.grid_uv(count))
    }

    /// The next mask of `count` coordinates from the latest importance map (`None` when
    /// there is none yet). The first `warmup_frames` calls return the uniform grid
    /// (not for `space_time`).
    pub fn next_mask(
        &mut self,
        importance: Option<&ImportanceMap>,
        count: usize,
    ) -> Result<Vec<[f32; 2]>, SamplerError> {
        self.check_count(count)?;
        if let Some(map) = importance {
            self.check_map(map)?;
        }
        let warming_up = self.masks_produced < self.warmup_frames;
        // initial() is the space-time pattern's frame 0.
        let frame = u64::from(self.masks_produced) + 1;
        self.masks_produced = self.masks_produced.saturating_add(1);

        let mut selection = Selection::new(self.width, self.height, self.min_distance, count);
        let rng = &mut self.rng;
        match (self.strategy, importance) {
            (SamplingStrategy::SpaceTime, _) => {
                return Ok(self.space_time_mask(selection, importance, count, frame))
            }
            _ if warming_up => return Ok(self.grid_uv(count)),
            (SamplingStrategy::Uniform, _)
            | (SamplingStrategy::ImportanceOnly | SamplingStrategy::Hybrid, None) => {
                return Ok(self.grid_uv(count))
            }
            (SamplingStrategy::Random, _) => strategies::random(&mut selection, count, rng),
            (SamplingStrategy::Stratified, _) => {
                strategies::stratified(&mut selection, count, count, rng)
            }
            (SamplingStrategy::ImportanceOnly, Some(map)) => {
                strategies::importance(&mut selection, &map.values, count, rng)
            }
            (SamplingStrategy::Hybrid, Some(map)) if self.hybrid_spread == HybridSpread::Grid => {
                let by_importance = (count as f64 * self.importance_share).round() as usize;
                let base = count - by_importance.min(count);
                selection.add_relaxing(strategies::grid_pixels(self.width, self.height, base), base);
                strategies::importance(&mut selection, &map.values, count, rng);
            }
            (SamplingStrategy::Hybrid, Some(map)) => {
                let by_importance = (count as f64 * self.importance_share).round() as usize;
                strategies::importance(&mut selection, &map.values, by_importance.min(count), rng);
                // Whatever importance did not place is spread over the rest of the frame.
                let spread = count - selection.len();
                strategies::stratified(&mut selection, spread, count, rng);
            }
        }
        strategies::fill_randomly(&mut selection, count, rng);
        Ok(selection.into_uv())
    }

    /// The `space_time` mask of pattern frame `frame` (see the module docs).
    fn space_time_mask(
        &mut self,
        mut selection: Selection,
        importance: Option<&ImportanceMap>,
        count: usize,
        frame: u64,
    ) -> Vec<[f32; 2]> {
        if frame == 1 {
            // The session started with initial(): its pixels were just sampled.
            let initial = SpaceTime::new(self.width, self.height, count, self.seed);
            initial.frame(0).for_each(|(pixel, _)| self.ages[pixel] = 0);
        }
        let by_importance = match importance {
            Some(_) => ((count as f64 * self.importance_share).round() as usize).min(count),
            None => 0,
        };
        let cells = count - by_importance;
        let mut uv = Vec::with_capacity(count);
        if cells > 0 {
            if self.pattern.as_ref().is_none_or(|p| p.cells() != cells) {
                self.pattern = Some(SpaceTime::new(self.width, self.height, cells, self.seed));
            }
            let pattern = self.pattern.as_ref().expect("built above");
            let mut pixels = Vec::with_capacity(cells);
            for (pixel, point) in pattern.frame(frame) {
                pixels.push(pixel);
                uv.push(point);
            }
            // The cells are disjoint, so the selection takes every pattern pixel (relaxing
            // the minimum distance where it must), and importance avoids them.
            selection.add_relaxing(pixels, cells);
        }
        if let Some(map) = importance.filter(|_| by_importance > 0) {
            let weights = self.age_weighted(&map.values);
            // Spread along a Hilbert curve: where the error map is flat (a maze of thin
            // lines), the share stays stratified instead of clumping.
            let curve = self.curve.get_or_insert_with(|| order::hilbert_order(self.width, self.height));
            strategies::systematic(&mut selection, &weights, curve, count, &mut self.rng);
        }
        strategies::fill_randomly(&mut selection, count, &mut self.rng);
        let pixels = selection.into_pixels();
        // The pattern pixels come first; the rest get a random offset inside their pixel.
        for &pixel in &pixels[cells..] {
            let offset = [self.rng.random::<f64>(), self.rng.random::<f64>()];
            let (x, y) = (pixel % self.width, pixel / self.width);
            uv.push(space_time::uv_at(x, y, offset, self.width, self.height));
        }
        self.record_samples(&pixels);
        uv
    }

    /// The importance map with each pixel's value raised by its sample age.
    fn age_weighted<'a>(&self, importance: &'a [f32]) -> Cow<'a, [f32]> {
        if self.age_weight == 0.0 {
            return Cow::Borrowed(importance);
        }
        let per_mask = self.age_weight / self.age_cap as f32;
        let weights = importance
            .iter()
            .zip(&self.ages)
            .map(|(&value, &age)| value * (1.0 + per_mask * age as f32))
            .collect();
        Cow::Owned(weights)
    }

    /// Ages every pixel by one mask, and resets those just sampled.
    fn record_samples(&mut self, pixels: &[usize]) {
        let cap = self.age_cap;
        self.ages.iter_mut().for_each(|age| *age = (*age + 1).min(cap));
        pixels.iter().for_each(|&pixel| self.ages[pixel] = 0);
    }

    /// How many masks [`Sampler::next_mask`] has produced, warm-up included.
    pub fn masks_produced(&self) -> u32 {
        self.masks_produced
    }

    fn grid_uv(&self, count: usize) -> Vec<[f32; 2]> {
        strategies::grid_pixels(self.width, self.height, count)
            .into_iter()
            .map(|pixel| pixel_to_uv(pixel, self.width, self.height))
            .collect()
    }

    fn check_count(&self, count: usize) -> Result<(), SamplerError> {
        let pixels = self.width * self.height;
        if (1..=pixels).contains(&count) {
            Ok(())
        } else {
            Err(SamplerError::Count {
                count,
                width: self.width,
                height: self.height,
                pixels,
            })
        }
    }

    fn check_map(&self, map: &ImportanceMap) -> Result<(), SamplerError> {
        let pixels = self.width * self.height;
        if map.width == self.width && map.height == self.height && map.values.len() == pixels {
            Ok(())
        } else {
            Err(SamplerError::ImportanceShape {
                map_width: map.width,
                map_height: map.height,
                values: map.values.len(),
                width: self.width,
                height: self.height,
            })
        }
    }
}

/// The UV coordinate of the centre of the row-major `pixel`.
fn pixel_to_uv(pixel: usize, width: usize, height: usize) -> [f32; 2] {
    let (x, y) = (pixel % width, pixel / width);
    [
        (x as f32 + 0.5) / width as f32,
        (y as f32 + 0.5) / height as f32,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::Rng;
    use std::collections::HashSet;

    fn config(strategy: SamplingStrategy, min_distance: f64, warmup_frames: u32) -> SamplingConfig {
        SamplingConfig {
            strategy,
            default_sample_count: 500,
            max_sample_count: 4096,
            importance_ratio: 0.7,
            uniform_ratio: 0.3,
            min_distance,
            warmup_frames,
            importance_detail_weight: 0.0,
            hybrid_spread: HybridSpread::Stratified,
            age_weight: 2.0,
            age_cap: 32,
        }
    }

    fn sampler(
        strategy: SamplingStrategy,
        min_distance: f64,
        width: usize,
        height: usize,
    ) -> Sampler {
        Sampler::new(&config(strategy, min_distance, 0), width, height, 7).expect("valid sampler")
    }

    #[test]
    fn hybrid_with_a_grid_spread_keeps_the_grid_and_adds_importance() {
        let grid_config = SamplingConfig { hybrid_spread: HybridSpread::Grid, ..config(SamplingStrategy::Hybrid, 0.01, 0) };
        let mut hybrid = Sampler::new(&grid_config, 64, 48, 3).unwrap();
        let map = left_quarter_map(64, 48);
        let mask = hybrid.next_mask(Some(&map), 400).unwrap();
        assert_eq!(mask.len(), 400);
        let unique: HashSet<[u32; 2]> = mask.iter().map(|c| c.map(f32::to_bits)).collect();
        assert_eq!(unique.len(), 400, "no duplicates");
        // The 30 % share is exactly the uniform grid of 120 points...
        let grid = hybrid.initial(120).unwrap();
        assert!(grid.iter().all(|g| mask.contains(g)));
        // ...and the importance share lands in the important quarter.
        let left = mask.iter().filter(|[u, _]| *u < 0.25).count();
        let grid_left = grid.iter().filter(|[u, _]| *u < 0.25).count();
        assert!(left - grid_left >= 270, "{left} left of which {grid_left} from the grid");
    }

    /// 1.0 in the left quarter of the columns, 0.0 elsewhere.
    fn left_quarter_map(width: usize, height: usize) -> ImportanceMap {
        let values = (0..width * height)
            .map(|pixel| if pixel % width < width / 4 { 1.0 } else { 0.0 })
            .collect();
        ImportanceMap {
            width,
            height,
            values,
        }
    }

    fn to_pixel([u, v]: [f32; 2], width: usize, height: usize) -> (usize, usize) {
        (
            (u * width as f32).floor() as usize,
            (v * height as f32).floor() as usize,
        )
    }

    fn min_pair_distance(uv: &[[f32; 2]]) -> f32 {
        let mut closest = f32::INFINITY;
        for (i, a) in uv.iter().enumerate() {
            for b in &uv[i + 1..] {
                closest = closest.min(((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)).sqrt());
            }
        }
        closest
    }

    const IMPORTANCE_STRATEGIES: [SamplingStrategy; 2] =
        [SamplingStrategy::ImportanceOnly, SamplingStrategy::Hybrid];
    const RANDOM_STRATEGIES: [SamplingStrategy; 4] = [
        SamplingStrategy::Random,
        SamplingStrategy::Stratified,
        SamplingStrategy::ImportanceOnly,
        SamplingStrategy::Hybrid,
    ];

    #[test]
    fn uniform_grid_is_aspect_aware() {
        let uv = sampler(SamplingStrategy::Uniform, 0.0, 200, 100)
            .initial(200)
            .unwrap();
        let columns: HashSet<_> = uv.iter().map(|p| to_pixel(*p, 200, 100).0).collect();
        let rows: HashSet<_> = uv.iter().map(|p| to_pixel(*p, 200, 100).1).collect();
        assert_eq!((columns.len(), rows.len()), (20, 10));
    }

    #[test]
    fn uniform_grid_spreads_an_uneven_count_over_the_whole_frame() {
        // 500 points take 500 of the 506 cells of a 22x23 grid. The 6 unused cells are
        // scattered, at most one per row, instead of all coming off the last row.
        let uv = sampler(SamplingStrategy::Uniform, 0.0, 112, 112)
            .initial(500)
            .unwrap();
        assert_eq!(uv.len(), 500);
        let mut per_row = std::collections::BTreeMap::<usize, usize>::new();
        for p in &uv {
            *per_row.entry(to_pixel(*p, 112, 112).1).or_default() += 1;
        }
        let widest = per_row.values().max().copied().unwrap_or(0);
        assert!(per_row.values().all(|&n| n + 1 >= widest), "{per_row:?}");
        assert_eq!(per_row.len() * widest, 506);
    }

    #[test]
    fn warm_up_and_missing_importance_use_the_grid() {
        let map = left_quarter_map(64, 48);
        let mut warming =
            Sampler::new(&config(SamplingStrategy::Hybrid, 0.01, 2), 64, 48, 1).unwrap();
        let grid = warming.initial(300).unwrap();
        assert_eq!(warming.next_mask(Some(&map), 300).unwrap(), grid);
        assert_eq!(warming.next_mask(Some(&map), 300).unwrap(), grid);
        assert_ne!(warming.next_mask(Some(&map), 300).unwrap(), grid);
        assert_eq!(warming.masks_produced(), 3);
        for strategy in IMPORTANCE_STRATEGIES {
            assert_eq!(
                sampler(strategy, 0.01, 64, 48)
                    .next_mask(None, 300)
                    .unwrap(),
                grid
            );
        }
    }

    #[test]
    fn stratified_puts_one_sample_in_each_cell() {
        // 200 samples at 200x100 make a 20x10 grid of 10x10-pixel cells.
        let uv = sampler(SamplingStrategy::Stratified, 0.0, 200, 100)
            .next_mask(None, 200)
            .unwrap();
        let cells: HashSet<_> = uv
            .iter()
            .map(|p| {
                let (x, y) = to_pixel(*p, 200, 100);
                (x / 10, y / 10)
            })
            .collect();
        assert_eq!(cells.len(), 200);
    }

    #[test]
    fn importance_only_stays_where_importance_is() {
        let (width, height) = (112, 112);
        let map = left_quarter_map(width, height);
        let quarter_pixels = width / 4 * height;
        // The whole quarter only fits by relaxing the minimum distance.
        for count in [1, 500, quarter_pixels] {
            let uv = sampler(SamplingStrategy::ImportanceOnly, 0.01, width, height)
                .next_mask(Some(&map), count)
                .unwrap();
            assert_eq!(uv.len(), count);
            assert!(uv.iter().all(|p| to_pixel(*p, width, height).0 < width / 4));
        }
    }

    #[test]
    fn all_zero_importance_weighs_every_pixel_the_same() {
        let map = ImportanceMap {
            width: 100,
            height: 100,
            values: vec![0.0; 10_000],
        };
        let uv = sampler(SamplingStrategy::ImportanceOnly, 0.0, 100, 100)
            .next_mask(Some(&map), 1000)
            .unwrap();
        let left = uv.iter().filter(|p| p[0] < 0.5).count();
        assert!(
            (400..600).contains(&left),
            "{left} of 1000 in the left half"
        );
    }

    #[test]
    fn hybrid_draws_its_importance_share_from_important_pixels() {
        let (width, height, count) = (112, 112, 400);
        let map = left_quarter_map(width, height);
        let uv = sampler(SamplingStrategy::Hybrid, 0.01, width, height)
            .next_mask(Some(&map), count)
            .unwrap();
        let in_quarter = uv
            .iter()
            .filter(|p| to_pixel(**p, width, height).0 < width / 4)
            .count();
        // 70% by importance, plus about a quarter of the 30% spread over the frame.
        assert!(
            (280..=320).contains(&in_quarter),
            "{in_quarter} of {count} in the quarter"
        );
    }

    #[test]
    fn min_distance_holds_when_feasible() {
        let map = ImportanceMap {
            width: 112,
            height: 112,
            values: (0..112 * 112)
                .map(|pixel| (pixel % 112) as f32 / 111.0)
                .collect(),
        };
        for strategy in RANDOM_STRATEGIES {
            let uv = sampler(strategy, 0.02, 112, 112)
                .next_mask(Some(&map), 500)
                .unwrap();
            let closest = min_pair_distance(&uv);
            assert!(
                closest >= 0.02 - 1e-6,
                "{strategy:?}: two samples {closest} apart"
            );
        }
    }

    #[test]
    fn min_distance_relaxes_to_reach_the_count() {
        let map = left_quarter_map(32, 32);
        for strategy in RANDOM_STRATEGIES {
            let uv = sampler(strategy, 0.2, 32, 32)
                .next_mask(Some(&map), 1000)
                .unwrap();
            let pixels: HashSet<_> = uv.iter().map(|p| to_pixel(*p, 32, 32)).collect();
            assert_eq!(pixels.len(), 1000, "{strategy:?}");
        }
    }

    #[test]
    fn equal_seeds_give_equal_masks_and_different_seeds_differ() {
        let map = left_quarter_map(112, 112);
        for strategy in RANDOM_STRATEGIES {
            let masks = |seed| {
                let mut sampler = Sampler::new(&config(strategy, 0.01, 0), 112, 112, seed).unwrap();
                [
                    sampler.next_mask(Some(&map), 500).unwrap(),
                    sampler.next_mask(Some(&map), 500).unwrap(),
                ]
            };
            let [first, second] = masks(1);
            assert_eq!([first.clone(), second.clone()], masks(1), "{strategy:?}");
            assert_ne!(first, second, "{strategy:?}: successive masks");
            assert_ne!(first, masks(2)[0], "{strategy:?}: another seed");
        }
    }

    #[test]
    fn rejects_bad_counts_maps_and_configs() {
        let mut hybrid = sampler(SamplingStrategy::Hybrid, 0.01, 20, 10);
        assert!(matches!(hybrid.initial(0), Err(SamplerError::Count { .. })));
        assert!(matches!(
            hybrid.next_mask(None, 201),
            Err(SamplerError::Count { .. })
        ));
        assert!(hybrid.next_mask(None, 200).is_ok());
        let transposed = left_quarter_map(10, 20);
        assert!(matches!(
            hybrid.next_mask(Some(&transposed), 10),
            Err(SamplerError::ImportanceShape { .. })
        ));

        let good = config(SamplingStrategy::Hybrid, 0.01, 0);
        assert!(matches!(
            Sampler::new(&good, 0, 10, 0),
            Err(SamplerError::Resolution { .. })
        ));
        let bad_configs = [
            SamplingConfig {
                importance_ratio: -0.1,
                ..good.clone()
            },
            SamplingConfig {
                uniform_ratio: f64::NAN,
                ..good.clone()
            },
            SamplingConfig {
                min_distance: f64::INFINITY,
                ..good.clone()
            },
            SamplingConfig {
                importance_ratio: 0.0,
                uniform_ratio: 0.0,
                ..good.clone()
            },
        ];
        for bad in bad_configs {
            assert!(
                matches!(Sampler::new(&bad, 10, 10, 0), Err(SamplerError::Config(_))),
                "{bad:?}"
            );
        }
    }

    /// The shipped space-time settings with other ratios and age weighting.
    fn space_time(importance_ratio: f64, uniform_ratio: f64, age_weight: f64) -> SamplingConfig {
        SamplingConfig {
            importance_ratio,
            uniform_ratio,
            age_weight,
            min_distance: 0.0,
            ..config(SamplingStrategy::SpaceTime, 0.0, 0)
        }
    }

    /// Pixels hit by `masks` consecutive masks of `sampler`, starting with `initial`.
    fn covered(sampler: &mut Sampler, map: Option<&ImportanceMap>, count: usize, masks: usize) -> usize {
        let (width, height) = (sampler.width, sampler.height);
        let mut hit = vec![false; width * height];
        let mut mark = |uv: Vec<[f32; 2]>| {
            for p in uv {
                let (x, y) = to_pixel(p, width, height);
                hit[y * width + x] = true;
            }
        };
        mark(sampler.initial(count).unwrap());
        for _ in 1..masks {
            mark(sampler.next_mask(map, count).unwrap());
        }
        hit.iter().filter(|&&h| h).count()
    }

    #[test]
    fn space_time_config_file_loads() {
        let overrides = ["sampling=space_time", "mask_update=every_frame"].map(String::from);
        let config = crate::Config::load(None, &overrides).unwrap();
        let sampling = &config.sampling;
        assert_eq!(sampling.strategy, SamplingStrategy::SpaceTime);
        assert_eq!((sampling.importance_ratio, sampling.uniform_ratio), (0.35, 0.65));
        assert_eq!((sampling.min_distance, sampling.default_sample_count), (0.0, 500));
        assert!(sampling.age_weight > 0.0 && sampling.age_cap > 0);
        assert!(Sampler::new(sampling, 112, 112, 0).is_ok());
    }

    #[test]
    fn space_time_returns_the_exact_count_of_distinct_pixels() {
        let map = left_quarter_map(112, 112);
        for count in [1, 7, 375, 500, 2000, 112 * 112] {
            for map in [None, Some(&map)] {
                let mut sampler = Sampler::new(&space_time(0.25, 0.75, 2.0), 112, 112, 4).unwrap();
                for uv in [sampler.initial(count).unwrap(), sampler.next_mask(map, count).unwrap()] {
                    assert_eq!(uv.len(), count);
                    let pixels: HashSet<_> = uv.iter().map(|p| to_pixel(*p, 112, 112)).collect();
                    assert_eq!(pixels.len(), count, "{count}: a pixel twice");
                    assert!(uv.iter().flatten().all(|t| (0.0..1.0).contains(t)));
                }
            }
        }
    }

    #[test]
    fn space_time_has_no_warm_up_and_continues_from_initial() {
        let config = SamplingConfig { warmup_frames: 3, ..space_time(0.25, 0.75, 2.0) };
        let mut sampler = Sampler::new(&config, 112, 112, 6).unwrap();
        let pattern = SpaceTime::new(112, 112, 500, 6);
        let frame = |t| pattern.frame(t).map(|(_, uv)| uv).collect::<Vec<_>>();
        assert_eq!(sampler.initial(500).unwrap(), frame(0));
        assert_eq!(sampler.next_mask(None, 500).unwrap(), frame(1));
        assert_eq!(sampler.next_mask(None, 500).unwrap(), frame(2));
        assert_ne!(frame(1), frame(2));
        let grid = sampler.grid_uv(500);
        assert_ne!(frame(0), grid);
    }

    #[test]
    fn space_time_covers_a_static_scene_in_about_cell_area_frames() {
        // 500 cells of about 25 pixels: the pattern alone covers all in at most 30 masks.
        let mut pattern_only = Sampler::new(&space_time(0.0, 1.0, 0.0), 112, 112, 8).unwrap();
        assert_eq!(covered(&mut pattern_only, None, 500, 30), 112 * 112);
        let mut early = Sampler::new(&space_time(0.0, 1.0, 0.0), 112, 112, 8).unwrap();
        assert!(covered(&mut early, None, 500, 10) < 112 * 112 / 2);
        // With an importance share the pattern has 375 cells of about 33 pixels; twice that.
        let map = build_map(&MapKind::Random(1), 112, 112).unwrap();
        let mut shared = Sampler::new(&space_time(0.25, 0.75, 2.0), 112, 112, 8).unwrap();
        assert_eq!(covered(&mut shared, Some(&map), 500, 67), 112 * 112);
    }

    #[test]
    fn space_time_offsets_are_continuous() {
        let (width, height) = (112, 112);
        let map = build_map(&MapKind::Random(2), width, height).unwrap();
        let mut sampler = Sampler::new(&space_time(0.25, 0.75, 2.0), width, height, 10).unwrap();
        let (mut pattern_bins, mut importance_bins) = (HashSet::new(), HashSet::new());
        for _ in 0..20 {
            let uv = sampler.next_mask(Some(&map), 500).unwrap();
            for (i, [u, v]) in uv.into_iter().enumerate() {
                // The fractional position inside the pixel, in 1/50 steps.
                let bin = [u * width as f32, v * height as f32].map(|t| (t.fract() * 50.0) as u32);
                if i < 375 { pattern_bins.insert(bin) } else { importance_bins.insert(bin) };
            }
        }
        // Pixel centres would fill one bin of 2500.
        assert!(pattern_bins.len() > 2000, "{}", pattern_bins.len());
        assert!(importance_bins.len() > 1000, "{}", importance_bins.len());
    }

    #[test]
    fn space_time_equal_seeds_give_equal_sequences_and_different_seeds_differ() {
        let map = build_map(&MapKind::Random(3), 112, 112).unwrap();
        let sequence = |seed| {
            let mut sampler = Sampler::new(&space_time(0.25, 0.75, 2.0), 112, 112, seed).unwrap();
            let mut masks = vec![sampler.initial(500).unwrap()];
            masks.extend((0..3).map(|_| sampler.next_mask(Some(&map), 500).unwrap()));
            masks
        };
        let first = sequence(1);
        assert_eq!(first, sequence(1));
        let other = sequence(2);
        for (a, b) in first.iter().zip(&other) {
            assert_ne!(a, b);
        }
        assert_ne!(first[1], first[2], "successive masks");
    }

    #[test]
    fn space_time_importance_share_goes_where_importance_is_high() {
        let (width, height) = (112, 112);
        let map = left_quarter_map(width, height);
        let in_quarter = |uv: &[[f32; 2]]| uv.iter().filter(|p| to_pixel(**p, width, height).0 < width / 4).count();
        let mut sampler = Sampler::new(&space_time(0.25, 0.75, 2.0), width, height, 12).unwrap();
        let with_map = sampler.next_mask(Some(&map), 500).unwrap();
        // The last 125 are the importance share, all in the quarter; the pattern puts
        // about a quarter of its 375 there too.
        assert_eq!(in_quarter(&with_map[375..]), 125);
        let quarter = in_quarter(&with_map);
        assert!((200..=240).contains(&quarter), "{quarter} of 500 in the quarter");
        let without = in_quarter(&sampler.next_mask(None, 500).unwrap());
        assert!((110..=140).contains(&without), "{without} of 500 in the quarter");
    }

    #[test]
    fn space_time_importance_share_is_spread_where_importance_is_flat() {
        // All by importance, one flat map: 256 picks over 16 x 16 blocks of 4 x 4 pixels.
        // Weighted random draws leave blocks empty (about 1 in 3 for one per block on
        // average); systematic draws along the Hilbert curve put one in every block.
        let map = build_map(&MapKind::Constant(1.0), 64, 64).unwrap();
        let mut sampler = Sampler::new(&space_time(1.0, 0.0, 0.0), 64, 64, 15).unwrap();
        sampler.initial(256).unwrap();
        for _ in 0..3 {
            let mut per_block = [0usize; 256];
            for p in sampler.next_mask(Some(&map), 256).unwrap() {
                let (x, y) = to_pixel(p, 64, 64);
                per_block[(y / 4) * 16 + x / 4] += 1;
            }
            assert!(per_block.iter().all(|&n| n == 1), "{per_block:?}");
        }
    }

    #[test]
    fn space_time_age_weighting_brings_samples_back_to_pixels_left_alone() {
        // All by importance, equal everywhere: only age tells pixels apart. Without it a
        // pixel is drawn at random each mask, so 10 masks of a tenth of the pixels miss a
        // third of them; age weighting prefers the pixels not sampled for long.
        let map = build_map(&MapKind::Constant(1.0), 40, 40).unwrap();
        let coverage = |age_weight| {
            let mut sampler = Sampler::new(&space_time(1.0, 0.0, age_weight), 40, 40, 14).unwrap();
            covered(&mut sampler, Some(&map), 160, 10)
        };
        let (flat, aged) = (coverage(0.0), coverage(50.0));
        assert!(flat < 1100, "{flat} of 1600 without age weighting");
        assert!(aged > 1300, "{aged} of 1600 with age weighting");
    }

    #[derive(Debug, Clone)]
    enum MapKind {
        Missing,
        Zero,
        Constant(f32),
        Random(u64),
        /// Mostly zero, a few pixels at 1.
        Sparse(u64),
    }

    fn build_map(kind: &MapKind, width: usize, height: usize) -> Option<ImportanceMap> {
        let pixels = width * height;
        let values = match *kind {
            MapKind::Missing => return None,
            MapKind::Zero => vec![0.0; pixels],
            MapKind::Constant(value) => vec![value; pixels],
            MapKind::Random(seed) => {
                let mut rng = ChaCha8Rng::seed_from_u64(seed);
                (0..pixels).map(|_| rng.random::<f32>()).collect()
            }
            MapKind::Sparse(seed) => {
                let mut rng = ChaCha8Rng::seed_from_u64(seed);
                (0..pixels)
                    .map(|_| if rng.random_bool(0.02) { 1.0 } else { 0.0 })
                    .collect()
            }
        };
        Some(ImportanceMap {
            width,
            height,
            values,
        })
    }

    fn any_case(
    ) -> impl Strategy<Value = (usize, usize, usize, SamplingStrategy, f64, MapKind, u64)> {
        let strategy = prop::sample::select(vec![
            SamplingStrategy::Uniform,
            SamplingStrategy::Random,
            SamplingStrategy::Stratified,
            SamplingStrategy::ImportanceOnly,
            SamplingStrategy::Hybrid,
            SamplingStrategy::SpaceTime,
        ]);
        let min_distance = prop::sample::select(vec![0.0, 0.005, 0.02, 0.1]);
        let map = prop_oneof![
            Just(MapKind::Missing),
            Just(MapKind::Zero),
            (0.0f32..=1.0).prop_map(MapKind::Constant),
            any::<u64>().prop_map(MapKind::Random),
            any::<u64>().prop_map(MapKind::Sparse),
        ];
        (1usize..=200, 1usize..=200).prop_flat_map(move |(width, height)| {
            let count = 1..=(width * height).min(2000);
            (
                Just(width),
                Just(height),
                count,
                strategy.clone(),
                min_distance.clone(),
                map.clone(),
                any::<u64>(),
            )
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn masks_are_always_in_range_distinct_and_exact(
            (width, height, count, strategy, min_distance, map_kind, seed) in any_case()
        ) {
            let map = build_map(&map_kind, width, height);
            let mut sampler = Sampler::new(&config(strategy, min_distance, 0), width, height, seed).unwrap();
            let uv = sampler.next_mask(map.as_ref(), count).unwrap();
            prop_assert_eq!(uv.len(), count);
            let mut pixels = HashSet::new();
            for [u, v] in uv {
                prop_assert!((0.0..1.0).contains(&u) && (0.0..1.0).contains(&v), "({u}, {v})");
                let (x, y) = to_pixel([u, v], width, height);
                prop_assert!(x < width && y < height);
                prop_assert!(pixels.insert((x, y)), "pixel ({x}, {y}) twice");
            }
        }
    }
}
