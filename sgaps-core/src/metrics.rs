//! Frame quality numbers: PSNR, SSIM, mean and peak absolute error of grayscale frames.
//!
//! [`ssim`] reproduces scikit-image's `structural_similarity(reference, test,
//! data_range=255, gaussian_weights=True, sigma=1.5, use_sample_covariance=False)` (Wang et
//! al. 2004), so our numbers compare with the Python seed's; `tests/ssim_vs_skimage.rs`
//! checks both SSIM and PSNR against scikit-image itself. A flat grey frame already scores
//! about 17 dB PSNR on game frames, so report SSIM next to PSNR.

use image::GrayImage;

/// Grey levels span 0..=255.
const DATA_RANGE: f64 = 255.0;

/// SSIM's Gaussian window: sigma 1.5 truncated at 3.5 sigma, with the radius rounded as
/// scipy.ndimage does (`int(3.5 * 1.5 + 0.5)`), which gives Wang et al.'s 11x11 window.
const SSIM_SIGMA: f64 = 1.5;
const SSIM_RADIUS: usize = 5;
const SSIM_WINDOW: usize = 2 * SSIM_RADIUS + 1;

/// SSIM's stabilising constants, as fractions of the data range (Wang et al., scikit-image).
const SSIM_K1: f64 = 0.01;
const SSIM_K2: f64 = 0.03;

/// The smallest width and height [`ssim`] accepts: one whole Gaussian window, the limit
/// scikit-image enforces for these arguments.
pub const SSIM_MIN_SIDE: u32 = SSIM_WINDOW as u32;

/// Why two frames or pixel lists cannot be compared.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MetricsError {
    #[error("frames differ in size: {}x{} vs {}x{}", .reference.0, .reference.1, .test.0, .test.1)]
    SizeMismatch { reference: (u32, u32), test: (u32, u32) },
    #[error("pixel lists differ in length: {reference} vs {test}")]
    LengthMismatch { reference: usize, test: usize },
    #[error("there are no pixels to compare")]
    Empty,
    #[error("SSIM needs frames of at least {min}x{min} pixels, got {width}x{height}", min = SSIM_MIN_SIDE)]
    TooSmallForSsim { width: u32, height: u32 },
}

/// The quality of a reconstructed frame against the original.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FrameQuality {
    /// Peak signal-to-noise ratio in dB; infinite for identical frames.
    pub psnr: f64,
    /// Mean structural similarity, at most 1 (identical frames).
    pub ssim: f64,
    /// Mean absolute error in grey levels.
    pub mae: f64,
    /// The largest absolute error of any pixel, in grey levels.
    pub peak_error: u8,
}

impl FrameQuality {
    /// All four numbers for `test` against `reference`. Fails like [`ssim`]: the frames
    /// must have the same size, at least [`SSIM_MIN_SIDE`] pixels each way.
    pub fn between(reference: &GrayImage, test: &GrayImage) -> Result<Self, MetricsError> {
        Ok(Self {
            psnr: psnr(reference, test)?,
            ssim: ssim(reference, test)?,
            mae: mae(reference, test)?,
            peak_error: peak_error(reference, test)?,
        })
    }
}

/// Peak signal-to-noise ratio in dB for a data range of 255, as scikit-image's
/// `peak_signal_noise_ratio(reference, test, data_range=255)`: `f64::INFINITY` when the
/// frames are identical (zero error).
pub fn psnr(reference: &GrayImage, test: &GrayImage) -> Result<f64, MetricsError> {
    let (reference, test) = grey_levels(reference, test)?;
    psnr_at(reference, test)
}

/// PSNR (dB, data range 255) over matching lists of grey levels in 0..=255, such as the
/// pixels a client just sent and the reconstruction at those positions. `f64::INFINITY`
/// when every value matches.
pub fn psnr_at<T: Copy + Into<f64>>(reference: &[T], test: &[T]) -> Result<f64, MetricsError> {
    if reference.len() != test.len() {
        return Err(MetricsError::LengthMismatch { reference: reference.len(), test: test.len() });
    }
    if reference.is_empty() {
        return Err(MetricsError::Empty);
    }
    let squared_error: f64 = reference
        .iter()
        .zip(test)
        .map(|(&r, &t)| {
            let (r, t): (f64, f64) = (r.into(), t.into());
            (r - t) * (r - t)
        })
        .sum();
    let mean_squared_error = squared_error / reference.len() as f64;
    // A zero error divides to +inf, whose log is +inf: the conventional PSNR of a perfect copy.
    Ok(10.0 * (DATA_RANGE * DATA_RANGE / mean_squared_error).log10())
}

