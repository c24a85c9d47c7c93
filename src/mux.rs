//! Mux frame (`spec/mux.md`).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |       Channel (u16 BE)        |    Payload length (u16 BE)    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |  Payload (length bytes) ...
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! A 4-byte header, then exactly `length` payload bytes; frames of many
//! logical channels share one stream. Every channel id, 0 included, is valid
//! (spec §5.3). The length field is a `u16`, so one frame carries at most
//! [`MAX_PAYLOAD_LEN`] (65,535) bytes: longer messages are sent as several
//! frames (`split`, feature `alloc`). A receiver may configure a lower
//! maximum, checked from the header before anything is reserved (spec §3,
//! §5.2).
//!
//! ```
//! use wireforms::mux::{ChannelId, Limits, MuxFrame};
//! use wireforms::{Encode, Status};
//!
//! let frame = MuxFrame { channel: ChannelId(1), payload: b"hi" };
//! let bytes = frame.to_bytes()?;
//! assert_eq!(&bytes[..], b"\x00\x01\x00\x02hi");
//! assert_eq!(MuxFrame::parse(&bytes, &Limits::default())?, Status::Complete(frame, 6));
//! # Ok::<(), wireforms::Error>(())
//! ```
//!
//! Parsing never panics; a short input is [`Status::Incomplete`] with the
//! number of bytes still missing.

#[cfg(feature = "alloc")]
use crate::wire::take_payload;
use crate::wire::{emit_parts, field_bytes, parse_fixed, Encode, LengthLimit, Status, WireFormat};
use crate::Error;

/// Length of the header: channel (2) and payload length (2).
pub const HEADER_LEN: usize = 4;

/// Largest payload one frame can carry: the length field is a `u16`
/// (spec §3, §4.1).
pub const MAX_PAYLOAD_LEN: usize = u16::MAX as usize;

/// Default largest payload a receiver accepts, inclusive (spec §3): all the
/// `u16` length field can say.
pub const DEFAULT_MAX_PAYLOAD_LEN: u16 = u16::MAX;

mod field {
    use core::ops::Range;
    pub const CHANNEL: Range<usize> = 0..2;
    pub const LENGTH: Range<usize> = 2..4;
}

mod section {
    pub const INCOMPLETE: &str = "mux/5.1";
    pub const TOO_LARGE: &str = "mux/5.2";
    pub const SENDER_LENGTH: &str = "mux/4.1";
    pub const SENDER_LIMIT: &str = "mux/4";
    pub const DATAGRAM: &str = "mux/7.2";
}

/// A logical channel id. Every value, 0 included, is valid on the wire.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct ChannelId(pub u16);

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

/// The 4-byte header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// The logical channel.
    pub channel: ChannelId,
    /// Payload length in bytes.
    pub payload_len: u16,
}

impl Header {
    /// Reads a header from its 4 bytes and checks its length against
    /// `limits`.
    ///
    /// # Errors
    /// [`Error::TooLarge`] when the payload length exceeds the limit.
    pub fn parse(head: &[u8; HEADER_LEN], limits: &Limits) -> Result<Header, Error> {
        let payload_len = u16::from_be_bytes(field_bytes(head, field::LENGTH));
        // spec §5.2: the length is checked before any payload is awaited or reserved.
        if payload_len > limits.max_payload_len {
            return Err(Error::TooLarge {
                len: u64::from(payload_len),
                max: u64::from(limits.max_payload_len),
                section: section::TOO_LARGE,
            });
        }
        Ok(Header {
            channel: ChannelId(u16::from_be_bytes(field_bytes(head, field::CHANNEL))),
            payload_len,
        })
    }

    /// Writes the header into its 4 bytes.
    pub fn emit(&self, out: &mut [u8; HEADER_LEN]) {
        out[field::CHANNEL].copy_from_slice(&self.channel.0.to_be_bytes());
        out[field::LENGTH].copy_from_slice(&self.payload_len.to_be_bytes());
    }
}

/// A mux frame borrowing its payload from the input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MuxFrame<'a> {
    /// The logical channel.
    pub channel: ChannelId,
    /// Payload.
    pub payload: &'a [u8],
}

