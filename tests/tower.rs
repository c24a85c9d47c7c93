//! The tower integration: the request/response client behind tower layers
//! (timeout, concurrency limit), and servers built from a `Service`.
mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_util::codec::Framed;
use tower::{Service, ServiceBuilder, ServiceExt};
use wireforms::reqres::{RequestBuf, RequestLine, ResponseBuf, ResponseLine};
use wireforms::transport::codec::TypedCodec;
use wireforms::transport::handler::{AsyncHandler, ConnectionInfo, Context};
use wireforms::transport::reqres_client::{Client, ClientConfig};
use wireforms::transport::server::{Server, ServerOptions};
use wireforms::transport::service::ServiceHandler;
use wireforms::typed::{MessageType, Typed, TypedMessageBuf};
use wireforms::{Error, ErrorKind};

use support::{bounded, start};

/// Echoes the args after a short wait, never answers `HANG`, and counts
/// the calls running at once.
#[derive(Default)]
struct Backend {
    running: Arc<AtomicUsize>,
    most: Arc<AtomicUsize>,
}

impl AsyncHandler<RequestBuf, ResponseBuf> for Backend {
    type State = ();
    fn open(&self, _: &ConnectionInfo) {}
    async fn call(&self, request: RequestBuf, _: Context<()>) -> Result<Vec<ResponseBuf>, Error> {
        if &*request.command == "HANG" {
            std::future::pending::<()>().await;
        }
        let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.most.fetch_max(now, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(20)).await;
        self.running.fetch_sub(1, Ordering::SeqCst);
        Ok(vec![ResponseBuf::new(request.id, "OK", request.args)])
    }
}

async fn backend() -> (
    wireforms::transport::server::RunningServer,
    Arc<AtomicUsize>,
) {
    let backend = Backend::default();
    let most = backend.most.clone();
    // A hung call holds its connection open until the shutdown deadline.
    let options = ServerOptions::default().shutdown_timeout(Duration::from_millis(200));
    let server: Server<RequestLine, ResponseLine, _> =
        Server::new(Default::default(), options, backend);
    (start(server).await, most)
}

#[tokio::test]
async fn the_client_behind_a_concurrency_limit_and_a_timeout() {
    let (server, most) = backend().await;
    let client = Client::connect(server.local_addr, ClientConfig::default())
        .await
        .unwrap();
    let service = ServiceBuilder::new()
        .timeout(Duration::from_secs(5))
        .concurrency_limit(3)
        .service(client);
    let calls = (0..12).map(|i| {
        let service = service.clone();
        async move {
            service
                .oneshot(RequestBuf::new("", "ECHO", format!("call {i}")))
                .await
        }
    });
    let responses = bounded("calls", futures::future::join_all(calls)).await;
    for (i, response) in responses.into_iter().enumerate() {
        assert_eq!(&*response.unwrap().data, format!("call {i}"));
    }
    // The layer, not the server, held the calls back.
    assert_eq!(most.load(Ordering::SeqCst), 3);
    drop(service);
    bounded("shutdown", server.shutdown()).await.unwrap();
}

#[tokio::test]
async fn the_timeout_layer_ends_a_call_that_gets_no_answer() {
    let (server, _) = backend().await;
    let client = Client::connect(server.local_addr, ClientConfig::default())
        .await
        .unwrap();
    let mut service = ServiceBuilder::new()
        .timeout(Duration::from_millis(100))
        .service(client.clone());
    let err = bounded(
        "call",
        service
            .ready()
            .await
            .unwrap()
            .call(RequestBuf::new("", "HANG", "")),
    )
    .await
    .unwrap_err();
    assert!(err.is::<tower::timeout::error::Elapsed>(), "{err}");
    // The layer dropped the call's future: the client counts it cancelled.
    assert_eq!(client.stats().cancelled, 1);
    assert_eq!(client.stats().pending, 0);
    drop((service, client));
    // The server's call never ends: the shutdown deadline closes it.
    let stats = bounded("shutdown", server.shutdown()).await.unwrap();
    assert_eq!(stats.aborted, 1);
}

#[tokio::test]
async fn the_client_service_is_not_ready_once_its_connection_closed() {
    let (server, _) = backend().await;
    let mut client = Client::connect(server.local_addr, ClientConfig::default())
        .await
        .unwrap();
    bounded("shutdown", server.shutdown()).await.unwrap();
    bounded("close seen", async {
        while !client.is_closed() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    let err = client.ready().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Closed);
}

#[tokio::test]
async fn a_server_from_a_tower_service_with_its_layers() {
    let running = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let (r, m) = (running.clone(), most.clone());
    let echo =
        ServiceBuilder::new()
            .concurrency_limit(2)
            .service_fn(move |message: TypedMessageBuf| {
                let (running, most) = (r.clone(), m.clone());
                async move {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    running.fetch_sub(1, Ordering::SeqCst);
                    if message.message_type == MessageType(0) {
                        return Err(Error::Misuse { reason: "type 0" });
                    }
                    Ok(vec![message])
                }
            });
    let options = ServerOptions::default().max_in_flight(8);
    let server: Server<Typed, Typed, _> =
        Server::new(Default::default(), options, ServiceHandler::new(echo));
    let server = start(server).await;
    let stream = TcpStream::connect(server.local_addr).await.unwrap();
    let mut framed = Framed::new(stream, TypedCodec::default());
    for i in 1..=8u8 {
        framed
            .feed(TypedMessageBuf::new(MessageType(i), vec![i]))
            .await
            .unwrap();
    }
    framed.flush().await.unwrap();
    for i in 1..=8u8 {
        let reply = bounded("reply", framed.next()).await.unwrap().unwrap();
        assert_eq!(reply.message_type, MessageType(i));
    }
    // Eight calls in flight, two at a time in the service.
    assert_eq!(most.load(Ordering::SeqCst), 2);
    // The service's error makes the request unanswerable: the server closes.
    framed
        .send(TypedMessageBuf::new(MessageType(0), "refused"))
        .await
        .unwrap();
    assert!(bounded("close", framed.next()).await.is_none());
    let stats = bounded("shutdown", server.shutdown()).await.unwrap();
    assert_eq!((stats.messages, stats.unanswerable), (9, 1));
}
