//! Training-data cleaning (seed section 3.2): which recorded frames training uses.
//! Three steps, in order: drop frames with too few sampled pixels, drop still frames
//! (state velocity under a per-session "smart" threshold), then balance situations by
//! capping the largest k-means clusters of the state. Every step is counted in a
//! [`CleaningReport`].

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::kmeans::kmeans;
use super::layout::{RecordedFrame, RecordedSession};
use crate::config::{BalanceConfig, CleaningConfig, StationarityConfig};

mod report;
pub use report::{CleaningReport, ClusterSizes, SessionCounts, Stationarity};

/// One frame of the input: `sessions[session].frames[frame]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FrameRef {
    pub session: usize,
    pub frame: usize,
}

/// The frames to train on, in session and recording order, and how they were chosen.
#[derive(Debug, Clone)]
pub struct Cleaned {
    pub kept: Vec<FrameRef>,
    pub report: CleaningReport,
}

/// Runs the enabled steps of `config` over all `sessions` together.
pub fn clean(sessions: &[RecordedSession], config: &CleaningConfig) -> Cleaned {
    let mut counts: Vec<SessionCounts> =
        sessions.iter().map(|s| SessionCounts::new(&s.info.session_id, s.frames.len())).collect();
    // Per session, the indices of the frames still kept.
    let mut kept: Vec<Vec<usize>> = sessions.iter().map(|s| (0..s.frames.len()).collect()).collect();
    let mut clusters = Vec::new();
    if config.enabled {
        let min_pixels = config.min_pixels as usize;
        for (frames, session) in kept.iter_mut().zip(sessions) {
            frames.retain(|&i| session.frames[i].pixels.len() >= min_pixels);
        }
        counts.iter_mut().zip(&kept).for_each(|(c, k)| c.after_min_pixels = k.len());

        if config.stationarity.enabled {
            for ((frames, session), c) in kept.iter_mut().zip(sessions).zip(&mut counts) {
                c.stationarity = drop_still_frames(&session.frames, frames, &config.stationarity);
            }
        }
        counts.iter_mut().zip(&kept).for_each(|(c, k)| c.after_stationarity = k.len());

        if config.balance.enabled {
            clusters = balance(sessions, &mut kept, &config.balance);
        }
    } else {
        counts.iter_mut().for_each(|c| (c.after_min_pixels, c.after_stationarity) = (c.recorded, c.recorded));
    }
    counts.iter_mut().zip(&kept).for_each(|(c, k)| c.after_balance = k.len());

    let kept = kept
        .iter()
        .enumerate()
        .flat_map(|(session, frames)| frames.iter().map(move |&frame| FrameRef { session, frame }))
        .collect();
    Cleaned { kept, report: CleaningReport { config: config.clone(), sessions: counts, clusters } }
}

/// Keeps, of `kept`, the first frame of the session and frames whose state moved at
/// least max(noise floor, quantile of the velocities) since the previous recorded frame.
fn drop_still_frames(frames: &[RecordedFrame], kept: &mut Vec<usize>, config: &StationarityConfig) -> Stationarity {
    if frames.iter().all(|f| f.state.is_empty()) {
        return Stationarity::NoState;
    }
    let velocity = |i: usize| -> Option<f64> {
        let (now, before) = (&frames[i].state, &frames[i.checked_sub(1)?].state);
        let common = now.len().min(before.len());
        // No shared state to compare: the velocity is unknown, so the frame stays.
        (common > 0).then(|| now[..common].iter().zip(before).map(|(a, b)| f64::from(a - b).powi(2)).sum::<f64>().sqrt())
    };
    let mut velocities: Vec<f64> = kept.iter().filter_map(|&i| velocity(i)).collect();
    velocities.sort_by(f64::total_cmp);
    let quantile_value = quantile(&velocities, config.quantile);
    let threshold = quantile_value.max(config.noise_floor);
    kept.retain(|&i| velocity(i).is_none_or(|v| v >= threshold));
    Stationarity::Threshold { threshold, quantile_value }
}

/// Balances each game (sessions sharing a checkpoint_key) on its own, or all sessions
/// together when `per_game` is off: state dimensions of different games mean different
/// things, and in one feature space a whole game collapses into a single cluster.
fn balance(sessions: &[RecordedSession], kept: &mut [Vec<usize>], config: &BalanceConfig) -> Vec<ClusterSizes> {
    let mut groups: Vec<(&str, Vec<usize>)> = Vec::new();
    for (index, session) in sessions.iter().enumerate() {
        let name = if config.per_game { session.info.checkpoint_key.as_str() } else { "all" };
        match groups.iter_mut().find(|(g, _)| *g == name) {
            Some((_, members)) => members.push(index),
            None => groups.push((name, vec![index])),
        }
    }
    let seed = config.seed.unwrap_or(0);
    groups
        .into_iter()
        .filter_map(|(name, members)| {
            // A stream per group: a game's frames do not depend on which other games are cleaned with it.
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            rng.set_stream(fnv1a(name));
            balance_group(name, sessions, &members, kept, config, &mut rng)
        })
        .collect()
}

