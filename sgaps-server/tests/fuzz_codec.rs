//! Fuzzing the server's message codec, the way a WebSocket text frame reaches the engine:
//! JSON text -> `ClientMessage` -> `decode_frame` (plain pixels, msgpack + LZ4
//! `pixels_compressed`, base64 PNG `full_frame_base64`) -> `Frame::validate`. Inputs are
//! arbitrary text, messages with hostile field values, well-formed payloads (which must
//! round-trip exactly) and the same payloads with their bytes mutated. Nothing may panic,
//! and a refusal names the field at fault. 1,000 cases per property by default;
//! `PROPTEST_CASES=N` for a long run (docs/fuzzing.md).

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use image::{DynamicImage, GrayImage, ImageBuffer};
use proptest::prelude::*;
use serde_json::{json, Value};

// The server is a binary crate: its codec and wire types are compiled into this test
// from their sources. `codec` reaches `protocol` as its sibling, and its own unit tests
// (compiled here too) as `crate::server::protocol`.
#[allow(dead_code)]
#[path = "../src/server/codec.rs"]
mod codec;
#[allow(dead_code)]
#[path = "../src/server/protocol.rs"]
mod protocol;
mod server {
    pub(crate) use super::protocol;
}

use codec::{decode_frame, png_bytes, DecodeError, DecodeLimits};
use protocol::ClientMessage;

const MAX_STATE_DIM: usize = 16;

/// What the connection does with one text message, up to the engine; `Err` is the field
/// named in the answer, or "message" for text that is not a frame message.
fn handle_text(text: &str, limits: &DecodeLimits) -> Result<(), String> {
    let message: ClientMessage = serde_json::from_str::<Value>(text)
        .and_then(serde_json::from_value)
        .map_err(|_| "message".to_string())?;
    let payload = match message {
        ClientMessage::FrameData(payload) | ClientMessage::FrameDataDebug(payload) => payload,
        _ => return Ok(()),
    };
    let frame = decode_frame(payload, limits).map_err(|e| e.field.to_string())?;
    frame.validate(limits.max_pixels, MAX_STATE_DIM).map_err(|e| e.field)
}

fn frame_message(payload: Value) -> String {
    json!({"type": "frame_data_debug", "payload": payload}).to_string()
}

fn limits() -> impl Strategy<Value = DecodeLimits> {
    (1usize..400, 1u64..4000).prop_map(|(max_pixels, max_debug_frame_pixels)| DecodeLimits { max_pixels, max_debug_frame_pixels })
}

/// JSON values of the wrong kind or out of range, for any field.
fn hostile_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_filter("JSON has no NaN or infinity", |x| x.is_finite()).prop_map(Value::from),
        "\\PC{0,16}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map("u|v|value|format|data|[a-z]{1,4}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A pixel as JSON: mostly well-formed with any number, sometimes anything.
fn json_pixel() -> impl Strategy<Value = Value> {
    let number = prop_oneof![4 => (0.0f64..=1.0).prop_map(Value::from), 1 => any::<i64>().prop_map(Value::from), 1 => hostile_json()];
    prop_oneof![
        6 => (number.clone(), number.clone(), number).prop_map(|(u, v, value)| json!({"u": u, "v": v, "value": value})),
        1 => hostile_json(),
    ]
}

/// A `frame_data` payload whose every field may be missing, well-formed or hostile.
fn hostile_payload() -> impl Strategy<Value = Value> {
    let field = |good: BoxedStrategy<Value>| prop::option::weighted(0.8, prop_oneof![3 => good, 1 => hostile_json()]);
    (
        field(any::<u64>().prop_map(Value::from).boxed()),
        field(any::<f64>().prop_filter("finite", |x| x.is_finite()).prop_map(Value::from).boxed()),
        field(prop::collection::vec(json_pixel(), 0..20).prop_map(Value::from).boxed()),
        field((0usize..25).prop_map(Value::from).boxed()),
        field(prop::collection::vec(-1e6f64..1e6, 0..20).prop_map(Value::from).boxed()),
        field("[A-Za-z0-9+/=]{0,64}".prop_map(Value::from).boxed()),
        field(hostile_json().prop_map(|data| json!({"format": "msgpack+lz4", "data": data})).boxed()),
    )
        .prop_map(|(frame_id, timestamp, pixels, num_pixels, state, png, compressed)| {
            let fields = [
                ("frame_id", frame_id),
                ("timestamp", timestamp),
                ("pixels", pixels),
                ("num_pixels", num_pixels),
                ("state_vector", state),
                ("full_frame_base64", png),
                ("pixels_compressed", compressed),
            ];
            Value::Object(fields.into_iter().filter_map(|(k, v)| Some((k.to_string(), v?))).collect())
        })
}

/// A pixel value as a client's msgpack library writes it: f32, f64 or an integer.
#[derive(Debug, Clone, Copy)]
enum Packed {
    F32(f32),
    F64(f64),
    Int(i64),
}

impl Packed {
    fn as_f32(self) -> f32 {
        match self {
            Packed::F32(x) => x,
            Packed::F64(x) => x as f32,
            Packed::Int(x) => x as f32,
        }
    }

}

