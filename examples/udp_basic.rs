//! Guide: "Basic UDP Server" and "Basic UDP Client", merged (one
//! conversation, both sides in one program).
//!
//! The server is wireforms' `serve_udp` answering request lines with the
//! request/response reference behaviour, one message per datagram. The
//! client sends with a plain `UdpSocket` and parses the reply with
//! `wireforms::transport::udp::parse_datagram`.
//!
//! Differences from the guide: its server answers any datagram, even an
//! empty one, and silently truncates datagrams over 1,024 bytes; here a
//! datagram must hold exactly one well-formed message (spec §7.2), the
//! receive buffer holds the largest UDP payload, and a bad datagram is
//! counted and skipped without a reply. The client bounds its wait with
//! `tokio::time::timeout`, as the guide's read deadline does.
//!
//! Run: `cargo run --example udp_basic [ADDR]` (default `127.0.0.1:0`).

use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::net::UdpSocket;
use tokio::time::timeout;
use tokio_util::sync::CancellationToken;
use wireforms::reqres::{RequestBuf, RequestLine, ResponseLine};
use wireforms::transport::reference::ReferenceHandler;
use wireforms::transport::udp::{parse_datagram, serve_udp, MAX_DATAGRAM_LEN};
use wireforms::Encode;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".into());
    let socket = Arc::new(UdpSocket::bind(&addr).await?);
    let server_addr = socket.local_addr()?;
    println!("UDP server listening on {server_addr}");
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(serve_udp::<RequestLine, ResponseLine, _>(
        socket,
        Default::default(),
        ReferenceHandler::<RequestLine>::default(),
        shutdown.clone(),
    ));

    // The client: `connect` fixes the peer, so `send`/`recv` need no address
    // and datagrams from anyone else are filtered out by the kernel.
    let client = UdpSocket::bind("127.0.0.1:0").await?;
    client.connect(server_addr).await?;
    println!("Sending to {server_addr}");

    let request = RequestBuf::new("1", "ECHO", "Hello UDP server");
    let mut datagram = BytesMut::new();
    request.encode(&mut datagram)?;
    client.send(&datagram).await?;
    println!("Sent: {}", String::from_utf8_lossy(&datagram).trim_end());

    let mut buf = vec![0u8; MAX_DATAGRAM_LEN];
    let n = timeout(Duration::from_secs(2), client.recv(&mut buf)).await??;
    let response =
        parse_datagram::<ResponseLine>(Bytes::copy_from_slice(&buf[..n]), &Default::default())?;
    println!(
        "Received: id={} status={} data={}",
        &*response.id, &*response.status, &*response.data
    );

    // A datagram that is not a request line gets no reply.
    client.send(b"no colons here").await?;
    match timeout(Duration::from_millis(300), client.recv(&mut buf)).await {
        Err(_) => println!("No reply to a malformed datagram (it is rejected, not answered)"),
        Ok(n) => println!("Unexpected reply of {} bytes", n?),
    }

    shutdown.cancel();
    let stats = server.await??;
    println!(
        "Server answered {} and rejected {}",
        stats.answered, stats.rejected
    );
    Ok(())
}
