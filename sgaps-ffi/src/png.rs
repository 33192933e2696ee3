//! PNG pictures of results for C callers, who have no image library at hand:
//! a grey frame as is, an importance map in viridis (sgaps_core::visualize).

use std::ffi::c_char;

use image::GrayImage;
use sgaps_core::pipeline::importance::ImportanceMap;
use sgaps_core::visualize::importance_heatmap;

use crate::error::{FfiError, SgapsStatus};
use crate::panic::status_boundary;
use crate::pointers::{slice, utf8};

/// Writes `width` x `height` grey levels (row-major, top row first; `len` must equal
/// width * height) as an 8-bit greyscale PNG at `path`, replacing any file there.
///
/// Ownership: everything is only read during the call.
/// Thread safety: any thread.
///
/// # Safety
/// `path` must be NUL-terminated and `pixels` readable for `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn sgaps_write_png_gray(
    path: *const c_char,
    pixels: *const u8,
    len: usize,
    width: u32,
    height: u32,
) -> SgapsStatus {
    status_boundary("sgaps_write_png_gray", || {
        let path = unsafe { utf8(path, "path") }?;
        let pixels = unsafe { slice(pixels, len, "pixels") }?;
        check_size(len, width, height)?;
        let image = GrayImage::from_raw(width, height, pixels.to_vec()).expect("size checked");
        image.save(path).map_err(|e| FfiError::new(SgapsStatus::IoError, format!("cannot write {path}: {e}")))
    })
}

/// Writes an importance map (`len` = width * height values in [0, 1], row-major) as an
/// RGB PNG in the viridis colormap (dark purple = 0, yellow = 1) at `path`.
///
/// Ownership: everything is only read during the call.
/// Thread safety: any thread.
///
/// # Safety
/// `path` must be NUL-terminated and `values` readable for `len` floats.
#[no_mangle]
pub unsafe extern "C" fn sgaps_write_importance_png(
    path: *const c_char,
    values: *const f32,
    len: usize,
    width: u32,
    height: u32,
) -> SgapsStatus {
    status_boundary("sgaps_write_importance_png", || {
        let path = unsafe { utf8(path, "path") }?;
        let values = unsafe { slice(values, len, "values") }?;
        check_size(len, width, height)?;
        let map = ImportanceMap { width: width as usize, height: height as usize, values: values.to_vec() };
        let heatmap = importance_heatmap(&map).map_err(|e| FfiError::invalid("values", e))?;
        heatmap.save(path).map_err(|e| FfiError::new(SgapsStatus::IoError, format!("cannot write {path}: {e}")))
    })
}

fn check_size(len: usize, width: u32, height: u32) -> Result<(), FfiError> {
    if width == 0 || height == 0 {
        return Err(FfiError::invalid("width/height", format!("is {width}x{height}, an empty image")));
    }
    if (width as usize).checked_mul(height as usize) != Some(len) {
        return Err(FfiError::invalid("len", format!("is {len}, but {width}x{height} needs {}", width as u64 * height as u64)));
    }
    Ok(())
}
