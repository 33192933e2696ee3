//! What a soak run checks, from the clients' logs, the frames read back from HDF5 and
//! the server's memory over time: every acknowledged frame stored (after a SIGKILL, those
//! acknowledged a flush interval before it), nothing stored that was not sent, every
//! malformed message answered, memory flat after warm-up.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Serialize;
use tokio::time::Instant;

use super::chaos_client::SessionLog;

/// Growth allowed after warm-up: the last third's peak over the middle third's.
const MEMORY_GROWTH_FACTOR: f64 = 1.10;
const MEMORY_GROWTH_SLACK_MIB: f64 = 16.0;
/// Samples an instance needs before its memory is judged.
const MEMORY_MIN_SAMPLES: usize = 9;

/// One reading of the server's resident memory.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct RssSample {
    /// Seconds since the run began.
    pub t: f64,
    pub instance: usize,
    pub mib: f64,
}

#[derive(Debug, Serialize)]
pub struct Check {
    pub name: &'static str,
    pub passed: bool,
    pub detail: String,
}

/// The frame counts of the storage check.
#[derive(Debug, Default, Serialize)]
pub struct StorageTally {
    pub frames_sent: u64,
    /// Covered by a heartbeat acknowledgement and not refused.
    pub frames_acknowledged: u64,
    /// Of those, the ones that had to be stored (all but the last flush interval before the kill).
    pub frames_required: u64,
    pub frames_refused: u64,
    pub frames_stored: u64,
    pub required_missing: u64,
    pub stored_not_sent: u64,
    pub stored_twice: u64,
    /// Sessions whose group was not found although they had required frames.
    pub sessions_missing: u64,
}

/// Compares the logs with what storage holds. `stored` maps session ids to the frame ids
/// of their group; `kill` is when the first instance was killed and the flush interval.
pub fn tally_storage(logs: &[SessionLog], stored: &HashMap<String, Vec<u64>>, kill: Option<(Instant, f64)>) -> StorageTally {
    let mut tally = StorageTally::default();
    for log in logs {
        let refused: HashSet<u64> = log.refused.iter().map(|(id, _)| *id).collect();
        // Sessions of the killed instance only owe what was acknowledged a flush
        // interval (and a margin for the write itself) before the kill.
        let cutoff = match kill {
            Some((at, flush_s)) if log.instance == 0 => Some(at - std::time::Duration::from_secs_f64(flush_s + 0.5)),
            _ => None,
        };
        let acknowledged = &log.sent[..log.acknowledged_before(None)];
        let required = &log.sent[..log.acknowledged_before(cutoff)];
        let frames = stored.get(&log.session_id);
        let have: HashSet<u64> = frames.map(|f| f.iter().copied().collect()).unwrap_or_default();
        let sent: HashSet<u64> = log.sent.iter().copied().collect();
        tally.frames_sent += log.sent.len() as u64;
        tally.frames_refused += refused.len() as u64;
        tally.frames_acknowledged += acknowledged.iter().filter(|f| !refused.contains(f)).count() as u64;
        let owed: Vec<u64> = required.iter().copied().filter(|f| !refused.contains(f)).collect();
        tally.frames_required += owed.len() as u64;
        tally.required_missing += owed.iter().filter(|f| !have.contains(f)).count() as u64;
        if frames.is_none() && !owed.is_empty() {
            tally.sessions_missing += 1;
        }
        if let Some(frames) = frames {
            tally.frames_stored += frames.len() as u64;
            tally.stored_not_sent += frames.iter().filter(|f| !sent.contains(f) || refused.contains(f)).count() as u64;
            tally.stored_twice += (frames.len() - have.len()) as u64;
        }
    }
    tally
}

pub fn storage_check(tally: &StorageTally) -> Check {
    let passed = tally.required_missing == 0 && tally.stored_not_sent == 0 && tally.stored_twice == 0 && tally.frames_required > 0;
    Check {
        name: "acknowledged frames stored",
        passed,
        detail: format!(
            "{} of {} required frames missing ({} sessions without a group), {} stored frames never sent or refused, {} stored twice",
            tally.required_missing, tally.frames_required, tally.sessions_missing, tally.stored_not_sent, tally.stored_twice
        ),
    }
}

pub fn chaos_check(logs: &[SessionLog]) -> Check {
    let sent: u64 = logs.iter().map(|l| l.chaos_sent).sum();
    let unanswered: u64 = logs.iter().map(|l| l.chaos_unanswered).sum();
    Check {
        name: "malformed and oversized messages answered",
        passed: unanswered == 0 && sent > 0,
        detail: format!("{sent} sent, {unanswered} acknowledged without their error first"),
    }
}

