//! What the conformance cases know about each server format: the replies
//! its reference server gives (spec §6), how a script's bytes parse under a
//! limit, how replies decode, and the length field's reach.

use anyhow::{anyhow, Result};
use serde_json::Value;
use wireforms::frame::{Frame, LengthFrameBuf};
use wireforms::magic::{Magic, PacketBuf};
use wireforms::mux::{Mux, MuxFrameBuf};
use wireforms::reference::ReferenceServer;
use wireforms::reqres::{RequestBuf, RequestLine, ResponseBuf, ResponseLine};
use wireforms::typed::{Typed, TypedMessageBuf};
use wireforms::{Encode, LengthLimit, Status, WireFormat};

use crate::formats::{CliFormat, Format, LimitArgs};

/// A format a reference server reads, and what it answers with.
pub trait ServerFormat: CliFormat {
    /// The replies' format.
    type Out: CliFormat;
    /// The reference replies to `request` (spec §6).
    fn replies(request: &Self::Owned) -> Vec<<Self::Out as WireFormat>::Owned>;
}

impl ServerFormat for Typed {
    type Out = Typed;
    fn replies(r: &TypedMessageBuf) -> Vec<TypedMessageBuf> {
        unlimited_replies::<Typed>(r)
    }
}

impl ServerFormat for Magic {
    type Out = Magic;
    fn replies(r: &PacketBuf) -> Vec<PacketBuf> {
        unlimited_replies::<Magic>(r)
    }
}

impl ServerFormat for Frame {
    type Out = Frame;
    fn replies(r: &LengthFrameBuf) -> Vec<LengthFrameBuf> {
        unlimited_replies::<Frame>(r)
    }
}

impl ServerFormat for Mux {
    type Out = Mux;
    fn replies(r: &MuxFrameBuf) -> Vec<MuxFrameBuf> {
        unlimited_replies::<Mux>(r)
    }
}

impl ServerFormat for RequestLine {
    type Out = ResponseLine;
    fn replies(r: &RequestBuf) -> Vec<ResponseBuf> {
        unlimited_replies::<RequestLine>(r)
    }
}

/// The library's reference replies with no limit but the format's own
/// (`set_max_len` clips to what a length field can say), under which
/// every request has an answer.
fn unlimited_replies<F: ReferenceServer>(r: &F::Owned) -> Vec<<F::Reply as WireFormat>::Owned> {
    let mut limits = F::Limits::default();
    limits.set_max_len(usize::MAX);
    F::replies(r.clone(), &limits).unwrap_or_default()
}

macro_rules! with_server {
    ($fmt:expr, $F:ident => $body:expr) => {
        match $fmt {
            Format::Typed => {
                type $F = wireforms::typed::Typed;
                $body
            }
            Format::Magic => {
                type $F = wireforms::magic::Magic;
                $body
            }
            Format::Frame => {
                type $F = wireforms::frame::Frame;
                $body
            }
            Format::Mux => {
                type $F = wireforms::mux::Mux;
                $body
            }
            Format::Request => {
                type $F = wireforms::reqres::RequestLine;
                $body
            }
            Format::Response => return Err(anyhow::anyhow!("there is no response server")),
        }
    };
}

pub(crate) use with_server;

/// What parsing a script's bytes as the server would gives.
pub(crate) struct Analysis {
    pub(crate) messages: Vec<Value>,
    pub(crate) replies: Vec<Value>,
    /// `None`: every byte parsed; `Some((kind, offset))`: an error, or
    /// `incomplete` at the end.
    pub(crate) failure: Option<(String, u64)>,
    /// A reference reply the format cannot carry (an ID holding '\r'):
    /// the spec does not say what a server does then.
    pub(crate) unanswerable: bool,
}

fn limit_args(format: Format, limit: u64) -> LimitArgs {
    if format.is_text() {
        LimitArgs {
            max_payload: None,
            max_line: usize::try_from(limit).ok(),
        }
    } else {
        LimitArgs {
            max_payload: Some(limit),
            max_line: None,
        }
    }
}

pub(crate) fn analyse(format: Format, bytes: &[u8], limit: u64) -> Result<Analysis> {
    with_server!(format, F => analyse_as::<F>(bytes, &F::limits(&limit_args(format, limit))?))
}

