//! Hostile peers and faults against every reference server (spec §8 of each
//! format). Loopback only; every test is bounded in count and time.
mod support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use wireforms::transport::reference;
use wireforms::transport::server::{RunningServer, ServerOptions};

use support::{bounded, start};

const FORMATS: [&str; 5] = ["typed", "magic", "frame", "mux", "request"];

async fn serve(format: &str, options: ServerOptions) -> RunningServer {
    match format {
        "typed" => start(reference::typed(Default::default(), options)).await,
        "magic" => start(reference::magic(Default::default(), options)).await,
        "frame" => start(reference::frame(Default::default(), options)).await,
        "mux" => start(reference::mux(Default::default(), options)).await,
        _ => start(reference::request(Default::default(), options)).await,
    }
}

/// One valid request and the reference server's reply to it.
fn exchange_bytes(format: &str) -> (&'static [u8], &'static [u8]) {
    match format {
        "typed" => (b"\x00\x00\x00\x02\x01hi", b"\x00\x00\x00\x02\x02hi"),
        "magic" => (
            b"\xde\xad\xbe\xef\x01\x01\x00\x02hi",
            b"\xde\xad\xbe\xef\x01\x02\x00\x02hi",
        ),
        "frame" => (b"\x00\x00\x00\x02hi", b"\x00\x00\x00\x02HI"),
        "mux" => (b"\x00\x01\x00\x02hi", b"\x00\x01\x00\x0aEcho 1: hi"),
        _ => (b"7:UPPER:hi\n", b"7:OK:HI\n"),
    }
}

/// A header claiming the largest length the format can express, and the
/// error the server must close with at once (`None`: the length is within
/// the default limit, so the server waits, bounded by the idle timeout).
fn largest_header(format: &str) -> (&'static [u8], Option<&'static str>) {
    match format {
        "typed" => (b"\xff\xff\xff\xff\x01", Some("too_large")),
        "magic" => (b"\xde\xad\xbe\xef\x01\x01\xff\xff", None),
        "frame" => (b"\xff\xff\xff\xff", Some("too_large")),
        "mux" => (b"\xff\xff\xff\xff", None),
        _ => (b"1:ECHO:", None),
    }
}

async fn round_trip(addr: SocketAddr, format: &str) {
    let (request, reply) = exchange_bytes(format);
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(request).await.unwrap();
    let mut got = vec![0u8; reply.len()];
    bounded("reply", s.read_exact(&mut got)).await.unwrap();
    assert_eq!(got, reply, "{format}");
}

/// Reads until the server closes; returns what it sent and how long it took.
async fn until_closed(s: &mut TcpStream) -> (Vec<u8>, Duration) {
    let started = Instant::now();
    let mut out = Vec::new();
    let _ = bounded("server close", s.read_to_end(&mut out)).await;
    (out, started.elapsed())
}

#[tokio::test]
async fn largest_length_header_is_refused_or_timed_out() {
    let options = ServerOptions::default().idle_timeout(Duration::from_millis(300));
    for format in FORMATS {
        let server = serve(format, options.clone()).await;
        let (header, kind) = largest_header(format);
        let mut s = TcpStream::connect(server.local_addr).await.unwrap();
        s.write_all(header).await.unwrap();
        let (reply, took) = until_closed(&mut s).await;
        assert!(reply.is_empty(), "{format}: no reply to a bad header");
        println!("{format}: largest-length header closed after {took:?}");
        // Other connections carry on.
        round_trip(server.local_addr, format).await;
        let stats = server.shutdown().await.unwrap();
        match kind {
            Some(kind) => assert_eq!(stats.wire_error_kinds.get(kind), Some(&1), "{format}"),
            None => assert_eq!(stats.timeouts, 1, "{format}"),
        }
    }
}

#[tokio::test]
async fn slow_peers_do_not_stop_a_good_client() {
    // 100 slow peers per format, 500 in all, each holding a partial message.
    let options = ServerOptions::default().idle_timeout(Duration::from_secs(3));
    for format in FORMATS {
        let server = serve(format, options.clone()).await;
        let (request, _) = exchange_bytes(format);
        let mut slow = Vec::new();
        for _ in 0..100 {
            let mut s = TcpStream::connect(server.local_addr).await.unwrap();
            s.write_all(&request[..request.len() - 1]).await.unwrap();
            slow.push(s);
        }
        // A well-behaved client completes its round trips while they wait.
        for _ in 0..20 {
            round_trip(server.local_addr, format).await;
        }
        // The good client finished while the slow peers were still held
        // (none has been timed out and closed yet).
        let mut probe = [0u8; 1];
        let still_open = tokio::time::timeout(Duration::from_millis(10), slow[0].read(&mut probe))
            .await
            .is_err();
        assert!(
            still_open,
            "{format}: slow peer closed before the good client finished"
        );
        let stats = bounded("shutdown", server.shutdown()).await.unwrap();
        assert_eq!(stats.messages, 20, "{format}");
        assert_eq!(stats.aborted, 0);
        drop(slow);
    }
}

