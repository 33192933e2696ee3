//! The `space_time` strategy's pattern: stratified over space and over time.
//!
//! The frame is tiled into exactly `cells` cells (the rows of the aspect-aware
//! [`CellGrid`], each row split into as many cells as it needs), and every frame puts one
//! sample in every cell, so no frame has holes. Within a cell the sample visits the
//! cell's pixels in a low-discrepancy order (where the Halton(2, 3) sequence first lands
//! on each), scrambled per cell by a toroidal shift and a start frame; any `area`
//! consecutive frames visit each of the cell's `area` pixels once, so a static scene is
//! fully covered after (largest cell area) frames. Inside its pixel the sample sits at a
//! continuous offset from the cell's rotated R2 sequence: a client samples its native
//! screen, finer than the sampling resolution, so offsets that vary over time carry
//! sub-pixel detail.

use std::collections::HashMap;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::grid::CellGrid;

/// Sub-pixel offsets stay this far (in pixels) from a pixel's edges, so that rounding u, v
/// to f32 never moves a sample into the neighbouring pixel.
const EDGE_MARGIN: f64 = 1.0 / 1024.0;

/// The largest f32 below 1: u and v stay in [0, 1).
const BELOW_ONE: f32 = 1.0 - f32::EPSILON / 2.0;

/// Steps of the R2 sequence (Roberts 2018): 1/g and 1/g^2 for the plastic number g.
const R2_STEP: [f64; 2] = [0.754_877_666_246_692_7, 0.569_840_290_998_053_3];

/// The space-time pattern of one cell count at one resolution.
#[derive(Debug, Clone)]
pub(super) struct SpaceTime {
    width: usize,
    height: usize,
    cells: Vec<Cell>,
    /// Visiting orders of the pixels of a cell, one per cell shape (cells share them).
    orders: Vec<Vec<usize>>,
}

/// One cell: its pixel rectangle and its scramble.
#[derive(Debug, Clone)]
struct Cell {
    x0: usize,
    y0: usize,
    w: usize,
    h: usize,
    /// Index into [`SpaceTime::orders`].
    order: usize,
    /// Toroidal shift of the visiting order within the cell, in pixels.
    shift: [usize; 2],
    /// The cell's step at frame 0, so that neighbouring cells move out of phase.
    start: u64,
    /// Cranley-Patterson rotation of the cell's sub-pixel sequence.
    rotation: [f64; 2],
}

impl SpaceTime {
    /// The pattern of `cells` samples per frame over a `width x height` image, scrambled
    /// from `seed`. Requires `1 <= cells <= width * height`.
    pub fn new(width: usize, height: usize, cells: usize, seed: u64) -> Self {
        // One stream per cell count: a tiling's scramble depends on the seed alone, not on
        // which other counts were asked for before.
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(cells as u64);
        let rows = CellGrid::for_count(width, height, cells).rows;
        // Rows take floor or ceil of cells / rows cells each, the longer rows spread over
        // the frame. That never exceeds the grid's columns, so every cell has a pixel.
        let (base, extra) = (cells / rows, cells % rows);
        let mut shapes = HashMap::new();
        let mut orders = Vec::new();
        let mut tiles = Vec::with_capacity(cells);
        for row in 0..rows {
            let cols = base + usize::from((row + 1) * extra / rows > row * extra / rows);
            let (y0, y1) = (row * height / rows, (row + 1) * height / rows);
            for col in 0..cols {
                let (x0, x1) = (col * width / cols, (col + 1) * width / cols);
                let (w, h) = (x1 - x0, y1 - y0);
                let order = *shapes.entry((w, h)).or_insert_with(|| {
                    orders.push(halton_order(w, h));
                    orders.len() - 1
                });
                tiles.push(Cell {
                    x0,
                    y0,
                    w,
                    h,
                    order,
                    shift: [rng.random_range(0..w), rng.random_range(0..h)],
                    start: rng.random_range(0..(w * h) as u64),
                    rotation: [rng.random(), rng.random()],
                });
            }
        }
        debug_assert_eq!(tiles.len(), cells);
        Self {
            width,
            height,
            cells: tiles,
            orders,
        }
    }

    /// How many samples each frame holds (one per cell).
    pub fn cells(&self) -> usize {
        self.cells.len()
    }

