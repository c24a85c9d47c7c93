//! Guide: "TCP Connection Pooling".
//!
//! Ten workers share at most three connections to the length-frame
//! reference server, through a `bb8` pool of wireforms `Framed` connections.
//!
//! Why `bb8` rather than a pool written here: it is small (it adds one crate
//! to this project's tree), well kept, and does the parts a hand-written
//! pool gets wrong, and the guide's does get wrong:
//! - a worker waits (up to `connection_timeout`) for a connection to come
//!   back, where the guide's `Get` fails with "pool exhausted" as soon as
//!   `maxSize` connections are out, so workers 6 to 10 fail there;
//! - a connection is checked (`is_valid`, here an empty-frame ping) before
//!   it is handed out, and a broken one is replaced; the guide hands out
//!   dead connections;
//! - returning a connection after the pool is closed is safe; the guide's
//!   `Put` after `Close` panics (send on a closed channel).
//!
//! When the protocol can match responses to requests, a pool is often not
//! needed at all: wireforms' `reqres_client::Client` runs any number of
//! concurrent calls over one connection (see `request_response.rs`).
//!
//! Run: `cargo run --example tcp_pool [ADDR]` (default `127.0.0.1:0`).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bb8::ManageConnection;
use futures::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::codec::Framed;
use tokio_util::sync::CancellationToken;
use wireforms::frame::LengthFrameBuf;
use wireforms::transport::codec::FrameCodec;
use wireforms::transport::reference;
use wireforms::transport::server::ServerOptions;

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type Conn = Framed<TcpStream, FrameCodec>;

/// How bb8 makes and checks connections to a frame server.
struct FrameConnector {
    addr: SocketAddr,
    created: Arc<AtomicUsize>,
}

impl ManageConnection for FrameConnector {
    type Connection = Conn;
    type Error = wireforms::Error;

    async fn connect(&self) -> Result<Conn, wireforms::Error> {
        let stream = TcpStream::connect(self.addr).await?;
        stream.set_nodelay(true)?;
        let total = self.created.fetch_add(1, Ordering::Relaxed) + 1;
        println!("Created new connection (total: {total})");
        Ok(Framed::new(stream, FrameCodec::default()))
    }

    async fn is_valid(&self, conn: &mut Conn) -> Result<(), wireforms::Error> {
        // The reference server answers an empty frame with an empty frame.
        conn.send(LengthFrameBuf::new("")).await?;
        match conn.next().await {
            Some(Ok(reply)) if reply.payload.is_empty() => Ok(()),
            Some(Err(e)) => Err(e),
            _ => Err(wireforms::Error::Closed {
                reason: "no pong from the server",
            }),
        }
    }

    fn has_broken(&self, _conn: &mut Conn) -> bool {
        // Nothing to tell synchronously; `is_valid` checks on checkout.
        false
    }
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".into());
    let listener = TcpListener::bind(&addr).await?;
    let addr = listener.local_addr()?;
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(
        reference::frame(Default::default(), ServerOptions::default())
            .serve(listener, shutdown.clone()),
    );

    let created = Arc::new(AtomicUsize::new(0));
    let pool = bb8::Pool::builder()
        .max_size(3)
        .connection_timeout(Duration::from_secs(5))
        .build(FrameConnector {
            addr,
            created: created.clone(),
        })
        .await?;

    let mut workers = tokio::task::JoinSet::new();
    for id in 0..10 {
        let pool = pool.clone();
        workers.spawn(async move {
            // Waits while all three connections are out.
            let mut conn = pool.get().await?;
            conn.send(LengthFrameBuf::new(format!("Request from worker {id}")))
                .await?;
            let reply = conn.next().await.ok_or("connection closed")??;
            println!(
                "Worker {id} received: {}",
                String::from_utf8_lossy(&reply.payload)
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
            Ok::<_, BoxError>(())
            // `conn` goes back to the pool here, when it is dropped.
        });
    }
    while let Some(done) = workers.join_next().await {
        done??;
    }
    println!(
        "10 workers served by {} connections",
        created.load(Ordering::Relaxed)
    );

    drop(pool);
    shutdown.cancel();
    server.await??;
    Ok(())
}
