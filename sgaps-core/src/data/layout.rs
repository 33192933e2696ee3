//! The HDF5 layout SGAPS writes: `{data_root}/{checkpoint_key}.h5`, one group per
//! session under `/sessions`, each holding chunked, extendable datasets (one row per
//! frame), so a file with millions of frames stays fast to write and to read.
//!
//! ```text
//! /sessions/{session_id}/               attrs: format_version, created_at, checkpoint_key,
//!                                              model_version, client_resolution [W, H],
//!                                              resolution [W, H], sample_count,
//!                                              max_state_dim, sentinel_value, frame_count
//!     frame_id         u64 [F]
//!     timestamp        f64 [F]
//!     pixel_start      u64 [F]          row of the frame's first pixel in `pixels`
//!     num_pixels       u32 [F]
//!     pixels           f32 [P, 3]       u, v in [0, 1], value 0..255
//!     state_vector     f32 [F, S]       padded with sentinel_value to max_state_dim
//!     ground_truth     u8  [G, H, W]    frames sent with frame_data_debug, top row first
//!     ground_truth_frame_id  u64 [G]
//! ```

use image::GrayImage;

pub const FORMAT_VERSION: u32 = 1;

/// What a session's group says about it.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionInfo {
    pub session_id: String,
    pub created_at: f64,
    pub checkpoint_key: String,
    pub model_version: String,
    pub client_resolution: [u32; 2],
    pub resolution: [u32; 2],
    pub sample_count: u32,
    pub max_state_dim: u32,
    pub sentinel_value: f32,
}

/// One stored frame.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedFrame {
    pub frame_id: u64,
    pub timestamp: f64,
    /// (u, v, value 0..255).
    pub pixels: Vec<[f32; 3]>,
    /// The raw state vector, without sentinel padding.
    pub state: Vec<f32>,
    pub ground_truth: Option<GrayImage>,
}

/// A session read back from a file.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedSession {
    pub info: SessionInfo,
    pub frames: Vec<RecordedFrame>,
}
