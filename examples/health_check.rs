//! Guide: "Connection Health Checks".
//!
//! A health checker task sends `PING` every 100 ms and expects `PONG`
//! within 150 ms; it publishes the result on a `tokio::sync::watch`
//! channel, which the application reads whenever it likes. The demo server
//! stops answering after three pings, and the application sees the
//! connection turn unhealthy and stops.
//!
//! Differences from the guide: its checker does one 5-byte `Read` and
//! compares it with `PONG\n`, and its server likewise compares one 5-byte
//! read with `PING\n`; TCP may deliver `PO` and `NG\n` separately, or a
//! pong together with other data, and then a healthy connection is called
//! dead (or a ping goes unanswered). Here both sides read whole lines
//! (`LinesCodec` with a length limit). Its checker also reads from the
//! connection the application uses, racing the application's own reads;
//! here the checker owns the connection (in a protocol that carries
//! application data too, the ping is a message type that the one reader
//! task routes, as `MuxSession` routes channels).
//!
//! Run: `cargo run --example health_check [ADDR]` (default `127.0.0.1:0`).

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::time::timeout;
use tokio_util::codec::{Framed, LinesCodec};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

const PING_INTERVAL: Duration = Duration::from_millis(100);
const PONG_TIMEOUT: Duration = Duration::from_millis(150);
/// The demo server answers this many pings, then plays dead.
const PONGS: usize = 3;

#[derive(Clone, Debug, PartialEq)]
enum Health {
    Healthy { checks: u32 },
    Unhealthy(String),
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".into());
    let listener = TcpListener::bind(&addr).await?;
    let addr = listener.local_addr()?;
    let server = tokio::spawn(async move {
        let (conn, _) = listener.accept().await?;
        let mut lines = Framed::new(conn, LinesCodec::new_with_max_length(64));
        let mut answered = 0;
        while let Some(line) = lines.next().await {
            if line? == "PING" && answered < PONGS {
                lines.send("PONG").await?;
                answered += 1;
            }
            // After PONGS answers: still connected, but silent.
        }
        Ok::<_, BoxError>(())
    });

    let conn = Framed::new(
        TcpStream::connect(addr).await?,
        LinesCodec::new_with_max_length(64),
    );
    let (report, mut health) = watch::channel(Health::Healthy { checks: 0 });
    let checker = tokio::spawn(check_health(conn, report));

    // The application: reacts to every change of health, bounded in time.
    let verdict = timeout(Duration::from_secs(5), async {
        while health.changed().await.is_ok() {
            let now = health.borrow_and_update().clone();
            match now {
                Health::Healthy { checks } => println!("Connection healthy after {checks} checks"),
                Health::Unhealthy(why) => return Some(why),
            }
        }
        None
    })
    .await;
    match verdict {
        Ok(Some(why)) => println!("Connection unhealthy: {why}; closing it"),
        Ok(None) => println!("Health checker stopped"),
        Err(_) => println!("Still healthy at the end of the demo"),
    }

    checker.abort();
    server.abort();
    Ok(())
}

/// Pings until a check fails, then reports why and returns.
async fn check_health(mut conn: Framed<TcpStream, LinesCodec>, report: watch::Sender<Health>) {
    let mut ticker = tokio::time::interval(PING_INTERVAL);
    let mut checks = 0;
    loop {
        ticker.tick().await;
        if let Err(e) = conn.send("PING").await {
            let _ = report.send(Health::Unhealthy(format!("ping not sent: {e}")));
            return;
        }
        let failure = match timeout(PONG_TIMEOUT, conn.next()).await {
            Ok(Some(Ok(line))) if line == "PONG" => None,
            Ok(Some(Ok(line))) => Some(format!("unexpected reply {line:?}")),
            Ok(Some(Err(e))) => Some(format!("read error: {e}")),
            Ok(None) => Some("connection closed".to_owned()),
            Err(_) => Some(format!("no PONG within {PONG_TIMEOUT:?}")),
        };
        match failure {
            None => {
                checks += 1;
                let _ = report.send(Health::Healthy { checks });
            }
            Some(why) => {
                let _ = report.send(Health::Unhealthy(why));
                return;
            }
        }
    }
}
