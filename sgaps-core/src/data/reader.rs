//! Reads recorded sessions back: SGAPS's own layout (`/sessions/{id}` with extendable
//! datasets, see `layout.rs`) and the reference trainer's layout from PROTOCOL.md
//! (`/{session}/frames/{frame_id}/{pixels, state_vector, image}`), which is imported.

use std::path::Path;

use hdf5::{File, Group};
use image::GrayImage;

use super::hdf5_util::get_string;
use super::layout::{RecordedFrame, RecordedSession, SessionInfo};

#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct ReadError {
    pub path: String,
    pub message: String,
}

/// Every session in `path`, in either layout, sessions sorted by name.
pub fn read_file(path: &Path) -> Result<Vec<RecordedSession>, ReadError> {
    let fail = |message: String| ReadError { path: path.display().to_string(), message };
    let file = File::open(path).map_err(|e| fail(e.to_string()))?;
    let sessions = if file.link_exists("sessions") {
        let root = file.group("sessions").map_err(|e| fail(e.to_string()))?;
        read_groups(&root, read_session).map_err(|e| fail(e.to_string()))?
    } else {
        read_groups(&file, read_reference_session).map_err(|e| fail(format!("reference layout: {e}")))?
    };
    Ok(sessions)
}

fn read_groups(
    parent: &Group,
    read: fn(&Group, &str) -> hdf5::Result<RecordedSession>,
) -> hdf5::Result<Vec<RecordedSession>> {
    let mut names = parent.member_names()?;
    names.sort();
    names.iter().map(|name| read(&parent.group(name)?, name)).collect()
}

fn read_session(group: &Group, name: &str) -> hdf5::Result<RecordedSession> {
    let scalar_u32 = |n: &str| group.attr(n)?.read_scalar::<u32>();
    let pair = |n: &str| -> hdf5::Result<[u32; 2]> {
        let v = group.attr(n)?.read_raw::<u32>()?;
        Ok([v.first().copied().unwrap_or(0), v.get(1).copied().unwrap_or(0)])
    };
    let info = SessionInfo {
        session_id: name.to_string(),
        created_at: group.attr("created_at")?.read_scalar()?,
        checkpoint_key: get_string(group, "checkpoint_key")?,
        model_version: get_string(group, "model_version")?,
        client_resolution: pair("client_resolution")?,
        resolution: pair("resolution")?,
        sample_count: scalar_u32("sample_count")?,
        max_state_dim: scalar_u32("max_state_dim")?,
        sentinel_value: group.attr("sentinel_value")?.read_scalar()?,
    };
    // `frame_count` is written at each flush; rows past it were never completed.
    let count = group.attr("frame_count")?.read_scalar::<u64>()? as usize;
    let frame_ids = group.dataset("frame_id")?.read_raw::<u64>()?;
    let timestamps = group.dataset("timestamp")?.read_raw::<f64>()?;
    let starts = group.dataset("pixel_start")?.read_raw::<u64>()?;
    let counts = group.dataset("num_pixels")?.read_raw::<u32>()?;
    let pixels = group.dataset("pixels")?.read_raw::<f32>()?;
    let s = info.max_state_dim as usize;
    let states = if s > 0 { group.dataset("state_vector")?.read_raw::<f32>()? } else { Vec::new() };
    let mut truths = std::collections::HashMap::new();
    if group.link_exists("ground_truth") {
        let images = group.dataset("ground_truth")?;
        let shape = images.shape();
        let (h, w) = (shape[1], shape[2]);
        let data = images.read_raw::<u8>()?;
        let ids = group.dataset("ground_truth_frame_id")?.read_raw::<u64>()?;
        for (i, id) in ids.iter().enumerate().take(shape[0]) {
            let image = GrayImage::from_raw(w as u32, h as u32, data[i * h * w..(i + 1) * h * w].to_vec());
            truths.insert(*id, image.expect("sized by the dataset"));
        }
    }
    let count = count.min(frame_ids.len()).min(timestamps.len()).min(starts.len()).min(counts.len());
    let frames = (0..count)
        .map(|i| {
            let start = starts[i] as usize * 3;
            let end = (start + counts[i] as usize * 3).min(pixels.len());
            let state = if s > 0 { strip_sentinel(&states[i * s..(i + 1) * s], info.sentinel_value) } else { Vec::new() };
            RecordedFrame {
                frame_id: frame_ids[i],
                timestamp: timestamps[i],
                pixels: pixels[start.min(end)..end].chunks(3).map(|c| [c[0], c[1], c[2]]).collect(),
                state,
                ground_truth: truths.remove(&frame_ids[i]),
            }
        })
        .collect();
    Ok(RecordedSession { info, frames })
}

/// The reference layout: one group per frame, named by frame id.
fn read_reference_session(group: &Group, name: &str) -> hdf5::Result<RecordedSession> {
    let frames_group = group.group("frames")?;
    let mut ids: Vec<u64> = frames_group.member_names()?.iter().filter_map(|n| n.parse().ok()).collect();
    ids.sort_unstable();
    // `metadata` may be a subgroup or the session group's own attributes.
    let metadata = if group.link_exists("metadata") { group.group("metadata")? } else { group.clone() };
    let created_at = metadata.attr("created_at").and_then(|a| a.read_scalar::<f64>()).unwrap_or(0.0);
    let mut max_state_dim = 0;
    let mut resolution = [0u32; 2];
    let mut frames = Vec::with_capacity(ids.len());
    for id in ids {
        let f = frames_group.group(&id.to_string())?;
        let pixels = f.dataset("pixels")?.read_raw::<f32>()?;
        let padded = if f.link_exists("state_vector") { f.dataset("state_vector")?.read_raw::<f32>()? } else { Vec::new() };
        max_state_dim = max_state_dim.max(padded.len() as u32);
        if let Ok(r) = f.attr("resolution").and_then(|a| a.read_raw::<u32>()) {
            if r.len() == 2 {
                resolution = [r[0], r[1]];
            }
        }
        let ground_truth = if f.link_exists("image") {
            let image = f.dataset("image")?;
            let shape = image.shape();
            GrayImage::from_raw(shape[1] as u32, shape[0] as u32, image.read_raw::<u8>()?)
        } else {
            None
        };
        frames.push(RecordedFrame {
            frame_id: id,
            timestamp: f.attr("timestamp").and_then(|a| a.read_scalar::<f64>()).unwrap_or(0.0),
            pixels: pixels.chunks(3).map(|c| [c[0], c[1], c[2]]).collect(),
            state: strip_sentinel(&padded, -999.0),
            ground_truth,
        });
    }
    let info = SessionInfo {
        session_id: name.to_string(),
        created_at,
        checkpoint_key: String::new(),
        model_version: String::new(),
        client_resolution: resolution,
        resolution,
        sample_count: frames.first().map_or(0, |f| f.pixels.len() as u32),
        max_state_dim,
        sentinel_value: -999.0,
    };
    Ok(RecordedSession { info, frames })
}

/// The state vector without its trailing sentinel padding.
fn strip_sentinel(padded: &[f32], sentinel: f32) -> Vec<f32> {
    let len = padded.iter().rposition(|&x| x != sentinel).map_or(0, |i| i + 1);
    padded[..len].to_vec()
}
