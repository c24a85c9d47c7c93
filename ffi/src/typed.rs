//! The typed binary message (`spec/typed.md`).

use wireforms::typed;

use crate::boundary::Failure;
use crate::error::{wireforms_error, wireforms_status};
use crate::format::{self, CFormat, Reply};
use crate::slices::wireforms_bytes;

/// What a receiver of typed binary messages enforces.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct wireforms_typed_limits {
    /// Largest payload accepted, inclusive (default 1 MiB).
    pub max_payload_len: u32,
}

/// A typed binary message (`spec/typed.md`): `u32` length, `u8` type, payload.
///
/// When parsed, `payload` points into the input buffer: the message is
/// valid while that buffer is, and nothing is to be freed.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct wireforms_typed_message {
    /// The message type code (every value is valid).
    pub message_type: u8,
    /// The payload.
    pub payload: wireforms_bytes,
}

struct TypedC;

impl CFormat for TypedC {
    type Wire = typed::Typed;
    type Limits = wireforms_typed_limits;
    type Message = wireforms_typed_message;

    fn limits(c: &wireforms_typed_limits) -> typed::Limits {
        typed::Limits::new(c.max_payload_len)
    }

    fn to_c(m: &typed::TypedMessage<'_>) -> wireforms_typed_message {
        wireforms_typed_message {
            message_type: m.message_type.0,
            payload: wireforms_bytes::of(m.payload),
        }
    }

    unsafe fn from_c<'a>(c: &wireforms_typed_message) -> Result<typed::TypedMessage<'a>, Failure> {
        // SAFETY: forwarded contract (the payload is readable for 'a).
        let payload = unsafe { c.payload.get("payload") }?;
        Ok(typed::TypedMessage {
            message_type: typed::MessageType(c.message_type),
            payload,
        })
    }

    fn parts(c: &wireforms_typed_message) -> [(*const u8, usize); 3] {
        [
            c.payload.part(),
            (core::ptr::null(), 0),
            (core::ptr::null(), 0),
        ]
    }
}

impl Reply for TypedC {}

/// The default limits (`spec/typed.md` §3): a payload of at most 1 MiB.
#[no_mangle]
pub extern "C" fn wireforms_typed_limits_default() -> wireforms_typed_limits {
    let default = wireforms_typed_limits {
        max_payload_len: typed::DEFAULT_MAX_PAYLOAD_LEN,
    };
    crate::boundary::guard_value(default, || default)
}

/// Parses one typed binary message from the front of a byte stream.
///
/// - `WIREFORMS_STATUS_OK`: `*message` is the message, `*consumed` the
///   number of bytes it took from the front of `input` (the next message
///   starts there); `*needed` is 0.
/// - `WIREFORMS_STATUS_INCOMPLETE`: `input` is a valid prefix; `*needed`
///   (at least 1) more bytes are needed before the parser can decide.
///   Call again with the same bytes and more. `*message` is untouched.
/// - `WIREFORMS_STATUS_ERROR`: the input can never become a valid message;
///   `*error` says why (kind, data, spec section). The stream cannot go on.
/// - any other status: a bad argument or a caught panic, in `*error`.
///
/// `*consumed` and `*needed` are written on `OK` and `INCOMPLETE` only.
///
/// The payload points into `input`: it is valid while `input` is. Nothing
/// is allocated; nothing needs freeing. Never reads past `input_len`.
///
/// # Safety
/// `input` points to `input_len` readable bytes (may be NULL when
/// `input_len` is 0); `limits` is NULL (the defaults) or points to a valid
/// `wireforms_typed_limits`; `message`, `consumed`, `needed` point to writable
/// objects of their types; `error` is NULL or points to a writable
/// `wireforms_error`.
#[no_mangle]
pub unsafe extern "C" fn wireforms_typed_parse(
    input: *const u8,
    input_len: usize,
    limits: *const wireforms_typed_limits,
    message: *mut wireforms_typed_message,
    consumed: *mut usize,
    needed: *mut usize,
    error: *mut wireforms_error,
) -> wireforms_status {
    // SAFETY: this function's contract is the one `format::parse` needs.
    unsafe { format::parse::<TypedC>(input, input_len, limits, message, consumed, needed, error) }
}

