//! Codec settings: the encoder refuses what the codec's own limits refuse,
//! and `Clone` keeps every setting.

use bytes::BytesMut;
use tokio_util::codec::{Decoder, Encoder};
use wireforms::frame::{self, LengthFrameBuf};
use wireforms::transport::codec::{FrameCodec, RequestCodec};
use wireforms::ErrorKind;

#[test]
fn encoder_refuses_a_frame_its_own_decoder_refuses() {
    let mut codec = FrameCodec::new(frame::Limits::new(5));
    let mut dst = BytesMut::from(&b"prefix"[..]);
    let err = codec
        .encode(LengthFrameBuf::new(&b"abcdef"[..]), &mut dst)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::TooLarge, "{err:?}");
    assert!(
        matches!(err, wireforms::Error::TooLarge { len: 6, max: 5, .. }),
        "{err:?}"
    );
    assert_eq!(&dst[..], b"prefix", "nothing written");
}

#[test]
fn clone_keeps_answer_unterminated_last_line() {
    let mut codec = RequestCodec::default();
    codec.set_answer_unterminated_last_line(true);
    let mut copy = codec.clone();
    let mut buf = BytesMut::from(&b"1:ECHO:last"[..]);
    let request = copy.decode_eof(&mut buf).unwrap().unwrap();
    assert_eq!(&*request.args, "last");
}

/// tokio-util's `read_update_max_frame_len_in_flight`, on the codec alone:
/// a header accepted under the old limit finishes under it.
#[test]
fn lowered_limit_lets_the_frame_in_flight_finish() {
    let mut codec = FrameCodec::default();
    let mut buf = BytesMut::from(&b"\x00\x00\x00\x09abcd"[..]);
    assert_eq!(codec.decode(&mut buf).unwrap(), None);
    codec.set_limits(frame::Limits::new(5));
    buf.extend_from_slice(b"efghi\x00\x00\x00\x09abcdefghi");
    let first = codec.decode(&mut buf).unwrap().unwrap();
    assert_eq!(&first.payload[..], b"abcdefghi");
    let err = codec.decode(&mut buf).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::TooLarge, "{err:?}");
}

/// The setting is a setting: answering one unterminated last line does not
/// switch it off for the next stream the codec (or a clone of it) reads.
#[test]
fn answering_an_unterminated_line_keeps_the_setting() {
    let mut codec = RequestCodec::default();
    codec.set_answer_unterminated_last_line(true);
    let mut buf = BytesMut::from(&b"1:ECHO:a"[..]);
    assert_eq!(&*codec.decode_eof(&mut buf).unwrap().unwrap().args, "a");
    assert_eq!(codec.decode_eof(&mut buf).unwrap(), None);
    let mut next = codec.clone();
    let mut buf = BytesMut::from(&b"2:ECHO:b"[..]);
    assert_eq!(&*next.decode_eof(&mut buf).unwrap().unwrap().args, "b");
}

/// A header only partly buffered was not accepted yet: a limit lowered
/// meanwhile applies to it (as in tokio-util, whose decoder reads the
/// length only once the whole header is there).
#[test]
fn lowered_limit_applies_to_a_header_still_arriving() {
    let mut codec = FrameCodec::default();
    let mut buf = BytesMut::from(&b"\x00\x00"[..]);
    assert_eq!(codec.decode(&mut buf).unwrap(), None);
    codec.set_max_len(5);
    buf.extend_from_slice(b"\x00\x09abcdefghi");
    assert_eq!(
        codec.decode(&mut buf).unwrap_err().kind(),
        ErrorKind::TooLarge
    );
}

/// For lines, a line already partly buffered is the message in flight: it
/// finishes under the old limit, the next line meets the new one.
#[test]
fn lowered_line_limit_lets_the_line_in_flight_finish() {
    let mut codec = RequestCodec::default();
    let mut buf = BytesMut::from(&b"1:ECHO:abc"[..]);
    assert_eq!(codec.decode(&mut buf).unwrap(), None);
    codec.set_max_len(8);
    buf.extend_from_slice(b"def\n2:ECHO:x\n");
    assert_eq!(&*codec.decode(&mut buf).unwrap().unwrap().args, "abcdef");
    let err = codec.decode(&mut buf).unwrap_err();
    assert!(
        matches!(err, wireforms::Error::LineTooLong { max: 8, .. }),
        "{err:?}"
    );
}

/// The builder's settings reach the codec and its clones, and
/// `encoding` keeps them.
#[test]
fn builder_settings_survive_clone_and_encoding() {
    use wireforms::transport::codec::encodes::Borrowed;
    let codec = RequestCodec::builder()
        .max_len(100)
        .answer_unterminated_last_line(true)
        .new_codec();
    let borrowed = codec.clone().encoding::<Borrowed>();
    assert_eq!(borrowed.max_len(), 100);
    assert!(borrowed.answers_unterminated_last_line());
    let copy = borrowed.clone();
    assert_eq!(copy.limits(), codec.limits());
    assert!(copy.answers_unterminated_last_line());
}

/// A clone starts at a message boundary: the original's scan position in
/// its own read buffer must not make the clone skip a line end.
#[test]
fn clone_starts_a_fresh_stream() {
    let mut codec = RequestCodec::default();
    let mut buf = BytesMut::from(&b"1:ECHO:abcdef"[..]);
    assert_eq!(codec.decode(&mut buf).unwrap(), None);
    let mut copy = codec.clone();
    let mut other = BytesMut::from(&b"2:A:b\n"[..]);
    assert_eq!(&*copy.decode(&mut other).unwrap().unwrap().id, "2");
}
