//! Guide: "Graceful Server Shutdown".
//!
//! A wireforms reference server serves until a `CancellationToken` is
//! cancelled, here by Ctrl-C or, for the demo, after 300 ms. It then stops
//! accepting, lets every connection answer the messages it has already read,
//! closes the connections, and returns its statistics. Connections still
//! open after `ServerOptions::shutdown_timeout` are closed then.
//!
//! Differences from the guide: its handlers `continue` on every read
//! timeout without looking at `quit`, so an idle connection keeps the
//! server from finishing until the context deadline; here every connection
//! watches the token and closes promptly. Its accept loop's `select` with
//! `default` never blocks on `quit` (the close of the listener is what stops
//! it); here `select!` waits on both at once.
//!
//! Run: `cargo run --example graceful_shutdown [ADDR]` (default `127.0.0.1:0`).

use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use wireforms::transport::reference;
use wireforms::transport::reqres_client::{Client, ClientConfig};
use wireforms::transport::server::{RunningServer, ServerOptions};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".into());
    let listener = TcpListener::bind(&addr).await?;
    let addr = listener.local_addr()?;
    let options = ServerOptions::default().shutdown_timeout(Duration::from_secs(2));
    let token = CancellationToken::new();
    let server = RunningServer::spawn(
        addr,
        token.clone(),
        reference::request(Default::default(), options).serve(listener, token),
    );
    println!("Server starting on {addr}");

    // A client that is connected, idle, when the shutdown comes.
    let client = Client::connect(addr, ClientConfig::default()).await?;
    let reply = client.call("UPPER", "before shutdown").await?;
    println!("Received: {}", &*reply.data);

    tokio::select! {
        _ = tokio::signal::ctrl_c() => println!("Ctrl-C received"),
        _ = tokio::time::sleep(Duration::from_millis(300)) => println!("Demo timer fired"),
    }
    println!("Shutting down server...");
    let stats = server.shutdown().await?;
    println!(
        "Server stopped: {} connections, {} messages, {} closed at the deadline",
        stats.connections, stats.messages, stats.aborted
    );

    // The idle connection was closed, and nobody listens any more.
    match client.call("ECHO", "after shutdown").await {
        Err(e) => println!("Call after shutdown failed: {e}"),
        Ok(reply) => println!("Unexpected reply: {}", &*reply.data),
    }
    match TcpStream::connect(addr).await {
        Err(e) => println!("New connection refused: {e}"),
        Ok(_) => println!("Unexpected: connected after shutdown"),
    }
    Ok(())
}
