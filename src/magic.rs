//! Magic header packet (`spec/magic.md`).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                     Magic (u32 BE, 0xDEADBEEF)                |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |  Version (u8) |   Type (u8)   |    Payload length (u16 BE)    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |  Payload (length bytes) ...
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! An 8-byte header, then exactly `length` payload bytes. A receiver reads
//! the whole header before judging it, as the reference server does, and
//! then checks, in this order, the magic ([`MAGIC`], spec §5.2), the version
//! ([`VERSION`], spec §5.3) and the payload length against its limit
//! ([`DEFAULT_MAX_PAYLOAD_LEN`], 65,535, inclusive; spec §3, §5.4). The
//! length field is a `u16`, so a packet can never ask for more than
//! 65,535 bytes; a receiver may configure a lower maximum. Every type code
//! is valid (spec §5.5).
//!
//! ```
//! use wireforms::magic::{Limits, Packet, PacketType, VERSION};
//! use wireforms::{Encode, Status};
//!
//! let packet = Packet { version: VERSION, packet_type: PacketType(1), payload: b"hi" };
//! let bytes = packet.to_bytes()?;
//! assert_eq!(&bytes[..], b"\xde\xad\xbe\xef\x01\x01\x00\x02hi");
//! assert_eq!(Packet::parse(&bytes, &Limits::default())?, Status::Complete(packet, 10));
//! # Ok::<(), wireforms::Error>(())
//! ```
//!
//! Parsing never panics; a short input is [`Status::Incomplete`] with the
//! number of bytes still missing (until the 8 header bytes are in, that is
//! the rest of the header, whatever its first bytes hold).

#[cfg(feature = "alloc")]
use crate::wire::take_payload;
use crate::wire::{emit_parts, field_bytes, parse_fixed, Encode, LengthLimit, Status, WireFormat};
use crate::Error;

/// Length of the header: magic (4), version (1), type (1), payload length (2).
pub const HEADER_LEN: usize = 8;

/// The value every packet starts with (spec §2.2).
pub const MAGIC: u32 = 0xDEAD_BEEF;

/// The only protocol version this implementation speaks (spec §5.3).
pub const VERSION: u8 = 1;

/// Default largest payload a receiver accepts, inclusive (spec §3): the
/// largest the `u16` length field can say.
pub const DEFAULT_MAX_PAYLOAD_LEN: u16 = 65_535;

/// Largest payload the format can carry at all: the length field is a `u16`.
pub const MAX_PAYLOAD_LEN: usize = u16::MAX as usize;

mod field {
    use core::ops::Range;
    pub const MAGIC: Range<usize> = 0..4;
    pub const VERSION: usize = 4;
    pub const TYPE: usize = 5;
    pub const LENGTH: Range<usize> = 6..8;
}

mod section {
    pub const INCOMPLETE: &str = "magic/5.1";
    pub const BAD_MAGIC: &str = "magic/5.2";
    pub const BAD_VERSION: &str = "magic/5.3";
    pub const TOO_LARGE: &str = "magic/5.4";
    pub const SENDER_LENGTH: &str = "magic/4.1";
    pub const SENDER_LIMIT: &str = "magic/4";
    pub const DATAGRAM: &str = "magic/7.2";
}

/// A packet type code. Every value is valid on the wire.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct PacketType(pub u8);

impl PacketType {
    /// The type the reference server answers with: one more, wrapping 255 to 0.
    pub const fn next(self) -> PacketType {
        PacketType(self.0.wrapping_add(1))
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
    pub max_payload_len: u16,
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
    pub const fn new(max_payload_len: u16) -> Self {
        Limits { max_payload_len }
    }
}

/// The limit is the payload length; the header is not counted.
impl LengthLimit for Limits {
    fn max_len(&self) -> usize {
        usize::from(self.max_payload_len)
    }

    fn set_max_len(&mut self, max: usize) {
        // The length field cannot say more than its type holds.
        self.max_payload_len = u16::try_from(max).unwrap_or(u16::MAX);
    }
}

/// The 8-byte header, less the magic (which is always [`MAGIC`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// Protocol version.
    pub version: u8,
    /// Packet type.
    pub packet_type: PacketType,
    /// Payload length in bytes.
    pub payload_len: u16,
}

