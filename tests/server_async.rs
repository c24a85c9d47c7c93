//! Servers with async handlers: the per-connection context, answers out
//! of order where the format allows it (request lines, matched by ID) and
//! in order otherwise, the in-flight bound under a pipelining peer, and a
//! user's stream of accepted connections.
mod support;

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::{Notify, Semaphore};
use tokio_util::codec::Framed;
use tokio_util::sync::CancellationToken;
use wireforms::reqres::{RequestBuf, RequestLine, ResponseBuf, ResponseLine};
use wireforms::transport::codec::TypedCodec;
use wireforms::transport::handler::{AsyncHandler, ConnectionInfo, Context, PeerAddr};
use wireforms::transport::listener::Incoming;
use wireforms::transport::server::{Server, ServerOptions};
use wireforms::typed::{MessageType, Typed, TypedMessageBuf};
use wireforms::Error;

use support::{bounded, start};

/// Reads `n` response lines.
async fn read_lines(
    reader: &mut BufReader<tokio::net::tcp::OwnedReadHalf>,
    n: usize,
) -> Vec<String> {
    let mut lines = Vec::new();
    for _ in 0..n {
        let mut line = String::new();
        let read = bounded("response line", reader.read_line(&mut line))
            .await
            .unwrap();
        assert!(read > 0, "server closed after {} lines", lines.len());
        lines.push(line.trim_end().to_owned());
    }
    lines
}

/// Answers `id:OK:<connection id>/<request count>/<peer>`, its count kept per connection.
struct Counting;

impl AsyncHandler<RequestBuf, ResponseBuf> for Counting {
    type State = AtomicU64;

    fn open(&self, connection: &ConnectionInfo) -> AtomicU64 {
        assert_eq!(connection.format(), "request");
        AtomicU64::new(0)
    }

    async fn call(
        &self,
        request: RequestBuf,
        cx: Context<AtomicU64>,
    ) -> Result<Vec<ResponseBuf>, Error> {
        // A real await point, as a database call would have.
        tokio::task::yield_now().await;
        let n = cx.state().fetch_add(1, Ordering::Relaxed) + 1;
        let data = format!("{}/{n}/{}", cx.id(), cx.peer());
        Ok(vec![ResponseBuf::new(request.id, "OK", data)])
    }
}

#[tokio::test]
async fn the_context_gives_the_peer_the_connection_id_and_per_connection_state() {
    let server: Server<RequestLine, ResponseLine, _> =
        Server::new(Default::default(), ServerOptions::default(), Counting);
    let server = start(server).await;
    let a = TcpStream::connect(server.local_addr).await.unwrap();
    let b = TcpStream::connect(server.local_addr).await.unwrap();
    let (a_peer, b_peer) = (a.local_addr().unwrap(), b.local_addr().unwrap());
    let (ra, mut wa) = a.into_split();
    let (rb, mut wb) = b.into_split();
    let (mut ra, mut rb) = (BufReader::new(ra), BufReader::new(rb));
    // Interleaved: each connection counts its own requests.
    for i in 1..=3 {
        wa.write_all(format!("{i}:X:\n").as_bytes()).await.unwrap();
        let got_a = read_lines(&mut ra, 1).await;
        wb.write_all(format!("{i}:X:\n").as_bytes()).await.unwrap();
        let got_b = read_lines(&mut rb, 1).await;
        let fields = |line: &str| -> (u64, u64, String) {
            let data = line.splitn(3, ':').nth(2).unwrap().to_owned();
            let mut parts = data.splitn(3, '/');
            (
                parts.next().unwrap().parse().unwrap(),
                parts.next().unwrap().parse().unwrap(),
                parts.next().unwrap().to_owned(),
            )
        };
        let (id_a, n_a, peer_a) = fields(&got_a[0]);
        let (id_b, n_b, peer_b) = fields(&got_b[0]);
        assert_eq!((n_a, n_b), (i, i), "per-connection counts");
        assert_ne!(id_a, id_b, "connection ids are distinct");
        assert_eq!(peer_a, a_peer.to_string());
        assert_eq!(peer_b, b_peer.to_string());
    }
    drop((wa, wb, ra, rb));
    let stats = bounded("shutdown", server.shutdown()).await.unwrap();
    assert_eq!(stats.messages, 6);
}

/// A handler whose first kind of request waits until the second kind has
/// been called: `wait` never finishes before `go` has.
#[derive(Default)]
struct WaitForGo {
    go: Arc<Notify>,
}

impl AsyncHandler<RequestBuf, ResponseBuf> for WaitForGo {
    type State = ();
    fn open(&self, _: &ConnectionInfo) {}
    async fn call(&self, request: RequestBuf, _: Context<()>) -> Result<Vec<ResponseBuf>, Error> {
        match &*request.command {
            "WAIT" => self.go.notified().await,
            _ => self.go.notify_one(),
        }
        Ok(vec![ResponseBuf::new(request.id, "OK", request.command)])
    }
}

impl AsyncHandler<TypedMessageBuf, TypedMessageBuf> for WaitForGo {
    type State = ();
    fn open(&self, _: &ConnectionInfo) {}
    async fn call(
        &self,
        m: TypedMessageBuf,
        _: Context<()>,
    ) -> Result<Vec<TypedMessageBuf>, Error> {
        match m.message_type {
            MessageType(1) => self.go.notified().await,
            _ => self.go.notify_one(),
        }
        Ok(vec![m])
    }
}

