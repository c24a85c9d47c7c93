//! [`tokio_util::codec`] adapters for the wire formats.
//!
//! [`WireCodec<F>`] decodes and encodes any [`WireFormat`]. Decoding is
//! zero-copy: each message is split off the read buffer and its payload is a
//! [`Bytes`] view of it. The limit is checked from the header before any
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
//!
//! # Limits on both sides
//! One set of limits serves the decoder and the encoder: the encoder refuses
//! a message the codec's own decoder would refuse, with
//! [`Error::TooLarge`] naming the limit, and writes nothing then. So a frame
//! a codec encodes always decodes with the same codec's limits, and a sender
//! learns about the limit locally instead of from a closed connection.
//!
//! The limits can be changed on a live codec ([`WireCodec::set_limits`],
//! [`WireCodec::set_max_len`]) with the semantics of tokio-util's
//! `LengthDelimitedCodec::set_max_frame_length`: a message whose header was
//! already accepted (for the line formats: a line already partly buffered)
//! finishes under the limits it was accepted with; the new limits apply from
//! the next message. The encoder applies them from the next `encode`: bytes
//! already encoded are sent as they are.
//!
//! # What a codec encodes
//! Each codec type encodes exactly one item type, named by its second type
//! parameter (a marker from [`encodes`]):
//!
//! | codec | encodes |
//! |---|---|
//! | `WireCodec<F>` = `WireCodec<F, Owned>` (the aliases [`TypedCodec`], …) | `F::Owned` ([`TypedMessageBuf`](crate::typed::TypedMessageBuf), …) |
//! | `WireCodec<F, Borrowed>` | `F::Message<'a>` ([`TypedMessage`](crate::typed::TypedMessage), …), any `'a` |
//! | [`FrameBytesCodec`] = `WireCodec<Frame, PayloadBytes>` | [`Bytes`] payloads |
//! | [`FrameSliceCodec`] = `WireCodec<Frame, PayloadSlice>` | `&[u8]` payloads |
//!
//! One item type per codec type is what keeps `SinkExt::flush`, `close` and
//! `poll_ready` free of type annotations: with two `Encoder` impls on one
//! type (as tokio-util's `LengthDelimitedCodec` has since it gained
//! `Encoder<&[u8]>`) the compiler cannot tell which `Sink` such a call
//! means. Every codec decodes `F::Owned`, whatever it encodes;
//! [`WireCodec::encoding`] turns a codec into one that encodes another item,
//! keeping every setting.
//!
//! ```
//! use futures::{SinkExt, StreamExt};
//! use tokio_util::codec::{FramedRead, FramedWrite};
//! use wireforms::transport::codec::{encodes::Borrowed, TypedCodec, WireCodec};
//! use wireforms::typed::{MessageType, Typed, TypedMessage};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), wireforms::Error> {
//! let (a, b) = tokio::io::duplex(1024);
//! let mut sink = FramedWrite::new(a, WireCodec::<Typed, Borrowed>::default());
//! let payload = vec![7u8; 3];
//! // A message borrowing its payload: nothing is copied before the encode.
//! sink.send(TypedMessage { message_type: MessageType(1), payload: &payload }).await?;
//! sink.flush().await?; // no annotation needed
//! let mut stream = FramedRead::new(b, TypedCodec::default());
//! assert_eq!(&stream.next().await.transpose()?.unwrap().payload[..], &payload[..]);
//! # Ok(()) }
//! ```
//!
//! # Builder
//! [`WireCodec::builder`] offers what a `LengthDelimitedCodec::builder()`
//! user expects where it applies: the limits (or just the one length
//! limit, [`Builder::max_len`]), the unterminated-last-line setting, and
//! `new_codec`, `new_read`, `new_write`, `new_framed`.
//!
//! ```
//! use bytes::Bytes;
//! use futures::{SinkExt, StreamExt};
//! use wireforms::transport::codec::{FrameBytesCodec, FrameCodec};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), wireforms::Error> {
//! let (a, b) = tokio::io::duplex(1024);
//! let mut sink = FrameBytesCodec::builder().max_len(5).new_write(a);
//! sink.send(Bytes::from_static(b"hello")).await?;
//! // Over the limit: refused here, nothing sent.
//! let err = sink.send(Bytes::from_static(b"hello!")).await.unwrap_err();
//! assert_eq!(err.to_string(), "length 6 exceeds the maximum of 5 (spec frame/4)");
//! drop(sink);
//! let mut stream = FrameCodec::builder().max_len(5).new_read(b);
//! assert_eq!(&stream.next().await.transpose()?.unwrap().payload[..], b"hello");
//! assert!(stream.next().await.is_none());
//! # Ok(()) }
//! ```

