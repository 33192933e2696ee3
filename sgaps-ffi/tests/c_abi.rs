//! The C ABI called as C calls it (raw pointers, caller buffers, status codes), on a
//! small CPU model with random weights, checked against the engine it wraps.

use std::ffi::{c_char, CStr, CString};
use std::path::Path;
use std::ptr::{null, null_mut};

use sgaps::*;
use sgaps_core::pipeline::{Engine, Frame, Pixel};

const WIDTH: usize = 32;
const HEIGHT: usize = 24;
const SAMPLES: usize = 100;

fn overrides(checkpoint_dir: &Path, seed: u64) -> Vec<String> {
    vec![
        "model=spt_small".into(),
        format!("model.resolution=[{WIDTH},{HEIGHT}]"),
        format!("sampling.default_sample_count={SAMPLES}"),
        "mask_update=fixed".into(),
        format!("seed={seed}"),
        format!("checkpoint_dir={}", checkpoint_dir.display()),
        "device=cpu".into(),
    ]
}

fn last_error() -> String {
    unsafe { CStr::from_ptr(sgaps_last_error()) }.to_str().unwrap().to_string()
}

fn check(status: SgapsStatus) {
    assert_eq!(status, SgapsStatus::Ok, "{}", last_error());
}

/// Opens an engine through the C ABI; the caller frees it.
fn open(overrides: &[String]) -> Result<*mut SgapsEngine, (SgapsStatus, String)> {
    let strings: Vec<CString> = overrides.iter().map(|s| CString::new(s.as_str()).unwrap()).collect();
    let pointers: Vec<*const c_char> = strings.iter().map(|s| s.as_ptr()).collect();
    let options = SgapsEngineOptions { overrides: pointers.as_ptr(), override_count: pointers.len(), ..sgaps_engine_options_default() };
    let mut engine = null_mut();
    match unsafe { sgaps_engine_open(&options, &mut engine) } {
        SgapsStatus::Ok => Ok(engine),
        status => {
            assert!(engine.is_null());
            Err((status, last_error()))
        }
    }
}

struct Begun {
    session: *mut SgapsSession,
    params: SgapsSessionParams,
    coordinates: Vec<f32>,
}

fn begin(engine: *const SgapsEngine, key: &str, client: [u32; 2]) -> Begun {
    let key = CString::new(key).unwrap();
    let mut params = std::mem::MaybeUninit::<SgapsSessionParams>::uninit();
    let mut coordinates = vec![0f32; 2 * SAMPLES];
    let mut session = null_mut();
    check(unsafe {
        sgaps_session_begin(
            engine,
            key.as_ptr(),
            client[0],
            client[1],
            params.as_mut_ptr(),
            coordinates.as_mut_ptr(),
            coordinates.len(),
            &mut session,
        )
    });
    Begun { session, params: unsafe { params.assume_init() }, coordinates }
}

fn text(field: &[c_char]) -> String {
    unsafe { CStr::from_ptr(field.as_ptr()) }.to_str().unwrap().to_string()
}

/// A bright square moving right over a vertical gradient.
fn scene(t: usize, u: f32, v: f32) -> f32 {
    let (x, y) = (u * 64.0, v * 48.0);
    let left = 4.0 + 2.0 * t as f32;
    if (left..left + 12.0).contains(&x) && (16.0..28.0).contains(&y) {
        250.0
    } else {
        (v * 160.0).floor()
    }
}

/// (u, v, value) triples at `coordinates` (flat u, v pairs).
fn sample(t: usize, coordinates: &[f32]) -> Vec<f32> {
    coordinates.chunks_exact(2).flat_map(|uv| [uv[0], uv[1], scene(t, uv[0], uv[1])]).collect()
}

/// Caller-owned outputs of one frame.
struct Outputs {
    reconstruction: Vec<u8>,
    importance: Vec<f32>,
    coordinates: Vec<f32>,
}

impl Outputs {
    fn new() -> Outputs {
        Outputs { reconstruction: vec![0; WIDTH * HEIGHT], importance: vec![0.0; WIDTH * HEIGHT], coordinates: vec![0.0; 2 * SAMPLES] }
    }

    fn buffers(&mut self) -> SgapsFrameBuffers {
        SgapsFrameBuffers {
            reconstruction: self.reconstruction.as_mut_ptr(),
            reconstruction_capacity: self.reconstruction.len(),
            importance: self.importance.as_mut_ptr(),
            importance_capacity: self.importance.len(),
            coordinates: self.coordinates.as_mut_ptr(),
            coordinates_capacity: self.coordinates.len(),
        }
    }
}

fn frame(frame_id: u64, pixels: &[f32]) -> SgapsFrame {
    SgapsFrame { frame_id, timestamp: frame_id as f64 / 10.0, pixels: pixels.as_ptr(), pixel_count: pixels.len() / 3, ..sgaps_frame_default() }
}