impl Header {
    /// Reads a header from its 8 bytes and checks its magic, version and
    /// length, in this order.
    ///
    /// # Errors
    /// [`Error::BadMagic`] when the packet does not start with [`MAGIC`],
    /// [`Error::BadVersion`] when its version is not [`VERSION`],
    /// [`Error::TooLarge`] when its payload length exceeds the limit.
    pub fn parse(head: &[u8; HEADER_LEN], limits: &Limits) -> Result<Header, Error> {
        let magic = u32::from_be_bytes(field_bytes(head, field::MAGIC));
        let version = head[field::VERSION];
        let payload_len = u16::from_be_bytes(field_bytes(head, field::LENGTH));
        // spec §5.2: a packet that does not start with the magic is not one of ours.
        if magic != MAGIC {
            return Err(Error::BadMagic {
                found: magic,
                section: section::BAD_MAGIC,
            });
        }
        // spec §5.3: another version may lay its header out differently; do not guess.
        if version != VERSION {
            return Err(Error::BadVersion {
                found: version,
                section: section::BAD_VERSION,
            });
        }
        // spec §5.4: the length is checked before any payload is awaited or reserved.
        if payload_len > limits.max_payload_len {
            return Err(Error::TooLarge {
                len: u64::from(payload_len),
                max: u64::from(limits.max_payload_len),
                section: section::TOO_LARGE,
            });
        }
        Ok(Header {
            version,
            packet_type: PacketType(head[field::TYPE]),
            payload_len,
        })
    }

    /// Writes the header, magic included, into its 8 bytes.
    pub fn emit(&self, out: &mut [u8; HEADER_LEN]) {
        out[field::MAGIC].copy_from_slice(&MAGIC.to_be_bytes());
        out[field::VERSION] = self.version;
        out[field::TYPE] = self.packet_type.0;
        out[field::LENGTH].copy_from_slice(&self.payload_len.to_be_bytes());
    }
}

/// A magic header packet borrowing its payload from the input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Packet<'a> {
    /// Protocol version. A parsed packet always has [`VERSION`]; a
    /// serializer writes whatever it is given (the format can carry it).
    pub version: u8,
    /// Packet type.
    pub packet_type: PacketType,
    /// Payload.
    pub payload: &'a [u8],
}

impl<'a> Packet<'a> {
    /// Parses one packet from the front of `input`.
    ///
    /// # Errors
    /// [`Error::BadMagic`], [`Error::BadVersion`] or [`Error::TooLarge`], as
    /// [`Header::parse`].
    pub fn parse(input: &'a [u8], limits: &Limits) -> Result<Status<Packet<'a>>, Error> {
        let parsed = parse_fixed(input, |head| {
            let header = Header::parse(head, limits)?;
            Ok((header, usize::from(header.payload_len)))
        })?;
        Ok(parsed.map(|(header, payload)| Packet {
            version: header.version,
            packet_type: header.packet_type,
            payload,
        }))
    }

    /// The header this packet is sent with.
    ///
    /// # Errors
    /// [`Error::TooLarge`] when the payload is longer than 65,535 bytes.
    pub fn header(&self) -> Result<Header, Error> {
        // spec §4.1: a sender MUST NOT send a payload the u16 length cannot
        // say; the guide's `uint16(len(payload))` silently truncated it.
        let payload_len = u16::try_from(self.payload.len()).map_err(|_| Error::TooLarge {
            len: self.payload.len() as u64,
            max: MAX_PAYLOAD_LEN as u64,
            section: section::SENDER_LENGTH,
        })?;
        Ok(Header {
            version: self.version,
            packet_type: self.packet_type,
            payload_len,
        })
    }
}

impl Encode for Packet<'_> {
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
pub use owned::PacketBuf;

#[cfg(feature = "alloc")]
mod owned {
    use super::*;
    use bytes::Bytes;

    /// A magic header packet that owns its payload (shared, not copied,
    /// when it came from a codec's read buffer).
    #[derive(Clone, Debug, Default, PartialEq, Eq)]
    #[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
    pub struct PacketBuf {
        /// Protocol version.
        pub version: u8,
        /// Packet type.
        pub packet_type: PacketType,
        /// Payload.
        #[cfg_attr(feature = "arbitrary", arbitrary(with = crate::wire::arbitrary_bytes))]
        pub payload: Bytes,
    }

    impl PacketBuf {
        /// A packet of version [`VERSION`] and type `packet_type` carrying
        /// `payload`.
        pub fn new(packet_type: PacketType, payload: impl Into<Bytes>) -> Self {
            PacketBuf {
                version: VERSION,
                packet_type,
                payload: payload.into(),
            }
        }

