//! Guide: "Custom Protocol with Header" (the magic header packet: magic
//! 0xDEADBEEF, version, type, u16 length, payload; spec/magic.md).
//!
//! `MagicCodec` frames and checks packets (magic, then version, then
//! length, before any payload is awaited) and `reference::magic` is the
//! guide's server (reply: same payload, type + 1).
//!
//! Differences from the guide: its sender writes `uint16(len(payload))`,
//! which silently wraps for a payload over 65,535 bytes and corrupts the
//! stream; wireforms refuses to encode such a packet (`too_large`). Its
//! server answers one packet per connection; this one answers every packet
//! until the peer closes. Like the guide's, it closes the connection
//! without a reply on a bad magic number or version.
//!
//! Run: `cargo run --example custom_header [ADDR]` (default `127.0.0.1:0`).

use bytes::BytesMut;
use futures::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::codec::Framed;
use tokio_util::sync::CancellationToken;
use wireforms::magic::{PacketBuf, PacketType};
use wireforms::transport::codec::MagicCodec;
use wireforms::transport::reference;
use wireforms::transport::server::ServerOptions;
use wireforms::Encode;

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
        reference::magic(Default::default(), ServerOptions::default())
            .serve(listener, shutdown.clone()),
    );

    let mut conn = Framed::new(TcpStream::connect(addr).await?, MagicCodec::default());
    conn.send(PacketBuf::new(PacketType(1), "Custom protocol message"))
        .await?;
    let response = conn.next().await.ok_or("server closed")??;
    println!(
        "Response: version={} type={} payload={}",
        response.version,
        response.packet_type.0,
        String::from_utf8_lossy(&response.payload)
    );
    drop(conn);

    // The format cannot carry more than 65,535 payload bytes: refused, not wrapped.
    let too_big = PacketBuf::new(PacketType(1), vec![0u8; 70_000]);
    match too_big.encode(&mut BytesMut::new()) {
        Err(e) => println!("70,000-byte payload refused: {e} ({})", e.kind()),
        Ok(()) => println!("Unexpected: encoded"),
    }

    // A header with the wrong magic number: closed without a reply.
    let mut raw = TcpStream::connect(addr).await?;
    raw.write_all(&[0xca, 0xfe, 0xba, 0xbe, 1, 1, 0, 0]).await?;
    let mut reply = Vec::new();
    raw.read_to_end(&mut reply).await?;
    println!(
        "Bad magic: connection closed with {} reply bytes",
        reply.len()
    );

    shutdown.cancel();
    let stats = server.await??;
    println!(
        "Server: {} packets answered, {} connection closed on bad input",
        stats.messages, stats.wire_errors
    );
    Ok(())
}
