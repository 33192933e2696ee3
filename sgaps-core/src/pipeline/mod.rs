//! The reconstruction pipeline (seed section 3): importance, sampling, mask scheduling.

pub mod importance;
pub mod sampler;