/// Parses a datagram that must hold exactly one typed binary message (`spec/typed.md`
/// §7.2): `WIREFORMS_STATUS_OK` with `*message`, or `WIREFORMS_STATUS_ERROR`
/// with kind `incomplete` (a short datagram, `needed` set), `trailing_bytes`
/// (bytes after the message, `len` = how many) or the parser's error.
///
/// # Safety
/// As `wireforms_typed_parse`, without `consumed` and `needed`.
#[no_mangle]
pub unsafe extern "C" fn wireforms_typed_parse_datagram(
    input: *const u8,
    input_len: usize,
    limits: *const wireforms_typed_limits,
    message: *mut wireforms_typed_message,
    error: *mut wireforms_error,
) -> wireforms_status {
    // SAFETY: this function's contract is the one `format::parse_datagram` needs.
    unsafe { format::parse_datagram::<TypedC>(input, input_len, limits, message, error) }
}

/// The exact number of bytes `wireforms_typed_emit` writes for `*message`,
/// in `*len`; `WIREFORMS_STATUS_ERROR` (kind `too_large`) when the format
/// cannot carry it.
///
/// # Safety
/// `message` points to a valid `wireforms_typed_message` whose payload is readable;
/// `len` points to a writable `size_t`; `error` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn wireforms_typed_encoded_len(
    message: *const wireforms_typed_message,
    len: *mut usize,
    error: *mut wireforms_error,
) -> wireforms_status {
    // SAFETY: this function's contract is the one `format::encoded_len` needs.
    unsafe { format::encoded_len::<TypedC>(message, len, error) }
}

/// Writes `*message` at the start of `out` and its length in `*written`.
/// When `out_len` is shorter than `wireforms_typed_encoded_len`, nothing
/// is written and the status is `WIREFORMS_STATUS_ERROR` with kind
/// `buffer_too_small` (`needed`, `available`). `out` must not overlap the
/// payload (`WIREFORMS_STATUS_INVALID_ARGUMENT`).
///
/// # Safety
/// `message` points to a valid `wireforms_typed_message` whose payload is readable;
/// `out` points to `out_len` writable bytes (may be NULL when `out_len` is
/// 0); `written` points to a writable `size_t`; `error` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn wireforms_typed_emit(
    message: *const wireforms_typed_message,
    out: *mut u8,
    out_len: usize,
    written: *mut usize,
    error: *mut wireforms_error,
) -> wireforms_status {
    // SAFETY: this function's contract is the one `format::emit` needs.
    unsafe { format::emit::<TypedC>(message, out, out_len, written, error) }
}

/// The exact number of bytes `wireforms_typed_reference_reply` writes for
/// `*request`, in `*len`.
///
/// # Safety
/// As `wireforms_typed_encoded_len`.
#[no_mangle]
pub unsafe extern "C" fn wireforms_typed_reference_reply_len(
    request: *const wireforms_typed_message,
    len: *mut usize,
    error: *mut wireforms_error,
) -> wireforms_status {
    // SAFETY: this function's contract is the one `format::reply_len` needs.
    unsafe { format::reply_len::<TypedC>(request, len, error) }
}

/// Writes the reference server's answer to `*request` (`spec/typed.md` §6:
/// the same payload, type + 1 (wrapping 255 to 0)), encoded, at the start of `out`, and its length in
/// `*written`. All or nothing: a short `out` gets `buffer_too_small`, as
/// `wireforms_typed_emit`.
///
/// # Safety
/// As `wireforms_typed_emit`, with `request` for `message`.
#[no_mangle]
pub unsafe extern "C" fn wireforms_typed_reference_reply(
    request: *const wireforms_typed_message,
    out: *mut u8,
    out_len: usize,
    written: *mut usize,
    error: *mut wireforms_error,
) -> wireforms_status {
    // SAFETY: this function's contract is the one `format::reply` needs.
    unsafe { format::reply::<TypedC>(request, out, out_len, written, error) }
}
