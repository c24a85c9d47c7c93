//! Datagrams (spec README "datagram mode", §7.2 of each format): the
//! codec's outcome for every datagram, and the UDP server's receive path.
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use tokio::net::UdpSocket;
use tokio_util::sync::CancellationToken;
use tokio_util::udp::UdpFramed;
use wireforms::reqres::{RequestLine, ResponseLine};
use wireforms::transport::reference::ReferenceHandler;
use wireforms::transport::udp::{max_datagram_len, parse_datagram, serve_udp, DatagramCodec};
use wireforms::typed::Typed;
use wireforms::{Error, ErrorKind};

const BOUND: Duration = Duration::from_secs(10);

#[test]
fn an_empty_datagram_is_incomplete_in_every_format() {
    let e = parse_datagram::<RequestLine>(Bytes::new(), &Default::default()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Incomplete, "{e}");
    let e = parse_datagram::<Typed>(Bytes::new(), &Default::default()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Incomplete, "{e}");
}

#[test]
fn trailing_bytes_count_only_what_the_datagram_holds() {
    // Without its final LF (which a text datagram may leave out).
    let e = parse_datagram::<RequestLine>(Bytes::from_static(b"1:A:b\nxyz"), &Default::default())
        .unwrap_err();
    assert!(matches!(e, Error::TrailingBytes { len: 3, .. }), "{e:?}");
    // With it.
    let e = parse_datagram::<RequestLine>(Bytes::from_static(b"1:A:b\nxyz\n"), &Default::default())
        .unwrap_err();
    assert!(matches!(e, Error::TrailingBytes { len: 4, .. }), "{e:?}");
}

#[tokio::test]
async fn the_codec_reports_an_empty_datagram_and_goes_on() {
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let to = socket.local_addr().unwrap();
    let mut framed = UdpFramed::new(socket, DatagramCodec::<RequestLine>::default());
    let peer = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    peer.send_to(b"", to).await.unwrap();
    peer.send_to(b"1:ECHO:a\n", to).await.unwrap();
    peer.send_to(b"", to).await.unwrap();
    peer.send_to(b"2:ECHO:b", to).await.unwrap();
    let mut outcomes = Vec::new();
    for _ in 0..4 {
        let next = tokio::time::timeout(BOUND, framed.next())
            .await
            .expect("a datagram")
            .expect("the stream goes on");
        outcomes.push(match next {
            Ok((request, _)) => format!("ok {}", &*request.id),
            Err(e) => e.kind().as_str().to_owned(),
        });
    }
    assert_eq!(outcomes, ["incomplete", "ok 1", "incomplete", "ok 2"]);
}

#[tokio::test]
async fn an_ipv6_datagram_above_the_ipv4_maximum_is_read_whole() {
    let Ok(socket) = UdpSocket::bind("[::1]:0").await else {
        println!("no IPv6 loopback here; skipped");
        return;
    };
    let server = Arc::new(socket);
    let to = server.local_addr().unwrap();
    let token = CancellationToken::new();
    let task = tokio::spawn(serve_udp::<RequestLine, ResponseLine, _>(
        server,
        Default::default(),
        ReferenceHandler::<RequestLine>::new(Default::default()),
        token.clone(),
    ));
    let peer = UdpSocket::bind("[::1]:0").await.unwrap();
    // 65,520 bytes: over the IPv4 payload maximum (65,507), under IPv6's
    // (65,527).
    let mut request = b"1:ECHO:".to_vec();
    request.resize(65_519, b'a');
    request.push(b'\n');
    peer.send_to(&request, to).await.unwrap();
    let mut reply = vec![0u8; 70_000];
    let (n, _) = tokio::time::timeout(BOUND, peer.recv_from(&mut reply))
        .await
        .expect("a reply")
        .unwrap();
    let mut expected = b"1:OK:".to_vec();
    expected.extend_from_slice(&request[7..]);
    assert_eq!(n, expected.len(), "the request was read whole");
    assert_eq!(&reply[..n], &expected[..]);
    token.cancel();
    let stats = task.await.unwrap().unwrap();
    assert_eq!(stats.answered, 1);
}

#[tokio::test]
async fn a_reply_too_long_for_a_datagram_is_an_err_status() {
    let server = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
    let to = server.local_addr().unwrap();
    let token = CancellationToken::new();
    let replies = wireforms::reqres::Limits::new(max_datagram_len(&to));
    let task = tokio::spawn(serve_udp::<RequestLine, ResponseLine, _>(
        server,
        Default::default(),
        ReferenceHandler::<RequestLine>::new(replies),
        token.clone(),
    ));
    let peer = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    // 64,009 bytes; its upper case would be a 96,006-byte reply.
    let mut request = b"1:UPPER:".to_vec();
    request.extend_from_slice("ɐ".repeat(32_000).as_bytes());
    request.push(b'\n');
    peer.send_to(&request, to).await.unwrap();
    let mut reply = vec![0u8; 70_000];
    let (n, _) = tokio::time::timeout(BOUND, peer.recv_from(&mut reply))
        .await
        .expect("a reply")
        .unwrap();
    assert_eq!(&reply[..n], b"1:ERR:reply too long\n");
    token.cancel();
    assert_eq!(task.await.unwrap().unwrap().answered, 1);
}

#[test]
fn the_codec_encodes_only_what_its_decoder_accepts() {
    use bytes::BytesMut;
    use tokio_util::codec::{Decoder, Encoder};
    use wireforms::reqres::{Limits, ResponseBuf};
    use wireforms::typed::{self, MessageType, TypedMessageBuf};

    // A payload one byte over the limit: refused, typed, nothing written.
    let mut codec = DatagramCodec::<Typed>::new(typed::Limits::new(4));
    let mut dst = BytesMut::from(&b"kept"[..]);
    let e = codec
        .encode(
            TypedMessageBuf::new(MessageType(1), &b"12345"[..]),
            &mut dst,
        )
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::TooLarge {
                len: 5,
                max: 4,
                section: "typed/4"
            }
        ),
        "{e:?}"
    );
    assert_eq!(&dst[..], b"kept");
    // At the limit: sent, and the same codec decodes it.
    let mut dst = BytesMut::new();
    let at_limit = TypedMessageBuf::new(MessageType(1), &b"1234"[..]);
    codec.encode(at_limit.clone(), &mut dst).unwrap();
    assert_eq!(codec.decode(&mut dst).unwrap(), Some(at_limit));

    // A line counts its LF: "1:OK:abc\n" is 9 bytes.
    let mut codec = DatagramCodec::<ResponseLine>::new(Limits::new(8));
    let mut dst = BytesMut::new();
    let e = codec
        .encode(ResponseBuf::new("1", "OK", "abc"), &mut dst)
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::TooLarge {
                len: 9,
                max: 8,
                section: "reqres/4"
            }
        ),
        "{e:?}"
    );
    assert!(dst.is_empty());
}
