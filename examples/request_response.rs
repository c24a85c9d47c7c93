//! Guide: "Request-Response Pattern" (`ID:COMMAND:ARGS` lines answered by
//! `ID:STATUS:DATA`; spec/reqres.md).
//!
//! The server is wireforms' `reference::request`; the client is
//! `reqres_client::Client`, which gives every call a fresh ID, writes calls
//! as soon as they are made (several in flight on one connection) and
//! matches each response to its call by ID, in whatever order they come.
//!
//! Differences from the guide: its client sends one request and waits for
//! the answer before the next, and never uses the IDs it carefully sends;
//! its server ignores a malformed line without replying, so its client,
//! which has no timeout, waits forever. Here a malformed line closes the
//! connection (the peer learns at once), and every call has a timeout.
//!
//! Run: `cargo run --example request_response [ADDR]` (default `127.0.0.1:0`).

use std::time::Duration;

use futures::future::try_join_all;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use wireforms::transport::reference;
use wireforms::transport::reqres_client::{Client, ClientConfig};
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
        reference::request(Default::default(), ServerOptions::default())
            .serve(listener, shutdown.clone()),
    );

    let config = ClientConfig::default().call_timeout(Duration::from_secs(2));
    let client = Client::connect(addr, config).await?;
    let requests = [
        ("ECHO", "hello"),
        ("UPPER", "make this uppercase"),
        ("REVERSE", "reverse"),
        ("UPPER", "straße: ß has no one-letter capital"),
        ("FOO", "x"),
    ];
    // All five in flight at once, on one connection.
    let responses = try_join_all(
        requests
            .iter()
            .map(|(command, args)| client.call(command, args)),
    )
    .await?;
    for ((command, args), response) in requests.iter().zip(&responses) {
        println!(
            "{command}:{args} => {}:{}:{}",
            &*response.id, &*response.status, &*response.data
        );
    }
    println!("Client stats: {:?}", client.stats());

    // A line without two ':' is malformed: the server hangs up.
    let mut raw = TcpStream::connect(addr).await?;
    raw.write_all(b"no separators here\n").await?;
    let mut reply = Vec::new();
    raw.read_to_end(&mut reply).await?;
    println!(
        "Malformed line: connection closed with {} reply bytes",
        reply.len()
    );

    drop(client);
    shutdown.cancel();
    let stats = server.await??;
    println!(
        "Server: {} requests answered, {} connection closed on bad input",
        stats.messages, stats.wire_errors
    );
    Ok(())
}
