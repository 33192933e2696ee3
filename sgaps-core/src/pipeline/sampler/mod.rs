//! Where the game samples next (seed section 3.3, `AdaptiveUVSampler`).
//!
//! A [`Sampler`] turns an importance map into the next set of pixel coordinates. The
//! coordinates are UV pairs at pixel centres of the sampling resolution `W x H`:
//! `u = (x + 0.5) / W` (left to right), `v = (y + 0.5) / H` (top to bottom). Every call
//! returns exactly the requested count, each pixel at most once.
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
//!
//! The first `warmup_frames` masks of a session, and every importance strategy without a
//! map, use the `uniform` grid: importance means nothing before the model has seen frames.
//!
//! Minimum distance: samples are kept `min_distance` apart (UV units, Euclidean in the UV
//! square; 0 disables it). A candidate too close to a chosen sample is set aside. Where
//! the distance makes the count unreachable, the set-aside candidates are retried with
//! half the distance, then with none, and random pixels fill any remaining gap, so the
//! count is always met. The uniform grid is already evenly spaced and is never thinned.
//!
//! Determinism: the random strategies draw from a ChaCha8 generator seeded at
//! construction, so equal seeds and equal calls give equal masks.

mod grid;
mod order;
mod selection;
mod spacing;
mod strategies;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::config::{HybridSpread, SamplingConfig, SamplingStrategy};
use crate::pipeline::importance::ImportanceMap;
use selection::Selection;

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
}

impl Sampler {
    /// A sampler at the sampling resolution `width x height` (the importance map's), seeded
    /// with `seed`. Fails on an empty resolution, negative or non-finite ratios or minimum
    /// distance, or a hybrid strategy whose two ratios are both zero.
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
        })
    }

    /// The mask before any frame has arrived: the uniform grid of `count` points.
    pub fn initial(&self, count: usize) -> Result<Vec<[f32; 2]>, SamplerError> {
        self.check_count(count)?;
        Ok(self.grid_uv(count))
    }

    /// The next mask of `count` coordinates from the latest importance map (`None` when
    /// there is none yet). The first `warmup_frames` calls return the uniform grid.
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
        self.masks_produced = self.masks_produced.saturating_add(1);

        let mut selection = Selection::new(self.width, self.height, self.min_distance, count);
        let rng = &mut self.rng;
        match (self.strategy, importance) {
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
                prop_assert!((0.0..=1.0).contains(&u) && (0.0..=1.0).contains(&v), "({u}, {v})");
                let (x, y) = to_pixel([u, v], width, height);
                prop_assert!(x < width && y < height);
                prop_assert!(pixels.insert((x, y)), "pixel ({x}, {y}) twice");
            }
        }
    }
}