fn submit(session: *const SgapsSession, frame: &SgapsFrame, outputs: &mut Outputs) -> (SgapsStatus, SgapsFrameResult) {
    let mut result = SgapsFrameResult::default();
    let status = unsafe { sgaps_session_submit(session, frame, &outputs.buffers(), &mut result) };
    (status, result)
}

fn end(session: *const SgapsSession) -> SgapsSessionStats {
    let mut stats = std::mem::MaybeUninit::uninit();
    check(unsafe { sgaps_session_end(session, stats.as_mut_ptr()) });
    unsafe { stats.assume_init() }
}

#[test]
fn frames_stream_closed_loop_and_match_the_engine_exactly() {
    let dir = tempfile::tempdir().unwrap();
    // Both engines load these weights from disk. (Fresh weights would not do: other
    // tests load checkpoints meanwhile, and loading draws from libtorch's global
    // generator outside Model::new_seeded's lock.)
    let config = sgaps_core::Config::load(None, &overrides(dir.path(), 7)).unwrap().model;
    let model = sgaps_core::model::Model::new_seeded(&config, tch::Device::Cpu, 7).unwrap();
    model.save_checkpoint(&dir.path().join("default")).unwrap();
    let engine = open(&overrides(dir.path(), 7)).unwrap();
    let mut info = std::mem::MaybeUninit::<SgapsEngineInfo>::uninit();
    check(unsafe { sgaps_engine_get_info(engine, info.as_mut_ptr()) });
    let info = unsafe { info.assume_init() };
    assert_eq!(info.sample_count as usize, SAMPLES);
    assert!(text(&info.device).starts_with("cpu"), "{}", text(&info.device));

    let begun = begin(engine, "game", [64, 48]);
    let p = begun.params;
    assert_eq!((p.width, p.height, p.client_width, p.client_height), (32, 24, 64, 48));
    assert_eq!((p.sample_count as usize, p.max_state_dim), (SAMPLES, 64));
    assert_eq!(text(&p.checkpoint_key), "default", "no checkpoint exists for `game`: the fallback serves");
    assert!(text(&p.model_version).starts_with("default-"), "{}", text(&p.model_version));
    assert!(!p.checkpoint_loaded, "no checkpoint exists for `game`");
    let mut sizes = SgapsBufferSizes { reconstruction: 0, importance: 0, coordinates: 0 };
    check(unsafe { sgaps_session_buffer_sizes(begun.session, &mut sizes) });
    assert_eq!(sizes, SgapsBufferSizes { reconstruction: WIDTH * HEIGHT, importance: WIDTH * HEIGHT, coordinates: 2 * SAMPLES });

    // The same stream straight through the engine, with the same seed.
    let reference = Engine::from_conf(None, &overrides(dir.path(), 7)).unwrap();
    let reference_start = reference.begin_session("game", [64, 48]).unwrap();
    let flat = |coordinates: &[[f32; 2]]| coordinates.iter().flatten().copied().collect::<Vec<f32>>();
    assert_eq!(begun.coordinates, flat(&reference_start.initial_coordinates));

    let mut coordinates = begun.coordinates.clone();
    let mut reference_coordinates = reference_start.initial_coordinates.clone();
    let mut outputs = Outputs::new();
    let mut updates = Vec::new();
    for t in 0..21u64 {
        let pixels = sample(t as usize, &coordinates);
        let state = [0.5f32, -1.0, t as f32];
        let c_frame = SgapsFrame { state: state.as_ptr(), state_len: state.len(), ..frame(t, &pixels) };
        let (status, result) = submit(begun.session, &c_frame, &mut outputs);
        check(status);
        assert_eq!((result.frame_id, result.width, result.height, result.batch_size), (t, 32, 24, 1));
        assert!(result.ground_truth_psnr.is_nan() && result.sample_psnr > 0.0);
        assert!(outputs.importance.iter().all(|v| (0.0..=1.0).contains(v)));

        let expected = reference
            .submit(
                reference_start.params.session_id,
                Frame {
                    frame_id: t,
                    timestamp: t as f64 / 10.0,
                    pixels: reference_coordinates.iter().map(|&[u, v]| Pixel { u, v, value: scene(t as usize, u, v) }).collect(),
                    state: state.to_vec(),
                    ground_truth: None,
                },
            )
            .unwrap();
        assert_eq!(outputs.reconstruction, expected.reconstruction.as_raw().as_slice(), "frame {t}");
        assert_eq!(outputs.importance, expected.importance.map.values, "frame {t}");
        assert_eq!(result.coordinates_updated, expected.mask_update.is_some());
        if let Some(update) = expected.mask_update {
            assert_eq!((result.target_frame_id, result.coordinate_count as usize), (t + 1, SAMPLES));
            assert_eq!(outputs.coordinates, flat(&update.coordinates));
            // Frames are sampled from target_frame_id on at the new coordinates.
            coordinates = outputs.coordinates.clone();
            reference_coordinates = update.coordinates;
            updates.push(result.target_frame_id);
        } else {
            assert_eq!((result.target_frame_id, result.coordinate_count), (0, 0));
        }
    }
    assert_eq!(updates, [10, 20], "mask_update=fixed changes the mask every 10 frames");

    let stats = end(begun.session);
    assert_eq!((stats.frames_reconstructed, stats.mask_updates, stats.last_frame_id), (21, 2, 20));
    assert_eq!(stats.total_pixels, 21 * SAMPLES as u64);
    assert!(stats.mean_psnr.is_nan(), "no frame carried ground truth");
    // An ended session refuses frames and a second end.
    let pixels = sample(0, &begun.coordinates);
    assert_eq!(submit(begun.session, &frame(21, &pixels), &mut outputs).0, SgapsStatus::UnknownSession);
    assert!(last_error().contains("unknown session"), "{}", last_error());
    let mut stats = std::mem::MaybeUninit::uninit();
    assert_eq!(unsafe { sgaps_session_end(begun.session, stats.as_mut_ptr()) }, SgapsStatus::UnknownSession);
    unsafe {
        sgaps_session_free(begun.session);
        sgaps_engine_free(engine);
    }
}

