//! The panic boundary and the pointer checks every export goes through.
//!
//! All `unsafe` of the crate that turns C pointers into Rust references is
//! here, in a few small functions, so the exports themselves only call them.

use std::panic::{catch_unwind, AssertUnwindSafe};

use wireforms::Error;

use crate::error::{wireforms_error, wireforms_status};

/// Why an export's body failed.
pub(crate) enum Failure {
    /// A failure of the call itself, with the argument it concerns.
    Call(wireforms_status, &'static str),
    /// A wire or serializer error.
    Wire(Error),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Failure {
        Failure::Wire(e)
    }
}

/// What an export's body returns.
pub(crate) type Outcome = Result<wireforms_status, Failure>;

/// Runs `body` behind the panic boundary: a panic becomes
/// [`wireforms_status::Panic`], a failure its status, and either is
/// described in `*error` when `error` is a usable pointer.
///
/// Only a status crosses `catch_unwind`, and the records are made on cold
/// paths: the boundary costs a few instructions on success.
#[inline]
pub(crate) fn guard(
    error: *mut wireforms_error,
    body: impl FnOnce() -> Outcome,
) -> wireforms_status {
    let result = catch_unwind(AssertUnwindSafe(|| {
        #[cfg(test)]
        test_hook::maybe_panic();
        match body() {
            Ok(status) => status,
            Err(failure) => report_failure(error, failure),
        }
    }));
    match result {
        Ok(status) => status,
        Err(payload) => report(
            error,
            wireforms_status::Panic,
            wireforms_error::of_panic(&*payload),
        ),
    }
}

#[cold]
#[inline(never)]
fn report_failure(error: *mut wireforms_error, failure: Failure) -> wireforms_status {
    match failure {
        Failure::Wire(e) => report(error, wireforms_status::Error, wireforms_error::of(&e)),
        Failure::Call(status, what) => {
            report(error, status, wireforms_error::of_call(status, what))
        }
    }
}

/// Writes `record` to `*error` when that is a usable pointer; returns `status`.
#[cold]
fn report(
    error: *mut wireforms_error,
    status: wireforms_status,
    record: wireforms_error,
) -> wireforms_status {
    if !error.is_null() && error.is_aligned() {
        // SAFETY: the header's contract: a non-NULL `error` points to
        // writable room for one `wireforms_error`; it is aligned (checked).
        unsafe { error.write(record) };
    }
    status
}

/// Runs an export that cannot fail behind the panic boundary, answering
/// `fallback` if it panics anyway.
pub(crate) fn guard_value<T>(fallback: T, body: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(|| {
        #[cfg(test)]
        test_hook::maybe_panic();
        body()
    }))
    .unwrap_or(fallback)
}

/// Checks an output pointer: not NULL, aligned for `T`.
pub(crate) fn check_out<T>(ptr: *mut T, what: &'static str) -> Result<(), Failure> {
    if ptr.is_null() {
        return Err(Failure::Call(wireforms_status::NullPointer, what));
    }
    if !ptr.is_aligned() {
        return Err(Failure::Call(wireforms_status::MisalignedPointer, what));
    }
    Ok(())
}

/// Writes `value` through an output pointer checked by [`check_out`].
///
/// # Safety
/// `ptr` passed [`check_out`] and points to writable room for one `T`.
pub(crate) unsafe fn write_out<T>(ptr: *mut T, value: T) {
    // SAFETY: non-NULL and aligned (check_out), writable (the caller).
    unsafe { ptr.write(value) }
}

/// The `T` behind a required input pointer, after the NULL and alignment
/// checks.
///
/// # Safety
/// If non-NULL and aligned, `ptr` points to a valid `T` that is not written
/// during `'a`.
pub(crate) unsafe fn read_in<'a, T>(ptr: *const T, what: &'static str) -> Result<&'a T, Failure> {
    check_out(ptr.cast_mut(), what)?;
    // SAFETY: checked non-NULL and aligned; valid for 'a by the caller.
    Ok(unsafe { &*ptr })
}

/// Like [`read_in`], but NULL means "none".
///
/// # Safety
/// As [`read_in`].
pub(crate) unsafe fn read_optional<'a, T>(
    ptr: *const T,
    what: &'static str,
) -> Result<Option<&'a T>, Failure> {
    if ptr.is_null() {
        return Ok(None);
    }
    // SAFETY: forwarded contract.
    unsafe { read_in(ptr, what) }.map(Some)
}

/// The `len` bytes at `data` (NULL allowed when `len` is 0).
///
/// # Safety
/// If `len > 0`, `data` points to `len` readable bytes that are not written
/// during `'a`.
pub(crate) unsafe fn bytes_in<'a>(
    data: *const u8,
    len: usize,
    what: &'static str,
) -> Result<&'a [u8], Failure> {
    if len == 0 {
        return Ok(&[]);
    }
    if data.is_null() {
        return Err(Failure::Call(wireforms_status::NullPointer, what));
    }
    if isize::try_from(len).is_err() {
        return Err(Failure::Call(wireforms_status::InvalidArgument, what));
    }
    // SAFETY: non-NULL, len <= isize::MAX, readable and unchanged for 'a
    // (the caller); u8 needs no alignment.
    Ok(unsafe { core::slice::from_raw_parts(data, len) })
}

/// The `len` writable bytes at `data` (NULL allowed when `len` is 0).
///
/// # Safety
/// If `len > 0`, `data` points to `len` writable bytes that nothing else
/// reads or writes during `'a`.
pub(crate) unsafe fn bytes_out<'a>(
    data: *mut u8,
    len: usize,
    what: &'static str,
) -> Result<&'a mut [u8], Failure> {
    if len == 0 {
        return Ok(&mut []);
    }
    if data.is_null() {
        return Err(Failure::Call(wireforms_status::NullPointer, what));
    }
    if isize::try_from(len).is_err() {
        return Err(Failure::Call(wireforms_status::InvalidArgument, what));
    }
    // SAFETY: non-NULL, len <= isize::MAX, writable and not aliased for 'a
    // (the caller, and `check_disjoint` for the message it is to hold).
    Ok(unsafe { core::slice::from_raw_parts_mut(data, len) })
}

/// Refuses an output buffer that overlaps any of `parts` (the slices of the
/// message it is to hold): Rust may not read memory it is writing.
pub(crate) fn check_disjoint(
    out: *const u8,
    out_len: usize,
    parts: &[(*const u8, usize)],
) -> Result<(), Failure> {
    let start = out as usize;
    let end = start.saturating_add(out_len);
    for &(data, len) in parts {
        let (a, b) = (data as usize, (data as usize).saturating_add(len));
        if len > 0 && out_len > 0 && a < end && start < b {
            return Err(Failure::Call(
                wireforms_status::InvalidArgument,
                "out overlaps the message",
            ));
        }
    }
    Ok(())
}

/// A switch for the tests: make the next boundary on this thread panic
/// inside, to prove the panic comes out as a status.
#[cfg(test)]
pub(crate) mod test_hook {
    use std::cell::Cell;

    thread_local! {
        static FORCE_PANIC: Cell<bool> = const { Cell::new(false) };
    }

    /// Makes every boundary on this thread panic while `on` is set.
    pub(crate) fn force_panic(on: bool) {
        FORCE_PANIC.with(|f| f.set(on));
    }

    pub(super) fn maybe_panic() {
        if FORCE_PANIC.with(Cell::get) {
            panic!("forced by a test");
        }
    }
}
