//! A session's memory at the reconstruction resolution: a canvas of the last observed
//! value of each pixel and its age, the previous reconstruction, and the scroll between
//! frames. Deterministic and cheap (well under a millisecond per 112x112 frame); no
//! learning happens here, so the model sees history without back-propagation through
//! time.
//!
//! Bounded: `width * height * 22` bytes per session (canvas f32, age f32, sample count
//! u16, where in its pixel the canvas value was seen 2 x f32, previous reconstruction
//! f32): 276 KB at 112x112.
//!
//! Frame ids and time (a client's ids increase by one per frame, with gaps):
//! - the same id again: its samples join the canvas, nothing ages (a re-sent frame);
//! - a jump of k ids: history ages by k frames and the scroll search widens;
//! - an id lower than the last, a jump above `max_frame_gap`, or more than
//!   `max_time_gap_s` seconds of client time: history is dropped (a restarted client or
//!   a long pause; what it shows is no longer on screen);
//! - a scene cut (more than `scene_cut_fraction` of the samples on recently observed
//!   pixels contradict what was observed there: a level change, a death screen):
//!   history is dropped.

use super::inputs::{Plane, TemporalInputs};
use super::push_pull::{push_pull, splat, Sparse};
use super::scroll::{estimate_shift_near, shifted, GridSample, Shift};
use crate::config::{SampleInterpolation, TemporalConfig};

/// Age (frames) of a pixel never observed.
const NEVER: f32 = f32::INFINITY;
/// Fewer samples on recently observed pixels than this never count as a scene cut.
const MIN_SAMPLES_FOR_CUT: usize = 16;

/// Why history was dropped before this frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reset {
    /// The frame id went backwards.
    Backwards,
    /// Too many frames or too much time since the last frame.
    Gap,
    /// Most samples contradict what was recently observed at their pixels.
    SceneCut,
    /// The caller asked (`Engine::reset_session`).
    Requested,
}

/// What [`SessionMemory::observe`] did with a frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Observation {
    /// Frames the history aged (0 for a repeated id or a first frame).
    pub frames_elapsed: u64,
    pub shift: Shift,
    /// Share of the compared samples that contradicted the warped previous frame.
    pub contradicted: f32,
    pub reset: Option<Reset>,
}

#[derive(Debug, Clone)]
pub struct SessionMemory {
    config: TemporalConfig,
    width: usize,
    height: usize,
    canvas: Vec<f32>,
    age: Vec<f32>,
    /// Samples averaged into the canvas value since it last changed (anti-aliasing).
    count: Vec<u16>,
    /// Where within its pixel (0..1 each axis) the canvas value was seen, on average.
    position: [Vec<f32>; 2],
    previous: Option<Vec<f32>>,
    /// The scroll per frame last estimated: where the next search is centred.
    last_shift: Shift,
    last: Option<(u64, f64)>,
    pending_reset: Option<Reset>,
    resets: u64,
}

impl SessionMemory {
    pub fn new(config: &TemporalConfig, width: usize, height: usize) -> SessionMemory {
        let n = width * height;
        SessionMemory {
            config: config.clone(),
            width,
            height,
            canvas: vec![0.0; n],
            age: vec![NEVER; n],
            count: vec![0; n],
            position: [vec![0.5; n], vec![0.5; n]],
            previous: None,
            last_shift: Shift::default(),
            last: None,
            pending_reset: None,
            resets: 0,
        }
    }

    /// Drops all history at the next frame.
    pub fn reset(&mut self) {
        self.pending_reset = Some(Reset::Requested);
    }

    pub fn config(&self) -> &TemporalConfig {
        &self.config
    }

    /// `(width, height)` of the canvas.
    pub fn resolution(&self) -> (usize, usize) {
        (self.width, self.height)
    }

    /// How often history was dropped.
    pub fn resets(&self) -> u64 {
        self.resets
    }