#[test]
fn ground_truth_gives_quality_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(&overrides(dir.path(), 1)).unwrap();
    let begun = begin(engine, "default", [64, 48]);
    let truth: Vec<u8> = (0..64 * 48).map(|i| scene(0, (i % 64) as f32 / 64.0, (i / 64) as f32 / 48.0) as u8).collect();
    let pixels = sample(0, &begun.coordinates);
    let with_truth = SgapsFrame { ground_truth: truth.as_ptr(), ground_truth_width: 64, ground_truth_height: 48, ..frame(0, &pixels) };
    let (status, result) = submit(begun.session, &with_truth, &mut Outputs::new());
    check(status);
    assert!(result.ground_truth_psnr.is_finite() && result.ground_truth_psnr > 0.0);
    assert!(result.ground_truth_ssim <= 1.0);
    // Ground truth whose size disagrees with its buffer is refused by name.
    let empty = SgapsFrame { ground_truth_width: 0, ..with_truth };
    assert_eq!(submit(begun.session, &empty, &mut Outputs::new()).0, SgapsStatus::InvalidArgument);
    assert!(last_error().contains("`frame.ground_truth_width/height` is 0x48"), "{}", last_error());
    let stats = end(begun.session);
    assert_eq!((stats.frames_with_ground_truth, stats.frames_reconstructed), (1, 1));
    assert!((stats.mean_psnr - result.ground_truth_psnr).abs() < 1e-9);
    unsafe {
        sgaps_session_free(begun.session);
        sgaps_engine_free(engine);
    }
}

