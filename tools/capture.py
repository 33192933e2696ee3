#!/usr/bin/env python3
"""Record real game sessions through a running `sgaps serve`, exactly as a client would.

The tool plays a game with a simple scripted policy, connects to the server's WebSocket,
and runs the closed loop of PROTOCOL.md: it samples the true grayscale frame at the
coordinates the server hands out (swapping at their target_frame_id), streams
`frame_data_debug` messages carrying the full frame as ground truth and a state vector
from the game, and the server records everything to {data_root}/{checkpoint_key}.h5.

    sgaps serve &                                   # records into data/
    python tools/capture.py --game mario-1-1 --frames 3000 --checkpoint-key mario
    python tools/capture.py --game pong --frames 3000 --checkpoint-key atari

Games: mario-W-S (Super Mario Bros world W stage S, via gym-super-mario-bros, e.g.
mario-1-1 ... mario-8-4) and every Atari game of ale-py by name, in snake case or as the
ale-py id spells it (pong, beam_rider or BeamRider, wizard_of_wor, ms_pacman, ...).
--warmup plays a number of game steps before the first recorded frame, then on until the
screen moves, to record later in play (held-out episodes).
"""

import argparse
import base64
import io
import json
import random
import sys
import time

import numpy as np
from PIL import Image
from websockets.sync.client import connect

# BT.601 luma, the grayscale the protocol specifies.
LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def png_bytes(gray):
    buffer = io.BytesIO()
    Image.fromarray(gray).save(buffer, format="PNG")
    return buffer.getvalue()


class Mario:
    """Super Mario Bros with a policy biased to run right and jump; resets on death
    and when Mario stalls."""

    def __init__(self, world, stage, seed):
        import gym_super_mario_bros
        from gym_super_mario_bros.actions import SIMPLE_MOVEMENT
        from nes_py.wrappers import JoypadSpace

        self.env = JoypadSpace(gym_super_mario_bros.make(f"SuperMarioBros-{world}-{stage}-v0").unwrapped, SIMPLE_MOVEMENT)
        self.rng = random.Random(seed)
        self.frame = self.env.reset()
        self.info = {}
        self.hold, self.action, self.best_x, self.stalled = 0, 1, 0, 0

    def step(self):
        if self.hold == 0:
            # 1 right, 2 right+A (jump), 3 right+B (run), 4 right+A+B; sometimes wait.
            self.action = self.rng.choices([1, 2, 3, 4, 0], weights=[3, 3, 3, 4, 1])[0]
            self.hold = self.rng.randint(4, 16)
        self.hold -= 1
        self.frame, _, done, self.info = self.env.step(self.action)
        x = self.info.get("x_pos", 0)
        self.stalled = 0 if x > self.best_x else self.stalled + 1
        self.best_x = max(self.best_x, x)
        if done or self.stalled > 120:
            self.frame, self.best_x, self.stalled = self.env.reset(), 0, 0

    def gray(self):
        return (self.frame.astype(np.float32) @ LUMA).round().clip(0, 255).astype(np.uint8)

    def state(self):
        i = self.info
        status = {"small": 0.0, "tall": 0.5, "fireball": 1.0}.get(i.get("status"), 0.0)
        return [i.get("x_pos", 0) / 3000.0, i.get("y_pos", 0) / 255.0, i.get("time", 0) / 400.0,
                i.get("coins", 0) / 100.0, i.get("life", 0) / 3.0, i.get("score", 0) / 1e5,
                float(i.get("world", 0)), float(i.get("stage", 0)), status, float(i.get("flag_get", False))]


def atari_id(name):
    """The ale-py environment id for a game name in any spelling: beam_rider, BeamRider,
    beamrider and ALE/BeamRider-v5 all name ALE/BeamRider-v5."""
    import ale_py
    import gymnasium

    gymnasium.register_envs(ale_py)
    ids = {key[4:-3].lower(): key for key in gymnasium.registry if key.startswith("ALE/") and key.endswith("-v5")}
    wanted = name.removeprefix("ALE/").removesuffix("-v5").replace("_", "").replace("-", "").lower()
    if wanted not in ids:
        sys.exit(f"capture: unknown game {name!r}; mario-W-S or one of: {', '.join(sorted(ids))}")
    return ids[wanted]


class Atari:
    """An ale-py game with sticky random actions (each held for 2 to 10 steps, over the
    game's own action set); FIRE is pressed at the start and after each lost life in
    the games that wait for it. The state vector is the first 64 bytes of the console's
    128-byte RAM, scaled to [0, 1]."""

    def __init__(self, name, seed):
        import gymnasium

        self.env = gymnasium.make(atari_id(name), obs_type="rgb", frameskip=1, repeat_action_probability=0.25)
        self.env.action_space.seed(seed)
        self.rng = random.Random(seed)
        meanings = self.env.unwrapped.get_action_meanings()
        self.fire = meanings.index("FIRE") if "FIRE" in meanings else None
        self.action, self.hold = 0, 0
        self.frame, info = self.env.reset(seed=seed)
        self.lives = info.get("lives", 0)
        self.press_fire()

    def press_fire(self):
        # A few steps of FIRE start the games that wait for it (Breakout, Pong's serve, ...).
        if self.fire is not None:
            for _ in range(2):
                self.frame, _, terminated, truncated, info = self.env.step(self.fire)
                self.lives = info.get("lives", self.lives)
                if terminated or truncated:
                    self.frame, info = self.env.reset()
                    self.lives = info.get("lives", 0)

    def step(self):
        if self.hold == 0:
            self.action = self.rng.randrange(self.env.action_space.n)
            self.hold = self.rng.randint(2, 10)
        self.hold -= 1
        self.frame, _, terminated, truncated, info = self.env.step(self.action)
        lives = info.get("lives", self.lives)
        if terminated or truncated:
            self.frame, info = self.env.reset()
            self.lives = info.get("lives", 0)
            self.press_fire()
        elif lives < self.lives:
            self.lives = lives
            self.press_fire()

    def gray(self):
        return (self.frame.astype(np.float32) @ LUMA).round().clip(0, 255).astype(np.uint8)

    def state(self):
        ram = self.env.unwrapped.ale.getRAM()
        return (ram[:64].astype(np.float32) / 255.0).tolist()


