//! The contract shared by the five format modules: parse outcomes, the
//! serializer trait and the format trait that generic code (codecs, the
//! command-line tool, the conformance vectors, the fuzz targets) is written
//! against.

use core::fmt;
use core::num::NonZeroUsize;

use crate::Error;

/// How many more bytes a parser needs before it can decide.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Needed {
    /// At least this many more bytes. Supplying exactly this many either
    /// completes the message or lets the parser name a new, larger need
    /// (once a header is complete its length field is known).
    Size(NonZeroUsize),
    /// The number is not known (a text line without its `\n` yet).
    Unknown,
}

impl Needed {
    /// `Needed::Size(n)`, or `Unknown` when `n` is zero (which a correct
    /// parser never asks for).
    pub const fn new(n: usize) -> Needed {
        match NonZeroUsize::new(n) {
            Some(n) => Needed::Size(n),
            None => Needed::Unknown,
        }
    }

    /// The number of bytes, when known.
    pub const fn size(self) -> Option<usize> {
        match self {
            Needed::Size(n) => Some(n.get()),
            Needed::Unknown => None,
        }
    }
}

/// The outcome of a parse that did not fail.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status<T> {
    /// A whole message, and the number of input bytes it took.
    Complete(T, usize),
    /// The input is a valid prefix of a message; more bytes are needed.
    /// This is not an error.
    Incomplete(Needed),
}

impl<T> Status<T> {
    /// The message and its encoded length, if complete.
    pub fn complete(self) -> Option<(T, usize)> {
        match self {
            Status::Complete(value, len) => Some((value, len)),
            Status::Incomplete(_) => None,
        }
    }

    /// Whether a whole message was parsed.
    pub fn is_complete(&self) -> bool {
        matches!(self, Status::Complete(..))
    }

    /// Applies `f` to a complete message.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Status<U> {
        match self {
            Status::Complete(value, len) => Status::Complete(f(value), len),
            Status::Incomplete(needed) => Status::Incomplete(needed),
        }
    }
}

/// The parse of every binary format: a fixed header of `N` bytes, which
/// `read_header` reads and checks (against the limits, before anything is
/// awaited or reserved) and turns into the header and its payload length,
/// then exactly that many payload bytes. Returns the header, the payload
/// and the bytes taken.
///
/// Short input is `Incomplete` with the exact need: first the rest of the
/// header, whatever its first bytes hold, then the rest of the payload.
pub(crate) fn parse_fixed<const N: usize, H>(
    input: &[u8],
    read_header: impl FnOnce(&[u8; N]) -> Result<(H, usize), Error>,
) -> Result<Status<(H, &[u8])>, Error> {
    let Some((head, rest)) = input.split_first_chunk::<N>() else {
        // input.len() < N here.
        return Ok(Status::Incomplete(Needed::new(N - input.len())));
    };
    let (header, payload_len) = read_header(head)?;
    match rest.get(..payload_len) {
        // payload_len <= rest.len() < input.len(): no overflow.
        Some(payload) => Ok(Status::Complete((header, payload), N + payload_len)),
        None => Ok(Status::Incomplete(Needed::new(payload_len - rest.len()))),
    }
}

/// The bytes of the field at `at` of a fixed header. `at` is one of the
/// header's constant `field` ranges, so after inlining the copy has no
/// bounds check left.
pub(crate) fn field_bytes<const N: usize>(head: &[u8], at: core::ops::Range<usize>) -> [u8; N] {
    let mut out = [0u8; N];
    out.copy_from_slice(&head[at]);
    out
}

/// A message that can be serialized.
///
/// `encoded_len()` is exactly the number of bytes `emit` and `encode`
/// write, and serializers refuse, with a typed error, anything the format
/// cannot carry: they never truncate.
pub trait Encode {
    /// The number of bytes the encoded message takes.
    fn encoded_len(&self) -> usize;

    /// Checks that the format can carry this message.
    ///
    /// # Errors
    /// [`Error::TooLarge`] or [`Error::InvalidField`] naming what does not fit.
    fn check(&self) -> Result<(), Error>;

