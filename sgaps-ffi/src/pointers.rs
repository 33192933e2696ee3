//! Checked access to what C hands us: every pointer is tested for NULL and alignment
//! and every length for overflow here, so the exported functions never dereference a
//! raw pointer themselves. Each helper names the argument in its error.

use std::ffi::{c_char, CStr};

use crate::error::FfiError;

/// `ptr` as a reference.
///
/// # Safety
/// A non-NULL `ptr` must point to a valid `T` that outlives `'a`.
pub(crate) unsafe fn reference<'a, T>(ptr: *const T, name: &str) -> Result<&'a T, FfiError> {
    check_pointer(ptr, name)?;
    // SAFETY: non-NULL and aligned, and the caller vouches for the rest.
    Ok(unsafe { &*ptr })
}

/// Where the call writes one output value. Only ever written, never read or
/// referenced, so the caller's memory may hold anything (even uninitialised bytes).
pub(crate) struct Out<'a, T> {
    ptr: *mut T,
    _memory: std::marker::PhantomData<&'a mut T>,
}

impl<T> Out<'_, T> {
    pub fn write(&mut self, value: T) {
        // SAFETY: checked non-NULL and aligned in `output`; the caller vouches that it
        // is writable. `write` drops nothing; our output types are plain data.
        unsafe { self.ptr.write(value) }
    }
}

/// `ptr` as the destination of an output value.
///
/// # Safety
/// A non-NULL `ptr` must be writable for a `T` during `'a`.
pub(crate) unsafe fn output<'a, T>(ptr: *mut T, name: &str) -> Result<Out<'a, T>, FfiError> {
    check_pointer(ptr, name)?;
    Ok(Out { ptr, _memory: std::marker::PhantomData })
}

/// Checks that `len` elements at `ptr` could be an array (NULL only with `len` 0),
/// without reading them.
pub(crate) fn check_array<T>(ptr: *const T, len: usize, name: &str) -> Result<(), FfiError> {
    if ptr.is_null() {
        return if len == 0 { Ok(()) } else { Err(FfiError::null(name)) };
    }
    check_pointer(ptr, name)?;
    check_length::<T>(len, name)
}

