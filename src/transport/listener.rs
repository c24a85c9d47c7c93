//! What a server accepts connections from: a [`Listener`].
//!
//! Implemented for tokio's [`TcpListener`] and, on Unix,
//! [`UnixListener`](tokio::net::UnixListener), and by [`Incoming`] for any
//! stream of accepted connections (after a TLS handshake, say). Options
//! that only TCP has (`TCP_NODELAY`, keep-alive) are applied by the TCP
//! listener only. [`bind`] and [`connect`] take an address text, `unix:/path`
//! or a TCP address, as the command-line tool's `--listen` and `--target` do.
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
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use futures::{Stream, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
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

/// The prefix of a Unix-socket address in [`bind`] and [`connect`].
pub const UNIX_PREFIX: &str = "unix:";

/// A TCP or Unix-socket listener, as [`bind`] makes from an address text.
#[derive(Debug)]
#[non_exhaustive]
pub enum TcpOrUnixListener {
    /// `host:port`.
    Tcp(TcpListener),
    /// `unix:/path`.
    #[cfg(unix)]
    Unix(tokio::net::UnixListener),
}

/// A TCP or Unix-socket connection, accepted by a [`TcpOrUnixListener`] or
/// made by [`connect`].
#[derive(Debug)]
#[non_exhaustive]
pub enum TcpOrUnixStream {
    /// A TCP connection.
    Tcp(TcpStream),
    /// A Unix-socket connection.
    #[cfg(unix)]
    Unix(tokio::net::UnixStream),
}

/// Listens on `addr`: `unix:/path` for a Unix socket (the path must not
/// exist yet), anything else for TCP (`127.0.0.1:9000`, `[::1]:0`).
///
/// # Errors
/// The bind error; `Unsupported` for `unix:` where there are no Unix sockets.
pub async fn bind(addr: &str) -> io::Result<TcpOrUnixListener> {
    match addr.strip_prefix(UNIX_PREFIX) {
        #[cfg(unix)]
        Some(path) => Ok(TcpOrUnixListener::Unix(tokio::net::UnixListener::bind(
            path,
        )?)),
        #[cfg(not(unix))]
        Some(_) => Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "no Unix sockets on this system",
        )),
        None => Ok(TcpOrUnixListener::Tcp(TcpListener::bind(addr).await?)),
    }
}

/// Connects to `addr`: `unix:/path` for a Unix socket, anything else for
/// TCP (with `TCP_NODELAY`: requests are written whole already).
///
/// # Errors
/// The connect error; `Unsupported` for `unix:` where there are no Unix sockets.
pub async fn connect(addr: &str) -> io::Result<TcpOrUnixStream> {
    match addr.strip_prefix(UNIX_PREFIX) {
        #[cfg(unix)]
        Some(path) => Ok(TcpOrUnixStream::Unix(
            tokio::net::UnixStream::connect(path).await?,
        )),
        #[cfg(not(unix))]
        Some(_) => Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "no Unix sockets on this system",
        )),
        None => {
            let stream = TcpStream::connect(addr).await?;
            stream.set_nodelay(true)?;
            Ok(TcpOrUnixStream::Tcp(stream))
        }
    }
}

impl Listener for TcpOrUnixListener {
    type Io = TcpOrUnixStream;

    async fn accept(&mut self) -> io::Result<Option<(TcpOrUnixStream, PeerAddr)>> {
        Ok(match self {
            TcpOrUnixListener::Tcp(l) => Listener::accept(l)
                .await?
                .map(|(s, peer)| (TcpOrUnixStream::Tcp(s), peer)),
            #[cfg(unix)]
            TcpOrUnixListener::Unix(l) => Listener::accept(l)
                .await?
                .map(|(s, peer)| (TcpOrUnixStream::Unix(s), peer)),
        })
    }

    fn local_addr_string(&self) -> Option<String> {
        match self {
            TcpOrUnixListener::Tcp(l) => Listener::local_addr_string(l),
            #[cfg(unix)]
            TcpOrUnixListener::Unix(l) => Listener::local_addr_string(l),
        }
    }

    fn configure(&self, io: &TcpOrUnixStream, options: &ServerOptions) {
        if let (TcpOrUnixListener::Tcp(l), TcpOrUnixStream::Tcp(s)) = (self, io) {
            l.configure(s, options);
        }
    }
}

macro_rules! each_stream {
    ($self:ident, $s:ident => $e:expr) => {
        match $self.get_mut() {
            TcpOrUnixStream::Tcp($s) => $e,
            #[cfg(unix)]
            TcpOrUnixStream::Unix($s) => $e,
        }
    };
}

impl AsyncRead for TcpOrUnixStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        each_stream!(self, s => Pin::new(s).poll_read(cx, buf))
    }
}

impl AsyncWrite for TcpOrUnixStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        each_stream!(self, s => Pin::new(s).poll_write(cx, buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        each_stream!(self, s => Pin::new(s).poll_write_vectored(cx, bufs))
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            TcpOrUnixStream::Tcp(s) => s.is_write_vectored(),
            #[cfg(unix)]
            TcpOrUnixStream::Unix(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<io::Result<()>> {
        each_stream!(self, s => Pin::new(s).poll_flush(cx))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<io::Result<()>> {
        each_stream!(self, s => Pin::new(s).poll_shutdown(cx))
    }
}