#[test]
fn bad_input_gets_a_status_and_a_message_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let (status, message) = open(&["sampling.default_sample_count=oops".into()]).unwrap_err();
    assert_eq!(status, SgapsStatus::ConfigError);
    assert!(message.contains("default_sample_count"), "{message}");
    let mut engine = null_mut();
    assert_eq!(unsafe { sgaps_engine_open(null(), &mut engine) }, SgapsStatus::NullArgument);
    assert_eq!(last_error(), "sgaps_engine_open: `options` is NULL");
    let options = SgapsEngineOptions { override_count: 2, ..sgaps_engine_options_default() };
    assert_eq!(unsafe { sgaps_engine_open(&options, &mut engine) }, SgapsStatus::NullArgument);
    assert_eq!(last_error(), "sgaps_engine_open: `options->overrides` is NULL");

    let engine = open(&overrides(dir.path(), 1)).unwrap();
    let begun = begin(engine, "default", [64, 48]);
    let mut outputs = Outputs::new();

    // Begin: a short coordinate buffer, a key that is not UTF-8, an empty screen.
    let (mut params, mut session) = (std::mem::MaybeUninit::uninit(), null_mut());
    let mut short = vec![0f32; 2 * SAMPLES - 1];
    let status = unsafe { sgaps_session_begin(engine, null(), 64, 48, params.as_mut_ptr(), short.as_mut_ptr(), short.len(), &mut session) };
    assert_eq!(status, SgapsStatus::BufferTooSmall);
    assert_eq!(last_error(), "sgaps_session_begin: `initial_coordinates` holds 199 elements but 200 are needed");
    assert!(session.is_null());
    let not_utf8 = [0xffu8 as c_char, 0];
    let mut coordinates = vec![0f32; 2 * SAMPLES];
    let status = unsafe { sgaps_session_begin(engine, not_utf8.as_ptr(), 64, 48, params.as_mut_ptr(), coordinates.as_mut_ptr(), coordinates.len(), &mut session) };
    assert_eq!(status, SgapsStatus::InvalidArgument);
    assert!(last_error().contains("`checkpoint_key` is not UTF-8"), "{}", last_error());
    let status = unsafe { sgaps_session_begin(engine, null(), 0, 48, params.as_mut_ptr(), coordinates.as_mut_ptr(), coordinates.len(), &mut session) };
    assert_eq!(status, SgapsStatus::InvalidArgument);
    assert!(last_error().contains("resolution"), "{}", last_error());

    // Submit: a value out of range, too many state values, NULL pixels, a short buffer.
    let mut pixels = sample(0, &begun.coordinates);
    pixels[3 * 3 + 2] = 300.0;
    assert_eq!(submit(begun.session, &frame(0, &pixels), &mut outputs).0, SgapsStatus::InvalidFrame);
    assert_eq!(last_error(), "sgaps_session_submit: invalid frame data: `pixels[3].value` is 300, must be in 0..=255");
    let pixels = sample(0, &begun.coordinates);
    let state = vec![0f32; 65];
    let long_state = SgapsFrame { state: state.as_ptr(), state_len: state.len(), ..frame(0, &pixels) };
    assert_eq!(submit(begun.session, &long_state, &mut outputs).0, SgapsStatus::InvalidFrame);
    assert!(last_error().contains("`state_vector` has 65 entries, max_state_dim is 64"), "{}", last_error());
    let no_pixels = SgapsFrame { pixels: null(), ..frame(0, &pixels) };
    assert_eq!(submit(begun.session, &no_pixels, &mut outputs).0, SgapsStatus::NullArgument);
    assert_eq!(last_error(), "sgaps_session_submit: `frame.pixels` is NULL");
    let mut buffers = outputs.buffers();
    buffers.importance_capacity -= 1;
    let mut result = SgapsFrameResult::default();
    let status = unsafe { sgaps_session_submit(begun.session, &frame(0, &pixels), &buffers, &mut result) };
    assert_eq!(status, SgapsStatus::BufferTooSmall);
    assert_eq!(last_error(), "sgaps_session_submit: `buffers.importance` holds 767 elements but 768 are needed");
    let status = unsafe { sgaps_session_submit(null(), &frame(0, &pixels), &buffers, &mut result) };
    assert_eq!((status, last_error().as_str()), (SgapsStatus::NullArgument, "sgaps_session_submit: `session` is NULL"));
    // Outputs may be skipped with NULL and capacity 0; capacity without memory may not.
    let skip_all = sgaps_frame_buffers_default();
    check(unsafe { sgaps_session_submit(begun.session, &frame(0, &pixels), &skip_all, &mut result) });
    let dangling = SgapsFrameBuffers { reconstruction_capacity: 5, ..skip_all };
    let status = unsafe { sgaps_session_submit(begun.session, &frame(1, &pixels), &dangling, &mut result) };
    assert_eq!((status, last_error().as_str()), (SgapsStatus::NullArgument, "sgaps_session_submit: `buffers.reconstruction` is NULL"));
    // None of the refused frames was consumed; the session goes on.
    assert_eq!(end(begun.session).frames_reconstructed, 1);

    // The message can be copied (cut short, NUL-terminated) and its length asked.
    let full = last_error();
    assert!(full.is_empty(), "sgaps_session_end succeeded and cleared it: {full:?}");
    let _ = submit(null(), &frame(0, &pixels), &mut outputs);
    let length = unsafe { sgaps_last_error_copy(null_mut(), 0) };
    assert_eq!(length, "sgaps_session_submit: `session` is NULL".len());
    let mut small = [1 as c_char; 8];
    assert_eq!(unsafe { sgaps_last_error_copy(small.as_mut_ptr(), small.len()) }, length);
    assert_eq!(text(&small), "sgaps_s");
    let name = |status: i32| unsafe { CStr::from_ptr(sgaps_status_name(status)) }.to_str().unwrap();
    assert_eq!(name(SgapsStatus::InvalidFrame as i32), "SGAPS_STATUS_INVALID_FRAME");
    assert_eq!(name(12345), "SGAPS_STATUS_UNKNOWN");
    unsafe {
        sgaps_session_free(begun.session);
        sgaps_engine_free(engine);
        sgaps_session_free(null_mut()); // NULL is fine
        sgaps_engine_free(null_mut());
    }
}