/// A stable 64-bit hash of `text` (FNV-1a), the same on every platform and build.
fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3))
}

/// k-means over the state (zero-padded, standardised) and the weighted, standardised
/// pixel count of the kept frames of sessions `members`; clusters larger than the cap
/// percentile of the cluster sizes are downsampled at random to it. `None` when there
/// is nothing to cluster.
fn balance_group(
    name: &str,
    sessions: &[RecordedSession],
    members: &[usize],
    kept: &mut [Vec<usize>],
    config: &BalanceConfig,
    rng: &mut ChaCha8Rng,
) -> Option<ClusterSizes> {
    let rows: Vec<&RecordedFrame> =
        members.iter().flat_map(|&s| kept[s].iter().map(move |&i| &sessions[s].frames[i])).collect();
    let state_dim = rows.iter().map(|f| f.state.len()).max().unwrap_or(0);
    let with_pixels = config.pixel_count_weight > 0.0;
    let dim = state_dim + usize::from(with_pixels);
    if rows.is_empty() || dim == 0 {
        return None;
    }
    let mut features = vec![0.0; rows.len() * dim];
    for (row, frame) in features.chunks_mut(dim).zip(&rows) {
        row.iter_mut().zip(&frame.state).for_each(|(x, &s)| *x = f64::from(s));
        if with_pixels {
            row[state_dim] = frame.pixels.len() as f64;
        }
    }
    standardise_columns(&mut features, dim);
    if with_pixels {
        features.chunks_mut(dim).for_each(|row| row[state_dim] *= config.pixel_count_weight);
    }

    let assignment = kmeans(&features, dim, config.clusters as usize, rng);
    let k = assignment.iter().max().map_or(0, |&c| c + 1);
    let mut clusters: Vec<Vec<usize>> = vec![Vec::new(); k];
    assignment.iter().enumerate().for_each(|(row, &c)| clusters[c].push(row));
    clusters.retain(|m| !m.is_empty());
    // Largest first, so the report and the chart read from the dominant situation down.
    clusters.sort_by_key(|m| std::cmp::Reverse(m.len()));

    let mut sizes: Vec<f64> = clusters.iter().map(|m| m.len() as f64).collect();
    sizes.sort_by(f64::total_cmp);
    let cap = (quantile(&sizes, config.cap_percentile / 100.0).ceil() as usize).max(1);
    let before: Vec<usize> = clusters.iter().map(Vec::len).collect();
    let mut keep_row = vec![false; rows.len()];
    for cluster in &mut clusters {
        if cluster.len() > cap {
            let chosen = rand::seq::index::sample(rng, cluster.len(), cap);
            *cluster = chosen.iter().map(|i| cluster[i]).collect();
        }
        cluster.iter().for_each(|&row| keep_row[row] = true);
    }
    let after = clusters.iter().map(Vec::len).collect();

    // Rows were laid out session by session in `members` order.
    let mut row = 0;
    for &s in members {
        kept[s].retain(|_| {
            row += 1;
            keep_row[row - 1]
        });
    }
    Some(ClusterSizes { group: name.to_string(), before, after, cap })
}

/// Each column to zero mean and unit variance; a constant column becomes zero.
fn standardise_columns(features: &mut [f64], dim: usize) {
    let n = (features.len() / dim) as f64;
    for column in 0..dim {
        let values = || features.iter().skip(column).step_by(dim);
        let mean = values().sum::<f64>() / n;
        let std = (values().map(|x| (x - mean).powi(2)).sum::<f64>() / n).sqrt();
        let scale = if std > 1e-12 { 1.0 / std } else { 0.0 };
        features.iter_mut().skip(column).step_by(dim).for_each(|x| *x = (*x - mean) * scale);
    }
}

/// The `q` quantile (0..1) of ascending `sorted` values, linearly interpolated; 0 when empty.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    let Some(last) = sorted.len().checked_sub(1) else { return 0.0 };
    let rank = q.clamp(0.0, 1.0) * last as f64;
    let (low, high) = (rank.floor() as usize, rank.ceil() as usize);
    sorted[low] + (sorted[high] - sorted[low]) * (rank - low as f64)
}

#[cfg(test)]
mod tests;
