//! The ID request/response lines (`spec/reqres.md`).

use wireforms::reqres;

use crate::boundary::Failure;
use crate::error::{wireforms_error, wireforms_status};
use crate::format::{self, CFormat, Reply};
use crate::slices::wireforms_str;

/// What a receiver of request or response lines enforces.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct wireforms_line_limits {
    /// Longest line accepted, in bytes, counting its `\n` and any `\r`
    /// (default 65,536). 0 refuses every line.
    pub max_line_len: usize,
}

fn line_limits(c: &wireforms_line_limits) -> reqres::Limits {
    reqres::Limits::new(c.max_line_len)
}

/// The default line limits (`spec/reqres.md` §3): 65,536 bytes.
#[no_mangle]
pub extern "C" fn wireforms_line_limits_default() -> wireforms_line_limits {
    let default = wireforms_line_limits {
        max_line_len: reqres::DEFAULT_MAX_LINE_LEN,
    };
    crate::boundary::guard_value(default, || default)
}

/// A request line (`spec/reqres.md`): `ID:COMMAND:ARGS\n`.
///
/// When parsed, the fields point into the input buffer (valid UTF-8, not
/// NUL-terminated, line ending excluded): the message is valid while that
/// buffer is, and nothing is to be freed.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct wireforms_request {
    /// The request ID (may be empty).
    pub id: wireforms_str,
    /// The command (may be empty; `ECHO`, `UPPER`, `REVERSE` on the reference server).
    pub command: wireforms_str,
    /// The arguments: the rest of the line, `:` included.
    pub args: wireforms_str,
}

struct RequestC;

impl CFormat for RequestC {
    type Wire = reqres::RequestLine;
    type Limits = wireforms_line_limits;
    type Message = wireforms_request;

    fn limits(c: &wireforms_line_limits) -> reqres::Limits {
        line_limits(c)
    }

    fn to_c(m: &reqres::Request<'_>) -> wireforms_request {
        wireforms_request {
            id: wireforms_str::of(m.id),
            command: wireforms_str::of(m.command),
            args: wireforms_str::of(m.args),
        }
    }

    unsafe fn from_c<'a>(c: &wireforms_request) -> Result<reqres::Request<'a>, Failure> {
        // SAFETY: forwarded contract (the fields are readable for 'a).
        unsafe {
            Ok(reqres::Request {
                id: c.id.get("id")?,
                command: c.command.get("command")?,
                args: c.args.get("args")?,
            })
        }
    }

    fn parts(c: &wireforms_request) -> [(*const u8, usize); 3] {
        [c.id.part(), c.command.part(), c.args.part()]
    }
}

/// Parses one request line from the front of a byte stream.
///
/// - `WIREFORMS_STATUS_OK`: `*message` holds the fields, `*consumed` the
///   bytes the line took, its `\n` (and a `\r` before it) included.
/// - `WIREFORMS_STATUS_INCOMPLETE`: no `\n` yet; `*needed` is 0 (a line
///   cannot know its length). Call again with the same bytes and more.
/// - `WIREFORMS_STATUS_ERROR`: `line_too_long`, `invalid_utf8` or
///   `malformed` in `*error`; the stream cannot go on.
/// - any other status: a bad argument or a caught panic, in `*error`.
///
/// `*consumed` and `*needed` are written on `OK` and `INCOMPLETE` only.
///
/// The fields point into `input` and are valid while it is. Nothing is
/// allocated. Never reads past `input_len`, nor past the first `\n`.
///
/// # Safety
/// As `wireforms_typed_parse`, with a `wireforms_line_limits` (or NULL).
#[no_mangle]
pub unsafe extern "C" fn wireforms_request_parse(
    input: *const u8,
    input_len: usize,
    limits: *const wireforms_line_limits,
    message: *mut wireforms_request,
    consumed: *mut usize,
    needed: *mut usize,
    error: *mut wireforms_error,
) -> wireforms_status {
    // SAFETY: this function's contract is the one `format::parse` needs.
    unsafe { format::parse::<RequestC>(input, input_len, limits, message, consumed, needed, error) }
}

/// Parses a datagram that must hold exactly one request line, whose final
/// `\n` may be left out (`spec/reqres.md` §7.2): `WIREFORMS_STATUS_OK` with
/// `*message`, whose fields point into `input`, or `WIREFORMS_STATUS_ERROR`
/// with kind `trailing_bytes` (`len` counts the bytes after the line),
/// `incomplete` (an empty datagram) or the parser's error. Nothing is
/// copied: the fields point into `input` whether or not it ends in `\n`.
///
/// # Safety
/// As `wireforms_request_parse`, without `consumed` and `needed`.
#[no_mangle]
pub unsafe extern "C" fn wireforms_request_parse_datagram(
    input: *const u8,
    input_len: usize,
    limits: *const wireforms_line_limits,
    message: *mut wireforms_request,
    error: *mut wireforms_error,
) -> wireforms_status {
    // SAFETY: this function's contract is the one `format::parse_datagram` needs.
    unsafe { format::parse_datagram::<RequestC>(input, input_len, limits, message, error) }
}

