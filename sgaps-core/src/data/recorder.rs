//! Writes sessions to HDF5 from one dedicated thread. Frames are buffered in memory and
//! written, then flushed to disk, every `flush_interval`; between flushes the files are
//! untouched, so a client that drops or a server killed with SIGKILL loses at most the
//! frames of the last interval and leaves files that open cleanly. Ending a session or
//! shutting down writes everything and closes the files.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use hdf5::{File, Group};

use super::hdf5_util::{append, create_extendable, set_array, set_scalar, set_string};
use super::layout::{RecordedFrame, SessionInfo, FORMAT_VERSION};

/// Rows per chunk: frames for per-frame datasets, pixels for `pixels`.
const FRAME_CHUNK: usize = 256;
const PIXEL_CHUNK: usize = 16384;

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
}

impl Recorder {
    /// Starts the writer thread; files go to `data_root/{checkpoint_key}.h5`.
    pub fn start(data_root: &Path, flush_interval: Duration) -> std::io::Result<Recorder> {
        std::fs::create_dir_all(data_root)?;
        let (commands, inbox) = mpsc::channel();
        let root = data_root.to_path_buf();
        let worker = std::thread::Builder::new()
            .name("sgaps-recorder".into())
            .spawn(move || Writer::new(root).run(inbox, flush_interval))?;
        Ok(Recorder { commands, worker: Some(worker) })
    }

    pub fn begin_session(&self, info: SessionInfo) {
        let _ = self.commands.send(Command::Begin(info));
    }

    pub fn record(&self, session_id: &str, frame: RecordedFrame) {
        let _ = self.commands.send(Command::Record(session_id.to_string(), frame));
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
}

impl Writer {
    fn new(root: PathBuf) -> Self {
        Writer { root, files: HashMap::new(), sessions: HashMap::new() }
    }

    fn run(mut self, inbox: mpsc::Receiver<Command>, flush_interval: Duration) {
        let mut next_flush = Instant::now() + flush_interval;
        loop {
            let timeout = next_flush.saturating_duration_since(Instant::now());
            match inbox.recv_timeout(timeout) {
                Ok(Command::Begin(info)) => self.begin(info),
                Ok(Command::Record(id, frame)) => match self.sessions.get_mut(&id) {
                    Some(session) => session.pending.push(frame),
                    None => tracing::warn!(session_id = id, "frame for a session that was never begun; dropped"),
                },
                Ok(Command::End(id)) => self.end(&id),
                Ok(Command::Flush(done)) => {
                    self.flush_all();
                    let _ = done.send(());
                }
                Err(RecvTimeoutError::Timeout) => {
                    self.flush_all();
                    next_flush = Instant::now() + flush_interval;
                }
                Err(RecvTimeoutError::Disconnected) => break,
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
            let file = if path.exists() { File::append(&path)? } else { File::create(&path)? };
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
        if let Err(e) = write_frames(session, &frames) {
            tracing::error!(session_id = id, frames = frames.len(), error = %e, "writing frames to HDF5 failed");
        }
    }
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
