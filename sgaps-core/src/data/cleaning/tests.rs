use rand::Rng;

use super::*;
use crate::config::{BalanceConfig, StationarityConfig};
use crate::data::SessionInfo;

fn frame(state: Vec<f32>, pixels: usize) -> RecordedFrame {
    RecordedFrame { frame_id: 0, timestamp: 0.0, pixels: vec![[0.5, 0.5, 128.0]; pixels], state, ground_truth: None }
}

fn session(name: &str, frames: Vec<RecordedFrame>) -> RecordedSession {
    game_session(name, "game", frames)
}

fn game_session(name: &str, game: &str, frames: Vec<RecordedFrame>) -> RecordedSession {
    let info = SessionInfo {
        session_id: name.into(),
        created_at: 0.0,
        checkpoint_key: game.into(),
        model_version: String::new(),
        client_resolution: [64, 48],
        resolution: [64, 48],
        sample_count: 8,
        max_state_dim: 8,
        sentinel_value: -999.0,
    };
    RecordedSession { info, frames }
}

/// Every step on; tests turn off what they do not look at.
fn config() -> CleaningConfig {
    CleaningConfig {
        enabled: true,
        min_pixels: 4,
        stationarity: StationarityConfig { enabled: true, quantile: 0.1, noise_floor: 0.01 },
        balance: BalanceConfig {
            enabled: true,
            per_game: true,
            clusters: 4, pixel_count_weight: 0.0,
            cap_percentile: 75.0,
            seed: Some(1),
        },
    }
}

fn only_min_pixels() -> CleaningConfig {
    let mut c = config();
    c.stationarity.enabled = false;
    c.balance.enabled = false;
    c
}

fn kept_frames(cleaned: &Cleaned, session: usize) -> Vec<usize> {
    cleaned.kept.iter().filter(|r| r.session == session).map(|r| r.frame).collect()
}

#[test]
fn frames_under_min_pixels_are_dropped() {
    let frames = [10, 2, 10, 0, 4].into_iter().map(|n| frame(vec![0.0], n)).collect();
    let cleaned = clean(&[session("a", frames)], &only_min_pixels());
    assert_eq!(kept_frames(&cleaned, 0), [0, 2, 4]);
    let counts = &cleaned.report.sessions[0];
    assert_eq!((counts.recorded, counts.after_min_pixels, counts.after_balance), (5, 3, 3));
    assert_eq!(counts.stationarity, Stationarity::Off);
}

#[test]
fn a_still_segment_is_removed_exactly() {
    // Moves one unit per frame, holds still on frames 10..20, then moves again.
    let position = |t: usize| (if t < 10 { t } else if t < 20 { 9 } else { t - 10 }) as f32;
    let frames = (0..30).map(|t| frame(vec![position(t), 2.0 * position(t)], 8)).collect();
    let mut c = config();
    c.balance.enabled = false;
    let cleaned = clean(&[session("a", frames)], &c);
    let expected: Vec<usize> = (0..10).chain(20..30).collect();
    assert_eq!(kept_frames(&cleaned, 0), expected);
    // The velocity quantile is 0 here, so the noise floor decides.
    assert_eq!(cleaned.report.sessions[0].stationarity, Stationarity::Threshold { threshold: 0.01, quantile_value: 0.0 });
}

#[test]
fn noise_below_the_floor_is_not_motion_and_all_motion_keeps_most_frames() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let jitter = (0..50).map(|_| frame(vec![5.0 + rng.random_range(-0.002..0.002), 1.0], 8)).collect();
    let mut x = 0.0;
    let moving = (0..50)
        .map(|_| {
            x += rng.random_range(1.0..2.0);
            frame(vec![x, 1.0], 8)
        })
        .collect();
    let mut c = config();
    c.balance.enabled = false;
    let cleaned = clean(&[session("jitter", jitter), session("moving", moving)], &c);
    assert_eq!(kept_frames(&cleaned, 0), [0], "only the first frame of a session that never moves");
    let moving_kept = kept_frames(&cleaned, 1).len();
    assert!((44..50).contains(&moving_kept), "{moving_kept}");
}

#[test]
fn sessions_without_state_keep_all_frames() {
    let frames = (0..5).map(|_| frame(vec![], 8)).collect();
    let mut c = config();
    c.balance.enabled = false;
    let cleaned = clean(&[session("a", frames)], &c);
    assert_eq!(cleaned.kept.len(), 5);
    assert_eq!(cleaned.report.sessions[0].stationarity, Stationarity::NoState);
    assert!(cleaned.report.markdown().contains("no state vector: all kept"));
}

