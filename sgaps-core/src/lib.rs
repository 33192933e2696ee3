//! SGAPS core: everything that is neither FFI nor networking.
//!
//! - [`config`]: the `conf/` YAML groups composed into typed structs.
//! - [`data`]: recorded sessions in HDF5 (writing and reading).
//! - [`model`]: the Sparse Pixel Transformer (tch), its weights and checkpoints.
//! - [`device`]: choosing CPU or CUDA and the inference precision.
//! - [`pipeline`]: importance, sampling and mask scheduling around the model.
//! - [`metrics`], [`visualize`]: quality numbers and pictures of frames.
//! - [`baselines`]: nearest-neighbour and Delaunay-linear reconstructions to compare with.
//! - [`training`]: `sgaps train`'s loop over recorded sessions (seed section 2.3).
//! - [`evaluation`]: closed- and open-loop scores on clips with ground truth.
//! - [`temporal`]: per-session history (canvas, age, scroll) for the temporal model.
//! - [`tensorboard`]: TensorBoard event files (scalars, images) for watching training.
//!
//! `data` needs the `recording` feature, `training` and `tensorboard` the `training`
//! feature (both default); the C ABI a game links builds without them.

pub mod baselines;
pub mod config;
#[cfg(feature = "recording")]
pub mod data;
pub mod device;
pub mod evaluation;
pub mod metrics;
pub mod model;
pub mod pipeline;
pub mod temporal;
#[cfg(feature = "training")]
pub mod tensorboard;
#[cfg(feature = "training")]
pub mod training;
pub mod visualize;

pub use config::Config;
