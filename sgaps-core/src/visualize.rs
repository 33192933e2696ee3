//! Pictures of frames for humans: importance heatmaps, sample positions over a frame, and
//! panels side by side. Everything returns an `image` buffer; write it with
//! `buffer.save("name.png")` (frames are already [`GrayImage`]s).

use image::{GrayImage, Rgb, RgbImage};

use crate::pipeline::importance::ImportanceMap;

/// Viridis (matplotlib's default colormap) at 33 evenly spaced points from 0 to 1, in 8-bit
/// sRGB. Linear interpolation between them stays within 2 levels of matplotlib's 256-entry
/// table, and lightness rises steadily, so brighter always means more important.
#[rustfmt::skip]
const VIRIDIS: [[u8; 3]; 33] = [
    [68, 1, 84], [71, 13, 96], [72, 24, 106], [72, 35, 116], [71, 45, 123], [69, 54, 129],
    [66, 64, 134], [63, 73, 137], [59, 82, 139], [55, 90, 141], [51, 99, 141], [47, 106, 142],
    [44, 114, 142], [41, 122, 142], [38, 129, 142], [35, 137, 142], [33, 144, 140], [31, 152, 139],
    [31, 159, 136], [33, 166, 133], [40, 174, 128], [49, 181, 123], [62, 188, 116], [76, 194, 108],
    [93, 201, 99], [110, 206, 88], [130, 211, 76], [150, 216, 63], [171, 220, 50], [192, 223, 36],
    [213, 226, 26], [234, 229, 26], [253, 231, 37],
];

/// Sample marks: pure red stands out against any grey.
const SAMPLE_MARK: Rgb<u8> = Rgb([255, 0, 0]);

/// White space between panels of a composite, in output pixels.
const PANEL_GAP: u32 = 4;
const GAP_COLOUR: Rgb<u8> = Rgb([255, 255, 255]);

/// Why a picture cannot be drawn.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VisualizeError {
    #[error("importance map claims {width}x{height} pixels but holds {len} values")]
    MapSizeMismatch { width: usize, height: usize, len: usize },
    #[error("the picture would be more than 2^32 pixels wide or high")]
    TooLarge,
}

/// The viridis colour of `value`, clamped to [0, 1] (NaN counts as 0).
fn viridis(value: f32) -> Rgb<u8> {
    let position = if value.is_nan() { 0.0 } else { value.clamp(0.0, 1.0) } * (VIRIDIS.len() - 1) as f32;
    let lower = (position.floor() as usize).min(VIRIDIS.len() - 2);
    let fraction = position - lower as f32;
    let (from, to) = (VIRIDIS[lower], VIRIDIS[lower + 1]);
    Rgb(std::array::from_fn(|c| {
        (f32::from(from[c]) + fraction * (f32::from(to[c]) - f32::from(from[c]))).round() as u8
    }))
}

/// An importance map in viridis: 0 dark purple, 1 yellow.
pub fn importance_heatmap(map: &ImportanceMap) -> Result<RgbImage, VisualizeError> {
    let mismatch = || VisualizeError::MapSizeMismatch { width: map.width, height: map.height, len: map.values.len() };
    if map.width.checked_mul(map.height) != Some(map.values.len()) {
        return Err(mismatch());
    }
    let width = u32::try_from(map.width).map_err(|_| VisualizeError::TooLarge)?;
    let height = u32::try_from(map.height).map_err(|_| VisualizeError::TooLarge)?;
    let bytes = map.values.iter().flat_map(|&value| viridis(value).0).collect();
    RgbImage::from_raw(width, height, bytes).ok_or_else(mismatch)
}

/// The frame in grey.
pub fn gray_to_rgb(frame: &GrayImage) -> RgbImage {
    RgbImage::from_fn(frame.width(), frame.height(), |x, y| {
        let [level] = frame.get_pixel(x, y).0;
        Rgb([level; 3])
    })
}

