//! A message a codec encodes always decodes with the same codec's limits,
//! for every format; and limits changed on a live codec follow tokio-util's
//! semantics (a message whose header was accepted finishes under the old
//! limit), checked against a model over every way of cutting the stream.

use bytes::{Bytes, BytesMut};
use proptest::collection::vec;
use proptest::prelude::*;
use tokio_util::codec::{Decoder, Encoder};
use wireforms::frame::{Frame, LengthFrameBuf};
use wireforms::magic::{Magic, PacketBuf, PacketType, VERSION};
use wireforms::mux::{ChannelId, Mux, MuxFrameBuf};
use wireforms::reqres::{RequestBuf, RequestLine, ResponseBuf, ResponseLine};
use wireforms::transport::codec::{FrameCodec, WireCodec};
use wireforms::typed::{MessageType, Typed, TypedMessageBuf};
use wireforms::{Encode, Error, ErrorKind, LengthLimit, WireFormat};

/// Encodes `message` with a codec limited to `max_len`, then decodes the
/// bytes with the same codec. Either the encoder refused (a `too_large`
/// naming the limit, or a field the format cannot carry) and wrote
/// nothing, or the same message comes back whole.
fn encode_then_decode<F: WireFormat>(message: F::Owned, max_len: usize)
where
    WireCodec<F>: Encoder<F::Owned, Error = Error>,
{
    let mut limits = F::Limits::default();
    limits.set_max_len(max_len);
    let mut codec = WireCodec::<F>::new(limits);
    let mut dst = BytesMut::from(&b"before"[..]);
    let len = message.encoded_len();
    match codec.encode(message.clone(), &mut dst) {
        Err(e) => {
            assert_eq!(&dst[..], b"before", "nothing written on {e:?}");
            match e {
                Error::TooLarge { len: l, max, .. } => {
                    assert_eq!(max as usize, codec.max_len());
                    assert_eq!(l as usize, len - F::FIXED_HEADER_LEN);
                    assert!(l > max);
                }
                e => assert_eq!(e.kind(), ErrorKind::InvalidField, "{e:?}"),
            }
        }
        Ok(()) => {
            assert_eq!(dst.len(), 6 + len);
            let mut src = dst.split_off(6);
            let decoded = codec.decode(&mut src).expect("own limits accept it");
            assert_eq!(decoded, Some(message));
            assert!(src.is_empty());
        }
    }
}

fn payload() -> impl Strategy<Value = Bytes> {
    vec(any::<u8>(), 0..48).prop_map(Bytes::from)
}

/// Short fields, often with the bytes a serializer must refuse.
fn field() -> impl Strategy<Value = String> {
    "[a-z:\r\n]{0,12}"
}

proptest! {
    #[test]
    fn typed_encoded_decodes(t: u8, p in payload(), max in 0usize..64) {
        encode_then_decode::<Typed>(TypedMessageBuf::new(MessageType(t), p), max);
    }

    /// Version 1 only: the serializer writes any version it is given (spec
    /// magic §4.1, for tests of peers), which a receiver then refuses.
    #[test]
    fn magic_encoded_decodes(t: u8, p in payload(), max in 0usize..64) {
        let packet = PacketBuf { version: VERSION, packet_type: PacketType(t), payload: p };
        encode_then_decode::<Magic>(packet, max);
    }

    #[test]
    fn frame_encoded_decodes(p in payload(), max in 0usize..64) {
        encode_then_decode::<Frame>(LengthFrameBuf::new(p), max);
    }

    #[test]
    fn mux_encoded_decodes(c: u16, p in payload(), max in 0usize..64) {
        encode_then_decode::<Mux>(MuxFrameBuf::new(ChannelId(c), p), max);
    }

    #[test]
    fn request_encoded_decodes(a in field(), b in field(), c in field(), max in 0usize..48) {
        encode_then_decode::<RequestLine>(RequestBuf::new(a, b, c), max);
    }

    #[test]
    fn response_encoded_decodes(a in field(), b in field(), c in field(), max in 0usize..48) {
        encode_then_decode::<ResponseLine>(ResponseBuf::new(a, b, c), max);
    }

    /// Frames of random lengths, fed in random chunks, with the limit
    /// changed between chunks. Model: a frame is judged by the limit in
    /// force when the chunk holding the last byte of its header arrived;
    /// the stream yields every frame up to the first one over its limit,
    /// then `too_large`.
    #[test]
    fn live_limit_applies_from_the_next_header(
        lens in vec(0usize..12, 1..8),
        steps in vec((1usize..7, proptest::option::of(0usize..12)), 1..40),
    ) {
        let mut wire = Vec::new();
        let (mut header_ends, mut frame_ends) = (Vec::new(), Vec::new());
        for (i, &len) in lens.iter().enumerate() {
            wire.extend_from_slice(&(len as u32).to_be_bytes());
            header_ends.push(wire.len());
            wire.extend(std::iter::repeat_n(i as u8, len));
            frame_ends.push(wire.len());
        }

        // The model.
        let mut expected = Vec::new();
        let mut expect_error = false;
        let mut fed = 0;
        {
            let (mut limit, mut frame) = (usize::MAX, 0);
            for &(chunk, set) in &steps {
                if let Some(l) = set { limit = l; }
                fed = (fed + chunk).min(wire.len());
                while frame < lens.len() && header_ends[frame] <= fed && !expect_error {
                    if lens[frame] > limit { expect_error = true; } else { expected.push(frame); }
                    frame += 1;
                }
            }
        }

        // The codec.
        let mut codec = FrameCodec::default();
        codec.set_max_len(usize::MAX);
        let mut buf = BytesMut::new();
        let (mut fed, mut got, mut error) = (0, Vec::new(), None);
        'feed: for &(chunk, set) in &steps {
            if let Some(l) = set { codec.set_max_len(l); }
            let end = (fed + chunk).min(wire.len());
            buf.extend_from_slice(&wire[fed..end]);
            fed = end;
            loop {
                match codec.decode(&mut buf) {
                    Ok(Some(frame)) => got.push(frame.payload),
                    Ok(None) => break,
                    Err(e) => { error = Some(e); break 'feed; }
                }
            }
        }
        // Accepted frames come out once their last byte is in.
        let want: Vec<Bytes> = expected
            .iter()
            .filter(|&&i| frame_ends[i] <= fed)
            .map(|&i| Bytes::from(vec![i as u8; lens[i]]))
            .collect();
        prop_assert_eq!(&got, &want);
        if expect_error {
            prop_assert_eq!(error.map(|e| e.kind()), Some(ErrorKind::TooLarge));
        } else {
            prop_assert!(error.is_none(), "{error:?}");
        }
    }
}