    /// Frame `frame`'s samples, one per cell in row-major cell order, each as its
    /// row-major pixel and its continuous UV coordinate inside that pixel.
    pub fn frame(&self, frame: u64) -> impl Iterator<Item = (usize, [f32; 2])> + '_ {
        self.cells.iter().map(move |cell| {
            let area = (cell.w * cell.h) as u64;
            let t = frame.wrapping_add(cell.start);
            let (cycle, step) = (t / area, t % area);
            let local = self.orders[cell.order][step as usize];
            let x = cell.x0 + (local % cell.w + cell.shift[0]) % cell.w;
            let y = cell.y0 + (local / cell.w + cell.shift[1]) % cell.h;
            // A pixel comes back once per cycle, each time at the next point of the
            // cell's R2 sequence, so its visits spread over the whole pixel.
            let k = (step + cycle) as f64;
            let offset = [0, 1].map(|axis| (cell.rotation[axis] + k * R2_STEP[axis]).fract());
            (
                y * self.width + x,
                uv_at(x, y, offset, self.width, self.height),
            )
        })
    }
}

/// The UV coordinate of the point at `offset` (each in [0, 1)) inside pixel `(x, y)`.
pub(super) fn uv_at(x: usize, y: usize, offset: [f64; 2], width: usize, height: usize) -> [f32; 2] {
    let coordinate = |pixel: usize, offset: f64, size: usize| {
        let inside = offset.clamp(EDGE_MARGIN, 1.0 - EDGE_MARGIN);
        (((pixel as f64 + inside) / size as f64) as f32).min(BELOW_ONE)
    };
    [
        coordinate(x, offset[0], width),
        coordinate(y, offset[1], height),
    ]
}

/// The pixels of a `w x h` cell (row-major indices) in the order the Halton(2, 3)
/// sequence first lands on them, so any stretch of the order is spread over the cell.
fn halton_order(w: usize, h: usize) -> Vec<usize> {
    let area = w * h;
    let mut seen = vec![false; area];
    let mut order = Vec::with_capacity(area);
    // Any 2^a * 3^b consecutive Halton points put one point in each box of a 2^a x 3^b
    // grid; once 2^a >= 2w and 3^b >= 2h every pixel contains such a box, so this ends.
    let mut index = 0u64;
    while order.len() < area {
        let x = ((radical_inverse(index, 2) * w as f64) as usize).min(w - 1);
        let y = ((radical_inverse(index, 3) * h as f64) as usize).min(h - 1);
        let pixel = y * w + x;
        if !seen[pixel] {
            seen[pixel] = true;
            order.push(pixel);
        }
        index += 1;
    }
    order
}