impl<'a> MuxFrame<'a> {
    /// Parses one frame from the front of `input`.
    ///
    /// # Errors
    /// [`Error::TooLarge`] when the header's length exceeds `limits`.
    pub fn parse(input: &'a [u8], limits: &Limits) -> Result<Status<MuxFrame<'a>>, Error> {
        let parsed = parse_fixed(input, |head| {
            let header = Header::parse(head, limits)?;
            Ok((header, usize::from(header.payload_len)))
        })?;
        Ok(parsed.map(|(header, payload)| MuxFrame {
            channel: header.channel,
            payload,
        }))
    }

    /// The header this frame is sent with.
    ///
    /// # Errors
    /// [`Error::TooLarge`] when the payload is longer than 65,535 bytes
    /// (send it as several frames with `split` instead).
    pub fn header(&self) -> Result<Header, Error> {
        // spec §4.1: the guide's `uint16(len(data))` silently truncated a
        // longer payload and desynchronised the stream; we refuse it.
        let payload_len = u16::try_from(self.payload.len()).map_err(|_| Error::TooLarge {
            len: self.payload.len() as u64,
            max: MAX_PAYLOAD_LEN as u64,
            section: section::SENDER_LENGTH,
        })?;
        Ok(Header {
            channel: self.channel,
            payload_len,
        })
    }
}

impl Encode for MuxFrame<'_> {
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
pub use owned::{split, split_within, MuxFrameBuf};

#[cfg(feature = "alloc")]
mod owned {
    use super::*;
    use bytes::Bytes;

    /// A mux frame that owns its payload (shared, not copied, when it came
    /// from a codec's read buffer).
    #[derive(Clone, Debug, Default, PartialEq, Eq)]
    #[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
    pub struct MuxFrameBuf {
        /// The logical channel.
        pub channel: ChannelId,
        /// Payload.
        #[cfg_attr(feature = "arbitrary", arbitrary(with = crate::wire::arbitrary_bytes))]
        pub payload: Bytes,
    }

    impl MuxFrameBuf {
        /// A frame on `channel` carrying `payload`.
        pub fn new(channel: ChannelId, payload: impl Into<Bytes>) -> Self {
            MuxFrameBuf {
                channel,
                payload: payload.into(),
            }
        }

        /// A borrowed view.
        pub fn as_message(&self) -> MuxFrame<'_> {
            MuxFrame {
                channel: self.channel,
                payload: &self.payload,
            }
        }
    }

    impl Encode for MuxFrameBuf {
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

    impl From<MuxFrame<'_>> for MuxFrameBuf {
        fn from(f: MuxFrame<'_>) -> Self {
            MuxFrameBuf::new(f.channel, Bytes::copy_from_slice(f.payload))
        }
    }

    /// Cuts `payload` into frames on `channel` of at most
    /// [`MAX_PAYLOAD_LEN`] bytes each, in order (spec §4.1). An empty payload
    /// gives one empty frame. The chunks share `payload`'s memory.
    pub fn split(channel: ChannelId, payload: Bytes) -> impl Iterator<Item = MuxFrameBuf> {
        split_within(channel, payload, &Limits::default())
    }

    /// [`split`] for a receiver that enforces `limits`: frames of at most
    /// `limits.max_payload_len` bytes, so a peer with a lower limit than the
    /// format's accepts every one (spec §3). A limit of 0 is taken as 1
    /// (no non-empty payload fits in no bytes); callers that must honour a
    /// zero limit refuse non-empty payloads first.
    pub fn split_within(
        channel: ChannelId,
        payload: Bytes,
        limits: &Limits,
    ) -> impl Iterator<Item = MuxFrameBuf> {
        Split {
            channel,
            max: usize::from(limits.max_payload_len.max(1)),
            rest: Some(payload),
        }
    }

    struct Split {
        channel: ChannelId,
        /// Largest chunk, at least 1.
        max: usize,
        // `None` once the last chunk (possibly empty) has been handed out.
        rest: Option<Bytes>,
    }

    impl Iterator for Split {
        type Item = MuxFrameBuf;

