//! Writes sessions to HDF5 from one dedicated thread. Frames are buffered in memory and
//! written, then flushed to disk, every `flush_interval`; between flushes the files are
//! untouched, so a client that drops or a server killed with SIGKILL loses at most the
//! frames of the last interval and leaves files that open cleanly. Ending a session or
//! shutting down writes everything and closes the files.
//!
//! Memory is bounded: the bytes of frames accepted but not yet written (in the queue and
//! in each session's pending buffer) are counted against [`RecorderBounds`]. A socket
//! uses [`Recorder::try_record`], which refuses a frame beyond the bound at once, so the
//! caller can tell its client before the frame counts as accepted; offline producers use
//! [`Recorder::record`], which waits for room. A frame accepted and then not written
//! (an HDF5 error, a session never begun) is logged and counted in
//! [`RecorderStats::frames_unstored`], never dropped unsaid.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use hdf5::{File, Group};

use super::hdf5_util::{append, create_extendable, set_array, set_scalar, set_string};
use super::layout::{RecordedFrame, SessionInfo, FORMAT_VERSION};

/// Rows per chunk: frames for per-frame datasets, pixels for `pixels`.
const FRAME_CHUNK: usize = 256;
const PIXEL_CHUNK: usize = 16384;
/// Bookkeeping of one buffered frame beyond its pixels, state and image.
const FRAME_OVERHEAD_BYTES: u64 = 128;

/// How many bytes of accepted, not yet written frames the recorder may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecorderBounds {
    /// Over all sessions.
    pub max_buffered_bytes: u64,
    /// For one session.
    pub max_session_buffered_bytes: u64,
}

impl Default for RecorderBounds {
    fn default() -> Self {
        RecorderBounds { max_buffered_bytes: 256 << 20, max_session_buffered_bytes: 32 << 20 }
    }
}

/// Why [`Recorder::try_record`] refused a frame; nothing of it was kept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordRefused {
    #[error("the recorder holds {buffered} bytes not yet written; a frame of {frame} bytes would pass its bound of {limit}")]
    ServerFull { buffered: u64, frame: u64, limit: u64 },
    #[error("this session has {buffered} bytes not yet written; a frame of {frame} bytes would pass its bound of {limit}")]
    SessionFull { buffered: u64, frame: u64, limit: u64 },
    #[error("the recorder has stopped")]
    Stopped,
}

/// What the recorder holds and what it could not store.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RecorderStats {
    pub buffered_bytes: u64,
    pub buffered_frames: u64,
    /// Frames accepted and then not written (HDF5 error, session never begun).
    pub frames_unstored: u64,
}

/// Bytes of accepted frames not yet written, shared by the handle and the writer.
#[derive(Default)]
struct Buffered {
    stats: RecorderStats,
    per_session: HashMap<String, u64>,
}

impl Buffered {
    /// Why `frame_bytes` more for `session` would break `bounds`, if it would.
    fn refusal(&self, session: &str, frame_bytes: u64, bounds: &RecorderBounds) -> Option<RecordRefused> {
        let buffered = self.stats.buffered_bytes;
        if buffered + frame_bytes > bounds.max_buffered_bytes {
            return Some(RecordRefused::ServerFull { buffered, frame: frame_bytes, limit: bounds.max_buffered_bytes });
        }
        let buffered = self.per_session.get(session).copied().unwrap_or(0);
        if buffered + frame_bytes > bounds.max_session_buffered_bytes {
            let limit = bounds.max_session_buffered_bytes;
            return Some(RecordRefused::SessionFull { buffered, frame: frame_bytes, limit });
        }
        None
    }

    fn add(&mut self, session: &str, frame_bytes: u64) {
        self.stats.buffered_bytes += frame_bytes;
        self.stats.buffered_frames += 1;
        *self.per_session.entry(session.to_string()).or_default() += frame_bytes;
    }

