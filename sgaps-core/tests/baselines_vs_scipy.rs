//! The classical baselines against scipy: `griddata(method="linear")` (NaN outside the
//! hull, filled with `griddata(method="nearest")`) and `griddata(method="nearest")`, on
//! random samples of a textured frame. The positions are continuous, not pixel centres:
//! grid points are often cocircular, and then two correct Delaunay triangulations may
//! pick different diagonals.

use std::io::Write;
use std::process::{Command, Stdio};

use rand::{Rng, SeedableRng};
use sgaps_core::baselines::{linear_delaunay, nearest_neighbour};

const SCRIPT: &str = r#"
import json, sys
import numpy as np
from scipy.interpolate import griddata
job = json.load(sys.stdin)
w, h = job["width"], job["height"]
s = np.array(job["samples"], dtype=np.float64)
points = np.stack([s[:, 0] * w, s[:, 1] * h], axis=1)
ys, xs = np.mgrid[0:h, 0:w]
grid = (xs + 0.5, ys + 0.5)
nearest = griddata(points, s[:, 2], grid, method="nearest")
linear = griddata(points, s[:, 2], grid, method="linear")
linear = np.where(np.isnan(linear), nearest, linear)
to_u8 = lambda a: np.clip(np.round(a), 0, 255).astype(int).ravel().tolist()
print(json.dumps({"nearest": to_u8(nearest), "linear": to_u8(linear)}))
"#;

#[test]
fn baselines_match_scipy_griddata() {
    let (width, height) = (56u32, 40u32);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
    let texture = |x: f32, y: f32| ((x * 0.3).sin() * 60.0 + (y * 0.2).cos() * 50.0 + 128.0).round();
    let samples: Vec<[f32; 3]> = (0..300)
        .map(|_| {
            let (u, v): (f32, f32) = (rng.random(), rng.random());
            [u, v, texture(u * width as f32, v * height as f32)]
        })
        .collect();

    let python = std::env::var("SGAPS_PYTHON").unwrap_or_else(|_| "python3".into());
    let mut child = Command::new(python)
        .arg("-c")
        .arg(SCRIPT)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 with scipy runs");
    let job = serde_json::json!({"width": width, "height": height, "samples": samples});
    child.stdin.take().unwrap().write_all(job.to_string().as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "scipy side failed");
    let reference: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();

    for (name, ours) in [("linear", linear_delaunay(&samples, width, height)), ("nearest", nearest_neighbour(&samples, width, height))] {
        let theirs: Vec<u8> = serde_json::from_value(reference[name].clone()).unwrap();
        let differing: Vec<usize> =
            ours.as_raw().iter().zip(&theirs).enumerate().filter(|(_, (a, b))| a.abs_diff(**b) > 1).map(|(i, _)| i).collect();
        println!("{name}: {} of {} pixels differ by more than one grey level", differing.len(), theirs.len());
        // Ties (pixels equally far from two samples, or on a shared edge) may resolve
        // differently; they are rare.
        assert!(differing.len() * 100 <= theirs.len(), "{name}: {} of {} pixels differ", differing.len(), theirs.len());
    }
}
