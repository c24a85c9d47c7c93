//! Server handlers: what a [`Server`](crate::transport::server::Server)
//! calls for every message it reads.
//!
//! [`AsyncHandler`] is the general form: an async call per message, given
//! the message and the connection's [`Context`] (its id, its peer, and the
//! state the handler keeps for that connection), answering zero or more
//! messages. The server runs up to
//! [`ServerOptions::max_in_flight`](crate::transport::server::ServerOptions::max_in_flight)
//! calls of one connection at once and stops reading that connection while
//! they are all busy, so a peer that pipelines without end makes the server
//! wait, not queue. Replies go out in the order of the requests, except for
//! request lines (spec reqres §10: responses are matched by ID), whose
//! replies go out as their calls finish.
//!
//! [`Handler`] (a plain
//! `Fn(In) -> Vec<Out>` among others) is the synchronous convenience: a
//! server runs it as an async handler with no state ([`ServeHandler`]),
//! and the reference servers take that same path.
//!
//! ```no_run
//! use std::sync::atomic::{AtomicU64, Ordering};
//! use tokio::net::TcpListener;
//! use tokio_util::sync::CancellationToken;
//! use wireforms::reqres::{RequestBuf, RequestLine, ResponseBuf, ResponseLine};
//! use wireforms::transport::handler::{AsyncHandler, ConnectionInfo, Context};
//! use wireforms::transport::server::{Server, ServerOptions};
//!
//! /// Answers each request with how many this connection has made.
//! struct Counting;
//!
//! impl AsyncHandler<RequestBuf, ResponseBuf> for Counting {
//!     type State = AtomicU64;
//!
//!     fn open(&self, _: &ConnectionInfo) -> AtomicU64 {
//!         AtomicU64::new(0)
//!     }
//!
//!     async fn call(
//!         &self,
//!         request: RequestBuf,
//!         cx: Context<AtomicU64>,
//!     ) -> Result<Vec<ResponseBuf>, wireforms::Error> {
//!         let n = cx.state().fetch_add(1, Ordering::Relaxed) + 1;
//!         let data = format!("request {n} from {}", cx.peer());
//!         Ok(vec![ResponseBuf::new(request.id, "OK", data)])
//!     }
//! }
//!
//! # async fn run() -> Result<(), wireforms::Error> {
//! let server: Server<RequestLine, ResponseLine, _> =
//!     Server::new(Default::default(), ServerOptions::default(), Counting);
//! let listener = TcpListener::bind("127.0.0.1:0").await?;
//! server.serve(listener, CancellationToken::new()).await?;
//! # Ok(()) }
//! ```

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use crate::transport::server::Handler;
use crate::Error;

/// Who is at the other end of a connection.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PeerAddr {
    /// A TCP peer.
    Tcp(SocketAddr),
    /// A Unix-socket peer, with its path when it bound one (most clients
    /// do not).
    Unix(Option<PathBuf>),
    /// A connection from a user's stream of accepted connections (after
    /// TLS, say), whose peer the server is not told.
    Unknown,
}

impl std::fmt::Display for PeerAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PeerAddr::Tcp(addr) => write!(f, "{addr}"),
            PeerAddr::Unix(Some(path)) => write!(f, "unix:{}", path.display()),
            PeerAddr::Unix(None) => f.write_str("unix:(unnamed)"),
            PeerAddr::Unknown => f.write_str("unknown"),
        }
    }
}

/// What a server knows about one of its connections.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectionInfo {
    id: u64,
    peer: PeerAddr,
    format: &'static str,
}

impl ConnectionInfo {
    /// Describes connection `id` (unique within one server, counted from 1)
    /// from `peer`, reading messages of `format`.
    pub fn new(id: u64, peer: PeerAddr, format: &'static str) -> Self {
        ConnectionInfo { id, peer, format }
    }

    /// The connection's id: unique within one server, counted from 1 in
    /// the order connections were accepted. The `connection` tracing span
    /// carries it as `id`.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The peer.
    pub fn peer(&self) -> &PeerAddr {
        &self.peer
    }

    /// The name of the format the server reads (`WireFormat::NAME`).
    pub fn format(&self) -> &'static str {
        self.format
    }
}

/// A handler call's view of its connection: what the server knows of it,
/// and the state the handler keeps for it. Cheap to clone; every call on
/// one connection shares the same state (calls can run at once, so state
/// that changes needs interior mutability: an atomic, a mutex).
pub struct Context<S> {
    info: Arc<ConnectionInfo>,
    state: Arc<S>,
}

