//! sgaps_linear_interpolation: the classical yardstick, called as C calls it.

use std::ffi::CStr;
use std::ptr::null_mut;

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

fn frame(pixels: &[f32], truth: Option<&[u8]>) -> SgapsFrame {
    let mut frame = sgaps_frame_default();
    frame.pixels = pixels.as_ptr();
    frame.pixel_count = pixels.len() / 3;
    if let Some(truth) = truth {
        frame.ground_truth = truth.as_ptr();
        frame.ground_truth_width = W;
        frame.ground_truth_height = H;
    }
    frame
}

fn last_error() -> String {
    unsafe { CStr::from_ptr(sgaps_last_error()) }.to_str().unwrap().to_string()
}

#[test]
fn a_ramp_is_reproduced_and_measured_against_the_ground_truth() {
    let truth = ramp();
    let pixels = samples(&truth);
    let mut image = vec![0u8; (W * H) as usize];
    let mut psnr = 0.0;
    let f = frame(&pixels, Some(&truth));
    let status = unsafe { sgaps_linear_interpolation(&f, W, H, image.as_mut_ptr(), image.len(), &mut psnr) };
    assert_eq!(status, SgapsStatus::Ok, "{}", last_error());
    let worst = image.iter().zip(&truth).map(|(a, b)| a.abs_diff(*b)).max().unwrap();
    assert!(worst <= 1, "off by {worst} grey levels");
    assert!(psnr > 45.0, "{psnr} dB");

    // At half the size: measured against the ground truth resized, as the engine does.
    let mut half_psnr = 0.0;
    let status = unsafe { sgaps_linear_interpolation(&f, W / 2, H / 2, null_mut(), 0, &mut half_psnr) };
    assert_eq!(status, SgapsStatus::Ok, "{}", last_error());
    assert!(half_psnr > 30.0, "{half_psnr} dB");

    // Without ground truth: the picture, and NaN.
    let status = unsafe { sgaps_linear_interpolation(&frame(&pixels, None), W, H, null_mut(), 0, &mut psnr) };
    assert_eq!(status, SgapsStatus::Ok);
    assert!(psnr.is_nan());
}

#[test]
fn bad_arguments_are_named() {
    let truth = ramp();
    let pixels = samples(&truth);
    let mut psnr = 0.0;
    let mut small = vec![0u8; 10];
    let cases: [(SgapsFrame, u32, *mut u8, usize, &str); 3] = [
        (frame(&pixels, Some(&truth)), 0, null_mut(), 0, "`width/height` is 0x30"),
        (frame(&[], Some(&truth)), W, null_mut(), 0, "`frame.pixel_count` is 0"),
        (frame(&pixels, None), W, small.as_mut_ptr(), small.len(), "out_image"),
    ];
    for (f, width, out, capacity, expected) in cases {
        let status = unsafe { sgaps_linear_interpolation(&f, width, H, out, capacity, &mut psnr) };
        assert_ne!(status, SgapsStatus::Ok);
        assert!(last_error().contains(expected), "{}", last_error());
    }
}
