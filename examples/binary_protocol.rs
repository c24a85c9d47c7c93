//! Guide: "Binary Protocol Implementation" (the typed message: u32 length,
//! u8 type, payload; spec/typed.md).
//!
//! wireforms has the whole thing: `TypedCodec` frames the byte stream and
//! `reference::typed` is the guide's server (reply: same payload, type + 1).
//!
//! Differences from the guide:
//! - its server allocates whatever the length field says before reading a
//!   byte of payload (a header claiming 4 GiB makes it allocate 4 GiB); the
//!   codec checks the length against a limit (1 MiB by default) first, and
//!   the server closes the connection on a length over it;
//! - its server answers one message per connection; this one answers every
//!   message until the peer closes or goes silent;
//! - its client "waits for the server" by dialling ten times in a tight
//!   loop; here the listener is bound before the client starts, so there
//!   is nothing to wait for.
//!
//! Run: `cargo run --example binary_protocol [ADDR]` (default `127.0.0.1:0`).

use futures::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::codec::Framed;
use tokio_util::sync::CancellationToken;
use wireforms::transport::codec::TypedCodec;
use wireforms::transport::reference;
use wireforms::transport::server::ServerOptions;
use wireforms::typed::{MessageType, TypedMessageBuf};

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
        reference::typed(Default::default(), ServerOptions::default())
            .serve(listener, shutdown.clone()),
    );

    let mut conn = Framed::new(TcpStream::connect(addr).await?, TypedCodec::default());
    for (message_type, payload) in [(1, "Binary message data"), (41, "a second message")] {
        let message = TypedMessageBuf::new(MessageType(message_type), payload);
        println!(
            "Sending message: Type={}, Length={}",
            message.message_type.0,
            message.payload.len()
        );
        conn.send(message).await?;
        let reply = conn.next().await.ok_or("server closed")??;
        println!(
            "Received: Type={}, Payload={}",
            reply.message_type.0,
            String::from_utf8_lossy(&reply.payload)
        );
    }
    drop(conn);

    // A hostile header: 0xFFFF_FFFF bytes of payload announced.
    let mut raw = TcpStream::connect(addr).await?;
    raw.write_all(&[0xff, 0xff, 0xff, 0xff, 0x01]).await?;
    let mut rest = Vec::new();
    raw.read_to_end(&mut rest).await?;
    println!(
        "Header claiming 4 GiB: connection closed after {} reply bytes, nothing allocated",
        rest.len()
    );

    shutdown.cancel();
    let stats = server.await??;
    println!(
        "Server: {} messages answered, {} connection closed on bad input",
        stats.messages, stats.wire_errors
    );
    Ok(())
}
