//! A spatial hash for the minimum-distance constraint.

/// Accepted UV points bucketed into square cells of side `cell_size`, so that checking a
/// radius up to `cell_size` looks at the 3x3 neighbouring cells instead of every point.
pub(super) struct SpacingGrid {
    cell_size: f32,
    cells_per_side: usize,
    /// The most recently inserted point of each cell (an index into `points`).
    heads: Vec<Option<usize>>,
    /// For each point, the point inserted before it into the same cell.
    next_in_cell: Vec<Option<usize>>,
    points: Vec<[f32; 2]>,
}

impl SpacingGrid {
    /// A grid for checks of radius at most `cell_size` (> 0) over the unit UV square.
    pub fn new(cell_size: f32) -> Self {
        let cells_per_side = (1.0 / cell_size).ceil().max(1.0) as usize;
        Self {
            cell_size,
            cells_per_side,
            heads: vec![None; cells_per_side * cells_per_side],
            next_in_cell: Vec::new(),
            points: Vec::new(),
        }
    }

    /// Whether no accepted point lies closer than `radius` (at most the cell size) to `uv`.
    pub fn is_clear(&self, uv: [f32; 2], radius: f32) -> bool {
        debug_assert!(radius <= self.cell_size);
        let (col, row) = self.cell_of(uv);
        let neighbours = |i: usize| i.saturating_sub(1)..=(i + 1).min(self.cells_per_side - 1);
        for r in neighbours(row) {
            for c in neighbours(col) {
                let mut point = self.heads[r * self.cells_per_side + c];
                while let Some(index) = point {
                    let [u, v] = self.points[index];
                    let (du, dv) = (u - uv[0], v - uv[1]);
                    if du * du + dv * dv < radius * radius {
                        return false;
                    }
                    point = self.next_in_cell[index];
                }
            }
        }
        true
    }

    pub fn insert(&mut self, uv: [f32; 2]) {
        let (col, row) = self.cell_of(uv);
        let cell = row * self.cells_per_side + col;
        let index = self.points.len();
        self.points.push(uv);
        self.next_in_cell.push(self.heads[cell]);
        self.heads[cell] = Some(index);
    }

    fn cell_of(&self, [u, v]: [f32; 2]) -> (usize, usize) {
        let last = self.cells_per_side - 1;
        let index = |t: f32| ((t / self.cell_size) as usize).min(last);
        (index(u), index(v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sees_points_in_neighbouring_cells_only_within_the_radius() {
        let mut grid = SpacingGrid::new(0.1);
        grid.insert([0.29, 0.5]);
        assert!(
            !grid.is_clear([0.31, 0.5], 0.1),
            "close, across a cell border"
        );
        assert!(grid.is_clear([0.31, 0.5], 0.01), "a smaller radius");
        assert!(grid.is_clear([0.40, 0.5], 0.1), "just beyond the radius");
        assert!(grid.is_clear([0.9, 0.9], 0.1));
    }
}
