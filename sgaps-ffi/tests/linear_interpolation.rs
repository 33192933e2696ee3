//! sgaps_linear_interpolation and sgaps_psnr: the classical yardstick and the measure,
//! called as C calls them.

use std::ffi::CStr;
use std::ptr::{null, null_mut};

use sgaps::*;

const W: u32 = 40;
const H: u32 = 30;

/// A horizontal ramp, which linear interpolation reproduces from a few samples.
fn ramp() -> Vec<u8> {
    (0..H).flat_map(|_| (0..W).map(|x| (x * 255 / (W - 1)) as u8)).collect()
}

/// Samples of `truth` at pixel centres on a grid with the corners included.
fn samples(truth: &[u8]) -> Vec<f32> {
    let mut pixels = Vec::new();
    for y in (0..H).step_by(3).chain([H - 1]) {
        for x in (0..W).step_by(3).chain([W - 1]) {
            let value = truth[(y * W + x) as usize] as f32;
            pixels.extend([(x as f32 + 0.5) / W as f32, (y as f32 + 0.5) / H as f32, value]);
        }
    }
    pixels
}

fn last_error() -> String {
    unsafe { CStr::from_ptr(sgaps_last_error()) }.to_str().unwrap().to_string()
}

fn interpolate(pixels: &[f32], width: u32, height: u32) -> Vec<u8> {
    let mut image = vec![0u8; (width * height) as usize];
    let status =
        unsafe { sgaps_linear_interpolation(pixels.as_ptr(), pixels.len() / 3, width, height, image.as_mut_ptr(), image.len()) };
    assert_eq!(status, SgapsStatus::Ok, "{}", last_error());
    image
}

fn psnr(image: &[u8], width: u32, height: u32, reference: &[u8]) -> f64 {
    let mut value = 0.0;
    let status = unsafe { sgaps_psnr(image.as_ptr(), width, height, reference.as_ptr(), W, H, &mut value) };
    assert_eq!(status, SgapsStatus::Ok, "{}", last_error());
    value
}

#[test]
fn a_ramp_is_reproduced_and_measured_against_the_ground_truth() {
    let truth = ramp();
    let image = interpolate(&samples(&truth), W, H);
    let worst = image.iter().zip(&truth).map(|(a, b)| a.abs_diff(*b)).max().unwrap();
    assert!(worst <= 1, "off by {worst} grey levels");
    assert!(psnr(&image, W, H, &truth) > 45.0);
    assert_eq!(psnr(&truth, W, H, &truth), f64::INFINITY);
    // At half the size: against the ground truth resized, as the engine measures.
    let half = interpolate(&samples(&truth), W / 2, H / 2);
    assert!(psnr(&half, W / 2, H / 2, &truth) > 30.0);
    // A flat grey picture is far worse than the interpolation.
    assert!(psnr(&vec![128u8; (W * H) as usize], W, H, &truth) < 12.0);
}

#[test]
fn bad_arguments_are_named() {
    let truth = ramp();
    let pixels = samples(&truth);
    let small = [0u8; 10];
    let image = vec![0u8; (W * H) as usize];
    let n = pixels.len() / 3;
    let cases: [(&dyn Fn() -> SgapsStatus, &str); 7] = [
        (&|| unsafe { sgaps_linear_interpolation(pixels.as_ptr(), n, 0, H, image.as_ptr().cast_mut(), image.len()) }, "`width/height` is 0x30"),
        (&|| unsafe { sgaps_linear_interpolation(pixels.as_ptr(), 0, W, H, image.as_ptr().cast_mut(), image.len()) }, "`pixel_count` is 0"),
        (&|| unsafe { sgaps_linear_interpolation(pixels.as_ptr(), n, W, H, small.as_ptr().cast_mut(), small.len()) }, "out_image"),
        (&|| unsafe { sgaps_linear_interpolation(null(), n, W, H, image.as_ptr().cast_mut(), image.len()) }, "pixels"),
        (&|| unsafe { sgaps_psnr(image.as_ptr(), W, H, null(), W, H, &mut 0.0) }, "reference"),
        (&|| unsafe { sgaps_psnr(image.as_ptr(), W, H, truth.as_ptr(), 0, H, &mut 0.0) }, "`reference width/height` is 0x30"),
        (&|| unsafe { sgaps_psnr(image.as_ptr(), W, H, truth.as_ptr(), W, H, null_mut()) }, "out_psnr"),
    ];
    for (call, expected) in cases {
        assert_ne!(call(), SgapsStatus::Ok, "{expected}");
        assert!(last_error().contains(expected), "{expected}: {}", last_error());
    }
}