        fn next(&mut self) -> Option<MuxFrameBuf> {
            let mut rest = self.rest.take()?;
            let chunk = if rest.len() > self.max {
                let chunk = rest.split_to(self.max);
                self.rest = Some(rest);
                chunk
            } else {
                rest
            };
            Some(MuxFrameBuf::new(self.channel, chunk))
        }

        fn size_hint(&self) -> (usize, Option<usize>) {
            let n = match &self.rest {
                None => 0,
                Some(rest) => rest.len().div_ceil(self.max).max(1),
            };
            (n, Some(n))
        }
    }
}

/// [`WireFormat`] marker for the mux frame.
#[derive(Clone, Copy, Debug, Default)]
pub struct Mux;

impl WireFormat for Mux {
    const NAME: &'static str = "mux";
    const INCOMPLETE_SECTION: &'static str = section::INCOMPLETE;
    const FIXED_HEADER_LEN: usize = HEADER_LEN;
    const SENDER_LIMIT_SECTION: &'static str = section::SENDER_LIMIT;
    const DATAGRAM_SECTION: &'static str = section::DATAGRAM;
    type Limits = Limits;
    type Message<'a> = MuxFrame<'a>;
    #[cfg(feature = "alloc")]
    type Owned = MuxFrameBuf;

    fn parse<'a>(input: &'a [u8], limits: &Limits) -> Result<Status<MuxFrame<'a>>, Error> {
        MuxFrame::parse(input, limits)
    }

    #[cfg(feature = "alloc")]
    fn split_owned(
        src: &mut bytes::BytesMut,
        len: usize,
        _limits: &Limits,
    ) -> Result<MuxFrameBuf, Error> {
        // `parse` checked this header a moment ago: read it, do not parse it.
        let channel = src
            .get(field::CHANNEL)
            .and_then(|b| b.try_into().ok())
            .map(u16::from_be_bytes)
            .unwrap_or_default();
        let payload = take_payload(src, len, HEADER_LEN)?;
        Ok(MuxFrameBuf::new(ChannelId(channel), payload))
    }

    #[cfg(feature = "alloc")]
    fn to_owned_in(message: &MuxFrame<'_>, frame: &bytes::Bytes) -> MuxFrameBuf {
        MuxFrameBuf::new(message.channel, frame.slice_ref(message.payload))
    }

    #[cfg(feature = "alloc")]
    fn to_owned_copy(message: &MuxFrame<'_>) -> MuxFrameBuf {
        MuxFrameBuf::from(*message)
    }

    #[cfg(feature = "alloc")]
    fn as_message(owned: &MuxFrameBuf) -> MuxFrame<'_> {
        owned.as_message()
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::Needed;

    // The guide's first frame: channel 1, "Message on channel 1" (20 bytes).
    static FRAME_BYTES: [u8; 24] = *b"\x00\x01\x00\x14Message on channel 1";

    fn limits() -> Limits {
        Limits::default()
    }

    #[test]
    fn test_parse() {
        let (frame, len) = MuxFrame::parse(&FRAME_BYTES, &limits())
            .unwrap()
            .complete()
            .unwrap();
        assert_eq!(len, 24);
        assert_eq!(frame.channel, ChannelId(1));
        assert_eq!(frame.payload, b"Message on channel 1");
    }

    #[test]
    fn test_parse_any_channel() {
        for channel in [0u16, 2, 0x8000, u16::MAX] {
            let [hi, lo] = channel.to_be_bytes();
            let bytes = [hi, lo, 0, 1, b'x'];
            let (frame, len) = MuxFrame::parse(&bytes, &limits())
                .unwrap()
                .complete()
                .unwrap();
            assert_eq!(
                (frame.channel, frame.payload, len),
                (ChannelId(channel), &b"x"[..], 5)
            );
        }
    }

    #[test]
    fn test_emit() {
        let frame = MuxFrame {
            channel: ChannelId(1),
            payload: b"Message on channel 1",
        };
        assert_eq!(frame.encoded_len(), FRAME_BYTES.len());
        let mut out = [0u8; 24];
        assert_eq!(frame.emit(&mut out).unwrap(), 24);
        assert_eq!(out, FRAME_BYTES);
        let mut short = [0u8; 23];
        assert!(matches!(
            frame.emit(&mut short),
            Err(Error::BufferTooSmall {
                needed: 24,
                available: 23
            })
        ));
    }

    #[test]
    fn test_truncated() {
        for cut in 0..FRAME_BYTES.len() {
            let status = MuxFrame::parse(&FRAME_BYTES[..cut], &limits()).unwrap();
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
        let tight = Limits {
            max_payload_len: 19,
        };
        let err = MuxFrame::parse(&FRAME_BYTES, &tight).unwrap_err();
        assert!(matches!(
            err,
            Error::TooLarge {
                len: 20,
                max: 19,
                section: "mux/5.2"
            }
        ));
        // Checked from the header alone, and the limit is inclusive.
        assert!(MuxFrame::parse(&FRAME_BYTES[..HEADER_LEN], &tight).is_err());
        let at_limit = Limits {
            max_payload_len: 20,
        };
        assert_eq!(
            MuxFrame::parse(&FRAME_BYTES[..HEADER_LEN], &at_limit).unwrap(),
            Status::Incomplete(Needed::new(20))
        );
        // The default accepts everything the u16 can say.
        assert_eq!(
            MuxFrame::parse(b"\x00\x00\xff\xff", &limits()).unwrap(),
            Status::Incomplete(Needed::new(65_535))
        );
    }

    #[cfg(feature = "alloc")]
    #[test]
    fn test_sender_refuses_oversized_payload() {
        let payload = alloc::vec![0u8; 65_536];
        let frame = MuxFrame {
            channel: ChannelId(3),
            payload: &payload,
        };
        assert!(matches!(
            frame.check().unwrap_err(),
            Error::TooLarge {
                len: 65_536,
                max: 65_535,
                section: "mux/4.1"
            }
        ));
        let mut out = alloc::vec![0u8; 65_540];
        assert!(frame.emit(&mut out).is_err());
        let largest = MuxFrame {
            payload: &payload[..65_535],
            ..frame
        };
        assert_eq!(largest.emit(&mut out).unwrap(), 65_539);
        assert_eq!(&out[..4], b"\x00\x03\xff\xff");
    }

    #[cfg(feature = "alloc")]
    #[test]
    fn test_split() {
        use alloc::vec::Vec;
        let channel = ChannelId(7);
        for (len, chunks) in [
            (0usize, &[0usize][..]),
            (1, &[1]),
            (65_535, &[65_535]),
            (65_536, &[65_535, 1]),
            (131_070, &[65_535, 65_535]),
            (200_000, &[65_535, 65_535, 65_535, 3_395]),
        ] {
            let payload: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let iter = split(channel, bytes::Bytes::from(payload.clone()));
            assert_eq!(
                iter.size_hint(),
                (chunks.len(), Some(chunks.len())),
                "{len}"
            );
            let frames: Vec<MuxFrameBuf> = iter.collect();
            let lens: Vec<usize> = frames.iter().map(|f| f.payload.len()).collect();
            assert_eq!(lens, chunks, "{len}");
            assert!(frames
                .iter()
                .all(|f| f.channel == channel && f.check().is_ok()));
            let joined: Vec<u8> = frames
                .iter()
                .flat_map(|f| f.payload.iter().copied())
                .collect();
            assert_eq!(joined, payload, "{len}");
        }
    }

    #[cfg(feature = "alloc")]
    #[test]
    fn test_owned() {
        let buf = MuxFrameBuf::new(ChannelId(1), &b"Message on channel 1"[..]);
        assert_eq!(&buf.to_bytes().unwrap()[..], &FRAME_BYTES[..]);
        let bytes = bytes::Bytes::from_static(&FRAME_BYTES);
        let (frame, _) = Mux::parse(&bytes, &limits()).unwrap().complete().unwrap();
        assert_eq!(Mux::to_owned_in(&frame, &bytes), buf);
        assert_eq!(<Mux as WireFormat>::to_owned_copy(&frame), buf);
        assert_eq!(Mux::as_message(&buf), frame);
    }
}
