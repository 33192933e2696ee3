//! The engine's inference worker: a contained panic fails only its batch, frames
//! submitted without waiting are answered once each and in order (superseded when a
//! newer one replaced them), and sessions keep their model until they are rebound.

use std::sync::mpsc;
use std::time::Duration;

use sgaps_core::model::Model;
use sgaps_core::pipeline::{Engine, EngineError, Frame, FrameResult, Pixel, SessionId, Submitted};

const CLIENT: [usize; 2] = [64, 48];

/// A small temporal engine with untrained weights (fast), checkpoints under `dir`.
fn engine(dir: &std::path::Path, resolution: [u32; 2]) -> Engine {
    let overrides = [
        "model=temporal".to_string(),
        "model.temporal.channels=[4,6,8]".into(),
        format!("model.resolution=[{},{}]", resolution[0], resolution[1]),
        "sampling.default_sample_count=120".into(),
        format!("checkpoint_dir={}", dir.display()),
        "device=cpu".into(),
    ];
    Engine::from_conf(None, &overrides).unwrap()
}

/// A frame sampled at the session's coordinates from a vertical gradient.
fn frame(engine: &Engine, session: SessionId, frame_id: u64) -> Frame {
    let pixels = engine
        .coordinates(session)
        .unwrap()
        .into_iter()
        .map(|[u, v]| Pixel { u, v, value: (v * 200.0).floor() + (frame_id % 3) as f32 })
        .collect();
    Frame { frame_id, timestamp: frame_id as f64 / 30.0, pixels, ..Default::default() }
}

#[test]
fn a_panic_in_inference_fails_its_frames_and_the_engine_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(dir.path(), [32, 24]);
    let a = engine.begin_session("game", CLIENT).unwrap().params.session_id;
    let b = engine.begin_session("game", CLIENT).unwrap().params.session_id;
    engine.submit(a, frame(&engine, a, 0)).unwrap();

    // Through the worker: the panic strikes while session a's lock is held.
    engine.inject_panic();
    match engine.submit(a, frame(&engine, a, 1)) {
        Err(EngineError::Internal(message)) => assert!(message.contains("panicked"), "{message}"),
        other => panic!("expected the contained panic, got {other:?}"),
    }
    assert_eq!(engine.panics(), 1);
    // The poisoned session and the other one go on, and so does the worker.
    for frame_id in 2..5 {
        assert_eq!(engine.submit(a, frame(&engine, a, frame_id)).unwrap().frame_id, frame_id);
        assert_eq!(engine.submit(b, frame(&engine, b, frame_id)).unwrap().frame_id, frame_id);
    }

    // On the caller's thread (submit_batch): the whole batch fails, then works again.
    engine.inject_panic();
    let results = engine.submit_batch(vec![(a, frame(&engine, a, 5)), (b, frame(&engine, b, 5))]);
    assert!(results.iter().all(|r| matches!(r, Err(EngineError::Internal(_)))), "{results:?}");
    let results = engine.submit_batch(vec![(a, frame(&engine, a, 6)), (b, frame(&engine, b, 6))]);
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert_eq!(engine.panics(), 2);
    assert_eq!(engine.session_stats(a).unwrap().frames_reconstructed, 5);
}

#[test]
fn frames_submitted_without_waiting_are_answered_once_each_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(dir.path(), [32, 24]);
    let a = engine.begin_session("game", CLIENT).unwrap().params.session_id;
    let b = engine.begin_session("game", CLIENT).unwrap().params.session_id;
    let (sender, answers) = mpsc::channel::<(SessionId, u64, Result<FrameResult, EngineError>, bool)>();
    let mut superseded_on_submit = 0;
    // Far faster than the worker reconstructs: most frames wait, newer ones replace them.
    for frame_id in 0..40 {
        for session in [a, b] {
            let sender = sender.clone();
            let done = Box::new(move |result| {
                // Every answer, superseded ones too, comes from the worker, in order: a
                // caller needs no ordering of its own.
                let on_worker = std::thread::current().name() == Some("sgaps-inference");
                sender.send((session, frame_id, result, on_worker)).unwrap()
            });
            match engine.submit_async(session, frame(&engine, session, frame_id), done).unwrap() {
                Submitted::Queued => {}
                Submitted::Superseded { older_frame_id } => {
                    assert!(older_frame_id < frame_id);
                    superseded_on_submit += 1;
                }
            }
        }
    }
    drop(sender);
    let mut last = [None::<u64>; 2];
    let (mut reconstructed, mut superseded) = (0, 0);
    for (session, frame_id, result, on_worker) in answers.iter() {
        assert!(on_worker, "frame {frame_id} was answered on the submitting thread");
        let slot = &mut last[if session == a { 0 } else { 1 }];
        assert!(slot.is_none_or(|previous| previous < frame_id), "{frame_id} after {slot:?}: out of order");
        *slot = Some(frame_id);
        match result {
            Ok(result) => {
                assert_eq!(result.frame_id, frame_id);
                assert_eq!(result.reconstruction.dimensions(), (32, 24));
                reconstructed += 1;
            }
            Err(EngineError::Superseded { frame_id: old, by }) => {
                assert_eq!(old, frame_id);
                assert!(by > old);
                superseded += 1;
            }
            Err(e) => panic!("frame {frame_id}: {e}"),
        }
    }
    // Every frame answered exactly once (the channel closed only when all completions ran).
    assert_eq!(reconstructed + superseded, 80);
    assert_eq!(superseded, superseded_on_submit);
    assert!(superseded > 0, "no frame waited long enough to be replaced");
    // The newest frame of each session always runs.
    assert_eq!(last, [Some(39), Some(39)]);
    assert!(reconstructed >= 2);

    // A bad frame is refused at once and never answered.
    let bad = Frame { frame_id: 99, pixels: vec![Pixel { u: 2.0, v: 0.5, value: 1.0 }], ..Default::default() };
    let refused = engine.submit_async(a, bad, Box::new(|_| panic!("a refused frame is not answered")));
    assert!(matches!(refused, Err(EngineError::InvalidFrame(_))), "{refused:?}");
}