#[test]
fn a_batch_shares_one_forward_pass_and_a_bad_item_fails_alone() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(&overrides(dir.path(), 3)).unwrap();
    let other_engine = open(&overrides(dir.path(), 3)).unwrap();
    let (a, b) = (begin(engine, "game", [64, 48]), begin(engine, "other", [640, 480]));
    let foreign = begin(other_engine, "game", [64, 48]);
    let (pixels_a, pixels_b) = (sample(0, &a.coordinates), sample(0, &b.coordinates));
    let mut bad_pixels = pixels_b.clone();
    bad_pixels[2] = -1.0;
    let mut outputs: Vec<Outputs> = (0..4).map(|_| Outputs::new()).collect();
    let mut items: Vec<SgapsBatchItem> = [(a.session, &pixels_a), (b.session, &bad_pixels), (b.session, &pixels_b), (foreign.session, &pixels_a)]
        .into_iter()
        .zip(&mut outputs)
        .map(|((session, pixels), outputs)| SgapsBatchItem {
            session,
            frame: frame(0, pixels),
            buffers: outputs.buffers(),
            result: SgapsFrameResult::default(),
            status: SgapsStatus::Panic, // overwritten
        })
        .collect();
    let status = unsafe { sgaps_engine_submit_batch(engine, items.as_mut_ptr(), items.len()) };
    assert_eq!(status, SgapsStatus::InvalidFrame, "the first failed item's status");
    assert_eq!(last_error(), "sgaps_engine_submit_batch: items[1]: invalid frame data: `pixels[0].value` is -1, must be in 0..=255");
    let statuses: Vec<SgapsStatus> = items.iter().map(|item| item.status).collect();
    assert_eq!(statuses, [SgapsStatus::Ok, SgapsStatus::InvalidFrame, SgapsStatus::Ok, SgapsStatus::UnknownSession]);
    assert_eq!((items[0].result.batch_size, items[2].result.batch_size), (2, 2), "one forward pass");
    assert_eq!(items[1].result.batch_size, 0, "a failed item's result is zeroed");

    // The batched reconstruction matches the single one (up to a grey level of rounding).
    let (status, alone) = submit(a.session, &frame(1, &pixels_a), &mut outputs[1]);
    check(status);
    assert_eq!(alone.batch_size, 1);
    let max_diff = outputs[0].reconstruction.iter().zip(&outputs[1].reconstruction).map(|(x, y)| x.abs_diff(*y)).max();
    assert!(max_diff <= Some(1), "{max_diff:?}");
    assert_eq!(end(b.session).frames_reconstructed, 1);
    check(unsafe { sgaps_engine_submit_batch(engine, null_mut(), 0) });
    unsafe {
        for session in [a.session, b.session, foreign.session] {
            sgaps_session_free(session);
        }
        sgaps_engine_free(engine);
        sgaps_engine_free(other_engine);
    }
}

/// Handles crossing to other threads, as a C program would pass them.
#[derive(Clone, Copy)]
struct Shared(*mut SgapsEngine);
unsafe impl Send for Shared {}
unsafe impl Sync for Shared {}

#[test]
fn threads_stream_separate_sessions_on_one_engine() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Shared(open(&overrides(dir.path(), 5)).unwrap());
    let stats: Vec<SgapsSessionStats> = std::thread::scope(|scope| {
        let threads: Vec<_> = (0..4)
            .map(|thread| {
                scope.spawn(move || {
                    let engine = engine;
                    let begun = begin(engine.0, &format!("game{thread}"), [64, 48]);
                    let mut outputs = Outputs::new();
                    for t in 0..6u64 {
                        let pixels = sample(t as usize + thread, &begun.coordinates);
                        let (status, result) = submit(begun.session, &frame(t, &pixels), &mut outputs);
                        check(status);
                        assert_eq!((result.frame_id, result.width, result.height), (t, 32, 24));
                    }
                    // Errors are per thread: this thread's failure is its own message.
                    let _ = submit(begun.session, &frame(9, &[]), &mut outputs);
                    assert!(last_error().contains("`pixels` is empty"), "{}", last_error());
                    let stats = end(begun.session);
                    unsafe { sgaps_session_free(begun.session) };
                    stats
                })
            })
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).collect()
    });
    assert!(stats.iter().all(|s| s.frames_reconstructed == 6 && s.last_frame_id == 5));
    assert_eq!(last_error(), "", "the main thread saw none of the threads' errors");
    unsafe { sgaps_engine_free(engine.0) };
}

#[test]
fn sessions_keep_the_engine_alive_after_its_handle_is_freed() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(&overrides(dir.path(), 1)).unwrap();
    let begun = begin(engine, "default", [64, 48]);
    unsafe { sgaps_engine_free(engine) };
    let pixels = sample(0, &begun.coordinates);
    check(submit(begun.session, &frame(0, &pixels), &mut Outputs::new()).0);
    unsafe { sgaps_session_free(begun.session) }; // ends the session and frees the engine
}

