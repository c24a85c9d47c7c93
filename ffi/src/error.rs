//! Status codes and the error record (`wireforms_error`).

use core::ffi::c_char;
use core::fmt::{self, Write as _};

use wireforms::{Error, ErrorKind};

/// What a call did. Every fallible function returns one.
///
/// Only `WIREFORMS_STATUS_OK` and `WIREFORMS_STATUS_INCOMPLETE` are
/// successes; every other status is a failure, described in `*error` when
/// the call was given one.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum wireforms_status {
    /// Done: a whole message was parsed, or bytes were written or measured.
    Ok = 0,
    /// The input is a valid prefix of a message and more bytes are needed
    /// (`*needed` says how many). This is not an error.
    Incomplete = 1,
    /// The input (or the message to write) is refused; `*error` names the
    /// error kind, its data and the spec section.
    Error = 2,
    /// A required pointer was NULL.
    NullPointer = 3,
    /// A pointer was not aligned for the type it points to.
    MisalignedPointer = 4,
    /// An argument no call can accept: a length over `PTRDIFF_MAX`, or an
    /// output buffer that overlaps the message it is asked to hold.
    InvalidArgument = 5,
    /// A bug in wireforms panicked; the panic was caught at the boundary
    /// and nothing unwound into the caller. Outputs other than `*error` are
    /// unspecified.
    Panic = 6,
}

impl wireforms_status {
    /// Every status, in code order.
    pub const ALL: [wireforms_status; 7] = [
        wireforms_status::Ok,
        wireforms_status::Incomplete,
        wireforms_status::Error,
        wireforms_status::NullPointer,
        wireforms_status::MisalignedPointer,
        wireforms_status::InvalidArgument,
        wireforms_status::Panic,
    ];

    /// The status's name, NUL-terminated, for messages.
    pub(crate) const fn name(self) -> &'static core::ffi::CStr {
        match self {
            wireforms_status::Ok => c"ok",
            wireforms_status::Incomplete => c"incomplete",
            wireforms_status::Error => c"error",
            wireforms_status::NullPointer => c"null_pointer",
            wireforms_status::MisalignedPointer => c"misaligned_pointer",
            wireforms_status::InvalidArgument => c"invalid_argument",
            wireforms_status::Panic => c"panic",
        }
    }
}

/// The stable error kinds of the specification (`spec/README.md`, "Error
/// taxonomy"), in its order. `wireforms_error_kind_name` gives the spec's
/// name of each (`"too_large"`, ...).
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum wireforms_error_kind {
    /// No wire error: the failure is in the call itself (a NULL pointer, a
    /// bad argument); the message says which.
    None = 0,
    /// `incomplete`: the input ended inside a message (datagrams).
    Incomplete = 1,
    /// `too_large`: a length over the limit (`len`, `max`).
    TooLarge = 2,
    /// `bad_magic`: a magic packet without `0xDEADBEEF` (`found`).
    BadMagic = 3,
    /// `bad_version`: a magic packet of another version (`found`).
    BadVersion = 4,
    /// `malformed`: a line with fewer than two `:` (`offset`).
    Malformed = 5,
    /// `line_too_long`: no `\n` within the line limit (`max`).
    LineTooLong = 6,
    /// `invalid_utf8`: a line that is not UTF-8 (`offset`).
    InvalidUtf8 = 7,
    /// `trailing_bytes`: a datagram with bytes after its message (`len`).
    TrailingBytes = 8,
    /// `invalid_field`: a field the format cannot carry (`field`).
    InvalidField = 9,
    /// `buffer_too_small`: an output buffer too short (`needed`, `available`).
    BufferTooSmall = 10,
    /// `io`: not reported by this library (no I/O here).
    Io = 11,
    /// `timeout`: not reported by this library.
    Timeout = 12,
    /// `closed`: not reported by this library.
    Closed = 13,
    /// `misuse`: not reported by this library.
    Misuse = 14,
    /// `limit_reached`: not reported by this library.
    LimitReached = 15,
    /// `internal`: an invariant of wireforms failed, or a panic was caught.
    Internal = 16,
}

impl wireforms_error_kind {
    /// The C kind of a library error kind.
    pub(crate) fn of(kind: ErrorKind) -> wireforms_error_kind {
        match kind {
            ErrorKind::Incomplete => wireforms_error_kind::Incomplete,
            ErrorKind::TooLarge => wireforms_error_kind::TooLarge,
            ErrorKind::BadMagic => wireforms_error_kind::BadMagic,
            ErrorKind::BadVersion => wireforms_error_kind::BadVersion,
            ErrorKind::Malformed => wireforms_error_kind::Malformed,
            ErrorKind::LineTooLong => wireforms_error_kind::LineTooLong,
            ErrorKind::InvalidUtf8 => wireforms_error_kind::InvalidUtf8,
            ErrorKind::TrailingBytes => wireforms_error_kind::TrailingBytes,
            ErrorKind::InvalidField => wireforms_error_kind::InvalidField,
            ErrorKind::BufferTooSmall => wireforms_error_kind::BufferTooSmall,
            ErrorKind::Io => wireforms_error_kind::Io,
            ErrorKind::Timeout => wireforms_error_kind::Timeout,
            ErrorKind::Closed => wireforms_error_kind::Closed,
            ErrorKind::Misuse => wireforms_error_kind::Misuse,
            ErrorKind::LimitReached => wireforms_error_kind::LimitReached,
            ErrorKind::Internal => wireforms_error_kind::Internal,
            // A kind added to the library after this ABI: a test
            // (`every_library_kind_has_a_c_kind`) catches it before release.
            _ => wireforms_error_kind::Internal,
        }
    }

