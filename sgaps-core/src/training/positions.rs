//! Which pixels one training example shows the model, and where it is scored.
//!
//! Recorded frames give a random subset of the pixels the client sent, scored on all of
//! them (masked sparse modelling: the hidden ones must be predicted). Frames with ground
//! truth may instead be sampled afresh, as a client would sample them: on the uniform
//! grid the open loop uses, stratified at random, or (phase 3) where the model's own
//! importance sends the adaptive sampler; then every pixel of the frame is scored too.

use image::GrayImage;
use rand::seq::SliceRandom;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::dataset::TrainingFrame;
use crate::pipeline::Pixel;

/// One training example of frame `frame` (an index into the training frames).
#[derive(Debug, Clone)]
pub struct Example {
    pub frame: usize,
    /// What the model sees: (u, v, value), all in [0, 1].
    pub visible: Vec<[f32; 3]>,
    /// Where the sampled-pixel loss is taken.
    pub scored: Vec<[f32; 3]>,
}

/// How an example's positions are chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Positions {
    /// A `visible_fraction` subset of the recorded pixels.
    Recorded,
    /// Fresh positions on the true frame, `count` of them.
    Grid(usize),
    Stratified(usize),
    /// Left for the trainer: the model's importance decides (closed-loop phases, half
    /// of the fresh examples).
    Adaptive(usize),
}

/// Draws how example `frame` is made: afresh with probability `resample_fraction` when
/// the frame has ground truth (or no recorded pixels), else from the recorded pixels.
pub fn choose(
    frame: &TrainingFrame,
    resample_fraction: f64,
    counts: [usize; 2],
    closed_loop: bool,
    rng: &mut ChaCha8Rng,
) -> Positions {
    let fresh = frame.truth.is_some() && (frame.pixels.is_empty() || rng.random_bool(resample_fraction.clamp(0.0, 1.0)));
    if !fresh {
        return Positions::Recorded;
    }
    let count = rng.random_range(counts[0].min(counts[1])..=counts[1].max(counts[0]));
    // Closed-loop phases still see some grids, so open-loop clients are not forgotten.
    if closed_loop && rng.random_bool(0.5) {
        return Positions::Adaptive(count);
    }
    match rng.random_bool(0.5) {
        true => Positions::Grid(count),
        false => Positions::Stratified(count),
    }
}

/// A random `fraction`-sized subset of the recorded pixels, scored on all of them.
pub fn recorded_subset(index: usize, frame: &TrainingFrame, fraction: [f64; 2], rng: &mut ChaCha8Rng) -> Example {
    let share = rng.random_range(fraction[0].min(fraction[1])..=fraction[1].max(fraction[0]));
    let keep = ((frame.pixels.len() as f64 * share).round() as usize).clamp(1, frame.pixels.len());
    let mut visible = frame.pixels.clone();
    visible.shuffle(rng);
    visible.truncate(keep);
    Example { frame: index, visible, scored: frame.pixels.clone() }
}

/// The true frame's values at `coordinates` as a client samples them (see
/// [`Pixel::sample`]), scaled to [0, 1].
pub fn sample_truth(truth: &GrayImage, coordinates: &[[f32; 2]]) -> Vec<[f32; 3]> {
    Pixel::sample(truth, coordinates).into_iter().map(|p| [p.u, p.v, p.value / 255.0]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn frame(pixels: usize, truth: bool) -> TrainingFrame {
        TrainingFrame {
            pixels: (0..pixels).map(|i| [i as f32 / pixels as f32, 0.5, 0.25]).collect(),
            state: vec![],
            truth: truth.then(|| GrayImage::from_fn(8, 4, |x, y| image::Luma([(x * 10 + y) as u8]))),
            target: None,
        }
    }

    #[test]
    fn a_subset_hides_pixels_but_scores_them_all() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let f = frame(100, false);
        let example = recorded_subset(3, &f, [0.5, 0.5], &mut rng);
        assert_eq!(example.visible.len(), 50);
        assert_eq!(example.scored, f.pixels);
        assert!(example.visible.iter().all(|p| f.pixels.contains(p)));
    }

    #[test]
    fn frames_without_truth_always_use_recorded_pixels() {
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let f = frame(10, false);
        assert!((0..50).all(|_| choose(&f, 1.0, [250, 1000], false, &mut rng) == Positions::Recorded));
        let g = frame(10, true);
        let fresh = (0..200).filter(|_| choose(&g, 0.5, [250, 1000], false, &mut rng) != Positions::Recorded).count();
        assert!((60..140).contains(&fresh), "about half fresh, got {fresh}");
    }

    #[test]
    fn truth_is_sampled_where_a_client_samples() {
        let f = frame(0, true);
        let truth = f.truth.as_ref().unwrap();
        let values = sample_truth(truth, &[[0.0, 0.0], [0.99, 0.99], [0.5, 0.5]]);
        assert_eq!(values[0][2], 0.0);
        assert_eq!(values[1][2], (7 * 10 + 3) as f32 / 255.0);
        assert_eq!(values[2][2], (4 * 10 + 2) as f32 / 255.0);
    }
}
