//! The tokio transport layer: a thin shell over the sans-IO format modules.
//!
//! Framing, validation and reference behaviour stay in the format modules;
//! this layer moves bytes and manages connections.
//!
//! - [`codec`]: `tokio_util` codecs for every format.
//! - [`batch`]: every whole message of one read at once, borrowed (zero-copy).
//! - [`server`]: accept loop, connection limit, timeouts, socket options and
//!   graceful shutdown, shared by the reference servers.
//! - [`handler`]: async handlers with per-connection state, and the
//!   in-flight bound.
//! - [`listener`]: what a server accepts from (TCP, Unix, any stream of
//!   connections).
//! - [`reference`](mod@reference): the reference server of every format.
//! - [`mux_session`]: many logical channels over one connection.
//! - [`reqres_client`]: a pipelining request/response client.
//! - [`write_batch`]: coalesced small frames, uncopied large payloads.
//! - [`udp`]: one message per datagram, and a UDP reference server.
//! - `service` (feature `tower`): the request/response client as a
//!   `tower::Service`, and servers built from a `tower::Service`.

pub mod batch;
pub mod codec;
pub mod handler;
pub mod listener;
pub mod mux_session;
pub mod reference;
pub mod reqres_client;
pub mod server;
#[cfg(feature = "tower")]
pub mod service;
pub mod udp;
pub mod write_batch;
