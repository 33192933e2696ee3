//! Between wire payloads and engine types: the plain and compact pixel forms in,
//! the plain and quantised coordinate forms out, and the debug frame's PNG.

use base64::engine::general_purpose::STANDARD as BASE64;
use std::io::{Cursor, Read};

use base64::Engine as _;
use image::{GrayImage, ImageFormat, ImageReader, Limits};
use sgaps_core::pipeline::{Frame, Pixel};

use super::protocol::{FrameDataPayload, QuantizedCoordinates, UvCoordinates, WireCoordinate};

/// Why a payload could not become a frame; `field` names the part at fault.
#[derive(Debug)]
pub struct DecodeError {
    pub field: &'static str,
    pub message: String,
}

/// What a client's payload may make the server allocate. Sizes a client declares
/// (an LZ4 frame's content size, a PNG's dimensions) are checked against these before
/// anything is decompressed or decoded.
#[derive(Debug, Clone, Copy)]
pub struct DecodeLimits {
    /// `sampling.max_sample_count`: bounds the decompressed `pixels_compressed`.
    pub max_pixels: usize,
    /// `server.max_debug_frame_pixels`: bounds the debug PNG.
    pub max_debug_frame_pixels: u64,
}

/// msgpack bytes of one `[u, v, value]` triple at most: a 1-byte array header and three
/// f64s of 9 bytes; 32 leaves room for non-minimal headers.
const MSGPACK_BYTES_PER_PIXEL: usize = 32;
/// PNG bytes per pixel accepted on the wire: an incompressible RGBA8 frame.
const PNG_BYTES_PER_PIXEL: u64 = 4;
/// Decoded bytes per pixel allowed: RGBA with 16-bit channels, the widest PNG.
const DECODED_BYTES_PER_PIXEL: u64 = 8;

impl DecodeLimits {
    /// Largest decompressed `pixels_compressed` that `max_pixels` pixels can need.
    fn max_msgpack_bytes(&self) -> u64 {
        (self.max_pixels * MSGPACK_BYTES_PER_PIXEL + 16) as u64
    }

    /// Largest base64 `full_frame_base64` text a frame within the pixel limit needs.
    fn max_png_base64_len(&self) -> u64 {
        (self.max_debug_frame_pixels * PNG_BYTES_PER_PIXEL + 64 * 1024).div_ceil(3) * 4
    }
}

fn fail<T>(field: &'static str, message: impl Into<String>) -> Result<T, DecodeError> {
    Err(DecodeError { field, message: message.into() })
}

/// Turns a `frame_data(_debug)` payload into an engine frame. Range checks are the
/// engine's (`Frame::validate`); this only decodes.
pub fn decode_frame(payload: FrameDataPayload, limits: &DecodeLimits) -> Result<Frame, DecodeError> {
    let pixels = match (payload.pixels, payload.pixels_compressed) {
        (Some(pixels), None) => pixels.into_iter().map(|p| Pixel { u: p.u, v: p.v, value: p.value }).collect(),
        (None, Some(compressed)) => decode_compressed_pixels(&compressed.format, &compressed.data, limits)?,
        (Some(_), Some(_)) => return fail("pixels", "send either `pixels` or `pixels_compressed`, not both"),
        (None, None) => return fail("pixels", "missing (neither `pixels` nor `pixels_compressed`)"),
    };
    if let Some(n) = payload.num_pixels {
        if n != pixels.len() {
            return fail("num_pixels", format!("is {n} but {} pixels were sent", pixels.len()));
        }
    }
    let ground_truth = payload.full_frame_base64.as_deref().map(|data| decode_debug_frame(data, limits)).transpose()?;
    Ok(Frame {
        frame_id: payload.frame_id,
        timestamp: payload.timestamp,
        pixels,
        state: payload.state_vector,
        ground_truth,
    })
}

