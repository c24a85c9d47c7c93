//! Two tokio runtimes on two OS threads joined by one loopback connection,
//! so that a measurement resembles two programs rather than two tasks
//! sharing a scheduler.

use std::future::Future;
use std::net::SocketAddr;
use std::thread;
use std::time::{Duration, Instant};

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

/// What a server side measured.
#[derive(Clone, Copy, Debug, Default)]
pub struct Received {
    /// Messages (or calls) counted.
    pub messages: u64,
    /// Payload bytes counted.
    pub bytes: u64,
    /// From the first byte to the end of the measured traffic.
    pub elapsed: Duration,
}

impl Received {
    /// Payload megabytes (10^6 bytes) per second.
    pub fn mb_per_s(&self) -> f64 {
        self.bytes as f64 / self.elapsed.as_secs_f64().max(1e-9) / 1e6
    }

    /// Messages per second.
    pub fn per_s(&self) -> f64 {
        self.messages as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// Runs `server` (given the listener and a sender to call once everything is
/// received) and `client` (given the address and the receiver of that
/// signal, which it must await before returning, so that its runtime keeps
/// writing until the server has everything) on their own threads, and
/// returns both results.
pub fn pair<S, SF, SO, C, CF, CO>(server: S, client: C) -> (SO, CO)
where
    S: FnOnce(TcpListener, oneshot::Sender<()>) -> SF + Send + 'static,
    SF: Future<Output = SO>,
    SO: Send + 'static,
    C: FnOnce(SocketAddr, oneshot::Receiver<()>) -> CF + Send + 'static,
    CF: Future<Output = CO>,
    CO: Send + 'static,
{
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    listener.set_nonblocking(true).expect("non-blocking");
    let addr = listener.local_addr().expect("an address");
    let (done_tx, done_rx) = oneshot::channel();
    let server = thread::spawn(move || {
        runtime().block_on(async move {
            let listener = TcpListener::from_std(listener).expect("a tokio listener");
            server(listener, done_tx).await
        })
    });
    let client = thread::spawn(move || runtime().block_on(client(addr, done_rx)));
    let client = client.join().expect("the client thread");
    (server.join().expect("the server thread"), client)
}

/// Connects with `TCP_NODELAY`, as the library's client does.
pub async fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).await.expect("a connection");
    stream.set_nodelay(true).expect("nodelay");
    stream
}

/// Accepts one connection with `TCP_NODELAY`.
pub async fn accept(listener: &TcpListener) -> TcpStream {
    let (stream, _) = listener.accept().await.expect("a connection");
    stream.set_nodelay(true).expect("nodelay");
    stream
}

/// A deadline `duration` from now, checked cheaply every `every` iterations.
#[derive(Debug)]
pub struct Deadline {
    end: Instant,
    every: u32,
    count: u32,
}

impl Deadline {
    /// A deadline `duration` from now.
    pub fn new(duration: Duration, every: u32) -> Deadline {
        Deadline {
            end: Instant::now() + duration,
            every: every.max(1),
            count: 0,
        }
    }

    /// Whether the deadline has passed (reads the clock every `every` calls).
    pub fn passed(&mut self) -> bool {
        self.count += 1;
        if self.count < self.every {
            return false;
        }
        self.count = 0;
        Instant::now() >= self.end
    }
}
