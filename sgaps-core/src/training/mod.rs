//! Training (seed section 2.3) on recorded sessions: `conf/training/phase*.yaml`.
//!
//! - [`dataset`]: recorded frames, cleaned (seed 3.2) and split into training and
//!   validation by time.
//! - [`positions`]: which pixels one training example shows the model: a random subset
//!   of what the client sent (masked sparse modelling), or fresh positions on the true
//!   frame (grid, stratified, or the model's own adaptive sampler in phase 3).
//! - [`batches`]: examples sorted by pixel count into padded batches.
//! - [`loss`], [`schedule`]: sampled-pixel and full-frame L2; cosine learning rate.
//! - [`trainer`]: the loop, validation, best and last checkpoints, TensorBoard.
//! - [`clips`], [`temporal_trainer`], [`adamw`], [`augment`]: the temporal family's
//!   rollouts on clips (mirrored and recoloured at random when asked), with an
//!   optimiser whose moments resume exactly.

mod adamw;
mod augment;
mod batches;
pub mod clips;
pub mod dataset;
mod loss;
mod positions;
mod schedule;
mod temporal_trainer;
mod trainer;

pub use dataset::{load_training_set, TrainingFrame, TrainingSet};
pub use trainer::{train, Progress, TrainOptions, TrainSummary};
