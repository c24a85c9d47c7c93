//! The request/response reference server and the pipelining client.
mod support;

use std::collections::HashSet;
use std::time::Duration;

use bytes::BytesMut;
use futures::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::codec::FramedRead;
use wireforms::reqres::ResponseBuf;
use wireforms::transport::codec::RequestCodec;
use wireforms::transport::reference;
use wireforms::transport::reqres_client::{Client, ClientConfig};
use wireforms::transport::server::ServerOptions;
use wireforms::{Encode, ErrorKind};

use support::{bounded, listener, start};

async fn exchange(addr: std::net::SocketAddr, input: &[u8]) -> Vec<u8> {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(input).await.unwrap();
    s.shutdown().await.unwrap();
    let mut out = Vec::new();
    bounded("replies", s.read_to_end(&mut out)).await.unwrap();
    out
}

#[tokio::test]
async fn reference_server_answers_as_the_spec_says() {
    let server = start(reference::request(
        Default::default(),
        ServerOptions::default(),
    ))
    .await;
    let out = exchange(
        server.local_addr,
        "1:ECHO:hello\n2:UPPER:make this uppercase ß\r\n3:REVERSE:h\u{e9}llo\n4:FOO:x\n::x\n5:ECHO:a:b:c\n6:ECHO:no newline".as_bytes(),
    )
    .await;
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "1:OK:hello\n2:OK:MAKE THIS UPPERCASE ß\n3:OK:oll\u{e9}h\n4:OK:Unknown command\n:OK:Unknown command\n5:OK:a:b:c\n6:OK:no newline\n"
    );
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn malformed_line_closes_that_connection_only() {
    let server = start(reference::request(
        Default::default(),
        ServerOptions::default(),
    ))
    .await;
    let client = Client::connect(server.local_addr, ClientConfig::default())
        .await
        .unwrap();
    // Answered up to the malformed line, then closed.
    let out = exchange(server.local_addr, b"1:ECHO:a\nno colons here\n2:ECHO:b\n").await;
    assert_eq!(out, b"1:OK:a\n");
    let out = exchange(server.local_addr, b"1:ECHO:\xff\xfe\n").await;
    assert!(out.is_empty(), "invalid UTF-8 closes without a reply");
    assert_eq!(
        &*client.call("ECHO", "still fine").await.unwrap().data,
        "still fine"
    );
    drop(client);
    let stats = server.shutdown().await.unwrap();
    assert_eq!(stats.wire_errors, 2);
}

#[tokio::test]
async fn over_long_line_is_refused_without_buffering_it() {
    let limits = wireforms::reqres::Limits::new(1024);
    let server = start(reference::request(limits, ServerOptions::default())).await;
    let mut s = TcpStream::connect(server.local_addr).await.unwrap();
    // Keep sending a line with no end: the server must close after ~1 KiB.
    let chunk = vec![b'x'; 512];
    let mut sent = 0;
    let closed = bounded("close", async {
        loop {
            if s.write_all(&chunk).await.is_err() {
                return true;
            }
            sent += chunk.len();
            if sent > 64 * 1024 * 1024 {
                return false;
            }
            let mut probe = [0u8; 1];
            if let Ok(Ok(0)) =
                tokio::time::timeout(Duration::from_millis(1), s.read(&mut probe)).await
            {
                return true;
            }
        }
    })
    .await;
    assert!(closed, "server kept reading an endless line");
    let stats = server.shutdown().await.unwrap();
    assert_eq!(stats.wire_errors, 1);
}

#[tokio::test]
async fn thousand_concurrent_calls_over_one_connection() {
    let server = start(reference::request(
        Default::default(),
        ServerOptions::default(),
    ))
    .await;
    let client = Client::connect(server.local_addr, ClientConfig::default())
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for t in 0..10 {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..100 {
                let args = format!("task {t} call {i}");
                let r = client.call("REVERSE", &args).await.unwrap();
                assert_eq!(&*r.data, args.chars().rev().collect::<String>());
            }
        }));
    }
    for t in tasks {
        bounded("callers", t).await.unwrap();
    }
    assert_eq!(client.stats().answered, 1000);
    assert_eq!(client.stats().pending, 0);
    drop(client);
    server.shutdown().await.unwrap();
}