impl<S> Clone for Context<S> {
    fn clone(&self) -> Self {
        Context {
            info: self.info.clone(),
            state: self.state.clone(),
        }
    }
}

impl<S: std::fmt::Debug> std::fmt::Debug for Context<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("info", &self.info)
            .field("state", &self.state)
            .finish()
    }
}

impl<S> Context<S> {
    /// A context for the connection `info`, with `state`.
    pub fn new(info: ConnectionInfo, state: S) -> Self {
        Context {
            info: Arc::new(info),
            state: Arc::new(state),
        }
    }

    /// The connection.
    pub fn info(&self) -> &ConnectionInfo {
        &self.info
    }

    /// The connection's id (see [`ConnectionInfo::id`]).
    pub fn id(&self) -> u64 {
        self.info.id
    }

    /// The peer.
    pub fn peer(&self) -> &PeerAddr {
        &self.info.peer
    }

    /// The state the handler keeps for this connection.
    pub fn state(&self) -> &S {
        &self.state
    }
}

/// An async handler from one request message to its replies, with
/// per-connection state. See the [module docs](self).
pub trait AsyncHandler<In, Out>: Send + Sync + 'static {
    /// What the handler keeps per connection (`()` for nothing).
    type State: Send + Sync + 'static;

    /// The state of a new connection, made before its first message is read.
    fn open(&self, connection: &ConnectionInfo) -> Self::State;

    /// The replies to `request`, in order (possibly none). Dropped
    /// unfinished when the connection ends first.
    ///
    /// # Errors
    /// When `request` cannot be answered at all: the server then writes
    /// the replies it has, closes the connection and counts it in
    /// [`ServerStats::unanswerable`](crate::transport::server::ServerStats::unanswerable).
    fn call(
        &self,
        request: In,
        cx: Context<Self::State>,
    ) -> impl Future<Output = Result<Vec<Out>, Error>> + Send;
}

/// Marks [`ServeHandler`] for a synchronous [`Handler`].
#[derive(Debug)]
pub enum SyncKind {}

/// Marks [`ServeHandler`] for an [`AsyncHandler`].
#[derive(Debug)]
pub enum AsyncKind {}

/// What a [`Server`](crate::transport::server::Server) calls: implemented
/// for every [`Handler`] (`Kind` = [`SyncKind`]) and every [`AsyncHandler`]
/// (`Kind` = [`AsyncKind`]), so a server takes either. There is no need to
/// implement or name it; the compiler infers `Kind`. (One blanket
/// `AsyncHandler` impl over every `Handler` would forbid generic
/// `AsyncHandler` types such as the `tower` feature's `ServiceHandler`,
/// hence the marker.)
pub trait ServeHandler<In, Out, Kind>: Send + Sync + 'static {
    /// The handler's per-connection state.
    type State: Send + Sync + 'static;

    /// See [`AsyncHandler::open`].
    fn open(&self, connection: &ConnectionInfo) -> Self::State;

    /// The replies at once, without a future, when the handler is
    /// synchronous; else `Err(request)`, to be given to
    /// [`serve`](ServeHandler::serve). (Spares a synchronous handler the
    /// cost of a future per message.)
    fn replies_now(&self, request: In) -> Result<Result<Vec<Out>, Error>, In> {
        Err(request)
    }

    /// See [`AsyncHandler::call`].
    fn serve(
        &self,
        request: In,
        cx: Context<Self::State>,
    ) -> impl Future<Output = Result<Vec<Out>, Error>> + Send;
}

impl<In, Out, H> ServeHandler<In, Out, SyncKind> for H
where
    H: Handler<In, Out>,
    In: Send + 'static,
    Out: Send + 'static,
{
    type State = ();

    fn open(&self, _: &ConnectionInfo) {}

    fn replies_now(&self, request: In) -> Result<Result<Vec<Out>, Error>, In> {
        Ok(self.replies(request))
    }

    fn serve(
        &self,
        request: In,
        _: Context<()>,
    ) -> impl Future<Output = Result<Vec<Out>, Error>> + Send {
        std::future::ready(self.replies(request))
    }
}

impl<In, Out, H> ServeHandler<In, Out, AsyncKind> for H
where
    H: AsyncHandler<In, Out>,
{
    type State = H::State;

    fn open(&self, connection: &ConnectionInfo) -> H::State {
        AsyncHandler::open(self, connection)
    }

    fn serve(
        &self,
        request: In,
        cx: Context<H::State>,
    ) -> impl Future<Output = Result<Vec<Out>, Error>> + Send {
        self.call(request, cx)
    }
}