/// Mean absolute error in grey levels.
pub fn mae(reference: &GrayImage, test: &GrayImage) -> Result<f64, MetricsError> {
    let (reference, test) = grey_levels(reference, test)?;
    let total: u64 = reference.iter().zip(test).map(|(&r, &t)| u64::from(r.abs_diff(t))).sum();
    Ok(total as f64 / reference.len() as f64)
}

/// The largest absolute difference of any pixel, in grey levels.
pub fn peak_error(reference: &GrayImage, test: &GrayImage) -> Result<u8, MetricsError> {
    let (reference, test) = grey_levels(reference, test)?;
    Ok(reference.iter().zip(test).map(|(&r, &t)| r.abs_diff(t)).max().unwrap_or(0))
}

/// Mean structural similarity, exactly as scikit-image's `structural_similarity(reference,
/// test, data_range=255, gaussian_weights=True, sigma=1.5, use_sample_covariance=False)`:
/// local means, variances and covariance under an 11x11 Gaussian window (sigma 1.5),
/// K1 = 0.01, K2 = 0.03, averaged over the frame less a 5-pixel border.
pub fn ssim(reference: &GrayImage, test: &GrayImage) -> Result<f64, MetricsError> {
    let (width, height) = reference.dimensions();
    let (reference, test) = grey_levels_of_size(reference, test)?;
    if width < SSIM_MIN_SIDE || height < SSIM_MIN_SIDE {
        return Err(MetricsError::TooSmallForSsim { width, height });
    }
    let (width, height) = (width as usize, height as usize);
    let x: Vec<f64> = reference.iter().map(|&v| f64::from(v)).collect();
    let y: Vec<f64> = test.iter().map(|&v| f64::from(v)).collect();
    let product = |a: &[f64], b: &[f64]| -> Vec<f64> { a.iter().zip(b).map(|(p, q)| p * q).collect() };

    let window = gaussian_window();
    let local_mean = |plane: &[f64]| gaussian_filter_interior(plane, width, height, &window);
    let mean_x = local_mean(&x);
    let mean_y = local_mean(&y);
    let mean_xx = local_mean(&product(&x, &x));
    let mean_yy = local_mean(&product(&y, &y));
    let mean_xy = local_mean(&product(&x, &y));

    let c1 = (SSIM_K1 * DATA_RANGE).powi(2);
    let c2 = (SSIM_K2 * DATA_RANGE).powi(2);
    let total: f64 = (0..mean_x.len())
        .map(|i| {
            let (ux, uy) = (mean_x[i], mean_y[i]);
            // Population (co)variances, as use_sample_covariance=False asks.
            let vx = mean_xx[i] - ux * ux;
            let vy = mean_yy[i] - uy * uy;
            let vxy = mean_xy[i] - ux * uy;
            ((2.0 * ux * uy + c1) * (2.0 * vxy + c2)) / ((ux * ux + uy * uy + c1) * (vx + vy + c2))
        })
        .sum();
    Ok(total / mean_x.len() as f64)
}

/// The raw grey levels of two frames of the same, non-zero size.
fn grey_levels<'a>(reference: &'a GrayImage, test: &'a GrayImage) -> Result<(&'a [u8], &'a [u8]), MetricsError> {
    let levels = grey_levels_of_size(reference, test)?;
    if levels.0.is_empty() {
        return Err(MetricsError::Empty);
    }
    Ok(levels)
}

/// The raw grey levels of two frames after checking that their sizes match.
fn grey_levels_of_size<'a>(
    reference: &'a GrayImage,
    test: &'a GrayImage,
) -> Result<(&'a [u8], &'a [u8]), MetricsError> {
    if reference.dimensions() != test.dimensions() {
        return Err(MetricsError::SizeMismatch { reference: reference.dimensions(), test: test.dimensions() });
    }
    let (width, height) = reference.dimensions();
    // An ImageBuffer's container may be longer than its pixels; it is never shorter.
    let len = width as usize * height as usize;
    Ok((&reference.as_raw()[..len], &test.as_raw()[..len]))
}