/// `len` elements at `ptr`; NULL is allowed only with `len` 0 (an empty slice).
///
/// # Safety
/// A non-NULL `ptr` must point to `len` initialised `T`s that outlive `'a`.
pub(crate) unsafe fn slice<'a, T>(ptr: *const T, len: usize, name: &str) -> Result<&'a [T], FfiError> {
    if ptr.is_null() {
        return if len == 0 { Ok(&[]) } else { Err(FfiError::null(name)) };
    }
    check_pointer(ptr, name)?;
    check_length::<T>(len, name)?;
    // SAFETY: checked above; the caller vouches for the memory.
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// A caller buffer of `capacity` elements to write into; `None` when it is NULL with
/// capacity 0, which means "skip this output".
///
/// # Safety
/// A non-NULL `ptr` must point to `capacity` writable `T`s nothing else uses during
/// the call.
pub(crate) unsafe fn buffer<'a, T>(ptr: *mut T, capacity: usize, name: &str) -> Result<Option<&'a mut [T]>, FfiError> {
    if ptr.is_null() {
        return if capacity == 0 { Ok(None) } else { Err(FfiError::null(name)) };
    }
    check_pointer(ptr, name)?;
    check_length::<T>(capacity, name)?;
    // SAFETY: checked above; the caller vouches for the memory.
    Ok(Some(unsafe { std::slice::from_raw_parts_mut(ptr, capacity) }))
}

/// A NUL-terminated UTF-8 string.
///
/// # Safety
/// A non-NULL `ptr` must point to a NUL-terminated string that outlives `'a`.
pub(crate) unsafe fn utf8<'a>(ptr: *const c_char, name: &str) -> Result<&'a str, FfiError> {
    check_pointer(ptr, name)?;
    // SAFETY: non-NULL; the caller vouches for the terminating NUL.
    let text = unsafe { CStr::from_ptr(ptr) };
    text.to_str().map_err(|e| FfiError::invalid(name, format!("is not UTF-8 ({e})")))
}

/// Copies `values` into the front of `buffer`, or fails naming the buffer.
pub(crate) fn copy_into<T: Copy>(values: &[T], buffer: &mut [T], name: &str) -> Result<(), FfiError> {
    let capacity = buffer.len();
    let target = buffer.get_mut(..values.len()).ok_or_else(|| FfiError::too_small(name, values.len(), capacity))?;
    target.copy_from_slice(values);
    Ok(())
}

/// Writes `text` into a fixed C char array, NUL-terminated, cut at a character
/// boundary when it does not fit.
pub(crate) fn write_fixed_string<const N: usize>(text: &str, target: &mut [c_char; N]) {
    let mut end = text.len().min(N - 1);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    for (slot, &byte) in target.iter_mut().zip(&text.as_bytes()[..end]) {
        *slot = byte as c_char;
    }
    target[end..].fill(0);
}

fn check_pointer<T>(ptr: *const T, name: &str) -> Result<(), FfiError> {
    if ptr.is_null() {
        return Err(FfiError::null(name));
    }
    if !ptr.is_aligned() {
        return Err(FfiError::invalid(name, format!("is not aligned to {} bytes", std::mem::align_of::<T>())));
    }
    Ok(())
}

/// Rust slices may not span more than isize::MAX bytes; a larger length is a caller bug.
fn check_length<T>(len: usize, name: &str) -> Result<(), FfiError> {
    match len.checked_mul(std::mem::size_of::<T>()) {
        Some(bytes) if bytes <= isize::MAX as usize => Ok(()),
        _ => Err(FfiError::invalid(name, format!("has an impossible length of {len} elements"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::SgapsStatus;

    #[test]
    fn null_is_an_empty_slice_only_with_length_zero() {
        assert!(unsafe { slice::<f32>(std::ptr::null(), 0, "pixels") }.unwrap().is_empty());
        let error = unsafe { slice::<f32>(std::ptr::null(), 3, "pixels") }.unwrap_err();
        assert_eq!((error.status, error.message.as_str()), (SgapsStatus::NullArgument, "`pixels` is NULL"));
        assert!(unsafe { buffer::<u8>(std::ptr::null_mut(), 0, "out") }.unwrap().is_none());
    }

    #[test]
    fn misaligned_and_oversized_arguments_are_refused() {
        let floats = [0f32; 4];
        let misaligned = unsafe { floats.as_ptr().cast::<u8>().add(1) }.cast::<f32>();
        let error = unsafe { slice(misaligned, 1, "state") }.unwrap_err();
        assert_eq!(error.status, SgapsStatus::InvalidArgument);
        let error = unsafe { slice(floats.as_ptr(), usize::MAX / 2, "state") }.unwrap_err();
        assert!(error.message.contains("impossible length"), "{}", error.message);
    }

    #[test]
    fn strings_must_be_utf8_and_fixed_strings_are_cut_cleanly() {
        let bad = [0xffu8 as c_char, 0];
        let error = unsafe { utf8(bad.as_ptr(), "checkpoint_key") }.unwrap_err();
        assert!(error.message.starts_with("`checkpoint_key` is not UTF-8"), "{}", error.message);
        let mut fixed = [1 as c_char; 4];
        write_fixed_string("aé", &mut fixed); // 'é' is two bytes: "aé" plus NUL fits exactly
        assert_eq!(fixed.map(|c| c as u8), [b'a', 0xc3, 0xa9, 0]);
        write_fixed_string("abé", &mut fixed); // 'é' would not fit whole: cut before it
        assert_eq!(fixed.map(|c| c as u8), [b'a', b'b', 0, 0]);
    }

    #[test]
    fn copies_fail_naming_the_short_buffer() {
        let mut small = [0u8; 2];
        let error = copy_into(&[1, 2, 3], &mut small, "reconstruction").unwrap_err();
        assert_eq!(error.message, "`reconstruction` holds 2 elements but 3 are needed");
        copy_into(&[7, 8], &mut small, "reconstruction").unwrap();
        assert_eq!(small, [7, 8]);
    }
}
