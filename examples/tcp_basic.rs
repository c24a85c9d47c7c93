//! Guide: "Basic TCP Server" and "Basic TCP Client", merged: every example
//! runs both sides, and these two programs are one conversation.
//!
//! The guide's server does one `Read` and treats whatever it returns as the
//! message. TCP is a byte stream: one read may return part of a message, or
//! parts of two. Here the client marks the end of its message by closing its
//! write half, and the server reads up to that end (with a size limit, so a
//! peer cannot make it buffer without bound).
//!
//! Run: `cargo run --example tcp_basic [ADDR]` (default `127.0.0.1:0`).

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The most the server reads from one client.
const MAX_MESSAGE: u64 = 1024;

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".into());
    let listener = TcpListener::bind(&addr).await?;
    let addr = listener.local_addr()?;
    println!("TCP server listening on {addr}");
    let server = tokio::spawn(serve(listener));

    // The client.
    let mut conn = TcpStream::connect(addr).await?;
    println!("Connected to {}", conn.peer_addr()?);
    let message = "Hello from TCP client\n";
    conn.write_all(message.as_bytes()).await?;
    // Half-close: "that was the whole message", and we still read the reply.
    conn.shutdown().await?;
    print!("Sent: {message}");
    let mut reply = String::new();
    conn.read_to_string(&mut reply).await?;
    print!("Received: {reply}");

    server.abort();
    Ok(())
}

async fn serve(listener: TcpListener) {
    loop {
        match listener.accept().await {
            // One task per connection, like the guide's goroutine.
            Ok((conn, _)) => {
                tokio::spawn(async move {
                    if let Err(e) = handle(conn).await {
                        eprintln!("connection error: {e}");
                    }
                });
            }
            Err(e) => eprintln!("accept error: {e}"),
        }
    }
}

async fn handle(mut conn: TcpStream) -> std::io::Result<()> {
    let peer = conn.peer_addr()?;
    println!("New connection from {peer}");
    let mut message = Vec::new();
    (&mut conn)
        .take(MAX_MESSAGE)
        .read_to_end(&mut message)
        .await?;
    println!(
        "Received {} bytes: {}",
        message.len(),
        String::from_utf8_lossy(&message).trim_end()
    );
    conn.write_all(b"Message received\n").await?;
    conn.shutdown().await
}