/// `pixels_compressed` with format `msgpack+lz4`: LZ4-framed msgpack of `[u, v, value]`.
/// The output is bounded: a frame declaring more than the limit is refused unread, and
/// one that declares nothing is decompressed only up to the limit.
fn decode_compressed_pixels(format: &str, data: &str, limits: &DecodeLimits) -> Result<Vec<Pixel>, DecodeError> {
    if format != "msgpack+lz4" {
        return fail("pixels_compressed.format", format!("`{format}` is not supported; use `msgpack+lz4`"));
    }
    let compressed = BASE64.decode(data).or_else(|e| fail("pixels_compressed.data", format!("not base64: {e}")))?;
    let max = limits.max_msgpack_bytes();
    let too_large = |size: &str| {
        let pixels = limits.max_pixels;
        fail("pixels_compressed.data", format!("decompresses to {size} bytes, over the {max} that {pixels} pixels can need"))
    };
    if let Some(declared) = lz4_content_size(&compressed) {
        if declared > max {
            return too_large(&declared.to_string());
        }
    }
    let mut raw = Vec::new();
    lz4_flex::frame::FrameDecoder::new(compressed.as_slice())
        .take(max + 1)
        .read_to_end(&mut raw)
        .or_else(|e| fail("pixels_compressed.data", format!("not an LZ4 frame: {e}")))?;
    if raw.len() as u64 > max {
        return too_large("more than that");
    }
    let triples: Vec<(f32, f32, f32)> = rmp_serde::from_slice(&raw)
        .or_else(|e| fail("pixels_compressed.data", format!("not msgpack [u, v, value] triples: {e}")))?;
    Ok(triples.into_iter().map(|(u, v, value)| Pixel { u, v, value }).collect())
}

/// The content size an LZ4 frame header declares, if it declares one: magic number,
/// FLG byte (bit 3: content size present), BD byte, then the size as a little-endian u64.
fn lz4_content_size(frame: &[u8]) -> Option<u64> {
    const MAGIC: u32 = 0x184D_2204;
    const FLG_CONTENT_SIZE: u8 = 0x08;
    let magic = u32::from_le_bytes(frame.get(..4)?.try_into().ok()?);
    let flg = *frame.get(4)?;
    if magic != MAGIC || flg & FLG_CONTENT_SIZE == 0 {
        return None;
    }
    Some(u64::from_le_bytes(frame.get(6..14)?.try_into().ok()?))
}

