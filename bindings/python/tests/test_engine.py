"""The engine through the Python binding: sessions streamed closed loop, errors,
batches, threads and checkpoints, on a small CPU model with random weights."""

import json
import subprocess
import sys
import threading

import numpy as np
import pytest

import sgaps

from conftest import HEIGHT, REPO, SAMPLES, WIDTH, sample, small_overrides


def stream(session, frames):
    """Streams `frames` frames, swapping to new coordinates at their target frame."""
    coordinates, pending, results = session.initial_coordinates, None, []
    for t in range(frames):
        if pending is not None and pending[0] <= t:
            coordinates, pending = pending[1], None
        result = session.submit(t, sample(t, coordinates), state=[0.5, float(t)], timestamp=t / 10)
        if result.coordinates is not None:
            pending = (result.target_frame_id, result.coordinates)
        results.append(result)
    return results


def test_a_session_streams_closed_loop(engine):
    assert engine.info.sample_count == SAMPLES
    assert engine.info.device.startswith("cpu")
    with engine.session("game", 64, 48) as session:
        params = session.params
        assert (params.resolution, params.client_resolution) == ((WIDTH, HEIGHT), (64, 48))
        assert (params.checkpoint_key, params.checkpoint_loaded, params.model_version) == ("default", False, "untrained")
        assert (params.sample_count, params.max_state_dim) == (SAMPLES, 64)
        coordinates = session.initial_coordinates
        assert coordinates.shape == (SAMPLES, 2) and coordinates.dtype == np.float32
        assert ((coordinates >= 0) & (coordinates <= 1)).all()

        results = stream(session, 21)
        for t, result in enumerate(results):
            assert result.frame_id == t
            assert result.reconstruction.shape == (HEIGHT, WIDTH) and result.reconstruction.dtype == np.uint8
            assert result.importance.shape == (HEIGHT, WIDTH) and result.importance.dtype == np.float32
            assert ((result.importance >= 0) & (result.importance <= 1)).all()
            assert result.ground_truth_psnr is None and result.batch_size == 1
        updates = [(r.frame_id, r.target_frame_id) for r in results if r.coordinates is not None]
        assert updates == [(9, 10), (19, 20)], "mask_update=fixed: every 10 frames"
        new = results[9].coordinates
        assert new.shape == (SAMPLES, 2) and ((new >= 0) & (new <= 1)).all()
        assert all(r.target_frame_id is None for r in results if r.coordinates is None)

        stats = session.end()
        assert (stats.frames_reconstructed, stats.mask_updates, stats.last_frame_id) == (21, 2, 20)
        assert stats.total_pixels == 21 * SAMPLES and stats.mean_psnr is None
        with pytest.raises(sgaps.UnknownSessionError, match="unknown session") as error:
            session.submit(21, sample(21, coordinates))
        assert error.value.status == 4 and error.value.status_name == "SGAPS_STATUS_UNKNOWN_SESSION"
    with pytest.raises(ValueError, match="closed"):
        session.submit(22, sample(22, coordinates))


def test_equal_seeds_give_equal_frames_and_other_pixels_other_frames(overrides):
    with sgaps.Engine(overrides=overrides) as a, sgaps.Engine(overrides=overrides) as b:
        first = stream(a.session("game", 64, 48), 3)
        second = stream(b.session("game", 64, 48), 3)
        for x, y in zip(first, second):
            np.testing.assert_array_equal(x.reconstruction, y.reconstruction)
            np.testing.assert_array_equal(x.importance, y.importance)
        session = a.session("game", 64, 48)
        pixels = sample(0, session.initial_coordinates)
        dark = session.submit(0, np.column_stack([pixels[:, :2], np.zeros(SAMPLES)]))
        bright = session.submit(1, np.column_stack([pixels[:, :2], np.full(SAMPLES, 255.0)]))
        assert bright.reconstruction.mean() > dark.reconstruction.mean()


def test_ground_truth_gives_quality_numbers(engine):
    with engine.session("default", 64, 48) as session:
        truth = np.tile((np.arange(48) * 3).astype(np.uint8)[:, None], (1, 64))
        result = session.submit(0, sample(0, session.initial_coordinates), ground_truth=truth)
        assert result.ground_truth_psnr > 0 and result.ground_truth_ssim <= 1
        assert session.end().frames_with_ground_truth == 1


def test_bad_input_raises_errors_naming_it(engine, tmp_path):
    with pytest.raises(sgaps.ConfigError, match="sampling.default_sample_count") as error:
        sgaps.Engine(overrides=small_overrides(tmp_path, "sampling.default_sample_count=oops"))
    assert error.value.status == 7
    with pytest.raises(sgaps.InvalidArgumentError, match="resolution"):
        engine.session("game", 0, 48)
    with pytest.raises(sgaps.CheckpointError, match="checkpoint key `../up`"):
        engine.session("../up", 64, 48)

    with engine.session("game", 64, 48) as session:
        pixels = sample(0, session.initial_coordinates)
        pixels[3, 2] = 300
        with pytest.raises(sgaps.InvalidFrameError, match=r"`pixels\[3\].value` is 300") as error:
            session.submit(0, pixels)
        assert isinstance(error.value, ValueError) and error.value.status == 3
        with pytest.raises(sgaps.InvalidFrameError, match="max_state_dim is 64"):
            session.submit(0, sample(0, session.initial_coordinates), state=np.zeros(65))
        with pytest.raises(sgaps.InvalidFrameError, match="`pixels` is empty"):
            session.submit(0, np.zeros((0, 3)))
        with pytest.raises(sgaps.InvalidArgumentError, match=r"shape \(N, 3\)"):
            session.submit(0, np.zeros((10, 2)))
        with pytest.raises(sgaps.InvalidArgumentError, match="ground_truth"):
            session.submit(0, sample(0, session.initial_coordinates), ground_truth=np.zeros(10))
        # None of those frames counted; the session goes on.
        session.submit(0, sample(0, session.initial_coordinates))
        assert session.end().frames_reconstructed == 1


