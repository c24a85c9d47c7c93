//! tokio-util's `LengthDelimitedCodec` test suite
//! (`tokio-util/tests/length_delimited.rs`, tokio-util 0.7.20), ported to
//! the length frame, whose layout is LengthDelimitedCodec's default: a
//! 4-byte big-endian payload length, no offset, no adjustment. Each test
//! keeps the original's name and cites it; the cases for layouts the
//! spec does not have (little/native endian, 1- or 3-byte length fields,
//! header offsets, `num_skip`, length adjustments, `usize` length fields)
//! are left out. The read side yields [`LengthFrameBuf`]s, whose `payload` is
//! compared where the original compares the `BytesMut`.
//!
//! The I/O is the original's scripted mock, polled with a no-op waker, so
//! every `Pending` is deterministic.

use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use bytes::{BufMut, Bytes, BytesMut};
use futures::{Sink, Stream};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_util::codec::{Encoder, FramedRead, FramedWrite};
use wireforms::frame::{self, LengthFrameBuf};
use wireforms::mux::{self, ChannelId, MuxFrame};
use wireforms::transport::codec::{
    encodes::Borrowed, FrameBytesCodec, FrameCodec, FrameSliceCodec, MuxCodec, WireCodec,
};
use wireforms::{Error, ErrorKind};

// ===== Test utils (as in the original) =====

struct Mock {
    calls: VecDeque<Poll<io::Result<Op>>>,
}

enum Op {
    Data(Vec<u8>),
    Flush,
}

macro_rules! mock {
    ($($x:expr,)*) => {{
        let mut calls = VecDeque::new();
        calls.extend(vec![$($x),*]);
        Mock { calls }
    }};
}

fn data(bytes: &[u8]) -> Poll<io::Result<Op>> {
    Poll::Ready(Ok(Op::Data(bytes.to_vec())))
}

fn flush() -> Poll<io::Result<Op>> {
    Poll::Ready(Ok(Op::Flush))
}

impl AsyncRead for Mock {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        dst: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.calls.pop_front() {
            Some(Poll::Ready(Ok(Op::Data(data)))) => {
                assert!(dst.remaining() >= data.len());
                dst.put_slice(&data);
                Poll::Ready(Ok(()))
            }
            Some(Poll::Ready(Ok(Op::Flush))) => panic!("flush scripted for a read"),
            Some(Poll::Ready(Err(e))) => Poll::Ready(Err(e)),
            Some(Poll::Pending) => Poll::Pending,
            None => Poll::Ready(Ok(())),
        }
    }
}

