//! [`tokio_util::codec`] adapters for the wire formats.
//!
//! [`WireCodec<F>`] decodes and encodes any [`WireFormat`]. Decoding is
//! zero-copy: each message is split off the read buffer and its payload is a
//! [`Bytes`](bytes::Bytes) view of it. The limit is checked from the header before any
//! capacity is reserved; on a partial message the codec reserves only what
//! the header says is missing (bounded by the limit) and waits. A stream that
//! ends inside a message is an [`Error::Incomplete`], never a clean end.
//!
//! ```
//! use futures::{SinkExt, StreamExt};
//! use tokio_util::codec::Framed;
//! use wireforms::transport::codec::TypedCodec;
//! use wireforms::typed::{MessageType, TypedMessageBuf};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), wireforms::Error> {
//! let (a, b) = tokio::io::duplex(1024);
//! let mut a = Framed::new(a, TypedCodec::default());
//! let mut b = Framed::new(b, TypedCodec::default());
//! let hello = TypedMessageBuf::new(MessageType(1), "hello");
//! a.send(hello.clone()).await?;
//! assert_eq!(b.next().await.transpose()?, Some(hello));
//! # Ok(()) }
//! ```

use core::fmt;
use core::marker::PhantomData;

use bytes::BytesMut;
use tokio_util::codec::{Decoder, Encoder};

use crate::wire::{Encode, Needed, Status, WireFormat};
use crate::{frame, magic, mux, reqres, typed, Error};

/// A [`Decoder`] and [`Encoder`] for the wire format `F`.
pub struct WireCodec<F: WireFormat> {
    limits: F::Limits,
    /// Bytes at the front of the read buffer already known to hold no
    /// message end (text formats), so a line that arrives one byte at a time
    /// is scanned once, not once per byte.
    scanned: usize,
    answer_unterminated_last_line: bool,
    _format: PhantomData<fn() -> F>,
}

/// Codec for the typed binary message.
pub type TypedCodec = WireCodec<typed::Typed>;
/// Codec for the magic header packet.
pub type MagicCodec = WireCodec<magic::Magic>;
/// Codec for the length frame.
pub type FrameCodec = WireCodec<frame::LengthFramed>;
/// Codec for mux frames.
pub type MuxCodec = WireCodec<mux::Mux>;
/// Codec for request lines.
pub type RequestCodec = WireCodec<reqres::RequestLine>;
/// Codec for response lines.
pub type ResponseCodec = WireCodec<reqres::ResponseLine>;

impl<F: WireFormat> WireCodec<F> {
    /// A codec enforcing `limits`.
    pub fn new(limits: F::Limits) -> Self {
        WireCodec {
            limits,
            scanned: 0,
            answer_unterminated_last_line: false,
            _format: PhantomData,
        }
    }

    /// For text formats: at the end of the stream, treat bytes after the
    /// last `\n` as a final line instead of an incomplete one (spec reqres
    /// §6: a server answers a last line the peer half-closed after).
    pub fn set_answer_unterminated_last_line(&mut self, on: bool) {
        self.answer_unterminated_last_line = on;
    }

    /// Replaces the limits (naive).
    pub fn set_limits(&mut self, limits: F::Limits) {
        self.limits = limits;
    }

    /// The limits this codec enforces.
    pub fn limits(&self) -> &F::Limits {
        &self.limits
    }
}

impl<F: WireFormat> Default for WireCodec<F> {
    fn default() -> Self {
        WireCodec::new(F::Limits::default())
    }
}

impl<F: WireFormat> Clone for WireCodec<F> {
    fn clone(&self) -> Self {
        WireCodec {
            limits: self.limits.clone(),
            scanned: self.scanned,
            answer_unterminated_last_line: self.answer_unterminated_last_line,
            _format: PhantomData,
        }
    }
}

impl<F: WireFormat> fmt::Debug for WireCodec<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WireCodec")
            .field("format", &F::NAME)
            .field("limits", &self.limits)
            .finish()
    }
}

impl<F: WireFormat> Decoder for WireCodec<F> {
    type Item = F::Owned;
    type Error = Error;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<F::Owned>, Error> {
        let status = F::parse_from(src, &self.limits, self.scanned)?.map(|_| ());
        let len = match status {
            Status::Complete(_, len) => len,
            Status::Incomplete(Needed::Size(missing)) => {
                // Bounded: the header was checked against the limit already.
                src.reserve(missing.get());
                return Ok(None);
            }
            Status::Incomplete(Needed::Unknown) => {
                self.scanned = src.len();
                return Ok(None);
            }
        };
        self.scanned = 0;
        F::split_owned(src, len, &self.limits).map(Some)
    }

    fn decode_eof(&mut self, buf: &mut BytesMut) -> Result<Option<F::Owned>, Error> {
        if let Some(message) = self.decode(buf)? {
            return Ok(Some(message));
        }
        if buf.is_empty() {
            return Ok(None);
        }
        // Only a text line can be completed by its terminator; a binary
        // message cut short stays incomplete whatever the setting says.
        if self.answer_unterminated_last_line && matches!(F::NAME, "request" | "response") {
            // Terminate the last line ourselves; the line limit still holds
            // because the terminator counts towards it.
            buf.extend_from_slice(b"\n");
            self.answer_unterminated_last_line = false;
            return self.decode_eof(buf);
        }
        // The peer ended the stream inside a message: say so, with the need.
        Err(incomplete::<F>(buf, &self.limits))
    }
}

