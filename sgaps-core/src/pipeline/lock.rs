//! Locks that outlive a panic. The inference worker contains panics (a failed forward
//! pass fails its batch, not the engine), so a mutex poisoned by one stays in use: what
//! it guards is made consistent again by whoever recovers (a session's history is reset).

use std::sync::{Mutex, MutexGuard, PoisonError};

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