/// A server that reads `batch` requests, then answers them in reverse order.
async fn out_of_order_server(batch: usize) -> std::net::SocketAddr {
    let (listener, addr) = listener().await;
    tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let (read, mut write) = stream.into_split();
        let mut requests = FramedRead::new(read, RequestCodec::default());
        let mut held = Vec::new();
        while let Some(Ok(request)) = requests.next().await {
            held.push(request);
            if held.len() == batch {
                let mut out = BytesMut::new();
                for r in held.drain(..).rev() {
                    let reply = ResponseBuf::new(r.id.clone(), "OK", r.args.clone());
                    reply.encode(&mut out).unwrap();
                }
                write.write_all(&out).await.unwrap();
            }
        }
    });
    addr
}

#[tokio::test]
async fn responses_out_of_order_are_matched_by_id() {
    let addr = out_of_order_server(1000).await;
    let client = Client::connect(addr, ClientConfig::default())
        .await
        .unwrap();
    let calls = (0..1000).map(|i| {
        let client = client.clone();
        async move { (i, client.call("ECHO", &format!("payload {i}")).await) }
    });
    let results = bounded("all calls", futures::future::join_all(calls)).await;
    let mut seen = HashSet::new();
    for (i, result) in results {
        let response = result.unwrap();
        assert_eq!(&*response.data, format!("payload {i}"));
        assert!(seen.insert(response.id.to_string()), "ids are unique");
    }
}

#[tokio::test]
async fn a_silent_server_times_calls_out_without_leaking() {
    let (listener, addr) = listener().await;
    let hold = tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        let mut sink = Vec::new();
        let _ = s.read_to_end(&mut sink).await; // reads, never answers
    });
    let config = ClientConfig::default().call_timeout(Duration::from_millis(100));
    let client = Client::connect(addr, config).await.unwrap();
    let results = futures::future::join_all((0..50).map(|_| client.call("ECHO", "x"))).await;
    for r in results {
        assert_eq!(r.unwrap_err().kind(), ErrorKind::Timeout);
    }
    let stats = client.stats();
    assert_eq!((stats.timed_out, stats.pending), (50, 0));
    drop(client);
    bounded("server sees the end", hold).await.unwrap();
}

#[tokio::test]
async fn connection_loss_fails_every_pending_call() {
    let (listener, addr) = listener().await;
    tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        let mut buf = [0u8; 64];
        let _ = s.read(&mut buf).await;
        // Answer half a line, then vanish.
        let _ = s.write_all(b"1:OK:hal").await;
    });
    let client = Client::connect(addr, ClientConfig::default())
        .await
        .unwrap();
    let results = bounded(
        "calls",
        futures::future::join_all((0..20).map(|_| client.call("ECHO", "x"))),
    )
    .await;
    for r in results {
        assert_eq!(r.unwrap_err().kind(), ErrorKind::Closed);
    }
    // New calls fail at once.
    assert_eq!(
        client.call("ECHO", "x").await.unwrap_err().kind(),
        ErrorKind::Closed
    );
}

#[tokio::test]
async fn unknown_and_duplicate_ids_are_counted_not_fatal() {
    let (listener, addr) = listener().await;
    tokio::spawn(async move {
        let (s, _) = listener.accept().await.unwrap();
        let (read, mut write) = s.into_split();
        let mut requests = FramedRead::new(read, RequestCodec::default());
        while let Some(Ok(r)) = requests.next().await {
            let mut out = BytesMut::new();
            ResponseBuf::new("999999", "OK", "stray")
                .encode(&mut out)
                .unwrap();
            ResponseBuf::new("not-a-number", "OK", "stray")
                .encode(&mut out)
                .unwrap();
            let reply = ResponseBuf::new(r.id.clone(), "OK", r.args.clone());
            reply.encode(&mut out).unwrap();
            reply.encode(&mut out).unwrap(); // answered twice
            write.write_all(&out).await.unwrap();
        }
    });
    let client = Client::connect(addr, ClientConfig::default())
        .await
        .unwrap();
    for i in 0..5 {
        let r = bounded("call", client.call("ECHO", &i.to_string()))
            .await
            .unwrap();
        assert_eq!(&*r.data, i.to_string());
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(client.stats().unknown_responses, 15);
    assert_eq!(client.stats().answered, 5);
}
