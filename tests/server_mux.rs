//! The mux reference server's replies under a payload limit lower than the
//! format's (spec mux §3, §6): a peer configured like the server must be
//! able to read every reply frame.
mod support;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use wireforms::mux::{ChannelId, Limits, MuxFrame, MuxFrameBuf};
use wireforms::transport::reference;
use wireforms::transport::server::ServerOptions;
use wireforms::{Encode, Status};

use support::{bounded, start};

#[tokio::test]
async fn replies_are_split_at_the_servers_own_payload_limit() {
    let limits = Limits::new(100);
    let server = start(reference::mux(limits, ServerOptions::default())).await;
    let mut s = TcpStream::connect(server.local_addr).await.unwrap();
    // 95 bytes fit the limit; the reply ("Echo 7: " + 95 bytes) does not.
    let request = MuxFrameBuf::new(ChannelId(7), vec![b'a'; 95]);
    s.write_all(&request.to_bytes().unwrap()).await.unwrap();
    s.shutdown().await.unwrap();
    let mut got = Vec::new();
    bounded("server close", s.read_to_end(&mut got))
        .await
        .unwrap();

    // Read back with the same limit the server enforces.
    let mut at = 0;
    let mut echoed = Vec::new();
    while at < got.len() {
        match MuxFrame::parse(&got[at..], &limits) {
            Ok(Status::Complete(frame, len)) => {
                assert_eq!(frame.channel, ChannelId(7));
                echoed.extend_from_slice(frame.payload);
                at += len;
            }
            other => panic!("reply at byte {at} unreadable under the server's limit: {other:?}"),
        }
    }
    let mut expected = b"Echo 7: ".to_vec();
    expected.extend_from_slice(&[b'a'; 95]);
    assert_eq!(echoed, expected);
}
