//! Guide: "Connection State Management".
//!
//! Each connection's session state (anonymous or logged in) is a plain
//! value owned by its task: no lock is needed to read or change it. A
//! shared registry holds only what other connections may ask about (who is
//! online), behind a `std::sync::Mutex` that is never held across an
//! `.await`. A connection silent for longer than `IDLE` is closed.
//!
//! Differences from the guide: it keeps each `ClientState` (socket
//! included) in the shared map and then writes `LastActivity` and
//! `Username` from the handler without the lock, a data race with any
//! reader of the map; and it records `LastActivity` without ever using it.
//! Lines are read with a length limit (`LinesCodec::new_with_max_length`).
//! `WHO` is added to show the registry being read by another connection.
//!
//! Run: `cargo run --example connection_state [ADDR]` (default `127.0.0.1:0`).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::codec::{Framed, LinesCodec};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

const MAX_LINE: usize = 1024;
const IDLE: Duration = Duration::from_secs(5);

/// What one connection knows about itself.
enum Session {
    Anonymous,
    LoggedIn { user: String },
}

/// Connection id → user name, for the connections that have logged in.
type Registry = Arc<Mutex<BTreeMap<u64, String>>>;

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".into());
    let listener = TcpListener::bind(&addr).await?;
    let addr = listener.local_addr()?;
    println!("Stateful server on {addr}");
    let registry = Registry::default();
    let server = tokio::spawn(async move {
        let mut next_id = 0;
        while let Ok((conn, _)) = listener.accept().await {
            next_id += 1;
            tokio::spawn(handle(conn, next_id, registry.clone()));
        }
    });

    // Bob logs in and stays connected while Alice runs her session.
    let mut bob = connect(addr).await?;
    converse(&mut bob, "bob", "LOGIN bob").await?;
    let mut alice = connect(addr).await?;
    for line in [
        "WHOAMI",
        "LOGIN",
        "LOGIN alice",
        "WHOAMI",
        "",
        "WHO",
        "DANCE",
        "QUIT",
    ] {
        converse(&mut alice, "alice", line).await?;
    }
    converse(&mut bob, "bob", "QUIT").await?;

    server.abort();
    Ok(())
}

async fn connect(addr: std::net::SocketAddr) -> std::io::Result<Framed<TcpStream, LinesCodec>> {
    Ok(Framed::new(
        TcpStream::connect(addr).await?,
        LinesCodec::new_with_max_length(MAX_LINE),
    ))
}

/// Sends `line` and prints the reply (blank lines get none).
async fn converse(
    conn: &mut Framed<TcpStream, LinesCodec>,
    who: &str,
    line: &str,
) -> Result<(), BoxError> {
    conn.send(line).await?;
    if line.trim().is_empty() {
        return Ok(());
    }
    let reply = conn.next().await.ok_or("server closed")??;
    println!("{who} > {line:<12} < {reply}");
    Ok(())
}

async fn handle(conn: TcpStream, id: u64, registry: Registry) {
    let mut lines = Framed::new(conn, LinesCodec::new_with_max_length(MAX_LINE));
    let mut session = Session::Anonymous;
    loop {
        let line = match tokio::time::timeout(IDLE, lines.next()).await {
            Err(_) => {
                println!("Client {id} idle for {IDLE:?}, closing");
                break;
            }
            Ok(None) | Ok(Some(Err(_))) => break,
            Ok(Some(Ok(line))) => line,
        };
        let mut words = line.split_whitespace();
        let Some(command) = words.next() else {
            continue; // a blank line gets no reply, as in the guide
        };
        let reply = match (command, &session) {
            ("LOGIN", _) => match words.next() {
                None => "ERROR: Username required".to_owned(),
                Some(user) => {
                    registry.lock().unwrap().insert(id, user.to_owned());
                    session = Session::LoggedIn {
                        user: user.to_owned(),
                    };
                    format!("OK: Logged in as {user}")
                }
            },
            ("WHOAMI", Session::LoggedIn { user }) => format!("You are {user}"),
            ("WHOAMI", Session::Anonymous) => "ERROR: Not authenticated".to_owned(),
            ("WHO", _) => {
                let online: Vec<String> = registry.lock().unwrap().values().cloned().collect();
                format!("Online: {}", online.join(", "))
            }
            ("QUIT", _) => {
                let _ = lines.send("Goodbye").await;
                break;
            }
            _ => "ERROR: Unknown command".to_owned(),
        };
        if lines.send(reply).await.is_err() {
            break;
        }
    }
    registry.lock().unwrap().remove(&id);
}
