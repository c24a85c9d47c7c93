//! Owned request and response lines.

use super::{
    check_fields, emit_fields, encode_fields, encoded_len, RawFields, Request, Response, Text,
    REQUEST_FIELDS, RESPONSE_FIELDS,
};
use crate::{Encode, Error};

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
    pub fn as_request(&self) -> Request<'_> {
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
        check_fields(self.raw(), REQUEST_FIELDS)
    }
    fn emit(&self, out: &mut [u8]) -> Result<usize, Error> {
        emit_fields(self.raw(), REQUEST_FIELDS, out)
    }
    fn encode(&self, buf: &mut bytes::BytesMut) -> Result<(), Error> {
        encode_fields(self.raw(), REQUEST_FIELDS, buf)
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
    pub fn as_response(&self) -> Response<'_> {
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
        check_fields(self.raw(), RESPONSE_FIELDS)
    }
    fn emit(&self, out: &mut [u8]) -> Result<usize, Error> {
        emit_fields(self.raw(), RESPONSE_FIELDS, out)
    }
    fn encode(&self, buf: &mut bytes::BytesMut) -> Result<(), Error> {
        encode_fields(self.raw(), RESPONSE_FIELDS, buf)
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