    fn release(&mut self, session: &str, frames: u64, bytes: u64) {
        self.stats.buffered_bytes -= bytes;
        self.stats.buffered_frames -= frames;
        if let Some(held) = self.per_session.get_mut(session) {
            *held -= bytes;
            if *held == 0 {
                self.per_session.remove(session);
            }
        }
    }
}

/// The accounting and the signal that room was made.
type Budget = Arc<(Mutex<Buffered>, Condvar)>;

/// What one buffered frame costs in memory.
fn frame_bytes(frame: &RecordedFrame) -> u64 {
    let pixels = frame.pixels.len() * std::mem::size_of::<[f32; 3]>();
    let state = frame.state.len() * std::mem::size_of::<f32>();
    let image = frame.ground_truth.as_ref().map_or(0, |g| g.as_raw().len());
    (pixels + state + image) as u64 + FRAME_OVERHEAD_BYTES
}

enum Command {
    Begin(SessionInfo),
    Record(String, RecordedFrame),
    End(String),
    /// Writes everything buffered now and answers when it is on disk.
    Flush(mpsc::Sender<()>),
}

/// The handle; cheap to share behind an `Arc`. Dropping it drains and closes.
pub struct Recorder {
    commands: mpsc::Sender<Command>,
    worker: Option<JoinHandle<()>>,
    bounds: RecorderBounds,
    budget: Budget,
}

impl Recorder {
    /// Starts the writer thread with the default bounds; files go to
    /// `data_root/{checkpoint_key}.h5`.
    pub fn start(data_root: &Path, flush_interval: Duration) -> std::io::Result<Recorder> {
        Recorder::start_bounded(data_root, flush_interval, RecorderBounds::default())
    }

    /// Starts the writer thread holding at most `bounds` of frames not yet written.
    pub fn start_bounded(data_root: &Path, flush_interval: Duration, bounds: RecorderBounds) -> std::io::Result<Recorder> {
        std::fs::create_dir_all(data_root)?;
        let (commands, inbox) = mpsc::channel();
        let root = data_root.to_path_buf();
        let budget = Budget::default();
        let writer = Writer::new(root, budget.clone());
        let worker = std::thread::Builder::new()
            .name("sgaps-recorder".into())
            .spawn(move || writer.run(inbox, flush_interval))?;
        Ok(Recorder { commands, worker: Some(worker), bounds, budget })
    }

    pub fn begin_session(&self, info: SessionInfo) {
        let _ = self.commands.send(Command::Begin(info));
    }

    /// Accepts `frame` if it fits the bounds now, without waiting: for a socket, which
    /// must never block and tells its client when a frame was refused.
    pub fn try_record(&self, session_id: &str, frame: RecordedFrame) -> Result<(), RecordRefused> {
        let bytes = frame_bytes(&frame);
        let mut buffered = self.budget.0.lock().expect("recorder budget lock");
        if let Some(refused) = buffered.refusal(session_id, bytes, &self.bounds) {
            return Err(refused);
        }
        buffered.add(session_id, bytes);
        drop(buffered);
        self.send_frame(session_id, frame, bytes)
    }

    /// Accepts `frame`, waiting until the writer has made room for it: for producers
    /// that can wait (tools, tests). A frame larger than a bound on its own waits for
    /// an empty buffer rather than forever.
    pub fn record(&self, session_id: &str, frame: RecordedFrame) {
        let bytes = frame_bytes(&frame);
        let (lock, room) = &*self.budget;
        let mut buffered = lock.lock().expect("recorder budget lock");
        while buffered.stats.buffered_bytes > 0 && buffered.refusal(session_id, bytes, &self.bounds).is_some() {
            buffered = room.wait(buffered).expect("recorder budget lock");
        }
        buffered.add(session_id, bytes);
        drop(buffered);
        if let Err(e) = self.send_frame(session_id, frame, bytes) {
            tracing::error!(session_id, error = %e, "frame not recorded");
        }
    }

