//! SSIM and PSNR against scikit-image itself.
//!
//! Image pairs are generated here (independent noise, a gradient under two noise draws, a
//! smooth pattern against a blurred and shifted copy and against a lightly noisy copy) at 112x112, 64x48, 11x13 (the smallest
//! frame SSIM's 11x11 window allows) and 7x9 (too small), written as PNG files, and scored
//! by `tests/metrics/skimage_reference.py` with `structural_similarity(..., data_range=255,
//! gaussian_weights=True, sigma=1.5, use_sample_covariance=False)` and
//! `peak_signal_noise_ratio(..., data_range=255)`. Set SGAPS_PYTHON to choose the
//! interpreter (default `python3`, the cached venv under scripts/with-env).

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

use image::{GrayImage, Luma};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sgaps_core::metrics::{psnr, ssim, MetricsError};

/// The same formulas in the same order give differences near 1e-16; anything larger than
/// these is a real discrepancy, not rounding.
const SSIM_TOLERANCE: f64 = 1e-6;
const PSNR_RELATIVE_TOLERANCE: f64 = 1e-6;

const SIZES: [(u32, u32); 4] = [(112, 112), (64, 48), (11, 13), (7, 9)];

#[derive(serde::Deserialize)]
struct Skimage {
    width: u32,
    height: u32,
    ssim: Option<f64>,
    psnr: f64,
}

struct Case {
    name: String,
    reference: GrayImage,
    test: GrayImage,
}

fn noise(width: u32, height: u32, rng: &mut ChaCha8Rng) -> GrayImage {
    GrayImage::from_fn(width, height, |_, _| Luma([rng.random()]))
}

/// A diagonal ramp plus uniform noise of +-20 levels.
fn noisy_gradient(width: u32, height: u32, rng: &mut ChaCha8Rng) -> GrayImage {
    GrayImage::from_fn(width, height, |x, y| {
        let ramp = 20.0 + 215.0 * f64::from(x + y) / f64::from(width + height - 2);
        Luma([(ramp + rng.random_range(-20.0..=20.0)).round().clamp(0.0, 255.0) as u8])
    })
}

/// Smooth blobs with a little noise, like a game frame's large shapes.
fn smooth_pattern(width: u32, height: u32, rng: &mut ChaCha8Rng) -> GrayImage {
    GrayImage::from_fn(width, height, |x, y| {
        let (x, y) = (f64::from(x), f64::from(y));
        let blobs = 128.0 + 60.0 * (x / 7.0).sin() * (y / 5.0).cos() + 40.0 * ((x + y) / 11.0).sin();
        Luma([(blobs + rng.random_range(-5.0..=5.0)).round().clamp(0.0, 255.0) as u8])
    })
}

/// A 3x3 box blur of `frame` moved 2 pixels right and 1 down (edges repeat).
fn blurred_shifted(frame: &GrayImage) -> GrayImage {
    let (width, height) = (frame.width() as i64, frame.height() as i64);
    let at =
        |x: i64, y: i64| u32::from(frame.get_pixel(x.clamp(0, width - 1) as u32, y.clamp(0, height - 1) as u32)[0]);
    GrayImage::from_fn(frame.width(), frame.height(), |x, y| {
        let (x, y) = (i64::from(x) - 2, i64::from(y) - 1);
        let sum: u32 =
            (-1..=1).flat_map(|dy| (-1..=1).map(move |dx| (dx, dy))).map(|(dx, dy)| at(x + dx, y + dy)).sum();
        Luma([((sum + 4) / 9) as u8])
    })
}

/// `frame` with uniform noise of +-3 levels: SSIM close to 1.
fn with_light_noise(frame: &GrayImage, rng: &mut ChaCha8Rng) -> GrayImage {
    GrayImage::from_fn(frame.width(), frame.height(), |x, y| {
        let level = i16::from(frame.get_pixel(x, y)[0]) + rng.random_range(-3..=3);
        Luma([level.clamp(0, 255) as u8])
    })
}