    /// Writes the message at the start of `out` and returns its length.
    ///
    /// # Errors
    /// What [`check`](Encode::check) reports, or [`Error::BufferTooSmall`]
    /// when `out` is shorter than [`encoded_len`](Encode::encoded_len).
    fn emit(&self, out: &mut [u8]) -> Result<usize, Error>;

    /// Appends the message to `buf`, reserving once.
    ///
    /// # Errors
    /// What [`check`](Encode::check) reports; nothing is written then.
    #[cfg(feature = "alloc")]
    fn encode(&self, buf: &mut bytes::BytesMut) -> Result<(), Error> {
        self.check()?;
        let len = self.encoded_len();
        let start = buf.len();
        buf.resize(start + len, 0);
        match self.emit(&mut buf[start..]) {
            Ok(_) => Ok(()),
            Err(e) => {
                buf.truncate(start);
                Err(e)
            }
        }
    }

    /// Appends the encoding to `buf`, except for a trailing payload that it
    /// returns instead, shared rather than copied, for writers that send
    /// header and payload as separate buffers (vectored writes). The
    /// default appends everything and returns `None`.
    ///
    /// # Errors
    /// What [`check`](Encode::check) reports; nothing is written then.
    #[cfg(feature = "alloc")]
    fn encode_split(&self, buf: &mut bytes::BytesMut) -> Result<Option<bytes::Bytes>, Error> {
        self.encode(buf).map(|()| None)
    }

    /// The encoded message in a new buffer of exactly the right size.
    ///
    /// # Errors
    /// What [`check`](Encode::check) reports.
    #[cfg(feature = "alloc")]
    fn to_bytes(&self) -> Result<bytes::BytesMut, Error> {
        let mut buf = bytes::BytesMut::with_capacity(self.encoded_len());
        self.encode(&mut buf)?;
        Ok(buf)
    }
}

/// Takes the `len`-byte message at the front of `src` off it and returns its
/// payload (the bytes after `header_len`), sharing `src`'s memory.
#[cfg(feature = "alloc")]
pub(crate) fn take_payload(
    src: &mut bytes::BytesMut,
    len: usize,
    header_len: usize,
) -> Result<bytes::Bytes, Error> {
    use bytes::Buf;
    // `parse` found these bytes complete; anything else is a caller's bug.
    let payload_len = len
        .checked_sub(header_len)
        .filter(|_| len <= src.len())
        .ok_or(Error::Internal {
            reason: "split of a message parse did not find whole",
        })?;
    src.advance(header_len);
    Ok(src.split_to(payload_len).freeze())
}

/// Parses the one whole message in `frame` and returns it sharing `frame`'s
/// memory.
#[cfg(feature = "alloc")]
pub(crate) fn owned_in<F: WireFormat + ?Sized>(
    frame: &bytes::Bytes,
    limits: &F::Limits,
) -> Result<F::Owned, Error> {
    match F::parse(frame, limits)? {
        Status::Complete(message, _) => Ok(F::to_owned_in(&message, frame)),
        // The same bytes parsed as complete a moment ago.
        Status::Incomplete(_) => Err(Error::Internal {
            reason: "message changed between parses",
        }),
    }
}

/// Writes a header and its payload at the start of `out`: the `emit` of
/// every binary format.
pub(crate) fn emit_parts(out: &mut [u8], head: &[u8], payload: &[u8]) -> Result<usize, Error> {
    let len = head.len().saturating_add(payload.len());
    check_room(out, len)?;
    let (out_head, body) = out.split_at_mut(head.len());
    out_head.copy_from_slice(head);
    body[..payload.len()].copy_from_slice(payload);
    Ok(len)
}

/// Appends a header and its payload with one reservation: the `encode` of
/// every binary format.
#[cfg(feature = "alloc")]
pub(crate) fn encode_parts(buf: &mut bytes::BytesMut, head: &[u8], payload: &[u8]) {
    buf.reserve(head.len().saturating_add(payload.len()));
    buf.extend_from_slice(head);
    buf.extend_from_slice(payload);
}

/// Checks `out` is long enough for `len` bytes.
pub(crate) fn check_room(out: &[u8], len: usize) -> Result<(), Error> {
    if out.len() < len {
        return Err(Error::BufferTooSmall {
            needed: len,
            available: out.len(),
        });
    }
    Ok(())
}

