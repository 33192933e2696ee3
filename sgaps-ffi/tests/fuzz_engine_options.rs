//! Fuzzing configuration overrides where a game passes them, `sgaps_engine_open`, and on
//! through a session and one frame: every real key of the configuration set to edge
//! values (0, 1, -1, fractions, 200, 1000, wrong types, other enum names) on a small CPU
//! model. Config::load's own fuzzing (sgaps-core/tests/fuzz_config.rs) checks the
//! composition; this checks that whatever it accepts can be served: each call answers
//! with a status and a message, never a panic (not even one SGAPS contains). 64 cases
//! by default (each opens an engine); `PROPTEST_CASES=N` for a long run
//! (docs/fuzzing.md).

use std::ffi::{c_char, CStr, CString};
use std::ptr::null_mut;
use std::sync::atomic::{AtomicUsize, Ordering};

use proptest::prelude::*;
use proptest::test_runner::{Config as RunnerConfig, TestRunner};
use sgaps::*;

fn last_error() -> String {
    unsafe { CStr::from_ptr(sgaps_last_error()) }.to_str().unwrap().to_string()
}

/// Every key path of the default configuration, with its default value.
fn config_keys() -> Vec<(String, serde_json::Value)> {
    fn collect(value: &serde_json::Value, path: &str, out: &mut Vec<(String, serde_json::Value)>) {
        if let serde_json::Value::Object(map) = value {
            for (key, child) in map {
                let child_path = if path.is_empty() { key.clone() } else { format!("{path}.{key}") };
                collect(child, &child_path, out);
                out.push((child_path, child.clone()));
            }
        }
    }
    let tree = serde_json::to_value(sgaps_core::Config::load(None, &[]).unwrap()).unwrap();
    let mut keys = Vec::new();
    collect(&tree, "", &mut keys);
    keys
}

const ANY_EDGE: &[&str] = &["0", "-1", "0.5", "true", "null", "\"\"", "[1, 1]", "[]", "{}", "cpu", "seed"];

/// Values of the key's own kind, at every edge but small enough that any model they
/// shape stays cheap on a CPU; sometimes a value of another kind.
fn edge_value(default: &serde_json::Value) -> BoxedStrategy<String> {
    use serde_json::Value;
    let own: Vec<&str> = match default {
        Value::Number(_) => vec!["0", "1", "2", "3", "4", "8", "16", "-1", "0.0", "0.5", "0.999", "1.5", "1e-9", "-0.5", "200", "1000"],
        Value::Bool(_) => vec!["true", "false"],
        Value::Array(_) => vec!["[1, 1]", "[2, 3]", "[0, 0]", "[8, 1]", "[1]", "[]", "[16, 12]", "[4, 4, 4]"],
        _ => vec![
            "\"\"", "cpu", "spt", "temporal", "seed", "cross", "grid", "stratified", "uniform", "adaptive", "hybrid",
            "space_time", "fixed", "every_frame", "quality_based", "float16", "bfloat16", "gaussian_fourier", "sinusoidal",
        ],
    };
    prop_oneof![8 => prop::sample::select(own), 1 => prop::sample::select(ANY_EDGE)].prop_map(str::to_string).boxed()
}

/// Panics anywhere in the process, including the ones SGAPS contains and turns into a
/// status: each is a bug the configuration should have been refused for.
static PANICS: AtomicUsize = AtomicUsize::new(0);

fn count_panics() {
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        PANICS.fetch_add(1, Ordering::SeqCst);
        report(info);
    }));
}

