//! The reference servers: each format's reference behaviour (spec §6 of its
//! document) served with the shared [`Server`] machinery.
//!
//! Unlike the guide's servers, these answer many messages per connection and
//! many connections at once, enforce the format's limits, time out silent
//! peers and shut down gracefully.
//!
//! Their handlers are synchronous [`Handler`]s (the format modules' pure
//! reference replies); the server runs them through the same async path as
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

use crate::frame::{self, Frame, LengthFrameBuf};
use crate::magic::{self, Magic, PacketBuf};
use crate::mux::{self, Mux, MuxFrameBuf};
use crate::reqres::{self, RequestBuf, RequestLine, ResponseBuf, ResponseLine};
use crate::transport::server::{Handler, Server, ServerOptions};
use crate::typed::{self, Typed, TypedMessageBuf};
use crate::wire::WireFormat;
use crate::Error;

/// A server handler given as a plain function pointer.
pub type ReplyFn<In, Out> = fn(<In as WireFormat>::Owned) -> Vec<<Out as WireFormat>::Owned>;

/// The typed-message reference server: each message answered with the same
/// payload and type + 1 (spec typed §6).
pub fn typed(
    limits: typed::Limits,
    options: ServerOptions,
) -> Server<Typed, Typed, ReplyFn<Typed, Typed>> {
    Server::new(limits, options, typed_reply)
}

/// The typed reference reply over owned messages, sharing the payload (spec typed §6).
pub fn typed_reply(request: TypedMessageBuf) -> Vec<TypedMessageBuf> {
    let reply = typed::reference_reply(&request.as_message());
    vec![TypedMessageBuf::new(reply.message_type, request.payload)]
}

/// The magic-packet reference server: each packet answered with the same
/// payload and type + 1 (spec magic §6).
pub fn magic(
    limits: magic::Limits,
    options: ServerOptions,
) -> Server<Magic, Magic, ReplyFn<Magic, Magic>> {
    Server::new(limits, options, magic_reply)
}

/// The magic reference reply over owned packets, sharing the payload (spec magic §6).
pub fn magic_reply(request: PacketBuf) -> Vec<PacketBuf> {
    let reply = magic::reference_reply(&request.as_message());
    vec![PacketBuf {
        version: reply.version,
        packet_type: reply.packet_type,
        payload: request.payload,
    }]
}

/// The length-frame reference server: each frame answered with its ASCII
/// letters upper-cased (spec frame §6).
pub fn frame(
    limits: frame::Limits,
    options: ServerOptions,
) -> Server<Frame, Frame, ReplyFn<Frame, Frame>> {
    Server::new(limits, options, frame_reply)
}

/// The length-frame reference reply over owned frames (spec frame §6).
pub fn frame_reply(request: LengthFrameBuf) -> Vec<LengthFrameBuf> {
    vec![frame::reference_reply(&request.as_message())]
}

/// The mux reference server: channel N's payload echoed on channel N after
/// `Echo N: ` (spec mux §6), in frames no longer than `limits` allows (the
/// server assumes its peer accepts what it accepts itself).
pub fn mux(limits: mux::Limits, options: ServerOptions) -> Server<Mux, Mux, MuxReplies> {
    Server::new(limits, options, MuxReplies::new(limits))
}

/// The mux reference reply over owned frames, split at the format's 65,535
/// bytes (spec mux §6); servers use [`MuxReplies`].
pub fn mux_reply(request: MuxFrameBuf) -> Vec<MuxFrameBuf> {
    mux::reference_reply(&request.as_message())
}

/// The mux reference handler: [`mux::reference_reply_within`] the payload
/// limit of the peer, taken to be the server's own.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MuxReplies {
    limits: mux::Limits,
}

impl MuxReplies {
    /// Replies in frames of at most `limits.max_payload_len` bytes.
    pub fn new(limits: mux::Limits) -> Self {
        MuxReplies { limits }
    }
}

impl Handler<MuxFrameBuf, MuxFrameBuf> for MuxReplies {
    fn replies(&self, request: MuxFrameBuf) -> Result<Vec<MuxFrameBuf>, Error> {
        mux::reference_reply_within(&request.as_message(), &self.limits)
    }
}

/// The request/response reference server: `ECHO`, `UPPER`, `REVERSE`, and
/// `OK:Unknown command` for anything else (spec reqres §6), each reply kept
/// within `limits` (the server assumes its peer accepts what it accepts
/// itself): a reply that would be longer is `ERR:reply too long`, and a
/// request whose ID leaves no room even for that closes the connection
/// ([`ServerStats::unanswerable`](crate::transport::server::ServerStats::unanswerable)).
/// A malformed line closes the connection (the guide's server ignores it
/// and its client waits forever); a last line without `\n` before the peer
/// half-closes is answered.
pub fn request(
    limits: reqres::Limits,
    options: ServerOptions,
) -> Server<RequestLine, ResponseLine, RequestReplies> {
    Server::new(limits, options, RequestReplies::new(limits)).answer_unterminated_last_line(true)
}

/// The request/response reference reply over owned lines, with no line
/// limit (spec reqres §6); servers use [`RequestReplies`].
pub fn request_reply(request: RequestBuf) -> Vec<ResponseBuf> {
    vec![reqres::reference_reply(&request.as_message())]
}

/// The request/response reference handler: [`reqres::reference_reply_within`]
/// the line limit of the peer, taken to be the server's own.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RequestReplies {
    limits: reqres::Limits,
}

impl RequestReplies {
    /// Replies no longer than `limits.max_line_len`.
    pub fn new(limits: reqres::Limits) -> Self {
        RequestReplies { limits }
    }
}

impl Handler<RequestBuf, ResponseBuf> for RequestReplies {
    fn replies(&self, request: RequestBuf) -> Result<Vec<ResponseBuf>, Error> {
        reqres::reference_reply_within(&request.as_message(), &self.limits).map(|r| vec![r])
    }
}
