//! Datagrams: one message per datagram (spec §7.2 of each format).
//!
//! [`DatagramCodec<F>`] is the codec to use with
//! [`tokio_util::udp::UdpFramed`]: each datagram must hold exactly one
//! message. A datagram with bytes after its message is
//! [`Error::TrailingBytes`], one that ends inside its message (an empty
//! one included) is [`Error::Incomplete`]; either error is yielded for that
//! datagram only, and the socket goes on (keep polling the stream after an
//! error). For the text formats the final `\n` may be left out of a
//! datagram.
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
use crate::wire::{Encode, WireFormat};
use crate::Error;

/// Largest UDP payload: 65,535 bytes less the 8-byte UDP header, as over
/// IPv6 (IPv4's is 65,507, its 20-byte header less). A receive buffer this
/// size holds any datagram whole.
pub const MAX_DATAGRAM_LEN: usize = 65_527;

/// Largest UDP payload over IPv4: 65,535 bytes less the 20-byte IP and
/// 8-byte UDP headers.
pub const MAX_IPV4_DATAGRAM_LEN: usize = 65_507;

/// The largest datagram a socket bound to `addr` can send: a reply longer
/// than this cannot be sent at all, so a server bounds its replies by it
/// (spec reqres §6 over datagrams).
pub fn max_datagram_len(addr: &std::net::SocketAddr) -> usize {
    if addr.is_ipv4() {
        MAX_IPV4_DATAGRAM_LEN
    } else {
        MAX_DATAGRAM_LEN
    }
}

/// The receive buffer of [`serve_udp`]: one byte more than any datagram,
/// so that a datagram that fills it is known to be cut (only jumbograms,
/// which UDP sockets do not deliver on common systems, could be).
const RECV_BUF_LEN: usize = MAX_DATAGRAM_LEN + 1;

/// A codec for one message per datagram.
///
/// Every datagram gives exactly one item, the message or its error, an
/// empty datagram included ([`Error::Incomplete`]). [`UdpFramed`] decodes
/// once more after each datagram, on the emptied buffer; the codec answers
/// that call `Ok(None)`, so an empty buffer straight after a decode is
/// never taken for an empty datagram.
///
/// [`UdpFramed`]: tokio_util::udp::UdpFramed
pub struct DatagramCodec<F: WireFormat> {
    limits: F::Limits,
    /// The datagram in the buffer has been decoded.
    decoded: bool,
    _format: PhantomData<fn() -> F>,
}

impl<F: WireFormat> DatagramCodec<F> {
    /// A codec enforcing `limits`.
    pub fn new(limits: F::Limits) -> Self {
        DatagramCodec {
            limits,
            decoded: false,
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
    let message = F::parse_datagram(&datagram, limits)?;
    Ok(F::to_owned_in(&message, &datagram))
}

impl<F: WireFormat> Decoder for DatagramCodec<F> {
    type Item = F::Owned;
    type Error = Error;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<F::Owned>, Error> {
        if src.is_empty() && std::mem::take(&mut self.decoded) {
            // UdpFramed's call after the datagram was taken.
            return Ok(None);
        }
        self.decoded = true;
        // The whole buffer is one datagram: take it all, good or bad, so an
        // error concerns this datagram only.
        let datagram = src.split().freeze();
        parse_datagram::<F>(datagram, &self.limits).map(Some)
    }
}

impl<F: WireFormat> Encoder<F::Owned> for DatagramCodec<F> {
    type Error = Error;

    /// Refuses, with [`Error::TooLarge`] and nothing written, a message
    /// that this codec's own limits would refuse to decode.
    fn encode(&mut self, item: F::Owned, dst: &mut BytesMut) -> Result<(), Error> {
        F::check_encoded_len(item.encoded_len(), &self.limits)?;
        item.encode(dst)
    }
}

/// Counters of a UDP server.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct UdpStats {
    /// Datagrams answered.
    pub answered: u64,
    /// Datagrams rejected (bad message, trailing bytes, cut by the
    /// receive buffer, or a request that cannot be answered).
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
    // Allocated once; each datagram is copied out of it (cheaper than a
    // fresh 64 KiB buffer per datagram).
    let mut buf = vec![0u8; RECV_BUF_LEN];
    let mut out = BytesMut::new();
    loop {
        let (len, peer) = tokio::select! {
            _ = shutdown.cancelled() => return Ok(stats),
            received = socket.recv_from(&mut buf) => match received {
                Ok(pair) => pair,
                // ICMP errors from earlier sends surface here on some systems.
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => continue,
                Err(e) => return Err(e.into()),
            },
        };
        if len > MAX_DATAGRAM_LEN {
            // Cut by the buffer: what is left may parse, but it is not what
            // the peer sent.
            stats.rejected += 1;
            debug!(%peer, "datagram larger than the receive buffer rejected");
            continue;
        }
        let datagram = Bytes::copy_from_slice(&buf[..len]);
        let request = match parse_datagram::<In>(datagram, &limits) {
            Ok(request) => request,
            Err(e) => {
                stats.rejected += 1;
                debug!(%peer, error = %e, "datagram rejected");
                continue;
            }
        };
        let replies = match handler.replies(request) {
            Ok(replies) => replies,
            Err(e) => {
                stats.rejected += 1;
                debug!(%peer, error = %e, "datagram cannot be answered");
                continue;
            }
        };
        for reply in replies {
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
