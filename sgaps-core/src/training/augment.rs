//! Per-clip augmentation for the temporal family (`training.augment`): mirrored screens
//! and remapped intensities, so the network meets layouts and palettes beyond its
//! training games; it is judged on games it never saw. A clip keeps one augmentation
//! for all its frames, so its history stays coherent.
//!
//! Both transforms are exact where it matters: a mirror moves the coordinates (the
//! client samples the mirrored screen where the recorded one holds that point), and a
//! linear intensity map commutes with the box filter that makes the target.

use image::GrayImage;
use rand::Rng;

/// How one clip's frames are shown to the network.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Augmentation {
    mirror_x: bool,
    mirror_y: bool,
    /// Intensities (0..1) become `offset + gain * value`; a negative gain inverts.
    gain: f32,
    offset: f32,
}

/// Chance of a left-right mirror; up-down mirrors are rarer (gravity, HUD rows).
const MIRROR_X: f64 = 0.5;
const MIRROR_Y: f64 = 0.25;
/// Chance of inverted intensities, and the lowest contrast a clip keeps.
const INVERT: f64 = 0.3;
const MIN_CONTRAST: f32 = 0.6;

impl Augmentation {
    /// The frames as recorded.
    pub const NONE: Augmentation = Augmentation { mirror_x: false, mirror_y: false, gain: 1.0, offset: 0.0 };

    /// A random augmentation whose intensities stay within [0, 1].
    pub fn draw(rng: &mut impl Rng) -> Augmentation {
        let contrast = rng.random_range(MIN_CONTRAST..=1.0);
        let low = rng.random_range(0.0..=1.0 - contrast);
        let invert = rng.random_bool(INVERT);
        Augmentation {
            mirror_x: rng.random_bool(MIRROR_X),
            mirror_y: rng.random_bool(MIRROR_Y),
            gain: if invert { -contrast } else { contrast },
            offset: if invert { low + contrast } else { low },
        }
    }

    /// Where on the recorded frame the point (u, v) of the augmented screen lies.
    pub fn source(&self, [u, v]: [f32; 2]) -> [f32; 2] {
        let mirror = |t: f32, on: bool| if on { 1.0 - t } else { t };
        [mirror(u, self.mirror_x), mirror(v, self.mirror_y)]
    }

    /// A recorded intensity (0..=255) as the augmented screen shows it.
    pub fn value(&self, value: f32) -> f32 {
        255.0 * (self.offset + self.gain * value / 255.0)
    }

    /// The augmented target, row-major intensities in [0, 1].
    pub fn target(&self, target: &GrayImage) -> Vec<f32> {
        let (w, h) = target.dimensions();
        let mut out = Vec::with_capacity((w * h) as usize);
        for y in 0..h {
            let sy = if self.mirror_y { h - 1 - y } else { y };
            for x in 0..w {
                let sx = if self.mirror_x { w - 1 - x } else { x };
                out.push(self.value(target.get_pixel(sx, sy)[0] as f32) / 255.0);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::resized_to;
    use crate::pipeline::Pixel;
    use rand::SeedableRng;

    /// A recorded frame with structure in both directions.
    fn frame() -> GrayImage {
        GrayImage::from_fn(160, 210, |x, y| image::Luma([((x * 7 + y * y / 5) % 256) as u8]))
    }

    #[test]
    fn none_shows_the_frame_as_recorded() {
        let truth = frame();
        let target = resized_to(&truth, 112, 112);
        let expected: Vec<f32> = target.as_raw().iter().map(|&v| v as f32 / 255.0).collect();
        assert_eq!(Augmentation::NONE.target(&target), expected);
        assert_eq!(Augmentation::NONE.source([0.3, 0.7]), [0.3, 0.7]);
        assert_eq!(Augmentation::NONE.value(77.0), 77.0);
    }

    #[test]
    fn samples_and_target_show_the_same_augmented_screen() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let truth = frame();
        let target = resized_to(&truth, 112, 112);
        let mut mirrored = 0;
        for _ in 0..20 {
            let augmentation = Augmentation::draw(&mut rng);
            mirrored += augmentation.mirror_x as usize;
            // The augmented screen, built directly: mirror the recorded frame and map it.
            let mut screen = truth.clone();
            if augmentation.mirror_x {
                image::imageops::flip_horizontal_in_place(&mut screen);
            }
            if augmentation.mirror_y {
                image::imageops::flip_vertical_in_place(&mut screen);
            }
            // Sampling it at pixel centres equals sampling the record at the source point.
            for (i, &[u, v]) in [[0.01f32, 0.02f32], [0.503, 0.497], [0.93, 0.41], [0.999, 0.0]].iter().enumerate() {
                let direct = Pixel::sample(&screen, &[[u, v]])[0].value;
                let through = Pixel::sample(&truth, &[augmentation.source([u, v])])[0].value;
                assert_eq!(direct, through, "point {i} of {augmentation:?}");
            }
            // Intensities stay in range, and the target is the box-filtered screen
            // (up to the rounding of 8-bit resizing).
            let values = augmentation.target(&target);
            assert!(values.iter().all(|v| (-1e-6..=1.0 + 1e-6).contains(v)));
            let resized = resized_to(&screen, 112, 112);
            let worst = resized
                .as_raw()
                .iter()
                .zip(&values)
                .map(|(&r, &v)| (augmentation.value(r as f32) / 255.0 - v).abs())
                .fold(0.0f32, f32::max);
            assert!(worst <= 2.0 / 255.0, "{worst} for {augmentation:?}");
        }
        assert!((5..=15).contains(&mirrored), "{mirrored} of 20 mirrored");
    }
}
