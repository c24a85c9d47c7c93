//! Guide: "TCP Server with Multiple Handlers".
//!
//! One task per client, line-based echo. Differences from the guide:
//! - lines are read with `tokio_util`'s `LinesCodec::new_with_max_length`, so
//!   a client that never sends `\n` cannot make the server buffer without
//!   bound (the guide's `bufio.Scanner` stops at 64 KiB with an error);
//! - client ids come from an atomic counter instead of a mutex-guarded int;
//! - the guide's program does not compile as printed (unused `time` import).
//!
//! Run: `cargo run --example tcp_multi_client [ADDR]` (default `127.0.0.1:0`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use futures::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::codec::{Framed, LinesCodec};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

const MAX_LINE: usize = 8 * 1024;

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".into());
    let listener = TcpListener::bind(&addr).await?;
    let addr = listener.local_addr()?;
    println!("Multi-client TCP server listening on {addr}");

    let next_id = Arc::new(AtomicU64::new(1));
    let server = tokio::spawn(async move {
        loop {
            let Ok((conn, _)) = listener.accept().await else {
                continue;
            };
            let id = next_id.fetch_add(1, Ordering::Relaxed);
            tokio::spawn(handle_client(conn, id));
        }
    });

    // Three clients at once, each sending two lines.
    let mut clients = tokio::task::JoinSet::new();
    for name in ["alice", "bob", "carol"] {
        clients.spawn(async move {
            let mut lines = Framed::new(
                TcpStream::connect(addr).await?,
                LinesCodec::new_with_max_length(MAX_LINE),
            );
            for n in 1..=2 {
                lines.send(format!("hello {n} from {name}")).await?;
                if let Some(reply) = lines.next().await.transpose()? {
                    println!("{name} got: {reply}");
                }
            }
            Ok::<_, BoxError>(())
        });
    }
    while let Some(done) = clients.join_next().await {
        done??;
    }
    // Let the server print its last "disconnected" lines.
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    server.abort();
    Ok(())
}

async fn handle_client(conn: TcpStream, id: u64) {
    if let Ok(peer) = conn.peer_addr() {
        println!("Client {id} connected from {peer}");
    }
    let mut lines = Framed::new(conn, LinesCodec::new_with_max_length(MAX_LINE));
    while let Some(line) = lines.next().await {
        let line = match line {
            Ok(line) => line,
            // Too long or not UTF-8: say why and drop this client.
            Err(e) => {
                eprintln!("Client {id} error: {e}");
                break;
            }
        };
        println!("Client {id}: {line}");
        if let Err(e) = lines.send(format!("Echo from server: {line}")).await {
            eprintln!("Client {id} write error: {e}");
            break;
        }
    }
    println!("Client {id} disconnected");
}