    /// The kind with code `code`, if there is one.
    pub(crate) fn from_code(code: u32) -> Option<wireforms_error_kind> {
        if code == 0 {
            return Some(wireforms_error_kind::None);
        }
        ErrorKind::ALL
            .into_iter()
            .map(wireforms_error_kind::of)
            .find(|k| *k as u32 == code)
    }

    /// The spec's stable name of the kind, NUL-terminated (`"none"` for
    /// [`wireforms_error_kind::None`]).
    pub(crate) fn name(self) -> &'static core::ffi::CStr {
        match self {
            wireforms_error_kind::None => c"none",
            wireforms_error_kind::Incomplete => c"incomplete",
            wireforms_error_kind::TooLarge => c"too_large",
            wireforms_error_kind::BadMagic => c"bad_magic",
            wireforms_error_kind::BadVersion => c"bad_version",
            wireforms_error_kind::Malformed => c"malformed",
            wireforms_error_kind::LineTooLong => c"line_too_long",
            wireforms_error_kind::InvalidUtf8 => c"invalid_utf8",
            wireforms_error_kind::TrailingBytes => c"trailing_bytes",
            wireforms_error_kind::InvalidField => c"invalid_field",
            wireforms_error_kind::BufferTooSmall => c"buffer_too_small",
            wireforms_error_kind::Io => c"io",
            wireforms_error_kind::Timeout => c"timeout",
            wireforms_error_kind::Closed => c"closed",
            wireforms_error_kind::Misuse => c"misuse",
            wireforms_error_kind::LimitReached => c"limit_reached",
            wireforms_error_kind::Internal => c"internal",
        }
    }
}

/// `wireforms_error.details` bit: `len` holds a value.
pub const WIREFORMS_DETAIL_LEN: u32 = 1;
/// `wireforms_error.details` bit: `max` holds a value.
pub const WIREFORMS_DETAIL_MAX: u32 = 1 << 1;
/// `wireforms_error.details` bit: `found` holds a value.
pub const WIREFORMS_DETAIL_FOUND: u32 = 1 << 2;
/// `wireforms_error.details` bit: `offset` holds a value.
pub const WIREFORMS_DETAIL_OFFSET: u32 = 1 << 3;
/// `wireforms_error.details` bit: `needed` holds a value.
pub const WIREFORMS_DETAIL_NEEDED: u32 = 1 << 4;
/// `wireforms_error.details` bit: `available` holds a value.
pub const WIREFORMS_DETAIL_AVAILABLE: u32 = 1 << 5;

/// Room for a spec section id, its NUL included (`"reqres/5.3"`).
pub const WIREFORMS_SECTION_CAP: usize = 24;
/// Room for a field name, its NUL included (`"command"`).
pub const WIREFORMS_FIELD_CAP: usize = 16;
/// Room for the message, its NUL included; longer messages are cut.
pub const WIREFORMS_MESSAGE_CAP: usize = 160;

/// What went wrong, in full. Plain data: no pointers, nothing to free.
///
/// Written only when a call fails (any status but `OK` and `INCOMPLETE`);
/// left untouched otherwise. `details` says which of the numeric fields
/// hold a value (`WIREFORMS_DETAIL_*` bits), as the vectors' `errorDetail`
/// names them: `too_large` {len, max}, `bad_magic` / `bad_version`
/// {found}, `malformed` / `invalid_utf8` {offset, within the line},
/// `line_too_long` {max}, `trailing_bytes` {len}, `incomplete` {needed,
/// when known}, `buffer_too_small` {needed, available}.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct wireforms_error {
    /// The error kind (`wireforms_error_kind`); `NONE` for a failure of the
    /// call itself (NULL pointer, bad argument).
    pub kind: wireforms_error_kind,
    /// Which fields below hold a value (`WIREFORMS_DETAIL_*` bits).
    pub details: u32,
    /// A length found or asked for (`too_large`, `trailing_bytes`).
    pub len: u64,
    /// The largest length allowed (`too_large`, `line_too_long`).
    pub max: u64,
    /// The value found (`bad_magic`: the first 4 bytes; `bad_version`).
    pub found: u64,
    /// Byte offset of the problem within the line (`malformed`, `invalid_utf8`).
    pub offset: usize,
    /// Bytes needed (`incomplete`, when known; `buffer_too_small`).
    pub needed: usize,
    /// Bytes available (`buffer_too_small`).
    pub available: usize,
    /// The spec section broken, e.g. `"magic/5.2"`, NUL-terminated;
    /// empty when there is none.
    pub section: [c_char; WIREFORMS_SECTION_CAP],
    /// The field refused (`invalid_field`), NUL-terminated; else empty.
    pub field: [c_char; WIREFORMS_FIELD_CAP],
    /// A lower-case, human-readable message, NUL-terminated.
    pub message: [c_char; WIREFORMS_MESSAGE_CAP],
}