/// A receiver's length limit, seen the same way for every format: the
/// payload length for the four length-prefixed formats, the whole line
/// (its `LF` included) for the line formats.
///
/// Lets code that is generic over the formats (a codec's
/// [`set_max_len`](crate::transport::codec::WireCodec::set_max_len), the
/// command-line tool) read and change the one limit each format has.
pub trait LengthLimit {
    /// The largest length accepted, inclusive.
    fn max_len(&self) -> usize;

    /// Sets the largest length accepted. A value larger than the format's
    /// length field can say is clipped to what it can say (as tokio-util's
    /// `set_max_frame_length` does), since no header could ask for more.
    fn set_max_len(&mut self, max: usize);
}

/// One of the wire formats, for code that is generic over them.
///
/// Implemented by the marker types [`Typed`](crate::typed::Typed),
/// [`Magic`](crate::magic::Magic), [`Frame`](crate::frame::Frame),
/// [`Mux`](crate::mux::Mux), [`RequestLine`](crate::reqres::RequestLine) and
/// [`ResponseLine`](crate::reqres::ResponseLine).
pub trait WireFormat {
    /// The format's name on the command line and in the vectors: `typed`,
    /// `magic`, `frame`, `mux`, `request` or `response`.
    const NAME: &'static str;

    /// The spec section a stream that ends inside a message breaks.
    const INCOMPLETE_SECTION: &'static str;

    /// Length of the fixed header that carries a message's length: once
    /// this many bytes of a message are buffered, its length has been
    /// checked against the limits. 0 for the line formats, which have no
    /// header: their limit is checked on every byte.
    const FIXED_HEADER_LEN: usize;

    /// The spec section that says a datagram carries exactly one message
    /// (section 7.2 of each format), cited for bytes after it.
    const DATAGRAM_SECTION: &'static str;

    /// Whether a message is a text line that ends at its `LF` (the request
    /// and response lines) rather than a fixed header carrying its length.
    /// Only a line can be finished by adding its terminator, as a codec
    /// that answers an unterminated last line and a datagram reader do.
    const IS_LINE: bool = Self::FIXED_HEADER_LEN == 0;

    /// The spec section that tells a sender to stay within the receiver's
    /// limit (section 4 of each format), cited by
    /// [`check_encoded_len`](WireFormat::check_encoded_len).
    const SENDER_LIMIT_SECTION: &'static str;

    /// What a receiver enforces (maximum lengths).
    type Limits: Clone + Default + fmt::Debug + Send + Sync + 'static + LengthLimit;

    /// A parsed message borrowing from the input.
    type Message<'a>: Encode + fmt::Debug + PartialEq + Copy;

    /// The owned form, with payloads as [`bytes::Bytes`].
    #[cfg(feature = "alloc")]
    type Owned: Encode + fmt::Debug + PartialEq + Clone + Send + Sync + 'static;

    /// Checks that a receiver enforcing `limits` accepts a message of this
    /// format that encodes to `encoded_len` bytes, so that a sender can
    /// refuse what its peer would refuse instead of sending it.
    ///
    /// # Errors
    /// [`Error::TooLarge`] with the message's length and the limit, in the
    /// units of [`LengthLimit::max_len`] (payload bytes, or line bytes).
    fn check_encoded_len(encoded_len: usize, limits: &Self::Limits) -> Result<(), Error> {
        // The header is not counted by a payload limit; a line limit counts
        // everything (FIXED_HEADER_LEN is 0 there).
        let len = encoded_len.saturating_sub(Self::FIXED_HEADER_LEN);
        let max = limits.max_len();
        if len > max {
            return Err(Error::TooLarge {
                len: len as u64,
                max: max as u64,
                section: Self::SENDER_LIMIT_SECTION,
            });
        }
        Ok(())
    }

