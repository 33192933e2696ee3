//! The reconstruction pipeline (seed section 3) behind one [`Engine`]: sessions,
//! importance from attention entropy, adaptive sampling, mask scheduling, checkpoints.

mod batch;
pub mod checkpoints;
mod engine;
mod frame;
pub mod importance;
mod lock;
pub mod mask_scheduler;
pub mod sampler;
mod session;
mod worker;

pub use engine::{Engine, EngineError, SessionStart};
pub use frame::{Frame, FrameError, Pixel};
pub use session::{FrameResult, MaskUpdate, SessionId, SessionParams, SessionStats};
pub use worker::{BatchObserver, Completion, Submitted};
