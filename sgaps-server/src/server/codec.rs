//! Between wire payloads and engine types: the plain and compact pixel forms in,
//! the plain and quantised coordinate forms out, and the debug frame's PNG.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use image::GrayImage;
use sgaps_core::pipeline::{Frame, Pixel};

use super::protocol::{FrameDataPayload, QuantizedCoordinates, UvCoordinates, WireCoordinate};

/// Why a payload could not become a frame; `field` names the part at fault.
#[derive(Debug)]
pub struct DecodeError {
    pub field: &'static str,
    pub message: String,
}

fn fail<T>(field: &'static str, message: impl Into<String>) -> Result<T, DecodeError> {
    Err(DecodeError { field, message: message.into() })
}

/// Turns a `frame_data(_debug)` payload into an engine frame. Range checks are the
/// engine's (`Frame::validate`); this only decodes.
pub fn decode_frame(payload: FrameDataPayload) -> Result<Frame, DecodeError> {
    let pixels = match (payload.pixels, payload.pixels_compressed) {
        (Some(pixels), None) => pixels.into_iter().map(|p| Pixel { u: p.u, v: p.v, value: p.value }).collect(),
        (None, Some(compressed)) => decode_compressed_pixels(&compressed.format, &compressed.data)?,
        (Some(_), Some(_)) => return fail("pixels", "send either `pixels` or `pixels_compressed`, not both"),
        (None, None) => return fail("pixels", "missing (neither `pixels` nor `pixels_compressed`)"),
    };
    if let Some(n) = payload.num_pixels {
        if n != pixels.len() {
            return fail("num_pixels", format!("is {n} but {} pixels were sent", pixels.len()));
        }
    }
    let ground_truth = payload.full_frame_base64.as_deref().map(decode_debug_frame).transpose()?;
    Ok(Frame {
        frame_id: payload.frame_id,
        timestamp: payload.timestamp,
        pixels,
        state: payload.state_vector,
        ground_truth,
    })
}

/// `pixels_compressed` with format `msgpack+lz4`: LZ4-framed msgpack of `[u, v, value]`.
fn decode_compressed_pixels(format: &str, data: &str) -> Result<Vec<Pixel>, DecodeError> {
    if format != "msgpack+lz4" {
        return fail("pixels_compressed.format", format!("`{format}` is not supported; use `msgpack+lz4`"));
    }
    let compressed = BASE64.decode(data).or_else(|e| fail("pixels_compressed.data", format!("not base64: {e}")))?;
    let mut raw = Vec::new();
    std::io::copy(&mut lz4_flex::frame::FrameDecoder::new(compressed.as_slice()), &mut raw)
        .or_else(|e| fail("pixels_compressed.data", format!("not an LZ4 frame: {e}")))?;
    let triples: Vec<(f32, f32, f32)> = rmp_serde::from_slice(&raw)
        .or_else(|e| fail("pixels_compressed.data", format!("not msgpack [u, v, value] triples: {e}")))?;
    Ok(triples.into_iter().map(|(u, v, value)| Pixel { u, v, value }).collect())
}

/// The debug frame: a base64 PNG the Unity client encodes bottom row first, so it is
/// flipped to the server's top-row-first convention.
fn decode_debug_frame(data: &str) -> Result<GrayImage, DecodeError> {
    let bytes = BASE64.decode(data).or_else(|e| fail("full_frame_base64", format!("not base64: {e}")))?;
    let image = image::load_from_memory_with_format(&bytes, image::ImageFormat::Png)
        .or_else(|e| fail("full_frame_base64", format!("not a PNG image: {e}")))?;
    Ok(image::imageops::flip_vertical(&image.to_luma8()))
}

/// `uv_coordinates` for `coordinates`, plain or quantised to u16 (`round(x * 65535)`,
/// little-endian u, v pairs) when the client opted in.
pub fn encode_coordinates(target_frame_id: u64, coordinates: &[[f32; 2]], quantized: bool) -> UvCoordinates {
    if quantized {
        let bytes: Vec<u8> = coordinates
            .iter()
            .flatten()
            .flat_map(|&x| ((x.clamp(0.0, 1.0) * 65535.0).round() as u16).to_le_bytes())
            .collect();
        UvCoordinates {
            target_frame_id,
            num_coordinates: coordinates.len(),
            coordinates: None,
            coordinates_quantized: Some(QuantizedCoordinates { format: "uint16", data: BASE64.encode(bytes) }),
        }
    } else {
        UvCoordinates {
            target_frame_id,
            num_coordinates: coordinates.len(),
            coordinates: Some(coordinates.iter().map(|&[u, v]| WireCoordinate { u, v }).collect()),
            coordinates_quantized: None,
        }
    }
}

