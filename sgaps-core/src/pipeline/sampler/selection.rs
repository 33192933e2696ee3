//! The growing set of chosen pixels: never a duplicate, and spaced by the minimum
//! distance, relaxed only when the distance makes the requested count unreachable.

use super::pixel_to_uv;
use super::spacing::SpacingGrid;

pub(super) struct Selection {
    width: usize,
    height: usize,
    taken: Vec<bool>,
    pixels: Vec<usize>,
    min_distance: f32,
    /// `None` when the minimum distance can never be violated.
    spacing: Option<SpacingGrid>,
}

enum Verdict {
    Added,
    Taken,
    TooClose,
}

impl Selection {
    /// An empty selection over a `width x height` image; `min_distance` is in UV units.
    pub fn new(width: usize, height: usize, min_distance: f32, capacity: usize) -> Self {
        // Distinct pixel centres are at least one pixel pitch apart, so a minimum distance
        // up to the pitch holds by itself.
        let pixel_pitch = (1.0 / width as f32).min(1.0 / height as f32);
        Self {
            width,
            height,
            taken: vec![false; width * height],
            pixels: Vec::with_capacity(capacity),
            min_distance,
            spacing: (min_distance > pixel_pitch).then(|| SpacingGrid::new(min_distance)),
        }
    }

    pub fn width(&self) -> usize {
        self.width
    }

    pub fn height(&self) -> usize {
        self.height
    }

    pub fn pixel_count(&self) -> usize {
        self.width * self.height
    }

    pub fn len(&self) -> usize {
        self.pixels.len()
    }

    pub fn is_taken(&self, pixel: usize) -> bool {
        self.taken[pixel]
    }

    /// Adds `pixel` if it is free and at least the minimum distance from every chosen pixel.
    pub fn add_if_clear(&mut self, pixel: usize) -> bool {
        matches!(self.try_add(pixel, self.min_distance), Verdict::Added)
    }

    /// Adds candidates in order until `target` pixels are chosen. Candidates closer than the
    /// minimum distance to a chosen pixel are set aside; if the candidates run out first, the
    /// set-aside ones are retried in order with half the distance, then with none, so any
    /// candidate list that holds enough free pixels reaches `target`.
    pub fn add_relaxing(&mut self, candidates: impl IntoIterator<Item = usize>, target: usize) {
        let mut set_aside = self.add_until(candidates, target, self.min_distance);
        for radius in [self.min_distance / 2.0, 0.0] {
            if set_aside.is_empty() || self.len() >= target {
                return;
            }
            set_aside = self.add_until(set_aside, target, radius);
        }
    }

    /// The chosen pixels as UV coordinates, in the order they were chosen.
    pub fn into_uv(self) -> Vec<[f32; 2]> {
        let (width, height) = (self.width, self.height);
        self.pixels
            .into_iter()
            .map(|pixel| pixel_to_uv(pixel, width, height))
            .collect()
    }

    /// The chosen pixels, in the order they were chosen.
    pub fn into_pixels(self) -> Vec<usize> {
        self.pixels
    }

    /// Adds candidates until `target` pixels are chosen; returns those that were too close.
    fn add_until(
        &mut self,
        candidates: impl IntoIterator<Item = usize>,
        target: usize,
        radius: f32,
    ) -> Vec<usize> {
        let mut too_close = Vec::new();
        for pixel in candidates {
            if self.len() >= target {
                break;
            }
            if let Verdict::TooClose = self.try_add(pixel, radius) {
                too_close.push(pixel);
            }
        }
        too_close
    }

    fn try_add(&mut self, pixel: usize, radius: f32) -> Verdict {
        if self.taken[pixel] {
            return Verdict::Taken;
        }
        if let Some(spacing) = &mut self.spacing {
            let uv = pixel_to_uv(pixel, self.width, self.height);
            if radius > 0.0 && !spacing.is_clear(uv, radius) {
                return Verdict::TooClose;
            }
            spacing.insert(uv);
        }
        self.taken[pixel] = true;
        self.pixels.push(pixel);
        Verdict::Added
    }
}
