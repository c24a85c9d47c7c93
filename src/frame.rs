//! Length frame (`spec/frame.md`).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                     Payload length (u32 BE)                   |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |  Payload (length bytes) ...
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! A 4-byte header, then exactly `length` payload bytes; frames follow each
//! other on one stream. A receiver enforces a maximum payload length
//! ([`DEFAULT_MAX_PAYLOAD_LEN`], 1 MiB, inclusive), checked from the header
//! before anything is reserved (spec §3, §5.2).
//!
//! ```
//! use wireforms::frame::{LengthFrame, Limits};
//! use wireforms::{Encode, Status};
//!
//! let frame = LengthFrame { payload: b"First frame" };
//! let bytes = frame.to_bytes()?;
//! assert_eq!(&bytes[..], b"\x00\x00\x00\x0bFirst frame");
//! assert_eq!(LengthFrame::parse(&bytes, &Limits::default())?, Status::Complete(frame, 15));
//! # Ok::<(), wireforms::Error>(())
//! ```
//!
//! Parsing never panics; a short input is [`Status::Incomplete`] with the
//! number of bytes still missing.

#[cfg(feature = "alloc")]
use crate::wire::take_payload;
use crate::wire::{emit_parts, field_bytes, parse_fixed, Encode, LengthLimit, Status, WireFormat};
use crate::Error;

/// Length of the header: the payload length (4).
pub const HEADER_LEN: usize = 4;

/// Default largest payload a receiver accepts, inclusive (spec §3): 1 MiB,
/// as the guide's reader. Limits what a peer can make us reserve with one
/// header.
pub const DEFAULT_MAX_PAYLOAD_LEN: u32 = 1 << 20;

/// Largest payload the format can carry at all: the length field is a `u32`.
pub const MAX_PAYLOAD_LEN: u64 = u32::MAX as u64;

mod field {
    use core::ops::Range;
    pub const LENGTH: Range<usize> = 0..4;
}

mod section {
    pub const INCOMPLETE: &str = "frame/5.1";
    pub const TOO_LARGE: &str = "frame/5.2";
    pub const SENDER_LENGTH: &str = "frame/4.1";
    pub const SENDER_LIMIT: &str = "frame/4";
    pub const DATAGRAM: &str = "frame/7.2";
}

/// What a receiver enforces.
///
/// Non-exhaustive, so that a limit can be added without breaking callers:
/// build it with [`Limits::new`] or [`Limits::default`] and set fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Largest payload accepted, inclusive.
    pub max_payload_len: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_payload_len: DEFAULT_MAX_PAYLOAD_LEN,
        }
    }
}

impl Limits {
    /// Limits with `max_payload_len` and every other limit (none yet) at its default.
    pub const fn new(max_payload_len: u32) -> Self {
        Limits { max_payload_len }
    }
}

/// The limit is the payload length; the header is not counted.
impl LengthLimit for Limits {
    fn max_len(&self) -> usize {
        usize::try_from(self.max_payload_len).unwrap_or(usize::MAX)
    }

    fn set_max_len(&mut self, max: usize) {
        // The length field cannot say more than its type holds.
        self.max_payload_len = u32::try_from(max).unwrap_or(u32::MAX);
    }
}

/// The 4-byte header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// Payload length in bytes.
    pub payload_len: u32,
}

impl Header {
    /// Reads a header from its 4 bytes and checks its length against
    /// `limits`.
    ///
    /// # Errors
    /// [`Error::TooLarge`] when the payload length exceeds the limit.
    pub fn parse(head: &[u8; HEADER_LEN], limits: &Limits) -> Result<Header, Error> {
        let payload_len = u32::from_be_bytes(field_bytes(head, field::LENGTH));
        // spec §5.2: the length is checked before any payload is awaited or reserved.
        if payload_len > limits.max_payload_len {
            return Err(Error::TooLarge {
                len: u64::from(payload_len),
                max: u64::from(limits.max_payload_len),
                section: section::TOO_LARGE,
            });
        }
        Ok(Header { payload_len })
    }

    /// Writes the header into its 4 bytes.
    pub fn emit(&self, out: &mut [u8; HEADER_LEN]) {
        out[field::LENGTH].copy_from_slice(&self.payload_len.to_be_bytes());
    }
}

/// A length frame borrowing its payload from the input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LengthFrame<'a> {
    /// Payload.
    pub payload: &'a [u8],
}

