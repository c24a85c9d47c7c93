//! Guide: "Custom Framing Protocol" (the length frame: u32 length, payload;
//! spec/frame.md).
//!
//! `FrameCodec` turns the byte stream into frames and `reference::frame` is
//! the guide's server (reply: the payload with ASCII letters upper-cased).
//!
//! Differences from the guide: its writer sends the header and the payload
//! in two writes (two segments, or a Nagle delay) and writes
//! `uint32(len(data))`, which wraps for 4 GiB or more; the codec encodes
//! each frame into one buffer and refuses what the format cannot carry.
//! Its server takes one connection only and upper-cases with Go's Unicode
//! `bytes.ToUpper`, which changes the length of non-ASCII payloads and
//! turns invalid UTF-8 into U+FFFD; wireforms upper-cases ASCII letters
//! only, byte for byte (spec frame §9). Like the guide's, the server closes
//! the connection on a length over 1 MiB, before reading any payload.
//!
//! Run: `cargo run --example custom_framing [ADDR]` (default `127.0.0.1:0`).

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
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
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(
        reference::frame(Default::default(), ServerOptions::default())
            .serve(listener, shutdown.clone()),
    );

    let mut conn = Framed::new(TcpStream::connect(addr).await?, FrameCodec::default());
    for message in [
        "First frame",
        "Second frame with more data",
        "Third frame, ünïcödé untouched",
    ] {
        conn.send(LengthFrameBuf::new(message)).await?;
        println!("Sent: {message}");
        let reply = conn.next().await.ok_or("server closed")??;
        println!("Received: {}", String::from_utf8_lossy(&reply.payload));
    }
    drop(conn);

    // A frame delivered one byte at a time is still one frame.
    let mut raw = TcpStream::connect(addr).await?;
    raw.set_nodelay(true)?;
    for byte in b"\x00\x00\x00\x05bytes" {
        raw.write_all(&[*byte]).await?;
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let mut reply = [0u8; 9];
    raw.read_exact(&mut reply).await?;
    println!(
        "Byte-at-a-time frame answered: {}",
        String::from_utf8_lossy(&reply[4..])
    );
    drop(raw);

    // A header announcing more than the 1 MiB limit: closed, no payload read.
    let mut raw = TcpStream::connect(addr).await?;
    raw.write_all(&(2u32 << 20).to_be_bytes()).await?;
    let mut rest = Vec::new();
    raw.read_to_end(&mut rest).await?;
    println!(
        "2 MiB header: connection closed with {} reply bytes",
        rest.len()
    );

    shutdown.cancel();
    let stats = server.await??;
    println!(
        "Server: {} frames answered, {} connection closed on bad input",
        stats.messages, stats.wire_errors
    );
    Ok(())
}
