"""TensorBoard's own reading of the event files that tests/tensorboard_vs_python.rs wrote.

Usage: read_events.py DIR. Loads DIR with TensorBoard's EventAccumulator, keeping every
event (size guidance 0), and prints JSON:
{"file_version": 2.0, "scalars": {tag: [[step, value], ...]},
 "images": {tag: [{"step", "width", "height", "pixels"}, ...]}}
where width and height are the Summary.Image fields and "pixels" is the decoded PNG as
rows of [r, g, b], so the Rust side can check the encoding too.
"""

import json
import sys

import imageio.v3 as iio
from tensorboard.backend.event_processing import event_accumulator


def main():
    directory = sys.argv[1]
    keep_everything = {kind: 0 for kind in event_accumulator.DEFAULT_SIZE_GUIDANCE}
    accumulator = event_accumulator.EventAccumulator(directory, size_guidance=keep_everything)
    accumulator.Reload()
    tags = accumulator.Tags()
    scalars = {
        tag: [[event.step, event.value] for event in accumulator.Scalars(tag)]
        for tag in tags[event_accumulator.SCALARS]
    }
    images = {
        tag: [
            {
                "step": event.step,
                "width": event.width,
                "height": event.height,
                "pixels": iio.imread(event.encoded_image_string, extension=".png").tolist(),
            }
            for event in accumulator.Images(tag)
        ]
        for tag in tags[event_accumulator.IMAGES]
    }
    json.dump(
        {"file_version": accumulator.file_version, "scalars": scalars, "images": images},
        sys.stdout,
    )


if __name__ == "__main__":
    main()
