//! Zero-copy batch reading: every whole message of one read at once, as
//! borrowed views into one buffer.
//!
//! For small messages the codec's cost is not parsing but what each owned
//! message costs: a `split_to`, a `freeze` and, when it is dropped, a
//! reference count. [`BatchDecoder`] yields each message as the format's
//! borrowed type (`F::Message<'a>`: [`TypedMessage`](crate::typed::TypedMessage),
//! [`LengthFrame`](crate::frame::LengthFrame), …) pointing into the caller's buffer;
//! nothing is split, counted or copied, and the buffer is advanced once per
//! batch. [`BatchReader`] is the thin async shell over an [`AsyncRead`].
//!
//! ```text
//! one read:  | msg | msg | msg | msg | partial… |
//!              \_____ one Batch _____/   kept for the next read
//! ```
//!
//! # Same as the codec
//! For the same bytes, cut anywhere, a batch reader yields exactly the
//! messages [`WireCodec`](super::codec::WireCodec) yields, then the same
//! error or the same end (`tests/batch_differential.rs` and the fuzz target
//! `batch_differential` check it): the same limits, checked from the header before
//! any capacity is reserved; the same live-limit semantics (a message whose
//! header was accepted finishes under the limits it was accepted with);
//! a partial message is not an error until the stream ends inside it, which
//! is [`Error::Incomplete`] with the codec's need; the same
//! unterminated-last-line setting. After an error the reader is done.
//!
//! The price of borrowing: a batch must be dropped before the next is read.
//! A caller that keeps a message converts it
//! ([`WireFormat::to_owned_copy`], a copy).
//!
//! ```
//! use wireforms::frame::Frame;
//! use wireforms::transport::batch::BatchReader;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), wireforms::Error> {
//! let wire: &[u8] = b"\x00\x00\x00\x02hi\x00\x00\x00\x03you";
//! let mut reader = BatchReader::<_, Frame>::new(wire, Default::default());
//! let mut payloads = Vec::new();
//! while let Some(batch) = reader.next_batch().await {
//!     for frame in batch? {
//!         payloads.push(frame?.payload.to_vec());
//!     }
//! }
//! assert_eq!(payloads, [b"hi".to_vec(), b"you".to_vec()]);
//! # Ok(()) }
//! ```

use core::fmt;
use core::mem;

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt};

use super::codec::incomplete;
use crate::wire::{LengthLimit, Needed, Status, WireFormat};
use crate::Error;

/// Free room a [`BatchReader`] asks for before each read: the more one read
/// brings, the more messages share one batch. Bounded, so the buffer stays
/// this size plus one message at most.
pub const READ_CHUNK: usize = 64 * 1024;

/// The sans-IO batch decoder: the codec's state (limits, in-flight limits,
/// how far a partial line was scanned) without a buffer of its own.
///
/// The caller owns the buffer: it calls [`decode`](BatchDecoder::decode)
/// with the buffered bytes, takes messages from the [`Batch`], then
/// advances the buffer by [`take_consumed`](BatchDecoder::take_consumed)
/// before it appends more and decodes again.
///
/// ```
/// use bytes::{Buf, BytesMut};
/// use wireforms::typed::Typed;
/// use wireforms::transport::batch::BatchDecoder;
///
/// let mut decoder = BatchDecoder::<Typed>::new(Default::default());
/// let mut buf = BytesMut::from(&b"\x00\x00\x00\x01\x07a\x00\x00\x00\x02\x07b"[..]);
/// let types: Vec<u8> = decoder.decode(&buf).map(|m| m.map(|m| m.message_type.0)).collect::<Result<_, _>>()?;
/// assert_eq!(types, [7]); // the second message is one byte short
/// buf.advance(decoder.take_consumed());
/// buf.extend_from_slice(b"c");
/// let second = decoder.decode(&buf).next().transpose()?.unwrap();
/// assert_eq!(second.payload, b"bc");
/// # Ok::<(), wireforms::Error>(())
/// ```
pub struct BatchDecoder<F: WireFormat> {
    limits: F::Limits,
    answer_unterminated_last_line: bool,
    /// The limits the message at the front was accepted under, when they
    /// were changed since.
    in_flight_limits: Option<F::Limits>,
    /// The message at the front has had its header accepted.
    in_flight: bool,
    /// Bytes at the front known to hold no line end (text formats).
    scanned: usize,
    /// What the partial message at the end of the last batch needs.
    needed: Option<Needed>,
    /// Bytes the messages yielded so far took, not yet taken by the caller.
    consumed: usize,
    /// An error was yielded: nothing more is.
    failed: bool,
}

impl<F: WireFormat> BatchDecoder<F> {
    /// A decoder enforcing `limits`.
    pub fn new(limits: F::Limits) -> Self {
        BatchDecoder {
            limits,
            answer_unterminated_last_line: false,
            in_flight_limits: None,
            in_flight: false,
            scanned: 0,
            needed: None,
            consumed: 0,
            failed: false,
        }
    }

    /// The limits for the next message.
    pub fn limits(&self) -> &F::Limits {
        &self.limits
    }

