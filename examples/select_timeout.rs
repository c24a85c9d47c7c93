//! Guide: "Non-blocking I/O with Select".
//!
//! `tokio::select!` waits on several things at once, like Go's `select`, but
//! over futures, so no helper goroutine and channel are needed to turn a
//! blocking read into something selectable. Each connection's task waits
//! for the next line, an idle timer (reset by every line) and the server's
//! shutdown token, whichever comes first.
//!
//! Differences from the guide: its reader goroutine blocks forever on the
//! unbuffered `dataChan` once the handler has returned on a timeout (one
//! leaked goroutine per timed-out connection); here the losing branches of
//! `select!` are dropped, which cancels the read. Its timeout runs from the
//! connect, not from the last message, so a busy client is cut off after 10
//! seconds; here it is an idle timeout.
//!
//! Run: `cargo run --example select_timeout [ADDR]` (default `127.0.0.1:0`).

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::{sleep, Instant};
use tokio_util::codec::{Framed, LinesCodec};
use tokio_util::sync::CancellationToken;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

const MAX_LINE: usize = 1024;
const IDLE: Duration = Duration::from_millis(300);

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".into());
    let listener = TcpListener::bind(&addr).await?;
    let addr = listener.local_addr()?;
    println!("Non-blocking server on {addr}");
    let shutdown = CancellationToken::new();
    let server = {
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    Ok((conn, _)) = listener.accept() => {
                        tokio::spawn(handle(conn, shutdown.clone()));
                    }
                }
            }
        })
    };

    let mut lines = Framed::new(
        TcpStream::connect(addr).await?,
        LinesCodec::new_with_max_length(MAX_LINE),
    );
    for message in ["first", "second"] {
        lines.send(message).await?;
        if let Some(reply) = lines.next().await.transpose()? {
            println!("Client received: {reply}");
        }
    }
    // Now stay silent, and wait for the server to give up on us (bounded).
    loop {
        tokio::select! {
            line = lines.next() => match line {
                Some(line) => println!("Client received: {}", line?),
                None => {
                    println!("Server closed the connection");
                    break;
                }
            },
            _ = sleep(IDLE * 5) => {
                println!("No word from the server");
                break;
            }
        }
    }

    shutdown.cancel();
    server.await?;
    Ok(())
}

async fn handle(conn: TcpStream, shutdown: CancellationToken) {
    let mut lines = Framed::new(conn, LinesCodec::new_with_max_length(MAX_LINE));
    let idle = sleep(IDLE);
    tokio::pin!(idle);
    loop {
        tokio::select! {
            line = lines.next() => match line {
                Some(Ok(line)) => {
                    println!("Received: {line}");
                    idle.as_mut().reset(Instant::now() + IDLE);
                    if lines.send(line).await.is_err() {
                        break;
                    }
                }
                Some(Err(e)) => {
                    println!("Read error: {e}");
                    break;
                }
                None => break,
            },
            () = &mut idle => {
                println!("Connection idle for {IDLE:?}, closing");
                let _ = lines.send("bye: idle timeout").await;
                break;
            }
            () = shutdown.cancelled() => break,
        }
    }
}
