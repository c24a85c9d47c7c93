//! The request/response client behind tower layers.
//!
//! `reqres_client::Client` is a `tower::Service<RequestBuf>` (feature
//! `tower`), so the usual middleware wraps it instead of being rebuilt in
//! every client: here a timeout per call and a concurrency limit, stacked
//! with `ServiceBuilder`. The server is an async handler that takes a
//! while per request and never answers `SLOW` in time; it reports the most
//! calls it saw at once, which the concurrency limit bounds.
//!
//! The client's own `ClientConfig::call_timeout` and `max_pending` do the
//! same two jobs without tower; the layers are for applications that
//! already compose their clients that way (retry, load-shed and the others
//! stack the same way, with tower's features for them).
//!
//! Run: `cargo run --example tower_client [ADDR]` (default `127.0.0.1:0`).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower::{ServiceBuilder, ServiceExt};
use wireforms::reqres::{RequestBuf, RequestLine, ResponseBuf, ResponseLine};
use wireforms::transport::handler::{AsyncHandler, ConnectionInfo, Context};
use wireforms::transport::reqres_client::{Client, ClientConfig};
use wireforms::transport::server::{Server, ServerOptions};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Upper-cases after 100 ms (`SLOW`: after 5 s), counting calls at once.
#[derive(Default)]
struct Backend {
    running: AtomicUsize,
    most: Arc<AtomicUsize>,
}

impl AsyncHandler<RequestBuf, ResponseBuf> for Backend {
    type State = ();

    fn open(&self, _: &ConnectionInfo) {}

    async fn call(
        &self,
        request: RequestBuf,
        _: Context<()>,
    ) -> Result<Vec<ResponseBuf>, wireforms::Error> {
        let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.most.fetch_max(now, Ordering::SeqCst);
        let delay = if &*request.command == "SLOW" {
            5000
        } else {
            100
        };
        tokio::time::sleep(Duration::from_millis(delay)).await;
        self.running.fetch_sub(1, Ordering::SeqCst);
        Ok(vec![ResponseBuf::new(
            request.id,
            "OK",
            request.args.to_uppercase(),
        )])
    }
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".into());
    let listener = TcpListener::bind(&addr).await?;
    let addr = listener.local_addr()?;
    let backend = Backend::default();
    let most = backend.most.clone();
    // The SLOW call is still running at shutdown: give it little time.
    let options = ServerOptions::default().shutdown_timeout(Duration::from_millis(200));
    let server: Server<RequestLine, ResponseLine, _> =
        Server::new(Default::default(), options, backend);
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(server.serve(listener, shutdown.clone()));

    let client = Client::connect(addr, ClientConfig::default()).await?;
    let service = ServiceBuilder::new()
        .timeout(Duration::from_secs(1))
        .concurrency_limit(4)
        .service(client.clone());

    // Twenty calls at once; the layer lets four through at a time.
    let calls = (0..20).map(|i| {
        service
            .clone()
            .oneshot(RequestBuf::new("", "UPPER", format!("call {i}")))
    });
    let responses = futures::future::try_join_all(calls).await?;
    println!(
        "first: {}, last: {}",
        &*responses[0].data, &*responses[19].data
    );
    println!(
        "{} calls answered, at most {} at once at the server",
        responses.len(),
        most.load(Ordering::SeqCst)
    );

    match service
        .clone()
        .oneshot(RequestBuf::new("", "SLOW", "too slow"))
        .await
    {
        Ok(response) => println!("SLOW: answered {}", &*response.data),
        Err(e) => println!("SLOW: {e} (the layer gave up after 1s)"),
    }
    // The layer dropped the call: the client counts it as cancelled.
    println!("client: {:?}", client.stats());

    drop((service, client));
    shutdown.cancel();
    let stats = server.await??;
    println!(
        "Server stopped: {} requests, {} closed at the deadline",
        stats.messages, stats.aborted
    );
    Ok(())
}
