//! # wireforms-ffi
//!
//! A C ABI over the zero-copy parsers and serializers of wireforms' five
//! wire formats. The header, `include/wireforms.h`, is generated from this
//! crate by cbindgen (`tests/header.rs` checks it is current) and documents
//! every function's contract.
//!
//! The shape, for each format `F` (`typed`, `magic`, `frame`, `mux`,
//! `request`, `response`):
//! - `wireforms_F_parse`: one message from the front of the caller's
//!   buffer into a plain struct whose slices point into that buffer, with
//!   the bytes consumed, or the bytes still `needed`, or an error record
//!   (kind, data, spec section, message);
//! - `wireforms_F_encoded_len` and `wireforms_F_emit`: the exact length,
//!   then the bytes into the caller's buffer (`buffer_too_small` when short);
//! - `wireforms_F_limits_default` (`wireforms_line_limits_default` for the
//!   lines), and for the binary formats `wireforms_F_parse_datagram`;
//! - `wireforms_F_reference_reply[_len]`: the reference server's answer.
//!
//! Every export returns a [`wireforms_status`] (or a value that cannot
//! fail) and runs behind a panic boundary (`boundary::guard`): a panic
//! becomes `WIREFORMS_STATUS_PANIC`, never an unwind into C. NULL and
//! misaligned pointers are refused with their own statuses. The `unsafe`
//! of the crate is the pointer handling in `boundary` and `slices`, plus
//! one block per export that forwards its documented contract.
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs, clippy::undocumented_unsafe_blocks)]
// The C names are the ABI: `wireforms_typed_message`, not `TypedMessage`.
#![allow(non_camel_case_types)]

mod boundary;
mod error;
mod format;
mod slices;

// The formats, in the header in this order (the spec's).
mod typed;

mod magic;

mod frame;

mod mux;

mod lines;

use core::ffi::c_char;

pub use error::{
    wireforms_error, wireforms_error_kind, wireforms_status, WIREFORMS_DETAIL_AVAILABLE,
    WIREFORMS_DETAIL_FOUND, WIREFORMS_DETAIL_LEN, WIREFORMS_DETAIL_MAX, WIREFORMS_DETAIL_NEEDED,
    WIREFORMS_DETAIL_OFFSET, WIREFORMS_FIELD_CAP, WIREFORMS_MESSAGE_CAP, WIREFORMS_SECTION_CAP,
};
pub use frame::*;
pub use lines::*;
pub use magic::*;
pub use mux::*;
pub use slices::{wireforms_bytes, wireforms_str};
pub use typed::*;

/// The version of this ABI, `major * 10000 + minor * 100 + patch`; the
/// crate's version (a test keeps them equal). Compare with
/// `wireforms_ffi_version()` to check the header matches the library.
pub const WIREFORMS_FFI_VERSION: u32 = 100;

/// The version of the library linked, as `WIREFORMS_FFI_VERSION` counts it.
#[no_mangle]
pub extern "C" fn wireforms_ffi_version() -> u32 {
    boundary::guard_value(WIREFORMS_FFI_VERSION, || WIREFORMS_FFI_VERSION)
}

/// The name of status `status` (`"ok"`, `"incomplete"`, `"error"`,
/// `"null_pointer"`, ...), a static NUL-terminated string; `"unknown"` for
/// a code that is no status. Never NULL; nothing to free.
#[no_mangle]
pub extern "C" fn wireforms_status_name(status: u32) -> *const c_char {
    boundary::guard_value(c"unknown".as_ptr(), || {
        wireforms_status::ALL
            .into_iter()
            .find(|s| *s as u32 == status)
            .map_or(c"unknown", |s| s.name())
            .as_ptr()
    })
}

/// The specification's stable name of error kind `kind` (`"too_large"`,
/// `"bad_magic"`, ...; `"none"` for `WIREFORMS_ERROR_KIND_NONE`), a static
/// NUL-terminated string; `"unknown"` for a code that is no kind. Never
/// NULL; nothing to free.
#[no_mangle]
pub extern "C" fn wireforms_error_kind_name(kind: u32) -> *const c_char {
    boundary::guard_value(c"unknown".as_ptr(), || {
        wireforms_error_kind::from_code(kind)
            .map_or(c"unknown", |k| k.name())
            .as_ptr()
    })
}

#[cfg(test)]
mod tests;