fn analyse_as<F: ServerFormat>(bytes: &[u8], limits: &F::Limits) -> Result<Analysis> {
    let mut a = Analysis {
        messages: Vec::new(),
        replies: Vec::new(),
        failure: None,
        unanswerable: false,
    };
    let mut offset = 0;
    while offset < bytes.len() {
        match F::parse(&bytes[offset..], limits) {
            Ok(Status::Complete(m, len)) => {
                let owned = F::to_owned_copy(&m);
                a.messages.push(serde_json::to_value(&owned)?);
                for r in F::replies(&owned) {
                    a.unanswerable |= r.check().is_err();
                    a.replies.push(serde_json::to_value(&r)?);
                }
                offset += len;
            }
            Ok(Status::Incomplete(_)) => {
                a.failure = Some(("incomplete".into(), offset as u64));
                break;
            }
            Err(e) => {
                a.failure = Some((e.kind().as_str().into(), offset as u64));
                break;
            }
        }
    }
    Ok(a)
}

/// Decodes whole replies at the front of `bytes`: (replies, bytes used).
pub(crate) fn decode_replies(format: Format, bytes: &[u8]) -> Result<(Vec<Value>, usize), String> {
    let run = || -> Result<(Vec<Value>, usize)> {
        with_server!(format, F => decode_as::<<F as ServerFormat>::Out>(bytes))
    };
    run().map_err(|e| e.to_string())
}

fn decode_as<F: CliFormat>(bytes: &[u8]) -> Result<(Vec<Value>, usize)> {
    let limits = F::Limits::default();
    let mut out = Vec::new();
    let mut used = 0;
    loop {
        match F::parse(&bytes[used..], &limits) {
            Ok(Status::Complete(m, len)) => {
                out.push(serde_json::to_value(F::to_owned_copy(&m))?);
                used += len;
            }
            Ok(Status::Incomplete(_)) => return Ok((out, used)),
            Err(e) => {
                return Err(anyhow!(
                    "reply {} is not a valid {} message: {e}",
                    out.len() + 1,
                    F::NAME
                ))
            }
        }
    }
}

/// Mux replies are ordered per channel only (spec mux §6).
pub(crate) fn per_channel(format: Format, mut v: Vec<Value>) -> Vec<Value> {
    if format == Format::Mux {
        v.sort_by_key(|m| m.get("channel").and_then(Value::as_u64).unwrap_or(0));
    }
    v
}

/// The largest length the format's length field holds.
pub(crate) fn field_max(format: Format) -> u64 {
    match format {
        Format::Typed | Format::Frame => u64::from(u32::MAX),
        Format::Magic | Format::Mux => u64::from(u16::MAX),
        Format::Request | Format::Response => u64::MAX,
    }
}

/// What `bytes` decode to, one JSON message a line, then the error or
/// incomplete tail: as the server reads them, or (`replies`) as its
/// replies. With the spec's default limits; for reports and messages.
pub(crate) fn describe(format: Format, bytes: &[u8], replies: bool) -> String {
    fn as_lines<F: CliFormat>(bytes: &[u8]) -> String {
        let limits = F::Limits::default();
        let mut out = Vec::new();
        let mut used = 0;
        while used < bytes.len() {
            match F::parse(&bytes[used..], &limits) {
                Ok(Status::Complete(m, len)) => {
                    out.push(
                        serde_json::to_value(F::to_owned_copy(&m))
                            .map(|v| v.to_string())
                            .unwrap_or_default(),
                    );
                    used += len;
                }
                Ok(Status::Incomplete(_)) => {
                    out.push(format!(
                        "(then {} of an incomplete message)",
                        crate::conform::plural(bytes.len() - used, "byte", "bytes")
                    ));
                    break;
                }
                Err(e) => {
                    out.push(format!("(then, at offset {used}: {e})"));
                    break;
                }
            }
        }
        out.join("\n")
    }
    if format == Format::Response || (replies && format == Format::Request) {
        return as_lines::<wireforms::reqres::ResponseLine>(bytes);
    }
    let run = || -> Result<String> { with_server!(format, F => Ok(as_lines::<F>(bytes))) };
    run().unwrap_or_default()
}
