//! Owned request and response lines.

use bytes::{Bytes, BytesMut};
use bytestring::ByteString;

use super::text::Marks;
use super::{
    append_fields, check_fields, encoded_len, section, split_line, write_fields, FieldNames,
    Limits, RawFields, Request, Response, Text, REQUEST_FIELDS, RESPONSE_FIELDS, SEPARATOR,
};
use crate::{Encode, Error, Status};

/// Lines up to this long are tested for ASCII before the UTF-8 check
/// (callgrind: 13 instructions for a 27-byte line; a second `Bytes` handle
/// costs two atomic operations).
const ASCII_TEST_UP_TO: usize = 512;

/// The three owned fields of a line.
pub(crate) type OwnedFields = (Text, Text, Text);

/// Takes the first line off `src` as three [`Text`] fields sharing `src`'s
/// memory, checking its UTF-8 once (the codec's path: the line is not
/// parsed first and then parsed again). Outcomes and errors, in their
/// order, are those of [`Request::parse`]; `scanned` is as for
/// [`split_line`]. On an error `src` is left as it was.
///
/// # Errors
/// [`Error::LineTooLong`], [`Error::InvalidUtf8`], [`Error::Malformed`].
pub(crate) fn split_fields(
    src: &mut BytesMut,
    limits: &Limits,
    scanned: usize,
) -> Result<Status<OwnedFields>, Error> {
    let (line_len, len) = match split_line(src, scanned, limits)? {
        Status::Complete(line, len) => (line.len(), len),
        Status::Incomplete(needed) => return Ok(Status::Incomplete(needed)),
    };
    // `:` is ASCII, never part of a multi-byte UTF-8 sequence, so the
    // fields can be split on the raw bytes. IDs and commands are short: a
    // plain scan beats setting up `memchr` for them.
    let line = &src[..line_len];
    let separators = line.iter().position(|&b| b == SEPARATOR).and_then(|first| {
        let after = first + 1;
        line[after..]
            .iter()
            .position(|&b| b == SEPARATOR)
            .map(|i| (first, after + i))
    });
    let Some((first, second)) = separators else {
        // Not a line: report what `parse` reports, UTF-8 first (spec §5.4
        // before §5.3).
        return Err(match core::str::from_utf8(line) {
            Err(e) => invalid_utf8(e.valid_up_to()),
            Ok(_) => Error::Malformed {
                reason: "fewer than two ':'",
                offset: line_len,
                section: section::MALFORMED,
            },
        });
    };
    // A short ASCII line cannot fail the UTF-8 check, and testing for
    // ASCII costs less than a second handle on the line; any other line
    // keeps that handle, to be put back if the check fails (for a long
    // line the handle is cheap next to the check, the ASCII test is not).
    let ascii = line_len <= ASCII_TEST_UP_TO && line.is_ascii();
    let mut taken = src.split_to(len);
    let ending = &b"\r\n"[2 - (len - line_len)..];
    taken.truncate(line_len);
    let taken = taken.freeze();
    // The one UTF-8 check of the line; the proof is kept in `ByteString`.
    let line = if ascii {
        ByteString::try_from(taken).map_err(|_| Error::Internal {
            reason: "an ASCII line failed the UTF-8 check",
        })?
    } else {
        match ByteString::try_from(taken.clone()) {
            Ok(line) => line,
            Err(e) => {
                // Put the line back (a cold path: the stream ends here).
                restore(src, &taken, ending);
                return Err(invalid_utf8(e.valid_up_to()));
            }
        }
    };
    let text: &str = &line;
    // The split proves the first two fields hold no `:` and no `LF`, and
    // the last no `LF`; only its final byte is left to look at.
    let head = Marks::NO_SEPARATOR.with(Marks::NO_LF);
    let last = &text[second + 1..];
    let last_marks = match last.as_bytes().last() {
        Some(&super::CR) => Marks::NO_LF,
        _ => Marks::NO_LF.with(Marks::NO_FINAL_CR),
    };
    let fields = (
        Text::from_parts(line.slice_ref(&text[..first]), head),
        Text::from_parts(line.slice_ref(&text[first + 1..second]), head),
        Text::from_parts(line.slice_ref(last), last_marks),
    );
    Ok(Status::Complete(fields, len))
}

