//! An application server with an async handler that keeps state per
//! connection: a small key-value service over request lines
//! (`ID:COMMAND:ARGS`, spec/reqres.md).
//!
//! The handler is a `wireforms::transport::handler::AsyncHandler`. Each
//! connection has its own state (who logged in, how many requests it
//! made), made by `open` when the connection is accepted; the store is
//! shared by every connection and stands for a database: each access
//! awaits, as a real one would. The server around it is the crate's
//! `Server`: limits, idle and write timeouts, the connection cap, graceful
//! shutdown, and `ServerOptions::max_in_flight`, the calls of one
//! connection run at once (a client that pipelines thousands of requests
//! waits in its socket, it does not fill the server's memory). Request
//! lines are matched by ID, so a fast `GET` may be answered before a slow
//! `SET` sent ahead of it.
//!
//! Commands: `LOGIN:name`, `SET:key=value`, `GET:key`, `WHOAMI:`.
//!
//! Run: `cargo run --example async_server [ADDR]` (default `127.0.0.1:0`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use wireforms::reqres::{RequestBuf, RequestLine, ResponseBuf, ResponseLine};
use wireforms::transport::handler::{AsyncHandler, ConnectionInfo, Context};
use wireforms::transport::reqres_client::{Client, ClientConfig};
use wireforms::transport::server::{Server, ServerOptions};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Stands for a database: every access takes a while.
#[derive(Default)]
struct Store {
    values: Mutex<HashMap<String, String>>,
}

impl Store {
    async fn set(&self, key: &str, value: &str) {
        tokio::time::sleep(Duration::from_millis(30)).await;
        let mut values = self.values.lock().unwrap_or_else(|e| e.into_inner());
        values.insert(key.to_owned(), value.to_owned());
    }

    async fn get(&self, key: &str) -> Option<String> {
        tokio::time::sleep(Duration::from_millis(5)).await;
        let values = self.values.lock().unwrap_or_else(|e| e.into_inner());
        values.get(key).cloned()
    }
}

/// What the server keeps per connection.
struct Session {
    user: Mutex<Option<String>>,
    requests: AtomicU64,
}

struct KeyValue {
    store: Arc<Store>,
}

impl AsyncHandler<RequestBuf, ResponseBuf> for KeyValue {
    type State = Session;

    fn open(&self, connection: &ConnectionInfo) -> Session {
        println!(
            "server: connection {} from {}",
            connection.id(),
            connection.peer()
        );
        Session {
            user: Mutex::new(None),
            requests: AtomicU64::new(0),
        }
    }

    async fn call(
        &self,
        request: RequestBuf,
        cx: Context<Session>,
    ) -> Result<Vec<ResponseBuf>, wireforms::Error> {
        let session = cx.state();
        let n = session.requests.fetch_add(1, Ordering::Relaxed) + 1;
        let user = session
            .user
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let (status, data) = match (&*request.command, user) {
            ("LOGIN", _) => {
                *session.user.lock().unwrap_or_else(|e| e.into_inner()) =
                    Some(request.args.to_string());
                ("OK", format!("welcome {}", &*request.args))
            }
            (_, None) => ("ERR", "LOGIN first".to_owned()),
            ("SET", Some(user)) => match request.args.split_once('=') {
                Some((key, value)) => {
                    self.store.set(&format!("{user}/{key}"), value).await;
                    ("OK", format!("{key} set"))
                }
                None => ("ERR", "SET wants key=value".to_owned()),
            },
            ("GET", Some(user)) => {
                match self.store.get(&format!("{user}/{}", &*request.args)).await {
                    Some(value) => ("OK", value),
                    None => ("ERR", format!("no {}", &*request.args)),
                }
            }
            ("WHOAMI", Some(user)) => (
                "OK",
                format!("{user}, request {n} on connection {}", cx.id()),
            ),
            _ => ("ERR", format!("unknown command {}", &*request.command)),
        };
        Ok(vec![ResponseBuf::new(request.id, status, data)])
    }
}

async fn session(addr: std::net::SocketAddr, user: &str) -> Result<(), BoxError> {
    let client = Client::connect(addr, ClientConfig::default()).await?;
    let login = client.call("LOGIN", user).await?;
    println!("{user} > LOGIN     < {}", &*login.data);
    // Pipelined on one connection: the slow SET and the GET of a key not
    // set yet are both in flight; the GET is answered first.
    let assignment = format!("colour={user}-blue");
    let (set, early_get) = tokio::join!(
        client.call("SET", &assignment),
        client.call("GET", "colour"),
    );
    println!("{user} > SET       < {}", &*set?.data);
    println!("{user} > GET early < {}", &*early_get?.data);
    let get = client.call("GET", "colour").await?;
    println!("{user} > GET       < {}", &*get.data);
    let who = client.call("WHOAMI", "").await?;
    println!("{user} > WHOAMI    < {}", &*who.data);
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".into());
    let listener = TcpListener::bind(&addr).await?;
    let addr = listener.local_addr()?;
    let options = ServerOptions::default()
        .max_in_flight(16)
        .idle_timeout(Duration::from_secs(5));
    let handler = KeyValue {
        store: Arc::new(Store::default()),
    };
    let server: Server<RequestLine, ResponseLine, _> =
        Server::new(Default::default(), options, handler);
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(server.serve(listener, shutdown.clone()));

    // One after the other, so the connection ids are 1 and 2.
    session(addr, "alice").await?;
    session(addr, "bob").await?;

    shutdown.cancel();
    let stats = server.await??;
    println!(
        "Server stopped: {} connections, {} requests",
        stats.connections, stats.messages
    );
    Ok(())
}
