//! The request/response client's faults (issue 11), one test each: every
//! test here failed on the client before its fix. Peers are in-memory pipes
//! under paused time unless the test needs the reference server.
mod support;

use std::time::Duration;

use bytes::BytesMut;
use futures::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio_util::codec::FramedRead;
use wireforms::reqres::{Limits, ResponseBuf};
use wireforms::transport::codec::RequestCodec;
use wireforms::transport::reference;
use wireforms::transport::reqres_client::{Client, ClientConfig};
use wireforms::transport::server::ServerOptions;
use wireforms::{Encode, ErrorKind};

use support::{bounded, start};

/// A peer that reads every request and never answers; returns the bytes it
/// read once the client closes its side.
fn silent_peer(mut io: DuplexStream) -> tokio::task::JoinHandle<Vec<u8>> {
    tokio::spawn(async move {
        let mut read = Vec::new();
        let _ = io.read_to_end(&mut read).await;
        read
    })
}

/// A client over an in-memory pipe with a large buffer.
fn client_over_pipe(config: ClientConfig) -> (Client, DuplexStream) {
    let (io, peer) = tokio::io::duplex(1 << 20);
    (Client::new(io, config), peer)
}

// Fault 2: a call cancelled by its caller left its entry in the pending map
// for the life of the connection.
#[tokio::test(start_paused = true)]
async fn cancelled_calls_release_their_pending_entries() {
    let (client, peer) = client_over_pipe(ClientConfig::default());
    let peer = silent_peer(peer);
    // One at a time, and 1,000 at once: both are cancelled by the caller.
    for _ in 0..1000 {
        let r = tokio::time::timeout(Duration::from_millis(10), client.call("ECHO", "x")).await;
        assert!(r.is_err(), "the silent peer never answers");
    }
    let many = (0..1000)
        .map(|_| tokio::time::timeout(Duration::from_millis(10), client.call("ECHO", "x")));
    for r in futures::future::join_all(many).await {
        assert!(r.is_err(), "the silent peer never answers");
    }
    let stats = client.stats();
    assert_eq!(stats.pending, 0, "cancelled calls still pending: {stats:?}");
    assert_eq!(stats.timed_out, 0, "the client's own timeout never fired");
    drop(client);
    bounded("peer sees the end", peer).await.unwrap();
}

// Fault 3: response IDs were parsed as numbers, so `001` and `+1` answered
// call `1`.
#[tokio::test(start_paused = true)]
async fn response_ids_compare_exactly_as_text() {
    let (client, peer) = client_over_pipe(ClientConfig::default());
    let answering = tokio::spawn(async move {
        let (read, mut write) = tokio::io::split(peer);
        let mut requests = FramedRead::new(read, RequestCodec::default());
        let request = requests.next().await.unwrap().unwrap();
        let id = &*request.id;
        let mut out = BytesMut::new();
        for (reply_id, data) in [
            (format!("00{id}"), "zero-padded"),
            (format!("+{id}"), "plus sign"),
            (format!("{id} "), "trailing space"),
            (id.to_string(), "exact"),
        ] {
            ResponseBuf::new(reply_id, "OK", data)
                .encode(&mut out)
                .unwrap();
        }
        write.write_all(&out).await.unwrap();
        // Hold the pipe open until the client is done.
        while requests.next().await.is_some() {}
    });
    let response = bounded("call", client.call("ECHO", "x")).await.unwrap();
    assert_eq!(&*response.data, "exact");
    // The three near misses arrived before the answer, so they are counted.
    let stats = client.stats();
    assert_eq!(
        (stats.answered, stats.unknown_responses),
        (1, 3),
        "{stats:?}"
    );
    drop(client);
    bounded("peer", answering).await.unwrap();
}

// Fault 10: a request line over the server's limit was written, so the
// server closed the connection and every concurrent call failed with it.
#[tokio::test]
async fn an_over_limit_request_is_refused_for_that_call_only() {
    let limits = Limits::new(64);
    let server = start(reference::request(limits, ServerOptions::default())).await;
    let mut config = ClientConfig::default();
    config.limits = limits;
    let client = Client::connect(server.local_addr, config).await.unwrap();
    // `1:ECHO:` + args + `\n`: 64 bytes is the largest line the server takes.
    let fits = "f".repeat(64 - "1:ECHO:\n".len());
    let too_long = "x".repeat(100);
    let (a, long, b) = bounded(
        "calls",
        futures::future::join3(
            client.call("ECHO", "before"),
            client.call("ECHO", &too_long),
            client.call("ECHO", "after"),
        ),
    )
    .await;
    let refused = long.unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::TooLarge, "{refused}");
    assert!(
        refused.to_string().contains("64"),
        "names the limit: {refused}"
    );
    assert_eq!(&*a.unwrap().data, "before");
    assert_eq!(&*b.unwrap().data, "after");
    // Calls 1 and 2 went out; call 3's line is exactly the limit, and the
    // next one byte over it.
    let r = bounded("call", client.call("ECHO", &fits)).await.unwrap();
    assert_eq!((&*r.id, &*r.data), ("3", &*fits));
    let over = client.call("ECHO", &format!("{fits}x")).await.unwrap_err();
    assert_eq!(
        over.to_string(),
        "length 65 exceeds the maximum of 64 (spec reqres/4)"
    );
    assert!(!client.is_closed());
    drop(client);
    let stats = server.shutdown().await.unwrap();
    assert_eq!(
        stats.wire_errors, 0,
        "nothing over the limit reached the server"
    );
}