#[test]
fn checkpoints_are_registered_from_a_directory_and_listed() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(&overrides(&dir.path().join("store"), 1)).unwrap();
    let list = || {
        let mut length = 0usize;
        check(unsafe { sgaps_engine_list_checkpoints(engine, null_mut(), 0, &mut length) });
        let mut buffer = vec![1 as c_char; length];
        check(unsafe { sgaps_engine_list_checkpoints(engine, buffer.as_mut_ptr(), buffer.len(), &mut length) });
        text(&buffer)
    };
    assert_eq!(list(), "");

    // A trainer's checkpoint: another resolution than the engine's default model.
    let mut config = sgaps_core::Config::load(None, &["model=spt_small".into(), "model.resolution=[16,12]".into()]).unwrap().model;
    config.max_state_dim = 8;
    let trained = dir.path().join("trained");
    sgaps_core::model::Model::new_seeded(&config, tch::Device::Cpu, 9).unwrap().save_checkpoint(&trained).unwrap();
    let (key, path) = (CString::new("tiny").unwrap(), CString::new(trained.to_str().unwrap()).unwrap());
    check(unsafe { sgaps_engine_register_checkpoint(engine, key.as_ptr(), path.as_ptr()) });
    check(unsafe { sgaps_engine_register_checkpoint(engine, c"zelda".as_ptr(), path.as_ptr()) });
    assert_eq!(list(), "tiny\nzelda");
    let mut length = 0;
    let mut short = [0 as c_char; 4];
    let status = unsafe { sgaps_engine_list_checkpoints(engine, short.as_mut_ptr(), short.len(), &mut length) };
    assert_eq!((status, length), (SgapsStatus::BufferTooSmall, "tiny\nzelda".len() + 1));

    let begun = begin(engine, "tiny", [64, 48]);
    let p = begun.params;
    assert!(p.checkpoint_loaded);
    assert_eq!((text(&p.checkpoint_key).as_str(), p.width, p.height, p.max_state_dim), ("tiny", 16, 12, 8));
    assert!(text(&p.model_version).starts_with("tiny-"), "{}", text(&p.model_version));
    let pixels = sample(0, &begun.coordinates);
    let mut outputs = Outputs::new(); // larger than 16x12 needs: fine
    let (status, result) = submit(begun.session, &frame(0, &pixels), &mut outputs);
    check(status);
    assert_eq!((result.width, result.height), (16, 12));
    unsafe { sgaps_session_free(begun.session) };

    // A directory without weights, and a key that is no plain name, are refused.
    let missing = CString::new(dir.path().join("nothing").to_str().unwrap()).unwrap();
    let status = unsafe { sgaps_engine_register_checkpoint(engine, key.as_ptr(), missing.as_ptr()) };
    assert_eq!(status, SgapsStatus::CheckpointError);
    assert!(last_error().contains("model.safetensors"), "{}", last_error());
    let status = unsafe { sgaps_engine_register_checkpoint(engine, c"../escape".as_ptr(), path.as_ptr()) };
    assert_eq!(status, SgapsStatus::CheckpointError);
    assert!(last_error().contains("checkpoint key `../escape`"), "{}", last_error());
    unsafe { sgaps_engine_free(engine) };
}

#[test]
fn pngs_are_written_for_c_callers() {
    let dir = tempfile::tempdir().unwrap();
    let gray_path = dir.path().join("frame.png");
    let levels: Vec<u8> = (0..6).map(|i| i * 40).collect();
    let path = CString::new(gray_path.to_str().unwrap()).unwrap();
    check(unsafe { sgaps_write_png_gray(path.as_ptr(), levels.as_ptr(), levels.len(), 3, 2) });
    let read = image::open(&gray_path).unwrap().into_luma8();
    assert_eq!((read.dimensions(), read.into_raw()), ((3, 2), levels.clone()));

    let heat_path = dir.path().join("importance.png");
    let path = CString::new(heat_path.to_str().unwrap()).unwrap();
    check(unsafe { sgaps_write_importance_png(path.as_ptr(), [0.0f32, 1.0].as_ptr(), 2, 2, 1) });
    let heat = image::open(&heat_path).unwrap().into_rgb8();
    assert_eq!(heat.get_pixel(0, 0).0, [68, 1, 84], "viridis 0 is dark purple");
    assert_eq!(heat.get_pixel(1, 0).0, [253, 231, 37], "viridis 1 is yellow");

    let status = unsafe { sgaps_write_png_gray(path.as_ptr(), levels.as_ptr(), levels.len(), 4, 2) };
    assert_eq!(status, SgapsStatus::InvalidArgument);
    assert_eq!(last_error(), "sgaps_write_png_gray: `len` is 6, but 4x2 needs 8");
    let nowhere = CString::new(dir.path().join("no/such/dir.png").to_str().unwrap()).unwrap();
    let status = unsafe { sgaps_write_png_gray(nowhere.as_ptr(), levels.as_ptr(), levels.len(), 3, 2) };
    assert_eq!(status, SgapsStatus::IoError);
}

