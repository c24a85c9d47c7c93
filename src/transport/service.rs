//! tower integration (feature `tower`): the request/response [`Client`] is
//! a [`tower_service::Service`], so tower's layers (timeout, concurrency
//! limit, retry, load-shed...) wrap it; and [`ServiceHandler`] makes a
//! server handler of any `Service`.
//!
//! The client as a service takes a [`RequestBuf`] (its `id` is ignored:
//! the client gives every call a fresh ID) and answers its [`ResponseBuf`];
//! it is ready as long as its connection is open. Each clone of the client
//! is a service on the same connection.
//!
//! ```
//! use std::time::Duration;
//! use tower::{Service, ServiceBuilder, ServiceExt};
//! use wireforms::reqres::RequestBuf;
//! use wireforms::transport::reference;
//! use wireforms::transport::reqres_client::{Client, ClientConfig};
//! use wireforms::transport::server::ServerOptions;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), tower::BoxError> {
//! # let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! # let server = reference::request(Default::default(), ServerOptions::default()).spawn(listener)?;
//! # let addr = server.local_addr;
//! let client = Client::connect(addr, ClientConfig::default()).await?;
//! let mut service = ServiceBuilder::new()
//!     .timeout(Duration::from_secs(2))
//!     .concurrency_limit(8)
//!     .service(client);
//! let response = service
//!     .ready()
//!     .await?
//!     .call(RequestBuf::new("", "UPPER", "hello"))
//!     .await?;
//! assert_eq!(&*response.data, "HELLO");
//! # drop(service);
//! # server.shutdown().await?;
//! # Ok(()) }
//! ```

use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context as TaskContext, Poll};

use tower_service::Service;

use crate::reqres::{RequestBuf, ResponseBuf};
use crate::transport::handler::{AsyncHandler, ConnectionInfo, Context};
use crate::transport::reqres_client::Client;
use crate::Error;

/// The error type of tower's layers (`tower::BoxError`).
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The future of a [`Client`] call made through [`Service::call`].
pub type CallFuture = Pin<Box<dyn Future<Output = Result<ResponseBuf, Error>> + Send>>;

impl Service<RequestBuf> for Client {
    type Response = ResponseBuf;
    type Error = Error;
    type Future = CallFuture;

    /// Ready while the connection is open. The client refuses calls beyond
    /// [`ClientConfig::max_pending`](crate::transport::reqres_client::ClientConfig::max_pending)
    /// with [`Error::LimitReached`] instead of waiting: put a concurrency
    /// limit layer at or below it to wait instead.
    ///
    /// # Errors
    /// [`Error::Closed`] once the connection has ended.
    fn poll_ready(&mut self, _: &mut TaskContext<'_>) -> Poll<Result<(), Error>> {
        if self.is_closed() {
            Poll::Ready(Err(Error::Closed {
                reason: "request/response connection closed",
            }))
        } else {
            Poll::Ready(Ok(()))
        }
    }

    /// [`Client::call`] with the request's command and args.
    fn call(&mut self, request: RequestBuf) -> CallFuture {
        let client = self.clone();
        Box::pin(async move { client.call(&request.command, &request.args).await })
    }
}

/// A server handler made of a [`Service`] from one request message to its
/// replies. Each call runs on a clone of the service, made ready first, so
/// the service's own backpressure (a concurrency limit, a rate limit)
/// holds the connection's calls. The service's errors make the request
/// unanswerable (the connection is closed); a [`wireforms::Error`](Error)
/// is kept as it is, any other becomes [`Error::Io`] of kind `Other`.
///
/// ```
/// use wireforms::transport::service::ServiceHandler;
/// use wireforms::transport::server::{Server, ServerOptions};
/// use wireforms::typed::{Typed, TypedMessageBuf};
///
/// let echo = tower::service_fn(|m: TypedMessageBuf| async move {
///     Ok::<_, wireforms::Error>(vec![m])
/// });
/// let server: Server<Typed, Typed, _> =
///     Server::new(Default::default(), ServerOptions::default(), ServiceHandler::new(echo));
/// ```
pub struct ServiceHandler<S> {
    // Behind a lock so that the service need not be `Sync` (tower's layers
    // often are not); it is held only to clone the service.
    service: Mutex<S>,
}

impl<S> ServiceHandler<S> {
    /// Answers with `service`.
    pub fn new(service: S) -> Self {
        ServiceHandler {
            service: Mutex::new(service),
        }
    }
}

impl<S> std::fmt::Debug for ServiceHandler<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceHandler").finish_non_exhaustive()
    }
}

impl<In, Out, S> AsyncHandler<In, Out> for ServiceHandler<S>
where
    S: Service<In, Response = Vec<Out>> + Clone + Send + 'static,
    S::Future: Send,
    S::Error: Into<BoxError>,
    In: Send + 'static,
    Out: Send + 'static,
{
    type State = ();

    fn open(&self, _: &ConnectionInfo) {}

    async fn call(&self, request: In, _: Context<()>) -> Result<Vec<Out>, Error> {
        let mut service = self
            .service
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        std::future::poll_fn(|cx| service.poll_ready(cx))
            .await
            .map_err(into_error)?;
        service.call(request).await.map_err(into_error)
    }
}

fn into_error(e: impl Into<BoxError>) -> Error {
    match e.into().downcast::<Error>() {
        Ok(e) => *e,
        Err(other) => Error::Io(std::io::Error::other(other)),
    }
}