fn cases() -> Vec<Case> {
    let mut rng = ChaCha8Rng::seed_from_u64(2004);
    let mut cases = Vec::new();
    for (width, height) in SIZES {
        let mut add = |pattern: &str, reference: GrayImage, test: GrayImage| {
            cases.push(Case { name: format!("{pattern}_{width}x{height}"), reference, test })
        };
        add("noise", noise(width, height, &mut rng), noise(width, height, &mut rng));
        add("gradient", noisy_gradient(width, height, &mut rng), noisy_gradient(width, height, &mut rng));
        let smooth = smooth_pattern(width, height, &mut rng);
        let blurred = blurred_shifted(&smooth);
        add("blurred_shift", smooth.clone(), blurred);
        let lightly_noisy = with_light_noise(&smooth, &mut rng);
        add("light_noise", smooth, lightly_noisy);
    }
    cases
}

/// Writes the pairs as PNG files and returns scikit-image's numbers for each.
fn score_with_skimage(cases: &[Case], dir: &Path) -> HashMap<String, Skimage> {
    let mut listing = Vec::new();
    for case in cases {
        let (reference, test) = (format!("{}_reference.png", case.name), format!("{}_test.png", case.name));
        case.reference.save(dir.join(&reference)).unwrap();
        case.test.save(dir.join(&test)).unwrap();
        listing.push(serde_json::json!({ "name": case.name, "reference": reference, "test": test }));
    }
    std::fs::write(dir.join("cases.json"), serde_json::to_string(&listing).unwrap()).unwrap();

    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/metrics/skimage_reference.py");
    let python = std::env::var("SGAPS_PYTHON").unwrap_or_else(|_| "python3".into());
    let output = Command::new(&python)
        .arg(&script)
        .arg(dir)
        .output()
        .unwrap_or_else(|error| panic!("cannot run {python} (make setup installs scikit-image): {error}"));
    assert!(output.status.success(), "{} failed: {}", script.display(), String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).expect("the script prints JSON")
}

#[test]
fn ssim_and_psnr_match_scikit_image() {
    let dir = tempfile::tempdir().unwrap();
    let cases = cases();
    let expected = score_with_skimage(&cases, dir.path());
    assert_eq!(expected.len(), cases.len());

    let (mut worst_ssim, mut worst_psnr) = (0.0f64, 0.0f64);
    for case in &cases {
        let theirs = &expected[&case.name];
        assert_eq!((theirs.width, theirs.height), case.reference.dimensions(), "{}: read back wrong", case.name);

        match (ssim(&case.reference, &case.test), theirs.ssim) {
            (Ok(ours), Some(theirs)) => {
                let difference = (ours - theirs).abs();
                println!("{}: SSIM {ours:.6} vs {theirs:.6} (diff {difference:.1e})", case.name);
                assert!(difference < SSIM_TOLERANCE, "{}: SSIM {ours} vs scikit-image {theirs}", case.name);
                worst_ssim = worst_ssim.max(difference);
            }
            (Err(MetricsError::TooSmallForSsim { .. }), None) => println!("{}: too small for SSIM in both", case.name),
            (ours, theirs) => panic!("{}: SSIM {ours:?} vs scikit-image {theirs:?}", case.name),
        }

        let ours = psnr(&case.reference, &case.test).unwrap();
        let relative = ((ours - theirs.psnr) / theirs.psnr).abs();
        println!("{}: PSNR {ours:.6} vs {:.6} (relative diff {relative:.1e})", case.name, theirs.psnr);
        assert!(relative < PSNR_RELATIVE_TOLERANCE, "{}: PSNR {ours} vs scikit-image {}", case.name, theirs.psnr);
        worst_psnr = worst_psnr.max(relative);
    }
    println!("largest SSIM difference {worst_ssim:.1e}, largest relative PSNR difference {worst_psnr:.1e}");
}