fn invalid_utf8(offset: usize) -> Error {
    Error::InvalidUtf8 {
        offset,
        section: section::INVALID_UTF8,
    }
}

fn restore(src: &mut BytesMut, line: &Bytes, ending: &[u8]) {
    let mut whole = BytesMut::with_capacity(line.len() + ending.len() + src.len());
    whole.extend_from_slice(line);
    whole.extend_from_slice(ending);
    whole.extend_from_slice(src);
    *src = whole;
}

/// spec §4.1 for owned fields: their marks prove most lines fine without a
/// scan; a field whose marks do not is scanned, for the exact error.
fn check_owned(fields: (&Text, &Text, &Text), names: FieldNames) -> Result<(), Error> {
    let head = Marks::NO_SEPARATOR.with(Marks::NO_LF);
    let proven = fields.0.marks().has(head)
        && fields.1.marks().has(head)
        && fields.2.marks().has(Marks::NO_LF.with(Marks::NO_FINAL_CR));
    if proven {
        return Ok(());
    }
    check_fields(
        (
            fields.0.as_bytes(),
            fields.1.as_bytes(),
            fields.2.as_bytes(),
        ),
        names,
    )
}

/// A request line that owns its fields (shared, not copied, when it came
/// from a codec's read buffer).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct RequestBuf {
    /// Request ID.
    pub id: Text,
    /// Command name.
    pub command: Text,
    /// Arguments.
    pub args: Text,
}

impl RequestBuf {
    /// A request with these fields.
    pub fn new(id: impl Into<Text>, command: impl Into<Text>, args: impl Into<Text>) -> Self {
        RequestBuf {
            id: id.into(),
            command: command.into(),
            args: args.into(),
        }
    }

    /// A borrowed view.
    pub fn as_message(&self) -> Request<'_> {
        Request {
            id: &self.id,
            command: &self.command,
            args: &self.args,
        }
    }
}

impl RequestBuf {
    /// The fields as bytes, without validating their UTF-8 again.
    fn raw(&self) -> RawFields<'_> {
        (
            self.id.as_bytes(),
            self.command.as_bytes(),
            self.args.as_bytes(),
        )
    }
}

impl Encode for RequestBuf {
    fn encoded_len(&self) -> usize {
        encoded_len(self.raw())
    }
    fn check(&self) -> Result<(), Error> {
        check_owned((&self.id, &self.command, &self.args), REQUEST_FIELDS)
    }
    fn emit(&self, out: &mut [u8]) -> Result<usize, Error> {
        self.check()?;
        write_fields(self.raw(), out)
    }
    fn encode(&self, buf: &mut bytes::BytesMut) -> Result<(), Error> {
        self.check()?;
        append_fields(self.raw(), buf);
        Ok(())
    }
}

impl From<Request<'_>> for RequestBuf {
    fn from(r: Request<'_>) -> Self {
        RequestBuf {
            id: Text::copy_from_str(r.id),
            command: Text::copy_from_str(r.command),
            args: Text::copy_from_str(r.args),
        }
    }
}

/// A response line that owns its fields (shared, not copied, when it came
/// from a codec's read buffer).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct ResponseBuf {
    /// The ID of the request this answers.
    pub id: Text,
    /// Status.
    pub status: Text,
    /// Result data.
    pub data: Text,
}

impl ResponseBuf {
    /// A response with these fields.
    pub fn new(id: impl Into<Text>, status: impl Into<Text>, data: impl Into<Text>) -> Self {
        ResponseBuf {
            id: id.into(),
            status: status.into(),
            data: data.into(),
        }
    }

    /// A borrowed view.
    pub fn as_message(&self) -> Response<'_> {
        Response {
            id: &self.id,
            status: &self.status,
            data: &self.data,
        }
    }
}

impl ResponseBuf {
    /// The fields as bytes, without validating their UTF-8 again.
    fn raw(&self) -> RawFields<'_> {
        (
            self.id.as_bytes(),
            self.status.as_bytes(),
            self.data.as_bytes(),
        )
    }
}

