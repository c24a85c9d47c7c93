//! Guide: "TCP Connection with Timeout" and "TCP Server with Read/Write
//! Timeouts", merged: one shows the client side of the same idea, the other
//! the server side, and each needs a peer that misbehaves to show anything.
//!
//! - Client side: `tokio::time::timeout` around the connect and around each
//!   read, instead of Go's deadlines. A timeout is an `Elapsed` error, not an
//!   I/O error to be inspected with a type assertion.
//! - Server side: wireforms' `ServerOptions::idle_timeout` and
//!   `write_timeout` do what the guide's per-operation deadlines do, for
//!   every connection of a reference server. The idle timeout also covers a
//!   peer that stops in the middle of a message.
//!
//! Run: `cargo run --example timeouts [ADDR]` (default `127.0.0.1:0`).

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::timeout;
use tokio_util::sync::CancellationToken;
use wireforms::transport::reference;
use wireforms::transport::reqres_client::{Client, ClientConfig};
use wireforms::transport::server::ServerOptions;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
const READ_TIMEOUT: Duration = Duration::from_millis(300);
const SERVER_IDLE_TIMEOUT: Duration = Duration::from_millis(300);

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".into());

    // 1. Client-side timeouts, against a server that accepts and never answers.
    let silent = TcpListener::bind(&addr).await?;
    let silent_addr = silent.local_addr()?;
    let hold = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((conn, _)) = silent.accept().await {
            held.push(conn); // keep it open, say nothing
        }
    });
    let mut conn = timeout(CONNECT_TIMEOUT, TcpStream::connect(silent_addr)).await??;
    println!("Connected with timeout to {silent_addr}");
    conn.write_all(b"Quick message\n").await?;
    let mut buf = [0u8; 1024];
    match timeout(READ_TIMEOUT, conn.read(&mut buf)).await {
        Err(_) => println!("Read timed out after {READ_TIMEOUT:?} (the server never answers)"),
        Ok(Ok(n)) => println!("Received: {}", String::from_utf8_lossy(&buf[..n])),
        Ok(Err(e)) => return Err(e.into()),
    }
    hold.abort();

    // 2. Server-side timeouts: the request/response reference server closes
    //    a connection that stays silent for longer than its idle timeout.
    let listener = TcpListener::bind(&addr).await?;
    let server_addr = listener.local_addr()?;
    let options = ServerOptions::default()
        .idle_timeout(SERVER_IDLE_TIMEOUT)
        .write_timeout(Duration::from_secs(1));
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(
        reference::request(Default::default(), options).serve(listener, shutdown.clone()),
    );
    println!("Server with {SERVER_IDLE_TIMEOUT:?} idle timeout listening on {server_addr}");

    let client = Client::connect(server_addr, ClientConfig::default()).await?;
    let reply = client.call("ECHO", "Quick message").await?;
    println!("Received: {}", &*reply.data);
    // Stay silent for longer than the server tolerates.
    tokio::time::sleep(SERVER_IDLE_TIMEOUT * 2).await;
    match client.call("ECHO", "too late").await {
        Err(e) => println!("Server closed the idle connection: {e}"),
        Ok(reply) => println!("Unexpected reply: {}", &*reply.data),
    }

    shutdown.cancel();
    let stats = server.await??;
    println!("Server timeouts: {}", stats.timeouts);
    Ok(())
}
