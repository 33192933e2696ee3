//! Fuzzing frame building at the C ABI: `SgapsFrame`s as a game could fill them (any
//! floats, NULL pointers with or without lengths, overflowing counts, ground truths of
//! any size or empty) submitted to a small CPU model, blocking (`sgaps_session_submit`),
//! or not (`sgaps_session_submit_async`, then `sgaps_session_poll`), or several in one
//! `sgaps_engine_submit_batch`. Each frame must be answered OK exactly when it is valid
//! (with a reconstruction at the session's size), otherwise with the status its fault
//! calls for and a message naming the field; never a panic, and the sessions go on
//! serving. 256 cases by default; `PROPTEST_CASES=N` for a long run (docs/fuzzing.md).

use std::ffi::{c_char, CStr, CString};
use std::ptr::{null, null_mut};

use proptest::prelude::*;
use proptest::test_runner::TestRunner;
use sgaps::*;

const WIDTH: u32 = 32;
const HEIGHT: u32 = 24;
const MAX_SAMPLES: usize = 64;

fn last_error() -> String {
    unsafe { CStr::from_ptr(sgaps_last_error()) }.to_str().unwrap().to_string()
}

/// What a game puts in an `SgapsFrame`; the pointers are made from these buffers.
#[derive(Debug, Clone)]
struct GameFrame {
    frame_id: u64,
    timestamp: f64,
    /// `None`: a NULL pointer. The count is the buffer's, or any count next to NULL, or
    /// one too large for any buffer (refused before anything is read).
    pixels: Option<Vec<f32>>,
    pixel_count: usize,
    state: Option<Vec<f32>>,
    state_len: usize,
    /// Bytes, width, height; `None`: NULL (the dimensions are then ignored).
    ground_truth: Option<(Vec<u8>, u32, u32)>,
}

/// Floats that break a frame: out of range by a little or a lot, or not numbers.
fn hostile_float() -> impl Strategy<Value = f32> {
    prop_oneof![
        3 => prop::sample::select(vec![1.0 + f32::EPSILON, 255.5, -f32::MIN_POSITIVE, -1.0, f32::NAN, f32::INFINITY, f32::NEG_INFINITY]),
        1 => any::<f32>(),
    ]
}

/// `n` well-formed (u, v, value) triples with a few entries possibly overwritten by
/// hostile floats, so that both valid frames and frames with one bad field are common.
fn pixel_floats() -> impl Strategy<Value = Vec<f32>> {
    (0usize..MAX_SAMPLES + 8)
        .prop_flat_map(|n| {
            let triples = prop::collection::vec((0.0f32..=1.0, 0.0f32..=1.0, 0.0f32..=255.0), n);
            let corruptions = prop::collection::vec((any::<usize>(), hostile_float()), 0..3);
            (triples, prop_oneof![2 => Just(Vec::new()), 1 => corruptions])
        })
        .prop_map(|(triples, corruptions)| {
            let mut floats: Vec<f32> = triples.into_iter().flat_map(|(u, v, value)| [u, v, value]).collect();
            for (at, x) in corruptions {
                if !floats.is_empty() {
                    let len = floats.len();
                    floats[at % len] = x;
                }
            }
            floats
        })
}

/// A count a NULL pointer may carry: 0, small, or one whose byte size overflows.
fn any_count() -> impl Strategy<Value = usize> {
    prop_oneof![Just(0usize), 1usize..10, Just(usize::MAX / 3 + 1), Just(usize::MAX)]
}

/// Element counts no buffer can have: their byte size exceeds isize::MAX.
const IMPOSSIBLE_PIXEL_COUNT: usize = isize::MAX as usize / 12 + 1;
const IMPOSSIBLE_STATE_LEN: usize = isize::MAX as usize / 4 + 1;

fn game_frame() -> impl Strategy<Value = GameFrame> {
    // (buffer, count): the buffer's own count, or an impossible one.
    let pixels = prop_oneof![
        16 => pixel_floats().prop_map(|p| { let n = p.len() / 3; (Some(p), n) }),
        1 => pixel_floats().prop_map(|p| (Some(p), IMPOSSIBLE_PIXEL_COUNT)),
        2 => any_count().prop_map(|n| (None, n)),
    ];
    let state = prop_oneof![
        12 => prop::collection::vec(prop_oneof![9 => -10.0f32..10.0, 1 => hostile_float()], 0..12).prop_map(|s| { let n = s.len(); (Some(s), n) }),
        1 => Just((Some(vec![0.0]), IMPOSSIBLE_STATE_LEN)),
        2 => any_count().prop_map(|n| (None, n)),
    ];
    let truth = prop_oneof![
        3 => Just(None),
        2 => (0u32..40, 0u32..40, any::<u8>()).prop_map(|(w, h, level)| Some((vec![level; (w * h) as usize], w, h))),
    ];
    let timestamp = prop_oneof![12 => 0.0f64..1e6, 1 => any::<f64>()];
    (any::<u64>(), timestamp, pixels, state, truth).prop_map(
        |(frame_id, timestamp, (pixels, pixel_count), (state, state_len), ground_truth)| GameFrame {
            frame_id,
            timestamp,
            pixels,
            pixel_count,
            state,
            state_len,
            ground_truth,
        },
    )
}

