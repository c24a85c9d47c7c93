//! The crate's one error model.
//!
//! Every failure, from a bad magic number to a timed-out socket, is an
//! [`Error`]. Each variant maps to exactly one [`ErrorKind`], whose stable
//! lower-case name ([`ErrorKind::as_str`]) is the one used by the
//! specification, the conformance vectors (`spec/vectors/`) and the
//! command-line tool, so that a spec clause, a vector and an error can be
//! traced to each other. Wire errors also carry the spec section they break
//! (for example `"magic/5.2"`, section 5.2 of `spec/magic.md`).

use core::fmt;

/// Everything that can go wrong, in parsing, encoding or transport.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The input ended inside a message. The parsers report a short input as
    /// [`Status::Incomplete`](crate::Status::Incomplete); this error is for
    /// callers that know no more bytes will come (end of stream, a datagram).
    Incomplete {
        /// How many more bytes would have been needed, when known.
        needed: Option<usize>,
        /// Spec section, e.g. `"frame/5.1"`.
        section: &'static str,
    },
    /// A length field (or a payload given to a serializer) exceeds the
    /// configured or format maximum.
    TooLarge {
        /// The length found (or asked for).
        len: u64,
        /// The largest length allowed.
        max: u64,
        /// Spec section.
        section: &'static str,
    },
    /// A magic header packet that does not start with `0xDEADBEEF`.
    BadMagic {
        /// The 32-bit value found where the magic belongs.
        found: u32,
        /// Spec section.
        section: &'static str,
    },
    /// A magic header packet with a version this implementation does not speak.
    BadVersion {
        /// The version byte found.
        found: u8,
        /// Spec section.
        section: &'static str,
    },
    /// A structurally invalid message (e.g. a request line with fewer than
    /// two `:`).
    Malformed {
        /// What is wrong, in a few words.
        reason: &'static str,
        /// Byte offset of the problem from the start of the message.
        offset: usize,
        /// Spec section.
        section: &'static str,
    },
    /// A text line longer than the configured maximum, detected without
    /// buffering more than the maximum.
    LineTooLong {
        /// The maximum line length in bytes, its line ending included.
        max: usize,
        /// Spec section.
        section: &'static str,
    },
    /// A text field that is not valid UTF-8.
    InvalidUtf8 {
        /// Byte offset of the first invalid byte from the start of the line.
        offset: usize,
        /// Spec section.
        section: &'static str,
    },
    /// A datagram that holds more bytes than the one message it carries.
    TrailingBytes {
        /// How many bytes follow the message.
        len: usize,
        /// Spec section.
        section: &'static str,
    },
    /// A value handed to a serializer that the format cannot carry
    /// (e.g. a request ID containing `:`).
    InvalidField {
        /// The field's name.
        field: &'static str,
        /// Why it cannot be encoded.
        reason: &'static str,
        /// Spec section.
        section: &'static str,
    },
    /// A serializer was given an output buffer shorter than
    /// `encoded_len()`.
    BufferTooSmall {
        /// Bytes the message needs.
        needed: usize,
        /// Bytes the buffer has.
        available: usize,
    },
    /// An I/O error from the transport.
    #[cfg(feature = "std")]
    Io(std::io::Error),
    /// A read, write, call or shutdown deadline passed.
    Timeout {
        /// What timed out, e.g. `"idle read"`.
        what: &'static str,
    },
    /// The connection, session or channel is closed.
    Closed {
        /// What was closed and why, in a few words.
        reason: &'static str,
    },
    /// A session was asked to do what its contract forbids (a mux channel
    /// opened while it is open already). Nothing was changed.
    Misuse {
        /// What was asked, in a few words.
        reason: &'static str,
    },
    /// A session bound was reached (open channels, pending calls). Nothing
    /// was changed; the call may succeed once others end.
    LimitReached {
        /// What is bounded, e.g. `"open channels"`.
        what: &'static str,
        /// The bound.
        max: u64,
    },
    /// An internal invariant failed: a bug in wireforms, never the peer's
    /// doing. Reported instead of a panic.
    Internal {
        /// The invariant that failed.
        reason: &'static str,
    },
}