impl AsyncWrite for Mock {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        src: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.calls.pop_front() {
            Some(Poll::Ready(Ok(Op::Data(data)))) => {
                let len = data.len();
                assert!(src.len() >= len, "expect={data:?}; actual={src:?}");
                assert_eq!(&data[..], &src[..len]);
                Poll::Ready(Ok(len))
            }
            Some(Poll::Ready(Ok(Op::Flush))) => panic!("flush scripted for a write"),
            Some(Poll::Ready(Err(e))) => Poll::Ready(Err(e)),
            Some(Poll::Pending) => Poll::Pending,
            None => Poll::Ready(Ok(0)),
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.calls.pop_front() {
            Some(Poll::Ready(Ok(Op::Flush))) => Poll::Ready(Ok(())),
            Some(Poll::Ready(Ok(Op::Data(_)))) => panic!("write scripted for a flush"),
            Some(Poll::Ready(Err(e))) => Poll::Ready(Err(e)),
            Some(Poll::Pending) => Poll::Pending,
            None => Poll::Ready(Ok(())),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

fn cx() -> Context<'static> {
    Context::from_waker(Waker::noop())
}

fn poll_next<S: Stream<Item = Result<LengthFrameBuf, Error>> + Unpin>(
    io: &mut S,
) -> Poll<Option<Result<LengthFrameBuf, Error>>> {
    Pin::new(io).poll_next(&mut cx())
}

fn assert_next_eq<S: Stream<Item = Result<LengthFrameBuf, Error>> + Unpin>(
    io: &mut S,
    expect: &[u8],
) {
    match poll_next(io) {
        Poll::Ready(Some(Ok(v))) => assert_eq!(&v.payload[..], expect),
        other => panic!("expected a frame, got {other:?}"),
    }
}

fn assert_next_pending<S: Stream<Item = Result<LengthFrameBuf, Error>> + Unpin>(io: &mut S) {
    match poll_next(io) {
        Poll::Pending => {}
        other => panic!("expected pending, got {other:?}"),
    }
}

/// The original only asks for an error; we also check its kind.
fn assert_next_err<S: Stream<Item = Result<LengthFrameBuf, Error>> + Unpin>(
    io: &mut S,
    kind: ErrorKind,
) {
    match poll_next(io) {
        Poll::Ready(Some(Err(e))) => assert_eq!(e.kind(), kind, "{e:?}"),
        other => panic!("expected an error, got {other:?}"),
    }
}

fn assert_done<S: Stream<Item = Result<LengthFrameBuf, Error>> + Unpin>(io: &mut S) {
    match poll_next(io) {
        Poll::Ready(None) => {}
        other => panic!("expected the end, got {other:?}"),
    }
}

fn poll_ready<I, S: Sink<I, Error = Error> + Unpin>(io: &mut S) -> Poll<Result<(), Error>> {
    Pin::new(io).poll_ready(&mut cx())
}

fn poll_flush<I, S: Sink<I, Error = Error> + Unpin>(io: &mut S) -> Poll<Result<(), Error>> {
    Pin::new(io).poll_flush(&mut cx())
}

fn start_send<I, S: Sink<I, Error = Error> + Unpin>(io: &mut S, item: I) -> Result<(), Error> {
    Pin::new(io).start_send(item)
}

fn bytes(s: &'static str) -> Bytes {
    Bytes::from_static(s.as_bytes())
}

// ===== Read =====

/// `read_empty_io_yields_nothing`
#[test]
fn read_empty_io_yields_nothing() {
    let mut io = FramedRead::new(mock!(), FrameCodec::default());
    assert_done(&mut io);
}

/// `read_single_frame_one_packet`
#[test]
fn read_single_frame_one_packet() {
    let mut io = FramedRead::new(
        mock! { data(b"\x00\x00\x00\x09abcdefghi"), },
        FrameCodec::default(),
    );
    assert_next_eq(&mut io, b"abcdefghi");
    assert_done(&mut io);
}

/// `read_single_multi_frame_one_packet`
#[test]
fn read_single_multi_frame_one_packet() {
    let mut d: Vec<u8> = vec![];
    d.extend_from_slice(b"\x00\x00\x00\x09abcdefghi");
    d.extend_from_slice(b"\x00\x00\x00\x03123");
    d.extend_from_slice(b"\x00\x00\x00\x0bhello world");
    let mut io = FramedRead::new(mock! { data(&d), }, FrameCodec::default());
    assert_next_eq(&mut io, b"abcdefghi");
    assert_next_eq(&mut io, b"123");
    assert_next_eq(&mut io, b"hello world");
    assert_done(&mut io);
}

/// `read_single_frame_multi_packet`
#[test]
fn read_single_frame_multi_packet() {
    let mut io = FramedRead::new(
        mock! {
            data(b"\x00\x00"),
            data(b"\x00\x09abc"),
            data(b"defghi"),
        },
        FrameCodec::default(),
    );
    assert_next_eq(&mut io, b"abcdefghi");
    assert_done(&mut io);
}

/// `read_multi_frame_multi_packet`
#[test]
fn read_multi_frame_multi_packet() {
    let mut io = FramedRead::new(
        mock! {
            data(b"\x00\x00"),
            data(b"\x00\x09abc"),
            data(b"defghi"),
            data(b"\x00\x00\x00\x0312"),
            data(b"3\x00\x00\x00\x0bhello world"),
        },
        FrameCodec::default(),
    );
    assert_next_eq(&mut io, b"abcdefghi");
    assert_next_eq(&mut io, b"123");
    assert_next_eq(&mut io, b"hello world");
    assert_done(&mut io);
}

/// `read_single_frame_multi_packet_wait`
#[test]
fn read_single_frame_multi_packet_wait() {
    let mut io = FramedRead::new(
        mock! {
            data(b"\x00\x00"),
            Poll::Pending,
            data(b"\x00\x09abc"),
            Poll::Pending,
            data(b"defghi"),
            Poll::Pending,
        },
        FrameCodec::default(),
    );
    assert_next_pending(&mut io);
    assert_next_pending(&mut io);
    assert_next_eq(&mut io, b"abcdefghi");
    assert_next_pending(&mut io);
    assert_done(&mut io);
}

/// `read_multi_frame_multi_packet_wait`
#[test]
fn read_multi_frame_multi_packet_wait() {
    let mut io = FramedRead::new(
        mock! {
            data(b"\x00\x00"),
            Poll::Pending,
            data(b"\x00\x09abc"),
            Poll::Pending,
            data(b"defghi"),
            Poll::Pending,
            data(b"\x00\x00\x00\x0312"),
            Poll::Pending,
            data(b"3\x00\x00\x00\x0bhello world"),
            Poll::Pending,
        },
        FrameCodec::default(),
    );
    assert_next_pending(&mut io);
    assert_next_pending(&mut io);
    assert_next_eq(&mut io, b"abcdefghi");
    assert_next_pending(&mut io);
    assert_next_pending(&mut io);
    assert_next_eq(&mut io, b"123");
    assert_next_eq(&mut io, b"hello world");
    assert_next_pending(&mut io);
    assert_done(&mut io);
}

/// `read_incomplete_head`
#[test]
fn read_incomplete_head() {
    let mut io = FramedRead::new(mock! { data(b"\x00\x00"), }, FrameCodec::default());
    assert_next_err(&mut io, ErrorKind::Incomplete);
}

/// `read_incomplete_head_multi`
#[test]
fn read_incomplete_head_multi() {
    let mut io = FramedRead::new(
        mock! {
            Poll::Pending,
            data(b"\x00"),
            Poll::Pending,
        },
        FrameCodec::default(),
    );
    assert_next_pending(&mut io);
    assert_next_pending(&mut io);
    assert_next_err(&mut io, ErrorKind::Incomplete);
}

/// `read_incomplete_payload`
#[test]
fn read_incomplete_payload() {
    let mut io = FramedRead::new(
        mock! {
            data(b"\x00\x00\x00\x09ab"),
            Poll::Pending,
            data(b"cd"),
            Poll::Pending,
        },
        FrameCodec::default(),
    );
    assert_next_pending(&mut io);
    assert_next_pending(&mut io);
    assert_next_err(&mut io, ErrorKind::Incomplete);
}

/// `read_max_frame_len`
#[test]
fn read_max_frame_len() {
    let mut io = FrameCodec::builder()
        .max_len(5)
        .new_read(mock! { data(b"\x00\x00\x00\x09abcdefghi"), });
    assert_next_err(&mut io, ErrorKind::TooLarge);
}

/// `read_update_max_frame_len_at_rest`
#[test]
fn read_update_max_frame_len_at_rest() {
    let mut io = FrameCodec::builder().new_read(mock! {
        data(b"\x00\x00\x00\x09abcdefghi"),
        data(b"\x00\x00\x00\x09abcdefghi"),
    });
    assert_next_eq(&mut io, b"abcdefghi");
    io.decoder_mut().set_max_len(5);
    assert_next_err(&mut io, ErrorKind::TooLarge);
}

/// `read_update_max_frame_len_in_flight`: the frame whose header was
/// accepted under the old limit finishes under it.
#[test]
fn read_update_max_frame_len_in_flight() {
    let mut io = FrameCodec::builder().new_read(mock! {
        data(b"\x00\x00\x00\x09abcd"),
        Poll::Pending,
        data(b"efghi"),
        data(b"\x00\x00\x00\x09abcdefghi"),
    });
    assert_next_pending(&mut io);
    io.decoder_mut().set_max_len(5);
    assert_next_eq(&mut io, b"abcdefghi");
    assert_next_err(&mut io, ErrorKind::TooLarge);
}

// ===== Write =====

/// `write_nothing_yields_nothing`
#[test]
fn write_nothing_yields_nothing() {
    let mut io = FramedWrite::new(mock!(), FrameBytesCodec::default());
    assert!(matches!(
        poll_flush::<Bytes, _>(&mut io),
        Poll::Ready(Ok(()))
    ));
}

/// `write_single_frame_one_packet`
#[test]
fn write_single_frame_one_packet() {
    let mut io = FramedWrite::new(
        mock! {
            data(b"\x00\x00\x00\x09"),
            data(b"abcdefghi"),
            flush(),
        },
        FrameBytesCodec::default(),
    );
    assert!(matches!(poll_ready(&mut io), Poll::Ready(Ok(()))));
    start_send(&mut io, bytes("abcdefghi")).unwrap();
    assert!(matches!(poll_flush(&mut io), Poll::Ready(Ok(()))));
    assert!(io.get_ref().calls.is_empty());
}

/// `write_single_frame_one_packet`, sending the owned frame.
#[test]
fn write_single_frame_one_packet_owned() {
    let mut io = FramedWrite::new(
        mock! {
            data(b"\x00\x00\x00\x09"),
            data(b"abcdefghi"),
            flush(),
        },
        FrameCodec::default(),
    );
    assert!(matches!(poll_ready(&mut io), Poll::Ready(Ok(()))));
    start_send(&mut io, LengthFrameBuf::new("abcdefghi")).unwrap();
    assert!(matches!(poll_flush(&mut io), Poll::Ready(Ok(()))));
    assert!(io.get_ref().calls.is_empty());
}

/// `write_single_frame_from_slice`
#[test]
fn write_single_frame_from_slice() {
    let mut io = FramedWrite::new(
        mock! {
            data(b"\x00\x00\x00\x09"),
            data(b"abcdefghi"),
            flush(),
        },
        FrameSliceCodec::default(),
    );
    let data: &[u8] = b"abcdefghi";
    assert!(matches!(poll_ready(&mut io), Poll::Ready(Ok(()))));
    start_send(&mut io, data).unwrap();
    assert!(matches!(poll_flush(&mut io), Poll::Ready(Ok(()))));
    assert!(io.get_ref().calls.is_empty());
}

/// `write_single_frame_from_slice`, as a borrowed frame.
#[test]
fn write_single_frame_from_borrowed_frame() {
    let mut io = FramedWrite::new(
        mock! {
            data(b"\x00\x00\x00\x09"),
            data(b"abcdefghi"),
            flush(),
        },
        WireCodec::<frame::Frame, Borrowed>::default(),
    );
    let payload = b"abcdefghi".to_vec();
    assert!(matches!(poll_ready(&mut io), Poll::Ready(Ok(()))));
    start_send(&mut io, frame::LengthFrame { payload: &payload }).unwrap();
    assert!(matches!(poll_flush(&mut io), Poll::Ready(Ok(()))));
    assert!(io.get_ref().calls.is_empty());
}

/// `write_single_multi_frame_one_packet`
#[test]
fn write_single_multi_frame_one_packet() {
    let mut io = FramedWrite::new(
        mock! {
            data(b"\x00\x00\x00\x09"),
            data(b"abcdefghi"),
            data(b"\x00\x00\x00\x03"),
            data(b"123"),
            data(b"\x00\x00\x00\x0b"),
            data(b"hello world"),
            flush(),
        },
        FrameBytesCodec::default(),
    );
    for frame in ["abcdefghi", "123", "hello world"] {
        assert!(matches!(poll_ready(&mut io), Poll::Ready(Ok(()))));
        start_send(&mut io, bytes(frame)).unwrap();
    }
    assert!(matches!(poll_flush(&mut io), Poll::Ready(Ok(()))));
    assert!(io.get_ref().calls.is_empty());
}

/// `write_single_multi_frame_multi_packet`
#[test]
fn write_single_multi_frame_multi_packet() {
    let mut io = FramedWrite::new(
        mock! {
            data(b"\x00\x00\x00\x09"),
            data(b"abcdefghi"),
            flush(),
            data(b"\x00\x00\x00\x03"),
            data(b"123"),
            flush(),
            data(b"\x00\x00\x00\x0b"),
            data(b"hello world"),
            flush(),
        },
        FrameBytesCodec::default(),
    );
    for frame in ["abcdefghi", "123", "hello world"] {
        assert!(matches!(poll_ready(&mut io), Poll::Ready(Ok(()))));
        start_send(&mut io, bytes(frame)).unwrap();
        assert!(matches!(poll_flush(&mut io), Poll::Ready(Ok(()))));
    }
    assert!(io.get_ref().calls.is_empty());
}

/// `write_single_frame_would_block`
#[test]
fn write_single_frame_would_block() {
    let mut io = FramedWrite::new(
        mock! {
            Poll::Pending,
            data(b"\x00\x00"),
            Poll::Pending,
            data(b"\x00\x09"),
            data(b"abcdefghi"),
            flush(),
        },
        FrameBytesCodec::default(),
    );
    assert!(matches!(poll_ready(&mut io), Poll::Ready(Ok(()))));
    start_send(&mut io, bytes("abcdefghi")).unwrap();
    assert!(poll_flush(&mut io).is_pending());
    assert!(poll_flush(&mut io).is_pending());
    assert!(matches!(poll_flush(&mut io), Poll::Ready(Ok(()))));
    assert!(io.get_ref().calls.is_empty());
}

/// `write_max_frame_len`: the encoder refuses what its own limit refuses,
/// and nothing reaches the I/O.
#[test]
fn write_max_frame_len() {
    let mut io = FrameBytesCodec::builder().max_len(5).new_write(mock! {});
    assert!(matches!(poll_ready(&mut io), Poll::Ready(Ok(()))));
    let err = start_send(&mut io, bytes("abcdef")).unwrap_err();
    assert!(
        matches!(
            err,
            Error::TooLarge {
                len: 6,
                max: 5,
                section: "frame/4"
            }
        ),
        "{err:?}"
    );
    assert!(io.write_buffer().is_empty());
    assert!(io.get_ref().calls.is_empty());
}

/// `write_update_max_frame_len_at_rest`
#[test]
fn write_update_max_frame_len_at_rest() {
    let mut io = FrameBytesCodec::builder().new_write(mock! {
        data(b"\x00\x00\x00\x06"),
        data(b"abcdef"),
        flush(),
    });
    assert!(matches!(poll_ready(&mut io), Poll::Ready(Ok(()))));
    start_send(&mut io, bytes("abcdef")).unwrap();
    assert!(matches!(poll_flush(&mut io), Poll::Ready(Ok(()))));
    io.encoder_mut().set_max_len(5);
    let err = start_send(&mut io, bytes("abcdef")).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::TooLarge);
    assert!(io.get_ref().calls.is_empty());
}

/// `write_update_max_frame_len_in_flight`: bytes already encoded are sent
/// as they are; the new limit applies from the next encode.
#[test]
fn write_update_max_frame_len_in_flight() {
    let mut io = FrameBytesCodec::builder().new_write(mock! {
        data(b"\x00\x00\x00\x06"),
        data(b"ab"),
        Poll::Pending,
        data(b"cdef"),
        flush(),
    });
    assert!(matches!(poll_ready(&mut io), Poll::Ready(Ok(()))));
    start_send(&mut io, bytes("abcdef")).unwrap();
    assert!(poll_flush(&mut io).is_pending());
    io.encoder_mut().set_max_len(5);
    assert!(matches!(poll_flush(&mut io), Poll::Ready(Ok(()))));
    let err = start_send(&mut io, bytes("abcdef")).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::TooLarge);
    assert!(io.get_ref().calls.is_empty());
}

