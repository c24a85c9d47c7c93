//! Guide: "Full-Duplex Communication".
//!
//! Both sides send and receive at the same time: each splits its connection
//! into a sending and a receiving half and drives both concurrently with
//! `tokio::join!`. When a side has sent everything it closes its sending
//! half (a TCP half-close) and keeps receiving until the other side has
//! done the same.
//!
//! Differences from the guide: its client returns from `main` as soon as it
//! has sent its five messages, so the server's later messages are never
//! read (the receiving goroutine dies with the process), and its server's
//! goroutines never learn that the other side is done. Here each side ends
//! only when both directions are finished, so every message is received.
//! The demo's delays are shorter.
//!
//! Run: `cargo run --example full_duplex [ADDR]` (default `127.0.0.1:0`).

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::codec::{Framed, FramedRead, FramedWrite, LinesCodec};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

const MAX_LINE: usize = 1024;
const MESSAGES: usize = 5;

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".into());
    let listener = TcpListener::bind(&addr).await?;
    let addr = listener.local_addr()?;
    let server = tokio::spawn(async move {
        let (conn, _) = listener.accept().await?;
        serve(conn).await
    });

    // Client: a `Framed` split into its `Sink` and `Stream` halves.
    let conn = Framed::new(
        TcpStream::connect(addr).await?,
        LinesCodec::new_with_max_length(MAX_LINE),
    );
    let (mut sink, mut stream) = conn.split();
    let send = async {
        for i in 1..=MESSAGES {
            let message = format!("Client message {i}");
            sink.send(message.clone()).await?;
            println!("Sent: {message}");
            tokio::time::sleep(Duration::from_millis(30)).await;
        }
        sink.close().await // flush and half-close
    };
    let receive = async {
        let mut got = 0;
        while let Some(line) = stream.next().await {
            println!("Received: {}", line?);
            got += 1;
        }
        Ok::<_, BoxError>(got)
    };
    let (sent, got) = tokio::join!(send, receive);
    sent?;
    let server_got = server.await??;
    println!(
        "Client received {} messages, server received {server_got}",
        got?
    );
    Ok(())
}

/// The server side, with the connection split into owned halves.
async fn serve(conn: TcpStream) -> Result<usize, BoxError> {
    let (read, write) = conn.into_split();
    let mut lines = FramedRead::new(read, LinesCodec::new_with_max_length(MAX_LINE));
    let mut out = FramedWrite::new(write, LinesCodec::new());
    let send = async {
        for i in 1..=MESSAGES {
            out.send(format!("Server message {i}")).await?;
            tokio::time::sleep(Duration::from_millis(45)).await;
        }
        SinkExt::<String>::close(&mut out).await
    };
    let receive = async {
        let mut got = 0;
        while let Some(line) = lines.next().await {
            println!("Server received: {}", line?);
            got += 1;
        }
        Ok::<_, BoxError>(got)
    };
    let (sent, got) = tokio::join!(send, receive);
    sent?;
    got
}