/// Per instance (each server process): after its first third (warm-up), the last
/// third's peak is within 10% + 16 MiB of the middle third's.
pub fn memory_check(samples: &[RssSample]) -> (Check, Vec<MemorySummary>) {
    let mut by_instance: BTreeMap<usize, Vec<f64>> = BTreeMap::new();
    for s in samples {
        by_instance.entry(s.instance).or_default().push(s.mib);
    }
    let mut summaries = Vec::new();
    let mut failures = Vec::new();
    for (instance, mib) in by_instance {
        let third = mib.len() / 3;
        let peak = |part: &[f64]| part.iter().copied().fold(0.0, f64::max);
        let judged = mib.len() >= MEMORY_MIN_SAMPLES;
        let (middle, last) = (peak(&mib[third..2 * third]), peak(&mib[2 * third..]));
        let flat = !judged || last <= middle * MEMORY_GROWTH_FACTOR + MEMORY_GROWTH_SLACK_MIB;
        if !flat {
            failures.push(format!("instance {instance}: {middle:.0} MiB after warm-up, {last:.0} MiB at the end"));
        }
        summaries.push(MemorySummary {
            instance,
            samples: mib.len(),
            start_mib: mib[0],
            after_warmup_mib: judged.then_some(middle),
            end_peak_mib: judged.then_some(last),
            peak_mib: peak(&mib),
        });
    }
    let judged = summaries.iter().filter(|s| s.after_warmup_mib.is_some()).count();
    let check = Check {
        name: "memory flat after warm-up",
        passed: failures.is_empty() && judged > 0,
        detail: if failures.is_empty() {
            format!("{judged} server instances judged (the last third's peak within 10% + 16 MiB of the middle third's)")
        } else {
            failures.join("; ")
        },
    };
    (check, summaries)
}

#[derive(Debug, Serialize)]
pub struct MemorySummary {
    pub instance: usize,
    pub samples: usize,
    pub start_mib: f64,
    /// Peak of the middle third.
    pub after_warmup_mib: Option<f64>,
    /// Peak of the last third.
    pub end_peak_mib: Option<f64>,
    pub peak_mib: f64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loadtest::chaos_client::Ending;
    use std::time::Duration;

    fn log(session_id: &str, instance: usize, sent: u64, acks: Vec<(usize, Instant)>, refused: Vec<u64>) -> SessionLog {
        SessionLog {
            session_id: session_id.into(),
            checkpoint_key: "k".into(),
            model_version: "v".into(),
            instance,
            started: Instant::now(),
            sent: (0..sent).collect(),
            acks,
            refused: refused.into_iter().map(|f| (f, "storage_full".to_string())).collect(),
            chaos_sent: 0,
            chaos_unanswered: 0,
            errors: BTreeMap::new(),
            coordinate_updates: 0,
            ending: Ending::Clean,
        }
    }

    #[test]
    fn acknowledged_frames_must_be_stored_refused_ones_must_not() {
        let t0 = Instant::now();
        let logs = vec![log("a", 1, 10, vec![(10, t0)], vec![3])];
        let good: HashMap<String, Vec<u64>> = [("a".to_string(), vec![0, 1, 2, 4, 5, 6, 7, 8, 9])].into();
        let tally = tally_storage(&logs, &good, None);
        assert!(storage_check(&tally).passed, "{tally:?}");
        assert_eq!((tally.frames_acknowledged, tally.frames_refused), (9, 1));

        let lost: HashMap<String, Vec<u64>> = [("a".to_string(), vec![0, 1, 2, 4, 5])].into();
        assert_eq!(tally_storage(&logs, &lost, None).required_missing, 4);
        let refused_stored: HashMap<String, Vec<u64>> = [("a".to_string(), (0..10).collect())].into();
        assert_eq!(tally_storage(&logs, &refused_stored, None).stored_not_sent, 1);
        let twice: HashMap<String, Vec<u64>> = [("a".to_string(), vec![0, 1, 2, 4, 5, 6, 7, 8, 9, 9])].into();
        assert!(!storage_check(&tally_storage(&logs, &twice, None)).passed);
        let none = HashMap::new();
        assert_eq!(tally_storage(&logs, &none, None).sessions_missing, 1);
    }

    #[test]
    fn after_a_kill_only_frames_acknowledged_a_flush_interval_before_it_are_owed() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let logs = vec![log("a", 0, 30, vec![(10, t0), (20, t0 + s(5)), (30, t0 + s(9))], vec![])];
        let kill = Some((t0 + s(10), 1.0)); // owed: acknowledged before t0 + 8.5 s
        let stored: HashMap<String, Vec<u64>> = [("a".to_string(), (0..20).collect())].into();
        let tally = tally_storage(&logs, &stored, kill);
        assert_eq!((tally.frames_required, tally.required_missing), (20, 0));
        assert_eq!(tally_storage(&logs, &stored, None).required_missing, 10, "without the kill all 30 are owed");
    }

    #[test]
    fn memory_that_keeps_growing_fails_and_a_plateau_passes() {
        let samples = |instance, series: &[f64]| -> Vec<RssSample> {
            series.iter().enumerate().map(|(i, &mib)| RssSample { t: i as f64, instance, mib }).collect()
        };
        let plateau = samples(0, &[50.0, 120.0, 180.0, 200.0, 201.0, 203.0, 202.0, 204.0, 203.0]);
        let (check, summary) = memory_check(&plateau);
        assert!(check.passed, "{}", check.detail);
        assert_eq!(summary[0].peak_mib, 204.0);
        let leak = samples(1, &[50.0, 100.0, 150.0, 200.0, 250.0, 300.0, 350.0, 400.0, 450.0]);
        assert!(!memory_check(&leak).0.passed);
        assert!(!memory_check(&samples(0, &[50.0, 60.0])).0.passed, "too short to judge is not a pass");
    }
}