/// `write_zero`
#[test]
fn write_zero() {
    let mut io = FrameBytesCodec::builder().new_write(mock! {});
    assert!(matches!(poll_ready(&mut io), Poll::Ready(Ok(()))));
    start_send(&mut io, bytes("abcdef")).unwrap();
    match poll_flush(&mut io) {
        Poll::Ready(Err(Error::Io(e))) => assert_eq!(e.kind(), io::ErrorKind::WriteZero),
        other => panic!("expected a write-zero error, got {other:?}"),
    }
    assert!(io.get_ref().calls.is_empty());
}

/// `encode_overflow` (tokio-rs/tokio#681): encoding into a full buffer
/// grows it instead of panicking.
#[test]
fn encode_overflow() {
    let mut codec = FrameBytesCodec::builder().new_codec();
    let mut buf = BytesMut::with_capacity(1024);
    buf.put_slice(&[b'a'; 1024]);
    codec.encode(bytes("hello"), &mut buf).unwrap();
    assert_eq!(&buf[1024..], b"\x00\x00\x00\x05hello");
}

/// `frame_does_not_fit`: a limit above what the length field can say is
/// clipped to it (mux: a `u16`; frame: a `u32`).
#[test]
fn frame_does_not_fit() {
    let codec = MuxCodec::builder().max_len(1 << 20).new_codec();
    assert_eq!(codec.max_len(), 65_535);
    let codec = FrameCodec::builder().max_len(usize::MAX).new_codec();
    assert_eq!(codec.max_len(), u32::MAX as usize);
}

