//! ID request/response lines (`spec/reqres.md`).
//!
//! One text line per message. A request names an ID, a command and its
//! arguments; the response repeats the ID and carries a status and data:
//!
//! ```text
//! request-line  = id ":" command ":" args [CR] LF
//! response-line = id ":" status  ":" data [CR] LF
//!
//! id            = *( scalar except ":" )    ; may be empty
//! command       = *( scalar except ":" )    ; may be empty, case-sensitive
//! status        = *( scalar except ":" )    ; "OK" from the reference server
//! args          = *( scalar except LF )     ; may contain ":"
//! data          = *( scalar except LF )     ; may contain ":"
//! scalar        = any Unicode scalar value, UTF-8 encoded
//!
//! "1:ECHO:hello\n"  ->  "1:OK:hello\n"
//! ```
//!
//! The line is split at its first two `:`; everything after the second
//! belongs to ARGS (or DATA). One `CR` before the `LF` is stripped
//! (spec §5.5), so `1:ECHO:hi\r\n` parses like `1:ECHO:hi\n`; such a line
//! is accepted but not canonical: the serializers always end a line with a
//! bare `LF`.
//!
//! # Limits
//! A receiver accepts lines of at most [`Limits::max_line_len`] bytes
//! ([`DEFAULT_MAX_LINE_LEN`], 65,536), counting the whole line *including*
//! its `LF` and any `CR` (spec §3, §5.2). This matches the guide's Go server
//! (`bufio.Scanner`), which refuses a line of 65,536 bytes or more before its
//! `LF`. The parser looks for the `LF` only within the first
//! `max_line_len` bytes, so a peer that never sends one is refused with
//! [`Error::LineTooLong`] as soon as `max_line_len` bytes are buffered, never
//! later.
//!
//! # Invalid UTF-8
//! Every field is text. A line that is not valid UTF-8 is rejected with
//! [`Error::InvalidUtf8`] carrying the offset of the first bad byte
//! (spec §5.4). The guide's Go server instead replaces each bad byte with
//! U+FFFD; we reject because silently changing bytes loses data the sender
//! meant to send, and the reply would no longer describe the request.
//!
//! # Errors and the parsing contract
//! Parsing never panics, reads nothing past the first `LF` and takes time
//! linear in the line. A line without its `LF` yet is
//! [`Status::Incomplete`] with [`Needed::Unknown`]; a codec that parses a
//! growing buffer again after each read can find the line end with
//! [`split_line`], passing how far it already looked, so that a line
//! trickling in one byte at a time is still scanned once.
//! Otherwise, in this order: [`Error::LineTooLong`] (§5.2),
//! [`Error::InvalidUtf8`] (§5.4), [`Error::Malformed`] when the line has
//! fewer than two `:` (§5.3, offset = the line's length without its ending).
//! On a byte stream each of these ends the stream (spec §7.1): the reference
//! server closes the connection, where the guide's server ignores a
//! malformed line and leaves the client waiting.
//!
//! The serializers refuse, with [`Error::InvalidField`] (spec §4.1), an ID
//! or command/status containing `:` or `LF`, and args/data containing
//! `LF` or ending with `CR`. A `:` or `LF` would move the field boundaries
//! and a final `CR` would be stripped as part of the line ending. A `CR`
//! elsewhere is text: a server must be able to echo any ID it was sent.
//!
//! ```
//! use wireforms::reqres::{Limits, Request, Response};
//! use wireforms::{Encode, Status};
//!
//! let request = Request { id: "7", command: "ECHO", args: "a:b" };
//! let line = request.to_bytes()?;
//! assert_eq!(&line[..], b"7:ECHO:a:b\n");
//! assert_eq!(line.len(), request.encoded_len());
//! let parsed = Request::parse(&line, &Limits::default())?;
//! assert_eq!(parsed, Status::Complete(request, 11));
//!
//! let reply = b"7:OK:a:b\n";
//! let response = Response::parse(reply, &Limits::default())?;
//! assert_eq!(response, Status::Complete(Response { id: "7", status: "OK", data: "a:b" }, 9));
//! # Ok::<(), wireforms::Error>(())
//! ```
//!
//! With the `alloc` feature, [`RequestBuf`] and [`ResponseBuf`] own their
//! fields as [`Text`], which shares the codec's read buffer instead of
//! copying it. What the reference server answers (spec §6) is in
//! [`reference`](crate::reference).
//!
//! [`Needed::Unknown`]: crate::Needed::Unknown