impl wireforms_error {
    fn empty(kind: wireforms_error_kind) -> wireforms_error {
        wireforms_error {
            kind,
            details: 0,
            len: 0,
            max: 0,
            found: 0,
            offset: 0,
            needed: 0,
            available: 0,
            section: [0; WIREFORMS_SECTION_CAP],
            field: [0; WIREFORMS_FIELD_CAP],
            message: [0; WIREFORMS_MESSAGE_CAP],
        }
    }

    /// The record of a library error.
    pub(crate) fn of(e: &Error) -> wireforms_error {
        let mut out = wireforms_error::empty(wireforms_error_kind::of(e.kind()));
        match *e {
            Error::Incomplete {
                needed: Some(n), ..
            } => out.set_needed(n),
            Error::TooLarge { len, max, .. } => {
                out.set_len(len);
                out.set_max(max);
            }
            Error::BadMagic { found, .. } => out.set_found(u64::from(found)),
            Error::BadVersion { found, .. } => out.set_found(u64::from(found)),
            Error::Malformed { offset, .. } | Error::InvalidUtf8 { offset, .. } => {
                out.offset = offset;
                out.details |= WIREFORMS_DETAIL_OFFSET;
            }
            Error::LineTooLong { max, .. } => out.set_max(max as u64),
            Error::TrailingBytes { len, .. } => out.set_len(len as u64),
            Error::InvalidField { field, .. } => copy_cstr(&mut out.field, field),
            Error::BufferTooSmall { needed, available } => {
                out.set_needed(needed);
                out.available = available;
                out.details |= WIREFORMS_DETAIL_AVAILABLE;
            }
            Error::LimitReached { max, .. } => out.set_max(max),
            _ => {}
        }
        if let Some(section) = e.section() {
            copy_cstr(&mut out.section, section);
        }
        out.set_message(format_args!("{e}"));
        out
    }

    /// The record of a failure of the call itself (`status` is neither
    /// `OK`, `INCOMPLETE` nor `ERROR`).
    pub(crate) fn of_call(status: wireforms_status, what: &str) -> wireforms_error {
        let mut out = wireforms_error::empty(wireforms_error_kind::None);
        let name = status.name().to_str().unwrap_or("failure");
        out.set_message(format_args!("{name}: {what}"));
        out
    }

    /// The record of a panic caught at the boundary.
    pub(crate) fn of_panic(payload: &(dyn core::any::Any + Send)) -> wireforms_error {
        let mut out = wireforms_error::empty(wireforms_error_kind::Internal);
        let text = payload
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
            .unwrap_or("(no message)");
        out.set_message(format_args!(
            "internal error (a wireforms bug): panic caught at the C boundary: {text}"
        ));
        out
    }

    fn set_len(&mut self, len: u64) {
        self.len = len;
        self.details |= WIREFORMS_DETAIL_LEN;
    }

    fn set_max(&mut self, max: u64) {
        self.max = max;
        self.details |= WIREFORMS_DETAIL_MAX;
    }

    fn set_found(&mut self, found: u64) {
        self.found = found;
        self.details |= WIREFORMS_DETAIL_FOUND;
    }

    fn set_needed(&mut self, needed: usize) {
        self.needed = needed;
        self.details |= WIREFORMS_DETAIL_NEEDED;
    }

    fn set_message(&mut self, args: fmt::Arguments<'_>) {
        let mut writer = Truncating {
            out: &mut self.message,
            len: 0,
        };
        // Truncating never fails; a message cut short is still a message.
        let _ = writer.write_fmt(args);
    }
}

/// Copies `text` into `out` as a NUL-terminated C string, cut at a char
/// boundary when it does not fit.
fn copy_cstr(out: &mut [c_char], text: &str) {
    let mut writer = Truncating { out, len: 0 };
    let _ = writer.write_str(text);
}

/// A `fmt::Write` into a fixed C string buffer that keeps the first bytes
/// that fit (whole chars only) and always leaves a NUL after them.
struct Truncating<'a> {
    out: &'a mut [c_char],
    len: usize,
}

impl fmt::Write for Truncating<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        // One byte stays for the NUL.
        let room = self.out.len().saturating_sub(self.len + 1);
        let mut take = s.len().min(room);
        while !s.is_char_boundary(take) {
            take -= 1;
        }
        for (slot, &byte) in self.out[self.len..].iter_mut().zip(&s.as_bytes()[..take]) {
            *slot = byte as c_char;
        }
        self.len += take;
        if let Some(nul) = self.out.get_mut(self.len) {
            *nul = 0;
        }
        Ok(())
    }
}