impl serde::Serialize for Packed {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match *self {
            Packed::F32(x) => serializer.serialize_f32(x),
            Packed::F64(x) => serializer.serialize_f64(x),
            Packed::Int(x) => serializer.serialize_i64(x),
        }
    }
}

fn packed() -> impl Strategy<Value = Packed> {
    prop_oneof![
        any::<f32>().prop_map(Packed::F32),
        any::<f64>().prop_map(Packed::F64),
        (0i64..=255).prop_map(Packed::Int),
        any::<i64>().prop_map(Packed::Int),
    ]
}

/// msgpack `[[u, v, value], ...]`, LZ4-framed with or without a declared content size.
fn compressed(triples: &[[Packed; 3]], declare_size: bool, checksum: bool) -> Vec<u8> {
    let raw = rmp_serde::to_vec(triples).unwrap();
    let info = lz4_flex::frame::FrameInfo::new()
        .content_size(declare_size.then_some(raw.len() as u64))
        .content_checksum(checksum);
    let mut encoder = lz4_flex::frame::FrameEncoder::with_frame_info(info, Vec::new());
    std::io::Write::write_all(&mut encoder, &raw).unwrap();
    encoder.finish().unwrap()
}

fn compressed_payload(bytes: &[u8]) -> Value {
    json!({"frame_id": 1, "pixels_compressed": {"format": "msgpack+lz4", "data": BASE64.encode(bytes)}})
}

/// Bytes changed the way a broken or hostile client changes them.
#[derive(Debug, Clone)]
enum Mutation {
    Flip { at: usize, bits: u8 },
    Truncate { at: usize },
    Insert { at: usize, bytes: Vec<u8> },
    /// Overwrites 8 bytes, e.g. an LZ4 header's declared content size.
    Word { at: usize, value: u64 },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 1u8..=255).prop_map(|(at, bits)| Mutation::Flip { at, bits }),
        any::<usize>().prop_map(|at| Mutation::Truncate { at }),
        (any::<usize>(), prop::collection::vec(any::<u8>(), 1..16)).prop_map(|(at, bytes)| Mutation::Insert { at, bytes }),
        (any::<usize>(), any::<u64>()).prop_map(|(at, value)| Mutation::Word { at, value }),
    ]
}

fn mutate(mut bytes: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for m in mutations {
        let len = bytes.len().max(1);
        match m {
            Mutation::Flip { at, bits } => {
                if let Some(b) = bytes.get_mut(at % len) {
                    *b ^= bits;
                }
            }
            Mutation::Truncate { at } => bytes.truncate(at % len),
            Mutation::Insert { at, bytes: extra } => {
                let at = at % (bytes.len() + 1);
                bytes.splice(at..at, extra.iter().copied());
            }
            Mutation::Word { at, value } => {
                let at = at % len;
                let end = (at + 8).min(bytes.len());
                bytes[at..end].copy_from_slice(&value.to_le_bytes()[..end - at]);
            }
        }
    }
    bytes
}

/// A PNG of any colour type and bit depth a client could send.
fn png() -> impl Strategy<Value = (DynamicImage, Vec<u8>)> {
    (1u32..48, 1u32..48, 0usize..5, any::<u64>()).prop_map(|(width, height, kind, seed)| {
        let grey = GrayImage::from_fn(width, height, |x, y| image::Luma([(seed as u32 ^ (x * 31 + y * 17)) as u8]));
        let image = match kind {
            0 => DynamicImage::ImageLuma8(grey),
            1 => DynamicImage::ImageLumaA8(DynamicImage::ImageLuma8(grey).to_luma_alpha8()),
            2 => DynamicImage::ImageRgb8(DynamicImage::ImageLuma8(grey).to_rgb8()),
            3 => DynamicImage::ImageRgba8(DynamicImage::ImageLuma8(grey).to_rgba8()),
            _ => DynamicImage::ImageLuma16(ImageBuffer::from_fn(width, height, |x, y| image::Luma([grey.get_pixel(x, y)[0] as u16 * 257]))),
        };
        let mut bytes = std::io::Cursor::new(Vec::new());
        image.write_to(&mut bytes, image::ImageFormat::Png).unwrap();
        (image, bytes.into_inner())
    })
}

fn png_payload(bytes: &[u8]) -> Value {
    json!({"frame_id": 1, "pixels": [{"u": 0.5, "v": 0.5, "value": 1}], "full_frame_base64": BASE64.encode(bytes)})
}

fn assert_named(result: Result<(), String>, fields: &[&str]) -> Result<(), TestCaseError> {
    if let Err(field) = &result {
        let known = fields.iter().any(|f| field == f || field.starts_with(&format!("{f}[")));
        prop_assert!(known, "refused naming `{field}`, expected one of {fields:?}");
    }
    Ok(())
}

fn decode(payload: Value, limits: &DecodeLimits) -> Result<sgaps_core::pipeline::Frame, DecodeError> {
    decode_frame(serde_json::from_value(payload).expect("a well-formed payload"), limits)
}