        /// A borrowed view.
        pub fn as_message(&self) -> Packet<'_> {
            Packet {
                version: self.version,
                packet_type: self.packet_type,
                payload: &self.payload,
            }
        }
    }

    impl Encode for PacketBuf {
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

    impl From<Packet<'_>> for PacketBuf {
        fn from(p: Packet<'_>) -> Self {
            PacketBuf {
                version: p.version,
                packet_type: p.packet_type,
                payload: Bytes::copy_from_slice(p.payload),
            }
        }
    }
}

/// [`WireFormat`] marker for the magic header packet.
#[derive(Clone, Copy, Debug, Default)]
pub struct Magic;

impl WireFormat for Magic {
    const NAME: &'static str = "magic";
    const INCOMPLETE_SECTION: &'static str = section::INCOMPLETE;
    const FIXED_HEADER_LEN: usize = HEADER_LEN;
    const SENDER_LIMIT_SECTION: &'static str = section::SENDER_LIMIT;
    const DATAGRAM_SECTION: &'static str = section::DATAGRAM;
    type Limits = Limits;
    type Message<'a> = Packet<'a>;
    #[cfg(feature = "alloc")]
    type Owned = PacketBuf;

    fn parse<'a>(input: &'a [u8], limits: &Limits) -> Result<Status<Packet<'a>>, Error> {
        Packet::parse(input, limits)
    }

    #[cfg(feature = "alloc")]
    fn split_owned(
        src: &mut bytes::BytesMut,
        len: usize,
        _limits: &Limits,
    ) -> Result<PacketBuf, Error> {
        // `parse` checked this header a moment ago: read it, do not parse it.
        let version = src.get(field::VERSION).copied().unwrap_or_default();
        let packet_type = PacketType(src.get(field::TYPE).copied().unwrap_or_default());
        let payload = take_payload(src, len, HEADER_LEN)?;
        Ok(PacketBuf {
            version,
            packet_type,
            payload,
        })
    }

    #[cfg(feature = "alloc")]
    fn to_owned_in(message: &Packet<'_>, frame: &bytes::Bytes) -> PacketBuf {
        PacketBuf {
            version: message.version,
            packet_type: message.packet_type,
            payload: frame.slice_ref(message.payload),
        }
    }

    #[cfg(feature = "alloc")]
    fn to_owned_copy(message: &Packet<'_>) -> PacketBuf {
        PacketBuf::from(*message)
    }

    #[cfg(feature = "alloc")]
    fn as_message(owned: &PacketBuf) -> Packet<'_> {
        owned.as_message()
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::Needed;

    // The guide's request: version 1, type 1, "Custom protocol message" (23 bytes).
    static PACKET_BYTES: [u8; 31] = *b"\xde\xad\xbe\xef\x01\x01\x00\x17Custom protocol message";

    fn limits() -> Limits {
        Limits::default()
    }

    #[test]
    fn test_parse() {
        let (packet, len) = Packet::parse(&PACKET_BYTES, &limits())
            .unwrap()
            .complete()
            .unwrap();
        assert_eq!(len, 31);
        assert_eq!(packet.version, 1);
        assert_eq!(packet.packet_type, PacketType(1));
        assert_eq!(packet.payload, b"Custom protocol message");
    }

    #[test]
    fn test_parse_leaves_the_next_packet() {
        let mut two = [0u8; 62];
        two[..31].copy_from_slice(&PACKET_BYTES);
        two[31..].copy_from_slice(&PACKET_BYTES);
        let (_, len) = Packet::parse(&two, &limits()).unwrap().complete().unwrap();
        assert_eq!(len, 31);
    }

    #[test]
    fn test_emit() {
        let packet = Packet {
            version: VERSION,
            packet_type: PacketType(1),
            payload: b"Custom protocol message",
        };
        assert_eq!(packet.encoded_len(), PACKET_BYTES.len());
        let mut out = [0u8; 31];
        assert_eq!(packet.emit(&mut out).unwrap(), 31);
        assert_eq!(out, PACKET_BYTES);
        let mut short = [0u8; 30];
        assert!(matches!(
            packet.emit(&mut short),
            Err(Error::BufferTooSmall {
                needed: 31,
                available: 30
            })
        ));
    }

    #[test]
    fn test_emit_any_version() {
        // The format can carry another version; only a receiver refuses it.
        let packet = Packet {
            version: 2,
            packet_type: PacketType(7),
            payload: b"",
        };
        let mut out = [0u8; HEADER_LEN];
        packet.emit(&mut out).unwrap();
        assert_eq!(out, *b"\xde\xad\xbe\xef\x02\x07\x00\x00");
    }

    #[test]
    fn test_truncated() {
        for cut in 0..PACKET_BYTES.len() {
            let status = Packet::parse(&PACKET_BYTES[..cut], &limits()).unwrap();
            let expected = if cut < HEADER_LEN {
                HEADER_LEN - cut
            } else {
                PACKET_BYTES.len() - cut
            };
            assert_eq!(
                status,
                Status::Incomplete(Needed::new(expected)),
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn test_bad_magic() {
        let err = Packet::parse(b"\xde\xad\xbe\xee\x01\x01\x00\x00", &limits()).unwrap_err();
        assert!(matches!(
            err,
            Error::BadMagic {
                found: 0xdead_beee,
                section: "magic/5.2"
            }
        ));
        // The magic is judged before the version.
        let err = Packet::parse(b"\x00\x00\x00\x00\x09\x01\xff\xff", &limits()).unwrap_err();
        assert!(matches!(err, Error::BadMagic { found: 0, .. }));
    }

    #[test]
    fn test_bad_version() {
        for version in [0u8, 2, 255] {
            let bytes = [0xde, 0xad, 0xbe, 0xef, version, 1, 0, 0];
            let err = Packet::parse(&bytes, &limits()).unwrap_err();
            assert!(
                matches!(err, Error::BadVersion { found, section: "magic/5.3" } if found == version),
                "{err:?}"
            );
        }
        // The version is judged before the length.
        let tight = Limits { max_payload_len: 0 };
        let err = Packet::parse(b"\xde\xad\xbe\xef\x02\x01\xff\xff", &tight).unwrap_err();
        assert!(matches!(err, Error::BadVersion { found: 2, .. }));
    }

    #[test]
    fn test_impossible_len() {
        let tight = Limits {
            max_payload_len: 22,
        };
        let err = Packet::parse(&PACKET_BYTES, &tight).unwrap_err();
        assert!(matches!(
            err,
            Error::TooLarge {
                len: 23,
                max: 22,
                section: "magic/5.4"
            }
        ));
        // Checked from the header alone, and the limit is inclusive.
        assert!(Packet::parse(&PACKET_BYTES[..HEADER_LEN], &tight).is_err());
        let at_limit = Limits {
            max_payload_len: 23,
        };
        assert_eq!(
            Packet::parse(&PACKET_BYTES[..HEADER_LEN], &at_limit).unwrap(),
            Status::Incomplete(Needed::new(23))
        );
        // The default accepts everything the u16 can say.
        assert_eq!(
            Packet::parse(b"\xde\xad\xbe\xef\x01\x01\xff\xff", &limits()).unwrap(),
            Status::Incomplete(Needed::new(65_535))
        );
    }

    #[cfg(feature = "alloc")]
    #[test]
    fn test_sender_refuses_oversized_payload() {
        let payload = alloc::vec![0u8; 65_536];
        let packet = Packet {
            version: VERSION,
            packet_type: PacketType(1),
            payload: &payload,
        };
        let err = packet.check().unwrap_err();
        assert!(matches!(
            err,
            Error::TooLarge {
                len: 65_536,
                max: 65_535,
                section: "magic/4.1"
            }
        ));
        let mut out = alloc::vec![0u8; 65_544];
        assert!(packet.emit(&mut out).is_err());
        let largest = Packet {
            payload: &payload[..65_535],
            ..packet
        };
        assert_eq!(largest.emit(&mut out).unwrap(), 65_543);
        let (parsed, len) = Packet::parse(&out[..65_543], &limits())
            .unwrap()
            .complete()
            .unwrap();
        assert_eq!((parsed, len), (largest, 65_543));
    }

    #[cfg(feature = "alloc")]
    #[test]
    fn test_owned() {
        let buf = PacketBuf::new(PacketType(1), &b"Custom protocol message"[..]);
        assert_eq!(&buf.to_bytes().unwrap()[..], &PACKET_BYTES[..]);
        let frame = bytes::Bytes::from_static(&PACKET_BYTES);
        let (packet, _) = Magic::parse(&frame, &limits()).unwrap().complete().unwrap();
        assert_eq!(Magic::to_owned_in(&packet, &frame), buf);
        assert_eq!(<Magic as WireFormat>::to_owned_copy(&packet), buf);
        assert_eq!(Magic::as_message(&buf), packet);
    }
}
