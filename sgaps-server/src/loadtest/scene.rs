//! The synthetic game screen the simulated clients sample: a bright square sliding over
//! a vertical gradient, so consecutive frames differ the way a scrolling game does.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use image::{GrayImage, Luma};

/// The client's screen size, `[width, height]`, as sent in `session_start`.
pub const RESOLUTION: [u32; 2] = [640, 480];

const SQUARE: f32 = 120.0;
/// Pixels the square moves per frame.
const SPEED: f32 = 12.0;

/// Grayscale value (0..=255) of client `client`'s screen at frame `frame_id`, at the
/// normalised position (u, v); v = 0 is the top row.
pub fn value(client: usize, frame_id: u64, u: f32, v: f32) -> u8 {
    let [width, height] = RESOLUTION.map(|d| d as f32);
    let (x, y) = (u * width, v * height);
    // Each client starts its square elsewhere, so sessions differ.
    let left = (40.0 + 97.0 * client as f32 + SPEED * frame_id as f32) % (width - SQUARE);
    let top = (height - SQUARE) / 2.0;
    if (left..left + SQUARE).contains(&x) && (top..top + SQUARE).contains(&y) {
        250
    } else {
        (v * 200.0) as u8
    }
}

/// The whole frame as a base64 PNG, bottom row first, as the Unity client encodes
/// `full_frame_base64`.
pub fn full_frame_png_base64(client: usize, frame_id: u64) -> String {
    let [width, height] = RESOLUTION;
    let image = GrayImage::from_fn(width, height, |x, y| {
        let (u, v) = ((x as f32 + 0.5) / width as f32, (height - 1 - y) as f32 / height as f32);
        Luma([value(client, frame_id, u, v)])
    });
    let mut png = std::io::Cursor::new(Vec::new());
    image.write_to(&mut png, image::ImageFormat::Png).expect("PNG encoding to memory");
    BASE64.encode(png.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_square_moves_between_frames() {
        let changed = (0..64)
            .flat_map(|i| (0..48).map(move |j| (i as f32 / 64.0, j as f32 / 48.0)))
            .filter(|&(u, v)| value(0, 0, u, v) != value(0, 5, u, v))
            .count();
        assert!(changed > 0);
        assert_eq!(value(0, 0, 0.5, 0.0), 0, "the top row is the dark end of the gradient");
    }

    #[test]
    fn the_debug_frame_is_bottom_row_first() {
        let png = BASE64.decode(full_frame_png_base64(0, 0)).unwrap();
        let image = image::load_from_memory(&png).unwrap().to_luma8();
        assert_eq!(image.dimensions(), (640, 480));
        // The first PNG row is the bottom of the screen: the bright end of the gradient.
        assert!(image.get_pixel(0, 0)[0] > image.get_pixel(0, 479)[0]);
    }
}