/// `PROPTEST_CASES` when set (a long run); otherwise 1000 cases per property, a second or
/// two in the test suite.
fn cases() -> ProptestConfig {
    let short_run = ProptestConfig { cases: 1000, ..ProptestConfig::default() };
    if std::env::var_os("PROPTEST_CASES").is_some() { ProptestConfig::default() } else { short_run }
}

proptest! {
    #![proptest_config(cases())]

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,200}", limits in limits()) {
        let _ = handle_text(&text, &limits);
        let _ = handle_text(&format!(r#"{{"type":"frame_data","payload":{text}}}"#), &limits);
    }

    #[test]
    fn hostile_frame_messages_are_refused_by_field(payload in hostile_payload(), limits in limits()) {
        let fields = ["message", "pixels", "num_pixels", "pixels_compressed.format", "pixels_compressed.data",
            "full_frame_base64", "state_vector", "timestamp"];
        assert_named(handle_text(&frame_message(payload), &limits), &fields)?;
    }

    #[test]
    fn compressed_pixels_round_trip(
        triples in prop::collection::vec([packed(), packed(), packed()], 0..300),
        declare_size: bool,
        checksum: bool,
        limits in limits(),
    ) {
        let payload = compressed_payload(&compressed(&triples, declare_size, checksum));
        match decode(payload.clone(), &limits) {
            Ok(frame) => {
                let sent: Vec<[u32; 3]> = triples.iter().map(|t| t.map(|x| x.as_f32().to_bits())).collect();
                let got: Vec<[u32; 3]> = frame.pixels.iter().map(|p| [p.u, p.v, p.value].map(f32::to_bits)).collect();
                prop_assert_eq!(got, sent);
            }
            Err(e) => {
                // Refused only as larger than max_pixels pixels can need.
                prop_assert!(triples.len() > limits.max_pixels, "{} pixels refused: {}", triples.len(), e.message);
                prop_assert_eq!(e.field, "pixels_compressed.data");
            }
        }
        assert_named(handle_text(&frame_message(payload), &limits), &["pixels", "pixels_compressed.data"])?;
    }

    #[test]
    fn mutated_compressed_pixels_are_refused_by_field(
        triples in prop::collection::vec([packed(), packed(), packed()], 1..100),
        declare_size: bool,
        mutations in prop::collection::vec(mutation(), 1..4),
        limits in limits(),
    ) {
        let bytes = mutate(compressed(&triples, declare_size, true), &mutations);
        let result = handle_text(&frame_message(compressed_payload(&bytes)), &limits);
        assert_named(result, &["pixels", "pixels_compressed.data"])?;
    }

    #[test]
    fn random_bytes_as_compressed_pixels_are_refused_by_field(
        mut bytes in prop::collection::vec(any::<u8>(), 0..300),
        lz4_magic: bool,
        limits in limits(),
    ) {
        if lz4_magic {
            bytes.splice(0..0, 0x184D_2204u32.to_le_bytes());
        }
        let result = handle_text(&frame_message(compressed_payload(&bytes)), &limits);
        assert_named(result, &["pixels", "pixels_compressed.data"])?;
    }

    #[test]
    fn debug_pngs_decode_flipped_within_the_limit((image, bytes) in png(), limits in limits()) {
        let (width, height) = (image.width(), image.height());
        match decode(png_payload(&bytes), &limits) {
            Ok(frame) => {
                prop_assert!(u64::from(width * height) <= limits.max_debug_frame_pixels);
                let truth = frame.ground_truth.expect("a ground truth");
                let expected = image::imageops::flip_vertical(&image.to_luma8());
                prop_assert_eq!(truth, expected);
            }
            Err(e) => {
                prop_assert!(u64::from(width * height) > limits.max_debug_frame_pixels, "refused: {}", e.message);
                prop_assert_eq!(e.field, "full_frame_base64");
            }
        }
    }

    #[test]
    fn mutated_debug_pngs_are_refused_by_field(
        (_image, bytes) in png(),
        mutations in prop::collection::vec(mutation(), 1..4),
        limits in limits(),
    ) {
        let bytes = mutate(bytes, &mutations);
        match decode(png_payload(&bytes), &limits) {
            Ok(frame) => {
                let (width, height) = frame.ground_truth.expect("a ground truth").dimensions();
                prop_assert!(u64::from(width) * u64::from(height) <= limits.max_debug_frame_pixels);
            }
            Err(e) => prop_assert_eq!(e.field, "full_frame_base64"),
        }
    }
}

/// A grey PNG made by the server's own encoder decodes to itself (flipped): the fuzzed
/// PNGs above are made by `image` directly.
#[test]
fn the_servers_own_png_encoding_decodes() {
    let picture = GrayImage::from_fn(5, 3, |x, y| image::Luma([(x * 40 + y) as u8]));
    let limits = DecodeLimits { max_pixels: 10, max_debug_frame_pixels: 15 };
    let frame = decode(png_payload(&png_bytes(&picture)), &limits).unwrap();
    assert_eq!(frame.ground_truth.unwrap(), image::imageops::flip_vertical(&picture));
}
