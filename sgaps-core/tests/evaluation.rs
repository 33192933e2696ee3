//! Evaluation on synthetic clips with ground truth: the model closed loop and on the
//! space-time pattern, next to single-frame and temporal baselines and the ceiling.

use image::GrayImage;
use sgaps_core::evaluation::{evaluate_clip, BaselineOptions};
use sgaps_core::pipeline::Engine;

fn engine(dir: &std::path::Path) -> Engine {
    let overrides = [
        "model=spt_small",
        "model.resolution=[32,24]",
        "sampling.default_sample_count=120",
        "mask_update=fixed",
        "mask_update.fixed_interval=3",
        "sampling.warmup_frames=0",
        "device=cpu",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([format!("checkpoint_dir={}", dir.display())])
    .collect::<Vec<_>>();
    Engine::from_conf(None, &overrides).unwrap()
}

/// A square moving right over a vertical gradient, 64x48.
fn clip(frames: u32) -> Vec<GrayImage> {
    (0..frames)
        .map(|t| {
            GrayImage::from_fn(64, 48, |x, y| {
                let inside = (4 + 3 * t..16 + 3 * t).contains(&x) && (16..28).contains(&y);
                image::Luma([if inside { 250 } else { (y * 4) as u8 }])
            })
        })
        .collect()
}

#[test]
fn every_method_is_scored_and_the_closed_loop_follows_the_engine() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(dir.path());
    let frames = clip(12);
    let (scores, pictures, strip) = evaluate_clip(&engine, "game", &frames, &[], BaselineOptions::default()).unwrap();
    assert_eq!(scores.frames, 12);
    let initial = engine.begin_session("game", [64, 48]).unwrap().initial_coordinates;
    let pictures = pictures.unwrap();
    assert_ne!(pictures.samples, initial, "closed loop moved to the engine's coordinates");
    assert_eq!(pictures.truth.dimensions(), (32, 24));
    for (name, mean) in scores.methods() {
        assert!(mean.psnr.is_finite() && mean.psnr > 0.0 && (-1.0..=1.0).contains(&mean.ssim), "{name}: {scores:?}");
    }
    // 120 samples of a 32x24 frame: interpolation is far better than untrained weights,
    // and the all-pixels ceiling (every pixel point-sampled) better still.
    assert!(scores.linear.psnr > scores.model.psnr, "{scores:?}");
    assert!(scores.ceiling.psnr > scores.linear.psnr, "{scores:?}");
    assert_eq!(strip.columns.len(), 8, "one strip column per moment");
    let picture = strip.picture(2).unwrap();
    assert_eq!((picture.width(), picture.height()), (8 * 64 + 7 * 2, 4 * 48 + 3 * 2));
    assert_eq!(engine.active_sessions(), 1, "evaluation sessions end (one left from the grid check)");
}

#[test]
fn a_flat_clip_is_reproduced_by_the_baselines() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(dir.path());
    let frames = vec![GrayImage::from_pixel(64, 48, image::Luma([77])); 3];
    let (scores, _, _) = evaluate_clip(&engine, "game", &frames, &[], BaselineOptions::default()).unwrap();
    for mean in [&scores.nearest, &scores.linear, &scores.union, &scores.union_scroll, &scores.ceiling] {
        assert_eq!((mean.psnr, mean.mae), (100.0, 0.0), "{scores:?}");
    }
}