use wireforms::transport::reqres_client::DEFAULT_MAX_PENDING;

// Fault 10: the client had no cap on pending calls.
#[tokio::test(start_paused = true)]
async fn pending_calls_are_capped() {
    let (client, peer) = client_over_pipe(ClientConfig::default());
    let peer = silent_peer(peer);
    let over = 8;
    let calls = (0..DEFAULT_MAX_PENDING + over).map(|_| {
        let client = client.clone();
        tokio::spawn(async move { client.call("ECHO", "x").await })
    });
    let tasks: Vec<_> = calls.collect();
    let mut refused = 0;
    let mut timed_out = 0;
    for t in tasks {
        match t.await.unwrap().map_err(|e| e.kind()) {
            Err(ErrorKind::LimitReached) => refused += 1,
            Err(ErrorKind::Timeout) => timed_out += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!((refused, timed_out), (over, DEFAULT_MAX_PENDING));
    assert_eq!(client.stats().pending, 0);
    drop(client);
    bounded("peer sees the end", peer).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn the_pending_cap_is_configurable_and_frees_as_calls_end() {
    let (client, peer) = client_over_pipe(ClientConfig::default().max_pending(2));
    let peer = silent_peer(peer);
    let (a, b, c) = futures::future::join3(
        client.call("ECHO", "a"),
        client.call("ECHO", "b"),
        client.call("ECHO", "c"),
    )
    .await;
    assert_eq!(a.unwrap_err().kind(), ErrorKind::Timeout);
    assert_eq!(b.unwrap_err().kind(), ErrorKind::Timeout);
    let refused = c.unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::LimitReached);
    assert_eq!(refused.to_string(), "too many pending calls (at most 2)");
    // Both timed out, so there is room again.
    let again = client.call("ECHO", "d").await.unwrap_err();
    assert_eq!(again.kind(), ErrorKind::Timeout);
    let stats = client.stats();
    assert_eq!((stats.calls, stats.timed_out, stats.pending), (3, 3, 0));
    drop(client);
    bounded("peer sees the end", peer).await.unwrap();
}

// Drop semantics: requests queued by calls that were then cancelled are
// still written, then the write side is shut down.
#[tokio::test(start_paused = true)]
async fn dropping_every_handle_writes_what_is_queued_then_closes() {
    // A pipe far smaller than what is queued: the writer has to wait.
    let (io, mut peer) = tokio::io::duplex(64);
    let client = Client::new(io, ClientConfig::default());
    for i in 0..100 {
        let args = format!("queued {i}");
        let call = client.call("ECHO", &args);
        assert!(tokio::time::timeout(Duration::from_millis(1), call)
            .await
            .is_err());
    }
    let stats = client.stats();
    assert_eq!((stats.calls, stats.cancelled, stats.pending), (100, 100, 0));
    let other = client.clone();
    drop(client);
    drop(other);
    let mut read = Vec::new();
    bounded("the client closes its side", peer.read_to_end(&mut read))
        .await
        .unwrap();
    let lines: Vec<&[u8]> = read.split(|b| *b == b'\n').collect();
    assert_eq!(lines.len(), 101, "100 lines and nothing after the last");
    assert_eq!(lines[99], b"100:ECHO:queued 99");
    // And nothing of the client is left running.
    let metrics = tokio::runtime::Handle::current().metrics();
    bounded("client tasks end", async {
        while metrics.num_alive_tasks() > 0 {
            tokio::task::yield_now().await;
        }
    })
    .await;
}

#[test]
fn a_runtime_that_shuts_down_fails_the_pending_calls() {
    let (io, peer) = tokio::io::duplex(1024);
    let connection_runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let client = connection_runtime.block_on(async { Client::new(io, ClientConfig::default()) });
    // The client's tasks go with their runtime.
    drop(connection_runtime);
    let caller = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let e = caller.block_on(client.call("ECHO", "x")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Closed);
    assert_eq!(e.to_string(), "connection task stopped");
    assert!(client.is_closed());
    drop(peer);
}