#[test]
fn a_frame_of_an_ended_session_fails_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(dir.path(), [32, 24]);
    let a = engine.begin_session("game", CLIENT).unwrap().params.session_id;
    let (sender, answers) = mpsc::channel();
    for frame_id in 0..5 {
        let sender = sender.clone();
        let _ = engine.submit_async(a, frame(&engine, a, frame_id), Box::new(move |r| sender.send(r).unwrap()));
    }
    engine.end_session(a).unwrap();
    drop(sender);
    // Each submitted frame is answered (reconstructed, superseded, or unknown session).
    let answers: Vec<_> = answers.iter().collect();
    assert_eq!(answers.len(), 5);
    assert!(answers.iter().all(|r| matches!(r, Ok(_) | Err(EngineError::Superseded { .. } | EngineError::UnknownSession(_)))));
    assert!(matches!(engine.submit(a, frame_for_unknown()), Err(EngineError::UnknownSession(_))));
}

fn frame_for_unknown() -> Frame {
    Frame { frame_id: 1, pixels: vec![Pixel { u: 0.5, v: 0.5, value: 1.0 }], ..Default::default() }
}

#[test]
fn a_session_keeps_its_model_until_it_is_rebound() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(dir.path(), [32, 24]);
    let model_at = |resolution: [i64; 2]| {
        let mut config = engine.config().model.clone();
        config.resolution = resolution;
        Model::new(&config, tch::Device::Cpu).unwrap()
    };
    engine.register_checkpoint("level", &model_at([48, 40])).unwrap();
    let start = engine.begin_session("level", CLIENT).unwrap();
    let id = start.params.session_id;
    assert_eq!(start.params.resolution, [48, 40]);
    assert_eq!(engine.submit(id, frame(&engine, id, 0)).unwrap().reconstruction.dimensions(), (48, 40));

    // Replaced mid-session by a checkpoint of another resolution: the running session
    // keeps its model; a new session gets the new one.
    engine.register_checkpoint("level", &model_at([40, 32])).unwrap();
    std::thread::sleep(Duration::from_millis(20));
    assert_eq!(engine.submit(id, frame(&engine, id, 1)).unwrap().reconstruction.dimensions(), (48, 40));
    let other = engine.begin_session("level", CLIENT).unwrap();
    assert_eq!(other.params.resolution, [40, 32]);

    // The explicit rebind returns the new parameters and coordinates on the new grid.
    let rebound = engine.rebind_session(id).unwrap();
    assert_eq!(rebound.params.resolution, [40, 32]);
    assert_ne!(rebound.params.model_version, start.params.model_version);
    assert_eq!(rebound.initial_coordinates, engine.coordinates(id).unwrap());
    let result = engine.submit(id, frame(&engine, id, 2)).unwrap();
    assert_eq!(result.reconstruction.dimensions(), (40, 32));
    assert_eq!(engine.session_stats(id).unwrap().frames_reconstructed, 3);
}

#[test]
fn a_frame_superseded_while_its_predecessor_runs_is_answered_after_it() {
    let dir = tempfile::tempdir().unwrap();
    // Full size, so a forward pass takes milliseconds on a CPU.
    let overrides = ["model=temporal".to_string(), format!("checkpoint_dir={}", dir.path().display()), "device=cpu".into()];
    let engine = Engine::from_conf(None, &overrides).unwrap();
    let a = engine.begin_session("game", CLIENT).unwrap().params.session_id;
    for round in 0..5u64 {
        let (sender, answers) = mpsc::channel();
        let submit = |frame_id: u64| {
            let sender = sender.clone();
            let done = Box::new(move |result: Result<FrameResult, EngineError>| sender.send((frame_id, result.is_ok())).unwrap());
            engine.submit_async(a, frame(&engine, a, frame_id), done).unwrap()
        };
        let first = 10 * round;
        submit(first);
        // The lone session's frame runs at once; the next one waits and is replaced.
        std::thread::sleep(Duration::from_millis(2));
        submit(first + 1);
        submit(first + 2);
        drop(sender);
        let order: Vec<(u64, bool)> = answers.iter().collect();
        let ids: Vec<u64> = order.iter().map(|(id, _)| *id).collect();
        assert_eq!(ids, [first, first + 1, first + 2], "answers out of order: {order:?}");
        assert!(order[2].1, "the newest frame runs");
    }
}