impl Encode for ResponseBuf {
    fn encoded_len(&self) -> usize {
        encoded_len(self.raw())
    }
    fn check(&self) -> Result<(), Error> {
        check_owned((&self.id, &self.status, &self.data), RESPONSE_FIELDS)
    }
    fn emit(&self, out: &mut [u8]) -> Result<usize, Error> {
        self.check()?;
        write_fields(self.raw(), out)
    }
    fn encode(&self, buf: &mut bytes::BytesMut) -> Result<(), Error> {
        self.check()?;
        append_fields(self.raw(), buf);
        Ok(())
    }
}

impl From<Response<'_>> for ResponseBuf {
    fn from(r: Response<'_>) -> Self {
        ResponseBuf {
            id: Text::copy_from_str(r.id),
            status: Text::copy_from_str(r.status),
            data: Text::copy_from_str(r.data),
        }
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::reqres::RequestLine;
    use crate::WireFormat;
    use alloc::format;

    /// Lines that cover each outcome of the parser, in each field.
    const LINES: &[&[u8]] = &[
        b"1:ECHO:hello\n",
        b"1:ECHO:a:b:c\r\n",
        b"::\n",
        b"1:ECHO:a\r\r\n",
        b"\xff:ECHO:x\n",
        b"1:\xc3:x\n",
        b"1:ECHO:h\xc3\n",
        b"h\xc3llo no separators\n",
        b"1:ECHO only one\n",
        b"1:ECHO:",
        b"",
        b"123456789:ECHO:too long for the limit\n",
        b"1:E:x\nnext:line:after\n",
    ];

    #[test]
    fn test_split_fields_is_parse_in_one_pass() {
        let limits = Limits { max_line_len: 24 };
        for &line in LINES {
            let parsed = RequestLine::parse(line, &limits)
                .map(|s| s.map(|r| <RequestLine as WireFormat>::to_owned_copy(&r)));
            let mut src = BytesMut::from(line);
            let split = split_fields(&mut src, &limits, 0)
                .map(|s| s.map(|(id, command, args)| RequestBuf { id, command, args }));
            // `Error` has no `PartialEq`: its debug form says everything.
            assert_eq!(format!("{split:?}"), format!("{parsed:?}"), "{line:?}");
            let taken = match &split {
                Ok(Status::Complete(_, len)) => *len,
                _ => 0,
            };
            assert_eq!(&src[..], &line[taken..], "{line:?}: the rest of the buffer");
        }
    }

    #[test]
    fn test_marks_never_let_a_bad_field_through() {
        for (request, field) in [
            (RequestBuf::new("a:b", "ECHO", ""), "id"),
            (RequestBuf::new("1", "E\nCHO", ""), "command"),
            (RequestBuf::new("1", "ECHO", "x\ny"), "args"),
            (RequestBuf::new("1", "ECHO", "x\r"), "args"),
        ] {
            let err = request.check().unwrap_err();
            assert!(
                matches!(err, Error::InvalidField { field: f, .. } if f == field),
                "{request:?}: {err:?}"
            );
            assert!(request.to_bytes().is_err());
            assert!(request.emit(&mut [0u8; 64]).is_err());
        }
        // A parsed line whose args end with a CR (the line ended `\r\r\n`)
        // cannot be sent back as it is.
        let mut src = BytesMut::from(&b"1:ECHO:a\r\r\n"[..]);
        let Ok(Status::Complete((id, command, args), _)) =
            split_fields(&mut src, &Limits::default(), 0)
        else {
            panic!("a line");
        };
        assert!(RequestBuf { id, command, args }.check().is_err());
        // Args may hold ':' whatever their marks say.
        let mut src = BytesMut::from(&b"1:ECHO:a:b\n"[..]);
        let Ok(Status::Complete((id, command, args), _)) =
            split_fields(&mut src, &Limits::default(), 0)
        else {
            panic!("a line");
        };
        let request = RequestBuf { id, command, args };
        assert_eq!(&request.to_bytes().unwrap()[..], b"1:ECHO:a:b\n");
    }
}
