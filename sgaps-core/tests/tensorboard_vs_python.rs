//! Our event files read back by TensorBoard itself.
//!
//! Scalars under two tags at several steps and one image are written with
//! [`SummaryWriter`], then `tests/tensorboard/read_events.py` loads the directory with
//! TensorBoard's `EventAccumulator` and prints what it found as JSON. Set SGAPS_PYTHON to
//! choose the interpreter (default `python3`, the cached venv under scripts/with-env).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use image::{Rgb, RgbImage};
use sgaps_core::tensorboard::SummaryWriter;

#[derive(serde::Deserialize)]
struct TensorBoardView {
    file_version: Option<f64>,
    /// TensorBoard widens the float32 `simple_value` to a double. Read back as f32: serde_json's
    /// default float parsing can be one f64 ulp off, which narrowing absorbs, while any change
    /// of the f32 itself still shows.
    scalars: BTreeMap<String, Vec<(i64, f32)>>,
    images: BTreeMap<String, Vec<ImageSeen>>,
}

#[derive(serde::Deserialize)]
struct ImageSeen {
    step: i64,
    width: u32,
    height: u32,
    /// The decoded PNG: rows of [r, g, b].
    pixels: Vec<Vec<[u8; 3]>>,
}

fn read_with_tensorboard(dir: &Path) -> TensorBoardView {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tensorboard/read_events.py");
    let python = std::env::var("SGAPS_PYTHON").unwrap_or_else(|_| "python3".into());
    let output = Command::new(&python)
        .arg(&script)
        .arg(dir)
        .output()
        .unwrap_or_else(|error| {
            panic!("cannot run {python} (make setup installs tensorboard): {error}")
        });
    assert!(
        output.status.success(),
        "{} failed: {}",
        script.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("the script prints JSON")
}

/// Distinct colours in every pixel, so a transposed or shifted picture shows.
fn test_image() -> RgbImage {
    RgbImage::from_fn(7, 4, |x, y| {
        Rgb([(x * 36) as u8, (y * 60) as u8, (x * 4 + y * 9 + 100) as u8])
    })
}

#[test]
fn tensorboard_reads_our_scalars_and_image() {
    let dir = tempfile::tempdir().unwrap();
    let mut written: BTreeMap<String, Vec<(i64, f32)>> = BTreeMap::new();
    let mut writer = SummaryWriter::create(dir.path()).unwrap();
    for step in [0, 1, 2, 5, 10, 100] {
        // Values that are not round in binary, so any narrowing or widening shows.
        let loss = 1.0 / (step as f32 + 3.0);
        let psnr = -17.3 + 0.1 * step as f32;
        for (tag, value) in [("loss/train", loss), ("quality/psnr", psnr)] {
            writer.add_scalar(tag, value, step).unwrap();
            written
                .entry(tag.to_owned())
                .or_default()
                .push((step, value));
        }
    }
    let image = test_image();
    writer
        .add_image("frames/reconstruction", &image, 42)
        .unwrap();
    writer.flush().unwrap();

    let seen = read_with_tensorboard(dir.path());
    assert_eq!(seen.file_version, Some(2.0), "the file_version event");

    assert_eq!(seen.scalars, written);

    assert_eq!(
        seen.images.keys().collect::<Vec<_>>(),
        ["frames/reconstruction"]
    );
    let [picture] = seen.images["frames/reconstruction"].as_slice() else {
        panic!(
            "expected one image event, got {}",
            seen.images["frames/reconstruction"].len()
        )
    };
    assert_eq!(picture.step, 42);
    assert_eq!(
        (picture.width, picture.height),
        image.dimensions(),
        "Summary.Image width, height"
    );
    let written_pixels: Vec<Vec<[u8; 3]>> = image
        .rows()
        .map(|row| row.map(|pixel| pixel.0).collect())
        .collect();
    assert_eq!(
        picture.pixels, written_pixels,
        "the PNG as TensorBoard decodes it"
    );
}
