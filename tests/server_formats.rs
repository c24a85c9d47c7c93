//! The magic, frame and mux reference servers, and the UDP variants.
mod support;

use std::sync::Arc;

use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio_util::codec::Framed;
use tokio_util::sync::CancellationToken;
use tokio_util::udp::UdpFramed;
use wireforms::frame::LengthFrameBuf;
use wireforms::magic::{PacketBuf, PacketType};
use wireforms::mux::{ChannelId, MuxFrameBuf};
use wireforms::transport::codec::{FrameCodec, MagicCodec, MuxCodec};
use wireforms::transport::reference;
use wireforms::transport::server::ServerOptions;
use wireforms::transport::udp::{serve_udp, DatagramCodec};
use wireforms::typed::{MessageType, Typed, TypedMessageBuf};
use wireforms::{Encode, ErrorKind};

use support::{bounded, start};

async fn exchange(addr: std::net::SocketAddr, input: &[u8]) -> Vec<u8> {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(input).await.unwrap();
    s.shutdown().await.unwrap();
    let mut out = Vec::new();
    let _ = bounded("replies", s.read_to_end(&mut out)).await;
    out
}

#[tokio::test]
async fn magic_server_answers_many_packets_and_closes_on_bad_magic() {
    let server = start(reference::magic(
        Default::default(),
        ServerOptions::default(),
    ))
    .await;
    let mut framed = Framed::new(
        TcpStream::connect(server.local_addr).await.unwrap(),
        MagicCodec::default(),
    );
    let max = Bytes::from(vec![7u8; 65_535]);
    for (t, payload) in [
        (1u8, Bytes::from_static(b"Custom protocol message")),
        (255, Bytes::new()),
        (9, max),
    ] {
        framed
            .send(PacketBuf::new(PacketType(t), payload.clone()))
            .await
            .unwrap();
        let reply = bounded("reply", framed.next()).await.unwrap().unwrap();
        assert_eq!(reply.packet_type, PacketType(t.wrapping_add(1)));
        assert_eq!(reply.version, 1);
        assert_eq!(reply.payload, payload);
    }
    // Bad magic and bad version: closed without a reply.
    assert!(
        exchange(server.local_addr, b"\xca\xfe\xba\xbe\x01\x01\x00\x00")
            .await
            .is_empty()
    );
    assert!(
        exchange(server.local_addr, b"\xde\xad\xbe\xef\x02\x01\x00\x00")
            .await
            .is_empty()
    );
    drop(framed);
    assert_eq!(server.shutdown().await.unwrap().wire_errors, 2);
}

#[tokio::test]
async fn frame_server_upper_cases_ascii_only() {
    let server = start(reference::frame(
        Default::default(),
        ServerOptions::default(),
    ))
    .await;
    let mut framed = Framed::new(
        TcpStream::connect(server.local_addr).await.unwrap(),
        FrameCodec::default(),
    );
    for (input, expected) in [
        (&b"First frame"[..], &b"FIRST FRAME"[..]),
        (b"", b""),
        (
            "straße \u{e9}\u{ff}".as_bytes(),
            "STRAßE \u{e9}\u{ff}".as_bytes(),
        ),
        (b"\x00\xffbin\x80", b"\x00\xffBIN\x80"),
    ] {
        framed
            .send(LengthFrameBuf::new(Bytes::copy_from_slice(input)))
            .await
            .unwrap();
        let reply = bounded("reply", framed.next()).await.unwrap().unwrap();
        assert_eq!(&reply.payload[..], expected);
    }
    // One frame at the 1 MiB limit is fine; one byte more closes.
    let big = Bytes::from(vec![b'a'; 1 << 20]);
    framed.send(LengthFrameBuf::new(big)).await.unwrap();
    let reply = bounded("big reply", framed.next()).await.unwrap().unwrap();
    assert_eq!(reply.payload.len(), 1 << 20);
    assert!(reply.payload.iter().all(|&b| b == b'A'));
    assert!(exchange(server.local_addr, b"\x00\x10\x00\x01")
        .await
        .is_empty());
    drop(framed);
    assert_eq!(server.shutdown().await.unwrap().wire_errors, 1);
}

#[tokio::test]
async fn mux_server_echoes_every_channel_and_splits_long_replies() {
    let server = start(reference::mux(Default::default(), ServerOptions::default())).await;
    let mut framed = Framed::new(
        TcpStream::connect(server.local_addr).await.unwrap(),
        MuxCodec::default(),
    );
    for id in [0u16, 1, 2, 65_535] {
        framed
            .send(MuxFrameBuf::new(ChannelId(id), "Message"))
            .await
            .unwrap();
        let reply = bounded("reply", framed.next()).await.unwrap().unwrap();
        assert_eq!(reply.channel, ChannelId(id));
        assert_eq!(reply.payload, format!("Echo {id}: Message"));
    }
    // A 65,535-byte request gets a 65,543-byte answer: two frames, not a lie.
    framed
        .send(MuxFrameBuf::new(ChannelId(1), vec![b'z'; 65_535]))
        .await
        .unwrap();
    let first = bounded("first", framed.next()).await.unwrap().unwrap();
    let second = bounded("second", framed.next()).await.unwrap().unwrap();
    assert_eq!((first.payload.len(), second.payload.len()), (65_535, 8));
    assert!(first.payload.starts_with(b"Echo 1: zzz"));
    drop(framed);
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn udp_datagrams_one_message_each_and_bad_ones_skipped() {
    let socket = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
    let addr = socket.local_addr().unwrap();
    let token = CancellationToken::new();
    let reply = |m: TypedMessageBuf| vec![TypedMessageBuf::new(m.message_type.next(), m.payload)];
    let server = tokio::spawn(serve_udp::<Typed, Typed, _>(
        socket,
        Default::default(),
        reply,
        token.clone(),
    ));

    let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    client.connect(addr).await.unwrap();
    let good = TypedMessageBuf::new(MessageType(1), "datagram")
        .to_bytes()
        .unwrap();
    let mut trailing = good.to_vec();
    trailing.push(0);
    client.send(&trailing).await.unwrap(); // rejected: trailing byte
    client.send(&good[..7]).await.unwrap(); // rejected: cut short
    client.send(&good).await.unwrap(); // answered
    let mut buf = vec![0u8; 1024];
    let n = bounded("udp reply", client.recv(&mut buf)).await.unwrap();
    let expected = TypedMessageBuf::new(MessageType(2), "datagram")
        .to_bytes()
        .unwrap();
    assert_eq!(&buf[..n], &expected[..]);
    token.cancel();
    let stats = bounded("udp server", server).await.unwrap().unwrap();
    assert_eq!((stats.answered, stats.rejected), (1, 2));
}

#[tokio::test]
async fn udp_framed_yields_errors_per_datagram_and_goes_on() {
    let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let b_addr = b.local_addr().unwrap();
    let mut framed = UdpFramed::new(b, DatagramCodec::<Typed>::default());
    a.send_to(b"\x00\x00\x00\x01\x05xy", b_addr).await.unwrap();
    a.send_to(b"\x00\x00\x00\x02\x05xy", b_addr).await.unwrap();
    let first = bounded("first", framed.next()).await.unwrap().unwrap_err();
    assert_eq!(first.kind(), ErrorKind::TrailingBytes);
    let (second, _) = bounded("second", framed.next()).await.unwrap().unwrap();
    assert_eq!(second, TypedMessageBuf::new(MessageType(5), "xy"));
}
