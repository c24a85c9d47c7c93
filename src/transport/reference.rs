//! The reference servers: each format's reference behaviour (spec §6 of its
//! document) served with the shared [`Server`] machinery.
//!
//! Unlike the guide's servers, these answer many messages per connection and
//! many connections at once, enforce the format's limits, time out silent
//! peers and shut down gracefully.
//!
//! Their handlers are synchronous [`Handler`]s over the sans-IO
//! [`reference`](crate::reference) module's replies; the server runs them through the same async path as
//! an application's [`AsyncHandler`](crate::transport::handler::AsyncHandler).
//!
//! ```no_run
//! use tokio::net::TcpListener;
//! use tokio_util::sync::CancellationToken;
//! use wireforms::transport::reference;
//! use wireforms::transport::server::ServerOptions;
//!
//! # async fn run() -> Result<(), wireforms::Error> {
//! let listener = TcpListener::bind("127.0.0.1:0").await?;
//! let shutdown = CancellationToken::new();
//! let stats = reference::typed(Default::default(), ServerOptions::default())
//!     .serve(listener, shutdown)
//!     .await?;
//! # Ok(()) }
//! ```

use core::fmt;

use crate::frame::{self, Frame};
use crate::magic::{self, Magic};
use crate::mux::{self, Mux};
use crate::reference::ReferenceServer;
use crate::reqres::{self, RequestLine, ResponseLine};
use crate::transport::server::{Handler, Server, ServerOptions};
use crate::typed::{self, Typed};
use crate::wire::WireFormat;
use crate::Error;

/// The reference server of format `F`: its requests answered by
/// [`ReferenceServer::replies`] within `limits`, which the server enforces
/// and takes to be its peer's as well. A line server also answers a last
/// line without `\n` before the peer half-closes.
pub fn server<F: ReferenceServer>(
    limits: F::Limits,
    options: ServerOptions,
) -> Server<F, F::Reply, ReferenceHandler<F>> {
    let handler = ReferenceHandler::new(limits.clone());
    Server::new(limits, options, handler).answer_unterminated_last_line(F::IS_LINE)
}

/// The handler of a reference server: [`ReferenceServer::replies`] within
/// the limits of the peer, for a [`Server`] or
/// [`serve_udp`](crate::transport::udp::serve_udp).
pub struct ReferenceHandler<F: ReferenceServer> {
    limits: F::Limits,
}

impl<F: ReferenceServer> ReferenceHandler<F> {
    /// Replies within `limits`.
    pub fn new(limits: F::Limits) -> Self {
        ReferenceHandler { limits }
    }
}

impl<F: ReferenceServer> Clone for ReferenceHandler<F> {
    fn clone(&self) -> Self {
        ReferenceHandler::new(self.limits.clone())
    }
}

impl<F: ReferenceServer> Default for ReferenceHandler<F> {
    fn default() -> Self {
        ReferenceHandler::new(F::Limits::default())
    }
}

impl<F: ReferenceServer> fmt::Debug for ReferenceHandler<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReferenceHandler")
            .field("format", &F::NAME)
            .field("limits", &self.limits)
            .finish()
    }
}

impl<F: ReferenceServer> Handler<F::Owned, <F::Reply as WireFormat>::Owned>
    for ReferenceHandler<F>
{
    fn replies(&self, request: F::Owned) -> Result<Vec<<F::Reply as WireFormat>::Owned>, Error> {
        F::replies(request, &self.limits)
    }
}

/// The typed-message reference server: each message answered with the same
/// payload and type + 1 (spec typed §6).
pub fn typed(
    limits: typed::Limits,
    options: ServerOptions,
) -> Server<Typed, Typed, ReferenceHandler<Typed>> {
    server(limits, options)
}

/// The magic-packet reference server: each packet answered with the same
/// payload and type + 1 (spec magic §6).
pub fn magic(
    limits: magic::Limits,
    options: ServerOptions,
) -> Server<Magic, Magic, ReferenceHandler<Magic>> {
    server(limits, options)
}

/// The length-frame reference server: each frame answered with its ASCII
/// letters upper-cased (spec frame §6).
pub fn frame(
    limits: frame::Limits,
    options: ServerOptions,
) -> Server<Frame, Frame, ReferenceHandler<Frame>> {
    server(limits, options)
}

/// The mux reference server: channel N's payload echoed on channel N after
/// `Echo N: ` (spec mux §6), in frames no longer than `limits` allows.
pub fn mux(limits: mux::Limits, options: ServerOptions) -> Server<Mux, Mux, ReferenceHandler<Mux>> {
    server(limits, options)
}

/// The request/response reference server: `ECHO`, `UPPER`, `REVERSE`, and
/// `OK:Unknown command` for anything else (spec reqres §6), each reply kept
/// within `limits`: a reply that would be longer is `ERR:reply too long`,
/// and a request whose ID leaves no room even for that closes the connection
/// ([`ServerStats::unanswerable`](crate::transport::server::ServerStats::unanswerable)).
/// A malformed line closes the connection (the guide's server ignores it
/// and its client waits forever); a last line without `\n` before the peer
/// half-closes is answered.
pub fn request(
    limits: reqres::Limits,
    options: ServerOptions,
) -> Server<RequestLine, ResponseLine, ReferenceHandler<RequestLine>> {
    server(limits, options)
}
