//! Examples into batches: sorted by pixel count so a batch pads little, then the batch
//! order shuffled so training does not see small frames first.

use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use super::positions::Example;

pub fn into_batches(mut examples: Vec<Example>, batch_size: usize, rng: &mut ChaCha8Rng) -> Vec<Vec<Example>> {
    examples.sort_by_key(|e| e.visible.len());
    let mut batches = Vec::new();
    let mut rest = examples.into_iter().peekable();
    while rest.peek().is_some() {
        batches.push(rest.by_ref().take(batch_size.max(1)).collect::<Vec<_>>());
    }
    batches.shuffle(rng);
    batches
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    #[test]
    fn batches_hold_neighbouring_pixel_counts_and_every_example_once() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let examples: Vec<Example> = (0..50)
            .map(|i| Example { frame: i, visible: vec![[0.0; 3]; rng.random_range(1..400)], scored: vec![] })
            .collect();
        let mut counts: Vec<usize> = examples.iter().map(|e| e.visible.len()).collect();
        counts.sort();
        let batches = into_batches(examples, 8, &mut rng);
        assert_eq!(batches.len(), 7);
        let mut seen: Vec<usize> = batches.iter().flatten().map(|e| e.frame).collect();
        seen.sort();
        assert_eq!(seen, (0..50).collect::<Vec<_>>());
        // Each batch is a run of the sorted counts: padding stays small.
        for batch in &batches {
            let lengths: Vec<usize> = batch.iter().map(|e| e.visible.len()).collect();
            let (lo, hi) = (*lengths.iter().min().unwrap(), *lengths.iter().max().unwrap());
            let inside = counts.iter().filter(|&&c| c >= lo && c <= hi).count();
            assert!(inside <= batch.len() + counts.iter().filter(|&&c| c == lo || c == hi).count());
        }
    }
}