#[test]
fn versions_are_reported() {
    let version = unsafe { CStr::from_ptr(sgaps_version()) }.to_str().unwrap();
    assert_eq!(version, env!("CARGO_PKG_VERSION"));
    // Against the generated header, which is what C callers compile against.
    let header = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../include/sgaps.h")).unwrap();
    let declared: u32 = header
        .lines()
        .find_map(|line| line.strip_prefix("#define SGAPS_ABI_VERSION "))
        .expect("include/sgaps.h defines SGAPS_ABI_VERSION")
        .trim()
        .parse()
        .unwrap();
    assert_eq!(sgaps_abi_version(), declared, "sgaps_abi_version() and SGAPS_ABI_VERSION in include/sgaps.h");
}

#[test]
fn a_reset_drops_a_temporal_sessions_history() {
    let dir = tempfile::tempdir().unwrap();
    let mut temporal = overrides(dir.path(), 1);
    temporal.retain(|o| !o.starts_with("model=") && !o.starts_with("mask_update="));
    temporal.extend(["model=temporal", "model.temporal.channels=[4,8,8]", "sampling=space_time", "mask_update=every_frame"].map(String::from));
    let engine = open(&temporal).unwrap();
    let begun = begin(engine, "game", [64, 48]);
    let first = sample(0, &begun.coordinates);
    let mut outputs = Outputs::new();
    check(submit(begun.session, &frame(0, &first), &mut outputs).0);
    let fresh = outputs.reconstruction.clone();
    let other = sample(0, &outputs.coordinates.clone());
    check(submit(begun.session, &frame(1, &other), &mut outputs).0);
    // The first frame's samples again: history now holds other samples too.
    check(submit(begun.session, &frame(2, &first), &mut outputs).0);
    assert_ne!(outputs.reconstruction, fresh, "the history changes the picture");
    check(unsafe { sgaps_session_reset(begun.session) });
    check(submit(begun.session, &frame(3, &first), &mut outputs).0);
    assert_eq!(outputs.reconstruction, fresh, "after a reset the history is gone");
    assert_eq!(unsafe { sgaps_session_reset(std::ptr::null()) }, SgapsStatus::NullArgument);
    unsafe {
        sgaps_session_free(begun.session);
        sgaps_engine_free(engine);
    }
}

/// Polls with `timeout_ms`; the status and result.
fn poll(session: *const SgapsSession, timeout_ms: u32, outputs: &mut Outputs) -> (SgapsStatus, SgapsFrameResult) {
    let mut result = SgapsFrameResult::default();
    let status = unsafe { sgaps_session_poll(session, timeout_ms, &outputs.buffers(), &mut result) };
    (status, result)
}

#[test]
fn a_game_loop_submits_without_waiting_and_polls_results_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(&overrides(dir.path(), 3)).unwrap();
    let begun = begin(engine, "game", [64, 48]);
    let mut outputs = Outputs::new();
    assert_eq!(poll(begun.session, 0, &mut outputs).0, SgapsStatus::Pending, "nothing submitted yet");

    // 60 ticks at 60 Hz: submit a frame, take whatever results are ready, never wait.
    let tick = std::time::Duration::from_micros(16_667);
    let (mut answered, mut reconstructed, mut superseded) = (Vec::new(), 0, 0);
    let mut longest = std::time::Duration::ZERO;
    let mut take = |status: SgapsStatus, result: SgapsFrameResult, answered: &mut Vec<u64>| {
        match status {
            SgapsStatus::Ok => reconstructed += 1,
            SgapsStatus::Superseded => superseded += 1,
            SgapsStatus::Pending => return false,
            other => panic!("frame {}: {other:?} {}", result.frame_id, last_error()),
        }
        answered.push(result.frame_id);
        true
    };
    for t in 0..60u64 {
        let started = std::time::Instant::now();
        let pixels = sample(t as usize, &begun.coordinates);
        check(unsafe { sgaps_session_submit_async(begun.session, &frame(t, &pixels)) });
        loop {
            let (status, result) = poll(begun.session, 0, &mut outputs);
            if !take(status, result, &mut answered) {
                break;
            }
        }
        let spent = started.elapsed();
        longest = longest.max(spent);
        std::thread::sleep(tick.saturating_sub(spent));
    }
    // Then wait for the rest.
    while answered.len() < 60 {
        let (status, result) = poll(begun.session, 2000, &mut outputs);
        assert!(take(status, result, &mut answered), "frame {} never answered", answered.len());
    }
    println!("longest game-loop tick (submit + polls): {longest:?}; {reconstructed} reconstructed, {superseded} superseded");
    assert!(longest < std::time::Duration::from_millis(25), "a tick took {longest:?}");
    assert_eq!(answered, (0..60).collect::<Vec<u64>>(), "every frame answered once, in order");
    assert!(reconstructed >= 30, "{reconstructed} of 60 reconstructed");
    assert_eq!(poll(begun.session, 0, &mut outputs).0, SgapsStatus::Pending);

    // A session freed with frames in flight: no answer is owed, nothing breaks.
    let pixels = sample(0, &begun.coordinates);
    for t in 60..70 {
        check(unsafe { sgaps_session_submit_async(begun.session, &frame(t, &pixels)) });
    }
    unsafe { sgaps_session_free(begun.session) };
    unsafe { sgaps_engine_free(engine) };
}

