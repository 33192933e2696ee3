//! Recorded sessions in HDF5: the layout, a recorder that writes it from a dedicated
//! thread with periodic flushes, and a reader for it and for the reference trainer's
//! older one-group-per-frame layout (PROTOCOL.md).

mod hdf5_util;
mod layout;
mod reader;
mod recorder;

pub use layout::{RecordedFrame, RecordedSession, SessionInfo};
pub use reader::{read_file, ReadError};
pub use recorder::Recorder;
