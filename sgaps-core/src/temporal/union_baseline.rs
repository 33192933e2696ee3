//! The classical temporal baseline a learned model must beat: linear interpolation
//! (Delaunay) of the union of the last K frames' samples, newest sample per pixel
//! winning, optionally with global scroll compensation (history samples move with the
//! shift estimated against the previous reconstruction). No learning; on a space-time
//! stratified pattern it gains 2 to 4 dB over one frame (`../shared/TEMPORAL.md`).

use std::collections::VecDeque;

use image::GrayImage;

use super::scroll::{estimate_shift, GridSample};
use crate::baselines::linear_delaunay;

pub struct UnionBaseline {
    frames: usize,
    max_shift: Option<i32>,
    width: u32,
    height: u32,
    /// Newest frame first; (u, v, value 0..=255).
    history: VecDeque<Vec<[f32; 3]>>,
    previous: Option<Vec<f32>>,
}

impl UnionBaseline {
    /// The union of the last `frames` frames at `width x height`; `max_shift` turns on
    /// scroll compensation with that search radius (pixels).
    pub fn new(frames: usize, max_shift: Option<i32>, width: u32, height: u32) -> UnionBaseline {
        UnionBaseline { frames: frames.max(1), max_shift, width, height, history: VecDeque::new(), previous: None }
    }

    /// Takes this frame's samples and returns the reconstruction.
    pub fn reconstruct(&mut self, samples: &[[f32; 3]]) -> GrayImage {
        let (w, h) = (self.width as usize, self.height as usize);
        if let (Some(radius), Some(previous)) = (self.max_shift, &self.previous) {
            let grid: Vec<GridSample> =
                samples.iter().map(|&[u, v, value]| GridSample { x: u * w as f32, y: v * h as f32, value: value / 255.0 }).collect();
            let (shift, _) = estimate_shift(previous, w, h, &grid, radius);
            let (du, dv) = (shift.dx as f32 / w as f32, shift.dy as f32 / h as f32);
            for frame in &mut self.history {
                frame.iter_mut().for_each(|s| (s[0], s[1]) = (s[0] + du, s[1] + dv));
                frame.retain(|s| (0.0..1.0).contains(&s[0]) && (0.0..1.0).contains(&s[1]));
            }
        }
        self.history.push_front(samples.to_vec());
        self.history.truncate(self.frames);
        // Newest wins: one sample per reconstruction pixel, from the newest frame.
        let mut taken = vec![false; w * h];
        let mut union = Vec::new();
        for frame in &self.history {
            let mut this_frame = Vec::new();
            for &s in frame {
                let x = ((s[0] * w as f32) as usize).min(w - 1);
                let y = ((s[1] * h as f32) as usize).min(h - 1);
                if !taken[y * w + x] {
                    this_frame.push(y * w + x);
                    union.push(s);
                }
            }
            // Several samples of one frame in a pixel all count.
            this_frame.into_iter().for_each(|i| taken[i] = true);
        }
        let image = linear_delaunay(&union, self.width, self.height);
        if self.max_shift.is_some() {
            self.previous = Some(image.as_raw().iter().map(|&v| v as f32 / 255.0).collect());
        }
        image
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scene(x: f32, offset: f32) -> f32 {
        if ((x - offset) / 6.0).floor() as i32 % 2 == 0 { 40.0 } else { 210.0 }
    }

    /// Samples of stripes moving right by `offset` pixels (grid of 64x32).
    fn samples(frame: usize, offset: f32) -> Vec<[f32; 3]> {
        (0..60)
            .map(|i| {
                let j = (i * 97 + frame * 31) % (64 * 32);
                let (x, y) = ((j % 64) as f32 + 0.5, (j / 64) as f32 + 0.5);
                [x / 64.0, y / 32.0, scene(x, offset)]
            })
            .collect()
    }

    fn error(image: &GrayImage, offset: f32) -> f64 {
        image.enumerate_pixels().map(|(x, _, p)| (p[0] as f64 - scene(x as f32 + 0.5, offset) as f64).abs()).sum()
    }

    #[test]
    fn the_union_beats_one_frame_on_a_still_scene() {
        let mut one = UnionBaseline::new(1, None, 64, 32);
        let mut union = UnionBaseline::new(8, None, 64, 32);
        let (mut e1, mut e8) = (0.0, 0.0);
        for frame in 0..8 {
            e1 = error(&one.reconstruct(&samples(frame, 0.0)), 0.0);
            e8 = error(&union.reconstruct(&samples(frame, 0.0)), 0.0);
        }
        assert!(e8 < 0.7 * e1, "union {e8} vs one frame {e1}");
    }

    #[test]
    fn scroll_compensation_follows_a_moving_scene() {
        let mut still = UnionBaseline::new(8, None, 64, 32);
        let mut follows = UnionBaseline::new(8, Some(4), 64, 32);
        let (mut e_still, mut e_follows) = (0.0, 0.0);
        for frame in 0..10 {
            let offset = 2.0 * frame as f32;
            e_still = error(&still.reconstruct(&samples(frame, offset)), offset);
            e_follows = error(&follows.reconstruct(&samples(frame, offset)), offset);
        }
        assert!(e_follows < 0.7 * e_still, "compensated {e_follows} vs not {e_still}");
    }
}
