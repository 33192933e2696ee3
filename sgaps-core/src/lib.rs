//! SGAPS core: everything that is neither FFI nor networking.
//!
//! - [`config`]: the `conf/` YAML groups composed into typed structs.
//! - [`model`]: the Sparse Pixel Transformer (tch), its weights and checkpoints.
//! - [`device`]: choosing CPU or CUDA and the inference precision.

pub mod config;
pub mod device;
pub mod model;

pub use config::Config;