#[tokio::test]
async fn request_lines_are_answered_as_their_calls_finish() {
    let server: Server<RequestLine, ResponseLine, _> = Server::new(
        Default::default(),
        ServerOptions::default(),
        WaitForGo::default(),
    );
    let server = start(server).await;
    let (r, mut w) = TcpStream::connect(server.local_addr)
        .await
        .unwrap()
        .into_split();
    let mut r = BufReader::new(r);
    w.write_all(b"1:WAIT:\n2:GO:\n").await.unwrap();
    // The client matches by ID (spec reqres §10): 2 may pass 1.
    assert_eq!(read_lines(&mut r, 2).await, ["2:OK:GO", "1:OK:WAIT"]);
    drop((r, w));
    bounded("shutdown", server.shutdown()).await.unwrap();
}

#[tokio::test]
async fn other_formats_are_answered_in_request_order() {
    let server: Server<Typed, Typed, _> = Server::new(
        Default::default(),
        ServerOptions::default(),
        WaitForGo::default(),
    );
    let server = start(server).await;
    let stream = TcpStream::connect(server.local_addr).await.unwrap();
    let mut framed = Framed::new(stream, TypedCodec::default());
    framed
        .feed(TypedMessageBuf::new(MessageType(1), "first"))
        .await
        .unwrap();
    framed
        .send(TypedMessageBuf::new(MessageType(2), "second"))
        .await
        .unwrap();
    // The second call finishes first; typed messages carry no ID, so its
    // reply still waits for the first's.
    let first = bounded("reply", framed.next()).await.unwrap().unwrap();
    let second = bounded("reply", framed.next()).await.unwrap().unwrap();
    assert_eq!(
        (&first.payload[..], &second.payload[..]),
        (&b"first"[..], &b"second"[..])
    );
    drop(framed);
    bounded("shutdown", server.shutdown()).await.unwrap();
}

/// Counts the calls running at once; each waits for a permit of `gate`.
struct Gated {
    running: Arc<AtomicUsize>,
    most: Arc<AtomicUsize>,
    gate: Arc<Semaphore>,
}

impl AsyncHandler<RequestBuf, ResponseBuf> for Gated {
    type State = ();
    fn open(&self, _: &ConnectionInfo) {}
    async fn call(&self, request: RequestBuf, _: Context<()>) -> Result<Vec<ResponseBuf>, Error> {
        let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.most.fetch_max(now, Ordering::SeqCst);
        let permit = self
            .gate
            .acquire()
            .await
            .map_err(|_| Error::Closed { reason: "gate" })?;
        permit.forget();
        self.running.fetch_sub(1, Ordering::SeqCst);
        Ok(vec![ResponseBuf::new(request.id, "OK", "")])
    }
}

#[tokio::test]
async fn a_pipelining_peer_gets_at_most_max_in_flight_calls_at_once() {
    const BOUND: usize = 4;
    const REQUESTS: usize = 200;
    let running = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let gate = Arc::new(Semaphore::new(0));
    let handler = Gated {
        running: running.clone(),
        most: most.clone(),
        gate: gate.clone(),
    };
    let options = ServerOptions::default().max_in_flight(BOUND);
    let server: Server<RequestLine, ResponseLine, _> =
        Server::new(Default::default(), options, handler);
    let server = start(server).await;
    let (r, mut w) = TcpStream::connect(server.local_addr)
        .await
        .unwrap()
        .into_split();
    let mut r = BufReader::new(r);
    let mut requests = String::new();
    for i in 1..=REQUESTS {
        requests.push_str(&format!("{i}:X:\n"));
    }
    // Every request is on the wire before any call may finish.
    w.write_all(requests.as_bytes()).await.unwrap();
    bounded("calls to start", async {
        while running.load(Ordering::SeqCst) < BOUND {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    // Time for a server without the bound to start the other 196.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(running.load(Ordering::SeqCst), BOUND);
    gate.add_permits(REQUESTS);
    let lines = read_lines(&mut r, REQUESTS).await;
    let mut ids: Vec<usize> = lines
        .iter()
        .map(|l| l.split(':').next().unwrap().parse().unwrap())
        .collect();
    ids.sort_unstable();
    assert_eq!(
        ids,
        (1..=REQUESTS).collect::<Vec<_>>(),
        "every request answered once"
    );
    assert_eq!(most.load(Ordering::SeqCst), BOUND);
    drop((r, w));
    let stats = bounded("shutdown", server.shutdown()).await.unwrap();
    assert_eq!(stats.messages, REQUESTS as u64);
}

#[tokio::test]
async fn a_stream_of_accepted_connections_is_served() {
    // In-memory connections, as a TLS acceptor would hand them over.
    let (client_end, server_end) = tokio::io::duplex(4096);
    let connections = futures::stream::iter([Ok::<_, std::io::Error>(server_end)]);
    let server: Server<RequestLine, ResponseLine, _> =
        Server::new(Default::default(), ServerOptions::default(), Counting);
    let token = CancellationToken::new();
    let serving = tokio::spawn(server.serve(Incoming::new(connections), token.clone()));
    let (r, mut w) = tokio::io::split(client_end);
    w.write_all(b"7:X:\n").await.unwrap();
    let mut line = String::new();
    bounded("reply", BufReader::new(r).read_line(&mut line))
        .await
        .unwrap();
    assert_eq!(line, format!("7:OK:1/1/{}\n", PeerAddr::Unknown));
    w.shutdown().await.unwrap();
    // The stream's end is the listener's end: the server shuts down by itself.
    let stats = bounded("server end", serving).await.unwrap().unwrap();
    assert_eq!((stats.connections, stats.messages), (1, 1));
}
