//! Recorded sessions in HDF5: the layout, a recorder that writes it from a dedicated
//! thread with periodic flushes, and a reader for it and for the reference trainer's
//! older one-group-per-frame layout (PROTOCOL.md); and the cleaning that picks the
//! frames training uses.

mod cleaning;
mod hdf5_util;
mod kmeans;
mod layout;
mod reader;
mod recorder;

pub use cleaning::{clean, Cleaned, CleaningReport, ClusterSizes, FrameRef, SessionCounts, Stationarity};
pub use layout::{RecordedFrame, RecordedSession, SessionInfo};
pub use reader::{read_file, ReadError};
pub use recorder::{RecordRefused, Recorder, RecorderBounds, RecorderStats};