    /// Takes in a frame's samples (u, v in [0, 1], value 0..=255) and returns the
    /// network's input planes for it.
    pub fn observe(&mut self, frame_id: u64, timestamp: f64, pixels: &[[f32; 3]]) -> (TemporalInputs, Observation) {
        let (w, h) = (self.width, self.height);
        let samples: Vec<GridSample> = pixels
            .iter()
            .map(|&[u, v, value]| GridSample { x: u * w as f32, y: v * h as f32, value: value / 255.0 })
            .collect();
        let (elapsed, mut reset) = self.continuity(frame_id, timestamp);
        if reset.is_some() {
            self.clear();
        }
        // Follow the scroll, then see which samples the moved history contradicts.
        let mut shift = Shift::default();
        if let (Some(previous), true) = (&self.previous, elapsed > 0) {
            // Around the last frame's scroll, scaled by the frames elapsed.
            let k = elapsed.min(3) as i32;
            let expected = Shift { dx: self.last_shift.dx * k, dy: self.last_shift.dy * k };
            shift = estimate_shift_near(previous, w, h, &samples, self.config.max_shift * k, expected).0;
            self.last_shift = Shift { dx: shift.dx / k, dy: shift.dy / k };
        }
        self.move_history(shift);
        if reset.is_none() && self.is_scene_cut(&samples) {
            reset = Some(Reset::SceneCut);
            self.clear();
        }
        let (contradicted, contradiction) = self.contradiction(&samples);
        if reset.is_some() {
            self.resets += 1;
        }
        self.age_by(elapsed as f32);
        let (current_sum, current_count) = self.write_samples(&samples);
        self.last = Some((frame_id, timestamp));
        let inputs = self.planes(&samples, &current_sum, &current_count, contradiction);
        (inputs, Observation { frames_elapsed: elapsed, shift, contradicted, reset })
    }

    /// Keeps this frame's reconstruction (values in [0, 1]) for the next frame.
    pub fn remember(&mut self, reconstruction: Vec<f32>) {
        assert_eq!(reconstruction.len(), self.width * self.height, "reconstruction at the memory's resolution");
        self.previous = Some(reconstruction);
    }

    /// Frames elapsed since the last frame, and whether history must go.
    fn continuity(&mut self, frame_id: u64, timestamp: f64) -> (u64, Option<Reset>) {
        if let Some(reason) = self.pending_reset.take() {
            return (0, Some(reason));
        }
        let Some((last_id, last_time)) = self.last else { return (0, None) };
        if frame_id < last_id {
            return (0, Some(Reset::Backwards));
        }
        let elapsed = frame_id - last_id;
        let long_pause = timestamp.is_finite() && last_time.is_finite() && timestamp - last_time > self.config.max_time_gap_s;
        if elapsed > self.config.max_frame_gap || long_pause {
            return (0, Some(Reset::Gap));
        }
        (elapsed, None)
    }

    fn clear(&mut self) {
        self.last_shift = Shift::default();
        self.canvas.fill(0.0);
        self.age.fill(NEVER);
        self.count.fill(0);
        self.position.iter_mut().for_each(|p| p.fill(0.5));
        self.previous = None;
    }

    fn move_history(&mut self, shift: Shift) {
        if shift == Shift::default() {
            return;
        }
        let (w, h) = (self.width, self.height);
        self.canvas = shifted(&self.canvas, w, h, shift, 0.0);
        self.age = shifted(&self.age, w, h, shift, NEVER);
        let count: Vec<f32> = self.count.iter().map(|&c| c as f32).collect();
        self.count = shifted(&count, w, h, shift, 0.0).iter().map(|&c| c as u16).collect();
        self.position = self.position.each_ref().map(|p| shifted(p, w, h, shift, 0.5));
        // Pixels moved in from outside have no previous value: NaN marks them.
        self.previous = self.previous.as_ref().map(|p| shifted(p, w, h, shift, f32::NAN));
    }