use nom::bytes::complete::{tag, take_till};
use nom::combinator::rest;
use nom::sequence::terminated;
use nom::Parser;

use crate::wire::{check_room, Encode, LengthLimit, Needed, Status, WireFormat};
use crate::Error;

#[cfg(feature = "alloc")]
mod owned;
#[cfg(feature = "alloc")]
mod text;

#[cfg(feature = "alloc")]
pub use owned::{RequestBuf, ResponseBuf};
#[cfg(feature = "alloc")]
pub use text::Text;

/// Default longest line a receiver accepts, in bytes, counting its `LF` and
/// any `CR` (spec §3). The guide's Go server refuses 65,536 bytes or more
/// before the `LF`; this bounds what one peer can make us buffer.
pub const DEFAULT_MAX_LINE_LEN: usize = 65_536;

/// The byte that separates the fields.
const SEPARATOR: u8 = b':';
const LF: u8 = b'\n';
const CR: u8 = b'\r';

pub(crate) mod section {
    pub const INCOMPLETE: &str = "reqres/5.1";
    pub const LINE_TOO_LONG: &str = "reqres/5.2";
    pub const MALFORMED: &str = "reqres/5.3";
    pub const INVALID_UTF8: &str = "reqres/5.4";
    pub const SENDER_FIELD: &str = "reqres/4.1";
    pub const SENDER_LIMIT: &str = "reqres/4";
    pub const DATAGRAM: &str = "reqres/7.2";
}

/// What a receiver enforces.
///
/// Non-exhaustive, so that a limit can be added without breaking callers:
/// build it with [`Limits::new`] or [`Limits::default`] and set fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Longest line accepted, in bytes, including its `LF` and any `CR`.
    /// Zero refuses every line.
    pub max_line_len: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_line_len: DEFAULT_MAX_LINE_LEN,
        }
    }
}

impl Limits {
    /// Limits with `max_line_len` and every other limit (none yet) at its default.
    pub const fn new(max_line_len: usize) -> Self {
        Limits { max_line_len }
    }
}

/// The limit is the whole line, its `LF` and any `CR` included.
impl LengthLimit for Limits {
    fn max_len(&self) -> usize {
        self.max_line_len
    }

    fn set_max_len(&mut self, max: usize) {
        self.max_line_len = max;
    }
}

/// Finds the end of the first line of `input`.
///
/// Returns `Complete(line, len)`: the line without its `LF` and without
/// one `CR` before it, and the number of bytes it takes including its
/// ending. Bytes before `scanned` are taken to hold no `LF` (a caller that
/// got `Incomplete` for a shorter prefix passes that prefix's length), so
/// a codec that calls this as bytes trickle in scans each byte once.
/// The line's content is not checked; [`Request::parse`] and
/// [`Response::parse`] do that.
///
/// # Errors
/// [`Error::LineTooLong`] when the first `limits.max_line_len` bytes hold
/// no `LF`.
pub fn split_line<'a>(
    input: &'a [u8],
    scanned: usize,
    limits: &Limits,
) -> Result<Status<&'a [u8]>, Error> {
    // spec §5.2: look no further than the limit, so an endless line is
    // refused after max_line_len bytes instead of being buffered.
    let window = &input[..input.len().min(limits.max_line_len)];
    let from = scanned.min(window.len());
    match memchr::memchr(LF, &window[from..]) {
        Some(i) => {
            let end = from + i;
            let line = &input[..end];
            let line = line.strip_suffix(&[CR]).unwrap_or(line);
            // end < window.len() <= input.len(), so end + 1 cannot overflow.
            Ok(Status::Complete(line, end + 1))
        }
        None if input.len() >= limits.max_line_len => Err(Error::LineTooLong {
            max: limits.max_line_len,
            section: section::LINE_TOO_LONG,
        }),
        None => Ok(Status::Incomplete(Needed::Unknown)),
    }
}