    fn send_frame(&self, session_id: &str, frame: RecordedFrame, bytes: u64) -> Result<(), RecordRefused> {
        if self.commands.send(Command::Record(session_id.to_string(), frame)).is_err() {
            self.budget.0.lock().expect("recorder budget lock").release(session_id, 1, bytes);
            return Err(RecordRefused::Stopped);
        }
        Ok(())
    }

    /// What is buffered now and what could not be stored so far.
    pub fn stats(&self) -> RecorderStats {
        self.budget.0.lock().expect("recorder budget lock").stats
    }

    /// Writes the session's last frames; its file closes when no session uses it.
    pub fn end_session(&self, session_id: &str) {
        let _ = self.commands.send(Command::End(session_id.to_string()));
    }

    /// Blocks until everything recorded so far is on disk.
    pub fn flush(&self) {
        let (done, wait) = mpsc::channel();
        if self.commands.send(Command::Flush(done)).is_ok() {
            let _ = wait.recv();
        }
    }

    /// Writes everything, closes every file and stops the thread.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        if let Some(worker) = self.worker.take() {
            // Closing the channel ends the writer's loop after a final flush.
            let (closed, _) = mpsc::channel();
            drop(std::mem::replace(&mut self.commands, closed));
            let _ = worker.join();
        }
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.stop();
    }
}

struct SessionWriter {
    file_key: String,
    info: SessionInfo,
    group: Group,
    pending: Vec<RecordedFrame>,
    frames_written: u64,
    pixels_written: u64,
}

struct Writer {
    root: PathBuf,
    files: HashMap<String, (File, usize)>,
    sessions: HashMap<String, SessionWriter>,
    budget: Budget,
}

impl Writer {
    fn new(root: PathBuf, budget: Budget) -> Self {
        Writer { root, files: HashMap::new(), sessions: HashMap::new(), budget }
    }

    /// Frames no longer held in memory: written, or given up (then counted as unstored).
    fn release(&self, session_id: &str, frames: &[RecordedFrame], written: bool) {
        let bytes = frames.iter().map(frame_bytes).sum();
        let (lock, room) = &*self.budget;
        let mut buffered = lock.lock().expect("recorder budget lock");
        buffered.release(session_id, frames.len() as u64, bytes);
        if !written {
            buffered.stats.frames_unstored += frames.len() as u64;
        }
        room.notify_all();
    }

