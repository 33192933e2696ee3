"""A game's view of SGAPS from Python, in-process through libsgaps, on a real game clip.

Plays CLIP.pgm (grey frames, binary PGMs back to back) as if it were the game's screen,
with the state vectors of CLIP.states.txt: samples each frame where the engine says,
submits the samples and the state, swaps to new coordinates when the engine sends them,
and prints the reconstruction's PSNR next to linear interpolation of the same samples.
Writes the last frame's truth, reconstruction, linear interpolation and importance
heatmap as PNG files.

    pip install sgaps-*.whl      # scripts/build-wheel.sh; or pip install ./bindings/python
    python examples/python/stream.py examples/data/mario-1-2 OUT_DIR [OVERRIDE ...]

The trained default model is built into libsgaps, so this works from any folder.
"""

import argparse
import re
from pathlib import Path
from typing import List, Tuple

import numpy as np

import sgaps


# A binary 8-bit PGM header: magic, width, height, maxval, then one whitespace byte.
PGM_HEADER = re.compile(rb"P5\s+(\d+)\s+(\d+)\s+255\s")


def read_clip(base: Path) -> Tuple[List[np.ndarray], List[List[float]]]:
    """The frames of BASE.pgm, each (height, width) uint8, and the states of BASE.states.txt."""
    data = Path(f"{base}.pgm").read_bytes()
    frames, at = [], 0
    while at < len(data):
        header = PGM_HEADER.match(data, at)
        if header is None:
            raise ValueError(f"{base}.pgm: frame {len(frames)} is not an 8-bit binary PGM")
        width, height = int(header[1]), int(header[2])
        frames.append(np.frombuffer(data, np.uint8, width * height, header.end()).reshape(height, width))
        at = header.end() + width * height
    states = [[float(v) for v in line.split()] for line in Path(f"{base}.states.txt").read_text().splitlines()]
    return frames, states


def sample(screen: np.ndarray, coordinates: np.ndarray) -> np.ndarray:
    """(N, 3) pixels: each (u, v) with the grey level of the screen pixel under it
    (v = 0 is the top row)."""
    height, width = screen.shape
    x = np.minimum((coordinates[:, 0] * width).astype(int), width - 1)
    y = np.minimum((coordinates[:, 1] * height).astype(int), height - 1)
    return np.column_stack([coordinates, screen[y, x]]).astype(np.float32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("clip", type=Path, help="e.g. examples/data/mario-1-2 (reads .pgm and .states.txt)")
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("overrides", nargs="*", help='e.g. "sampling.default_sample_count=250"')
    args = parser.parse_args()
    args.out_dir.mkdir(parents=True, exist_ok=True)
    frames, states = read_clip(args.clip)
    height, width = frames[0].shape

    print(f"libsgaps {sgaps.version()} from {sgaps.library_path()}")
    with sgaps.Engine(overrides=args.overrides) as engine:
        info = engine.info
        print(f"device {info.device}, {info.sample_count} samples per frame "
              f"({100 * info.sample_count / (width * height):.1f} % of a {width}x{height} screen)")
        with engine.session("default", width, height) as session:
            p = session.params
            print(f"checkpoint {p.checkpoint_key}, version {p.model_version} "
                  f"({'trained' if p.checkpoint_loaded else 'untrained weights'}), "
                  f"reconstructs {p.resolution[0]}x{p.resolution[1]}")
            coordinates = session.initial_coordinates
            model_psnr, linear_psnr = [], []
            for t, (screen, state) in enumerate(zip(frames, states)):
                pixels = sample(screen, coordinates)
                # The whole screen as ground truth, only so that quality can be measured.
                result = session.submit(t, pixels, state=state, timestamp=t / 10, ground_truth=screen)
                # The yardstick: linear interpolation of the same samples, measured the same way.
                linear = sgaps.linear_interpolation(pixels, *p.resolution)
                if result.coordinates is not None:
                    # Sample there from frame result.target_frame_id (the next) on.
                    coordinates = result.coordinates
                model_psnr.append(result.ground_truth_psnr)
                linear_psnr.append(sgaps.psnr(linear, screen))
                print(f"frame {t:2d}: model {result.ground_truth_psnr:5.2f} dB, "
                      f"linear interpolation {linear_psnr[-1]:5.2f} dB, {result.inference_ms:6.1f} ms")
            print(f"mean PSNR over {len(frames)} frames: model {np.mean(model_psnr):.2f} dB, "
                  f"linear interpolation {np.mean(linear_psnr):.2f} dB")
            session.end()

    sgaps.write_png_gray(args.out_dir / "truth.png", screen)
    sgaps.write_png_gray(args.out_dir / "reconstruction.png", result.reconstruction)
    sgaps.write_png_gray(args.out_dir / "linear.png", linear)
    sgaps.write_importance_png(args.out_dir / "importance.png", result.importance)
    print(f"wrote truth.png, reconstruction.png, linear.png and importance.png to {args.out_dir}")


if __name__ == "__main__":
    main()