/// The three fields of a line, before they are named.
type Fields<'a> = (&'a str, &'a str, &'a str);

/// The one line parser behind [`Request::parse`] and [`Response::parse`].
fn parse_fields<'a>(
    input: &'a [u8],
    scanned: usize,
    limits: &Limits,
) -> Result<Status<Fields<'a>>, Error> {
    let (line, len) = match split_line(input, scanned, limits)? {
        Status::Complete(line, len) => (line, len),
        Status::Incomplete(needed) => return Ok(Status::Incomplete(needed)),
    };
    line_fields(line).map(|fields| Status::Complete(fields, len))
}

/// The fields of a datagram that holds one line, whose final `LF` may be
/// left out (spec §7.2): without it, the line is the whole datagram and
/// still counts an `LF` towards the limit, as if the sender had sent one.
fn datagram_fields<'a>(datagram: &'a [u8], limits: &Limits) -> Result<Fields<'a>, Error> {
    match parse_fields(datagram, 0, limits)? {
        Status::Complete(fields, len) if len == datagram.len() => Ok(fields),
        Status::Complete(_, len) => Err(Error::TrailingBytes {
            len: datagram.len().saturating_sub(len),
            section: section::DATAGRAM,
        }),
        // An empty datagram holds no line at all (a zero limit refused it
        // above, as a stream's end does).
        Status::Incomplete(_) if datagram.is_empty() => Err(Error::Incomplete {
            needed: None,
            section: section::INCOMPLETE,
        }),
        // No LF, and fewer than max_line_len bytes (else split_line refused
        // them): with its LF the line is within the limit.
        Status::Incomplete(_) => line_fields(datagram.strip_suffix(&[CR]).unwrap_or(datagram)),
    }
}

/// Checks and splits a line, its ending already removed.
fn line_fields<'a>(line: &'a [u8]) -> Result<Fields<'a>, Error> {
    // spec §5.4: reject, never replace, bytes that are not UTF-8.
    let line = core::str::from_utf8(line).map_err(|e| Error::InvalidUtf8 {
        offset: e.valid_up_to(),
        section: section::INVALID_UTF8,
    })?;
    // spec §5.3: split at the first two ':'; the rest may hold more.
    let mut fields = (
        terminated(take_till(|c| c == ':'), tag(":")),
        terminated(take_till(|c| c == ':'), tag(":")),
        rest,
    );
    let parsed: nom::IResult<&str, Fields<'a>, nom::error::Error<&str>> = fields.parse(line);
    match parsed {
        Ok((_, fields)) => Ok(fields),
        Err(_) => Err(Error::Malformed {
            reason: "fewer than two ':'",
            offset: line.len(),
            section: section::MALFORMED,
        }),
    }
}

/// The names of a format's three fields, for serializer errors.
pub(crate) type FieldNames = [&'static str; 3];

pub(crate) const REQUEST_FIELDS: FieldNames = ["id", "command", "args"];
pub(crate) const RESPONSE_FIELDS: FieldNames = ["id", "status", "data"];

fn invalid(field: &'static str, reason: &'static str) -> Error {
    Error::InvalidField {
        field,
        reason,
        section: section::SENDER_FIELD,
    }
}

/// The three fields as bytes: serializing needs no UTF-8 view, and the
/// owned fields would validate theirs again for one.
pub(crate) type RawFields<'a> = (&'a [u8], &'a [u8], &'a [u8]);

