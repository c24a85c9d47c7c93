//! Guide: "Rate Limiting".
//!
//! A token bucket (burst of 5, refilled at 20 tokens per second) paces a
//! client's writes; the first five go at once, the rest one every 50 ms.
//!
//! Why a small bucket here and not the `governor` crate: `governor` pulls
//! in about ten crates even without its default features (two dozen with
//! them), and its async wait (`until_ready`) sleeps on `futures-timer`'s own
//! timer thread rather than tokio's timer, which tokio's paused-clock tests
//! cannot control. For one connection, the 20 lines below over
//! `tokio::time::Instant` do the job; for limiting many keys at once in a
//! server (per peer, per user), `governor` is the better tool.
//!
//! Differences from the guide: its bucket needs a goroutine ticking forever
//! (never stopped) and refills all tokens at once each second, so it lets
//! through bursts of twice the rate at the second boundary; this one
//! refills continuously from the elapsed time, with no task at all.
//!
//! Run: `cargo run --example rate_limit [ADDR]` (default `127.0.0.1:0`).

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;
use tokio_util::codec::{Framed, FramedRead, LinesCodec};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A token bucket: `capacity` tokens at most, `rate` tokens added per second.
struct TokenBucket {
    capacity: f64,
    rate: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    fn new(capacity: u32, rate_per_sec: u32) -> Self {
        TokenBucket {
            capacity: f64::from(capacity),
            rate: f64::from(rate_per_sec),
            tokens: f64::from(capacity),
            last: Instant::now(),
        }
    }

    /// Waits until a token is available and takes it.
    async fn acquire(&mut self) {
        loop {
            let now = Instant::now();
            let elapsed = now.duration_since(self.last).as_secs_f64();
            self.tokens = (self.tokens + elapsed * self.rate).min(self.capacity);
            self.last = now;
            if self.tokens >= 1.0 {
                self.tokens -= 1.0;
                return;
            }
            let wait = (1.0 - self.tokens) / self.rate;
            tokio::time::sleep(Duration::from_secs_f64(wait)).await;
        }
    }
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
        let mut lines = FramedRead::new(conn, LinesCodec::new_with_max_length(1024));
        let mut received = 0;
        while let Some(line) = lines.next().await {
            println!("Server received: {}", line?);
            received += 1;
        }
        Ok::<_, BoxError>(received)
    });

    let mut lines = Framed::new(TcpStream::connect(addr).await?, LinesCodec::new());
    let mut limiter = TokenBucket::new(5, 20);
    let start = Instant::now();
    for i in 1..=15 {
        limiter.acquire().await;
        lines.send(format!("Message {i}")).await?;
        println!("Sent: Message {i} at {:>4} ms", start.elapsed().as_millis());
    }
    SinkExt::<String>::close(&mut lines).await?;
    let received = server.await??;
    // 5 at once, then 10 more at 20 per second: at least 500 ms.
    println!(
        "Sent 15 messages in {} ms (at least 500 ms by the limit); server received {received}",
        start.elapsed().as_millis()
    );
    Ok(())
}