#[tokio::test]
async fn slow_peer_trickling_bytes_is_cut_at_the_idle_timeout() {
    let options = ServerOptions::default().idle_timeout(Duration::from_millis(400));
    for format in FORMATS {
        let server = serve(format, options.clone()).await;
        let (header, _) = largest_header(format);
        // A never-ending message, one byte every 50 ms: each byte arrives
        // well within the timeout, but the message never completes.
        let mut s = TcpStream::connect(server.local_addr).await.unwrap();
        let bytes: Vec<u8> = match format {
            "typed" | "frame" => b"\x00\x00\x10\x00"
                .iter()
                .copied()
                .chain(std::iter::repeat(b'x'))
                .take(64)
                .collect(),
            "request" => header
                .iter()
                .copied()
                .chain(std::iter::repeat(b'x'))
                .take(64)
                .collect(),
            _ => header
                .iter()
                .copied()
                .chain(std::iter::repeat(b'x'))
                .take(64)
                .collect(),
        };
        let started = Instant::now();
        let mut closed = false;
        for b in bytes {
            if s.write_all(&[b]).await.is_err() {
                closed = true;
                break;
            }
            let mut probe = [0u8; 1];
            if let Ok(Ok(0)) =
                tokio::time::timeout(Duration::from_millis(50), s.read(&mut probe)).await
            {
                closed = true;
                break;
            }
        }
        assert!(closed, "{format}: trickling peer was never cut");
        println!("{format}: trickling peer cut after {:?}", started.elapsed());
        assert!(started.elapsed() < Duration::from_secs(3), "{format}");
        let stats = server.shutdown().await.unwrap();
        assert_eq!(stats.timeouts, 1, "{format}");
    }
}

#[tokio::test]
async fn connection_flood_is_refused_and_the_server_recovers() {
    let options = ServerOptions::default().max_connections(20);
    for format in FORMATS {
        let server = serve(format, options.clone()).await;
        let (request, reply) = exchange_bytes(format);
        let mut held = Vec::new();
        for _ in 0..20 {
            let mut s = TcpStream::connect(server.local_addr).await.unwrap();
            s.write_all(request).await.unwrap();
            let mut got = vec![0u8; reply.len()];
            bounded("served", s.read_exact(&mut got)).await.unwrap();
            held.push(s);
        }
        // 30 more: each closed at once without a byte.
        for _ in 0..30 {
            let mut s = TcpStream::connect(server.local_addr).await.unwrap();
            let _ = s.write_all(request).await;
            let (out, _) = until_closed(&mut s).await;
            assert!(out.is_empty(), "{format}");
        }
        // Served connections are unaffected.
        for s in held.iter_mut().take(5) {
            s.write_all(request).await.unwrap();
            let mut got = vec![0u8; reply.len()];
            bounded("still served", s.read_exact(&mut got))
                .await
                .unwrap();
            assert_eq!(got, reply);
        }
        drop(held);
        tokio::time::sleep(Duration::from_millis(100)).await;
        round_trip(server.local_addr, format).await;
        let stats = server.shutdown().await.unwrap();
        assert_eq!(stats.refused, 30, "{format}");
    }
}

#[tokio::test]
async fn abrupt_ends_and_half_close() {
    for format in FORMATS {
        let server = serve(format, ServerOptions::default()).await;
        let (request, reply) = exchange_bytes(format);
        // Reset in the middle of a header, and in the middle of a payload.
        for cut in [2, request.len() - 1] {
            let mut s = TcpStream::connect(server.local_addr).await.unwrap();
            s.write_all(&request[..cut]).await.unwrap();
            // SO_LINGER 0: the close sends a reset instead of a FIN.
            socket2::SockRef::from(&s)
                .set_linger(Some(Duration::ZERO))
                .unwrap();
            drop(s);
        }
        // Half-close after a request: the reply is still delivered.
        let mut s = TcpStream::connect(server.local_addr).await.unwrap();
        s.write_all(request).await.unwrap();
        s.shutdown().await.unwrap();
        let (out, _) = until_closed(&mut s).await;
        assert_eq!(out, reply, "{format}");
        round_trip(server.local_addr, format).await;
        let stats = bounded("shutdown", server.shutdown()).await.unwrap();
        assert_eq!(stats.messages, 2, "{format}");
    }
}