    fn run(mut self, inbox: mpsc::Receiver<Command>, flush_interval: Duration) {
        let mut next_flush = Instant::now() + flush_interval;
        loop {
            let timeout = next_flush.saturating_duration_since(Instant::now());
            match inbox.recv_timeout(timeout) {
                Ok(Command::Begin(info)) => self.begin(info),
                Ok(Command::Record(id, frame)) => match self.sessions.get_mut(&id) {
                    Some(session) => session.pending.push(frame),
                    None => {
                        tracing::warn!(session_id = id, frame_id = frame.frame_id, "frame for a session that was never begun; not stored");
                        self.release(&id, &[frame], false);
                    }
                },
                Ok(Command::End(id)) => self.end(&id),
                Ok(Command::Flush(done)) => {
                    self.flush_all();
                    let _ = done.send(());
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            // Checked after every command too: a queue that never runs dry must not
            // starve the flush (and with it the room bounded producers wait for).
            if Instant::now() >= next_flush {
                self.flush_all();
                next_flush = Instant::now() + flush_interval;
            }
        }
        let ids: Vec<String> = self.sessions.keys().cloned().collect();
        for id in ids {
            self.end(&id);
        }
    }

    fn begin(&mut self, info: SessionInfo) {
        let key = info.checkpoint_key.clone();
        let id = info.session_id.clone();
        match self.open_group(&info) {
            Ok(group) => {
                self.files.get_mut(&key).expect("opened with the group").1 += 1;
                self.sessions.insert(
                    id,
                    SessionWriter { file_key: key, info, group, pending: Vec::new(), frames_written: 0, pixels_written: 0 },
                );
            }
            Err(e) => tracing::error!(session_id = id, error = %e, "cannot create the session's HDF5 group; it will not be stored"),
        }
    }

    fn open_group(&mut self, info: &SessionInfo) -> hdf5::Result<Group> {
        let key = &info.checkpoint_key;
        if !self.files.contains_key(key) {
            let path = self.root.join(format!("{key}.h5"));
            let file = if path.exists() { File::append(&path)? } else { create_file(&path)? };
            self.files.insert(key.clone(), (file, 0));
        }
        let file = &self.files[key].0;
        let sessions = if file.link_exists("sessions") { file.group("sessions")? } else { file.create_group("sessions")? };
        let group = sessions.create_group(&info.session_id)?;
        set_scalar(&group, "format_version", FORMAT_VERSION)?;
        set_scalar(&group, "created_at", info.created_at)?;
        set_string(&group, "checkpoint_key", &info.checkpoint_key)?;
        set_string(&group, "model_version", &info.model_version)?;
        set_array(&group, "client_resolution", &info.client_resolution)?;
        set_array(&group, "resolution", &info.resolution)?;
        set_scalar(&group, "sample_count", info.sample_count)?;
        set_scalar(&group, "max_state_dim", info.max_state_dim)?;
        set_scalar(&group, "sentinel_value", info.sentinel_value)?;
        set_scalar(&group, "frame_count", 0u64)?;
        let s = info.max_state_dim as usize;
        create_extendable::<u64>(&group, "frame_id", &[], FRAME_CHUNK)?;
        create_extendable::<f64>(&group, "timestamp", &[], FRAME_CHUNK)?;
        create_extendable::<u64>(&group, "pixel_start", &[], FRAME_CHUNK)?;
        create_extendable::<u32>(&group, "num_pixels", &[], FRAME_CHUNK)?;
        create_extendable::<f32>(&group, "pixels", &[3], PIXEL_CHUNK)?;
        create_extendable::<f32>(&group, "state_vector", &[s], FRAME_CHUNK)?;
        file.flush()?;
        Ok(group)
    }

    fn end(&mut self, id: &str) {
        self.flush_session(id);
        if let Some(session) = self.sessions.remove(id) {
            if let Some((file, users)) = self.files.get_mut(&session.file_key) {
                *users -= 1;
                let _ = file.flush();
                if *users == 0 {
                    self.files.remove(&session.file_key); // dropping the last handle closes it
                }
            }
        }
    }

    fn flush_all(&mut self) {
        let ids: Vec<String> = self.sessions.iter().filter(|(_, s)| !s.pending.is_empty()).map(|(k, _)| k.clone()).collect();
        for id in &ids {
            self.flush_session(id);
        }
        if !ids.is_empty() {
            for (key, (file, _)) in &self.files {
                if let Err(e) = file.flush() {
                    tracing::error!(file = key, error = %e, "HDF5 flush failed");
                }
            }
        }
    }

    fn flush_session(&mut self, id: &str) {
        let Some(session) = self.sessions.get_mut(id) else { return };
        if session.pending.is_empty() {
            return;
        }
        let frames = std::mem::take(&mut session.pending);
        let written = match write_frames(session, &frames) {
            Ok(()) => true,
            Err(e) => {
                tracing::error!(session_id = id, frames = frames.len(), error = %e, "writing frames to HDF5 failed; they are not stored");
                false
            }
        };
        self.release(id, &frames, written);
    }
}

/// A new file whose freed space is never reused. HDF5 by default hands space freed in
/// this process (a compressed chunk rewritten larger moves, and its old place is freed)
/// to the next allocation at once, while the last flushed metadata on disk may still
/// point there: a SIGKILL then leaves already flushed frames overwritten. Found by the
/// soak test (`sgaps loadtest --soak`: a session's `timestamp` chunk unreadable after
/// the kill). With aggregators only, new data always goes to fresh space, so what the
/// last flush described stays intact; the price is some unused space in the file.
fn create_file(path: &Path) -> hdf5::Result<File> {
    use hdf5::plist::file_create::FileSpaceStrategy;
    // `PageAggregation` is HDF5's H5F_FSPACE_STRATEGY_AGGR: aggregators, no free-space manager.
    File::with_options().with_fcpl(|p| p.file_space_strategy(FileSpaceStrategy::PageAggregation)).create(path)
}

fn write_frames(session: &mut SessionWriter, frames: &[RecordedFrame]) -> hdf5::Result<()> {
    let g = &session.group;
    let s = session.info.max_state_dim as usize;
    let mut starts = Vec::with_capacity(frames.len());
    let mut start = session.pixels_written;
    for f in frames {
        starts.push(start);
        start += f.pixels.len() as u64;
    }
    append(&g.dataset("frame_id")?, &frames.iter().map(|f| f.frame_id).collect::<Vec<_>>())?;
    append(&g.dataset("timestamp")?, &frames.iter().map(|f| f.timestamp).collect::<Vec<_>>())?;
    append(&g.dataset("pixel_start")?, &starts)?;
    append(&g.dataset("num_pixels")?, &frames.iter().map(|f| f.pixels.len() as u32).collect::<Vec<_>>())?;
    append(&g.dataset("pixels")?, &frames.iter().flat_map(|f| f.pixels.iter().flatten().copied()).collect::<Vec<_>>())?;
    let mut states = vec![session.info.sentinel_value; frames.len() * s];
    for (row, f) in states.chunks_mut(s.max(1)).zip(frames) {
        let n = f.state.len().min(s);
        row[..n].copy_from_slice(&f.state[..n]);
    }
    if s > 0 {
        append(&g.dataset("state_vector")?, &states)?;
    }
    write_ground_truth(g, frames)?;
    session.frames_written += frames.len() as u64;
    session.pixels_written = start;
    set_scalar(g, "frame_count", session.frames_written)
}

/// Ground-truth frames share one `[G, H, W]` dataset sized by the first one; later
/// frames of another size are resized to it.
fn write_ground_truth(g: &Group, frames: &[RecordedFrame]) -> hdf5::Result<()> {
    let truths: Vec<(u64, &image::GrayImage)> =
        frames.iter().filter_map(|f| f.ground_truth.as_ref().map(|t| (f.frame_id, t))).collect();
    let Some((_, first)) = truths.first() else { return Ok(()) };
    if !g.link_exists("ground_truth") {
        let (w, h) = first.dimensions();
        create_extendable::<u8>(g, "ground_truth", &[h as usize, w as usize], 8)?;
        create_extendable::<u64>(g, "ground_truth_frame_id", &[], FRAME_CHUNK)?;
    }
    let images = g.dataset("ground_truth")?;
    let shape = images.shape();
    let (h, w) = (shape[1] as u32, shape[2] as u32);
    let mut pixels = Vec::with_capacity(truths.len() * (h * w) as usize);
    for (_, truth) in &truths {
        if truth.dimensions() == (w, h) {
            pixels.extend_from_slice(truth.as_raw());
        } else {
            pixels.extend_from_slice(crate::metrics::resized_to(truth, w, h).as_raw());
        }
    }
    append(&images, &pixels)?;
    append(&g.dataset("ground_truth_frame_id")?, &truths.iter().map(|(id, _)| *id).collect::<Vec<_>>())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(id: &str) -> SessionInfo {
        SessionInfo {
            session_id: id.into(),
            created_at: 0.0,
            checkpoint_key: "bounds".into(),
            model_version: "test".into(),
            client_resolution: [8, 8],
            resolution: [8, 8],
            sample_count: 10,
            max_state_dim: 2,
            sentinel_value: -999.0,
        }
    }

    /// A frame of 992 buffered bytes: 72 pixels, no state, no image.
    fn frame(frame_id: u64) -> RecordedFrame {
        let frame = RecordedFrame { frame_id, timestamp: 0.0, pixels: vec![[0.5, 0.5, 9.0]; 72], state: vec![], ground_truth: None };
        assert_eq!(frame_bytes(&frame), 72 * 12 + FRAME_OVERHEAD_BYTES);
        frame
    }

    #[test]
    fn frames_beyond_a_bound_are_refused_until_the_writer_makes_room() {
        let dir = tempfile::tempdir().unwrap();
        let per_frame = frame_bytes(&frame(0));
        let bounds = RecorderBounds { max_buffered_bytes: 5 * per_frame, max_session_buffered_bytes: 3 * per_frame };
        // A flush interval far beyond the test: only explicit flushes write.
        let recorder = Recorder::start_bounded(dir.path(), Duration::from_secs(3600), bounds).unwrap();
        recorder.begin_session(info("a"));
        recorder.begin_session(info("b"));
        for id in 0..3 {
            recorder.try_record("a", frame(id)).unwrap();
        }
        let refused = recorder.try_record("a", frame(3)).unwrap_err();
        assert!(matches!(refused, RecordRefused::SessionFull { .. }), "{refused}");
        recorder.try_record("b", frame(0)).unwrap();
        recorder.try_record("b", frame(1)).unwrap();
        // Session b has room, the server does not.
        assert!(matches!(recorder.try_record("b", frame(2)).unwrap_err(), RecordRefused::ServerFull { .. }));
        assert_eq!(recorder.stats(), RecorderStats { buffered_bytes: 5 * per_frame, buffered_frames: 5, frames_unstored: 0 });

        recorder.flush();
        assert_eq!(recorder.stats(), RecorderStats::default(), "written frames free their bytes");
        recorder.try_record("a", frame(3)).unwrap();
        recorder.shutdown();

        let sessions = crate::data::read_file(&dir.path().join("bounds.h5")).unwrap();
        let stored = |id: &str| -> Vec<u64> {
            sessions.iter().find(|s| s.info.session_id == id).unwrap().frames.iter().map(|f| f.frame_id).collect()
        };
        assert_eq!(stored("a"), vec![0, 1, 2, 3], "every accepted frame is stored, no refused one");
        assert_eq!(stored("b"), vec![0, 1]);
    }

    #[test]
    fn files_never_reuse_freed_space() {
        use hdf5::plist::file_create::FileSpaceStrategy;
        let dir = tempfile::tempdir().unwrap();
        let recorder = Recorder::start(dir.path(), Duration::from_secs(3600)).unwrap();
        recorder.begin_session(info("a"));
        recorder.shutdown();
        let file = File::open(dir.path().join("bounds.h5")).unwrap();
        assert_eq!(file.create_plist().unwrap().file_space_strategy(), FileSpaceStrategy::PageAggregation);
    }

    #[test]
    fn frames_of_a_session_never_begun_are_counted_unstored() {
        let dir = tempfile::tempdir().unwrap();
        let recorder = Recorder::start(dir.path(), Duration::from_secs(3600)).unwrap();
        recorder.try_record("nobody", frame(0)).unwrap();
        recorder.flush();
        assert_eq!(recorder.stats(), RecorderStats { buffered_bytes: 0, buffered_frames: 0, frames_unstored: 1 });
    }

    #[test]
    fn record_waits_for_room_instead_of_refusing() {
        let dir = tempfile::tempdir().unwrap();
        let per_frame = frame_bytes(&frame(0));
        let bounds = RecorderBounds { max_buffered_bytes: 2 * per_frame, max_session_buffered_bytes: 2 * per_frame };
        let recorder = Recorder::start_bounded(dir.path(), Duration::from_millis(20), bounds).unwrap();
        recorder.begin_session(info("a"));
        for id in 0..50 {
            recorder.record("a", frame(id));
            assert!(recorder.stats().buffered_bytes <= 2 * per_frame);
        }
        recorder.shutdown();
        let sessions = crate::data::read_file(&dir.path().join("bounds.h5")).unwrap();
        assert_eq!(sessions[0].frames.len(), 50);
    }
}
