//! How long one mask of 1000 samples takes, per strategy, at the usual sampling resolution
//! (112x112) and at a full 640x480 frame. Target: under 1 ms for hybrid at 112x112.
//! Plus the space_time strategy as shipped (`conf/sampling/space_time.yaml`): 500 samples
//! at 112x112, a new mask every frame, so well under 1 ms.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sgaps_core::config::{SamplingConfig, SamplingStrategy};
use sgaps_core::pipeline::importance::ImportanceMap;
use sgaps_core::pipeline::sampler::Sampler;

const COUNT: usize = 1000;

/// The shipped hybrid settings (`conf/sampling/hybrid.yaml`) with another strategy.
fn config(strategy: SamplingStrategy) -> SamplingConfig {
    SamplingConfig {
        strategy,
        default_sample_count: 500,
        max_sample_count: 4096,
        importance_ratio: 0.7,
        uniform_ratio: 0.3,
        min_distance: 0.01,
        warmup_frames: 0,
        importance_detail_weight: 0.0,
        hybrid_spread: sgaps_core::config::HybridSpread::Stratified,
        age_weight: 0.0,
        age_cap: 32,
    }
}

/// A smooth blob of importance plus noise, like a normalised attention-entropy map.
fn importance_map(width: usize, height: usize) -> ImportanceMap {
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let values = (0..width * height)
        .map(|pixel| {
            let u = (pixel % width) as f32 / width as f32 - 0.3;
            let v = (pixel / width) as f32 / height as f32 - 0.6;
            let blob = (-(u * u + v * v) / 0.02).exp();
            (0.8 * blob + 0.2 * rng.random::<f32>()).min(1.0)
        })
        .collect();
    ImportanceMap {
        width,
        height,
        values,
    }
}

fn bench_strategies(c: &mut Criterion) {
    let strategies = [
        ("uniform", SamplingStrategy::Uniform),
        ("random", SamplingStrategy::Random),
        ("stratified", SamplingStrategy::Stratified),
        ("importance_only", SamplingStrategy::ImportanceOnly),
        ("hybrid", SamplingStrategy::Hybrid),
    ];
    for (width, height) in [(112, 112), (640, 480)] {
        let mut group = c.benchmark_group(format!("sampler_{width}x{height}_{COUNT}"));
        let map = importance_map(width, height);
        for (name, strategy) in strategies {
            let mut sampler =
                Sampler::new(&config(strategy), width, height, 1).expect("valid sampler");
            group.bench_function(BenchmarkId::from_parameter(name), |b| {
                b.iter(|| sampler.next_mask(Some(&map), COUNT).expect("valid count"))
            });
        }
        group.finish();
    }
}

fn bench_space_time(c: &mut Criterion) {
    let (width, height, count) = (112, 112, 500);
    let shipped = SamplingConfig {
        importance_ratio: 0.25,
        uniform_ratio: 0.75,
        min_distance: 0.0,
        age_weight: 2.0,
        ..config(SamplingStrategy::SpaceTime)
    };
    let map = importance_map(width, height);
    let mut sampler = Sampler::new(&shipped, width, height, 1).expect("valid sampler");
    let mut group = c.benchmark_group(format!("sampler_{width}x{height}_{count}"));
    group.bench_function(BenchmarkId::from_parameter("space_time"), |b| {
        b.iter(|| sampler.next_mask(Some(&map), count).expect("valid count"))
    });
    group.bench_function(BenchmarkId::from_parameter("space_time_no_map"), |b| {
        b.iter(|| sampler.next_mask(None, count).expect("valid count"))
    });
    group.finish();
}

criterion_group!(benches, bench_strategies, bench_space_time);
criterion_main!(benches);