use core::fmt;
use core::marker::PhantomData;
use core::mem;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_util::codec::{Decoder, Encoder, Framed, FramedRead, FramedWrite};

use crate::frame::{Frame, LengthFrame};
use crate::wire::{Encode, LengthLimit, Needed, Status, WireFormat};
use crate::{frame, magic, mux, reqres, typed, Error};

pub use encodes::{Borrowed, Owned, PayloadBytes, PayloadSlice};

/// Markers naming the one item type a [`WireCodec`] encodes (its second
/// type parameter); see the [module docs](self#what-a-codec-encodes).
pub mod encodes {
    /// Encodes the owned message, `F::Owned` (the default).
    #[derive(Clone, Copy, Debug, Default)]
    pub struct Owned;

    /// Encodes the borrowed message, `F::Message<'a>`, for any lifetime.
    #[derive(Clone, Copy, Debug, Default)]
    pub struct Borrowed;

    /// Encodes a length frame from its payload as [`Bytes`](bytes::Bytes)
    /// (tokio-util's `Encoder<Bytes>`).
    #[derive(Clone, Copy, Debug, Default)]
    pub struct PayloadBytes;

    /// Encodes a length frame from its payload as `&[u8]`.
    #[derive(Clone, Copy, Debug, Default)]
    pub struct PayloadSlice;
}

/// A [`Decoder`] for the wire format `F`, and an [`Encoder`] of the item
/// `E` names ([`encodes`]): by default `F`'s owned message.
pub struct WireCodec<F: WireFormat, E = Owned> {
    /// Limits for new messages, and for the encoder.
    limits: F::Limits,
    answer_unterminated_last_line: bool,
    /// The limits a message in flight was accepted under, when they were
    /// changed since (tokio-util's semantics: it finishes under them).
    in_flight_limits: Option<F::Limits>,
    /// A message's header has been accepted and the rest is awaited.
    in_flight: bool,
    /// Bytes at the front of the read buffer already known to hold no
    /// message end (text formats), so a line that arrives one byte at a time
    /// is scanned once, not once per byte.
    scanned: usize,
    _format: PhantomData<fn() -> (F, E)>,
}

/// Codec for the typed binary message.
pub type TypedCodec = WireCodec<typed::Typed>;
/// Codec for the magic header packet.
pub type MagicCodec = WireCodec<magic::Magic>;
/// Codec for the length frame.
pub type FrameCodec = WireCodec<frame::Frame>;
/// Codec for the length frame that encodes [`Bytes`] payloads, as
/// tokio-util's `LengthDelimitedCodec` does (and decodes
/// [`LengthFrameBuf`](crate::frame::LengthFrameBuf)s, whose `payload` is a `Bytes`).
pub type FrameBytesCodec = WireCodec<frame::Frame, PayloadBytes>;
/// Codec for the length frame that encodes `&[u8]` payloads.
pub type FrameSliceCodec = WireCodec<frame::Frame, PayloadSlice>;
/// Codec for mux frames.
pub type MuxCodec = WireCodec<mux::Mux>;
/// Codec for request lines.
pub type RequestCodec = WireCodec<reqres::RequestLine>;
/// Codec for response lines.
pub type ResponseCodec = WireCodec<reqres::ResponseLine>;

