//! The classical yardstick for C callers, and the measure to hold a model to it:
//! linear interpolation of one frame's own samples (over their Delaunay triangulation,
//! as scipy's `griddata`), and PSNR against a ground truth resized as the engine
//! resizes it for `ground_truth_psnr`.

use image::GrayImage;
use sgaps_core::baselines::linear_delaunay;
use sgaps_core::metrics::{psnr, resized_to};

use crate::error::{FfiError, SgapsStatus};
use crate::panic::status_boundary;
use crate::pointers::{buffer, copy_into, output, slice};

/// Interpolates `pixel_count` samples (`pixels`: (u, v, value) float triples, as in
/// SgapsFrame) linearly into a `width` x `height` picture written into `out_image`
/// (width * height grey levels, row-major, top row first; `capacity` bytes). Outside
/// the samples' convex hull a pixel takes the nearest sample's value.
///
/// Ownership: `pixels` is only read during the call; `out_image` belongs to the caller.
/// Thread safety: any thread.
///
/// # Safety
/// `pixels` must be readable for 3 * `pixel_count` floats and `out_image` writable for
/// `capacity` bytes.
#[no_mangle]
pub unsafe extern "C" fn sgaps_linear_interpolation(
    pixels: *const f32,
    pixel_count: usize,
    width: u32,
    height: u32,
    out_image: *mut u8,
    capacity: usize,
) -> SgapsStatus {
    status_boundary("sgaps_linear_interpolation", || {
        let float_count = pixel_count.checked_mul(3).ok_or_else(|| FfiError::invalid("pixel_count", "overflows"))?;
        let pixels = unsafe { slice(pixels, float_count, "pixels") }?;
        let target = unsafe { buffer(out_image, capacity, "out_image") }?
            .ok_or_else(|| FfiError::invalid("out_image", "is NULL: nowhere to write the picture"))?;
        check_size(width, height, "width/height")?;
        if pixel_count == 0 {
            return Err(FfiError::invalid("pixel_count", "is 0: nothing to interpolate"));
        }
        let samples: Vec<[f32; 3]> = pixels.chunks_exact(3).map(|p| [p[0], p[1], p[2]]).collect();
        copy_into(linear_delaunay(&samples, width, height).as_raw(), target, "out_image")
    })
}

/// Writes into `*out_psnr` the PSNR (dB, infinite when identical) of `image` (`width` x
/// `height` grey levels) against `reference` (`reference_width` x `reference_height`,
/// e.g. the whole screen), resized to width x height exactly as sgaps_session_submit
/// does for `ground_truth_psnr`: a reconstruction and a linear interpolation of the same
/// samples measured this way compare fairly.
///
/// Ownership: everything is only read during the call.
/// Thread safety: any thread.
///
/// # Safety
/// `image` must be readable for width * height bytes, `reference` for reference_width *
/// reference_height bytes, and `out_psnr` writable.
#[no_mangle]
pub unsafe extern "C" fn sgaps_psnr(
    image: *const u8,
    width: u32,
    height: u32,
    reference: *const u8,
    reference_width: u32,
    reference_height: u32,
    out_psnr: *mut f64,
) -> SgapsStatus {
    status_boundary("sgaps_psnr", || {
        let mut out_psnr = unsafe { output(out_psnr, "out_psnr") }?;
        let image = unsafe { gray_image(image, width, height, "image") }?;
        let reference = unsafe { gray_image(reference, reference_width, reference_height, "reference") }?;
        let value = psnr(&resized_to(&reference, width, height), &image)
            .map_err(|e| FfiError::new(SgapsStatus::InvalidArgument, e.to_string()))?;
        out_psnr.write(value);
        Ok(())
    })
}

fn check_size(width: u32, height: u32, name: &str) -> Result<(), FfiError> {
    if width == 0 || height == 0 {
        return Err(FfiError::invalid(name, format!("is {width}x{height}, an empty image")));
    }
    Ok(())
}

/// # Safety
/// `pixels` must be readable for width * height bytes.
unsafe fn gray_image(pixels: *const u8, width: u32, height: u32, name: &str) -> Result<GrayImage, FfiError> {
    check_size(width, height, &format!("{name} width/height"))?;
    let len = (width as usize).checked_mul(height as usize).ok_or_else(|| FfiError::invalid(name, "is too large"))?;
    let pixels = unsafe { slice(pixels, len, name) }?;
    Ok(GrayImage::from_raw(width, height, pixels.to_vec()).expect("exactly width * height bytes"))
}