/// Session 0: 100 frames near one state; session 1: 10, 12 and 8 frames near three others.
fn one_dominant_cluster() -> Vec<RecordedSession> {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let mut blob = |centre: [f32; 2], size: usize| -> Vec<RecordedFrame> {
        (0..size).map(|_| frame(centre.iter().map(|c| c + rng.random_range(-0.3..0.3)).collect(), 8)).collect()
    };
    let dominant = blob([0.0, 0.0], 100);
    let small = [blob([10.0, 0.0], 10), blob([0.0, 10.0], 12), blob([10.0, 10.0], 8)].concat();
    vec![session("dominant", dominant), session("small", small)]
}

fn only_balance() -> CleaningConfig {
    let mut c = config();
    c.stationarity.enabled = false;
    c
}

#[test]
fn a_dominant_cluster_is_capped_and_small_ones_untouched() {
    let cleaned = clean(&one_dominant_cluster(), &only_balance());
    let [clusters] = &cleaned.report.clusters[..] else { panic!("one game") };
    assert_eq!(clusters.group, "game");
    assert_eq!(clusters.before, [100, 12, 10, 8]);
    // 75th percentile of [8, 10, 12, 100]: 12 + 0.25 * 88 = 34.
    assert_eq!(clusters.cap, 34);
    assert_eq!(clusters.after, [34, 12, 10, 8]);
    assert_eq!(kept_frames(&cleaned, 0).len(), 34);
    assert_eq!(kept_frames(&cleaned, 1), (0..30).collect::<Vec<_>>());
    assert!(cleaned.kept.windows(2).all(|w| w[0] < w[1]), "kept in session and recording order");
}

#[test]
fn each_game_is_balanced_on_its_own() {
    let mut sessions = one_dominant_cluster();
    let spread = (0..40).map(|i| frame(vec![i as f32 * 100.0, 3.0, -1.0], 8)).collect();
    sessions.push(game_session("rally", "pong", spread));
    let cleaned = clean(&sessions, &only_balance());
    let groups: Vec<&str> = cleaned.report.clusters.iter().map(|c| c.group.as_str()).collect();
    assert_eq!(groups, ["game", "pong"]);
    // Another game's frames change neither how this one is clustered nor which frames it keeps.
    assert_eq!(cleaned.report.clusters[0].before, [100, 12, 10, 8]);
    let alone = clean(&sessions[2..], &only_balance());
    assert_eq!(alone.report.clusters[0], cleaned.report.clusters[1]);
    assert_eq!(kept_frames(&alone, 0), kept_frames(&cleaned, 2));

    let mut together = only_balance();
    together.balance.per_game = false;
    let cleaned = clean(&sessions, &together);
    assert_eq!(cleaned.report.clusters.len(), 1);
    assert_eq!(cleaned.report.clusters[0].group, "all");
}

#[test]
fn the_same_seed_gives_the_same_frames() {
    let sessions = one_dominant_cluster();
    let c = only_balance();
    assert_eq!(clean(&sessions, &c).kept, clean(&sessions, &c).kept);
    let mut other = c.clone();
    other.balance.seed = Some(2);
    assert_ne!(clean(&sessions, &c).kept, clean(&sessions, &other).kept);
}

#[test]
fn cleaning_off_keeps_everything() {
    let mut c = config();
    c.enabled = false;
    let cleaned = clean(&one_dominant_cluster(), &c);
    assert_eq!(cleaned.kept.len(), 130);
    assert_eq!(cleaned.report.totals(), (130, 130));
    assert!(cleaned.report.clusters.is_empty());
}

#[test]
fn the_report_counts_every_step_and_writes_its_files() {
    let mut sessions = one_dominant_cluster();
    sessions[1].frames[0].pixels.clear();
    let cleaned = clean(&sessions, &only_balance());
    let markdown = cleaned.report.markdown();
    assert!(markdown.contains("| small | 30 | 29 | 29 | 29 |"), "{markdown}");
    assert!(markdown.contains("| **total** | 130 | 129 | 129 | 63 |"), "{markdown}");
    assert!(markdown.contains("| 0 | 100 | 34 |"), "{markdown}");

    let dir = tempfile::tempdir().unwrap();
    cleaned.report.write(dir.path()).unwrap();
    assert_eq!(std::fs::read_to_string(dir.path().join("report.md")).unwrap(), markdown);
    let chart = image::open(dir.path().join("clusters.png")).unwrap().to_rgb8();
    assert!(chart.width() > 4 * 24);
    // The largest bar starts grey (before capping) above blue (after).
    let x = 16 + 12;
    assert_eq!(chart.get_pixel(x, 16 + 1).0, [190, 190, 190]);
    assert_eq!(chart.get_pixel(x, 16 + 199).0, [60, 120, 200]);
}

#[test]
fn quantiles_interpolate() {
    assert_eq!(quantile(&[], 0.5), 0.0);
    assert_eq!(quantile(&[1.0, 2.0, 3.0, 5.0], 0.5), 2.5);
    assert_eq!(quantile(&[1.0, 2.0], 1.0), 2.0);
}