/// Opens an engine with `overrides`, begins a session and submits one frame sampled at
/// the session's coordinates. Returns each call's status with its message.
fn open_and_serve(overrides: &[String]) -> Vec<(SgapsStatus, String)> {
    let strings: Vec<CString> = overrides.iter().map(|s| CString::new(s.as_str()).unwrap()).collect();
    let pointers: Vec<*const c_char> = strings.iter().map(|s| s.as_ptr()).collect();
    let options = SgapsEngineOptions { overrides: pointers.as_ptr(), override_count: pointers.len(), ..sgaps_engine_options_default() };
    let mut engine = null_mut();
    let status = unsafe { sgaps_engine_open(&options, &mut engine) };
    let mut calls = vec![(status, last_error())];
    if status != SgapsStatus::Ok {
        return calls;
    }
    let mut info = std::mem::MaybeUninit::<SgapsEngineInfo>::uninit();
    let status = unsafe { sgaps_engine_get_info(engine, info.as_mut_ptr()) };
    calls.push((status, last_error()));
    if status == SgapsStatus::Ok {
        let info = unsafe { info.assume_init() };
        let mut params = std::mem::MaybeUninit::<SgapsSessionParams>::uninit();
        let mut coordinates = vec![0f32; 2 * info.sample_count as usize];
        let mut session = null_mut();
        let status = unsafe {
            sgaps_session_begin(engine, c"default".as_ptr(), 16, 12, params.as_mut_ptr(), coordinates.as_mut_ptr(), coordinates.len(), &mut session)
        };
        calls.push((status, last_error()));
        if status == SgapsStatus::Ok {
            let pixels: Vec<f32> = coordinates.chunks_exact(2).flat_map(|uv| [uv[0], uv[1], 128.0]).collect();
            let frame = SgapsFrame { frame_id: 1, pixels: pixels.as_ptr(), pixel_count: pixels.len() / 3, ..sgaps_frame_default() };
            let mut result = SgapsFrameResult::default();
            let status = unsafe { sgaps_session_submit(session, &frame, &sgaps_frame_buffers_default(), &mut result) };
            calls.push((status, last_error()));
            unsafe { sgaps_session_free(session) };
        }
    }
    unsafe { sgaps_engine_free(engine) };
    calls
}

#[test]
fn any_accepted_configuration_is_served_or_refused_without_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let base = vec![
        "model=spt_small".to_string(),
        "model.resolution=[16,12]".into(),
        "model.embed_dim=32".into(),
        "model.num_heads=2".into(),
        "sampling.default_sample_count=24".into(),
        "device=cpu".into(),
        format!("checkpoint_dir={}", dir.path().display()),
    ];
    // Paths are left alone: an override of them could write outside the temporary folder.
    let keys: Vec<_> = config_keys().into_iter().filter(|(k, _)| k != "checkpoint_dir" && k != "data_root").collect();
    let one = prop::sample::select(keys).prop_flat_map(|(key, default)| (Just(key), edge_value(&default)));
    let overrides = prop::collection::vec(one, 1..3);
    let default_cases = if std::env::var_os("PROPTEST_CASES").is_some() { RunnerConfig::default().cases } else { 64 };
    let mut runner = TestRunner::new(RunnerConfig { cases: default_cases, ..RunnerConfig::default() });
    count_panics();
    let served = std::cell::Cell::new(0usize);
    let outcome = runner.run(&overrides, |extra| {
        let mut all = base.clone();
        all.extend(extra.iter().map(|(key, value)| format!("{key}={value}")));
        let panics_before = PANICS.load(Ordering::SeqCst);
        let calls = open_and_serve(&all);
        prop_assert_eq!(PANICS.load(Ordering::SeqCst), panics_before, "{:?} panicked: {:?}", all, calls);
        served.set(served.get() + usize::from(calls.len() == 4));
        for (status, message) in calls {
            prop_assert_ne!(status, SgapsStatus::Panic, "{:?}: {}", all, message);
            prop_assert!(status == SgapsStatus::Ok || !message.is_empty(), "{:?}: {:?} without a message", all, status);
        }
        Ok(())
    });
    if let Err(failure) = outcome {
        panic!("{failure}");
    }
    // Many cases get as far as a frame, not only to a refused configuration.
    let (served, cases) = (served.get(), runner.config().cases as usize);
    println!("{served} of {cases} configurations got as far as a frame");
    assert!(served * 5 >= cases, "only {served} of {cases} configurations got as far as a frame");
}