/// Saves an untrained small model of `resolution` (e.g. "[16,12]") into `dir` and
/// registers it as checkpoint `level`.
fn register_level(engine: *const SgapsEngine, dir: &Path, resolution: &str) {
    let config = sgaps_core::Config::load(None, &["model=spt_small".into(), format!("model.resolution={resolution}")]).unwrap().model;
    sgaps_core::model::Model::new_seeded(&config, tch::Device::Cpu, 9).unwrap().save_checkpoint(dir).unwrap();
    let path = CString::new(dir.to_str().unwrap()).unwrap();
    check(unsafe { sgaps_engine_register_checkpoint(engine, c"level".as_ptr(), path.as_ptr()) });
}

#[test]
fn a_rebind_picks_up_a_replaced_checkpoint_with_new_buffer_sizes() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(&overrides(dir.path(), 5)).unwrap();
    let save = |resolution: &str, to: &str| register_level(engine, &dir.path().join(to), resolution);
    save("[16,12]", "first");
    let begun = begin(engine, "level", [64, 48]);
    assert_eq!((begun.params.width, begun.params.height), (16, 12));
    save("[24,20]", "second");
    let pixels = sample(0, &begun.coordinates);
    let (status, result) = submit(begun.session, &frame(0, &pixels), &mut Outputs::new());
    check(status);
    assert_eq!((result.width, result.height), (16, 12), "the running session keeps its model");

    let mut params = std::mem::MaybeUninit::<SgapsSessionParams>::uninit();
    let mut coordinates = vec![0f32; 2 * SAMPLES];
    let mut short = [0f32; 4];
    let status = unsafe { sgaps_session_rebind(begun.session, params.as_mut_ptr(), short.as_mut_ptr(), short.len()) };
    assert_eq!(status, SgapsStatus::BufferTooSmall);
    check(unsafe { sgaps_session_rebind(begun.session, params.as_mut_ptr(), coordinates.as_mut_ptr(), coordinates.len()) });
    let params = unsafe { params.assume_init() };
    assert_eq!((params.width, params.height), (24, 20));
    let mut sizes = SgapsBufferSizes { reconstruction: 0, importance: 0, coordinates: 0 };
    check(unsafe { sgaps_session_buffer_sizes(begun.session, &mut sizes) });
    assert_eq!((sizes.reconstruction, sizes.coordinates), (24 * 20, 2 * SAMPLES));
    let pixels = sample(1, &coordinates);
    let (status, result) = submit(begun.session, &frame(1, &pixels), &mut Outputs::new());
    check(status);
    assert_eq!((result.width, result.height), (24, 20));
    unsafe { sgaps_session_free(begun.session) };
    unsafe { sgaps_engine_free(engine) };
}

#[test]
fn a_result_too_large_for_the_buffers_after_a_rebind_waits_for_larger_ones() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(&overrides(dir.path(), 6)).unwrap();
    let save = |resolution: &str, to: &str| register_level(engine, &dir.path().join(to), resolution);
    save("[24,20]", "large");
    let begun = begin(engine, "level", [64, 48]);
    let pixels = sample(0, &begun.coordinates);
    check(unsafe { sgaps_session_submit_async(begun.session, &frame(0, &pixels)) });
    // Rebound to a smaller model while frame 0 is in flight (the docs advise against it).
    save("[16,12]", "small");
    let mut params = std::mem::MaybeUninit::<SgapsSessionParams>::uninit();
    let mut coordinates = vec![0f32; 2 * SAMPLES];
    check(unsafe { sgaps_session_rebind(begun.session, params.as_mut_ptr(), coordinates.as_mut_ptr(), coordinates.len()) });

    let mut small = Outputs { reconstruction: vec![0; 16 * 12], importance: vec![0.0; 16 * 12], coordinates: vec![0.0; 2 * SAMPLES] };
    let (status, _) = poll(begun.session, 5000, &mut small);
    assert_eq!(status, SgapsStatus::BufferTooSmall, "{}", last_error());
    let (status, result) = poll(begun.session, 0, &mut Outputs::new());
    check(status);
    assert_eq!((result.frame_id, result.width, result.height), (0, 24, 20), "the result was kept");
    unsafe { sgaps_session_free(begun.session) };
    unsafe { sgaps_engine_free(engine) };
}