/// `smaller_frame_len_not_adjusted`
#[test]
fn smaller_frame_len_not_adjusted() {
    let codec = FrameCodec::builder().max_len(10).new_codec();
    assert_eq!(codec.max_len(), 10);
    assert_eq!(codec.limits(), &frame::Limits::new(10));
}

/// `runtime_max_frame_len_respects_length_field`, on the mux frame, whose
/// 2-byte length field makes the clipped maximum small enough to encode.
#[test]
fn runtime_max_frame_len_respects_length_field() {
    let mut codec = WireCodec::<mux::Mux, Borrowed>::default();
    codec.set_max_len(1_000_000);
    assert_eq!(codec.max_len(), 65_535);

    let payload = vec![0u8; 65_536];
    let mut dst = BytesMut::new();
    let at_max = MuxFrame {
        channel: ChannelId(1),
        payload: &payload[..65_535],
    };
    codec.encode(at_max, &mut dst).unwrap();
    assert_eq!(&dst[2..4], b"\xff\xff");

    let mut dst = BytesMut::from(&b"prefix"[..]);
    let over = MuxFrame {
        channel: ChannelId(1),
        payload: &payload,
    };
    let err = codec.encode(over, &mut dst).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::TooLarge);
    assert_eq!(&dst[..], b"prefix");
}

/// The same on the frame with a limit set at run time below the field's
/// maximum: at the limit encodes, one byte over is refused, `dst` unchanged.
#[test]
fn runtime_max_frame_len_is_the_encoders_limit() {
    let mut codec = FrameSliceCodec::default();
    codec.set_max_len(1_000);
    let payload = vec![0u8; 1_001];
    let mut dst = BytesMut::new();
    codec.encode(&payload[..1_000], &mut dst).unwrap();
    assert_eq!(&dst[..4], &1_000u32.to_be_bytes());

    let mut dst = BytesMut::from(&b"prefix"[..]);
    let err = codec.encode(&payload[..], &mut dst).unwrap_err();
    assert!(
        matches!(
            err,
            Error::TooLarge {
                len: 1_001,
                max: 1_000,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(&dst[..], b"prefix");
}