impl<F: WireFormat, E> WireCodec<F, E> {
    /// A codec enforcing `limits`, on what it decodes and what it encodes.
    pub fn new(limits: F::Limits) -> Self {
        WireCodec {
            limits,
            answer_unterminated_last_line: false,
            in_flight_limits: None,
            in_flight: false,
            scanned: 0,
            _format: PhantomData,
        }
    }

    /// A builder with the default settings.
    pub fn builder() -> Builder<F, E> {
        Builder::new()
    }

    /// For text formats: at the end of the stream, treat bytes after the
    /// last `\n` as a final line instead of an incomplete one (spec reqres
    /// §6: a server answers a last line the peer half-closed after).
    /// Binary formats ignore it: a message cut short stays incomplete.
    pub fn set_answer_unterminated_last_line(&mut self, on: bool) {
        self.answer_unterminated_last_line = on;
    }

    /// Whether an unterminated last line is answered.
    pub fn answers_unterminated_last_line(&self) -> bool {
        self.answer_unterminated_last_line
    }

    /// The limits for the next message decoded and for every message
    /// encoded from now on.
    pub fn limits(&self) -> &F::Limits {
        &self.limits
    }

    /// Replaces the limits on a live codec.
    ///
    /// As tokio-util's `set_max_frame_length`: a message whose header the
    /// decoder already accepted (for the line formats: a line already
    /// partly buffered) finishes under the limits it was accepted with,
    /// higher or lower; the new limits apply from the next message. A header
    /// not yet whole meets the new limits.
    /// The encoder applies them from its next `encode`.
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use tokio_util::codec::Decoder;
    /// use wireforms::transport::codec::FrameCodec;
    ///
    /// let mut codec = FrameCodec::default();
    /// let mut buf = BytesMut::from(&b"\x00\x00\x00\x09abcd"[..]);
    /// assert!(codec.decode(&mut buf)?.is_none()); // header accepted, 9 bytes
    /// codec.set_max_len(5);
    /// buf.extend_from_slice(b"efghi\x00\x00\x00\x09abcdefghi");
    /// // The frame in flight finishes under the old limit ...
    /// assert_eq!(&codec.decode(&mut buf)?.unwrap().payload[..], b"abcdefghi");
    /// // ... the next header meets the new one.
    /// assert_eq!(codec.decode(&mut buf).unwrap_err().to_string(),
    ///            "length 9 exceeds the maximum of 5 (spec frame/5.2)");
    /// # Ok::<(), wireforms::Error>(())
    /// ```
    pub fn set_limits(&mut self, limits: F::Limits) {
        let old = mem::replace(&mut self.limits, limits);
        if self.in_flight && self.in_flight_limits.is_none() {
            self.in_flight_limits = Some(old);
        }
    }

    /// The format's one length limit ([`LengthLimit::max_len`]): payload
    /// bytes for the length-prefixed formats, line bytes for the lines.
    pub fn max_len(&self) -> usize {
        self.limits.max_len()
    }

    /// Sets the format's one length limit on a live codec, with the
    /// semantics of [`set_limits`](WireCodec::set_limits). A value larger
    /// than the format's length field can say is clipped to what it can say,
    /// as tokio-util does.
    pub fn set_max_len(&mut self, max: usize) {
        let mut limits = self.limits.clone();
        limits.set_max_len(max);
        self.set_limits(limits);
    }

    /// This codec, encoding the item `E2` names instead; every setting and
    /// the decoding state are kept, so it can replace the codec of a live
    /// `Framed` (through `Framed::map_codec`).
    pub fn encoding<E2>(self) -> WireCodec<F, E2> {
        WireCodec {
            limits: self.limits,
            answer_unterminated_last_line: self.answer_unterminated_last_line,
            in_flight_limits: self.in_flight_limits,
            in_flight: self.in_flight,
            scanned: self.scanned,
            _format: PhantomData,
        }
    }