/// scipy.ndimage's 1-D Gaussian kernel for SSIM's sigma and radius, normalised to sum 1.
fn gaussian_window() -> [f64; SSIM_WINDOW] {
    let mut weights = [0.0; SSIM_WINDOW];
    for (i, weight) in weights.iter_mut().enumerate() {
        let offset = i as f64 - SSIM_RADIUS as f64;
        *weight = (-0.5 / (SSIM_SIGMA * SSIM_SIGMA) * offset * offset).exp();
    }
    let sum: f64 = weights.iter().sum();
    weights.map(|weight| weight / sum)
}

/// Separable Gaussian filtering (rows first, then columns, as scipy.ndimage), evaluated only
/// where the window lies wholly inside the plane: an output of (width - 10) x (height - 10).
///
/// scikit-image filters with mode 'reflect' and then drops a border as wide as the window's
/// radius before averaging, so none of its reflected samples reach the mean: filtering just
/// the interior gives the same numbers with no boundary handling.
fn gaussian_filter_interior(plane: &[f64], width: usize, height: usize, window: &[f64; SSIM_WINDOW]) -> Vec<f64> {
    let inner_height = height - 2 * SSIM_RADIUS;
    let inner_width = width - 2 * SSIM_RADIUS;
    // Along the vertical axis (numpy axis 0) first: every column, interior rows only.
    let mut vertical = vec![0.0; inner_height * width];
    for row in 0..inner_height {
        for col in 0..width {
            vertical[row * width + col] =
                window.iter().enumerate().map(|(k, w)| w * plane[(row + k) * width + col]).sum();
        }
    }
    let mut filtered = vec![0.0; inner_height * inner_width];
    for row in 0..inner_height {
        let line = &vertical[row * width..(row + 1) * width];
        for col in 0..inner_width {
            filtered[row * inner_width + col] = window.iter().zip(&line[col..]).map(|(w, v)| w * v).sum();
        }
    }
    filtered
}