/// PNG bytes of a grayscale or colour image.
pub fn png_bytes<P>(image: &image::ImageBuffer<P, Vec<P::Subpixel>>) -> Vec<u8>
where
    P: image::PixelWithColorType,
    [P::Subpixel]: image::EncodableLayout,
{
    let mut out = std::io::Cursor::new(Vec::new());
    image.write_to(&mut out, image::ImageFormat::Png).expect("PNG encoding to memory");
    out.into_inner()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::protocol::CompressedPixels;

    fn payload() -> FrameDataPayload {
        serde_json::from_str(r#"{"frame_id": 3, "timestamp": 1.5, "resolution": [4, 2], "num_pixels": 1,
            "pixels": [{"u": 0.25, "v": 0.5, "value": 200}], "state_vector": [1.0, 2.0]}"#)
        .unwrap()
    }

    #[test]
    fn plain_pixels_decode() {
        let frame = decode_frame(payload()).unwrap();
        assert_eq!(frame.pixels, vec![Pixel { u: 0.25, v: 0.5, value: 200.0 }]);
        assert_eq!((frame.frame_id, frame.state.len()), (3, 2));
    }

    #[test]
    fn compressed_pixels_decode() {
        let triples = vec![(0.1f32, 0.2f32, 30.0f32), (0.9, 1.0, 255.0)];
        let packed = rmp_serde::to_vec(&triples).unwrap();
        let mut encoder = lz4_flex::frame::FrameEncoder::new(Vec::new());
        std::io::Write::write_all(&mut encoder, &packed).unwrap();
        let data = BASE64.encode(encoder.finish().unwrap());
        let mut p = payload();
        p.pixels = None;
        p.num_pixels = Some(2);
        p.pixels_compressed = Some(CompressedPixels { format: "msgpack+lz4".into(), data });
        let frame = decode_frame(p).unwrap();
        assert_eq!(frame.pixels[1], Pixel { u: 0.9, v: 1.0, value: 255.0 });
    }

    #[test]
    fn bad_payloads_name_the_field() {
        let mut p = payload();
        p.num_pixels = Some(5);
        assert_eq!(decode_frame(p).unwrap_err().field, "num_pixels");
        let mut p = payload();
        p.pixels = None;
        p.pixels_compressed = Some(CompressedPixels { format: "msgpack+lz4".into(), data: "%%%".into() });
        assert_eq!(decode_frame(p).unwrap_err().field, "pixels_compressed.data");
        let mut p = payload();
        p.full_frame_base64 = Some(BASE64.encode(b"not a png"));
        assert_eq!(decode_frame(p).unwrap_err().field, "full_frame_base64");
    }

    #[test]
    fn debug_frames_are_flipped_to_top_row_first() {
        // Bottom-up as the Unity client encodes: the first PNG row is the bottom row.
        let bottom_up = GrayImage::from_raw(2, 2, vec![10, 20, 30, 40]).unwrap();
        let mut p = payload();
        p.full_frame_base64 = Some(BASE64.encode(png_bytes(&bottom_up)));
        let truth = decode_frame(p).unwrap().ground_truth.unwrap();
        assert_eq!(truth.into_raw(), vec![30, 40, 10, 20]);
    }

    #[test]
    fn coordinates_quantise_to_u16_pairs() {
        let message = encode_coordinates(7, &[[0.0, 1.0], [0.5, 0.25]], true);
        let bytes = BASE64.decode(message.coordinates_quantized.unwrap().data).unwrap();
        let values: Vec<u16> = bytes.chunks(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
        assert_eq!(values, vec![0, 65535, 32768, 16384]);
        assert_eq!(message.num_coordinates, 2);
        let plain = encode_coordinates(7, &[[0.5, 0.25]], false);
        assert_eq!(serde_json::to_value(plain).unwrap()["coordinates"][0]["u"], 0.5);
    }
}