    /// The limits the next decoded bytes are checked against.
    fn decode_limits(&self) -> &F::Limits {
        self.in_flight_limits.as_ref().unwrap_or(&self.limits)
    }

    /// The one encode body: refuse what the limits refuse, then append.
    fn encode_checked(&self, item: &impl Encode, dst: &mut BytesMut) -> Result<(), Error> {
        // Checked before anything is written, so a refusal leaves `dst` as it was.
        F::check_encoded_len(item.encoded_len(), &self.limits)?;
        item.encode(dst)
    }
}

impl<F: WireFormat, E> Default for WireCodec<F, E> {
    fn default() -> Self {
        WireCodec::new(F::Limits::default())
    }
}

/// A clone has every setting of the original and starts at a message
/// boundary, as for a new stream: the decoding state belongs to the read
/// buffer, which is not cloned with it.
impl<F: WireFormat, E> Clone for WireCodec<F, E> {
    fn clone(&self) -> Self {
        let mut codec = WireCodec::new(self.limits.clone());
        codec.answer_unterminated_last_line = self.answer_unterminated_last_line;
        codec
    }
}

impl<F: WireFormat, E> fmt::Debug for WireCodec<F, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WireCodec")
            .field("format", &F::NAME)
            .field("encodes", &core::any::type_name::<E>())
            .field("limits", &self.limits)
            .field(
                "answer_unterminated_last_line",
                &self.answer_unterminated_last_line,
            )
            .field("in_flight_limits", &self.in_flight_limits)
            .finish()
    }
}

