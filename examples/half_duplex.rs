//! Guide: "Half-Duplex Communication".
//!
//! Strict turn-taking: the client sends a line and waits for its reply
//! before sending the next. One `Framed` line stream (`LinesCodec` with a
//! length limit) used as `send` then `next` is the whole protocol.
//!
//! Difference from the guide: lines have a length limit, and the reply wait
//! has a timeout, so a server that stops taking its turn does not hang the
//! client. The demo's delays are shorter.
//!
//! Run: `cargo run --example half_duplex [ADDR]` (default `127.0.0.1:0`).

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::codec::{Framed, LinesCodec};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

const MAX_LINE: usize = 1024;
const REPLY_TIMEOUT: Duration = Duration::from_secs(2);

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".into());
    let listener = TcpListener::bind(&addr).await?;
    let addr = listener.local_addr()?;
    let server = tokio::spawn(async move {
        while let Ok((conn, _)) = listener.accept().await {
            tokio::spawn(handle(conn));
        }
    });

    let mut conn = Framed::new(
        TcpStream::connect(addr).await?,
        LinesCodec::new_with_max_length(MAX_LINE),
    );
    for i in 1..=3 {
        let message = format!("Message {i}");
        println!("Sending: {message}");
        conn.send(&message).await?;
        // Our turn is over until the server has answered.
        let reply = tokio::time::timeout(REPLY_TIMEOUT, conn.next())
            .await?
            .ok_or("server closed")??;
        println!("Received: {reply}");
    }

    server.abort();
    Ok(())
}

async fn handle(conn: TcpStream) {
    let mut conn = Framed::new(conn, LinesCodec::new_with_max_length(MAX_LINE));
    while let Some(Ok(received)) = conn.next().await {
        println!("Server received: {received}");
        tokio::time::sleep(Duration::from_millis(50)).await; // "thinking"
        if conn.send(format!("ACK: {received}")).await.is_err() {
            break;
        }
    }
}
