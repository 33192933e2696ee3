//! The C ABI of SGAPS: `libsgaps.so` / `libsgaps.a`, described by `include/sgaps.h`
//! (generated from this crate by cbindgen; see cbindgen.toml).
//!
//! Only the extern "C" surface lives here, one file per concept; the pipeline is
//! sgaps-core's [`Engine`](sgaps_core::pipeline::Engine). Every exported function runs
//! its body inside [`panic`]'s boundary and touches caller memory only through
//! [`pointers`]' checked helpers.

// In the order the header lists them.
pub mod version;
pub mod error;
pub mod engine;
pub mod session;
pub mod frame;
pub mod submit_async;
pub mod batch;
pub mod checkpoints;
pub mod png;
pub mod baseline;
mod mailbox;
mod panic;
mod pointers;

pub use baseline::*;
pub use batch::*;
pub use checkpoints::*;
pub use engine::*;
pub use error::*;
pub use frame::*;
pub use png::*;
pub use session::*;
pub use submit_async::*;
pub use version::*;