impl GameFrame {
    fn as_c(&self) -> SgapsFrame {
        let (truth, width, height) = match &self.ground_truth {
            Some((bytes, w, h)) => (bytes.as_ptr(), *w, *h),
            None => (null(), 7, 0), // ignored next to NULL
        };
        SgapsFrame {
            frame_id: self.frame_id,
            timestamp: self.timestamp,
            pixels: self.pixels.as_ref().map_or(null(), |p| p.as_ptr()),
            pixel_count: self.pixel_count,
            state: self.state.as_ref().map_or(null(), |s| s.as_ptr()),
            state_len: self.state_len,
            ground_truth: truth,
            ground_truth_width: width,
            ground_truth_height: height,
        }
    }

    /// The status this frame calls for, and what the error message must contain (the
    /// field as the frame names it, alone or as `items[i].frame`). The order is
    /// frame_from_c's: pixels, state, ground truth, then the engine's checks.
    fn expected(&self, max_state_dim: usize) -> (SgapsStatus, &'static str) {
        match (&self.pixels, self.pixel_count.checked_mul(3)) {
            (_, None) => return (SgapsStatus::InvalidArgument, "frame.pixel_count` overflows"),
            (None, Some(floats)) if floats > 0 => return (SgapsStatus::NullArgument, "frame.pixels` is NULL"),
            (Some(_), Some(_)) if self.pixel_count == IMPOSSIBLE_PIXEL_COUNT => {
                return (SgapsStatus::InvalidArgument, "frame.pixels` has an impossible length")
            }
            _ => {}
        }
        match &self.state {
            None if self.state_len > 0 => return (SgapsStatus::NullArgument, "frame.state` is NULL"),
            Some(_) if self.state_len == IMPOSSIBLE_STATE_LEN => {
                return (SgapsStatus::InvalidArgument, "frame.state` has an impossible length")
            }
            _ => {}
        }
        if let Some((_, w, h)) = &self.ground_truth {
            if *w == 0 || *h == 0 {
                return (SgapsStatus::InvalidArgument, "frame.ground_truth_width/height`");
            }
        }
        let pixels = self.pixels.as_deref().unwrap_or_default();
        let in_unit = |x: f32| x.is_finite() && (0.0..=1.0).contains(&x);
        let pixels_ok = pixels.chunks_exact(3).all(|p| in_unit(p[0]) && in_unit(p[1]) && p[2].is_finite() && (0.0..=255.0).contains(&p[2]));
        let state = self.state.as_deref().unwrap_or_default();
        let valid = !pixels.is_empty()
            && pixels.len() / 3 <= MAX_SAMPLES
            && pixels_ok
            && state.len() <= max_state_dim
            && state.iter().all(|x| x.is_finite())
            && self.timestamp.is_finite();
        if valid {
            (SgapsStatus::Ok, "")
        } else {
            (SgapsStatus::InvalidFrame, "invalid frame data: `")
        }
    }
}

/// How a case's frames are submitted.
#[derive(Debug, Clone, Copy)]
enum Mode {
    /// sgaps_session_submit, one after another.
    Blocking,
    /// sgaps_session_submit_async, each then taken by sgaps_session_poll.
    Async,
    /// One sgaps_engine_submit_batch call with an item per frame.
    Batch,
}