/// The frame in grey with every sample position marked by a small red cross (the sampled
/// pixel and its four neighbours, clipped at the borders). Coordinates are UV: u across,
/// v down from the top, pixel = floor(uv * size) clamped into the frame.
pub fn sample_overlay(frame: &GrayImage, coords: &[[f32; 2]]) -> RgbImage {
    let mut overlay = gray_to_rgb(frame);
    let (width, height) = (i64::from(frame.width()), i64::from(frame.height()));
    if width == 0 || height == 0 {
        return overlay;
    }
    for &[u, v] in coords {
        // `as i64` saturates and maps NaN to 0, so any float lands inside after the clamp.
        let x = ((f64::from(u) * width as f64).floor() as i64).clamp(0, width - 1);
        let y = ((f64::from(v) * height as f64).floor() as i64).clamp(0, height - 1);
        for (dx, dy) in [(0, 0), (-1, 0), (1, 0), (0, -1), (0, 1)] {
            let (mark_x, mark_y) = (x + dx, y + dy);
            if (0..width).contains(&mark_x) && (0..height).contains(&mark_y) {
                overlay.put_pixel(mark_x as u32, mark_y as u32, SAMPLE_MARK);
            }
        }
    }
    overlay
}

/// Panels left to right on white, each scaled (nearest neighbour, aspect kept) to the tallest
/// panel's height times `upscale` (so a 112x112 frame at 4 is 448 high), with a 4-pixel gap.
/// An `upscale` of 0 counts as 1.
pub fn side_by_side(panels: &[RgbImage], upscale: u32) -> Result<RgbImage, VisualizeError> {
    let tallest = panels.iter().map(|panel| panel.height()).max().unwrap_or(0);
    let height = tallest.checked_mul(upscale.max(1)).ok_or(VisualizeError::TooLarge)?;
    let widths = panels
        .iter()
        .map(|panel| scaled_width(panel, height))
        .collect::<Option<Vec<u32>>>()
        .ok_or(VisualizeError::TooLarge)?;
    let gaps = u32::try_from(panels.len().saturating_sub(1)).ok().and_then(|gaps| gaps.checked_mul(PANEL_GAP));
    let width = widths
        .iter()
        .try_fold(gaps.ok_or(VisualizeError::TooLarge)?, |total, &panel_width| total.checked_add(panel_width))
        .ok_or(VisualizeError::TooLarge)?;

    let mut composite = RgbImage::from_pixel(width, height, GAP_COLOUR);
    let mut left = 0;
    for (panel, &panel_width) in panels.iter().zip(&widths) {
        for y in 0..height {
            for x in 0..panel_width {
                let source_x = (u64::from(x) * u64::from(panel.width()) / u64::from(panel_width)) as u32;
                let source_y = (u64::from(y) * u64::from(panel.height()) / u64::from(height)) as u32;
                composite.put_pixel(left + x, y, *panel.get_pixel(source_x, source_y));
            }
        }
        left = left.saturating_add(panel_width + PANEL_GAP);
    }
    Ok(composite)
}