#[tokio::test]
async fn a_peer_that_never_reads_is_cut_at_the_write_timeout() {
    let options = ServerOptions::default().write_timeout(Duration::from_millis(300));
    for format in ["typed", "frame", "request"] {
        let server = serve(format, options.clone()).await;
        let mut s = TcpStream::connect(server.local_addr).await.unwrap();
        // Send requests and never read: replies fill the socket buffers.
        let big: Vec<u8> = match format {
            "typed" => [&b"\x00\x00\xff\xff\x01"[..], &vec![b'a'; 65_535]].concat(),
            "frame" => [&b"\x00\x00\xff\xff"[..], &vec![b'a'; 65_535]].concat(),
            _ => [&b"1:ECHO:"[..], &vec![b'a'; 60_000], b"\n"].concat(),
        };
        let writer = tokio::spawn(async move {
            for _ in 0..20_000 {
                if s.write_all(&big).await.is_err() {
                    break;
                }
            }
            s
        });
        let started = Instant::now();
        let s = bounded("writer stops", writer).await.unwrap();
        println!(
            "{format}: never-reading peer cut after {:?}",
            started.elapsed()
        );
        drop(s);
        let stats = bounded("shutdown", server.shutdown()).await.unwrap();
        assert_eq!(stats.timeouts, 1, "{format}: {stats:?}");
    }
}

#[tokio::test]
async fn garbage_gets_the_right_error_on_that_connection_only() {
    let cases: [(&str, &[u8], &str); 8] = [
        ("magic", b"GET / HTTP/1.1\r\n\r\n", "bad_magic"),
        (
            "magic",
            b"\xde\xad\xbe\xef\x01\x01\x00\x02hi\x00\x00\x00\x00\x00\x00\x00\x00",
            "bad_magic",
        ),
        // Garbage that contains a valid magic further on: still bad, no resync on a stream.
        ("magic", b"xx\xde\xad\xbe\xef\x01\x01\x00\x00", "bad_magic"),
        ("magic", b"\xde\xad\xbe\xef\x07\x01\x00\x00", "bad_version"),
        ("typed", b"\x7f\xff\xff\xff\x01garbage", "too_large"),
        ("frame", b"\x01\x00\x00\x00garbage", "too_large"),
        (
            "request",
            b"1:ECHO:ok\nthis line has no colon\n",
            "malformed",
        ),
        ("request", b"1:ECHO:\xc3\x28\n", "invalid_utf8"),
    ];
    for (format, input, kind) in cases {
        let server = serve(format, ServerOptions::default()).await;
        let mut s = TcpStream::connect(server.local_addr).await.unwrap();
        s.write_all(input).await.unwrap();
        let _ = until_closed(&mut s).await;
        round_trip(server.local_addr, format).await;
        let stats = server.shutdown().await.unwrap();
        assert_eq!(
            stats.wire_error_kinds.get(kind),
            Some(&1),
            "{format} {kind}: {stats:?}"
        );
    }
    // Random bytes: some typed error, never a hang or a crash.
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for format in FORMATS {
        let server = serve(
            format,
            ServerOptions::default().idle_timeout(Duration::from_millis(300)),
        )
        .await;
        for _ in 0..10 {
            let garbage: Vec<u8> = (0..256)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    seed as u8
                })
                .collect();
            let mut s = TcpStream::connect(server.local_addr).await.unwrap();
            let _ = s.write_all(&garbage).await;
            let _ = until_closed(&mut s).await;
        }
        round_trip(server.local_addr, format).await;
        server.shutdown().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_under_load_loses_no_reply() {
    let options = ServerOptions::default().shutdown_timeout(Duration::from_secs(5));
    let server = serve("request", options).await;
    let addr = server.local_addr;
    let token = server.shutdown_token();
    let mut clients = Vec::new();
    let mut streams = Vec::new();
    for _ in 0..200 {
        streams.push(TcpStream::connect(addr).await.unwrap());
    }
    for (c, s) in streams.into_iter().enumerate() {
        let token = token.clone();
        clients.push(tokio::spawn(async move {
            let (mut read, mut write) = s.into_split();
            let writer = tokio::spawn(async move {
                let mut sent = 0u64;
                while !token.is_cancelled() && sent < 10_000 {
                    let line = format!("{sent}:ECHO:client {c}\n");
                    if write.write_all(line.as_bytes()).await.is_err() {
                        break;
                    }
                    sent += 1;
                    tokio::task::yield_now().await;
                }
                sent
            });
            let mut replies = Vec::new();
            // A clean close is an end of stream, not a reset.
            read.read_to_end(&mut replies).await.expect("clean close");
            let sent = writer.await.unwrap();
            let answered = replies.iter().filter(|&&b| b == b'\n').count() as u64;
            assert!(
                replies.is_empty() || replies.ends_with(b"\n"),
                "no torn reply"
            );
            (sent, answered)
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = Instant::now();
    let stats = bounded("shutdown", server.shutdown()).await.unwrap();
    let took = started.elapsed();
    let mut answered = 0;
    for c in clients {
        let (sent, got) = bounded("client", c).await.unwrap();
        assert!(got <= sent);
        answered += got;
    }
    // Every request the server read was answered.
    assert_eq!(stats.messages, answered);
    println!("shutdown under load: {answered} requests read and answered, returned after {took:?}, {} connections aborted", stats.aborted);
    assert!(answered > 0);
    assert_eq!(stats.aborted, 0);
    assert!(
        took < Duration::from_secs(5),
        "returned before its deadline"
    );
}
