//! Guide: "TCP Keep-Alive Configuration".
//!
//! Server side: wireforms' `ServerOptions::keepalive` turns keep-alive on
//! for every accepted connection of a reference server. Client side:
//! `socket2`'s `TcpKeepalive` sets the idle time, the probe interval and the
//! probe count separately (Go's `SetKeepAlivePeriod` sets one period for
//! both of the first two and leaves the count to the system), and reads
//! them back.
//!
//! Keep-alive probes only start after the idle time, so this demo shows the
//! settings, not a dead peer being detected; for detecting a dead peer
//! within seconds, an application-level health check is the tool (see
//! `health_check.rs`).
//!
//! Run: `cargo run --example tcp_keepalive [ADDR]` (default `127.0.0.1:0`).

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use socket2::{SockRef, TcpKeepalive};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::codec::Framed;
use tokio_util::sync::CancellationToken;
use wireforms::frame::LengthFrameBuf;
use wireforms::transport::codec::FrameCodec;
use wireforms::transport::reference;
use wireforms::transport::server::ServerOptions;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".into());
    let listener = TcpListener::bind(&addr).await?;
    let addr = listener.local_addr()?;
    let options = ServerOptions::default().keepalive(Some(Duration::from_secs(30)));
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(
        reference::frame(Default::default(), options).serve(listener, shutdown.clone()),
    );
    println!("Server with keep-alive (30s) on {addr}");

    let stream = TcpStream::connect(addr).await?;
    let keepalive = TcpKeepalive::new()
        .with_time(Duration::from_secs(30)) // idle time before the first probe
        .with_interval(Duration::from_secs(10)) // between unanswered probes
        .with_retries(3); // unanswered probes before the connection is dropped
    let sock = SockRef::from(&stream);
    sock.set_tcp_keepalive(&keepalive)?;
    println!(
        "Client keep-alive: on={} time={:?} interval={:?} retries={}",
        sock.keepalive()?,
        sock.keepalive_time()?,
        sock.keepalive_interval()?,
        sock.keepalive_retries()?,
    );

    let mut conn = Framed::new(stream, FrameCodec::default());
    conn.send(LengthFrameBuf::new("still there?")).await?;
    if let Some(reply) = conn.next().await.transpose()? {
        println!("Received: {}", String::from_utf8_lossy(&reply.payload));
    }

    drop(conn);
    shutdown.cancel();
    server.await??;
    Ok(())
}
