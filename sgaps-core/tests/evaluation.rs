//! Closed- and open-loop evaluation on a synthetic clip with ground truth.

use image::GrayImage;
use sgaps_core::evaluation::{evaluate_clip, Loop};
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
fn closed_loop_follows_the_engine_and_open_loop_keeps_the_grid() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(dir.path());
    let frames = clip(10);
    let (closed, closed_pictures) = evaluate_clip(&engine, "game", &frames, &[], Loop::Closed).unwrap();
    let (open, open_pictures) = evaluate_clip(&engine, "game", &frames, &[], Loop::Open).unwrap();
    assert_eq!((closed.frames, open.frames), (10, 10));
    let initial = engine.begin_session("game", [64, 48]).unwrap().initial_coordinates;
    assert_eq!(open_pictures.unwrap().samples, initial, "open loop keeps the grid");
    let closed_pictures = closed_pictures.unwrap();
    assert_ne!(closed_pictures.samples, initial, "closed loop moved to the engine's coordinates");
    assert_eq!(closed_pictures.truth.dimensions(), (32, 24));
    for scores in [&closed, &open] {
        for mean in [&scores.model, &scores.nearest, &scores.linear] {
            assert!(mean.psnr.is_finite() && mean.psnr > 0.0 && (-1.0..=1.0).contains(&mean.ssim), "{scores:?}");
        }
        // 120 samples of a 32x24 frame: interpolation is far better than untrained weights.
        assert!(scores.linear.psnr > scores.model.psnr, "{scores:?}");
    }
    assert_eq!(engine.active_sessions(), 1, "evaluation sessions end (one left from the grid check)");
}

#[test]
fn a_flat_clip_is_reproduced_by_the_baselines() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(dir.path());
    let frames = vec![GrayImage::from_pixel(64, 48, image::Luma([77])); 3];
    let (scores, _) = evaluate_clip(&engine, "game", &frames, &[], Loop::Open).unwrap();
    assert_eq!((scores.nearest.psnr, scores.linear.psnr), (100.0, 100.0));
    assert_eq!(scores.linear.mae, 0.0);
}