    /// Whether most samples that land on recently observed pixels disagree with what
    /// was observed there: observations against observations, so a poor previous
    /// reconstruction of fine texture never looks like a cut.
    fn is_scene_cut(&self, samples: &[GridSample]) -> bool {
        let recent = self.config.union_frames as f32;
        let (mut compared, mut differ) = (0usize, 0usize);
        for s in samples {
            let (x, y) = s.pixel(self.width, self.height);
            let i = y * self.width + x;
            if self.age[i] <= recent {
                compared += 1;
                differ += ((s.value - self.canvas[i]).abs() > self.config.contradiction_threshold) as usize;
            }
        }
        compared >= MIN_SAMPLES_FOR_CUT && differ as f32 > self.config.scene_cut_fraction * compared as f32
    }

    /// The share of samples that differ from the (moved) previous reconstruction by more
    /// than the threshold, and the per-pixel |difference| at the samples.
    fn contradiction(&self, samples: &[GridSample]) -> (f32, Vec<(usize, f32)>) {
        let Some(previous) = &self.previous else { return (0.0, Vec::new()) };
        let mut differences = Vec::with_capacity(samples.len());
        let mut contradicted = 0usize;
        for s in samples {
            let (x, y) = s.pixel(self.width, self.height);
            let p = previous[y * self.width + x];
            if p.is_finite() {
                let difference = (s.value - p).abs();
                contradicted += (difference > self.config.contradiction_threshold) as usize;
                differences.push((y * self.width + x, difference));
            }
        }
        let share = if differences.is_empty() { 0.0 } else { contradicted as f32 / differences.len() as f32 };
        (share, differences)
    }

    fn age_by(&mut self, frames: f32) {
        if frames > 0.0 {
            self.age.iter_mut().for_each(|a| *a += frames);
        }
    }

    /// Writes the samples into the canvas and returns this frame's per-pixel sums and
    /// counts. A pixel seen recently with a similar value averages its samples (they
    /// fall at different sub-pixel positions, which is how history passes the one-frame
    /// aliasing limit); a changed or stale one starts over.
    fn write_samples(&mut self, samples: &[GridSample]) -> (Vec<f32>, Vec<f32>) {
        let n = self.width * self.height;
        let (mut sum, mut count) = (vec![0.0f32; n], vec![0.0f32; n]);
        let mut position_sum = [vec![0.0f32; n], vec![0.0f32; n]];
        for s in samples {
            let (x, y) = s.pixel(self.width, self.height);
            let i = y * self.width + x;
            sum[i] += s.value;
            count[i] += 1.0;
            position_sum[0][i] += (s.x - x as f32).clamp(0.0, 1.0);
            position_sum[1][i] += (s.y - y as f32).clamp(0.0, 1.0);
        }
        let recent = self.config.union_frames as f32;
        let cap = self.config.accumulate_frames.max(1) as u16;
        for i in (0..n).filter(|&i| count[i] > 0.0) {
            let value = sum[i] / count[i];
            let position = position_sum.each_ref().map(|p| p[i] / count[i]);
            let similar = (value - self.canvas[i]).abs() <= self.config.contradiction_threshold;
            if self.age[i] <= recent && similar && self.count[i] > 0 {
                let c = self.count[i].min(cap - 1) + 1;
                self.canvas[i] += (value - self.canvas[i]) / c as f32;
                for (axis, p) in self.position.iter_mut().zip(position) {
                    axis[i] += (p - axis[i]) / c as f32;
                }
                self.count[i] = c;
            } else {
                self.canvas[i] = value;
                for (axis, p) in self.position.iter_mut().zip(position) {
                    axis[i] = p;
                }
                self.count[i] = 1;
            }
            self.age[i] = 0.0;
        }
        (sum, count)
    }

