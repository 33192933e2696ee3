//! Reconstruction from a session's history (`../shared/TEMPORAL.md`): a game session
//! is a video, and the samples of the last frames hold most of what this frame's few
//! hundred cannot.
//!
//! - [`memory`]: the per-session canvas (last value and age per pixel), previous
//!   reconstruction, scroll following, history rejection and resets.
//! - [`scroll`]: the global shift between frames.
//! - [`push_pull`]: fast interpolation of sparse rasters.
//! - [`inputs`]: the planes the temporal network reads.
//! - [`union_baseline`]: the classical temporal baseline (union of the last K frames'
//!   samples, linear interpolation, optional scroll compensation).
//!
//! The network itself is [`crate::model::TemporalNet`]; the engine keeps one
//! [`SessionMemory`] per session, never inside the model, so a batch of many sessions
//! is a pure function of its inputs.

pub mod inputs;
pub mod memory;
pub mod push_pull;
pub mod scroll;
pub mod union_baseline;

pub use inputs::{Plane, TemporalInputs, CANDIDATES, PLANES};
pub use memory::{Observation, Reset, SessionMemory};
pub use union_baseline::UnionBaseline;
