//! The typed-message reference server over loopback.
mod support;

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::codec::Framed;
use wireforms::transport::codec::TypedCodec;
use wireforms::transport::reference;
use wireforms::transport::server::ServerOptions;
use wireforms::typed::{self, MessageType, TypedMessageBuf};
use wireforms::{Encode, ErrorKind};

use support::{bounded, start};

fn msg(t: u8, payload: &str) -> TypedMessageBuf {
    TypedMessageBuf::new(MessageType(t), payload.to_owned())
}

#[tokio::test]
async fn many_messages_many_connections() {
    let server = start(reference::typed(
        Default::default(),
        ServerOptions::default(),
    ))
    .await;
    let mut clients = Vec::new();
    for c in 0..8u8 {
        let addr = server.local_addr;
        clients.push(tokio::spawn(async move {
            let stream = TcpStream::connect(addr).await.unwrap();
            let mut framed = Framed::new(stream, TypedCodec::default());
            for i in 0..100u8 {
                let request = msg(i, &format!("client {c} message {i}"));
                framed.send(request.clone()).await.unwrap();
                let reply = framed.next().await.unwrap().unwrap();
                assert_eq!(reply.message_type, MessageType(i.wrapping_add(1)));
                assert_eq!(reply.payload, request.payload);
            }
        }));
    }
    for client in clients {
        bounded("client", client).await.unwrap();
    }
    let stats = bounded("shutdown", server.shutdown()).await.unwrap();
    assert_eq!(stats.messages, 800);
    assert_eq!(stats.connections, 8);
}

#[tokio::test]
async fn split_and_coalesced_writes() {
    let server = start(reference::typed(
        Default::default(),
        ServerOptions::default(),
    ))
    .await;
    let mut stream = TcpStream::connect(server.local_addr).await.unwrap();
    // Three messages in one write, the first type 255 (wraps to 0).
    let mut wire = Vec::new();
    for (t, p) in [(255u8, "a"), (1, ""), (7, "third")] {
        wire.extend_from_slice(&msg(t, p).to_bytes().unwrap());
    }
    stream.write_all(&wire).await.unwrap();
    // Then one message a byte at a time.
    let slow = msg(9, "slowly").to_bytes().unwrap();
    for byte in slow.iter() {
        stream.write_all(&[*byte]).await.unwrap();
        stream.flush().await.unwrap();
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    stream.shutdown().await.unwrap();
    let mut replies = Vec::new();
    bounded("read replies", stream.read_to_end(&mut replies))
        .await
        .unwrap();
    let mut expected = Vec::new();
    for (t, p) in [(0u8, "a"), (2, ""), (8, "third"), (10, "slowly")] {
        expected.extend_from_slice(&msg(t, p).to_bytes().unwrap());
    }
    assert_eq!(replies, expected);
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn over_limit_header_closes_only_that_connection() {
    let limits = typed::Limits::new(1024);
    let server = start(reference::typed(limits, ServerOptions::default())).await;
    let good = TcpStream::connect(server.local_addr).await.unwrap();
    let mut good = Framed::new(good, TypedCodec::default());
    let mut bad = TcpStream::connect(server.local_addr).await.unwrap();
    // A header claiming 4 GiB: closed at once, nothing reserved, no reply.
    bad.write_all(b"\xff\xff\xff\xff\x01").await.unwrap();
    let mut rest = Vec::new();
    let n = bounded("bad close", bad.read_to_end(&mut rest))
        .await
        .unwrap_or(0);
    assert_eq!(n, 0, "no reply to a bad header");
    good.send(msg(3, "still here")).await.unwrap();
    let reply = bounded("good reply", good.next()).await.unwrap().unwrap();
    assert_eq!(reply, msg(4, "still here"));
    drop(good);
    let stats = server.shutdown().await.unwrap();
    assert_eq!(stats.wire_errors, 1);
}

#[tokio::test]
async fn client_codec_reports_truncated_stream() {
    let (listener, addr) = support::listener().await;
    let peer = tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        // A header promising 10 bytes, then 3, then the end.
        s.write_all(b"\x00\x00\x00\x0a\x01abc").await.unwrap();
    });
    let stream = TcpStream::connect(addr).await.unwrap();
    let mut framed = Framed::new(stream, TypedCodec::default());
    let err = bounded("read", framed.next()).await.unwrap().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Incomplete);
    assert!(
        matches!(
            err,
            wireforms::Error::Incomplete {
                needed: Some(7),
                ..
            }
        ),
        "{err:?}"
    );
    peer.await.unwrap();
}

