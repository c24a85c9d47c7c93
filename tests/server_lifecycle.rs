//! The server's accept loop and shutdown (spec security §4, §8): finished
//! connections are reaped while accepts keep coming, an absurd connection
//! limit does not panic, and a shutdown under a client that pipelines
//! without pause ends in a clean end of stream, before the deadline.
mod support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use wireforms::transport::reference;
use wireforms::transport::server::{RunningServer, ServerOptions};

use support::{bounded, start};

async fn round_trip(addr: std::net::SocketAddr) {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(b"1:ECHO:hi\n").await.unwrap();
    let mut got = [0u8; 8];
    bounded("reply", s.read_exact(&mut got)).await.unwrap();
    assert_eq!(&got, b"1:OK:hi\n");
}

#[tokio::test]
async fn an_absurd_connection_limit_is_clamped_not_a_panic() {
    let options = ServerOptions::default().max_connections(usize::MAX);
    let server = start(reference::request(Default::default(), options)).await;
    round_trip(server.local_addr).await;
    let stats = server.shutdown().await.expect("the server ran");
    assert_eq!(stats.connections, 1);
}

#[tokio::test]
async fn finished_connections_are_reaped_while_accepts_are_ready() {
    const CONNECTIONS: u64 = 600;
    // A backlog that holds every connection (tokio's default is 128).
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket
        .bind(
            &"127.0.0.1:0"
                .parse::<std::net::SocketAddr>()
                .unwrap()
                .into(),
        )
        .unwrap();
    socket.listen(1024).unwrap();
    socket.set_nonblocking(true).unwrap();
    let listener = tokio::net::TcpListener::from_std(socket.into()).unwrap();
    let addr = listener.local_addr().unwrap();
    // Fill the accept queue before the server runs, so that accept is
    // ready for CONNECTIONS turns in a row; each peer has already closed,
    // so each connection task ends as soon as it runs.
    let peers = std::thread::spawn(move || {
        for _ in 0..CONNECTIONS {
            drop(std::net::TcpStream::connect(addr).unwrap());
        }
    });
    bounded(
        "connects",
        tokio::task::spawn_blocking(move || peers.join()),
    )
    .await
    .unwrap()
    .unwrap();
    let token = tokio_util::sync::CancellationToken::new();
    let server = RunningServer::spawn(
        addr,
        token.clone(),
        reference::request(Default::default(), ServerOptions::default()).serve(listener, token),
    );
    // Queued behind the others: answered once they were all accepted.
    round_trip(addr).await;
    let stats = server.shutdown().await.unwrap();
    assert_eq!(stats.connections, CONNECTIONS + 1);
    println!("peak connection tasks held: {}", stats.peak_connections);
    assert!(
        stats.peak_connections < CONNECTIONS / 2,
        "{} connection tasks held at once for at most a few open connections",
        stats.peak_connections
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_under_a_client_that_never_pauses_ends_cleanly() {
    let shutdown_timeout = Duration::from_secs(4);
    let options = ServerOptions::default().shutdown_timeout(shutdown_timeout);
    let server = start(reference::request(Default::default(), options)).await;
    let stream = TcpStream::connect(server.local_addr).await.unwrap();
    let (mut read, mut write) = stream.into_split();
    let stop = Arc::new(AtomicBool::new(false));
    // The client writes requests back to back and knows nothing of the
    // shutdown; it stops only once it has read the server's end of stream.
    let writer = {
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut sent = 0u64;
            let mut chunk = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                chunk.clear();
                for _ in 0..64 {
                    chunk.extend_from_slice(format!("{sent}:ECHO:x\n").as_bytes());
                    sent += 1;
                }
                if write.write_all(&chunk).await.is_err() {
                    return (sent, false);
                }
            }
            (sent, write.shutdown().await.is_ok())
        })
    };
    let reader = tokio::spawn(async move {
        let mut replies = Vec::new();
        let mut buf = vec![0u8; 64 * 1024];
        let end = loop {
            match read.read(&mut buf).await {
                Ok(0) => break Ok(()),
                Ok(n) => replies.extend_from_slice(&buf[..n]),
                Err(e) => break Err(e),
            }
        };
        stop.store(true, Ordering::Relaxed);
        (replies, end)
    });
    // Let the pipeline fill, then shut down.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = tokio::time::Instant::now();
    let stats = bounded("shutdown", server.shutdown()).await.unwrap();
    let took = started.elapsed();
    let (replies, end) = bounded("reader", reader).await.unwrap();
    let (sent, write_ok) = bounded("writer", writer).await.unwrap();
    println!(
        "sent {sent}, answered {}, server read {}, returned after {took:?}, aborted {}",
        replies.iter().filter(|&&b| b == b'\n').count(),
        stats.messages,
        stats.aborted
    );
    end.expect("a clean end of stream, not a reset");
    assert!(write_ok, "the client's writes were read, not reset");
    assert_eq!(stats.aborted, 0, "returned before the deadline");
    // The answers are the requests the server read, in order, none torn.
    let mut answered = 0u64;
    for line in replies.split_inclusive(|&b| b == b'\n') {
        assert_eq!(line, format!("{answered}:OK:x\n").as_bytes());
        answered += 1;
    }
    assert!(answered > 0);
    assert_eq!(answered, stats.messages);
}