    fn planes(&self, samples: &[GridSample], sum: &[f32], count: &[f32], contradiction: Vec<(usize, f32)>) -> TemporalInputs {
        let (w, h) = (self.width, self.height);
        let n = w * h;
        let mut inputs = TemporalInputs::zeros(w, h);
        let current_confidence: Vec<f32> = count.iter().map(|&c| c.min(1.0)).collect();
        let current_weighted: Vec<f32> =
            sum.iter().zip(count).map(|(&s, &c)| if c > 0.0 { s / c } else { 0.0 }).collect();
        let current_mean = mean_of(sum, count);
        let recent = self.config.union_frames as f32;
        let in_union = |i: usize| self.age[i] < recent;
        let fill = |weighted: &[f32], weight: &[f32]| push_pull(&Sparse { width: w, height: h, weighted, weight }, current_mean);
        let (interpolated_current, interpolated_union) = match self.config.interpolation {
            SampleInterpolation::Snapped => {
                let union_weight: Vec<f32> = (0..n).map(|i| in_union(i) as u8 as f32).collect();
                let union_weighted: Vec<f32> = self.canvas.iter().zip(&union_weight).map(|(&v, &c)| v * c).collect();
                (fill(&current_weighted, &current_confidence), fill(&union_weighted, &union_weight))
            }
            SampleInterpolation::Splatted => {
                let (weighted, weight) = splat(w, h, samples.iter().map(|s| (s.x, s.y, s.value)));
                let current = fill(&weighted, &weight);
                let seen = (0..n).filter(|&i| in_union(i)).map(|i| {
                    let (x, y) = ((i % w) as f32 + self.position[0][i], (i / w) as f32 + self.position[1][i]);
                    (x, y, self.canvas[i])
                });
                let (weighted, weight) = splat(w, h, seen);
                (current, fill(&weighted, &weight))
            }
        };

        let mut contradiction_sum = vec![0.0f32; n];
        let mut contradiction_weight = vec![0.0f32; n];
        for (i, difference) in contradiction {
            contradiction_sum[i] += difference;
            contradiction_weight[i] += 1.0;
        }
        let contradiction_mean: Vec<f32> = contradiction_sum
            .iter()
            .zip(&contradiction_weight)
            .map(|(&s, &c)| if c > 0.0 { s / c } else { 0.0 })
            .collect();
        let contradiction_weight: Vec<f32> = contradiction_weight.iter().map(|&c| c.min(1.0)).collect();
        let contradiction =
            push_pull(&Sparse { width: w, height: h, weighted: &contradiction_mean, weight: &contradiction_weight }, 0.0);

        let age_scale = (1.0f32 + 64.0).ln();
        for i in 0..n {
            let previous = self.previous.as_ref().map_or(f32::NAN, |p| p[i]);
            let planes = [
                (Plane::Samples, current_weighted[i]),
                (Plane::Mask, current_confidence[i]),
                (Plane::InterpolatedCurrent, interpolated_current[i]),
                (Plane::InterpolatedUnion, interpolated_union[i]),
                (Plane::WarpedPrevious, if previous.is_finite() { previous } else { interpolated_union[i] }),
                (Plane::Canvas, if self.age[i].is_finite() { self.canvas[i] } else { interpolated_union[i] }),
                (Plane::Age, ((1.0 + self.age[i]).ln() / age_scale).min(1.0)),
                (Plane::PreviousValid, previous.is_finite() as u8 as f32),
                (Plane::Contradiction, contradiction[i]),
            ];
            for (plane, value) in planes {
                inputs.planes[plane as usize * n + i] = value;
            }
        }
        inputs
    }
}