/// `image` at `width` x `height` (triangle filter), so a ground-truth frame can be
/// compared with a reconstruction of another resolution; a copy when sizes agree.
pub fn resized_to(image: &GrayImage, width: u32, height: u32) -> GrayImage {
    if image.dimensions() == (width, height) {
        image.clone()
    } else {
        image::imageops::resize(image, width, height, image::imageops::FilterType::Triangle)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn noise(width: u32, height: u32, seed: u64) -> GrayImage {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        GrayImage::from_fn(width, height, |_, _| image::Luma([rng.random()]))
    }

    fn offset(frame: &GrayImage, delta: i16) -> GrayImage {
        GrayImage::from_fn(frame.width(), frame.height(), |x, y| {
            image::Luma([(i16::from(frame.get_pixel(x, y)[0]) + delta).clamp(0, 255) as u8])
        })
    }

    #[test]
    fn identical_frames_are_perfect() {
        let frame = noise(16, 12, 1);
        let quality = FrameQuality::between(&frame, &frame).unwrap();
        assert_eq!(quality.psnr, f64::INFINITY);
        assert!((quality.ssim - 1.0).abs() < 1e-12, "{}", quality.ssim);
        assert_eq!(quality.mae, 0.0);
        assert_eq!(quality.peak_error, 0);
    }

    #[test]
    fn uniform_error_gives_textbook_numbers() {
        let reference = GrayImage::from_pixel(12, 12, image::Luma([100]));
        let test = offset(&reference, 5);
        // MSE 25: 10 log10(255^2 / 25).
        let expected_psnr = 10.0 * (255.0f64 * 255.0 / 25.0).log10();
        assert!((psnr(&reference, &test).unwrap() - expected_psnr).abs() < 1e-12);
        assert_eq!(mae(&reference, &test).unwrap(), 5.0);
        assert_eq!(peak_error(&reference, &test).unwrap(), 5);
    }

    #[test]
    fn mae_and_peak_error_of_a_mixed_difference() {
        let reference = GrayImage::from_raw(2, 2, vec![0, 10, 200, 255]).unwrap();
        let test = GrayImage::from_raw(2, 2, vec![4, 10, 190, 0]).unwrap();
        assert_eq!(mae(&reference, &test).unwrap(), (4.0 + 0.0 + 10.0 + 255.0) / 4.0);
        assert_eq!(peak_error(&reference, &test).unwrap(), 255);
    }

    #[test]
    fn psnr_at_agrees_for_bytes_and_floats_and_with_frame_psnr() {
        let reference = noise(8, 8, 2);
        let test = noise(8, 8, 3);
        let from_bytes = psnr_at(reference.as_raw(), test.as_raw()).unwrap();
        let as_floats = |frame: &GrayImage| frame.as_raw().iter().map(|&v| f32::from(v)).collect::<Vec<_>>();
        let from_floats = psnr_at(&as_floats(&reference), &as_floats(&test)).unwrap();
        assert_eq!(from_bytes, from_floats);
        assert_eq!(from_bytes, psnr(&reference, &test).unwrap());
        assert_eq!(psnr_at(&[7.5f32], &[7.5]).unwrap(), f64::INFINITY);
    }

    #[test]
    fn psnr_at_rejects_mismatched_or_empty_lists() {
        assert_eq!(psnr_at(&[1u8, 2], &[1]), Err(MetricsError::LengthMismatch { reference: 2, test: 1 }));
        assert_eq!(psnr_at::<u8>(&[], &[]), Err(MetricsError::Empty));
    }

    #[test]
    fn frames_of_different_sizes_are_rejected() {
        let expected = MetricsError::SizeMismatch { reference: (12, 12), test: (12, 13) };
        let (a, b) = (noise(12, 12, 4), noise(12, 13, 5));
        assert_eq!(psnr(&a, &b), Err(expected.clone()));
        assert_eq!(mae(&a, &b), Err(expected.clone()));
        assert_eq!(peak_error(&a, &b), Err(expected.clone()));
        assert_eq!(ssim(&a, &b), Err(expected.clone()));
        assert_eq!(FrameQuality::between(&a, &b), Err(expected));
    }

    #[test]
    fn empty_frames_are_rejected() {
        let empty = GrayImage::new(0, 0);
        assert_eq!(psnr(&empty, &empty), Err(MetricsError::Empty));
        assert_eq!(mae(&empty, &empty), Err(MetricsError::Empty));
        assert_eq!(peak_error(&empty, &empty), Err(MetricsError::Empty));
        assert_eq!(ssim(&empty, &empty), Err(MetricsError::TooSmallForSsim { width: 0, height: 0 }));
    }

    #[test]
    fn ssim_needs_one_whole_window() {
        let narrow = noise(10, 40, 6);
        assert_eq!(ssim(&narrow, &narrow), Err(MetricsError::TooSmallForSsim { width: 10, height: 40 }));
        let smallest = noise(SSIM_MIN_SIDE, SSIM_MIN_SIDE, 7);
        assert!((ssim(&smallest, &smallest).unwrap() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn ssim_is_symmetric_and_ranks_degradations() {
        let reference = noise(32, 24, 8);
        let slightly_off = offset(&reference, 3);
        let unrelated = noise(32, 24, 9);
        let inverted = GrayImage::from_fn(32, 24, |x, y| image::Luma([255 - reference.get_pixel(x, y)[0]]));
        let close = ssim(&reference, &slightly_off).unwrap();
        let far = ssim(&reference, &unrelated).unwrap();
        assert!(close > 0.99 && close < 1.0, "{close}");
        assert!(far.abs() < 0.2, "{far}");
        assert!(ssim(&reference, &inverted).unwrap() < -0.9);
        assert_eq!(far, ssim(&unrelated, &reference).unwrap());
    }

    #[test]
    fn gaussian_window_is_normalised_and_symmetric() {
        let window = gaussian_window();
        assert!((window.iter().sum::<f64>() - 1.0).abs() < 1e-15);
        for k in 0..SSIM_RADIUS {
            assert_eq!(window[k], window[SSIM_WINDOW - 1 - k]);
            assert!(window[k] < window[k + 1]);
        }
    }
}