    /// Replaces the limits, with the codec's semantics
    /// ([`WireCodec::set_limits`](super::codec::WireCodec::set_limits)):
    /// a message whose header was accepted finishes under the old ones.
    pub fn set_limits(&mut self, limits: F::Limits) {
        let old = mem::replace(&mut self.limits, limits);
        if self.in_flight && self.in_flight_limits.is_none() {
            self.in_flight_limits = Some(old);
        }
    }

    /// Sets the format's one length limit, as
    /// [`WireCodec::set_max_len`](super::codec::WireCodec::set_max_len).
    pub fn set_max_len(&mut self, max: usize) {
        let mut limits = self.limits.clone();
        limits.set_max_len(max);
        self.set_limits(limits);
    }

    /// As [`WireCodec::set_answer_unterminated_last_line`](super::codec::WireCodec::set_answer_unterminated_last_line).
    pub fn set_answer_unterminated_last_line(&mut self, on: bool) {
        self.answer_unterminated_last_line = on;
    }

    /// The whole messages at the front of `buf`, which must start where the
    /// last batch's consumed bytes ended (see
    /// [`take_consumed`](BatchDecoder::take_consumed)).
    pub fn decode<'a>(&'a mut self, buf: &'a [u8]) -> Batch<'a, F> {
        Batch {
            buf,
            at: self.consumed,
            decoder: self,
        }
    }

    /// The bytes at the front of the buffer that yielded messages took;
    /// the caller advances its buffer by this much. Resets to 0.
    pub fn take_consumed(&mut self) -> usize {
        mem::take(&mut self.consumed)
    }

    /// At the end of the stream, with the bytes left in `buf` after every
    /// whole message was taken (and `take_consumed` applied): `Ok(None)`
    /// when none are left; with the unterminated-last-line setting, a text
    /// line's `LF` is appended and `Ok(Some(batch))` yields that line (or
    /// its error); otherwise the [`Error::Incomplete`] the codec reports.
    ///
    /// # Errors
    /// [`Error::Incomplete`], with the need, when the stream ended inside
    /// a message.
    pub fn decode_eof<'a>(
        &'a mut self,
        buf: &'a mut BytesMut,
    ) -> Result<Option<Batch<'a, F>>, Error> {
        if self.failed {
            return Ok(None);
        }
        if buf.is_empty() {
            // As the codec: the parser has the last word on an empty rest
            // (a zero line limit refuses it).
            return match F::parse(buf, self.decode_limits()) {
                Err(e) => {
                    self.failed = true;
                    Err(e)
                }
                Ok(_) => Ok(None),
            };
        }
        // Only a text line can be completed by its terminator (as the codec).
        if self.answer_unterminated_last_line && F::IS_LINE {
            if !buf.ends_with(b"\n") {
                buf.extend_from_slice(b"\n");
            }
            return Ok(Some(self.decode(buf)));
        }
        self.failed = true;
        Err(incomplete::<F>(buf, self.decode_limits()))
    }

    /// Room to reserve before the next read: what the partial message at
    /// the end says it is missing (checked against the limits already), or
    /// [`READ_CHUNK`].
    pub fn read_reserve(&self) -> usize {
        self.needed
            .and_then(Needed::size)
            .map_or(READ_CHUNK, |n| n.max(READ_CHUNK))
    }

    /// Whether an error was yielded (nothing more will be).
    pub fn has_failed(&self) -> bool {
        self.failed
    }

    fn decode_limits(&self) -> &F::Limits {
        self.in_flight_limits.as_ref().unwrap_or(&self.limits)
    }

    /// The message in flight is whole: the next one starts afresh, under
    /// the current limits.
    fn finished_in_flight(&mut self) {
        self.scanned = 0;
        self.needed = None;
        self.in_flight = false;
        self.in_flight_limits = None;
    }

    /// Whether `buf` starts with a whole message or an error (which a batch
    /// would yield); if not, keeps the codec's state for a partial message.
    fn ready(&mut self, buf: &[u8]) -> bool {
        match F::parse_from(buf, self.decode_limits(), self.scanned) {
            Ok(Status::Incomplete(needed)) => {
                self.wait(buf, needed);
                false
            }
            Ok(Status::Complete(..)) | Err(_) => true,
        }
    }

    /// `rest` is a partial message needing `needed`: as the codec, its
    /// header (for a line: every byte so far) was checked and it is in
    /// flight; a line's scan resumes where it stopped.
    fn wait(&mut self, rest: &[u8], needed: Needed) {
        self.in_flight = !rest.is_empty() && rest.len() >= F::FIXED_HEADER_LEN;
        self.needed = Some(needed);
        if let Needed::Unknown = needed {
            self.scanned = rest.len();
        }
    }
}

impl<F: WireFormat> Default for BatchDecoder<F> {
    fn default() -> Self {
        BatchDecoder::new(F::Limits::default())
    }
}

impl<F: WireFormat> fmt::Debug for BatchDecoder<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BatchDecoder")
            .field("format", &F::NAME)
            .field("limits", &self.limits)
            .field("in_flight_limits", &self.in_flight_limits)
            .field("consumed", &self.consumed)
            .field("failed", &self.failed)
            .finish()
    }
}