fn mean_of(sum: &[f32], count: &[f32]) -> f32 {
    let total: f32 = count.iter().sum();
    if total > 0.0 {
        sum.iter().sum::<f32>() / total
    } else {
        0.5
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> TemporalConfig {
        TemporalConfig::default()
    }

    /// A horizontally scrolling random texture (no shift of it looks like another),
    /// `offset` pixels to the right.
    fn scene(x: f32, y: f32, offset: f32) -> f32 {
        let (x, y) = ((x - offset).floor() as i64, y.floor() as i64);
        let mut h = (x.wrapping_mul(0x9E37_79B9) ^ y.wrapping_mul(0x85EB_CA6B)) as u64;
        h ^= h >> 15;
        h = h.wrapping_mul(0x2C1B_3C6D);
        h ^= h >> 12;
        (h % 11) as f32 / 10.0
    }

    /// Samples of the scene on a jittered grid of `count` points.
    fn samples(frame: u64, count: usize, w: usize, h: usize, offset: f32) -> Vec<[f32; 3]> {
        (0..count)
            .map(|i| {
                let j = (i as u64 * 2654435761 + frame * 40503) % (w * h) as u64;
                let (x, y) = ((j % w as u64) as f32 + 0.5, (j / w as u64) as f32 + 0.5);
                [x / w as f32, y / h as f32, scene(x, y, offset) * 255.0]
            })
            .collect()
    }

    #[test]
    fn history_fills_the_canvas_of_a_still_scene() {
        let (w, h) = (32, 32);
        let mut memory = SessionMemory::new(&config(), w, h);
        let (first, _) = memory.observe(1, 0.0, &samples(1, 150, w, h, 0.0));
        let mut inputs = first.clone();
        for frame in 2..=8 {
            let (next, observation) = memory.observe(frame, frame as f64 / 30.0, &samples(frame, 150, w, h, 0.0));
            assert_eq!(observation.reset, None);
            inputs = next;
            memory.remember(inputs.plane(Plane::InterpolatedUnion).to_vec());
        }
        let error = |plane: &[f32]| {
            plane.iter().enumerate().map(|(i, v)| (v - scene((i % w) as f32, (i / w) as f32, 0.0)).abs()).sum::<f32>()
        };
        // Eight frames of samples explain the scene far better than one.
        assert!(error(inputs.plane(Plane::InterpolatedUnion)) < 0.5 * error(first.plane(Plane::InterpolatedCurrent)));
        assert!(inputs.plane(Plane::Age).iter().filter(|&&a| a < 1.0).count() > w * h / 2);
    }

    #[test]
    fn splatted_interpolation_keeps_sub_pixel_positions() {
        // A smooth scene sampled at random points within pixels: snapping a sample to its
        // pixel's centre errs by the gradient times the offset; splatting does not.
        let (w, h) = (40, 30);
        let scene = |x: f32, y: f32| 0.5 + 0.4 * (x * 0.35).sin() * (y * 0.25).cos();
        let error_of = |interpolation: SampleInterpolation| {
            let mut memory = SessionMemory::new(&TemporalConfig { interpolation, ..config() }, w, h);
            let mut inputs = None;
            for frame in 0..6u64 {
                let pixels: Vec<[f32; 3]> = (0..300u64)
                    .map(|i| {
                        let k = i * 7919 + frame * 104_729;
                        let jitter = |salt: u64| ((k.wrapping_mul(2_654_435_761) >> salt) % 1000) as f32 / 1000.0;
                        let (x, y) = ((k % w as u64) as f32 + jitter(3), ((k / w as u64) % h as u64) as f32 + jitter(13));
                        [x / w as f32, y / h as f32, scene(x, y) * 255.0]
                    })
                    .collect();
                let (next, _) = memory.observe(frame, frame as f64 / 30.0, &pixels);
                memory.remember(next.plane(Plane::InterpolatedUnion).to_vec());
                inputs = Some(next);
            }
            let union = inputs.expect("frames ran").plane(Plane::InterpolatedUnion).to_vec();
            union.iter().enumerate().map(|(i, v)| (v - scene((i % w) as f32 + 0.5, (i / w) as f32 + 0.5)).abs()).sum::<f32>()
        };
        let (snapped, splatted) = (error_of(SampleInterpolation::Snapped), error_of(SampleInterpolation::Splatted));
        // 17.5 against 23.6 (sum of absolute errors over 1200 pixels).
        assert!(splatted < 0.8 * snapped, "splatted {splatted}, snapped {snapped}");
    }

    #[test]
    fn scroll_is_followed() {
        let (w, h) = (48, 32);
        let mut memory = SessionMemory::new(&config(), w, h);
        for frame in 1..=6u64 {
            let offset = 2.0 * frame as f32;
            let (inputs, observation) = memory.observe(frame, frame as f64 / 30.0, &samples(frame, 400, w, h, offset));
            if frame > 2 {
                assert_eq!(observation.shift, Shift { dx: 2, dy: 0 }, "frame {frame}");
            }
            // Pretend the model reconstructed perfectly.
            let truth: Vec<f32> = (0..w * h).map(|i| scene((i % w) as f32 + 0.5, (i / w) as f32 + 0.5, offset)).collect();
            assert!(inputs.plane(Plane::Canvas).len() == w * h);
            memory.remember(truth);
        }
    }

    #[test]
    fn ids_and_gaps_decide_what_history_survives() {
        let (w, h) = (16, 16);
        let mut memory = SessionMemory::new(&config(), w, h);
        let pixels = samples(1, 40, w, h, 0.0);
        assert_eq!(memory.observe(10, 1.0, &pixels).1.reset, None);
        let repeat = memory.observe(10, 1.0, &pixels).1;
        assert_eq!((repeat.frames_elapsed, repeat.reset), (0, None));
        assert_eq!(memory.observe(13, 1.1, &pixels).1.frames_elapsed, 3);
        assert_eq!(memory.observe(12, 1.2, &pixels).1.reset, Some(Reset::Backwards));
        assert_eq!(memory.observe(13, 60.0, &pixels).1.reset, Some(Reset::Gap));
        assert_eq!(memory.observe(13 + config().max_frame_gap + 1, 60.1, &pixels).1.reset, Some(Reset::Gap));
        memory.reset();
        assert_eq!(memory.observe(500, 60.2, &pixels).1.reset, Some(Reset::Requested));
        assert_eq!(memory.resets(), 4);
        // After a reset nothing old survives: only this frame's pixels have an age.
        let (inputs, _) = memory.observe(501, 60.3, &pixels);
        let seen = inputs.plane(Plane::Age).iter().filter(|&&a| a < 1.0).count();
        let sampled = inputs.plane(Plane::Mask).iter().filter(|&&m| m > 0.0).count();
        assert!(seen <= sampled + 1, "{seen} pixels have history, {sampled} sampled");
    }

    #[test]
    fn a_scene_cut_drops_history_and_contradictions_are_marked() {
        let (w, h) = (32, 32);
        let mut memory = SessionMemory::new(&config(), w, h);
        memory.observe(1, 0.0, &samples(1, 200, w, h, 0.0));
        memory.remember(vec![0.0; w * h]); // a black previous frame
        // A bright frame contradicts it everywhere.
        let bright: Vec<[f32; 3]> = samples(1, 200, w, h, 0.0).iter().map(|&[u, v, _]| [u, v, 250.0]).collect();
        let (inputs, observation) = memory.observe(2, 0.03, &bright);
        assert_eq!(observation.reset, Some(Reset::SceneCut));
        assert!(inputs.plane(Plane::PreviousValid).iter().all(|&v| v == 0.0));
        // A local change only marks where it happened.
        memory.remember(vec![250.0 / 255.0; w * h]);
        let local: Vec<[f32; 3]> = samples(3, 200, w, h, 0.0)
            .iter()
            .map(|&[u, v, _]| [u, v, if u < 0.25 && v < 0.25 { 0.0 } else { 250.0 }])
            .collect();
        let (inputs, observation) = memory.observe(3, 0.06, &local);
        assert_eq!(observation.reset, None);
        let contradiction = inputs.plane(Plane::Contradiction);
        assert!(contradiction[2 * w + 2] > 0.5 && contradiction[(h - 3) * w + w - 3] < 0.1);
    }
}
