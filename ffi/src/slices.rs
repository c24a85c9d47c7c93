//! Borrowed byte and text slices, as C sees them.

use core::ffi::c_char;

use wireforms::Error;

use crate::boundary::{bytes_in, Failure};

/// `len` bytes at `data`, not owned: in a parsed message they point into
/// the caller's input buffer and are valid while it is. `data` may be NULL
/// when `len` is 0.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct wireforms_bytes {
    /// The first byte.
    pub data: *const u8,
    /// The number of bytes.
    pub len: usize,
}

impl wireforms_bytes {
    pub(crate) fn of(bytes: &[u8]) -> wireforms_bytes {
        wireforms_bytes {
            data: bytes.as_ptr(),
            len: bytes.len(),
        }
    }

    /// The bytes as a slice.
    ///
    /// # Safety
    /// The header's contract: `data` points to `len` readable bytes,
    /// unchanged during `'a`.
    pub(crate) unsafe fn get<'a>(&self, what: &'static str) -> Result<&'a [u8], Failure> {
        // SAFETY: forwarded contract.
        unsafe { bytes_in(self.data, self.len, what) }
    }

    pub(crate) fn part(&self) -> (*const u8, usize) {
        (self.data, self.len)
    }
}

/// `len` bytes of UTF-8 text at `data`, not NUL-terminated (print with
/// `printf("%.*s", (int)s.len, s.data)`), not owned: in a parsed message
/// they point into the caller's input buffer and are valid while it is.
/// `data` may be NULL when `len` is 0.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct wireforms_str {
    /// The first byte.
    pub data: *const c_char,
    /// The number of bytes (not chars).
    pub len: usize,
}

impl wireforms_str {
    pub(crate) fn of(text: &str) -> wireforms_str {
        wireforms_str {
            data: text.as_ptr().cast(),
            len: text.len(),
        }
    }

    /// The text as a `str`; text that is not UTF-8 is refused as the field
    /// `field` the format cannot carry (spec reqres §4.1).
    ///
    /// # Safety
    /// As [`wireforms_bytes::get`].
    pub(crate) unsafe fn get<'a>(&self, field: &'static str) -> Result<&'a str, Failure> {
        // SAFETY: forwarded contract.
        let bytes = unsafe { bytes_in(self.data.cast(), self.len, field) }?;
        core::str::from_utf8(bytes).map_err(|_| {
            Failure::Wire(Error::InvalidField {
                field,
                reason: "not valid UTF-8",
                section: "reqres/4.1",
            })
        })
    }

    pub(crate) fn part(&self) -> (*const u8, usize) {
        (self.data.cast(), self.len)
    }
}