impl<F: WireFormat, E> Decoder for WireCodec<F, E> {
    type Item = F::Owned;
    type Error = Error;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<F::Owned>, Error> {
        let message = match F::decode_owned(src, self.decode_limits(), self.scanned)? {
            Status::Complete(message, _) => message,
            Status::Incomplete(needed) => {
                // The header (or, for a line, every byte so far) was checked
                // against the limits: this message is accepted and in flight.
                self.in_flight = !src.is_empty() && src.len() >= F::FIXED_HEADER_LEN;
                match needed {
                    // Bounded: the header was checked against the limit already.
                    Needed::Size(missing) => src.reserve(missing.get()),
                    Needed::Unknown => self.scanned = src.len(),
                }
                return Ok(None);
            }
        };
        self.scanned = 0;
        self.in_flight = false;
        self.in_flight_limits = None;
        Ok(Some(message))
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
        if self.answer_unterminated_last_line && F::IS_LINE {
            // Terminate the last line ourselves; the line limit still holds
            // because the terminator counts towards it.
            buf.extend_from_slice(b"\n");
            if let Some(message) = self.decode(buf)? {
                return Ok(Some(message));
            }
        }
        // The peer ended the stream inside a message: say so, with the need.
        Err(incomplete::<F>(buf, self.decode_limits()))
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

/// # Errors
/// [`Error::TooLarge`] when the codec's own limits refuse the message, or
/// what [`Encode::encode`] refuses; nothing is written then.
impl<F: WireFormat> Encoder<F::Owned> for WireCodec<F, Owned> {
    type Error = Error;

    fn encode(&mut self, item: F::Owned, dst: &mut BytesMut) -> Result<(), Error> {
        self.encode_checked(&item, dst)
    }
}

/// # Errors
/// As the owned encoder.
impl<'a, F: WireFormat> Encoder<F::Message<'a>> for WireCodec<F, Borrowed> {
    type Error = Error;

    fn encode(&mut self, item: F::Message<'a>, dst: &mut BytesMut) -> Result<(), Error> {
        self.encode_checked(&item, dst)
    }
}

/// # Errors
/// As the owned encoder.
impl Encoder<Bytes> for WireCodec<Frame, PayloadBytes> {
    type Error = Error;

    fn encode(&mut self, payload: Bytes, dst: &mut BytesMut) -> Result<(), Error> {
        self.encode_checked(&LengthFrame { payload: &payload }, dst)
    }
}

/// # Errors
/// As the owned encoder.
impl<'a> Encoder<&'a [u8]> for WireCodec<Frame, PayloadSlice> {
    type Error = Error;

    fn encode(&mut self, payload: &'a [u8], dst: &mut BytesMut) -> Result<(), Error> {
        self.encode_checked(&LengthFrame { payload }, dst)
    }
}

/// Configures a [`WireCodec`] and the framed transports around it, as
/// tokio-util's `length_delimited::Builder` does where it applies (our
/// layouts are fixed by the spec: no offsets, adjustments or endianness).
///
/// ```
/// use wireforms::transport::codec::RequestCodec;
/// use wireforms::reqres::Limits;
///
/// let codec = RequestCodec::builder()
///     .limits(Limits::new(1024))
///     .answer_unterminated_last_line(true)
///     .new_codec();
/// assert_eq!(codec.max_len(), 1024);
/// assert!(codec.clone().answers_unterminated_last_line());
/// ```
pub struct Builder<F: WireFormat, E = Owned> {
    limits: F::Limits,
    answer_unterminated_last_line: bool,
    _format: PhantomData<fn() -> (F, E)>,
}

impl<F: WireFormat, E> Builder<F, E> {
    /// The default settings: the format's default limits, an unterminated
    /// last line left incomplete.
    pub fn new() -> Self {
        Builder {
            limits: F::Limits::default(),
            answer_unterminated_last_line: false,
            _format: PhantomData,
        }
    }

    /// The limits, for decoding and encoding.
    pub fn limits(&mut self, limits: F::Limits) -> &mut Self {
        self.limits = limits;
        self
    }

    /// The format's one length limit (tokio-util's `max_frame_length`),
    /// clipped to what the length field can say; see
    /// [`WireCodec::set_max_len`].
    pub fn max_len(&mut self, max: usize) -> &mut Self {
        self.limits.set_max_len(max);
        self
    }

    /// See [`WireCodec::set_answer_unterminated_last_line`].
    pub fn answer_unterminated_last_line(&mut self, on: bool) -> &mut Self {
        self.answer_unterminated_last_line = on;
        self
    }

    /// A builder of codecs that encode the item `E2` names, with these
    /// settings.
    pub fn encoding<E2>(&self) -> Builder<F, E2> {
        Builder {
            limits: self.limits.clone(),
            answer_unterminated_last_line: self.answer_unterminated_last_line,
            _format: PhantomData,
        }
    }

    /// A codec with these settings.
    pub fn new_codec(&self) -> WireCodec<F, E> {
        let mut codec = WireCodec::new(self.limits.clone());
        codec.answer_unterminated_last_line = self.answer_unterminated_last_line;
        codec
    }

    /// `FramedRead::new(upstream, self.new_codec())`.
    pub fn new_read<T: AsyncRead>(&self, upstream: T) -> FramedRead<T, WireCodec<F, E>> {
        FramedRead::new(upstream, self.new_codec())
    }

    /// `FramedWrite::new(inner, self.new_codec())`.
    pub fn new_write<T: AsyncWrite>(&self, inner: T) -> FramedWrite<T, WireCodec<F, E>> {
        FramedWrite::new(inner, self.new_codec())
    }

    /// `Framed::new(inner, self.new_codec())`.
    pub fn new_framed<T: AsyncRead + AsyncWrite>(&self, inner: T) -> Framed<T, WireCodec<F, E>> {
        Framed::new(inner, self.new_codec())
    }
}

impl<F: WireFormat, E> Default for Builder<F, E> {
    fn default() -> Self {
        Builder::new()
    }
}

impl<F: WireFormat, E> Clone for Builder<F, E> {
    fn clone(&self) -> Self {
        self.encoding()
    }
}

impl<F: WireFormat, E> fmt::Debug for Builder<F, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("format", &F::NAME)
            .field("encodes", &core::any::type_name::<E>())
            .field("limits", &self.limits)
            .field(
                "answer_unterminated_last_line",
                &self.answer_unterminated_last_line,
            )
            .finish()
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
