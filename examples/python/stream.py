"""A game's view of SGAPS from Python, in-process through libsgaps.

Renders a moving test pattern (a bright square sliding over a gradient), samples it where
the engine says, submits each frame, swaps to new coordinates when the engine sends them,
and writes the last frame's reconstruction and importance heatmap as PNG files.

    pip install ./bindings/python
    SGAPS_LIBRARY=$PWD/target/debug/libsgaps.so python examples/python/stream.py OUT_DIR \
        [--frames 30] [OVERRIDE ...]

The small CPU model (model=spt_small) runs unless the overrides say otherwise; weights
are random unless a checkpoint exists under checkpoint_dir, so expect a blurry picture.
"""

import argparse
from pathlib import Path

import numpy as np

import sgaps

SCREEN_WIDTH, SCREEN_HEIGHT = 160, 120


def render(t: int) -> np.ndarray:
    """The test pattern at frame t: (height, width) grey levels."""
    y, x = np.mgrid[0:SCREEN_HEIGHT, 0:SCREEN_WIDTH]
    screen = (y * 160 // SCREEN_HEIGHT).astype(np.uint8)
    left = 10 + 3 * t
    screen[40:70, left:left + 30] = 250
    return screen


def sample(screen: np.ndarray, coordinates: np.ndarray) -> np.ndarray:
    """(N, 3) pixels: each (u, v) with the grey level of the screen pixel under it."""
    x = np.minimum((coordinates[:, 0] * SCREEN_WIDTH).astype(int), SCREEN_WIDTH - 1)
    y = np.minimum((coordinates[:, 1] * SCREEN_HEIGHT).astype(int), SCREEN_HEIGHT - 1)
    return np.column_stack([coordinates, screen[y, x]]).astype(np.float32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--frames", type=int, default=30)
    parser.add_argument("overrides", nargs="*", help='e.g. "model.resolution=[64,48]"')
    args = parser.parse_intermixed_args()
    args.out_dir.mkdir(parents=True, exist_ok=True)

    print(f"libsgaps {sgaps.version()} from {sgaps.library_path()}")
    with sgaps.Engine(overrides=["model=spt_small", *args.overrides]) as engine:
        print(f"device {engine.info.device}, {engine.info.sample_count} samples per frame")
        with engine.session("default", SCREEN_WIDTH, SCREEN_HEIGHT) as session:
            p = session.params
            print(f"session {p.session_id}: checkpoint {p.checkpoint_key} ({p.model_version}), "
                  f"reconstructs {p.resolution[0]}x{p.resolution[1]}")
            coordinates = session.initial_coordinates
            for t in range(args.frames):
                screen = render(t)
                result = session.submit(t, sample(screen, coordinates), state=[t, 1.0],
                                        timestamp=t / 10, ground_truth=screen)
                if result.coordinates is not None:
                    # Sample there from frame result.target_frame_id (the next) on.
                    coordinates = result.coordinates
                print(f"frame {t:2d}: sample PSNR {result.sample_psnr:5.2f} dB, "
                      f"PSNR {result.ground_truth_psnr:5.2f} dB, {result.inference_ms:6.1f} ms"
                      + (", new coordinates" if result.coordinates is not None else ""))

            sgaps.write_png_gray(args.out_dir / "reconstruction.png", result.reconstruction)
            sgaps.write_importance_png(args.out_dir / "importance.png", result.importance)
            print(f"wrote {args.out_dir / 'reconstruction.png'} and {args.out_dir / 'importance.png'}")
            stats = session.end()
            print(f"{stats.frames_reconstructed} frames, {stats.mask_updates} mask updates, "
                  f"mean PSNR {stats.mean_psnr:.2f} dB")


if __name__ == "__main__":
    main()