#[test]
fn any_c_frame_gets_the_status_its_fault_calls_for() {
    let dir = tempfile::tempdir().unwrap();
    let overrides = [
        "model=spt_small".to_string(),
        format!("model.resolution=[{WIDTH},{HEIGHT}]"),
        "model.max_state_dim=8".into(),
        "sampling.default_sample_count=32".into(),
        format!("sampling.max_sample_count={MAX_SAMPLES}"),
        "mask_update=fixed".into(),
        format!("checkpoint_dir={}", dir.path().display()),
        "device=cpu".into(),
    ];
    let strings: Vec<CString> = overrides.iter().map(|s| CString::new(s.as_str()).unwrap()).collect();
    let pointers: Vec<*const c_char> = strings.iter().map(|s| s.as_ptr()).collect();
    let options = SgapsEngineOptions { overrides: pointers.as_ptr(), override_count: pointers.len(), ..sgaps_engine_options_default() };
    let mut engine = null_mut();
    assert_eq!(unsafe { sgaps_engine_open(&options, &mut engine) }, SgapsStatus::Ok, "{}", last_error());
    // One session for blocking submission, one for submit_async + poll (never mixed).
    let begin = |key: &CStr| {
        let mut params = std::mem::MaybeUninit::<SgapsSessionParams>::uninit();
        let mut coordinates = vec![0f32; 2 * MAX_SAMPLES];
        let mut session = null_mut();
        let status = unsafe {
            sgaps_session_begin(engine, key.as_ptr(), WIDTH, HEIGHT, params.as_mut_ptr(), coordinates.as_mut_ptr(), coordinates.len(), &mut session)
        };
        assert_eq!(status, SgapsStatus::Ok, "{}", last_error());
        (session, unsafe { params.assume_init() })
    };
    let (blocking, params) = begin(c"fuzz");
    let (non_blocking, _) = begin(c"fuzz-async");
    let max_state_dim = params.max_state_dim as usize;

    let accepted = std::cell::Cell::new(0usize);
    // `message`: the error message of this frame, when the call kept it.
    let answered = |frame: &GameFrame, status: SgapsStatus, message: Option<&str>, result: &SgapsFrameResult| {
        let (expected, named) = frame.expected(max_state_dim);
        prop_assert_eq!(status, expected, "{:?}", message);
        if let Some(message) = message {
            prop_assert!(message.contains(named), "`{}` not named in: {}", named, message);
        }
        if status == SgapsStatus::Ok {
            prop_assert_eq!((result.frame_id, result.width, result.height), (frame.frame_id, WIDTH, HEIGHT));
            prop_assert_eq!(result.ground_truth_psnr.is_nan(), frame.ground_truth.is_none());
            accepted.set(accepted.get() + 1);
        }
        Ok(())
    };
    let error_unless_ok = |status: SgapsStatus| if status == SgapsStatus::Ok { String::new() } else { last_error() };
    let mut runner = TestRunner::default();
    let cases = (prop::collection::vec(game_frame(), 1..4), prop::sample::select(vec![Mode::Blocking, Mode::Async, Mode::Batch]));
    let outcome = runner.run(&cases, |(frames, mode)| {
        match mode {
            Mode::Blocking => {
                for frame in &frames {
                    let mut result = SgapsFrameResult::default();
                    let status = unsafe { sgaps_session_submit(blocking, &frame.as_c(), &sgaps_frame_buffers_default(), &mut result) };
                    answered(frame, status, Some(&error_unless_ok(status)), &result)?;
                }
            }
            Mode::Async => {
                for frame in &frames {
                    // Refused at once, or queued and answered by the next poll.
                    let mut result = SgapsFrameResult::default();
                    let status = match unsafe { sgaps_session_submit_async(non_blocking, &frame.as_c()) } {
                        SgapsStatus::Ok => unsafe { sgaps_session_poll(non_blocking, 10_000, &sgaps_frame_buffers_default(), &mut result) },
                        refused => refused,
                    };
                    answered(frame, status, Some(&error_unless_ok(status)), &result)?;
                }
            }
            Mode::Batch => {
                // Every item on the blocking session: a bad item fails alone.
                let mut items: Vec<SgapsBatchItem> = frames
                    .iter()
                    .map(|frame| SgapsBatchItem {
                        session: blocking,
                        frame: frame.as_c(),
                        buffers: sgaps_frame_buffers_default(),
                        result: SgapsFrameResult::default(),
                        status: SgapsStatus::Panic,
                    })
                    .collect();
                let status = unsafe { sgaps_engine_submit_batch(engine, items.as_mut_ptr(), items.len()) };
                let message = error_unless_ok(status);
                let first_failure = items.iter().position(|item| item.status != SgapsStatus::Ok);
                prop_assert_eq!(status, first_failure.map_or(SgapsStatus::Ok, |i| items[i].status), "{}", message);
                for (i, (frame, item)) in frames.iter().zip(&items).enumerate() {
                    // The call keeps the message of its first failure only, prefixed with the item.
                    let kept = (Some(i) == first_failure).then_some(message.as_str());
                    if let Some(kept) = kept {
                        prop_assert!(kept.contains(&format!("items[{i}]")), "items[{}] not in: {}", i, kept);
                    }
                    answered(frame, item.status, kept, &item.result)?;
                }
            }
        }
        Ok(())
    });
    if let Err(failure) = outcome {
        panic!("{failure}");
    }
    // The generator reaches the model, not only the checks in front of it.
    let accepted = accepted.get();
    println!("{accepted} frames were valid and reconstructed in {} cases of 1 to 3 frames", runner.config().cases);
    assert!(accepted * 10 >= runner.config().cases as usize, "only {accepted} frames were valid");

    unsafe {
        sgaps_session_free(blocking);
        sgaps_session_free(non_blocking);
        sgaps_engine_free(engine);
    }
}
