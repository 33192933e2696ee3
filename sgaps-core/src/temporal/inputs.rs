//! The planes the temporal network reads, one `H x W` raster each, values in [0, 1].
//! Built by [`super::SessionMemory::observe`] from this frame's samples and the
//! session's history; the network only ever sees these, so a batch of many sessions is
//! a pure function of its inputs.

/// The input planes, in channel order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(usize)]
pub enum Plane {
    /// This frame's samples (mean per pixel), 0 elsewhere.
    Samples,
    /// 1 where this frame has a sample.
    Mask,
    /// Push-pull interpolation of this frame's samples alone.
    InterpolatedCurrent,
    /// Push-pull interpolation of every sample younger than `union_frames` (newest wins).
    InterpolatedUnion,
    /// The previous reconstruction moved by the estimated scroll; where nothing moved in,
    /// the union interpolation.
    WarpedPrevious,
    /// The last observed value of each pixel, whatever its age; the union
    /// interpolation where a pixel was never observed.
    Canvas,
    /// ln(1 + age) / ln(1 + 64), clipped to 1; 1 where never observed.
    Age,
    /// 1 where the warped previous reconstruction covers the pixel.
    PreviousValid,
    /// Interpolated |sample - warped previous| at this frame's samples: where history is
    /// contradicted (sprites that moved on their own, changed tiles).
    Contradiction,
}

/// How many planes the network reads.
pub const PLANES: usize = 9;

/// The planes the network blends (in this order); the rest only guide the blend.
pub const CANDIDATES: [Plane; 4] = [Plane::InterpolatedCurrent, Plane::InterpolatedUnion, Plane::WarpedPrevious, Plane::Canvas];

/// One frame's input planes, `PLANES * height * width` values, plane-major.
#[derive(Debug, Clone, PartialEq)]
pub struct TemporalInputs {
    pub width: usize,
    pub height: usize,
    pub planes: Vec<f32>,
}

impl TemporalInputs {
    pub fn zeros(width: usize, height: usize) -> TemporalInputs {
        TemporalInputs { width, height, planes: vec![0.0; PLANES * width * height] }
    }

    pub fn plane(&self, plane: Plane) -> &[f32] {
        let n = self.width * self.height;
        &self.planes[plane as usize * n..(plane as usize + 1) * n]
    }

    pub fn plane_mut(&mut self, plane: Plane) -> &mut [f32] {
        let n = self.width * self.height;
        &mut self.planes[plane as usize * n..(plane as usize + 1) * n]
    }
}
