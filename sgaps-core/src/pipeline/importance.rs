//! Importance: where the model is unsure, from the entropy of its cross-attention
//! (seed section 3.2).

/// A per-pixel importance map at the sampling resolution, min-max normalised to [0, 1],
/// row-major (`values[y * width + x]`).
#[derive(Debug, Clone, PartialEq)]
pub struct ImportanceMap {
    pub width: usize,
    pub height: usize,
    pub values: Vec<f32>,
}

impl ImportanceMap {
    pub fn get(&self, x: usize, y: usize) -> f32 {
        self.values[y * self.width + x]
    }
}
