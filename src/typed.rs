//! Typed binary message (`spec/typed.md`).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                     Payload length (u32 BE)                   |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |  Type (u8)    |  Payload (length bytes) ...
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! A 5-byte header, then exactly `length` payload bytes. Every type code is
//! valid; their meaning belongs to the application. A receiver enforces a
//! maximum payload length ([`DEFAULT_MAX_PAYLOAD_LEN`], 1 MiB, inclusive),
//! checked from the header before anything is reserved (spec §3, §5.2).
//!
//! ```
//! use wireforms::typed::{Limits, MessageType, TypedMessage};
//! use wireforms::{Encode, Status};
//!
//! let msg = TypedMessage { message_type: MessageType(1), payload: b"hi" };
//! let bytes = msg.to_bytes()?;
//! assert_eq!(&bytes[..], b"\x00\x00\x00\x02\x01hi");
//! assert_eq!(TypedMessage::parse(&bytes, &Limits::default())?, Status::Complete(msg, 7));
//! # Ok::<(), wireforms::Error>(())
//! ```
//!
//! Parsing never panics; a short input is [`Status::Incomplete`] with the
//! number of bytes still missing.

#[cfg(feature = "alloc")]
use crate::wire::take_payload;
use crate::wire::{emit_parts, field_bytes, parse_fixed, Encode, LengthLimit, Status, WireFormat};
use crate::Error;

/// Length of the header: payload length (4) and type (1).
pub const HEADER_LEN: usize = 5;

/// Default largest payload a receiver accepts, inclusive (spec §3): 1 MiB.
/// Limits what a peer can make us reserve with one header.
pub const DEFAULT_MAX_PAYLOAD_LEN: u32 = 1 << 20;

/// Largest payload the format can carry at all: the length field is a `u32`.
pub const MAX_PAYLOAD_LEN: u64 = u32::MAX as u64;

mod field {
    use core::ops::Range;
    pub const LENGTH: Range<usize> = 0..4;
    pub const TYPE: usize = 4;
}

mod section {
    pub const INCOMPLETE: &str = "typed/5.1";
    pub const TOO_LARGE: &str = "typed/5.2";
    pub const SENDER_LENGTH: &str = "typed/4.1";
    pub const SENDER_LIMIT: &str = "typed/4";
    pub const DATAGRAM: &str = "typed/7.2";
}

/// A message type code. Every value is valid on the wire.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct MessageType(pub u8);

impl MessageType {
    /// The type the reference server answers with: one more, wrapping 255 to 0.
    pub const fn next(self) -> MessageType {
        MessageType(self.0.wrapping_add(1))
    }
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

/// The 5-byte header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// Payload length in bytes.
    pub payload_len: u32,
    /// Message type.
    pub message_type: MessageType,
}

impl Header {
    /// Reads a header from its 5 bytes and checks its length against
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
        Ok(Header {
            payload_len,
            message_type: MessageType(head[field::TYPE]),
        })
    }

    /// Writes the header into its 5 bytes.
    pub fn emit(&self, out: &mut [u8; HEADER_LEN]) {
        out[field::LENGTH].copy_from_slice(&self.payload_len.to_be_bytes());
        out[field::TYPE] = self.message_type.0;
    }
}

/// A typed binary message borrowing its payload from the input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TypedMessage<'a> {
    /// Message type.
    pub message_type: MessageType,
    /// Payload.
    pub payload: &'a [u8],
}

impl<'a> TypedMessage<'a> {
    /// Parses one message from the front of `input`.
    ///
    /// # Errors
    /// [`Error::TooLarge`] when the header's length exceeds `limits`.
    pub fn parse(input: &'a [u8], limits: &Limits) -> Result<Status<TypedMessage<'a>>, Error> {
        let parsed = parse_fixed(input, |head| {
            let header = Header::parse(head, limits)?;
            Ok((
                header,
                usize::try_from(header.payload_len).unwrap_or(usize::MAX),
            ))
        })?;
        Ok(parsed.map(|(header, payload)| TypedMessage {
            message_type: header.message_type,
            payload,
        }))
    }

    /// The header this message is sent with.
    ///
    /// # Errors
    /// [`Error::TooLarge`] when the payload is longer than `u32::MAX`.
    pub fn header(&self) -> Result<Header, Error> {
        let payload_len = u32::try_from(self.payload.len()).map_err(|_| Error::TooLarge {
            len: self.payload.len() as u64,
            max: MAX_PAYLOAD_LEN,
            section: section::SENDER_LENGTH,
        })?;
        Ok(Header {
            payload_len,
            message_type: self.message_type,
        })
    }
}

impl Encode for TypedMessage<'_> {
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
pub use owned::TypedMessageBuf;

#[cfg(feature = "alloc")]
mod owned {
    use super::*;
    use bytes::Bytes;

    /// A typed binary message that owns its payload (shared, not copied,
    /// when it came from a codec's read buffer).
    #[derive(Clone, Debug, Default, PartialEq, Eq)]
    #[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
    pub struct TypedMessageBuf {
        /// Message type.
        pub message_type: MessageType,
        /// Payload.
        #[cfg_attr(feature = "arbitrary", arbitrary(with = crate::wire::arbitrary_bytes))]
        pub payload: Bytes,
    }

