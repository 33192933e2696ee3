//! A client frame as the engine takes it, and the checks it must pass
//! (PROTOCOL.md `frame_data`).

use image::GrayImage;

/// One sampled pixel: `u` horizontal and `v` vertical in [0, 1] (v = 0 is the top row),
/// `value` the grayscale intensity 0..=255.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Pixel {
    pub u: f32,
    pub v: f32,
    pub value: f32,
}

impl Pixel {
    /// What a client sends for `coordinates` on its frame `truth` (top row first): the
    /// value of pixel (floor(u * W), floor(v * H)).
    pub fn sample(truth: &GrayImage, coordinates: &[[f32; 2]]) -> Vec<Pixel> {
        let (w, h) = truth.dimensions();
        coordinates
            .iter()
            .map(|&[u, v]| {
                let x = ((u * w as f32) as u32).min(w - 1);
                let y = ((v * h as f32) as u32).min(h - 1);
                Pixel { u, v, value: truth.get_pixel(x, y)[0] as f32 }
            })
            .collect()
    }
}

/// One frame from a client.
#[derive(Debug, Clone, Default)]
pub struct Frame {
    /// Increases per session; gaps happen.
    pub frame_id: u64,
    /// Client time in seconds.
    pub timestamp: f64,
    pub pixels: Vec<Pixel>,
    /// Up to `max_state_dim` values; the engine pads with the sentinel.
    pub state: Vec<f32>,
    /// The whole frame when the client sends it (`frame_data_debug`), top row first.
    pub ground_truth: Option<GrayImage>,
}

/// Why a frame was refused. `field` names the offending part of the payload.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("invalid frame data: `{field}` {message}")]
pub struct FrameError {
    pub field: String,
    pub message: String,
}

impl Frame {
    /// Checks the frame against PROTOCOL.md and the configured limits.
    pub fn validate(&self, max_pixels: usize, max_state_dim: usize) -> Result<(), FrameError> {
        let fail = |field: String, message: String| Err(FrameError { field, message });
        if self.pixels.is_empty() {
            return fail("pixels".into(), "is empty; a frame needs at least one sampled pixel".into());
        }
        if self.pixels.len() > max_pixels {
            return fail("pixels".into(), format!("holds {} pixels, at most {max_pixels} are allowed", self.pixels.len()));
        }
        for (i, p) in self.pixels.iter().enumerate() {
            for (name, x) in [("u", p.u), ("v", p.v)] {
                if !x.is_finite() || !(0.0..=1.0).contains(&x) {
                    return fail(format!("pixels[{i}].{name}"), format!("is {x}, must be in [0, 1]"));
                }
            }
            if !p.value.is_finite() || !(0.0..=255.0).contains(&p.value) {
                return fail(format!("pixels[{i}].value"), format!("is {}, must be in 0..=255", p.value));
            }
        }
        if self.state.len() > max_state_dim {
            return fail(
                "state_vector".into(),
                format!("has {} entries, max_state_dim is {max_state_dim}", self.state.len()),
            );
        }
        if let Some(i) = self.state.iter().position(|x| !x.is_finite()) {
            return fail(format!("state_vector[{i}]"), format!("is {}, must be finite", self.state[i]));
        }
        if !self.timestamp.is_finite() {
            return fail("timestamp".into(), format!("is {}, must be finite", self.timestamp));
        }
        Ok(())
    }

    /// Pixels as (u, v, value 0..=255), as they were sent.
    pub fn raw_pixels(&self) -> Vec<[f32; 3]> {
        self.pixels.iter().map(|p| [p.u, p.v, p.value]).collect()
    }

    /// Pixels as the model takes them: (u, v, value / 255).
    pub fn model_pixels(&self) -> Vec<[f32; 3]> {
        self.pixels.iter().map(|p| [p.u, p.v, p.value / 255.0]).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(pixels: Vec<Pixel>, state: Vec<f32>) -> Frame {
        Frame { frame_id: 1, timestamp: 0.5, pixels, state, ground_truth: None }
    }

    fn px(u: f32, v: f32, value: f32) -> Pixel {
        Pixel { u, v, value }
    }

    #[test]
    fn each_bad_field_is_named() {
        let ok = px(0.5, 0.5, 128.0);
        let cases = [
            (frame(vec![], vec![]), "pixels"),
            (frame(vec![ok; 11], vec![]), "pixels"),
            (frame(vec![ok, px(1.5, 0.5, 1.0)], vec![]), "pixels[1].u"),
            (frame(vec![px(0.5, -0.1, 1.0)], vec![]), "pixels[0].v"),
            (frame(vec![px(f32::NAN, 0.5, 1.0)], vec![]), "pixels[0].u"),
            (frame(vec![px(0.5, 0.5, 256.0)], vec![]), "pixels[0].value"),
            (frame(vec![px(0.5, 0.5, -1.0)], vec![]), "pixels[0].value"),
            (frame(vec![ok], vec![0.0; 5]), "state_vector"),
            (frame(vec![ok], vec![0.0, f32::INFINITY]), "state_vector[1]"),
        ];
        for (frame, field) in cases {
            let err = frame.validate(10, 4).unwrap_err();
            assert_eq!(err.field, field, "{err}");
        }
        assert!(frame(vec![px(0.0, 1.0, 255.0)], vec![1.0; 4]).validate(10, 4).is_ok());
    }

    #[test]
    fn values_are_scaled_for_the_model() {
        assert_eq!(frame(vec![px(0.25, 0.75, 255.0)], vec![]).model_pixels(), vec![[0.25, 0.75, 1.0]]);
    }
}