impl<'a> LengthFrame<'a> {
    /// Parses one frame from the front of `input`.
    ///
    /// # Errors
    /// [`Error::TooLarge`] when the header's length exceeds `limits`.
    pub fn parse(input: &'a [u8], limits: &Limits) -> Result<Status<LengthFrame<'a>>, Error> {
        let parsed = parse_fixed(input, |head| {
            let header = Header::parse(head, limits)?;
            Ok((
                header,
                usize::try_from(header.payload_len).unwrap_or(usize::MAX),
            ))
        })?;
        Ok(parsed.map(|(_, payload)| LengthFrame { payload }))
    }

    /// The header this frame is sent with.
    ///
    /// # Errors
    /// [`Error::TooLarge`] when the payload is longer than `u32::MAX`.
    pub fn header(&self) -> Result<Header, Error> {
        // spec §4.1: never truncate a length the field cannot say.
        let payload_len = u32::try_from(self.payload.len()).map_err(|_| Error::TooLarge {
            len: self.payload.len() as u64,
            max: MAX_PAYLOAD_LEN,
            section: section::SENDER_LENGTH,
        })?;
        Ok(Header { payload_len })
    }
}

impl Encode for LengthFrame<'_> {
    fn encoded_len(&self) -> usize {
        HEADER_LEN.saturating_add(self.payload.len())
    }

    fn check(&self) -> Result<(), Error> {
        self.header().map(|_| ())
    }

    fn emit(&self, out: &mut [u8]) -> Result<usize, Error> {
        let mut head = [0u8; HEADER_LEN];
        self.header()?.emit(&mut head);
        emit_parts(out, &head, self.payload)
    }

    /// Header and payload appended directly: no zero-fill of the payload
    /// room before it is overwritten.
    // Inlined into the owned message's `encode` (callgrind: a call of its
    // own cost 13 instructions of a 16-byte packet's 125).
    #[cfg(feature = "alloc")]
    #[inline]
    fn encode(&self, buf: &mut bytes::BytesMut) -> Result<(), Error> {
        let mut head = [0u8; HEADER_LEN];
        self.header()?.emit(&mut head);
        crate::wire::encode_parts(buf, &head, self.payload);
        Ok(())
    }
}

#[cfg(feature = "alloc")]
pub use owned::LengthFrameBuf;

#[cfg(feature = "alloc")]
mod owned {
    use super::*;
    use bytes::Bytes;

    /// A length frame that owns its payload (shared, not copied, when it
    /// came from a codec's read buffer).
    #[derive(Clone, Debug, Default, PartialEq, Eq)]
    #[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
    pub struct LengthFrameBuf {
        /// Payload.
        #[cfg_attr(feature = "arbitrary", arbitrary(with = crate::wire::arbitrary_bytes))]
        pub payload: Bytes,
    }

    impl LengthFrameBuf {
        /// A frame carrying `payload`.
        pub fn new(payload: impl Into<Bytes>) -> Self {
            LengthFrameBuf {
                payload: payload.into(),
            }
        }

        /// A borrowed view.
        pub fn as_message(&self) -> LengthFrame<'_> {
            LengthFrame {
                payload: &self.payload,
            }
        }
    }

    impl Encode for LengthFrameBuf {
        fn encoded_len(&self) -> usize {
            self.as_message().encoded_len()
        }
        fn check(&self) -> Result<(), Error> {
            self.as_message().check()
        }
        fn emit(&self, out: &mut [u8]) -> Result<usize, Error> {
            self.as_message().emit(out)
        }
        fn encode_split(&self, buf: &mut bytes::BytesMut) -> Result<Option<Bytes>, Error> {
            let mut head = [0u8; HEADER_LEN];
            self.as_message().header()?.emit(&mut head);
            buf.extend_from_slice(&head);
            Ok(Some(self.payload.clone()))
        }
        fn encode(&self, buf: &mut bytes::BytesMut) -> Result<(), Error> {
            self.as_message().encode(buf)
        }
    }

    impl From<LengthFrame<'_>> for LengthFrameBuf {
        fn from(f: LengthFrame<'_>) -> Self {
            LengthFrameBuf::new(Bytes::copy_from_slice(f.payload))
        }
    }
}

/// [`WireFormat`] marker for the length frame.
#[derive(Clone, Copy, Debug, Default)]
pub struct Frame;

impl WireFormat for Frame {
    const NAME: &'static str = "frame";
    const INCOMPLETE_SECTION: &'static str = section::INCOMPLETE;
    const FIXED_HEADER_LEN: usize = HEADER_LEN;
    const SENDER_LIMIT_SECTION: &'static str = section::SENDER_LIMIT;
    const DATAGRAM_SECTION: &'static str = section::DATAGRAM;
    type Limits = Limits;
    type Message<'a> = LengthFrame<'a>;
    #[cfg(feature = "alloc")]
    type Owned = LengthFrameBuf;

