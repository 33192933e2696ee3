//! The reconstruction pipeline (seed section 3): importance, sampling, mask scheduling.

pub mod checkpoints;
pub mod importance;
pub mod mask_scheduler;
pub mod sampler;