/// The width of `panel` scaled to `height` with its aspect kept, if it fits in u32.
fn scaled_width(panel: &RgbImage, height: u32) -> Option<u32> {
    match u64::from(panel.height()) {
        0 => Some(0),
        panel_height => {
            u32::try_from((u64::from(panel.width()) * u64::from(height) + panel_height / 2) / panel_height).ok()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn luma(colour: Rgb<u8>) -> f32 {
        let [r, g, b] = colour.0.map(f32::from);
        0.2126 * r + 0.7152 * g + 0.0722 * b
    }

    fn map(width: usize, height: usize, values: Vec<f32>) -> ImportanceMap {
        ImportanceMap { width, height, values }
    }

    #[test]
    fn heatmap_runs_from_dark_purple_to_yellow() {
        let heatmap = importance_heatmap(&map(2, 1, vec![0.0, 1.0])).unwrap();
        assert_eq!(heatmap.get_pixel(0, 0), &Rgb([68, 1, 84]));
        assert_eq!(heatmap.get_pixel(1, 0), &Rgb([253, 231, 37]));
        // Midway is viridis' teal, a level off matplotlib's (33, 145, 140).
        assert_eq!(viridis(0.5), Rgb([33, 144, 140]));
    }

    #[test]
    fn heatmap_luminance_rises_with_importance() {
        let steps = 200;
        let values: Vec<f32> = (0..=steps).map(|k| k as f32 / steps as f32).collect();
        let heatmap = importance_heatmap(&map(values.len(), 1, values)).unwrap();
        let lumas: Vec<f32> = heatmap.pixels().map(|&colour| luma(colour)).collect();
        for (k, pair) in lumas.windows(2).enumerate() {
            assert!(pair[1] > pair[0], "luminance falls at step {k}: {pair:?}");
        }
    }

    #[test]
    fn heatmap_clamps_values_outside_the_unit_range() {
        assert_eq!(viridis(-3.0), viridis(0.0));
        assert_eq!(viridis(f32::NAN), viridis(0.0));
        assert_eq!(viridis(7.0), viridis(1.0));
    }

    #[test]
    fn heatmap_rejects_a_map_whose_values_do_not_fill_it() {
        assert_eq!(
            importance_heatmap(&map(3, 2, vec![0.5; 5])),
            Err(VisualizeError::MapSizeMismatch { width: 3, height: 2, len: 5 })
        );
    }

    #[test]
    fn overlay_marks_crosses_clipped_at_the_borders() {
        let frame = GrayImage::from_pixel(9, 9, image::Luma([100]));
        // Top-left corner, bottom-right corner (u = 1 clamps to the last pixel), centre.
        let overlay = sample_overlay(&frame, &[[0.0, 0.0], [1.0, 0.999], [0.5, 0.5]]);
        let marked = [(0, 0), (1, 0), (0, 1), (8, 8), (7, 8), (8, 7), (4, 4), (3, 4), (5, 4), (4, 3), (4, 5)];
        for (x, y, &colour) in overlay.enumerate_pixels() {
            let expected = if marked.contains(&(x, y)) { SAMPLE_MARK } else { Rgb([100; 3]) };
            assert_eq!(colour, expected, "pixel ({x}, {y})");
        }
    }

    #[test]
    fn overlay_keeps_wild_coordinates_inside_the_frame() {
        let frame = GrayImage::from_pixel(3, 2, image::Luma([0]));
        let overlay = sample_overlay(&frame, &[[-5.0, f32::NAN], [f32::INFINITY, 9.0]]);
        assert_eq!(overlay.get_pixel(0, 0), &SAMPLE_MARK);
        assert_eq!(overlay.get_pixel(2, 1), &SAMPLE_MARK);
        assert!(sample_overlay(&GrayImage::new(0, 0), &[[0.5, 0.5]]).is_empty());
    }

    #[test]
    fn composite_scales_panels_to_one_height_with_gaps() {
        let square = RgbImage::from_pixel(2, 2, Rgb([10, 20, 30]));
        let mut strip = RgbImage::from_pixel(4, 1, Rgb([0, 0, 0]));
        strip.put_pixel(3, 0, Rgb([200, 0, 0]));
        let composite = side_by_side(&[square, strip], 3).unwrap();
        // Height 2 * 3; the strip grows 6x to 24 wide.
        assert_eq!(composite.dimensions(), (6 + PANEL_GAP + 24, 6));
        assert_eq!(composite.get_pixel(5, 5), &Rgb([10, 20, 30]));
        assert_eq!(composite.get_pixel(6, 0), &GAP_COLOUR);
        let strip_left = 6 + PANEL_GAP;
        assert_eq!(composite.get_pixel(strip_left + 17, 5), &Rgb([0, 0, 0]));
        assert_eq!(composite.get_pixel(strip_left + 18, 0), &Rgb([200, 0, 0]));
    }

    #[test]
    fn composite_too_large_for_u32_is_an_error() {
        let panel = RgbImage::new(1, 2);
        assert_eq!(side_by_side(&[panel], u32::MAX), Err(VisualizeError::TooLarge));
    }

    #[test]
    fn composite_of_nothing_is_empty() {
        assert!(side_by_side(&[], 4).unwrap().is_empty());
        let composite = side_by_side(&[RgbImage::new(0, 0), RgbImage::new(1, 1)], 0).unwrap();
        assert_eq!(composite.dimensions(), (PANEL_GAP + 1, 1));
    }

    #[test]
    fn pictures_survive_a_png_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let heatmap = importance_heatmap(&map(3, 2, vec![0.0, 0.2, 0.4, 0.6, 0.8, 1.0])).unwrap();
        let frame = GrayImage::from_fn(5, 4, |x, y| image::Luma([(x * 50 + y) as u8]));
        heatmap.save(dir.path().join("heatmap.png")).unwrap();
        frame.save(dir.path().join("frame.png")).unwrap();
        assert_eq!(image::open(dir.path().join("heatmap.png")).unwrap().to_rgb8(), heatmap);
        assert_eq!(image::open(dir.path().join("frame.png")).unwrap().to_luma8(), frame);
    }
}
