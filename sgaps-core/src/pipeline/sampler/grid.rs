//! The aspect-aware cell grid behind the `uniform` and `stratified` strategies.

use std::ops::Range;

/// A `cols x rows` partition of a `width x height` pixel image into rectangular cells,
/// shaped like the image so that the cells are close to square in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct CellGrid {
    pub cols: usize,
    pub rows: usize,
    width: usize,
    height: usize,
}

impl CellGrid {
    /// The grid with at least `count` cells whose shape follows the image's aspect ratio.
    /// Every cell holds at least one pixel. Requires `1 <= count <= width * height`.
    pub fn for_count(width: usize, height: usize, count: usize) -> Self {
        // cols / rows ~ width / height and cols * rows ~ count.
        let ideal_cols = (count as f64 * width as f64 / height as f64).sqrt();
        let candidates = [ideal_cols.floor(), ideal_cols.ceil()]
            .map(|cols| (cols as usize).clamp(1, width))
            .map(|cols| (cols, count.div_ceil(cols)))
            .into_iter()
            .filter(|&(_, rows)| rows <= height);
        // Fewest unused cells first, so the kept cells stay evenly spaced.
        let best = candidates.min_by(|a, b| {
            let waste = |(cols, rows): (usize, usize)| cols * rows - count;
            let aspect_error = |(cols, rows): (usize, usize)| {
                ((cols as f64 / rows as f64) / (width as f64 / height as f64))
                    .ln()
                    .abs()
            };
            waste(*a)
                .cmp(&waste(*b))
                .then(aspect_error(*a).total_cmp(&aspect_error(*b)))
        });
        // Too tall for the ideal shape: use every row and as many columns as needed.
        let (cols, rows) = best.unwrap_or((count.div_ceil(height), height));
        Self {
            cols,
            rows,
            width,
            height,
        }
    }

    /// `count` of the `cols * rows` cells, as `(col, row)`, spread evenly over the grid in
    /// row-major order, so the unused cells are scattered rather than all in the last row.
    pub fn spread_cells(&self, count: usize) -> impl Iterator<Item = (usize, usize)> + '_ {
        let total = self.cols * self.rows;
        (0..count).map(move |i| {
            // Cell i sits at the centre of the i-th of `count` equal slices of the cells.
            let cell = (2 * i + 1) * total / (2 * count);
            (cell % self.cols, cell / self.cols)
        })
    }

    /// The pixel columns and rows covered by the cell at `(col, row)`.
    pub fn cell_bounds(&self, col: usize, row: usize) -> (Range<usize>, Range<usize>) {
        let xs = col * self.width / self.cols..(col + 1) * self.width / self.cols;
        let ys = row * self.height / self.rows..(row + 1) * self.height / self.rows;
        (xs, ys)
    }

    /// The row-major index of the pixel at the middle of the cell at `(col, row)`.
    pub fn centre_pixel(&self, col: usize, row: usize) -> usize {
        let (xs, ys) = self.cell_bounds(col, row);
        let x = xs.start + xs.len() / 2;
        let y = ys.start + ys.len() / 2;
        y * self.width + x
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_follows_the_aspect_ratio() {
        let grid = CellGrid::for_count(200, 100, 200);
        assert_eq!((grid.cols, grid.rows), (20, 10));
        let grid = CellGrid::for_count(640, 480, 1000);
        let ratio = grid.cols as f64 / grid.rows as f64;
        assert!((ratio - 4.0 / 3.0).abs() < 0.1, "{grid:?}");
        assert!(grid.cols * grid.rows >= 1000);
    }

    #[test]
    fn grid_fits_extreme_shapes() {
        for (width, height, count) in [(1, 50, 50), (50, 1, 7), (3, 200, 600), (200, 2, 399)] {
            let grid = CellGrid::for_count(width, height, count);
            assert!(grid.cols <= width && grid.rows <= height, "{grid:?}");
            assert!(grid.cols * grid.rows >= count, "{grid:?}");
        }
    }

    #[test]
    fn spread_cells_are_distinct_and_reach_the_last_row() {
        let grid = CellGrid::for_count(112, 112, 500);
        let cells: Vec<_> = grid.spread_cells(500).collect();
        let mut sorted = cells.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), 500);
        assert!(cells.iter().any(|&(_, row)| row == grid.rows - 1));
    }
}
