//! Model input: frames with different pixel counts padded into one batch.

use tch::{Device, Kind, Tensor};

use super::ModelError;
use crate::baselines::linear_delaunay;
use crate::config::{InterpolationPrior, ModelConfig};

/// One frame as the model sees it: pixels as (u, v, value) with all three in [0, 1],
/// and the raw state vector (at most `max_state_dim` entries).
#[derive(Debug, Clone, Copy)]
pub struct FrameInput<'a> {
    pub pixels: &'a [[f32; 3]],
    pub state: &'a [f32],
}

/// A batch of frames on a device.
#[derive(Debug)]
pub struct SparseBatch {
    /// `[B, N, 3]`, N the largest pixel count; padded rows are zero.
    pub pixels: Tensor,
    /// `[B, N]` bool, true on padded rows; `None` when every frame has N pixels.
    pub pixel_padding: Option<Tensor>,
    /// `[B, max_state_dim]`, padded with the sentinel value.
    pub state: Tensor,
    /// `[B, max_state_dim]`, 1 where `state` holds a real entry, 0 on the sentinel.
    pub state_mask: Tensor,
    /// `[B, 1, H, W]` in [0, 1] at the configured resolution: the classical
    /// reconstruction the model corrects, when `architecture.interpolation_prior` asks.
    pub prior: Option<Tensor>,
}

impl SparseBatch {
    /// Pads `frames` into one batch. Fails when a frame has no pixels or its state
    /// vector is longer than `max_state_dim`.
    pub fn new(frames: &[FrameInput], config: &ModelConfig, device: Device, kind: Kind) -> Result<Self, ModelError> {
        if frames.is_empty() {
            return Err(ModelError::Input("the batch holds no frame".into()));
        }
        let s = config.max_state_dim as usize;
        let n = frames.iter().map(|f| f.pixels.len()).max().unwrap_or(0);
        if let Some(i) = frames.iter().position(|f| f.pixels.is_empty()) {
            return Err(ModelError::Input(format!("frame {i} of the batch has no pixels")));
        }
        if let Some(i) = frames.iter().position(|f| f.state.len() > s) {
            return Err(ModelError::Input(format!(
                "frame {i}: state_vector has {} entries, max_state_dim is {s}",
                frames[i].state.len()
            )));
        }
        let b = frames.len();
        let mut pixels = vec![0f32; b * n * 3];
        let mut padding = vec![false; b * n];
        let mut state = vec![config.sentinel_value; b * s];
        let mut state_mask = vec![0f32; b * s];
        for (i, frame) in frames.iter().enumerate() {
            for (j, p) in frame.pixels.iter().enumerate() {
                pixels[(i * n + j) * 3..(i * n + j) * 3 + 3].copy_from_slice(p);
            }
            padding[i * n + frame.pixels.len()..(i + 1) * n].fill(true);
            state[i * s..i * s + frame.state.len()].copy_from_slice(frame.state);
            state_mask[i * s..i * s + frame.state.len()].fill(1.0);
        }
        let to = |t: Tensor, shape: &[i64]| t.reshape(shape).to_device(device).to_kind(kind);
        let any_padding = padding.iter().any(|&p| p);
        let prior = match config.architecture.interpolation_prior {
            InterpolationPrior::None => None,
            InterpolationPrior::Linear => Some(to(linear_priors(frames, config), &{
                let (h, w) = config.height_width();
                [b as i64, 1, h, w]
            })),
        };
        Ok(SparseBatch {
            pixels: to(Tensor::from_slice(&pixels), &[b as i64, n as i64, 3]),
            pixel_padding: any_padding
                .then(|| Tensor::from_slice(&padding).reshape([b as i64, n as i64]).to_device(device)),
            state: to(Tensor::from_slice(&state), &[b as i64, s as i64]),
            state_mask: to(Tensor::from_slice(&state_mask), &[b as i64, s as i64]),
            prior,
        })
    }
}

/// Delaunay-linear reconstructions of every frame at the configured resolution, in [0, 1].
fn linear_priors(frames: &[FrameInput], config: &ModelConfig) -> Tensor {
    let (h, w) = config.height_width();
    let mut values = Vec::with_capacity(frames.len() * (h * w) as usize);
    for frame in frames {
        let samples: Vec<[f32; 3]> = frame.pixels.iter().map(|&[u, v, x]| [u, v, x * 255.0]).collect();
        let image = linear_delaunay(&samples, w as u32, h as u32);
        values.extend(image.as_raw().iter().map(|&p| p as f32 / 255.0));
    }
    Tensor::from_slice(&values)
}