def test_a_batch_shares_a_forward_pass_and_a_bad_frame_fails_alone(engine):
    a, b = engine.session("game", 64, 48), engine.session("other", 640, 480)
    bad = sample(0, b.initial_coordinates)
    bad[0, 0] = 1.5
    results = engine.submit_batch([
        (a, 0, sample(0, a.initial_coordinates), [1.0]),
        (b, 0, bad, []),
        (b, 1, sample(1, b.initial_coordinates), [], 0.1),
    ])
    assert [type(r).__name__ for r in results] == ["FrameResult", "InvalidFrameError", "FrameResult"]
    assert results[0].batch_size == results[2].batch_size == 2
    assert "items[1]" in results[1].message and "pixels[0].u" in results[1].message
    alone = a.submit(1, sample(0, a.initial_coordinates), [1.0])
    assert np.abs(alone.reconstruction.astype(int) - results[0].reconstruction).max() <= 1
    a.close()
    b.close()


def test_threads_stream_separate_sessions_on_one_engine(engine):
    outcomes = {}

    def run(name):
        try:
            with engine.session(name, 64, 48) as session:
                results = stream(session, 5)
                outcomes[name] = (len(results), session.end().frames_reconstructed)
        except Exception as e:  # reported below, with the thread's name
            outcomes[name] = e

    threads = [threading.Thread(target=run, args=(f"game{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes == {f"game{i}": (5, 5) for i in range(4)}


def test_checkpoints_are_registered_from_a_pytorch_directory_and_listed(tmp_path):
    # The checkpoint below has 10x6 = 60 pixels: sample fewer.
    # Every frame gets new coordinates, so the first reply shows the checkpoint's sample count.
    overrides = small_overrides(tmp_path / "store", "sampling.default_sample_count=40", "mask_update=every_frame")
    engine = sgaps.Engine(overrides=overrides)
    assert engine.checkpoints() == []
    # A checkpoint written by PyTorch: the parity test's reference model, 10x6 pixels.
    script = REPO / "sgaps-core" / "tests" / "parity" / "make_reference.py"
    subprocess.run([sys.executable, str(script), str(tmp_path / "torch")], check=True, capture_output=True)
    case = json.loads((tmp_path / "torch" / "cases.json").read_text())[0]
    engine.register_checkpoint("tiny", tmp_path / "torch" / case)
    engine.register_checkpoint("zelda", tmp_path / "torch" / case)
    assert engine.checkpoints() == ["tiny", "zelda"]

    with engine.session("tiny", 64, 48) as session:
        assert session.params.checkpoint_loaded and session.params.checkpoint_key == "tiny"
        assert session.params.resolution == (10, 6)
        assert session.params.model_version.startswith("tiny-")
        result = session.submit(0, sample(0, session.initial_coordinates), state=[0.0] * 8)
        assert result.reconstruction.shape == (6, 10)
        assert result.coordinates.shape == (40, 2) and result.target_frame_id == 1

    with pytest.raises(sgaps.CheckpointError, match="model.safetensors"):
        engine.register_checkpoint("broken", tmp_path / "nothing-here")
    engine.close()


def test_engines_and_sessions_close_in_any_order(overrides):
    engine = sgaps.Engine(overrides=overrides)
    session = engine.session("game", 64, 48)
    engine.close()
    engine.close()  # twice is fine
    with pytest.raises(ValueError, match="engine is closed"):
        engine.session("game", 64, 48)
    # The session keeps the engine running until it is closed.
    assert session.submit(0, sample(0, session.initial_coordinates)).frame_id == 0
    session.close()


def test_a_temporal_session_uses_its_history_until_reset(tmp_path):
    overrides = small_overrides(tmp_path / "checkpoints", "model=temporal", "model.temporal.channels=[4,8,8]",
                                "sampling=space_time", "mask_update=every_frame")
    with sgaps.Engine(overrides=overrides) as engine, engine.session("game", 64, 48) as session:
        first = session.initial_coordinates
        fresh = session.submit(0, sample(0, first))
        session.submit(1, sample(0, fresh.coordinates))
        # The first frame's samples again: history now holds other samples too.
        assert not np.array_equal(session.submit(2, sample(0, first)).reconstruction, fresh.reconstruction)
        session.reset()
        assert np.array_equal(session.submit(3, sample(0, first)).reconstruction, fresh.reconstruction)
