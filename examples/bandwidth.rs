//! Guide: "Bandwidth Monitoring".
//!
//! `Metered<T>` wraps any `AsyncRead + AsyncWrite` and counts the bytes that
//! actually went through it, in atomics shared with a reporter task that
//! prints the rate of each interval. The client's socket and the server's
//! are both metered.
//!
//! Differences from the guide: its reporter goroutine is never stopped and
//! prints the average since the start, which hides a stall behind the good
//! seconds before it; here the reporter prints each interval's own rate and
//! stops with the transfer. Wrapping the stream (instead of calling
//! `MonitoredWrite` by hand) also counts the bytes that codecs, `copy` and
//! buffered writers move, with no way to forget one. The demo is shorter
//! (100 KiB over about half a second).
//!
//! Run: `cargo run --example bandwidth [ADDR]` (default `127.0.0.1:0`).

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[derive(Default)]
struct Counters {
    read: AtomicU64,
    written: AtomicU64,
}

/// A stream that counts the bytes read from and written to it.
struct Metered<T> {
    inner: T,
    counters: Arc<Counters>,
}

impl<T: AsyncRead + Unpin> AsyncRead for Metered<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.inner).poll_read(cx, buf);
        let n = buf.filled().len() - before;
        self.counters.read.fetch_add(n as u64, Ordering::Relaxed);
        result
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Metered<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = result {
            self.counters.written.fetch_add(n as u64, Ordering::Relaxed);
        }
        result
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".into());
    let listener = TcpListener::bind(&addr).await?;
    let addr = listener.local_addr()?;
    let server_counters = Arc::new(Counters::default());
    let server = {
        let counters = server_counters.clone();
        tokio::spawn(async move {
            let (conn, _) = listener.accept().await?;
            let mut conn = Metered {
                inner: conn,
                counters,
            };
            tokio::io::copy(&mut conn, &mut tokio::io::sink()).await?;
            Ok::<_, BoxError>(())
        })
    };

    let client_counters = Arc::new(Counters::default());
    let mut conn = Metered {
        inner: TcpStream::connect(addr).await?,
        counters: client_counters.clone(),
    };
    let done = CancellationToken::new();
    let reporter = tokio::spawn(report(client_counters.clone(), done.clone()));

    let data = [0u8; 1024];
    for _ in 0..100 {
        conn.write_all(&data).await?;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    conn.shutdown().await?;
    server.await??;
    done.cancel();
    reporter.await?;
    println!(
        "Client wrote {} bytes, server read {} bytes",
        client_counters.written.load(Ordering::Relaxed),
        server_counters.read.load(Ordering::Relaxed)
    );
    Ok(())
}

/// Prints the write rate of every interval until `done`, then the average.
async fn report(counters: Arc<Counters>, done: CancellationToken) {
    let start = Instant::now();
    let mut ticker = tokio::time::interval(Duration::from_millis(200));
    ticker.tick().await; // the first tick is immediate
    let mut last = (start, 0);
    loop {
        tokio::select! {
            _ = done.cancelled() => break,
            now = ticker.tick() => {
                let written = counters.written.load(Ordering::Relaxed);
                let rate = (written - last.1) as f64 / now.duration_since(last.0).as_secs_f64();
                println!("Write: {:.1} KB/s over the last interval", rate / 1024.0);
                last = (now, written);
            }
        }
    }
    let total = counters.written.load(Ordering::Relaxed) as f64;
    println!(
        "Write: {:.1} KB/s on average",
        total / start.elapsed().as_secs_f64() / 1024.0
    );
}