/// The exact number of bytes `wireforms_request_emit` writes for `*message`,
/// in `*len`; `WIREFORMS_STATUS_ERROR` with kind `invalid_field` (and the
/// field's name) when a field cannot be carried: a `:` or `\n` in `id` or
/// `command`, a `\n` in `args` or a `\r` ending it, text that is not UTF-8.
///
/// # Safety
/// `message` points to a valid `wireforms_request` whose fields are readable;
/// `len` points to a writable `size_t`; `error` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn wireforms_request_encoded_len(
    message: *const wireforms_request,
    len: *mut usize,
    error: *mut wireforms_error,
) -> wireforms_status {
    // SAFETY: this function's contract is the one `format::encoded_len` needs.
    unsafe { format::encoded_len::<RequestC>(message, len, error) }
}

/// Writes `*message` as one line ending in a bare `\n` at the start of
/// `out`, and its length in `*written`. Refuses what
/// `wireforms_request_encoded_len` refuses; a short `out` gets
/// `buffer_too_small` and nothing is written; `out` must not overlap the
/// fields (`WIREFORMS_STATUS_INVALID_ARGUMENT`).
///
/// # Safety
/// `message` points to a valid `wireforms_request` whose fields are readable;
/// `out` points to `out_len` writable bytes (may be NULL when `out_len` is
/// 0); `written` points to a writable `size_t`; `error` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn wireforms_request_emit(
    message: *const wireforms_request,
    out: *mut u8,
    out_len: usize,
    written: *mut usize,
    error: *mut wireforms_error,
) -> wireforms_status {
    // SAFETY: this function's contract is the one `format::emit` needs.
    unsafe { format::emit::<RequestC>(message, out, out_len, written, error) }
}

/// A response line (`spec/reqres.md`): `ID:STATUS:DATA\n`.
///
/// When parsed, the fields point into the input buffer (valid UTF-8, not
/// NUL-terminated, line ending excluded): the message is valid while that
/// buffer is, and nothing is to be freed.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct wireforms_response {
    /// The ID of the request answered.
    pub id: wireforms_str,
    /// The status (`OK` from the reference server).
    pub status: wireforms_str,
    /// The data: the rest of the line, `:` included.
    pub data: wireforms_str,
}

struct ResponseC;

impl CFormat for ResponseC {
    type Wire = reqres::ResponseLine;
    type Limits = wireforms_line_limits;
    type Message = wireforms_response;

    fn limits(c: &wireforms_line_limits) -> reqres::Limits {
        line_limits(c)
    }

    fn to_c(m: &reqres::Response<'_>) -> wireforms_response {
        wireforms_response {
            id: wireforms_str::of(m.id),
            status: wireforms_str::of(m.status),
            data: wireforms_str::of(m.data),
        }
    }

    unsafe fn from_c<'a>(c: &wireforms_response) -> Result<reqres::Response<'a>, Failure> {
        // SAFETY: forwarded contract (the fields are readable for 'a).
        unsafe {
            Ok(reqres::Response {
                id: c.id.get("id")?,
                status: c.status.get("status")?,
                data: c.data.get("data")?,
            })
        }
    }

    fn parts(c: &wireforms_response) -> [(*const u8, usize); 3] {
        [c.id.part(), c.status.part(), c.data.part()]
    }
}

/// Parses one response line from the front of a byte stream.
///
/// - `WIREFORMS_STATUS_OK`: `*message` holds the fields, `*consumed` the
///   bytes the line took, its `\n` (and a `\r` before it) included.
/// - `WIREFORMS_STATUS_INCOMPLETE`: no `\n` yet; `*needed` is 0 (a line
///   cannot know its length). Call again with the same bytes and more.
/// - `WIREFORMS_STATUS_ERROR`: `line_too_long`, `invalid_utf8` or
///   `malformed` in `*error`; the stream cannot go on.
/// - any other status: a bad argument or a caught panic, in `*error`.
///
/// `*consumed` and `*needed` are written on `OK` and `INCOMPLETE` only.
///
/// The fields point into `input` and are valid while it is. Nothing is
/// allocated. Never reads past `input_len`, nor past the first `\n`.
///
/// # Safety
/// As `wireforms_typed_parse`, with a `wireforms_line_limits` (or NULL).
#[no_mangle]
pub unsafe extern "C" fn wireforms_response_parse(
    input: *const u8,
    input_len: usize,
    limits: *const wireforms_line_limits,
    message: *mut wireforms_response,
    consumed: *mut usize,
    needed: *mut usize,
    error: *mut wireforms_error,
) -> wireforms_status {
    // SAFETY: this function's contract is the one `format::parse` needs.
    unsafe {
        format::parse::<ResponseC>(input, input_len, limits, message, consumed, needed, error)
    }
}