    impl TypedMessageBuf {
        /// A message of type `message_type` carrying `payload`.
        pub fn new(message_type: MessageType, payload: impl Into<Bytes>) -> Self {
            TypedMessageBuf {
                message_type,
                payload: payload.into(),
            }
        }

        /// A borrowed view.
        pub fn as_message(&self) -> TypedMessage<'_> {
            TypedMessage {
                message_type: self.message_type,
                payload: &self.payload,
            }
        }
    }

    impl Encode for TypedMessageBuf {
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

    impl From<TypedMessage<'_>> for TypedMessageBuf {
        fn from(m: TypedMessage<'_>) -> Self {
            TypedMessageBuf::new(m.message_type, Bytes::copy_from_slice(m.payload))
        }
    }
}

/// [`WireFormat`] marker for the typed binary message.
#[derive(Clone, Copy, Debug, Default)]
pub struct Typed;

impl WireFormat for Typed {
    const NAME: &'static str = "typed";
    const INCOMPLETE_SECTION: &'static str = section::INCOMPLETE;
    const FIXED_HEADER_LEN: usize = HEADER_LEN;
    const SENDER_LIMIT_SECTION: &'static str = section::SENDER_LIMIT;
    const DATAGRAM_SECTION: &'static str = section::DATAGRAM;
    type Limits = Limits;
    type Message<'a> = TypedMessage<'a>;
    #[cfg(feature = "alloc")]
    type Owned = TypedMessageBuf;

    fn parse<'a>(input: &'a [u8], limits: &Limits) -> Result<Status<TypedMessage<'a>>, Error> {
        TypedMessage::parse(input, limits)
    }

    #[cfg(feature = "alloc")]
    fn split_owned(
        src: &mut bytes::BytesMut,
        len: usize,
        _limits: &Limits,
    ) -> Result<TypedMessageBuf, Error> {
        // `parse` checked this header a moment ago: read it, do not parse it.
        let message_type = MessageType(src.get(field::TYPE).copied().unwrap_or_default());
        let payload = take_payload(src, len, HEADER_LEN)?;
        Ok(TypedMessageBuf::new(message_type, payload))
    }

    #[cfg(feature = "alloc")]
    fn to_owned_in(message: &TypedMessage<'_>, frame: &bytes::Bytes) -> TypedMessageBuf {
        TypedMessageBuf::new(message.message_type, frame.slice_ref(message.payload))
    }

    #[cfg(feature = "alloc")]
    fn to_owned_copy(message: &TypedMessage<'_>) -> TypedMessageBuf {
        TypedMessageBuf::from(*message)
    }

    #[cfg(feature = "alloc")]
    fn as_message(owned: &TypedMessageBuf) -> TypedMessage<'_> {
        owned.as_message()
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::Needed;

    // The guide's request: type 1, "Binary message data" (19 bytes).
    static MESSAGE_BYTES: [u8; 24] = *b"\x00\x00\x00\x13\x01Binary message data";

    fn limits() -> Limits {
        Limits::default()
    }

    #[test]
    fn test_parse() {
        let (msg, len) = TypedMessage::parse(&MESSAGE_BYTES, &limits())
            .unwrap()
            .complete()
            .unwrap();
        assert_eq!(len, 24);
        assert_eq!(msg.message_type, MessageType(1));
        assert_eq!(msg.payload, b"Binary message data");
    }

    #[test]
    fn test_emit() {
        let msg = TypedMessage {
            message_type: MessageType(1),
            payload: b"Binary message data",
        };
        assert_eq!(msg.encoded_len(), MESSAGE_BYTES.len());
        let mut out = [0u8; 24];
        assert_eq!(msg.emit(&mut out).unwrap(), 24);
        assert_eq!(out, MESSAGE_BYTES);
        let mut short = [0u8; 23];
        assert!(matches!(
            msg.emit(&mut short),
            Err(Error::BufferTooSmall {
                needed: 24,
                available: 23
            })
        ));
    }

    #[test]
    fn test_truncated() {
        for cut in 0..MESSAGE_BYTES.len() {
            let status = TypedMessage::parse(&MESSAGE_BYTES[..cut], &limits()).unwrap();
            let expected = if cut < HEADER_LEN {
                HEADER_LEN - cut
            } else {
                MESSAGE_BYTES.len() - cut
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
        let err = TypedMessage::parse(b"\xff\xff\xff\xff\x01", &limits()).unwrap_err();
        assert!(matches!(
            err,
            Error::TooLarge {
                len: 0xffff_ffff,
                max: 1_048_576,
                section: "typed/5.2"
            }
        ));
        // The limit is inclusive.
        let at_limit = 1_048_576u32.to_be_bytes();
        let header = [at_limit[0], at_limit[1], at_limit[2], at_limit[3], 0];
        assert_eq!(
            TypedMessage::parse(&header, &limits()).unwrap(),
            Status::Incomplete(Needed::new(1_048_576))
        );
    }
}