fn raw(fields: Fields<'_>) -> RawFields<'_> {
    (
        fields.0.as_bytes(),
        fields.1.as_bytes(),
        fields.2.as_bytes(),
    )
}

/// spec §4.1: refuse what would parse back as a different line.
pub(crate) fn check_fields(fields: RawFields<'_>, names: FieldNames) -> Result<(), Error> {
    let (first, second, last) = fields;
    for (bytes, name) in [(first, names[0]), (second, names[1])] {
        if bytes.contains(&SEPARATOR) {
            return Err(invalid(name, "contains ':'"));
        }
        if bytes.contains(&LF) {
            return Err(invalid(name, "contains a line feed"));
        }
    }
    if last.contains(&LF) {
        return Err(invalid(names[2], "contains a line feed"));
    }
    // A final CR would be taken for the line ending and stripped.
    if last.last() == Some(&CR) {
        return Err(invalid(names[2], "ends with a carriage return"));
    }
    Ok(())
}

pub(crate) fn encoded_len(fields: RawFields<'_>) -> usize {
    let (first, second, last) = fields;
    // Two separators and the LF.
    3usize
        .saturating_add(first.len())
        .saturating_add(second.len())
        .saturating_add(last.len())
}

/// The pieces of the line, in order.
fn pieces(fields: RawFields<'_>) -> [&[u8]; 6] {
    let (first, second, last) = fields;
    [first, &[SEPARATOR], second, &[SEPARATOR], last, &[LF]]
}

/// Appends the line to `buf` (no zero-fill of the room first).
#[cfg(feature = "alloc")]
pub(crate) fn encode_fields(
    fields: RawFields<'_>,
    names: FieldNames,
    buf: &mut bytes::BytesMut,
) -> Result<(), Error> {
    check_fields(fields, names)?;
    append_fields(fields, buf);
    Ok(())
}

/// Appends fields already checked (or proven by their marks) to `buf`.
#[cfg(feature = "alloc")]
pub(crate) fn append_fields(fields: RawFields<'_>, buf: &mut bytes::BytesMut) {
    use bytes::BufMut;
    let (first, second, last) = fields;
    buf.reserve(encoded_len(fields));
    // Single bytes as bytes: a `memcpy` call per separator costs more than
    // the copy of a short field.
    buf.extend_from_slice(first);
    buf.put_u8(SEPARATOR);
    buf.extend_from_slice(second);
    buf.put_u8(SEPARATOR);
    buf.extend_from_slice(last);
    buf.put_u8(LF);
}

pub(crate) fn emit_fields(
    fields: RawFields<'_>,
    names: FieldNames,
    out: &mut [u8],
) -> Result<usize, Error> {
    check_fields(fields, names)?;
    write_fields(fields, out)
}

/// Writes fields already checked at the start of `out`.
pub(crate) fn write_fields(fields: RawFields<'_>, out: &mut [u8]) -> Result<usize, Error> {
    let len = encoded_len(fields);
    check_room(out, len)?;
    let mut at = 0;
    for piece in pieces(fields) {
        out[at..at + piece.len()].copy_from_slice(piece);
        at += piece.len();
    }
    Ok(len)
}

/// A request line, borrowing its fields from the input.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Request<'a> {
    /// Request ID, echoed by the response; may be empty.
    pub id: &'a str,
    /// Command name (`ECHO`, `UPPER`, `REVERSE` on the reference server).
    pub command: &'a str,
    /// Arguments: the rest of the line, `:` included.
    pub args: &'a str,
}

