//! Global motion: the integer shift that best explains this frame's samples against the
//! previous reconstruction. Side-scrollers move the whole screen at once; with the shift
//! known, history follows the scene instead of smearing it. A brute-force search over
//! small shifts costs (2R+1)^2 lookups per sample: about 0.2 ms at R = 8, N = 500.

/// A shift in pixels of the reconstruction grid: content at (x, y) of the previous
/// frame is at (x + dx, y + dy) now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Shift {
    pub dx: i32,
    pub dy: i32,
}

/// One sample in pixel units of the reconstruction grid, value in [0, 1].
#[derive(Debug, Clone, Copy)]
pub struct GridSample {
    pub x: f32,
    pub y: f32,
    pub value: f32,
}

impl GridSample {
    /// The pixel the sample falls in.
    pub fn pixel(&self, width: usize, height: usize) -> (usize, usize) {
        ((self.x.max(0.0) as usize).min(width - 1), (self.y.max(0.0) as usize).min(height - 1))
    }
}

/// The best shift within `max_shift` pixels (each axis), and its mean absolute error.
/// A sample whose source falls outside the previous frame compares with the nearest
/// edge pixel (a scroll reveals what resembles the edge), so no shift can win by
/// pushing the samples that disagree out of view. Among near-equal errors the smaller
/// shift wins, so a flat scene stays put.
pub fn estimate_shift(previous: &[f32], width: usize, height: usize, samples: &[GridSample], max_shift: i32) -> (Shift, f32) {
    estimate_shift_near(previous, width, height, samples, max_shift, Shift::default())
}

/// Mean absolute error (intensity 0..1) one pixel of distance from the expected shift
/// costs: scrolling is smooth, so a shift far from the last one must explain the
/// samples clearly better to win (repetitive tiles otherwise alias).
const SMOOTHNESS: f32 = 0.004;

/// [`estimate_shift`] around `expected` (the last frame's shift): the search window
/// is centred there and shifts away from it pay [`SMOOTHNESS`] per pixel.
pub fn estimate_shift_near(
    previous: &[f32],
    width: usize,
    height: usize,
    samples: &[GridSample],
    max_shift: i32,
    expected: Shift,
) -> (Shift, f32) {
    let mut best = (Shift::default(), f32::INFINITY);
    if samples.is_empty() {
        return best;
    }
    let pixels: Vec<(i32, i32, f32)> = samples
        .iter()
        .map(|s| {
            let (x, y) = s.pixel(width, height);
            (x as i32, y as i32, s.value)
        })
        .collect();
    let (last_x, last_y) = (width as i32 - 1, height as i32 - 1);
    for dy in expected.dy - max_shift..=expected.dy + max_shift {
        for dx in expected.dx - max_shift..=expected.dx + max_shift {
            let error: f32 = pixels
                .iter()
                .map(|&(x, y, value)| {
                    let (sx, sy) = ((x - dx).clamp(0, last_x), (y - dy).clamp(0, last_y));
                    (value - previous[sy as usize * width + sx as usize]).abs()
                })
                .sum();
            // Distance from the expected shift costs; a tiny preference for small shifts
            // breaks the remaining ties on flat scenes.
            let away = ((dx - expected.dx).abs() + (dy - expected.dy).abs()) as f32;
            let cost = error / pixels.len() as f32 + SMOOTHNESS * away + 1e-4 * (dx.abs() + dy.abs()) as f32;
            if cost < best.1 {
                best = (Shift { dx, dy }, cost);
            }
        }
    }
    best
}

/// `raster` moved by `shift`; pixels moved in from outside take `outside`.
pub fn shifted(raster: &[f32], width: usize, height: usize, shift: Shift, outside: f32) -> Vec<f32> {
    if shift == Shift::default() {
        return raster.to_vec();
    }
    let mut out = vec![outside; raster.len()];
    for y in 0..height as i32 {
        let sy = y - shift.dy;
        if sy < 0 || sy >= height as i32 {
            continue;
        }
        for x in 0..width as i32 {
            let sx = x - shift.dx;
            if sx >= 0 && sx < width as i32 {
                out[y as usize * width + x as usize] = raster[sy as usize * width + sx as usize];
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A textured frame: no shift of it looks like another.
    fn texture(width: usize, height: usize, offset: i32) -> Vec<f32> {
        (0..width * height)
            .map(|i| {
                let (x, y) = ((i % width) as i32 - offset, (i / width) as i32);
                (((x * 37 + y * 91) ^ (x * y)) % 17) as f32 / 16.0
            })
            .collect()
    }

    fn samples_of(frame: &[f32], width: usize, count: usize) -> Vec<GridSample> {
        (0..count)
            .map(|i| {
                let p = (i * 7919) % frame.len();
                GridSample { x: (p % width) as f32 + 0.5, y: (p / width) as f32 + 0.5, value: frame[p] }
            })
            .collect()
    }

    #[test]
    fn finds_a_horizontal_scroll() {
        let (w, h) = (64, 48);
        let previous = texture(w, h, 0);
        let current = texture(w, h, 3); // content moved right by 3
        let (shift, error) = estimate_shift(&previous, w, h, &samples_of(&current, w, 300), 6);
        assert_eq!(shift, Shift { dx: 3, dy: 0 });
        // Only samples in the three revealed columns miss.
        assert!(error < 0.1, "{error}");
    }

    #[test]
    fn a_still_scene_stays_put() {
        let (w, h) = (32, 32);
        let still = vec![0.5; w * h];
        let (shift, _) = estimate_shift(&still, w, h, &samples_of(&still, w, 100), 4);
        assert_eq!(shift, Shift::default());
    }

    #[test]
    fn shifting_moves_content_and_fills_the_edge() {
        let raster: Vec<f32> = (0..12).map(|i| i as f32).collect(); // 4x3
        let out = shifted(&raster, 4, 3, Shift { dx: 1, dy: -1 }, -1.0);
        assert_eq!(out, vec![-1.0, 4.0, 5.0, 6.0, -1.0, 8.0, 9.0, 10.0, -1.0, -1.0, -1.0, -1.0]);
    }
}