/// Parses a datagram that must hold exactly one response line, whose final
/// `\n` may be left out (`spec/reqres.md` §7.2): `WIREFORMS_STATUS_OK` with
/// `*message`, whose fields point into `input`, or `WIREFORMS_STATUS_ERROR`
/// with kind `trailing_bytes` (`len` counts the bytes after the line),
/// `incomplete` (an empty datagram) or the parser's error. Nothing is
/// copied: the fields point into `input` whether or not it ends in `\n`.
///
/// # Safety
/// As `wireforms_response_parse`, without `consumed` and `needed`.
#[no_mangle]
pub unsafe extern "C" fn wireforms_response_parse_datagram(
    input: *const u8,
    input_len: usize,
    limits: *const wireforms_line_limits,
    message: *mut wireforms_response,
    error: *mut wireforms_error,
) -> wireforms_status {
    // SAFETY: this function's contract is the one `format::parse_datagram` needs.
    unsafe { format::parse_datagram::<ResponseC>(input, input_len, limits, message, error) }
}

/// The exact number of bytes `wireforms_response_emit` writes for `*message`,
/// in `*len`; `WIREFORMS_STATUS_ERROR` with kind `invalid_field` (and the
/// field's name) when a field cannot be carried: a `:` or `\n` in `id` or
/// `status`, a `\n` in `data` or a `\r` ending it, text that is not UTF-8.
///
/// # Safety
/// `message` points to a valid `wireforms_response` whose fields are readable;
/// `len` points to a writable `size_t`; `error` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn wireforms_response_encoded_len(
    message: *const wireforms_response,
    len: *mut usize,
    error: *mut wireforms_error,
) -> wireforms_status {
    // SAFETY: this function's contract is the one `format::encoded_len` needs.
    unsafe { format::encoded_len::<ResponseC>(message, len, error) }
}

/// Writes `*message` as one line ending in a bare `\n` at the start of
/// `out`, and its length in `*written`. Refuses what
/// `wireforms_response_encoded_len` refuses; a short `out` gets
/// `buffer_too_small` and nothing is written; `out` must not overlap the
/// fields (`WIREFORMS_STATUS_INVALID_ARGUMENT`).
///
/// # Safety
/// `message` points to a valid `wireforms_response` whose fields are readable;
/// `out` points to `out_len` writable bytes (may be NULL when `out_len` is
/// 0); `written` points to a writable `size_t`; `error` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn wireforms_response_emit(
    message: *const wireforms_response,
    out: *mut u8,
    out_len: usize,
    written: *mut usize,
    error: *mut wireforms_error,
) -> wireforms_status {
    // SAFETY: this function's contract is the one `format::emit` needs.
    unsafe { format::emit::<ResponseC>(message, out, out_len, written, error) }
}

impl Reply for RequestC {
    /// No line limit: the C function answers any request it is given.
    fn reply_limits() -> reqres::Limits {
        reqres::Limits::new(usize::MAX)
    }
}

/// The exact number of bytes `wireforms_request_reference_reply` writes
/// for `*request`, in `*len`.
///
/// # Safety
/// As `wireforms_request_encoded_len`.
#[no_mangle]
pub unsafe extern "C" fn wireforms_request_reference_reply_len(
    request: *const wireforms_request,
    len: *mut usize,
    error: *mut wireforms_error,
) -> wireforms_status {
    // SAFETY: this function's contract is the one `format::reply_len` needs.
    unsafe { format::reply_len::<RequestC>(request, len, error) }
}

/// Writes the reference server's response to `*request`
/// (`spec/reqres.md` §6: the same ID, status `OK`, and for `ECHO` the
/// arguments, `UPPER` them upper-cased, `REVERSE` them reversed, anything
/// else `Unknown command`), encoded as one line, at the start of `out`, and
/// its length in `*written`. The reply is built in memory the library
/// allocates and frees within the call (as every reference reply is: the
/// library's `reference::ReferenceServer`; nothing else in this API
/// allocates). All or nothing, as `wireforms_request_emit`.
///
/// # Safety
/// As `wireforms_request_emit`, with `request` for `message`.
#[no_mangle]
pub unsafe extern "C" fn wireforms_request_reference_reply(
    request: *const wireforms_request,
    out: *mut u8,
    out_len: usize,
    written: *mut usize,
    error: *mut wireforms_error,
) -> wireforms_status {
    // SAFETY: this function's contract is the one `format::reply` needs.
    unsafe { format::reply::<RequestC>(request, out, out_len, written, error) }
}
