//! The panic boundary every exported function runs its body in. Unwinding out of an
//! `extern "C"` function aborts the process (and would take a Unity editor with it), so
//! a panic becomes `SGAPS_STATUS_PANIC` (or the function's default value) instead.

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::error::{clear_last_error, set_last_error, FfiError, SgapsStatus};

/// Runs the body of the function `name` that returns a status: clears the last error,
/// turns an `Err` into its status and message, and a panic into `SGAPS_STATUS_PANIC`.
pub(crate) fn status_boundary(name: &str, body: impl FnOnce() -> Result<(), FfiError>) -> SgapsStatus {
    clear_last_error();
    // AssertUnwindSafe: after a panic the caller only gets a status. State the panic
    // left half-changed sits behind the engine's mutexes, so at worst later calls on
    // that engine report a panic too; nothing is read torn.
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => SgapsStatus::Ok,
        Ok(Err(error)) => {
            set_last_error(&format!("{name}: {}", error.message));
            error.status
        }
        Err(panic) => {
            set_last_error(&format!("{name} panicked (a bug in SGAPS): {}", panic_message(&*panic)));
            SgapsStatus::Panic
        }
    }
}

/// Runs the body of a function that returns a value rather than a status; a panic
/// returns `default`.
pub(crate) fn value_boundary<T>(default: T, body: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or(default)
}

fn panic_message(panic: &(dyn Any + Send)) -> String {
    if let Some(message) = panic.downcast_ref::<&str>() {
        message.to_string()
    } else if let Some(message) = panic.downcast_ref::<String>() {
        message.clone()
    } else {
        "no message".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::sgaps_last_error;
    use std::ffi::CStr;

    fn last_error() -> String {
        unsafe { CStr::from_ptr(sgaps_last_error()) }.to_str().unwrap().to_string()
    }

    #[test]
    fn a_panic_becomes_a_status_and_a_message() {
        let status = status_boundary("sgaps_test", || panic!("index {} out of range", 7));
        assert_eq!(status, SgapsStatus::Panic);
        assert_eq!(last_error(), "sgaps_test panicked (a bug in SGAPS): index 7 out of range");
        assert_eq!(value_boundary(-1, || -> i32 { panic!("boom") }), -1);
    }

    #[test]
    fn errors_keep_their_status_and_success_clears_the_message() {
        let status = status_boundary("sgaps_test", || Err(FfiError::null("engine")));
        assert_eq!(status, SgapsStatus::NullArgument);
        assert_eq!(last_error(), "sgaps_test: `engine` is NULL");
        assert_eq!(status_boundary("sgaps_test", || Ok(())), SgapsStatus::Ok);
        assert_eq!(last_error(), "");
    }
}
