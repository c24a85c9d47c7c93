//! Guide: "Connection Multiplexing" (mux frames: u16 channel, u16 length,
//! payload; spec/mux.md).
//!
//! The server is wireforms' `reference::mux` (channel N's payload echoed on
//! channel N after `Echo N: `); the client is a `MuxSession`, whose channels
//! are each a `Stream` of payloads and a `Sink<Bytes>`. Each channel runs in
//! its own task.
//!
//! Differences from the guide:
//! - its read loop blocks on a channel whose 10-frame buffer is full, which
//!   stalls every other channel. `MuxSession` keeps the bounded per-channel
//!   queue (the format has no per-channel flow control, so waiting is the
//!   only lossless choice, spec mux §10), and this program keeps it from
//!   biting by draining every channel in its own task, never doing slow work
//!   between two reads of a channel;
//! - its server writes the reply length as a `u16` of 8 + n, so a request of
//!   65,528 bytes or more desynchronises the stream; here a large payload
//!   is split into frames of at most 65,535 bytes (channel 3 below);
//! - it silently drops frames for channels nobody opened; the session counts
//!   them (`MuxStats::discarded`) or hands them to `accept`;
//! - its `main` returns right after sending, before any echo is read.
//!
//! Run: `cargo run --example multiplexing [ADDR]` (default `127.0.0.1:0`).

use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use wireforms::mux::{self, ChannelId};
use wireforms::transport::mux_session::{MuxChannel, MuxConfig, MuxSession};
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
        reference::mux(Default::default(), ServerOptions::default())
            .serve(listener, shutdown.clone()),
    );

    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let session = MuxSession::new(stream, MuxConfig::default());

    let mut channels = tokio::task::JoinSet::new();
    channels.spawn(converse(
        session.open(ChannelId(1))?,
        vec![
            "Message on channel 1".into(),
            "Another message on channel 1".into(),
        ],
    ));
    channels.spawn(converse(
        session.open(ChannelId(2))?,
        vec!["Message on channel 2".into()],
    ));
    // 70,000 bytes: more than one frame can carry, both ways.
    channels.spawn(converse(
        session.open(ChannelId(3))?,
        vec![Bytes::from(vec![b'x'; 70_000])],
    ));
    while let Some(done) = channels.join_next().await {
        done??;
    }
    println!("Session: {:?}", session.stats());

    drop(session);
    shutdown.cancel();
    server.await??;
    Ok(())
}

/// Sends each message on `channel` and reads its whole echo.
async fn converse(mut channel: MuxChannel, messages: Vec<Bytes>) -> Result<(), BoxError> {
    let id = channel.id().0;
    for message in messages {
        // The session sends a large message as several frames, and the
        // server echoes frame by frame, each with its own prefix.
        let sent_frames = mux::split(channel.id(), message.clone()).count();
        let expected = message.len() + sent_frames * format!("Echo {id}: ").len();
        let message_len = message.len();
        channel.send(message).await?;
        let mut echo = Vec::new();
        let mut frames = 0;
        while echo.len() < expected {
            let payload = channel.next().await.ok_or("session closed")??;
            echo.extend_from_slice(&payload);
            frames += 1;
        }
        if echo.len() <= 80 {
            println!("Channel {id}: {}", String::from_utf8_lossy(&echo));
        } else {
            println!(
                "Channel {id}: sent {} bytes in {sent_frames} frames, echo of {} bytes in {frames} frames",
                message_len,
                echo.len()
            );
        }
    }
    Ok(())
}