/// The error for a stream or datagram that ends inside a message.
pub(crate) fn incomplete<F: WireFormat>(rest: &[u8], limits: &F::Limits) -> Error {
    let (needed, section) = match F::parse(rest, limits) {
        Ok(Status::Incomplete(needed)) => (needed.size(), F::INCOMPLETE_SECTION),
        Ok(Status::Complete(..)) | Err(_) => (None, F::INCOMPLETE_SECTION),
    };
    Error::Incomplete { needed, section }
}

impl<F: WireFormat> Encoder<F::Owned> for WireCodec<F> {
    type Error = Error;

    fn encode(&mut self, item: F::Owned, dst: &mut BytesMut) -> Result<(), Error> {
        F::check_encoded_len(item.encoded_len(), &self.limits)?;
        item.encode(dst)
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::typed::{MessageType, TypedMessageBuf};

    fn typed(t: u8, payload: &'static [u8]) -> TypedMessageBuf {
        TypedMessageBuf::new(MessageType(t), payload)
    }

    fn stream_of(messages: &[TypedMessageBuf]) -> Vec<u8> {
        let mut out = BytesMut::new();
        for m in messages {
            m.encode(&mut out).unwrap();
        }
        out.to_vec()
    }

    #[test]
    fn one_byte_at_a_time() {
        let messages = [typed(1, b"first"), typed(2, b""), typed(255, b"third!")];
        let wire = stream_of(&messages);
        let mut codec = TypedCodec::default();
        let mut buf = BytesMut::new();
        let mut out = Vec::new();
        for byte in wire {
            buf.extend_from_slice(&[byte]);
            while let Some(m) = codec.decode(&mut buf).unwrap() {
                out.push(m);
            }
        }
        assert_eq!(out, messages);
        assert!(buf.is_empty());
        assert_eq!(codec.decode_eof(&mut buf).unwrap(), None);
    }

    #[test]
    fn two_frames_in_one_buffer_share_its_memory() {
        let wire = stream_of(&[typed(1, b"abc"), typed(2, b"defg")]);
        let mut buf = BytesMut::from(&wire[..]);
        let base = buf.as_ptr() as usize;
        let mut codec = TypedCodec::default();
        let a = codec.decode(&mut buf).unwrap().unwrap();
        let b = codec.decode(&mut buf).unwrap().unwrap();
        assert_eq!(
            (a.payload.as_ref(), b.payload.as_ref()),
            (&b"abc"[..], &b"defg"[..])
        );
        // Zero-copy: payloads point into the original read buffer.
        assert_eq!(a.payload.as_ptr() as usize, base + 5);
        assert_eq!(b.payload.as_ptr() as usize, base + 8 + 5);
    }

    #[test]
    fn oversized_header_fails_before_reserving() {
        let mut codec = TypedCodec::new(crate::typed::Limits {
            max_payload_len: 16,
        });
        let mut buf = BytesMut::from(&b"\x00\x00\x00\x11\x01"[..]);
        let capacity = buf.capacity();
        let err = codec.decode(&mut buf).unwrap_err();
        assert!(
            matches!(
                err,
                Error::TooLarge {
                    len: 17,
                    max: 16,
                    ..
                }
            ),
            "{err:?}"
        );
        assert_eq!(buf.capacity(), capacity);
    }

    #[test]
    fn partial_frame_reserves_what_is_missing() {
        let mut codec = TypedCodec::default();
        let mut buf = BytesMut::from(&b"\x00\x01\x00\x00\x01"[..]); // 65,536-byte payload
        assert_eq!(codec.decode(&mut buf).unwrap(), None);
        assert!(buf.capacity() >= 5 + 65_536);
        assert!(buf.capacity() < 2 * (5 + 65_536));
    }

    #[test]
    fn only_text_lines_are_completed_at_the_end_of_the_stream() {
        let mut typed = TypedCodec::default();
        typed.set_answer_unterminated_last_line(true);
        let mut buf = BytesMut::from(&b"\x00\x00\x00\x01\x01"[..]); // one payload byte short
        assert_eq!(
            typed.decode_eof(&mut buf).unwrap_err().kind(),
            crate::ErrorKind::Incomplete
        );

        let mut lines = RequestCodec::default();
        lines.set_answer_unterminated_last_line(true);
        let mut buf = BytesMut::from(&b"1:ECHO:last"[..]);
        let request = lines.decode_eof(&mut buf).unwrap().unwrap();
        assert_eq!(&*request.args, "last");
    }

    #[test]
    fn end_of_stream_inside_a_message_is_an_error() {
        let mut codec = TypedCodec::default();
        let mut buf = BytesMut::from(&b"\x00\x00\x00\x04\x01ab"[..]);
        assert_eq!(codec.decode(&mut buf).unwrap(), None);
        let err = codec.decode_eof(&mut buf).unwrap_err();
        assert!(
            matches!(
                err,
                Error::Incomplete {
                    needed: Some(2),
                    section: "typed/5.1"
                }
            ),
            "{err:?}"
        );
    }
}