/// The stable, format-independent classification of an [`Error`].
///
/// The names returned by [`as_str`](ErrorKind::as_str) are part of the
/// specification (`spec/README.md`, "Error taxonomy") and never change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// `incomplete`
    Incomplete,
    /// `too_large`
    TooLarge,
    /// `bad_magic`
    BadMagic,
    /// `bad_version`
    BadVersion,
    /// `malformed`
    Malformed,
    /// `line_too_long`
    LineTooLong,
    /// `invalid_utf8`
    InvalidUtf8,
    /// `trailing_bytes`
    TrailingBytes,
    /// `invalid_field`
    InvalidField,
    /// `buffer_too_small`
    BufferTooSmall,
    /// `io`
    Io,
    /// `timeout`
    Timeout,
    /// `closed`
    Closed,
    /// `misuse`
    Misuse,
    /// `limit_reached`
    LimitReached,
    /// `internal`
    Internal,
}

impl ErrorKind {
    /// Every kind, in taxonomy order.
    pub const ALL: [ErrorKind; 16] = [
        ErrorKind::Incomplete,
        ErrorKind::TooLarge,
        ErrorKind::BadMagic,
        ErrorKind::BadVersion,
        ErrorKind::Malformed,
        ErrorKind::LineTooLong,
        ErrorKind::InvalidUtf8,
        ErrorKind::TrailingBytes,
        ErrorKind::InvalidField,
        ErrorKind::BufferTooSmall,
        ErrorKind::Io,
        ErrorKind::Timeout,
        ErrorKind::Closed,
        ErrorKind::Misuse,
        ErrorKind::LimitReached,
        ErrorKind::Internal,
    ];

