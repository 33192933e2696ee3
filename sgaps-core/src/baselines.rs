//! Classical reconstructions from one frame's samples, the yardstick a learned model
//! must beat: nearest-neighbour and linear interpolation over the Delaunay
//! triangulation of the sample positions (what scipy's `griddata` does).
//!
//! Samples are (u, v, value 0..255); output pixels are evaluated at their centres, so a
//! sample placed at a pixel centre is reproduced exactly.

use image::GrayImage;
use spade::{DelaunayTriangulation, HasPosition, Point2, PositionInTriangulation, Triangulation};

struct Sample {
    position: Point2<f64>,
    value: f64,
}

impl HasPosition for Sample {
    type Scalar = f64;

    fn position(&self) -> Point2<f64> {
        self.position
    }
}

/// The samples' triangulation in pixel units of a `width` x `height` frame; samples
/// with non-finite coordinates are skipped, and of samples at one position the last
/// one counts.
fn triangulate(samples: &[[f32; 3]], width: u32, height: u32) -> DelaunayTriangulation<Sample> {
    let mut triangulation = DelaunayTriangulation::new();
    // f32 UV coordinates of pixel centres come back a hair off (0.49999997); snapping
    // to 1/1024 pixel puts them back, so the hull's edges run through pixel centres.
    let snap = |x: f64| (x * 1024.0).round() / 1024.0;
    for &[u, v, value] in samples {
        let position = Point2::new(snap(u as f64 * width as f64), snap(v as f64 * height as f64));
        if position.x.is_finite() && position.y.is_finite() {
            // Only a non-finite position fails to insert; those were filtered above.
            let _ = triangulation.insert(Sample { position, value: value as f64 });
        }
    }
    triangulation
}

fn to_u8(value: f64) -> u8 {
    value.round().clamp(0.0, 255.0) as u8
}

fn pixel_centre(x: u32, y: u32) -> Point2<f64> {
    Point2::new(x as f64 + 0.5, y as f64 + 0.5)
}

/// Every pixel takes the value of the nearest sample; all black without samples.
pub fn nearest_neighbour(samples: &[[f32; 3]], width: u32, height: u32) -> GrayImage {
    let triangulation = triangulate(samples, width, height);
    GrayImage::from_fn(width, height, |x, y| {
        let nearest = triangulation.nearest_neighbor(pixel_centre(x, y));
        image::Luma([nearest.map_or(0, |v| to_u8(v.data().value))])
    })
}

/// Linear (barycentric) interpolation inside the triangulation, its boundary included;
/// outside its convex hull, and when the samples are collinear, the nearest sample's
/// value.
pub fn linear_delaunay(samples: &[[f32; 3]], width: u32, height: u32) -> GrayImage {
    let triangulation = triangulate(samples, width, height);
    GrayImage::from_fn(width, height, |x, y| {
        let centre = pixel_centre(x, y);
        let value = match triangulation.locate(centre) {
            PositionInTriangulation::OnFace(face) => {
                let face = triangulation.face(face);
                let weights = face.barycentric_interpolation(centre);
                face.vertices().iter().zip(weights).map(|(v, w)| v.data().value * w).sum()
            }
            PositionInTriangulation::OnEdge(edge) => {
                // Pixel centres on the hull's boundary: linear along the edge.
                let edge = triangulation.directed_edge(edge);
                let (a, b) = (edge.from(), edge.to());
                let (pa, pb) = (a.position(), b.position());
                let length2 = (pb.x - pa.x).powi(2) + (pb.y - pa.y).powi(2);
                let t = ((centre.x - pa.x) * (pb.x - pa.x) + (centre.y - pa.y) * (pb.y - pa.y)) / length2;
                a.data().value + t.clamp(0.0, 1.0) * (b.data().value - a.data().value)
            }
            PositionInTriangulation::OnVertex(vertex) => triangulation.vertex(vertex).data().value,
            _ => triangulation.nearest_neighbor(centre).map_or(0.0, |v| v.data().value),
        };
        image::Luma([to_u8(value)])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Samples of `f` at the centres of every `step`-th pixel, corners included.
    fn grid_samples(width: u32, height: u32, step: u32, f: impl Fn(f64, f64) -> f64) -> Vec<[f32; 3]> {
        let mut xs: Vec<u32> = (0..width).step_by(step as usize).collect();
        let mut ys: Vec<u32> = (0..height).step_by(step as usize).collect();
        xs.push(width - 1);
        ys.push(height - 1);
        let mut samples = Vec::new();
        for &y in &ys {
            for &x in &xs {
                let (px, py) = (x as f64 + 0.5, y as f64 + 0.5);
                samples.push([(px / width as f64) as f32, (py / height as f64) as f32, f(px, py) as f32]);
            }
        }
        samples
    }

    #[test]
    fn linear_interpolation_reproduces_a_plane() {
        // A plane is reproduced exactly by any triangulation, up to rounding to u8.
        let plane = |x: f64, y: f64| 10.0 + 2.0 * x + 1.5 * y;
        let samples = grid_samples(64, 48, 7, plane);
        let image = linear_delaunay(&samples, 64, 48);
        for (x, y, p) in image.enumerate_pixels() {
            let expected = plane(x as f64 + 0.5, y as f64 + 0.5).round();
            assert!((p[0] as f64 - expected).abs() <= 1.0, "({x}, {y}): {} vs {expected}", p[0]);
        }
    }

    #[test]
    fn nearest_neighbour_copies_the_closest_sample() {
        // Two samples: the left half takes the left one's value, the right half the other.
        let samples = [[0.25, 0.5, 40.0], [0.75, 0.5, 200.0]];
        let image = nearest_neighbour(&samples, 8, 4);
        for (x, _, p) in image.enumerate_pixels() {
            assert_eq!(p[0], if x < 4 { 40 } else { 200 }, "x = {x}");
        }
    }

    #[test]
    fn samples_at_pixel_centres_are_reproduced_exactly() {
        let samples = grid_samples(32, 24, 5, |x, y| ((x * 7.0 + y * 13.0) % 256.0).floor());
        for image in [nearest_neighbour(&samples, 32, 24), linear_delaunay(&samples, 32, 24)] {
            for s in &samples {
                let (x, y) = ((s[0] * 32.0) as u32, (s[1] * 24.0) as u32);
                assert_eq!(image.get_pixel(x, y)[0] as f32, s[2]);
            }
        }
    }

    #[test]
    fn degenerate_inputs_do_not_fail() {
        assert!(linear_delaunay(&[], 4, 4).iter().all(|&p| p == 0));
        // Collinear samples have no triangles: nearest sample everywhere.
        let line = [[0.1, 0.5, 10.0], [0.5, 0.5, 20.0], [0.9, 0.5, 30.0]];
        let image = linear_delaunay(&line, 10, 10);
        assert_eq!(image.get_pixel(0, 0)[0], 10);
        assert_eq!(image.get_pixel(9, 9)[0], 30);
        // Duplicates (the last counts) and non-finite positions are tolerated.
        let odd = [[0.5, 0.5, 50.0], [0.5, 0.5, 90.0], [f32::NAN, 0.2, 1.0]];
        assert!(nearest_neighbour(&odd, 4, 4).iter().all(|&p| p == 90));
    }
}
