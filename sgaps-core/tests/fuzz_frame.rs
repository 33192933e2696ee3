//! Fuzzing `Frame::validate` (the check every client frame passes before the engine
//! touches it) against an oracle written from PROTOCOL.md: arbitrary floats (NaN,
//! infinities, subnormals, just out of range), empty and oversized pixel and state
//! lists. It must never panic, accept exactly the valid frames, and name a field that
//! really is wrong. 10,000 cases by default; `PROPTEST_CASES=N` for a long run (docs/fuzzing.md).

use proptest::prelude::*;
use sgaps_core::pipeline::{Frame, Pixel};

/// Floats a client might send: in range, on and just past the bounds, or anything.
fn coordinate() -> impl Strategy<Value = f32> {
    prop_oneof![
        4 => 0.0f32..=1.0,
        1 => prop::sample::select(vec![0.0, -0.0, 1.0, 1.0 + f32::EPSILON, -f32::MIN_POSITIVE, f32::NAN, f32::INFINITY]),
        1 => any::<f32>(),
    ]
}

fn grey_level() -> impl Strategy<Value = f32> {
    prop_oneof![
        4 => 0.0f32..=255.0,
        1 => prop::sample::select(vec![0.0, 255.0, 255.0001, -1e-6, f32::NAN, f32::NEG_INFINITY, f32::MAX]),
        1 => any::<f32>(),
    ]
}

fn state_value() -> impl Strategy<Value = f32> {
    prop_oneof![8 => -1e6f32..1e6, 1 => any::<f32>()]
}

fn pixel() -> impl Strategy<Value = Pixel> {
    (coordinate(), coordinate(), grey_level()).prop_map(|(u, v, value)| Pixel { u, v, value })
}

fn frame() -> impl Strategy<Value = Frame> {
    let timestamp = prop_oneof![8 => -1e9f64..1e9, 1 => any::<f64>()];
    (any::<u64>(), timestamp, prop::collection::vec(pixel(), 0..24), prop::collection::vec(state_value(), 0..12)).prop_map(
        |(frame_id, timestamp, pixels, state)| Frame { frame_id, timestamp, pixels, state, ground_truth: None },
    )
}

fn in_unit(x: f32) -> bool {
    x.is_finite() && (0.0..=1.0).contains(&x)
}

fn pixel_ok(p: &Pixel) -> bool {
    in_unit(p.u) && in_unit(p.v) && p.value.is_finite() && (0.0..=255.0).contains(&p.value)
}

/// PROTOCOL.md's rules, written independently of `Frame::validate`.
fn is_valid(frame: &Frame, max_pixels: usize, max_state_dim: usize) -> bool {
    !frame.pixels.is_empty()
        && frame.pixels.len() <= max_pixels
        && frame.pixels.iter().all(pixel_ok)
        && frame.state.len() <= max_state_dim
        && frame.state.iter().all(|x| x.is_finite())
        && frame.timestamp.is_finite()
}

/// Whether the part of `frame` that `field` names breaks a rule.
fn field_is_wrong(frame: &Frame, field: &str, max_pixels: usize, max_state_dim: usize) -> bool {
    let index = |prefix: &str| -> Option<usize> { field.strip_prefix(prefix)?.split(']').next()?.parse().ok() };
    match field {
        "pixels" => frame.pixels.is_empty() || frame.pixels.len() > max_pixels,
        "state_vector" => frame.state.len() > max_state_dim,
        "timestamp" => !frame.timestamp.is_finite(),
        _ if field.starts_with("pixels[") => {
            let Some(p) = index("pixels[").and_then(|i| frame.pixels.get(i)) else { return false };
            match field.rsplit('.').next() {
                Some("u") => !in_unit(p.u),
                Some("v") => !in_unit(p.v),
                Some("value") => !(p.value.is_finite() && (0.0..=255.0).contains(&p.value)),
                _ => false,
            }
        }
        _ if field.starts_with("state_vector[") => index("state_vector[").and_then(|i| frame.state.get(i)).is_some_and(|x| !x.is_finite()),
        _ => false,
    }
}

/// `PROPTEST_CASES` when set (a long run); otherwise 10000 cases per property, a second or
/// two in the test suite.
fn cases() -> ProptestConfig {
    let short_run = ProptestConfig { cases: 10000, ..ProptestConfig::default() };
    if std::env::var_os("PROPTEST_CASES").is_some() { ProptestConfig::default() } else { short_run }
}

proptest! {
    #![proptest_config(cases())]

    #[test]
    fn validate_accepts_exactly_the_valid_frames_and_names_a_wrong_field(
        frame in frame(),
        max_pixels in 0usize..30,
        max_state_dim in 0usize..10,
    ) {
        match frame.validate(max_pixels, max_state_dim) {
            Ok(()) => {
                prop_assert!(is_valid(&frame, max_pixels, max_state_dim), "accepted an invalid frame: {frame:?}");
                // What the model then takes is in range.
                prop_assert!(frame.model_pixels().iter().all(|p| p.iter().all(|x| (0.0..=1.0).contains(x))));
            }
            Err(e) => {
                prop_assert!(!is_valid(&frame, max_pixels, max_state_dim), "refused a valid frame: {e}");
                prop_assert!(field_is_wrong(&frame, &e.field, max_pixels, max_state_dim), "`{}` is not what is wrong: {e} in {frame:?}", e.field);
                prop_assert!(e.to_string().contains(&e.field), "the message does not name the field: {e}");
            }
        }
    }
}