impl<'a> Request<'a> {
    /// Parses one request line from the front of `input`.
    ///
    /// # Errors
    /// [`Error::LineTooLong`], [`Error::InvalidUtf8`] or
    /// [`Error::Malformed`]; see the [module docs](self).
    pub fn parse(input: &'a [u8], limits: &Limits) -> Result<Status<Request<'a>>, Error> {
        Ok(
            parse_fields(input, 0, limits)?.map(|(id, command, args)| Request {
                id,
                command,
                args,
            }),
        )
    }

    fn fields(&self) -> Fields<'a> {
        (self.id, self.command, self.args)
    }
}

impl Encode for Request<'_> {
    fn encoded_len(&self) -> usize {
        encoded_len(raw(self.fields()))
    }

    fn check(&self) -> Result<(), Error> {
        check_fields(raw(self.fields()), REQUEST_FIELDS)
    }

    fn emit(&self, out: &mut [u8]) -> Result<usize, Error> {
        emit_fields(raw(self.fields()), REQUEST_FIELDS, out)
    }

    #[cfg(feature = "alloc")]
    fn encode(&self, buf: &mut bytes::BytesMut) -> Result<(), Error> {
        encode_fields(raw(self.fields()), REQUEST_FIELDS, buf)
    }
}

/// A response line, borrowing its fields from the input.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Response<'a> {
    /// The ID of the request this answers.
    pub id: &'a str,
    /// Status (`OK` from the reference server, or `ERR` when the line
    /// cannot carry the result, spec §6).
    pub status: &'a str,
    /// Result data: the rest of the line, `:` included.
    pub data: &'a str,
}

impl<'a> Response<'a> {
    /// Parses one response line from the front of `input`.
    ///
    /// # Errors
    /// [`Error::LineTooLong`], [`Error::InvalidUtf8`] or
    /// [`Error::Malformed`]; see the [module docs](self).
    pub fn parse(input: &'a [u8], limits: &Limits) -> Result<Status<Response<'a>>, Error> {
        Ok(parse_fields(input, 0, limits)?.map(|(id, status, data)| Response { id, status, data }))
    }

    fn fields(&self) -> Fields<'a> {
        (self.id, self.status, self.data)
    }
}

impl Encode for Response<'_> {
    fn encoded_len(&self) -> usize {
        encoded_len(raw(self.fields()))
    }

    fn check(&self) -> Result<(), Error> {
        check_fields(raw(self.fields()), RESPONSE_FIELDS)
    }

    fn emit(&self, out: &mut [u8]) -> Result<usize, Error> {
        emit_fields(raw(self.fields()), RESPONSE_FIELDS, out)
    }

    #[cfg(feature = "alloc")]
    fn encode(&self, buf: &mut bytes::BytesMut) -> Result<(), Error> {
        encode_fields(raw(self.fields()), RESPONSE_FIELDS, buf)
    }
}

/// [`WireFormat`] marker for request lines.
#[derive(Clone, Copy, Debug, Default)]
pub struct RequestLine;

impl WireFormat for RequestLine {
    const NAME: &'static str = "request";
    const INCOMPLETE_SECTION: &'static str = section::INCOMPLETE;
    // A line has no header: its limit is checked on every byte.
    const FIXED_HEADER_LEN: usize = 0;
    const SENDER_LIMIT_SECTION: &'static str = section::SENDER_LIMIT;
    const DATAGRAM_SECTION: &'static str = section::DATAGRAM;
    type Limits = Limits;
    type Message<'a> = Request<'a>;
    #[cfg(feature = "alloc")]
    type Owned = RequestBuf;

