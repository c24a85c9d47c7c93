//! The magic header packet (`spec/magic.md`).

use wireforms::magic;

use crate::boundary::Failure;
use crate::error::{wireforms_error, wireforms_status};
use crate::format::{self, CFormat, Reply};
use crate::slices::wireforms_bytes;

/// What a receiver of magic header packets enforces.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct wireforms_magic_limits {
    /// Largest payload accepted, inclusive (default 65,535).
    pub max_payload_len: u16,
}

/// A magic header packet (`spec/magic.md`): `0xDEADBEEF`, version, type, `u16` length, payload.
///
/// When parsed, `payload` points into the input buffer: the message is
/// valid while that buffer is, and nothing is to be freed.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct wireforms_magic_packet {
    /// The protocol version: 1 in every parsed packet; a serializer writes what it is given.
    pub version: u8,
    /// The packet type code (every value is valid).
    pub packet_type: u8,
    /// The payload.
    pub payload: wireforms_bytes,
}

struct MagicC;

impl CFormat for MagicC {
    type Wire = magic::Magic;
    type Limits = wireforms_magic_limits;
    type Message = wireforms_magic_packet;

    fn limits(c: &wireforms_magic_limits) -> magic::Limits {
        magic::Limits::new(c.max_payload_len)
    }

    fn to_c(m: &magic::Packet<'_>) -> wireforms_magic_packet {
        wireforms_magic_packet {
            version: m.version,
            packet_type: m.packet_type.0,
            payload: wireforms_bytes::of(m.payload),
        }
    }

    unsafe fn from_c<'a>(c: &wireforms_magic_packet) -> Result<magic::Packet<'a>, Failure> {
        // SAFETY: forwarded contract (the payload is readable for 'a).
        let payload = unsafe { c.payload.get("payload") }?;
        Ok(magic::Packet {
            version: c.version,
            packet_type: magic::PacketType(c.packet_type),
            payload,
        })
    }

    fn parts(c: &wireforms_magic_packet) -> [(*const u8, usize); 3] {
        [
            c.payload.part(),
            (core::ptr::null(), 0),
            (core::ptr::null(), 0),
        ]
    }
}

impl Reply for MagicC {}

/// The default limits (`spec/magic.md` §3): a payload of at most 65,535.
#[no_mangle]
pub extern "C" fn wireforms_magic_limits_default() -> wireforms_magic_limits {
    let default = wireforms_magic_limits {
        max_payload_len: magic::DEFAULT_MAX_PAYLOAD_LEN,
    };
    crate::boundary::guard_value(default, || default)
}

/// Parses one magic header packet from the front of a byte stream.
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
/// `wireforms_magic_limits`; `message`, `consumed`, `needed` point to writable
/// objects of their types; `error` is NULL or points to a writable
/// `wireforms_error`.
#[no_mangle]
pub unsafe extern "C" fn wireforms_magic_parse(
    input: *const u8,
    input_len: usize,
    limits: *const wireforms_magic_limits,
    message: *mut wireforms_magic_packet,
    consumed: *mut usize,
    needed: *mut usize,
    error: *mut wireforms_error,
) -> wireforms_status {
    // SAFETY: this function's contract is the one `format::parse` needs.
    unsafe { format::parse::<MagicC>(input, input_len, limits, message, consumed, needed, error) }
}

/// Parses a datagram that must hold exactly one magic header packet (`spec/magic.md`
/// §7.2): `WIREFORMS_STATUS_OK` with `*message`, or `WIREFORMS_STATUS_ERROR`
/// with kind `incomplete` (a short datagram, `needed` set), `trailing_bytes`
/// (bytes after the message, `len` = how many) or the parser's error.
///
/// # Safety
/// As `wireforms_magic_parse`, without `consumed` and `needed`.
#[no_mangle]
pub unsafe extern "C" fn wireforms_magic_parse_datagram(
    input: *const u8,
    input_len: usize,
    limits: *const wireforms_magic_limits,
    message: *mut wireforms_magic_packet,
    error: *mut wireforms_error,
) -> wireforms_status {
    // SAFETY: this function's contract is the one `format::parse_datagram` needs.
    unsafe { format::parse_datagram::<MagicC>(input, input_len, limits, message, error) }
}

/// The exact number of bytes `wireforms_magic_emit` writes for `*message`,
/// in `*len`; `WIREFORMS_STATUS_ERROR` (kind `too_large`) when the format
/// cannot carry it.
///
/// # Safety
/// `message` points to a valid `wireforms_magic_packet` whose payload is readable;
/// `len` points to a writable `size_t`; `error` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn wireforms_magic_encoded_len(
    message: *const wireforms_magic_packet,
    len: *mut usize,
    error: *mut wireforms_error,
) -> wireforms_status {
    // SAFETY: this function's contract is the one `format::encoded_len` needs.
    unsafe { format::encoded_len::<MagicC>(message, len, error) }
}

/// Writes `*message` at the start of `out` and its length in `*written`.
/// When `out_len` is shorter than `wireforms_magic_encoded_len`, nothing
/// is written and the status is `WIREFORMS_STATUS_ERROR` with kind
/// `buffer_too_small` (`needed`, `available`). `out` must not overlap the
/// payload (`WIREFORMS_STATUS_INVALID_ARGUMENT`).
///
/// # Safety
/// `message` points to a valid `wireforms_magic_packet` whose payload is readable;
/// `out` points to `out_len` writable bytes (may be NULL when `out_len` is
/// 0); `written` points to a writable `size_t`; `error` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn wireforms_magic_emit(
    message: *const wireforms_magic_packet,
    out: *mut u8,
    out_len: usize,
    written: *mut usize,
    error: *mut wireforms_error,
) -> wireforms_status {
    // SAFETY: this function's contract is the one `format::emit` needs.
    unsafe { format::emit::<MagicC>(message, out, out_len, written, error) }
}

/// The exact number of bytes `wireforms_magic_reference_reply` writes for
/// `*request`, in `*len`.
///
/// # Safety
/// As `wireforms_magic_encoded_len`.
#[no_mangle]
pub unsafe extern "C" fn wireforms_magic_reference_reply_len(
    request: *const wireforms_magic_packet,
    len: *mut usize,
    error: *mut wireforms_error,
) -> wireforms_status {
    // SAFETY: this function's contract is the one `format::reply_len` needs.
    unsafe { format::reply_len::<MagicC>(request, len, error) }
}

/// Writes the reference server's answer to `*request` (`spec/magic.md` §6:
/// the same payload, type + 1 (wrapping 255 to 0), version 1), encoded, at the start of `out`, and its length in
/// `*written`. All or nothing: a short `out` gets `buffer_too_small`, as
/// `wireforms_magic_emit`.
///
/// # Safety
/// As `wireforms_magic_emit`, with `request` for `message`.
#[no_mangle]
pub unsafe extern "C" fn wireforms_magic_reference_reply(
    request: *const wireforms_magic_packet,
    out: *mut u8,
    out_len: usize,
    written: *mut usize,
    error: *mut wireforms_error,
) -> wireforms_status {
    // SAFETY: this function's contract is the one `format::reply` needs.
    unsafe { format::reply::<MagicC>(request, out, out_len, written, error) }
}