#[tokio::test]
async fn graceful_shutdown_answers_in_flight_and_refuses_new() {
    let server = start(reference::typed(
        Default::default(),
        ServerOptions::default(),
    ))
    .await;
    let addr = server.local_addr;
    let mut streams = Vec::new();
    for i in 0..20u8 {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(&msg(i, "in flight").to_bytes().unwrap())
            .await
            .unwrap();
        streams.push(s);
    }
    // Let the server read them before shutdown starts.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let token = server.shutdown_token();
    let done = tokio::spawn(server.shutdown());
    token.cancelled().await;
    for (i, mut s) in streams.into_iter().enumerate() {
        let mut reply = Vec::new();
        bounded("reply", s.read_to_end(&mut reply)).await.unwrap();
        assert_eq!(
            reply,
            msg(i as u8 + 1, "in flight").to_bytes().unwrap().to_vec()
        );
    }
    let stats = bounded("shutdown", done).await.unwrap().unwrap();
    assert_eq!(stats.messages, 20);
    assert_eq!(stats.aborted, 0);
    // The listener is gone: new connections are refused.
    assert!(TcpStream::connect(addr).await.is_err());
}

#[tokio::test]
async fn silent_peer_is_disconnected_at_idle_timeout() {
    let options = ServerOptions::default().idle_timeout(Duration::from_millis(200));
    let server = start(reference::typed(Default::default(), options)).await;
    let mut s = TcpStream::connect(server.local_addr).await.unwrap();
    s.write_all(b"\x00\x00\x00\x05").await.unwrap(); // part of a header, then silence
    let started = std::time::Instant::now();
    let mut buf = Vec::new();
    let _ = bounded("idle close", s.read_to_end(&mut buf)).await;
    assert!(started.elapsed() >= Duration::from_millis(150));
    assert!(buf.is_empty());
    let stats = server.shutdown().await.unwrap();
    assert_eq!(stats.timeouts, 1);
}

#[tokio::test]
async fn connections_beyond_the_limit_are_refused() {
    let options = ServerOptions::default().max_connections(2);
    let server = start(reference::typed(Default::default(), options)).await;
    let addr = server.local_addr;
    let mut a = Framed::new(
        TcpStream::connect(addr).await.unwrap(),
        TypedCodec::default(),
    );
    let mut b = Framed::new(
        TcpStream::connect(addr).await.unwrap(),
        TypedCodec::default(),
    );
    a.send(msg(1, "a")).await.unwrap();
    b.send(msg(1, "b")).await.unwrap();
    assert!(bounded("a", a.next()).await.unwrap().is_ok());
    assert!(bounded("b", b.next()).await.unwrap().is_ok());
    // The third is closed without an answer.
    let mut c = TcpStream::connect(addr).await.unwrap();
    let _ = c.write_all(&msg(1, "c").to_bytes().unwrap()).await;
    let mut buf = Vec::new();
    let _ = bounded("refused", c.read_to_end(&mut buf)).await;
    assert!(buf.is_empty());
    // Once one goes away, a new connection is served again.
    drop(a);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut d = Framed::new(
        TcpStream::connect(addr).await.unwrap(),
        TypedCodec::default(),
    );
    d.send(msg(5, "d")).await.unwrap();
    assert_eq!(bounded("d", d.next()).await.unwrap().unwrap(), msg(6, "d"));
    drop((b, d));
    let stats = server.shutdown().await.unwrap();
    assert_eq!(stats.refused, 1);
}
