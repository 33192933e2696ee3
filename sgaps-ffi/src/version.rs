//! The library's version and the ABI version that loaders check.

use std::ffi::c_char;

/// The ABI this header describes. It changes whenever a function, struct or status
/// code changes incompatibly; a binding built for another number must not load the
/// library (compare with sgaps_abi_version()).
pub const SGAPS_ABI_VERSION: u32 = 1;

const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "\0");

/// The library's version, e.g. "0.1.0".
///
/// Ownership: a static string; never free it. Thread safety: any thread.
#[no_mangle]
pub extern "C" fn sgaps_version() -> *const c_char {
    crate::panic::value_boundary(c"".as_ptr(), || VERSION.as_ptr().cast())
}

/// The ABI version of the loaded library. Equals SGAPS_ABI_VERSION of the header it
/// was built with; a caller compiled against another header must not use it.
///
/// Thread safety: any thread.
#[no_mangle]
pub extern "C" fn sgaps_abi_version() -> u32 {
    crate::panic::value_boundary(SGAPS_ABI_VERSION, || SGAPS_ABI_VERSION)
}
