//! End to end through the engine: a moving synthetic scene streamed closed loop (the
//! test samples the scene where the engine says), with random weights.

use sgaps_core::pipeline::{Engine, EngineError, Frame, FrameResult, Pixel};

const CLIENT: [usize; 2] = [64, 48];
const SAMPLES: usize = 120;

fn engine(mode: &str, seed: u64, checkpoint_dir: &std::path::Path) -> Engine {
    let overrides = [
        "model=spt_small".to_string(),
        "model.resolution=[32,24]".into(),
        format!("sampling.default_sample_count={SAMPLES}"),
        format!("mask_update={mode}"),
        format!("seed={seed}"),
        format!("checkpoint_dir={}", checkpoint_dir.display()),
        "device=cpu".into(),
    ];
    Engine::from_conf(None, &overrides).unwrap()
}

/// A bright square moving right over a vertical gradient, at the client's resolution.
fn scene(t: usize, u: f32, v: f32) -> f32 {
    let (x, y) = (u * CLIENT[0] as f32, v * CLIENT[1] as f32);
    let left = 4.0 + 2.0 * t as f32;
    if (left..left + 12.0).contains(&x) && (16.0..28.0).contains(&y) {
        250.0
    } else {
        (y / CLIENT[1] as f32 * 160.0).floor()
    }
}

fn sample(t: usize, coordinates: &[[f32; 2]]) -> Vec<Pixel> {
    coordinates.iter().map(|&[u, v]| Pixel { u, v, value: scene(t, u, v) }).collect()
}

/// Streams `frames` frames closed loop; returns every result.
fn stream(engine: &Engine, frames: usize) -> Vec<FrameResult> {
    let start = engine.begin_session("game", CLIENT).unwrap();
    let id = start.params.session_id;
    let mut coordinates = start.initial_coordinates;
    let mut pending: Option<(u64, Vec<[f32; 2]>)> = None;
    let mut results = Vec::new();
    for t in 0..frames {
        // The client swaps to new coordinates at their target frame.
        if let Some((target, next)) = pending.take() {
            if target as usize <= t {
                coordinates = next;
            } else {
                pending = Some((target, next));
            }
        }
        let frame = Frame { frame_id: t as u64, timestamp: t as f64 / 10.0, pixels: sample(t, &coordinates), ..Default::default() };
        let result = engine.submit(id, frame).unwrap();
        if let Some(update) = &result.mask_update {
            pending = Some((update.target_frame_id, update.coordinates.clone()));
        }
        results.push(result);
    }
    let stats = engine.end_session(id).unwrap();
    assert_eq!(stats.frames_reconstructed, frames as u64);
    results
}

fn update_frames(results: &[FrameResult]) -> Vec<u64> {
    results.iter().filter_map(|r| r.mask_update.as_ref().map(|u| u.target_frame_id)).collect()
}

#[test]
fn thirty_frames_under_each_scheduler_mode() {
    let dir = tempfile::tempdir().unwrap();
    for mode in ["fixed", "adaptive", "quality_based"] {
        let engine = engine(mode, 42, dir.path());
        let results = stream(&engine, 30);
        for r in &results {
            assert_eq!(r.reconstruction.dimensions(), (32, 24));
            assert_eq!((r.importance.map.width, r.importance.map.height), (32, 24));
            assert!(r.importance.map.values.iter().all(|v| (0.0..=1.0).contains(v)));
            assert_eq!(r.batch_size, 1);
            // Untrained weights: quality is poor, which fixes what each mode must do.
            assert!(r.sample_psnr < 22.0, "{mode}: sample PSNR {}", r.sample_psnr);
            if let Some(update) = &r.mask_update {
                assert_eq!(update.target_frame_id, r.frame_id + 1);
                assert_eq!(update.coordinates.len(), SAMPLES);
                assert!(update.coordinates.iter().flatten().all(|c| (0.0..=1.0).contains(c)));
            }
        }
        let expected: Vec<u64> = match mode {
            "fixed" => vec![10, 20, 30],                      // every fixed_interval = 10
            "adaptive" => (1..=30).collect(),                // below threshold: every min_interval = 1
            _ => (1..=30).collect(),                         // below low threshold: every frame
        };
        assert_eq!(update_frames(&results), expected, "{mode}");
    }
}

#[test]
fn a_fixed_seed_reproduces_the_run_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let a = stream(&engine("quality_based", 7, dir.path()), 12);
    let b = stream(&engine("quality_based", 7, dir.path()), 12);
    let c = stream(&engine("quality_based", 8, dir.path()), 12);
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x.reconstruction, y.reconstruction);
        assert_eq!(x.importance, y.importance);
        assert_eq!(x.mask_update, y.mask_update);
    }
    let coords = |r: &[FrameResult]| r.iter().map(|x| x.mask_update.clone()).collect::<Vec<_>>();
    assert_ne!(coords(&a), coords(&c), "another seed samples elsewhere");
}

#[test]
fn sessions_batch_together_and_a_bad_frame_fails_alone() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine("fixed", 1, dir.path());
    let s1 = engine.begin_session("game", CLIENT).unwrap();
    let s2 = engine.begin_session("other", [640, 480]).unwrap();
    let (id1, id2) = (s1.params.session_id, s2.params.session_id);
    let good = |t: usize, coords: &[[f32; 2]]| Frame { frame_id: t as u64, pixels: sample(t, coords), ..Default::default() };
    let mut bad = good(0, &s2.initial_coordinates);
    bad.pixels[3].value = 300.0;

    let results = engine.submit_batch(vec![
        (id1, good(0, &s1.initial_coordinates)),
        (id2, bad),
        (id2, good(1, &s2.initial_coordinates)),
        (999, good(0, &s1.initial_coordinates)),
    ]);
    assert_eq!(results[0].as_ref().unwrap().batch_size, 2, "both sessions share the default model");
    match &results[1] {
        Err(EngineError::InvalidFrame(e)) => assert_eq!(e.field, "pixels[3].value"),
        other => panic!("expected an invalid frame, got {other:?}"),
    }
    assert!(results[2].is_ok(), "the session survives a bad frame");
    assert!(matches!(results[3], Err(EngineError::UnknownSession(999))));

    // Batched and alone agree (up to one grey level of rounding).
    let alone = engine.submit(id1, good(0, &s1.initial_coordinates)).unwrap();
    let batched = &results[0].as_ref().unwrap().reconstruction;
    let max_diff = alone.reconstruction.iter().zip(batched.iter()).map(|(a, b)| a.abs_diff(*b)).max().unwrap();
    assert!(max_diff <= 1, "batched and single reconstructions differ by {max_diff}");
    assert_eq!(engine.end_session(id2).unwrap().frames_reconstructed, 1);
    assert!(matches!(engine.end_session(id2), Err(EngineError::UnknownSession(_))));
}

#[test]
fn many_threads_stream_separate_sessions() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine("adaptive", 3, dir.path());
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                let results = stream(&engine, 6);
                assert_eq!(results.len(), 6);
            });
        }
    });
    assert_eq!(engine.active_sessions(), 0);
}