    fn parse<'a>(input: &'a [u8], limits: &Limits) -> Result<Status<Request<'a>>, Error> {
        Request::parse(input, limits)
    }

    fn parse_from<'a>(
        input: &'a [u8],
        limits: &Limits,
        scanned: usize,
    ) -> Result<Status<Request<'a>>, Error> {
        Ok(
            parse_fields(input, scanned, limits)?.map(|(id, command, args)| Request {
                id,
                command,
                args,
            }),
        )
    }

    fn parse_datagram<'a>(datagram: &'a [u8], limits: &Limits) -> Result<Request<'a>, Error> {
        let (id, command, args) = datagram_fields(datagram, limits)?;
        Ok(Request { id, command, args })
    }

    /// One pass: the line is split and each field checked once, not
    /// parsed and then parsed again from the split bytes.
    #[cfg(feature = "alloc")]
    fn decode_owned(
        src: &mut bytes::BytesMut,
        limits: &Limits,
        scanned: usize,
    ) -> Result<Status<RequestBuf>, Error> {
        Ok(
            owned::split_fields(src, limits, scanned)?.map(|(id, command, args)| RequestBuf {
                id,
                command,
                args,
            }),
        )
    }

    #[cfg(feature = "alloc")]
    fn to_owned_in(message: &Request<'_>, frame: &bytes::Bytes) -> RequestBuf {
        RequestBuf {
            id: Text::slice_in(frame, message.id),
            command: Text::slice_in(frame, message.command),
            args: Text::slice_in(frame, message.args),
        }
    }

    #[cfg(feature = "alloc")]
    fn to_owned_copy(message: &Request<'_>) -> RequestBuf {
        RequestBuf::from(*message)
    }

    #[cfg(feature = "alloc")]
    fn as_message(owned: &RequestBuf) -> Request<'_> {
        owned.as_message()
    }
}

/// [`WireFormat`] marker for response lines.
#[derive(Clone, Copy, Debug, Default)]
pub struct ResponseLine;

impl WireFormat for ResponseLine {
    const NAME: &'static str = "response";
    const INCOMPLETE_SECTION: &'static str = section::INCOMPLETE;
    // A line has no header: its limit is checked on every byte.
    const FIXED_HEADER_LEN: usize = 0;
    const SENDER_LIMIT_SECTION: &'static str = section::SENDER_LIMIT;
    const DATAGRAM_SECTION: &'static str = section::DATAGRAM;
    type Limits = Limits;
    type Message<'a> = Response<'a>;
    #[cfg(feature = "alloc")]
    type Owned = ResponseBuf;

    fn parse<'a>(input: &'a [u8], limits: &Limits) -> Result<Status<Response<'a>>, Error> {
        Response::parse(input, limits)
    }

    fn parse_from<'a>(
        input: &'a [u8],
        limits: &Limits,
        scanned: usize,
    ) -> Result<Status<Response<'a>>, Error> {
        Ok(
            parse_fields(input, scanned, limits)?.map(|(id, status, data)| Response {
                id,
                status,
                data,
            }),
        )
    }

    fn parse_datagram<'a>(datagram: &'a [u8], limits: &Limits) -> Result<Response<'a>, Error> {
        let (id, status, data) = datagram_fields(datagram, limits)?;
        Ok(Response { id, status, data })
    }

    /// One pass: the line is split and each field checked once, not
    /// parsed and then parsed again from the split bytes.
    #[cfg(feature = "alloc")]
    fn decode_owned(
        src: &mut bytes::BytesMut,
        limits: &Limits,
        scanned: usize,
    ) -> Result<Status<ResponseBuf>, Error> {
        Ok(
            owned::split_fields(src, limits, scanned)?.map(|(id, status, data)| ResponseBuf {
                id,
                status,
                data,
            }),
        )
    }

    #[cfg(feature = "alloc")]
    fn to_owned_in(message: &Response<'_>, frame: &bytes::Bytes) -> ResponseBuf {
        ResponseBuf {
            id: Text::slice_in(frame, message.id),
            status: Text::slice_in(frame, message.status),
            data: Text::slice_in(frame, message.data),
        }
    }

    #[cfg(feature = "alloc")]
    fn to_owned_copy(message: &Response<'_>) -> ResponseBuf {
        ResponseBuf::from(*message)
    }

    #[cfg(feature = "alloc")]
    fn as_message(owned: &ResponseBuf) -> Response<'_> {
        owned.as_message()
    }
}

#[cfg(test)]
mod test;