    /// The kind's stable name, as used in the spec and the vectors.
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Incomplete => "incomplete",
            ErrorKind::TooLarge => "too_large",
            ErrorKind::BadMagic => "bad_magic",
            ErrorKind::BadVersion => "bad_version",
            ErrorKind::Malformed => "malformed",
            ErrorKind::LineTooLong => "line_too_long",
            ErrorKind::InvalidUtf8 => "invalid_utf8",
            ErrorKind::TrailingBytes => "trailing_bytes",
            ErrorKind::InvalidField => "invalid_field",
            ErrorKind::BufferTooSmall => "buffer_too_small",
            ErrorKind::Io => "io",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Closed => "closed",
            ErrorKind::Misuse => "misuse",
            ErrorKind::LimitReached => "limit_reached",
            ErrorKind::Internal => "internal",
        }
    }

    /// The kind named `name`, if there is one.
    pub fn from_name(name: &str) -> Option<ErrorKind> {
        ErrorKind::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Error {
    /// The stable classification of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Incomplete { .. } => ErrorKind::Incomplete,
            Error::TooLarge { .. } => ErrorKind::TooLarge,
            Error::BadMagic { .. } => ErrorKind::BadMagic,
            Error::BadVersion { .. } => ErrorKind::BadVersion,
            Error::Malformed { .. } => ErrorKind::Malformed,
            Error::LineTooLong { .. } => ErrorKind::LineTooLong,
            Error::InvalidUtf8 { .. } => ErrorKind::InvalidUtf8,
            Error::TrailingBytes { .. } => ErrorKind::TrailingBytes,
            Error::InvalidField { .. } => ErrorKind::InvalidField,
            Error::BufferTooSmall { .. } => ErrorKind::BufferTooSmall,
            #[cfg(feature = "std")]
            Error::Io(_) => ErrorKind::Io,
            Error::Timeout { .. } => ErrorKind::Timeout,
            Error::Closed { .. } => ErrorKind::Closed,
            Error::Misuse { .. } => ErrorKind::Misuse,
            Error::LimitReached { .. } => ErrorKind::LimitReached,
            Error::Internal { .. } => ErrorKind::Internal,
        }
    }

    /// The spec section this error reports a breach of (e.g. `"mux/4.1"`),
    /// for wire errors; `None` for transport errors.
    pub fn section(&self) -> Option<&'static str> {
        match self {
            Error::Incomplete { section, .. }
            | Error::TooLarge { section, .. }
            | Error::BadMagic { section, .. }
            | Error::BadVersion { section, .. }
            | Error::Malformed { section, .. }
            | Error::LineTooLong { section, .. }
            | Error::InvalidUtf8 { section, .. }
            | Error::TrailingBytes { section, .. }
            | Error::InvalidField { section, .. } => Some(section),
            #[cfg(feature = "std")]
            Error::Io(_) => None,
            Error::BufferTooSmall { .. }
            | Error::Timeout { .. }
            | Error::Closed { .. }
            | Error::Misuse { .. }
            | Error::LimitReached { .. }
            | Error::Internal { .. } => None,
        }
    }

    /// The byte offset of the problem within the message, where the error has one.
    pub fn offset(&self) -> Option<usize> {
        match self {
            Error::Malformed { offset, .. } | Error::InvalidUtf8 { offset, .. } => Some(*offset),
            _ => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Incomplete {
                needed: Some(n), ..
            } => write!(f, "input ended inside a message ({n} more bytes needed)")?,
            Error::Incomplete { needed: None, .. } => {
                f.write_str("input ended inside a message")?
            }
            Error::TooLarge { len, max, .. } => {
                write!(f, "length {len} exceeds the maximum of {max}")?
            }
            Error::BadMagic { found, .. } => {
                write!(f, "bad magic 0x{found:08x} (expected 0xdeadbeef)")?
            }
            Error::BadVersion { found, .. } => write!(f, "unsupported version {found}")?,
            Error::Malformed { reason, offset, .. } => {
                write!(f, "malformed message at byte {offset}: {reason}")?
            }
            Error::LineTooLong { max, .. } => {
                write!(f, "line longer than the maximum of {max} bytes")?
            }
            Error::InvalidUtf8 { offset, .. } => write!(f, "invalid UTF-8 at byte {offset}")?,
            Error::TrailingBytes { len, .. } => {
                write!(f, "{len} unexpected bytes after the message")?
            }
            Error::InvalidField { field, reason, .. } => {
                write!(f, "field `{field}` cannot be encoded: {reason}")?
            }
            Error::BufferTooSmall { needed, available } => write!(
                f,
                "output buffer of {available} bytes is too small for {needed}"
            )?,
            #[cfg(feature = "std")]
            Error::Io(e) => write!(f, "i/o error: {e}")?,
            Error::Timeout { what } => write!(f, "{what} timed out")?,
            Error::Closed { reason } => f.write_str(reason)?,
            Error::Misuse { reason } => write!(f, "session misuse: {reason}")?,
            Error::LimitReached { what, max } => write!(f, "too many {what} (at most {max})")?,
            Error::Internal { reason } => write!(f, "internal error (a wireforms bug): {reason}")?,
        }
        if let Some(section) = self.section() {
            write!(f, " (spec {section})")?;
        }
        Ok(())
    }
}

impl core::error::Error for Error {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            #[cfg(feature = "std")]
            Error::Io(e) => Some(e),
            _ => None,
        }
    }
}

#[cfg(feature = "std")]
impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Io(e)
    }
}

#[cfg(feature = "std")]
impl From<Error> for std::io::Error {
    fn from(e: Error) -> Self {
        match e {
            Error::Io(e) => e,
            Error::Timeout { .. } => std::io::Error::new(std::io::ErrorKind::TimedOut, e),
            Error::Closed { .. } => std::io::Error::new(std::io::ErrorKind::BrokenPipe, e),
            Error::Incomplete { .. } => std::io::Error::new(std::io::ErrorKind::UnexpectedEof, e),
            Error::LimitReached { .. } => std::io::Error::new(std::io::ErrorKind::WouldBlock, e),
            Error::Misuse { .. } => std::io::Error::new(std::io::ErrorKind::InvalidInput, e),
            Error::Internal { .. } => std::io::Error::other(e),
            other => std::io::Error::new(std::io::ErrorKind::InvalidData, other),
        }
    }
}