/// The debug frame: a base64 PNG the Unity client encodes bottom row first, so it is
/// flipped to the server's top-row-first convention. The text length and the declared
/// dimensions are checked before decoding, and the decoder itself is capped too.
fn decode_debug_frame(data: &str, limits: &DecodeLimits) -> Result<GrayImage, DecodeError> {
    let max_pixels = limits.max_debug_frame_pixels;
    if data.len() as u64 > limits.max_png_base64_len() {
        let message = format!("is {} bytes of base64, more than a PNG of {max_pixels} pixels needs", data.len());
        return fail("full_frame_base64", message);
    }
    let bytes = BASE64.decode(data).or_else(|e| fail("full_frame_base64", format!("not base64: {e}")))?;
    let not_png = |e: image::ImageError| DecodeError { field: "full_frame_base64", message: format!("not a PNG image: {e}") };
    let reader = || {
        let mut reader = ImageReader::with_format(Cursor::new(bytes.as_slice()), ImageFormat::Png);
        let mut caps = Limits::default();
        caps.max_alloc = Some(max_pixels * DECODED_BYTES_PER_PIXEL);
        reader.limits(caps);
        reader
    };
    let (width, height) = reader().into_dimensions().map_err(not_png)?;
    if u64::from(width) * u64::from(height) > max_pixels {
        let message = format!("declares {width}x{height} pixels, over server.max_debug_frame_pixels = {max_pixels}");
        return fail("full_frame_base64", message);
    }
    let image = reader().decode().map_err(not_png)?;
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

    const LIMITS: DecodeLimits = DecodeLimits { max_pixels: 100, max_debug_frame_pixels: 64 * 64 };

    fn lz4(raw: &[u8], content_size: Option<u64>) -> String {
        let info = lz4_flex::frame::FrameInfo::new().content_size(content_size);
        let mut encoder = lz4_flex::frame::FrameEncoder::with_frame_info(info, Vec::new());
        std::io::Write::write_all(&mut encoder, raw).unwrap();
        BASE64.encode(encoder.finish().unwrap())
    }

    fn compressed(data: String) -> FrameDataPayload {
        let mut p = payload();
        p.pixels = None;
        p.num_pixels = None;
        p.pixels_compressed = Some(CompressedPixels { format: "msgpack+lz4".into(), data });
        p
    }

    fn payload() -> FrameDataPayload {
        serde_json::from_str(r#"{"frame_id": 3, "timestamp": 1.5, "resolution": [4, 2], "num_pixels": 1,
            "pixels": [{"u": 0.25, "v": 0.5, "value": 200}], "state_vector": [1.0, 2.0]}"#)
        .unwrap()
    }

    #[test]
    fn plain_pixels_decode() {
        let frame = decode_frame(payload(), &LIMITS).unwrap();
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
        let frame = decode_frame(p, &LIMITS).unwrap();
        assert_eq!(frame.pixels[1], Pixel { u: 0.9, v: 1.0, value: 255.0 });
    }

    #[test]
    fn bad_payloads_name_the_field() {
        let mut p = payload();
        p.num_pixels = Some(5);
        assert_eq!(decode_frame(p, &LIMITS).unwrap_err().field, "num_pixels");
        let mut p = payload();
        p.pixels = None;
        p.pixels_compressed = Some(CompressedPixels { format: "msgpack+lz4".into(), data: "%%%".into() });
        assert_eq!(decode_frame(p, &LIMITS).unwrap_err().field, "pixels_compressed.data");
        let mut p = payload();
        p.full_frame_base64 = Some(BASE64.encode(b"not a png"));
        assert_eq!(decode_frame(p, &LIMITS).unwrap_err().field, "full_frame_base64");
    }

    #[test]
    fn compressed_pixels_beyond_the_pixel_limit_are_refused() {
        let within = rmp_serde::to_vec(&vec![(1.0f64, 1.0f64, 255.0f64); 100]).unwrap();
        assert_eq!(decode_frame(compressed(lz4(&within, None)), &LIMITS).unwrap().pixels.len(), 100);
        let zeros = vec![0u8; 100 * 32 + 17];
        // Declared in the header: refused before decompressing.
        let e = decode_frame(compressed(lz4(&zeros, Some(zeros.len() as u64))), &LIMITS).unwrap_err();
        assert!(e.message.contains(&format!("decompresses to {} bytes", zeros.len())), "{}", e.message);
        // Not declared: decompression stops at the limit.
        let e = decode_frame(compressed(lz4(&zeros, None)), &LIMITS).unwrap_err();
        assert!(e.message.contains("decompresses to more than"), "{}", e.message);
    }

    #[test]
    fn debug_frames_beyond_the_pixel_limit_are_refused() {
        let mut p = payload();
        p.full_frame_base64 = Some(BASE64.encode(png_bytes(&GrayImage::new(65, 64))));
        let e = decode_frame(p, &LIMITS).unwrap_err();
        assert!(e.message.contains("declares 65x64 pixels"), "{}", e.message);
        let mut p = payload();
        p.full_frame_base64 = Some("A".repeat(LIMITS.max_png_base64_len() as usize + 4));
        assert!(decode_frame(p, &LIMITS).unwrap_err().message.contains("bytes of base64"));
        let mut p = payload();
        p.full_frame_base64 = Some(BASE64.encode(png_bytes(&GrayImage::new(64, 64))));
        assert_eq!(decode_frame(p, &LIMITS).unwrap().ground_truth.unwrap().dimensions(), (64, 64));
    }

    #[test]
    fn debug_frames_are_flipped_to_top_row_first() {
        // Bottom-up as the Unity client encodes: the first PNG row is the bottom row.
        let bottom_up = GrayImage::from_raw(2, 2, vec![10, 20, 30, 40]).unwrap();
        let mut p = payload();
        p.full_frame_base64 = Some(BASE64.encode(png_bytes(&bottom_up)));
        let truth = decode_frame(p, &LIMITS).unwrap().ground_truth.unwrap();
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
