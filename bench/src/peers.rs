//! The peers' codecs, configured for the same bytes as each wireforms format.
//!
//! `LengthDelimitedCodec`'s decoder can find a length field behind other
//! header bytes (magic, mux) but its encoder always writes the length field
//! first; the `*_encoder` builders below therefore write the same number of
//! bytes in a different order, which costs the peer the same work.

use tokio_util::codec::{LengthDelimitedCodec, LinesCodec};

/// Length frames: `u32` length, payload (exactly tokio-util's default layout).
pub fn frame() -> LengthDelimitedCodec {
    LengthDelimitedCodec::builder()
        .length_field_length(4)
        .max_frame_length(1 << 20)
        .new_codec()
}

/// Typed messages: `u32` payload length, type byte, payload. The frame it
/// yields is the type byte and the payload; its encoder, handed the type
/// byte and the payload, writes exactly a typed message.
pub fn typed() -> LengthDelimitedCodec {
    LengthDelimitedCodec::builder()
        .length_field_offset(0)
        .length_field_length(4)
        .length_adjustment(1)
        .num_skip(4)
        .max_frame_length((1 << 20) + 1)
        .new_codec()
}

/// Magic packets: the `u16` length sits behind 6 header bytes; the frame is
/// the whole packet (with `num_skip(0)` the adjustment must count the 8
/// header bytes).
pub fn magic() -> LengthDelimitedCodec {
    LengthDelimitedCodec::builder()
        .length_field_offset(6)
        .length_field_length(2)
        .length_adjustment(8)
        .num_skip(0)
        .max_frame_length(65_535 + 8)
        .new_codec()
}

/// An encoder (and matching decoder) writing a `u16` length, then the 6
/// other header bytes and the payload it is handed: a magic packet's size,
/// in the order `LengthDelimitedCodec` can write. Its frames are the 6
/// header bytes and the payload.
pub fn magic_encoder() -> LengthDelimitedCodec {
    LengthDelimitedCodec::builder()
        .length_field_length(2)
        .length_adjustment(6)
        .max_frame_length(65_535 + 8)
        .new_codec()
}

/// Mux frames: `u16` channel, `u16` length; the frame is the whole mux
/// frame (the adjustment counts the 4 header bytes).
pub fn mux() -> LengthDelimitedCodec {
    LengthDelimitedCodec::builder()
        .length_field_offset(2)
        .length_field_length(2)
        .length_adjustment(4)
        .num_skip(0)
        .max_frame_length(65_535 + 4)
        .new_codec()
}

/// An encoder writing a `u16` length, then the channel and the payload it is
/// handed: a mux frame's size, in the order `LengthDelimitedCodec` can write.
pub fn mux_encoder() -> LengthDelimitedCodec {
    LengthDelimitedCodec::builder()
        .length_field_length(2)
        .length_adjustment(2)
        .max_frame_length(65_535 + 4)
        .new_codec()
}

/// Request lines: `LinesCodec` bounded like the reqres default (65,536
/// bytes counting the `\n`).
pub fn lines() -> LinesCodec {
    LinesCodec::new_with_max_length(65_536)
}

#[cfg(test)]
mod test {
    use bytes::{Bytes, BytesMut};
    use tokio_util::codec::{Decoder, Encoder};
    use wireforms::frame::LengthFrameBuf;
    use wireforms::magic::{PacketBuf, PacketType};
    use wireforms::mux::{ChannelId, MuxFrameBuf};
    use wireforms::typed::{MessageType, TypedMessageBuf};
    use wireforms::Encode;

    /// Decodes `wire` (two messages) and returns the frames.
    fn frames(mut codec: super::LengthDelimitedCodec, wire: &[u8]) -> Vec<Vec<u8>> {
        let mut buf = BytesMut::from(wire);
        let mut out = Vec::new();
        while let Some(f) = codec.decode(&mut buf).unwrap() {
            out.push(f.to_vec());
        }
        assert!(buf.is_empty());
        out
    }

    fn twice(m: &impl Encode) -> Vec<u8> {
        let mut b = BytesMut::new();
        m.encode(&mut b).unwrap();
        m.encode(&mut b).unwrap();
        b.to_vec()
    }

    #[test]
    fn peers_read_our_bytes() {
        let f = twice(&LengthFrameBuf::new(&b"abc"[..]));
        assert_eq!(
            frames(super::frame(), &f),
            [b"abc".to_vec(), b"abc".to_vec()]
        );
        let t = twice(&TypedMessageBuf::new(MessageType(9), &b"abc"[..]));
        assert_eq!(
            frames(super::typed(), &t),
            [b"\x09abc".to_vec(), b"\x09abc".to_vec()]
        );
        let m = twice(&PacketBuf::new(PacketType(9), &b"abc"[..]));
        assert_eq!(
            frames(super::magic(), &m),
            [m[..11].to_vec(), m[11..].to_vec()]
        );
        let x = twice(&MuxFrameBuf::new(ChannelId(9), &b"abc"[..]));
        assert_eq!(frames(super::mux(), &x), [x[..7].to_vec(), x[7..].to_vec()]);
    }

    #[test]
    fn peer_encoders_write_the_same_sizes() {
        let mut out = BytesMut::new();
        super::typed()
            .encode(Bytes::from_static(b"\x09abc"), &mut out)
            .unwrap();
        assert_eq!(&out[..], b"\x00\x00\x00\x03\x09abc");
        out.clear();
        let header = b"\xde\xad\xbe\xef\x01\x09";
        let mut item = header.to_vec();
        item.extend_from_slice(b"abc");
        super::magic_encoder()
            .encode(Bytes::from(item.clone()), &mut out)
            .unwrap();
        assert_eq!(out.len(), 8 + 3);
        assert_eq!(frames(super::magic_encoder(), &out), [item]);
        out.clear();
        super::mux_encoder()
            .encode(Bytes::from_static(b"\x00\x09abc"), &mut out)
            .unwrap();
        assert_eq!(&out[..], b"\x00\x03\x00\x09abc");
    }
}
