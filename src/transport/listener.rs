//! What a server accepts connections from: a [`Listener`].
//!
//! Implemented for tokio's [`TcpListener`] and, on Unix,
//! [`UnixListener`](tokio::net::UnixListener), and by [`Incoming`] for any
//! stream of accepted connections (after a TLS handshake, say). Options
//! that only TCP has (`TCP_NODELAY`, keep-alive) are applied by the TCP
//! listener only.
//!
//! ```no_run
//! # #[cfg(unix)]
//! # async fn run() -> Result<(), wireforms::Error> {
//! use tokio::net::UnixListener;
//! use tokio_util::sync::CancellationToken;
//! use wireforms::transport::{reference, server::ServerOptions};
//!
//! let listener = UnixListener::bind("/tmp/wireforms.sock")?;
//! reference::request(Default::default(), ServerOptions::default())
//!     .serve(listener, CancellationToken::new())
//!     .await?;
//! # Ok(()) }
//! ```

use std::future::Future;
use std::io;

use futures::{Stream, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tracing::debug;

use crate::transport::handler::PeerAddr;
use crate::transport::server::ServerOptions;

/// A source of accepted connections for
/// [`Server::serve`](crate::transport::server::Server::serve).
pub trait Listener: Send + 'static {
    /// An accepted connection.
    type Io: AsyncRead + AsyncWrite + Send + Unpin + 'static;

    /// The next connection and its peer; `Ok(None)` when no more will come
    /// (the server then serves its open connections until they end, or
    /// until it is told to shut down, and returns). Must be cancel-safe:
    /// the server drops this future when it shuts down.
    ///
    /// # Errors
    /// An accept error. The server skips errors that concern one connection
    /// (reset, aborted, interrupted) and backs off briefly on the others
    /// (out of file descriptors, say).
    fn accept(&mut self) -> impl Future<Output = io::Result<Option<(Self::Io, PeerAddr)>>> + Send;

    /// Where it listens, for the server's log and span (`None` if unknown).
    fn local_addr_string(&self) -> Option<String> {
        None
    }

    /// Applies the socket options of `options` that this kind of
    /// connection has. Nothing by default.
    fn configure(&self, io: &Self::Io, options: &ServerOptions) {
        let _ = (io, options);
    }
}

impl Listener for TcpListener {
    type Io = TcpStream;

    async fn accept(&mut self) -> io::Result<Option<(TcpStream, PeerAddr)>> {
        let (stream, peer) = TcpListener::accept(self).await?;
        Ok(Some((stream, PeerAddr::Tcp(peer))))
    }

    fn local_addr_string(&self) -> Option<String> {
        self.local_addr().ok().map(|a| a.to_string())
    }

    fn configure(&self, stream: &TcpStream, options: &ServerOptions) {
        if options.nodelay {
            if let Err(e) = stream.set_nodelay(true) {
                debug!(error = %e, "TCP_NODELAY not set");
            }
        }
        if let Some(period) = options.keepalive {
            let keepalive = socket2::TcpKeepalive::new()
                .with_time(period)
                .with_interval(period);
            if let Err(e) = socket2::SockRef::from(stream).set_tcp_keepalive(&keepalive) {
                debug!(error = %e, "TCP keep-alive not set");
            }
        }
    }
}

#[cfg(unix)]
impl Listener for tokio::net::UnixListener {
    type Io = tokio::net::UnixStream;

    async fn accept(&mut self) -> io::Result<Option<(tokio::net::UnixStream, PeerAddr)>> {
        let (stream, peer) = tokio::net::UnixListener::accept(self).await?;
        let path = peer.as_pathname().map(std::path::Path::to_path_buf);
        Ok(Some((stream, PeerAddr::Unix(path))))
    }

    fn local_addr_string(&self) -> Option<String> {
        let addr = self.local_addr().ok()?;
        Some(PeerAddr::Unix(addr.as_pathname().map(std::path::Path::to_path_buf)).to_string())
    }
}

/// A [`Listener`] over a stream of accepted connections, such as a TLS
/// acceptor's output; its peers are [`PeerAddr::Unknown`]. The stream's
/// end is the listener's end.
#[derive(Debug)]
pub struct Incoming<S> {
    connections: S,
}

impl<S> Incoming<S> {
    /// Serves the connections `connections` yields.
    pub fn new(connections: S) -> Self {
        Incoming { connections }
    }
}

impl<S, T> Listener for Incoming<S>
where
    S: Stream<Item = io::Result<T>> + Send + Unpin + 'static,
    T: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    type Io = T;

    async fn accept(&mut self) -> io::Result<Option<(T, PeerAddr)>> {
        match self.connections.next().await {
            Some(Ok(io)) => Ok(Some((io, PeerAddr::Unknown))),
            Some(Err(e)) => Err(e),
            None => Ok(None),
        }
    }
}