    fn parse<'a>(input: &'a [u8], limits: &Limits) -> Result<Status<LengthFrame<'a>>, Error> {
        LengthFrame::parse(input, limits)
    }

    #[cfg(feature = "alloc")]
    fn split_owned(
        src: &mut bytes::BytesMut,
        len: usize,
        _limits: &Limits,
    ) -> Result<LengthFrameBuf, Error> {
        Ok(LengthFrameBuf::new(take_payload(src, len, HEADER_LEN)?))
    }

    #[cfg(feature = "alloc")]
    fn to_owned_in(message: &LengthFrame<'_>, frame: &bytes::Bytes) -> LengthFrameBuf {
        LengthFrameBuf::new(frame.slice_ref(message.payload))
    }

    #[cfg(feature = "alloc")]
    fn to_owned_copy(message: &LengthFrame<'_>) -> LengthFrameBuf {
        LengthFrameBuf::from(*message)
    }

    #[cfg(feature = "alloc")]
    fn as_message(owned: &LengthFrameBuf) -> LengthFrame<'_> {
        owned.as_message()
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::Needed;

    // The guide's first frame: "First frame" (11 bytes).
    static FRAME_BYTES: [u8; 15] = *b"\x00\x00\x00\x0bFirst frame";

    fn limits() -> Limits {
        Limits::default()
    }

    #[test]
    fn test_parse() {
        let (frame, len) = LengthFrame::parse(&FRAME_BYTES, &limits())
            .unwrap()
            .complete()
            .unwrap();
        assert_eq!(len, 15);
        assert_eq!(frame.payload, b"First frame");
    }

    #[test]
    fn test_parse_empty_and_next() {
        // An empty frame is a whole frame; what follows is left alone.
        let bytes = b"\x00\x00\x00\x00\x00\x00\x00\x0bFirst frame";
        let (frame, len) = LengthFrame::parse(bytes, &limits())
            .unwrap()
            .complete()
            .unwrap();
        assert_eq!((frame.payload, len), (&b""[..], 4));
        let (frame, len) = LengthFrame::parse(&bytes[len..], &limits())
            .unwrap()
            .complete()
            .unwrap();
        assert_eq!((frame.payload, len), (&b"First frame"[..], 15));
    }

    #[test]
    fn test_emit() {
        let frame = LengthFrame {
            payload: b"First frame",
        };
        assert_eq!(frame.encoded_len(), FRAME_BYTES.len());
        let mut out = [0u8; 15];
        assert_eq!(frame.emit(&mut out).unwrap(), 15);
        assert_eq!(out, FRAME_BYTES);
        let mut short = [0u8; 14];
        assert!(matches!(
            frame.emit(&mut short),
            Err(Error::BufferTooSmall {
                needed: 15,
                available: 14
            })
        ));
    }

    #[test]
    fn test_truncated() {
        for cut in 0..FRAME_BYTES.len() {
            let status = LengthFrame::parse(&FRAME_BYTES[..cut], &limits()).unwrap();
            let expected = if cut < HEADER_LEN {
                HEADER_LEN - cut
            } else {
                FRAME_BYTES.len() - cut
            };
            assert_eq!(
                status,
                Status::Incomplete(Needed::new(expected)),
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn test_impossible_len() {
        let err = LengthFrame::parse(b"\xff\xff\xff\xff", &limits()).unwrap_err();
        assert!(matches!(
            err,
            Error::TooLarge {
                len: 0xffff_ffff,
                max: 1_048_576,
                section: "frame/5.2"
            }
        ));
        // One over the limit is refused from the header alone ...
        let over = (1_048_576u32 + 1).to_be_bytes();
        assert!(matches!(
            LengthFrame::parse(&over, &limits()),
            Err(Error::TooLarge { len: 1_048_577, .. })
        ));
        // ... and the limit itself is accepted.
        let at_limit = 1_048_576u32.to_be_bytes();
        assert_eq!(
            LengthFrame::parse(&at_limit, &limits()).unwrap(),
            Status::Incomplete(Needed::new(1_048_576))
        );
    }

    #[cfg(feature = "alloc")]
    #[test]
    fn test_owned() {
        let buf = LengthFrameBuf::new(&b"First frame"[..]);
        assert_eq!(&buf.to_bytes().unwrap()[..], &FRAME_BYTES[..]);
        let bytes = bytes::Bytes::from_static(&FRAME_BYTES);
        let (frame, _) = Frame::parse(&bytes, &limits()).unwrap().complete().unwrap();
        assert_eq!(Frame::to_owned_in(&frame, &bytes), buf);
        assert_eq!(<Frame as WireFormat>::to_owned_copy(&frame), buf);
        assert_eq!(Frame::as_message(&buf), frame);
    }
}
