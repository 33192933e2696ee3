//! How each strategy fills a selection. The strategies only offer pixels; the selection
//! decides, so duplicates and the minimum distance are handled in one place.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::grid::CellGrid;
use super::order::{random_order, weighted_order};
use super::selection::Selection;

/// The `uniform` strategy: the middle pixels of `count` evenly spread cells of the
/// aspect-aware grid, row by row. The grid never has two points on one pixel, and it is
/// as evenly spaced as `count` points can be, so the minimum distance is not applied:
/// relaxing it would only bring back the same points.
pub(super) fn grid_pixels(width: usize, height: usize, count: usize) -> Vec<usize> {
    let grid = CellGrid::for_count(width, height, count);
    grid.spread_cells(count)
        .map(|(col, row)| grid.centre_pixel(col, row))
        .collect()
}

/// Uniformly random pixels until `target` are chosen.
pub(super) fn random(selection: &mut Selection, target: usize, rng: &mut ChaCha8Rng) {
    let pixel_count = selection.pixel_count();
    selection.add_relaxing(random_order(pixel_count, rng), target);
}

/// Stratified sampling over `cells` evenly spread cells of the aspect-aware grid: in each
/// cell, one random pixel that is free and clear of the chosen ones, until `target` are
/// chosen. A cell with no such pixel is skipped; [`fill_randomly`] makes up the count.
pub(super) fn stratified(
    selection: &mut Selection,
    cells: usize,
    target: usize,
    rng: &mut ChaCha8Rng,
) {
    if cells == 0 {
        return;
    }
    let width = selection.width();
    let grid = CellGrid::for_count(width, selection.height(), cells);
    let mut cell_pixels = Vec::new();
    for (col, row) in grid.spread_cells(cells) {
        if selection.len() >= target {
            return;
        }
        let (xs, ys) = grid.cell_bounds(col, row);
        cell_pixels.clear();
        cell_pixels.extend(ys.flat_map(|y| xs.clone().map(move |x| y * width + x)));
        add_one_of(selection, &mut cell_pixels, rng);
    }
}

/// Weighted sampling without replacement in proportion to `importance` until `target`
/// are chosen. A map without any positive value gives no preference: every pixel weighs
/// the same. Zero-importance pixels are otherwise left to [`fill_randomly`].
pub(super) fn importance(
    selection: &mut Selection,
    importance: &[f32],
    target: usize,
    rng: &mut ChaCha8Rng,
) {
    if importance.iter().any(|&value| value > 0.0) {
        selection.add_relaxing(weighted_order(importance, rng), target);
    } else {
        random(selection, target, rng);
    }
}

/// Systematic sampling along `curve` (every pixel once, neighbours near each other, e.g.
/// [`super::order::hilbert_order`]): picks at evenly spaced points of the running sum of
/// `weights`, after one random start. Each pixel is drawn in proportion to its weight,
/// as with weighted sampling, but the picks are spread: a flat map gives an even,
/// stratified cover instead of random clumps and holes. Pixels already chosen weigh
/// nothing; a pixel heavy enough for several picks takes one, and weighted sampling
/// makes up the rest.
pub(super) fn systematic(selection: &mut Selection, weights: &[f32], curve: &[usize], target: usize, rng: &mut ChaCha8Rng) {
    let weight = |pixel: usize, selection: &Selection| {
        let w = weights[pixel];
        if w.is_finite() && w > 0.0 && !selection.is_taken(pixel) { f64::from(w) } else { 0.0 }
    };
    let wanted = target.saturating_sub(selection.len());
    let total: f64 = curve.iter().map(|&pixel| weight(pixel, selection)).sum();
    if wanted == 0 || total <= 0.0 {
        return importance(selection, weights, target, rng);
    }
    let step = total / wanted as f64;
    let mut next = rng.random::<f64>() * step;
    let mut running = 0.0;
    for &pixel in curve {
        running += weight(pixel, selection);
        if running > next {
            selection.add_if_clear(pixel);
            while next < running {
                next += step;
            }
        }
    }
    importance(selection, weights, target, rng);
}

/// Makes up any shortfall with random pixels, so every call returns its exact count.
pub(super) fn fill_randomly(selection: &mut Selection, target: usize, rng: &mut ChaCha8Rng) {
    if selection.len() < target {
        random(selection, target, rng);
    }
}

/// Tries `candidates` in random order until the selection accepts one.
fn add_one_of(selection: &mut Selection, candidates: &mut [usize], rng: &mut ChaCha8Rng) {
    for i in 0..candidates.len() {
        candidates.swap(i, rng.random_range(i..candidates.len()));
        if selection.add_if_clear(candidates[i]) {
            return;
        }
    }
}
