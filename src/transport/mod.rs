//! The tokio transport layer: a thin shell over the sans-IO format modules.
//!
//! Framing, validation and reference behaviour stay in the format modules;
//! this layer moves bytes and manages connections.
//!
//! - [`codec`]: `tokio_util` codecs for every format.
//! - [`batch`]: every whole message of one read at once, borrowed (zero-copy).
//! - [`server`]: accept loop, connection limit, timeouts, socket options and
//!   graceful shutdown, shared by the reference servers.
//! - [`reference`](mod@reference): the reference server of every format.
//! - [`mux_session`]: many logical channels over one connection.
//! - [`reqres_client`]: a pipelining request/response client.
//! - [`write_batch`]: coalesced small frames, uncopied large payloads.
//! - [`udp`]: one message per datagram, and a UDP reference server.

pub mod batch;
pub mod codec;
pub mod mux_session;
pub mod reference;
pub mod reqres_client;
pub mod server;
pub mod udp;
pub mod write_batch;