def make_game(name, seed):
    if name.startswith("mario-"):
        world, stage = name.split("-")[1:3]
        return Mario(int(world), int(stage), seed)
    return Atari(name, seed)


def warm_up(game, steps, skip, moving=8):
    """Plays `steps` game steps, then on until the screen has changed between each of the
    last `moving` recorded frames (a clip that starts in play, not in a death or start
    pause), at most 4 * steps more."""
    for _ in range(steps):
        game.step()
    previous, changed = game.gray(), 0
    for _ in range(4 * steps):
        if changed >= moving:
            break
        for _ in range(skip + 1):
            game.step()
        gray = game.gray()
        changed = changed + 1 if (gray != previous).any() else 0
        previous = gray


def sample(gray, coordinates):
    """The frame's values at (u, v) pixel positions: x = floor(u * W), y = floor(v * H)."""
    height, width = gray.shape
    xs = np.minimum((coordinates[:, 0] * width).astype(int), width - 1)
    ys = np.minimum((coordinates[:, 1] * height).astype(int), height - 1)
    return gray[ys, xs]


def parse_coordinates(payload):
    return np.array([[c["u"], c["v"]] for c in payload["coordinates"]], dtype=np.float32)


def capture(args):
    game = make_game(args.game, args.seed)
    if args.warmup:
        warm_up(game, args.warmup, args.skip)
    height, width = game.gray().shape
    url = args.url + (f"?token={args.token}" if args.token else "")
    with connect(url, max_size=None) as ws:
        def receive(timeout):
            try:
                return json.loads(ws.recv(timeout=timeout))
            except TimeoutError:
                return None

        receive(5)  # connection_ack
        ws.send(json.dumps({"type": "session_start", "payload": {
            "checkpoint_key": args.checkpoint_key, "resolution": [width, height], "debug": True}}))
        ack = receive(60)
        if not ack or ack["type"] != "session_start_ack":
            sys.exit(f"capture: the server did not start the session: {ack}")
        if not ack["payload"]["debug_mode"]:
            sys.exit("capture: the server refuses debug frames (server.allow_debug=false); no ground truth")
        coordinates = parse_coordinates(receive(10)["payload"])
        fps = args.fps or ack["payload"]["target_fps"]
        pending = []  # (target_frame_id, coordinates)
        started = time.monotonic()
        for frame_id in range(args.frames):
            tick = time.monotonic()
            ready = [p for p in pending if p[0] <= frame_id]
            if ready:
                coordinates = ready[-1][1]
                pending = [p for p in pending if p[0] > frame_id]
            for _ in range(args.skip + 1):
                game.step()
            gray = game.gray()
            values = sample(gray, coordinates)
            pixels = [{"u": float(u), "v": float(v), "value": int(x)} for (u, v), x in zip(coordinates, values)]
            ws.send(json.dumps({"type": "frame_data_debug", "payload": {
                "frame_id": frame_id, "timestamp": time.monotonic() - started, "resolution": [width, height],
                "num_pixels": len(pixels), "pixels": pixels, "state_vector": game.state(),
                # The Unity client encodes bottom-up; do the same.
                "full_frame_base64": base64.b64encode(png_bytes(gray[::-1])).decode()}}))
            while (message := receive(0)) is not None:
                if message["type"] == "uv_coordinates":
                    pending.append((message["payload"]["target_frame_id"], parse_coordinates(message["payload"])))
                elif message["type"] == "error":
                    print(f"capture: server error: {message['payload']}", file=sys.stderr)
            if args.progress and frame_id % 100 == 0:
                print(f"capture: {args.game} frame {frame_id}/{args.frames}", file=sys.stderr)
            if not args.fast:
                time.sleep(max(0.0, 1.0 / fps - (time.monotonic() - tick)))
        # Give the server a moment to take the last frames before the socket closes.
        receive(0.5)
    print(json.dumps({"game": args.game, "frames": args.frames, "resolution": [width, height],
                      "checkpoint_key": args.checkpoint_key}))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--game", required=True, help="mario-W-S (e.g. mario-1-1) or an Atari name (e.g. pong, beam_rider, BeamRider)")
    parser.add_argument("--frames", type=int, default=1000, help="frames to send (default 1000)")
    parser.add_argument("--url", default="ws://127.0.0.1:8000/ws/stream", help="the server's stream endpoint")
    parser.add_argument("--token", help="bearer token when the server has server.auth_token set")
    parser.add_argument("--checkpoint-key", default="default", help="the file the server records into: {data_root}/{key}.h5")
    parser.add_argument("--fps", type=float, help="frames per second to send (default: the server's target_fps)")
    parser.add_argument("--fast", action="store_true", help="send as fast as possible (the server still stores every frame)")
    parser.add_argument("--skip", type=int, default=1, help="game steps between recorded frames (default 1: every other frame)")
    parser.add_argument("--seed", type=int, default=0, help="seeds the policy and the emulator")
    parser.add_argument("--warmup", type=int, default=0, help="game steps played before the first recorded frame, then on until the screen moves (default 0)")
    parser.add_argument("--progress", action="store_true", help="print progress to stderr")
    capture(parser.parse_args())


if __name__ == "__main__":
    main()