    /// Parses one message from the front of `input`.
    ///
    /// # Errors
    /// A typed error naming what is wrong; see the module of each format.
    fn parse<'a>(
        input: &'a [u8],
        limits: &Self::Limits,
    ) -> Result<Status<Self::Message<'a>>, Error>;

    /// Parses the one message a datagram holds (spec §7.2 of each format),
    /// borrowing from `datagram`. A line may leave out its final `LF` (it
    /// still counts towards the line limit); an empty datagram holds no
    /// message.
    ///
    /// # Errors
    /// The parser's error; [`Error::TrailingBytes`] counting the bytes the
    /// peer sent after the message; [`Error::Incomplete`] when the datagram
    /// ends inside a message (or is empty).
    fn parse_datagram<'a>(
        datagram: &'a [u8],
        limits: &Self::Limits,
    ) -> Result<Self::Message<'a>, Error> {
        match Self::parse(datagram, limits)? {
            Status::Complete(message, len) if len == datagram.len() => Ok(message),
            Status::Complete(_, len) => Err(Error::TrailingBytes {
                len: datagram.len().saturating_sub(len),
                section: Self::DATAGRAM_SECTION,
            }),
            Status::Incomplete(needed) => Err(Error::Incomplete {
                needed: needed.size(),
                section: Self::INCOMPLETE_SECTION,
            }),
        }
    }

    /// Like [`parse`](WireFormat::parse), told that the first `scanned`
    /// bytes of `input` were seen before and held no message end, so a
    /// delimiter search can resume there. Binary formats ignore the hint.
    ///
    /// # Errors
    /// As [`parse`](WireFormat::parse).
    fn parse_from<'a>(
        input: &'a [u8],
        limits: &Self::Limits,
        scanned: usize,
    ) -> Result<Status<Self::Message<'a>>, Error> {
        let _ = scanned;
        Self::parse(input, limits)
    }

    /// The owned form of `message`, whose slices must lie inside `frame`:
    /// the payload is shared with `frame`, not copied.
    #[cfg(feature = "alloc")]
    fn to_owned_in(message: &Self::Message<'_>, frame: &bytes::Bytes) -> Self::Owned;

    /// Takes the message that [`parse`](WireFormat::parse) found complete in
    /// the first `len` bytes of `src` off `src`, sharing its memory. The
    /// default parses the split bytes again; the binary formats read their
    /// already-checked header instead.
    ///
    /// # Errors
    /// Only if the bytes no longer parse (a bug, not a peer's doing).
    #[cfg(feature = "alloc")]
    fn split_owned(
        src: &mut bytes::BytesMut,
        len: usize,
        limits: &Self::Limits,
    ) -> Result<Self::Owned, Error> {
        let frame = src.split_to(len).freeze();
        owned_in::<Self>(&frame, limits)
    }

    /// Takes the first message off `src` in its owned form, sharing
    /// `src`'s memory: what a codec's `decode` does. `scanned` is as for
    /// [`parse_from`](WireFormat::parse_from). The default parses, then
    /// [`split_owned`](WireFormat::split_owned)s; the line formats split
    /// and check a line in one pass instead.
    ///
    /// # Errors
    /// As [`parse`](WireFormat::parse); `src` is left as it was then.
    #[cfg(feature = "alloc")]
    fn decode_owned(
        src: &mut bytes::BytesMut,
        limits: &Self::Limits,
        scanned: usize,
    ) -> Result<Status<Self::Owned>, Error> {
        let len = match Self::parse_from(src, limits, scanned)? {
            Status::Complete(_, len) => len,
            Status::Incomplete(needed) => return Ok(Status::Incomplete(needed)),
        };
        Self::split_owned(src, len, limits).map(|message| Status::Complete(message, len))
    }

    /// The owned form of `message`, copying its payload.
    #[cfg(feature = "alloc")]
    fn to_owned_copy(message: &Self::Message<'_>) -> Self::Owned;

    /// A borrowed view of an owned message.
    #[cfg(feature = "alloc")]
    fn as_message(owned: &Self::Owned) -> Self::Message<'_>;
}

/// `arbitrary` support for `Bytes` fields.
#[cfg(feature = "arbitrary")]
pub(crate) fn arbitrary_bytes(
    u: &mut arbitrary::Unstructured<'_>,
) -> arbitrary::Result<bytes::Bytes> {
    let v: alloc::vec::Vec<u8> = arbitrary::Arbitrary::arbitrary(u)?;
    Ok(bytes::Bytes::from(v))
}