/// The whole messages of one buffer, borrowed from it, in order: an
/// iterator of `Result<F::Message<'a>, Error>` that ends at the first
/// partial message, or after the first error.
///
/// Messages not taken from a batch are yielded again by the next one.
pub struct Batch<'a, F: WireFormat> {
    buf: &'a [u8],
    at: usize,
    decoder: &'a mut BatchDecoder<F>,
}

impl<'a, F: WireFormat> Iterator for Batch<'a, F> {
    type Item = Result<F::Message<'a>, Error>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.decoder.failed {
            return None;
        }
        // `at` only grows by lengths `parse` returned, which fit the buffer.
        let rest = self.buf.get(self.at..)?;
        let decoder = &mut *self.decoder;
        let limits = decoder.in_flight_limits.as_ref().unwrap_or(&decoder.limits);
        match F::parse_from(rest, limits, decoder.scanned) {
            Ok(Status::Complete(message, len)) => {
                self.at += len;
                decoder.consumed = self.at;
                // Only the first message of a batch can have been in flight.
                if decoder.in_flight
                    || decoder.scanned != 0
                    || decoder.needed.is_some()
                    || decoder.in_flight_limits.is_some()
                {
                    decoder.finished_in_flight();
                }
                Some(Ok(message))
            }
            Ok(Status::Incomplete(needed)) => {
                decoder.wait(rest, needed);
                None
            }
            Err(e) => {
                decoder.failed = true;
                Some(Err(e))
            }
        }
    }
}

impl<F: WireFormat> fmt::Debug for Batch<'_, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Batch")
            .field("format", &F::NAME)
            .field("at", &self.at)
            .field("buffered", &self.buf.len())
            .finish()
    }
}

/// Reads batches of messages from an [`AsyncRead`]: the async shell over a
/// [`BatchDecoder`] and one buffer.
pub struct BatchReader<R, F: WireFormat> {
    io: R,
    buf: BytesMut,
    decoder: BatchDecoder<F>,
    eof: bool,
    done: bool,
}

impl<R: AsyncRead + Unpin, F: WireFormat> BatchReader<R, F> {
    /// A reader enforcing `limits`.
    pub fn new(io: R, limits: F::Limits) -> Self {
        BatchReader::with_decoder(io, BatchDecoder::new(limits))
    }

    /// A reader with a configured decoder.
    pub fn with_decoder(io: R, decoder: BatchDecoder<F>) -> Self {
        BatchReader {
            io,
            buf: BytesMut::new(),
            decoder,
            eof: false,
            done: false,
        }
    }

    /// The decoder, to change its limits on the live stream.
    pub fn decoder_mut(&mut self) -> &mut BatchDecoder<F> {
        &mut self.decoder
    }

    /// The reader it reads from.
    pub fn get_ref(&self) -> &R {
        &self.io
    }

    /// The next batch: at least one whole message (or the error in its
    /// place), reading as needed. `None` at the clean end of the stream and
    /// after an error.
    ///
    /// An error reading, or a stream that ends inside a message
    /// ([`Error::Incomplete`]), is returned here; an error found in the
    /// bytes is yielded by the batch in the place of its message.
    pub async fn next_batch(&mut self) -> Option<Result<Batch<'_, F>, Error>> {
        if self.done || self.decoder.failed {
            return None;
        }
        let consumed = self.decoder.take_consumed();
        self.buf.advance(consumed);
        let mut line_ended = false;
        loop {
            // Is there a whole message (or an error) at the front? It is
            // parsed again by the batch: once per read, not per message.
            if !self.buf.is_empty() && self.decoder.ready(&self.buf) {
                break;
            }
            if self.eof {
                if self.buf.is_empty() {
                    self.done = true;
                    // As the codec's `decode_eof`: the parser has the last
                    // word on an empty rest (a zero line limit refuses it).
                    return F::parse(&self.buf, self.decoder.decode_limits())
                        .err()
                        .map(Err);
                }
                if !line_ended && self.decoder.answer_unterminated_last_line && F::IS_LINE {
                    self.buf.extend_from_slice(b"\n");
                    line_ended = true;
                    continue;
                }
                self.done = true;
                return Some(Err(incomplete::<F>(
                    &self.buf,
                    self.decoder.decode_limits(),
                )));
            }
            // Bounded: a need was checked against the limits.
            self.buf.reserve(self.decoder.read_reserve());
            match self.io.read_buf(&mut self.buf).await {
                Ok(0) => self.eof = true,
                Ok(_) => {}
                Err(e) => {
                    self.done = true;
                    return Some(Err(Error::Io(e)));
                }
            }
        }
        Some(Ok(self.decoder.decode(&self.buf)))
    }
}

impl<R, F: WireFormat> fmt::Debug for BatchReader<R, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BatchReader")
            .field("decoder", &self.decoder)
            .field("buffered", &self.buf.len())
            .field("eof", &self.eof)
            .finish()
    }
}
