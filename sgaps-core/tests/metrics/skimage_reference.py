"""scikit-image's SSIM and PSNR for the image pairs that tests/ssim_vs_skimage.rs wrote.

Usage: skimage_reference.py DIR. DIR/cases.json lists {"name", "reference", "test"} with
PNG file names in DIR; prints {name: {"width", "height", "ssim", "psnr"}} as JSON, with
"ssim" null where scikit-image refuses a frame smaller than its window.
"""

import json
import sys
from pathlib import Path

import imageio.v3 as iio
import numpy as np
from skimage.metrics import peak_signal_noise_ratio, structural_similarity


def read_gray(path):
    image = iio.imread(path)
    if image.dtype != np.uint8 or image.ndim != 2:
        raise SystemExit(f"{path}: expected 8-bit grayscale, got {image.dtype} {image.shape}")
    return image


def ssim_or_none(reference, test):
    try:
        return float(
            structural_similarity(
                reference,
                test,
                data_range=255,
                gaussian_weights=True,
                sigma=1.5,
                use_sample_covariance=False,
            )
        )
    except ValueError as error:
        if "win_size exceeds image extent" not in str(error):
            raise
        return None


def main(directory):
    results = {}
    for case in json.loads((directory / "cases.json").read_text()):
        reference = read_gray(directory / case["reference"])
        test = read_gray(directory / case["test"])
        height, width = reference.shape
        results[case["name"]] = {
            "width": width,
            "height": height,
            "ssim": ssim_or_none(reference, test),
            "psnr": float(peak_signal_noise_ratio(reference, test, data_range=255)),
        }
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
