//! The reference servers' behaviour (spec §6 of each format), sans-IO.
//!
//! What a reference server answers one request with is one function of one
//! shape for every format, [`ReferenceServer::replies`]: the owned request
//! and the peer's limits in, the replies (or why there can be none) out.
//! The servers of `transport::reference` (feature `tokio`), the UDP
//! server, the conformance checker and the C ABI all answer through it.
//!
//! | format | answer |
//! |---|---|
//! | [`Typed`] | the same payload, type + 1 (255 wraps to 0) |
//! | [`Magic`] | the same payload, type + 1, version [`VERSION`] |
//! | [`Frame`] | the payload with its ASCII letters upper-cased ([`upper_ascii_in_place`]) |
//! | [`Mux`] | `Echo N: ` and the payload on channel N, in frames within the limit |
//! | [`RequestLine`](crate::reqres::RequestLine) | by command: `ECHO`, `UPPER`, `REVERSE`, else [`UNKNOWN_COMMAND`], within the line limit |
//!
//! The limits are the peer's, which a server takes to be its own: a reply
//! is cut or replaced so that a peer configured like the server reads it.
//!
//! ```
//! use wireforms::reference::ReferenceServer;
//! use wireforms::reqres::{Limits, RequestBuf, RequestLine};
//! use wireforms::Encode;
//!
//! let replies = RequestLine::replies(RequestBuf::new("7", "UPPER", "hi"), &Limits::default())?;
//! assert_eq!(&replies[0].to_bytes()?[..], b"7:OK:HI\n");
//! # Ok::<(), wireforms::Error>(())
//! ```

use alloc::vec;
use alloc::vec::Vec;

use bytes::{BufMut, Bytes, BytesMut};

use crate::frame::{Frame, LengthFrameBuf};
use crate::magic::{Magic, PacketBuf, VERSION};
use crate::mux::{split_within, Mux, MuxFrameBuf};
use crate::typed::{Typed, TypedMessageBuf};
use crate::wire::WireFormat;
use crate::{frame, magic, mux, typed, Error};

mod lines;

pub use lines::{
    simple_uppercase, REPLY_ENDS_WITH_CR, REPLY_TOO_LONG, STATUS_ERR, STATUS_OK, UNKNOWN_COMMAND,
};

mod section {
    pub const MUX_UNANSWERABLE: &str = "mux/6";
}

/// A format with a reference server (spec §6): what it answers.
pub trait ReferenceServer: WireFormat + 'static {
    /// The format of the replies: the request's own, except that request
    /// lines are answered with response lines.
    type Reply: WireFormat + 'static;

    /// The reference server's replies to `request`, in order, each within
    /// `limits` (the peer's, taken to be the server's own). Payloads are
    /// shared with `request` where the reply carries them unchanged.
    ///
    /// # Errors
    /// When no reply fits `limits` (a mux limit of 0; a request ID too long
    /// for any response line): the request cannot be answered, and a
    /// server closes the connection ([`Error::TooLarge`] or
    /// [`Error::LineTooLong`], citing section 6 of the format's spec).
    fn replies(
        request: Self::Owned,
        limits: &Self::Limits,
    ) -> Result<Vec<<Self::Reply as WireFormat>::Owned>, Error>;
}

/// The same payload, type + 1, wrapping 255 to 0 (spec typed §6); as long
/// as the request, so within any limit that accepted it.
impl ReferenceServer for Typed {
    type Reply = Typed;

    fn replies(
        request: TypedMessageBuf,
        _limits: &typed::Limits,
    ) -> Result<Vec<TypedMessageBuf>, Error> {
        let message_type = request.message_type.next();
        Ok(vec![TypedMessageBuf::new(message_type, request.payload)])
    }
}

/// The same payload, type + 1, wrapping 255 to 0, version [`VERSION`]
/// (spec magic §6).
impl ReferenceServer for Magic {
    type Reply = Magic;

    fn replies(request: PacketBuf, _limits: &magic::Limits) -> Result<Vec<PacketBuf>, Error> {
        Ok(vec![PacketBuf {
            version: VERSION,
            packet_type: request.packet_type.next(),
            payload: request.payload,
        }])
    }
}

/// Upper-cases the ASCII letters of `payload` in place and leaves every
/// other byte as it is: the length-frame reference server's transformation
/// (spec frame §6), without allocating.
pub fn upper_ascii_in_place(payload: &mut [u8]) {
    payload.make_ascii_uppercase();
}

/// The payload with its ASCII letters upper-cased, every other byte
/// unchanged (spec frame §6).
///
/// The reply is exactly as long as the request and binary-safe. The guide's
/// server uses Go's Unicode-aware `bytes.ToUpper`, which also upper-cases
/// non-ASCII letters and turns each invalid UTF-8 byte into U+FFFD, so its
/// reply can change length (spec frame §9). For ASCII payloads both agree.
impl ReferenceServer for Frame {
    type Reply = Frame;

    fn replies(
        request: LengthFrameBuf,
        _limits: &frame::Limits,
    ) -> Result<Vec<LengthFrameBuf>, Error> {
        let mut payload = BytesMut::from(&request.payload[..]);
        upper_ascii_in_place(&mut payload);
        Ok(vec![LengthFrameBuf::new(payload.freeze())])
    }
}

/// `Echo N: ` (N the channel id in decimal) followed by the request
/// payload, on the same channel (spec mux §6), cut into frames of at most
/// `limits.max_payload_len` bytes.
///
/// The guide's server wrote the reply's length as a `u16` and
/// desynchronised the stream for request payloads of 65,528 bytes or more,
/// and only answered channels 1 and 2 (spec mux §9); this one splits and
/// answers every channel. A limit of 0 leaves room for no reply:
/// [`Error::TooLarge`] (section `mux/6`).
impl ReferenceServer for Mux {
    type Reply = Mux;

    fn replies(request: MuxFrameBuf, limits: &mux::Limits) -> Result<Vec<MuxFrameBuf>, Error> {
        let payload = echo(&request);
        if limits.max_payload_len == 0 {
            return Err(Error::TooLarge {
                len: payload.len() as u64,
                max: 0,
                section: section::MUX_UNANSWERABLE,
            });
        }
        Ok(split_within(request.channel, payload, limits).collect())
    }
}

fn echo(request: &MuxFrameBuf) -> Bytes {
    // "Echo 65535: " is the longest prefix: 12 bytes.
    let prefix = alloc::format!("Echo {}: ", request.channel.0);
    let mut payload = BytesMut::with_capacity(prefix.len().saturating_add(request.payload.len()));
    payload.put_slice(prefix.as_bytes());
    payload.put_slice(&request.payload);
    payload.freeze()
}

#[cfg(test)]
mod test;
