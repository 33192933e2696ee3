//! The classical yardstick for C callers: linear interpolation of one frame's own
//! samples (over their Delaunay triangulation, as scipy's `griddata`), and its PSNR
//! measured exactly as the engine measures a reconstruction's, so a program can print
//! the model's quality next to what interpolation of the same samples gives.

use sgaps_core::baselines::linear_delaunay;
use sgaps_core::metrics::{psnr, resized_to};

use crate::error::{FfiError, SgapsStatus};
use crate::frame::{frame_from_c, SgapsFrame};
use crate::panic::status_boundary;
use crate::pointers::{buffer, copy_into, output, reference};

/// Interpolates `frame`'s samples linearly into a `width` x `height` picture (pass the
/// reconstruction's size): written into `out_image` (width * height grey levels,
/// row-major, top row first) unless it is NULL with `capacity` 0. `*out_psnr` receives
/// the picture's PSNR (dB) against the frame's ground truth resized to width x height,
/// as sgaps_session_submit computes `ground_truth_psnr`; NaN when the frame carries
/// none. Outside the samples' convex hull a pixel takes the nearest sample's value.
///
/// Ownership: everything is only read during the call; `out_image` belongs to the caller.
/// Thread safety: any thread.
///
/// # Safety
/// `frame` must point to a valid SgapsFrame whose pointers are valid for their lengths,
/// `out_image` NULL or writable for `capacity` bytes, and `out_psnr` writable.
#[no_mangle]
pub unsafe extern "C" fn sgaps_linear_interpolation(
    frame: *const SgapsFrame,
    width: u32,
    height: u32,
    out_image: *mut u8,
    capacity: usize,
    out_psnr: *mut f64,
) -> SgapsStatus {
    status_boundary("sgaps_linear_interpolation", || {
        let frame = unsafe { reference(frame, "frame") }?;
        let frame = unsafe { frame_from_c(frame, "frame") }?;
        let target = unsafe { buffer(out_image, capacity, "out_image") }?;
        let mut out_psnr = unsafe { output(out_psnr, "out_psnr") }?;
        if width == 0 || height == 0 {
            return Err(FfiError::invalid("width/height", format!("is {width}x{height}, an empty image")));
        }
        if frame.pixels.is_empty() {
            return Err(FfiError::invalid("frame.pixel_count", "is 0: nothing to interpolate"));
        }
        let samples: Vec<[f32; 3]> = frame.pixels.iter().map(|p| [p.u, p.v, p.value]).collect();
        let image = linear_delaunay(&samples, width, height);
        let quality = match &frame.ground_truth {
            Some(truth) => psnr(&resized_to(truth, width, height), &image)
                .map_err(|e| FfiError::new(SgapsStatus::InvalidArgument, format!("frame.ground_truth: {e}")))?,
            None => f64::NAN,
        };
        if let Some(target) = target {
            copy_into(image.as_raw(), target, "out_image")?;
        }
        out_psnr.write(quality);
        Ok(())
    })
}