/// The digits of `index` in `base` mirrored behind the point: the Halton coordinate.
fn radical_inverse(mut index: u64, base: u64) -> f64 {
    let scale = 1.0 / base as f64;
    let (mut value, mut digit_weight) = (0.0, scale);
    while index > 0 {
        value += (index % base) as f64 * digit_weight;
        index /= base;
        digit_weight *= scale;
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    /// The cell holding each pixel, checking on the way that the cells tile the image.
    fn cell_of_pixel(pattern: &SpaceTime) -> Vec<usize> {
        let mut owner = vec![usize::MAX; pattern.width * pattern.height];
        for (index, cell) in pattern.cells.iter().enumerate() {
            for y in cell.y0..cell.y0 + cell.h {
                for x in cell.x0..cell.x0 + cell.w {
                    let pixel = y * pattern.width + x;
                    assert_eq!(owner[pixel], usize::MAX, "pixel ({x}, {y}) in two cells");
                    owner[pixel] = index;
                }
            }
        }
        assert!(
            owner.iter().all(|&cell| cell != usize::MAX),
            "a pixel in no cell"
        );
        owner
    }

    #[test]
    fn cells_tile_the_image_with_exactly_the_count_and_close_to_square() {
        for (width, height, cells) in [
            (112, 112, 500),
            (112, 112, 375),
            (160, 90, 333),
            (7, 300, 50),
            (50, 1, 7),
        ] {
            let pattern = SpaceTime::new(width, height, cells, 1);
            assert_eq!(pattern.cells(), cells);
            cell_of_pixel(&pattern);
        }
        let pattern = SpaceTime::new(112, 112, 500, 1);
        let areas: Vec<usize> = pattern.cells.iter().map(|c| c.w * c.h).collect();
        assert!(areas.iter().all(|&a| (16..=36).contains(&a)), "{areas:?}");
    }

    #[test]
    fn every_cell_holds_exactly_one_sample_every_frame() {
        let pattern = SpaceTime::new(112, 112, 500, 3);
        let owner = cell_of_pixel(&pattern);
        for frame in 0..60 {
            let mut hits = vec![0; pattern.cells()];
            for (index, (pixel, [u, v])) in pattern.frame(frame).enumerate() {
                let (x, y) = ((u * 112.0).floor() as usize, (v * 112.0).floor() as usize);
                assert_eq!(
                    y * 112 + x,
                    pixel,
                    "frame {frame}: uv ({u}, {v}) outside its pixel"
                );
                assert_eq!(
                    owner[pixel], index,
                    "frame {frame}: sample outside its cell"
                );
                hits[owner[pixel]] += 1;
            }
            assert!(hits.iter().all(|&n| n == 1), "frame {frame}");
        }
    }

    #[test]
    fn any_cell_area_consecutive_frames_cover_every_pixel() {
        let (width, height) = (112, 112);
        let pattern = SpaceTime::new(width, height, 500, 5);
        let largest = pattern.cells.iter().map(|c| c.w * c.h).max().unwrap() as u64;
        // Starting anywhere, not only at frame 0.
        for first in [0, 17, 1000] {
            let mut hit = vec![false; width * height];
            for frame in first..first + largest {
                for (pixel, _) in pattern.frame(frame) {
                    hit[pixel] = true;
                }
            }
            let missed = hit.iter().filter(|&&h| !h).count();
            assert_eq!(
                missed,
                0,
                "{missed} pixels missed in frames {first}..{}",
                first + largest
            );
        }
        // Half as many frames cannot cover it: coverage comes from moving, not from luck.
        let mut hit = vec![false; width * height];
        for frame in 0..largest / 2 {
            pattern
                .frame(frame)
                .for_each(|(pixel, _)| hit[pixel] = true);
        }
        assert!(hit.iter().filter(|&&h| h).count() < width * height * 3 / 5);
    }

    #[test]
    fn successive_samples_of_a_cell_are_spread_over_it() {
        // The first six visits of a 6x6 cell land in the six 3x2-pixel blocks.
        let order = halton_order(6, 6);
        let blocks: HashSet<_> = order[..6].iter().map(|p| (p % 6 / 3, p / 6 / 2)).collect();
        assert_eq!(blocks.len(), 6, "{:?}", &order[..6]);
        let mut sorted = order.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..36).collect::<Vec<_>>());
    }

    #[test]
    fn a_pixel_is_sampled_at_a_new_sub_pixel_position_on_every_visit() {
        let (width, height) = (112, 112);
        let pattern = SpaceTime::new(width, height, 500, 9);
        let mut offsets: HashMap<usize, Vec<[f32; 2]>> = HashMap::new();
        for frame in 0..300 {
            for (pixel, [u, v]) in pattern.frame(frame) {
                let fraction = [(u * width as f32).fract(), (v * height as f32).fract()];
                offsets.entry(pixel).or_default().push(fraction);
            }
        }
        // About 10 visits per pixel in 300 frames, each at another position.
        for visits in offsets.values() {
            let distinct: HashSet<_> = visits
                .iter()
                .map(|f| f.map(|t| (t * 1000.0) as u32))
                .collect();
            assert_eq!(distinct.len(), visits.len(), "{visits:?}");
        }
        // Over all pixels the positions fill the pixel square: every 4x4 sub-cell is used.
        let sub_cells: HashSet<_> = offsets
            .values()
            .flatten()
            .map(|f| f.map(|t| (t * 4.0) as u32))
            .collect();
        assert_eq!(sub_cells.len(), 16);
    }

    #[test]
    fn uv_stays_inside_its_pixel_and_below_one() {
        for size in [1, 112, 4099] {
            let last = size - 1;
            for offset in [0.0, 1e-9, 0.5, 1.0 - 1e-12, 1.0] {
                let [u, v] = uv_at(last, 0, [offset, offset], size, size);
                assert!(u < 1.0 && v >= 0.0, "{size} {offset}: ({u}, {v})");
                assert_eq!((u * size as f32).floor() as usize, last);
                assert_eq!((v * size as f32).floor() as usize, 0);
            }
        }
    }
}
