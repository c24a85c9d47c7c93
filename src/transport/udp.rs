//! Datagrams: one message per datagram (spec §7.2 of each format).
//!
//! [`DatagramCodec<F>`] is the codec to use with
//! [`tokio_util::udp::UdpFramed`]: each datagram must hold exactly one
//! message. A datagram with bytes after its message is
//! [`Error::TrailingBytes`], one that ends inside its message is
//! [`Error::Incomplete`]; either error is yielded for that datagram only,
//! and the socket goes on (keep polling the stream after an error).
//! For the text formats the final `\n` may be left out of a datagram.
//!
//! [`serve_udp`] answers datagrams with a format's reference behaviour.
//!
//! ```
//! use futures::{SinkExt, StreamExt};
//! use tokio::net::UdpSocket;
//! use tokio_util::udp::UdpFramed;
//! use wireforms::transport::udp::DatagramCodec;
//! use wireforms::typed::{MessageType, Typed, TypedMessageBuf};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), wireforms::Error> {
//! let mut a = UdpFramed::new(UdpSocket::bind("127.0.0.1:0").await?, DatagramCodec::<Typed>::default());
//! let mut b = UdpFramed::new(UdpSocket::bind("127.0.0.1:0").await?, DatagramCodec::<Typed>::default());
//! let to = b.get_ref().local_addr()?;
//! a.send((TypedMessageBuf::new(MessageType(1), "ping"), to)).await?;
//! let (message, _from) = b.next().await.expect("a datagram")?;
//! assert_eq!(&message.payload[..], b"ping");
//! # Ok(()) }
//! ```

use std::marker::PhantomData;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use tokio::net::UdpSocket;
use tokio_util::codec::{Decoder, Encoder};
use tokio_util::sync::CancellationToken;
use tracing::debug;

use crate::transport::server::Handler;
use crate::wire::{Encode, Status, WireFormat};
use crate::Error;

/// Largest datagram read (the IPv4 UDP payload maximum).
pub const MAX_DATAGRAM_LEN: usize = 65_507;

/// A codec for one message per datagram.
pub struct DatagramCodec<F: WireFormat> {
    limits: F::Limits,
    _format: PhantomData<fn() -> F>,
}

impl<F: WireFormat> DatagramCodec<F> {
    /// A codec enforcing `limits`.
    pub fn new(limits: F::Limits) -> Self {
        DatagramCodec {
            limits,
            _format: PhantomData,
        }
    }
}

impl<F: WireFormat> Default for DatagramCodec<F> {
    fn default() -> Self {
        DatagramCodec::new(F::Limits::default())
    }
}

impl<F: WireFormat> std::fmt::Debug for DatagramCodec<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatagramCodec")
            .field("format", &F::NAME)
            .field("limits", &self.limits)
            .finish()
    }
}

/// Parses the one message a datagram holds.
///
/// # Errors
/// The parser's error, [`Error::TrailingBytes`] or [`Error::Incomplete`].
pub fn parse_datagram<F: WireFormat>(
    datagram: Bytes,
    limits: &F::Limits,
) -> Result<F::Owned, Error> {
    let datagram = if is_text::<F>() && !datagram.ends_with(b"\n") {
        // The text formats may leave out the last line ending in a datagram.
        let mut terminated = BytesMut::with_capacity(datagram.len() + 1);
        terminated.extend_from_slice(&datagram);
        terminated.extend_from_slice(b"\n");
        terminated.freeze()
    } else {
        datagram
    };
    let status = F::parse(&datagram, limits)?.map(|_| ());
    match status {
        Status::Complete((), len) if len == datagram.len() => {
            crate::wire::owned_in::<F>(&datagram, limits)
        }
        Status::Complete((), len) => Err(Error::TrailingBytes {
            len: datagram.len() - len,
            section: datagram_section(F::NAME),
        }),
        Status::Incomplete(needed) => Err(Error::Incomplete {
            needed: needed.size(),
            section: F::INCOMPLETE_SECTION,
        }),
    }
}

fn is_text<F: WireFormat>() -> bool {
    matches!(F::NAME, "request" | "response")
}

fn datagram_section(format: &str) -> &'static str {
    match format {
        "typed" => "typed/7.2",
        "magic" => "magic/7.2",
        "frame" => "frame/7.2",
        "mux" => "mux/7.2",
        _ => "reqres/7.2",
    }
}

impl<F: WireFormat> Decoder for DatagramCodec<F> {
    type Item = F::Owned;
    type Error = Error;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<F::Owned>, Error> {
        if src.is_empty() {
            return Ok(None);
        }
        // The whole buffer is one datagram: take it all, good or bad, so an
        // error concerns this datagram only.
        let datagram = src.split().freeze();
        parse_datagram::<F>(datagram, &self.limits).map(Some)
    }
}

impl<F: WireFormat> Encoder<F::Owned> for DatagramCodec<F> {
    type Error = Error;

    fn encode(&mut self, item: F::Owned, dst: &mut BytesMut) -> Result<(), Error> {
        item.encode(dst)
    }
}

/// Counters of a UDP server.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct UdpStats {
    /// Datagrams answered.
    pub answered: u64,
    /// Datagrams rejected (bad message, trailing bytes, truncated).
    pub rejected: u64,
}

/// Answers each datagram of format `In` on `socket` with the handler's
/// replies (each in its own datagram) until `shutdown` is cancelled.
/// A bad datagram is logged and skipped; the socket goes on.
///
/// # Errors
/// A receive error that is not about one datagram.
pub async fn serve_udp<In, Out, H>(
    socket: Arc<UdpSocket>,
    limits: In::Limits,
    handler: H,
    shutdown: CancellationToken,
) -> Result<UdpStats, Error>
where
    In: WireFormat,
    Out: WireFormat,
    H: Handler<In::Owned, Out::Owned>,
{
    let mut stats = UdpStats::default();
    let mut buf = BytesMut::with_capacity(MAX_DATAGRAM_LEN);
    let mut out = BytesMut::new();
    loop {
        buf.clear();
        buf.reserve(MAX_DATAGRAM_LEN);
        let peer = tokio::select! {
            _ = shutdown.cancelled() => return Ok(stats),
            received = socket.recv_buf_from(&mut buf) => match received {
                Ok((_, peer)) => peer,
                // ICMP errors from earlier sends surface here on some systems.
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => continue,
                Err(e) => return Err(e.into()),
            },
        };
        let request = match parse_datagram::<In>(buf.split().freeze(), &limits) {
            Ok(request) => request,
            Err(e) => {
                stats.rejected += 1;
                debug!(%peer, error = %e, "datagram rejected");
                continue;
            }
        };
        for reply in handler.replies(request) {
            out.clear();
            if reply.encode(&mut out).is_ok() {
                if let Err(e) = socket.send_to(&out, peer).await {
                    debug!(%peer, error = %e, "reply not sent");
                }
            }
        }
        stats.answered += 1;
    }
}
