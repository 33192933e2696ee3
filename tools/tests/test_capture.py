"""The capture tool against a real `sgaps serve`, on real game frames: the recorded
HDF5 must hold every frame, the full frames as ground truth, the game's state vector,
and sampled values that equal the ground truth at the sampled positions (the closed
loop samples the true frame where the server said)."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
SGAPS = os.environ.get("SGAPS_BIN", str(ROOT / "target" / "debug" / "sgaps"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(tmp_path):
    port = free_port()
    process = subprocess.Popen(
        [SGAPS, "serve", "model=spt_small", "model.resolution=[32,24]", "sampling.default_sample_count=100",
         "device=cpu", f"server.port={port}", f"data_root={tmp_path / 'data'}",
         f"checkpoint_dir={tmp_path / 'checkpoints'}", "server.storage.flush_interval_s=0.2"],
        env={**os.environ, "RUST_LOG": "error"})
    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            assert time.monotonic() < deadline, "sgaps serve did not start"
            time.sleep(0.05)
    yield port, tmp_path / "data"
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=30)


def capture(port, game, key, frames):
    result = subprocess.run(
        [sys.executable, "-W", "ignore", str(ROOT / "tools" / "capture.py"), "--game", game, "--frames", str(frames),
         "--url", f"ws://127.0.0.1:{port}/ws/stream", "--checkpoint-key", key, "--fast"],
        capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("game,key,shape", [("mario-1-1", "mario", (240, 256)), ("pong", "atari", (210, 160))])
def test_capture_records_real_frames_closed_loop(server, game, key, shape):
    port, data = server
    capture(port, game, key, 40)
    time.sleep(0.6)  # two flush intervals
    with h5py.File(data / f"{key}.h5", "r") as f:
        (session,) = f["sessions"].values()
        assert session.attrs["frame_count"] == 40
        assert list(session["frame_id"][:]) == list(range(40))
        truth = session["ground_truth"][:]
        assert truth.shape == (40, *shape)
        assert truth.std() > 10, "real game frames, not a blank screen"
        assert (session["state_vector"][:, 0] != -999.0).all(), "the game's state is recorded"
        starts, counts, pixels = session["pixel_start"][:], session["num_pixels"][:], session["pixels"][:]
        height, width = shape
        for i in range(40):
            p = pixels[starts[i]:starts[i] + counts[i]]
            xs = np.minimum((p[:, 0] * width).astype(int), width - 1)
            ys = np.minimum((p[:, 1] * height).astype(int), height - 1)
            assert (truth[i][ys, xs] == p[:, 2]).all(), f"frame {i}: samples differ from the recorded frame"


def test_capture_help_explains_itself():
    result = subprocess.run([sys.executable, str(ROOT / "tools" / "capture.py"), "--help"], capture_output=True, text=True)
    assert result.returncode == 0
    assert "closed loop" in result.stdout and "--checkpoint-key" in result.stdout


# The games of the default model (scripts/train-default-model.sh) and their ale-py ids.
ISSUE_GAMES = {
    "pong": "Pong", "freeway": "Freeway", "asterix": "Asterix", "qbert": "Qbert", "beam_rider": "BeamRider",
    "boxing": "Boxing", "alien": "Alien", "amidar": "Amidar", "assault": "Assault", "bank_heist": "BankHeist",
    "battle_zone": "BattleZone", "bowling": "Bowling", "centipede": "Centipede", "chopper_command": "ChopperCommand",
    "demon_attack": "DemonAttack", "frostbite": "Frostbite", "gopher": "Gopher", "hero": "Hero",
    "jamesbond": "Jamesbond", "kangaroo": "Kangaroo", "krull": "Krull", "tennis": "Tennis",
    "time_pilot": "TimePilot", "tutankham": "Tutankham", "venture": "Venture", "wizard_of_wor": "WizardOfWor",
    "zaxxon": "Zaxxon", "breakout": "Breakout", "space_invaders": "SpaceInvaders", "ms_pacman": "MsPacman",
}


def test_atari_names_in_any_spelling():
    sys.path.insert(0, str(ROOT / "tools"))
    import capture as tool

    for name, ale in ISSUE_GAMES.items():
        assert tool.atari_id(name) == f"ALE/{ale}-v5"
        assert tool.atari_id(ale) == f"ALE/{ale}-v5"
    with pytest.raises(SystemExit, match="unknown game"):
        tool.atari_id("mario_kart")


@pytest.mark.parametrize("game", ["breakout", "mario-1-2"])
def test_games_move_under_the_scripted_policy(game):
    """The policy plays: Breakout's ball is served (FIRE after reset and lost lives),
    Mario runs; after a warmup (which ends with the screen moving) the frames change."""
    sys.path.insert(0, str(ROOT / "tools"))
    import capture as tool

    session = tool.make_game(game, 3)
    tool.warm_up(session, 500, 3)
    frames = []
    for _ in range(60):
        for _ in range(4):
            session.step()
        frames.append(session.gray().astype(int))
    changed = sum((a != b).any() for a, b in zip(frames, frames[1:]))
    assert changed > 40, f"{game}: only {changed} of 59 frames changed"
