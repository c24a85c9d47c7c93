//! Server cases: scripts written to a server over TCP, replies checked
//! against the format's reference behaviour (spec §6), bad input checked to
//! end the exchange without a reply (spec §5, §7.1).

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use anyhow::{anyhow, Result};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{timeout_at, Instant};
use wireforms::frame::{Frame, LengthFrameBuf};
use wireforms::magic::{Magic, PacketBuf};
use wireforms::mux::{Mux, MuxFrameBuf};
use wireforms::reference::ReferenceServer;
use wireforms::reqres::{RequestBuf, RequestLine, ResponseBuf, ResponseLine};
use wireforms::typed::{Typed, TypedMessageBuf};
use wireforms::{Encode, LengthLimit, Status, WireFormat};

use super::hostile::Expect;
use super::{Case, Check, Level};
use crate::formats::{CliFormat, Format, LimitArgs};
use crate::vectors;

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
                type $F = Typed;
                $body
            }
            Format::Magic => {
                type $F = Magic;
                $body
            }
            Format::Frame => {
                type $F = Frame;
                $body
            }
            Format::Mux => {
                type $F = Mux;
                $body
            }
            Format::Request => {
                type $F = RequestLine;
                $body
            }
            Format::Response => return Err(anyhow!("there is no response server")),
        }
    };
}

/// How a script ends once the expected replies are in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum After {
    /// Nothing more is checked.
    Open,
    /// Nothing more may arrive (the connection may stay open).
    NoReply,
    /// Nothing more may arrive and the server must close promptly.
    Close,
}

/// Bytes written to a server and what must come back.
#[derive(Clone, Debug)]
pub struct Script {
    /// The format the server reads.
    pub format: Format,
    /// What is written.
    pub write: Vec<u8>,
    /// Write one byte at a time.
    pub bytewise: bool,
    /// Half-close after writing.
    pub half_close: bool,
    /// Replies expected, in the JSON shape.
    pub replies: Vec<Value>,
    /// Then.
    pub after: After,
    /// Connections running the script at once.
    pub connections: usize,
}

/// What parsing a script's bytes as the server would gives.
pub(super) struct Analysis {
    pub(super) messages: Vec<Value>,
    pub(super) replies: Vec<Value>,
    /// `None`: every byte parsed; `Some((kind, offset))`: an error, or
    /// `incomplete` at the end.
    pub(super) failure: Option<(String, u64)>,
    /// A reference reply the format cannot carry (an ID holding '\r'):
    /// the spec does not say what a server does then.
    pub(super) unanswerable: bool,
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

pub(super) fn analyse(format: Format, bytes: &[u8], limit: u64) -> Result<Analysis> {
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
pub(super) fn decode_replies(format: Format, bytes: &[u8]) -> Result<(Vec<Value>, usize), String> {
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

pub(super) fn preview(bytes: &[u8]) -> String {
    let shown = &bytes[..bytes.len().min(24)];
    let more = if bytes.len() > shown.len() { "..." } else { "" };
    format!(
        "{} 0x{}{more}",
        super::plural(bytes.len(), "byte", "bytes"),
        crate::hex::encode(shown)
    )
}

pub(super) fn short(v: &Value) -> String {
    let s = v.to_string();
    match s.char_indices().nth(117) {
        Some((cut, _)) => format!("{}...", &s[..cut]),
        None => s,
    }
}

pub(super) fn is_reset(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::ConnectionReset
            | std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::BrokenPipe
    )
}

/// Mux replies are ordered per channel only (spec mux §6).
pub(super) fn per_channel(format: Format, mut v: Vec<Value>) -> Vec<Value> {
    if format == Format::Mux {
        v.sort_by_key(|m| m.get("channel").and_then(Value::as_u64).unwrap_or(0));
    }
    v
}

impl Script {
    /// Runs the script; `Err` says what was seen.
    pub async fn run(
        &self,
        addr: SocketAddr,
        limit: Duration,
        prompt: Duration,
    ) -> Result<(), String> {
        let deadline = Instant::now() + limit;
        let runs = (0..self.connections.max(1)).map(|_| self.one(addr, deadline, limit, prompt));
        for (i, r) in futures::future::join_all(runs)
            .await
            .into_iter()
            .enumerate()
        {
            r.map_err(|e| {
                if self.connections > 1 {
                    format!("connection {}: {e}", i + 1)
                } else {
                    e
                }
            })?;
        }
        Ok(())
    }

    async fn one(
        &self,
        addr: SocketAddr,
        deadline: Instant,
        limit: Duration,
        prompt: Duration,
    ) -> Result<(), String> {
        let stream = timeout_at(deadline, TcpStream::connect(addr))
            .await
            .map_err(|_| format!("no connection within {limit:?}"))?
            .map_err(|e| format!("cannot connect: {e}"))?;
        let _ = stream.set_nodelay(true);
        let (mut rd, mut wr) = stream.into_split();
        let (write, bytewise, half_close) = (self.write.clone(), self.bytewise, self.half_close);
        // Written concurrently with reading, so neither side's buffers fill.
        // The write half is returned, not dropped: dropping it half-closes.
        let writer = tokio::spawn(async move {
            let result = async {
                if bytewise {
                    for b in &write {
                        wr.write_all(std::slice::from_ref(b)).await?;
                        wr.flush().await?;
                        tokio::time::sleep(Duration::from_millis(2)).await;
                    }
                } else {
                    wr.write_all(&write).await?;
                }
                if half_close {
                    wr.shutdown().await?;
                }
                Ok::<_, std::io::Error>(())
            }
            .await;
            (result, wr)
        });

        let want = self.replies.len();
        let mut buf = Vec::new();
        let mut got = Vec::new();
        let mut chunk = vec![0u8; 64 * 1024];
        while got.len() < want {
            let n = match timeout_at(deadline, rd.read(&mut chunk)).await {
                Err(_) => {
                    return Err(format!(
                        "{} of {want} replies within {limit:?}{}",
                        got.len(),
                        if buf.is_empty() {
                            String::new()
                        } else {
                            format!(", then {}", preview(&buf))
                        }
                    ))
                }
                Ok(Ok(0)) => 0,
                Ok(Err(e)) if is_reset(&e) => 0,
                Ok(Err(e)) => return Err(format!("read failed: {e}")),
                Ok(Ok(n)) => n,
            };
            if n == 0 {
                return Err(format!(
                    "connection closed after {} of {want} replies",
                    got.len()
                ));
            }
            buf.extend_from_slice(&chunk[..n]);
            let (replies, used) = decode_replies(self.format, &buf)?;
            buf.drain(..used);
            got.extend(replies);
        }
        let expected = per_channel(self.format, self.replies.clone());
        let seen = per_channel(self.format, got);
        if seen.len() > expected.len() {
            return Err(format!(
                "{} replies (expected {want}); extra: {}",
                seen.len(),
                short(&seen[want])
            ));
        }
        if let Some(i) = (0..want).find(|&i| seen[i] != expected[i]) {
            return Err(format!(
                "reply {}: {} (expected {})",
                i + 1,
                short(&seen[i]),
                short(&expected[i])
            ));
        }
        if self.after != After::Open {
            if !buf.is_empty() {
                return Err(format!("replied to bad input: {}", preview(&buf)));
            }
            let end = deadline.min(Instant::now() + prompt);
            match timeout_at(end, rd.read(&mut chunk)).await {
                Err(_) if self.after == After::Close => {
                    let after = if self.half_close {
                        "the half-close"
                    } else {
                        "the bad input"
                    };
                    return Err(format!(
                        "connection still open {prompt:?} after {after}, no reply"
                    ));
                }
                Err(_) | Ok(Ok(0)) => {}
                Ok(Err(e)) if is_reset(&e) => {}
                Ok(Err(e)) => return Err(format!("read failed: {e}")),
                Ok(Ok(n)) => return Err(format!("replied to bad input: {}", preview(&chunk[..n]))),
            }
        } else {
            match timeout_at(deadline, writer).await {
                Ok(Ok((Err(e), _))) => return Err(format!("write failed: {e}")),
                Ok(_) => {}
                Err(_) => return Err(format!("could not write the input within {limit:?}")),
            }
        }
        Ok(())
    }
}

// ---- building messages -------------------------------------------------

/// The largest length the format's length field holds.
pub(super) fn field_max(format: Format) -> u64 {
    match format {
        Format::Typed | Format::Frame => u64::from(u32::MAX),
        Format::Magic | Format::Mux => u64::from(u16::MAX),
        Format::Request | Format::Response => u64::MAX,
    }
}

/// A header claiming `len` payload bytes (type or channel `code`).
pub(super) fn header(format: Format, code: u16, len: u64) -> Vec<u8> {
    let mut out = Vec::new();
    match format {
        Format::Typed => {
            out.extend_from_slice(&(len as u32).to_be_bytes());
            out.push(code as u8);
        }
        Format::Magic => {
            out.extend_from_slice(&wireforms::magic::MAGIC.to_be_bytes());
            out.push(wireforms::magic::VERSION);
            out.push(code as u8);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        }
        Format::Frame => out.extend_from_slice(&(len as u32).to_be_bytes()),
        Format::Mux => {
            out.extend_from_slice(&code.to_be_bytes());
            out.extend_from_slice(&(len as u16).to_be_bytes());
        }
        Format::Request | Format::Response => {}
    }
    out
}

/// A whole binary message.
pub(super) fn message(format: Format, code: u16, payload: &[u8]) -> Vec<u8> {
    let mut out = header(format, code, payload.len() as u64);
    out.extend_from_slice(payload);
    out
}

/// A request line `id:command:args\n`.
pub(super) fn line(id: &str, command: &str, args: &str) -> Vec<u8> {
    format!("{id}:{command}:{args}\n").into_bytes()
}

/// Letters and digits, so upper-casing replies are easy to read.
pub(super) fn filler(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| b"abcdefghijklmnopqrstuvwxyz0123456789"[i % 36])
        .collect()
}

/// Payloads held in memory for one case are kept below this.
pub(super) const CASE_BYTES_MAX: u64 = 16 << 20;

pub(super) struct Builder {
    pub(super) format: Format,
    pub(super) prefix: &'static str,
    pub(super) limit: u64,
    pub(super) out: Vec<Case>,
}

impl Builder {
    pub(super) fn script(&self, write: Vec<u8>, after: After) -> Result<Script> {
        let a = analyse(self.format, &write, self.limit)?;
        Ok(Script {
            format: self.format,
            write,
            bytewise: false,
            half_close: false,
            replies: a.replies,
            after,
            connections: 1,
        })
    }

    fn push(&mut self, section: &str, n: u32, level: Level, what: impl Into<String>, check: Check) {
        self.out.push(Case {
            id: format!("{}/{section}/{n}", self.prefix),
            section: format!("{}/{section}", self.prefix),
            level,
            what: what.into(),
            check,
        });
    }

    pub(super) fn na(&mut self, section: &str, n: u32, level: Level, what: &str, why: String) {
        self.push(section, n, level, what, Check::NotApplicable(why));
    }
}

/// The server cases of `format`, for a server enforcing `limits` and
/// `expect`.
pub fn cases(
    format: Format,
    limits: &LimitArgs,
    expect: &Expect,
    dir: Option<&Path>,
) -> Result<Vec<Case>> {
    let limit = with_server!(format, F => F::limit_of(&F::limits(limits)?));
    let mut b = Builder {
        format,
        prefix: format.spec_prefix(),
        limit,
        out: Vec::new(),
    };
    from_vectors(&mut b, dir)?;
    own_cases(&mut b)?;
    super::hostile::cases(&mut b, expect)?;
    Ok(b.out)
}

/// Cases from the vectors whose outcome is the same under the server's limit.
fn from_vectors(b: &mut Builder, dir: Option<&Path>) -> Result<()> {
    let file = vectors::load(b.format, dir)?;
    for group in file.groups.iter().filter(|g| g.mode == "stream") {
        for test in &group.tests {
            let input = crate::hex::decode(test.input.as_bytes())?;
            let a = analyse(b.format, &input, b.limit)?;
            if a.messages != test.messages || a.unanswerable {
                continue;
            }
            let id = vectors::case_id(b.format, test);
            let (after, what) = match (&a.failure, test.result.as_str(), &test.error) {
                (None, "valid", _) if !a.messages.is_empty() => (
                    After::Open,
                    format!(
                        "{}: {} per §6",
                        test.comment,
                        super::plural(a.replies.len(), "reply", "replies")
                    ),
                ),
                (Some((kind, at)), "invalid", Some(want))
                    if kind == want && Some(*at) == test.error_offset && kind != "incomplete" =>
                {
                    // A length over the limit must be refused before the payload
                    // is awaited (§5): a server still open without a reply is
                    // indistinguishable from one waiting for it.
                    let waits = kind == "too_large" || kind == "line_too_long";
                    let then = if waits { "closes promptly" } else { "no reply" };
                    let before = if a.replies.is_empty() {
                        String::new()
                    } else {
                        format!(
                            "{}, then ",
                            super::plural(a.replies.len(), "reply", "replies")
                        )
                    };
                    (
                        if waits { After::Close } else { After::NoReply },
                        format!("{} ({kind}): {before}{then}", test.comment),
                    )
                }
                _ => continue,
            };
            let script = b.script(input, after)?;
            b.out.push(Case {
                id,
                section: test.section.clone(),
                level: Level::Must,
                what,
                check: Check::Server(script),
            });
        }
    }
    Ok(())
}

fn own_cases(b: &mut Builder) -> Result<()> {
    let f = b.format;
    let limit = b.limit;
    let text = f.is_text();
    let one = if text {
        line("1", "ECHO", "hello")
    } else {
        message(f, 1, b"hello")
    };

    // §3: the limit is inclusive.
    if limit <= CASE_BYTES_MAX {
        let write = if text {
            // id "1", command "ECHO", two ':' and '\n' take 8 bytes.
            let args = limit.saturating_sub(8) as usize;
            line(
                "1",
                "ECHO",
                std::str::from_utf8(&filler(args)).unwrap_or(""),
            )
        } else {
            message(f, 1, &filler(limit as usize))
        };
        let what = if text {
            format!("a line of exactly the limit ({limit} bytes with its '\\n') is answered")
        } else {
            format!("a payload of exactly the limit ({limit} bytes) is answered")
        };
        let s = b.script(write, After::Open)?;
        b.push("3", 101, Level::Must, what, Check::Server(s));
    } else {
        b.na(
            "3",
            101,
            Level::Must,
            "a message of exactly the limit is answered",
            format!("limit {limit} is too large to send"),
        );
    }

    // §5.2: over the limit.
    let over_section = match f {
        Format::Magic => "5.4",
        _ => "5.2",
    };
    if text {
        let s = b.script(filler(limit as usize), After::Close)?;
        b.push(
            "5.2",
            101,
            Level::Must,
            format!("{limit} bytes without '\\n': closes without waiting for more, no reply"),
            Check::Server(s),
        );
        let mut long = line(
            "1",
            "ECHO",
            std::str::from_utf8(&filler(limit.saturating_sub(7) as usize)).unwrap_or(""),
        );
        long.truncate(long.len().min(limit as usize + 1));
        if let Some(last) = long.last_mut() {
            *last = b'\n';
        }
        let s = b.script(long, After::NoReply)?;
        b.push(
            "5.2",
            102,
            Level::Must,
            format!("a line whose '\\n' is byte {}: no reply", limit + 1),
            Check::Server(s),
        );
    } else if limit < field_max(f) {
        let s = b.script(header(f, 1, limit + 1), After::Close)?;
        b.push(over_section, 101, Level::Must, format!("length {} (limit + 1), header alone: closes without waiting for the payload, no reply", limit + 1), Check::Server(s));
        if limit < CASE_BYTES_MAX {
            let s = b.script(message(f, 1, &filler(limit as usize + 1)), After::NoReply)?;
            b.push(
                over_section,
                102,
                Level::Must,
                format!(
                    "length {} (limit + 1) with its payload: no reply",
                    limit + 1
                ),
                Check::Server(s),
            );
        }
    } else {
        let why = format!("the limit is {limit}, the most the length field holds: nothing is over it (give --max-payload for a server with a lower limit)");
        b.na(
            over_section,
            101,
            Level::Must,
            "length over the limit, header alone: closes, no reply",
            why.clone(),
        );
        b.na(
            over_section,
            102,
            Level::Must,
            "length over the limit with its payload: no reply",
            why,
        );
    }

    // §5.1: a message arrives in pieces.
    let mut s = b.script(one.clone(), After::Open)?;
    s.bytewise = true;
    b.push(
        "5.1",
        101,
        Level::Must,
        "a message written one byte at a time is answered",
        Check::Server(s),
    );
    let mut cut = one.clone();
    cut.truncate(cut.len() - 2);
    if text {
        // A cut line is answered on half-close (§6); cut inside a binary message is not.
        let mut s = b.script(line("7", "ECHO", "last"), After::Open)?;
        s.write.pop();
        s.half_close = true;
        b.push(
            "6",
            101,
            Level::Must,
            "a last line without '\\n' before the peer half-closes is answered",
            Check::Server(s),
        );
    } else {
        let mut s = b.script(cut, After::NoReply)?;
        s.half_close = true;
        s.replies.clear();
        b.push(
            "5.1",
            102,
            Level::Must,
            "a message cut short, then half-close: no reply",
            Check::Server(s),
        );
    }

    // §6: many messages, many connections.
    let many = |n: usize| -> Vec<u8> {
        (0..n)
            .flat_map(|i| {
                if text {
                    let cmd = ["ECHO", "UPPER", "REVERSE", "NOPE"][i % 4];
                    line(&i.to_string(), cmd, &format!("msg {i} ßtraße"))
                } else {
                    message(f, (i % 256) as u16, format!("message {i}").as_bytes())
                }
            })
            .collect()
    };
    let s = b.script(many(3), After::Open)?;
    b.push(
        "6",
        102,
        Level::Must,
        "three messages in one write: three replies in order",
        Check::Server(s),
    );
    let s = b.script(many(1000), After::Open)?;
    b.push(
        "6",
        103,
        Level::Must,
        "1000 messages in one write on one connection: all answered in order",
        Check::Server(s),
    );
    let mut s = b.script(many(100), After::Open)?;
    s.connections = 8;
    b.push(
        "6",
        104,
        Level::Should,
        "8 connections at once, 100 messages each: all answered",
        Check::Server(s),
    );

    // Format-specific boundaries.
    match f {
        Format::Typed | Format::Magic => {
            let all: Vec<u8> = (0..=255u16).flat_map(|t| message(f, t, b"t")).collect();
            let section = if f == Format::Typed { "5.3" } else { "5.5" };
            let s = b.script(all, After::Open)?;
            b.push(
                section,
                101,
                Level::Must,
                "every type code 0 to 255 answered with type + 1 (255 wraps to 0)",
                Check::Server(s),
            );
        }
        Format::Frame => {
            let payload: Vec<u8> = (0..=255u8).collect();
            let s = b.script(message(f, 0, &payload), After::Open)?;
            b.push(
                "6",
                105,
                Level::Must,
                "bytes 0 to 255: only a-z upper-cased, length kept",
                Check::Server(s),
            );
            let s = b.script(message(f, 0, b""), After::Open)?;
            b.push(
                "6",
                106,
                Level::Must,
                "an empty frame gets an empty frame",
                Check::Server(s),
            );
        }
        Format::Mux => {
            let all: Vec<u8> = [0u16, 1, 255, 256, 32768, 65534, 65535]
                .iter()
                .flat_map(|&c| message(f, c, b"x"))
                .collect();
            let s = b.script(all, After::Open)?;
            b.push(
                "5.3",
                101,
                Level::Must,
                "channels 0, 1, 255, 256, 32768, 65534, 65535 each answered on their own channel",
                Check::Server(s),
            );
            if limit == field_max(f) {
                let s = b.script(message(f, 1, &filler(65_535)), After::Open)?;
                b.push(
                    "6",
                    105,
                    Level::Must,
                    "a 65535-byte request: its longer reply is split into frames on the channel",
                    Check::Server(s),
                );
            }
        }
        Format::Request | Format::Response => {}
    }

    // §7.1: after a wire error the connection SHOULD close.
    let bad: Option<(Vec<u8>, &str)> = match f {
        Format::Magic => Some((hex_bytes("deadbeef02010000"), "bad version 2")),
        Format::Request => Some((b"no colon here\n".to_vec(), "a malformed line")),
        Format::Typed | Format::Frame if limit < field_max(f) => {
            Some((header(f, 1, field_max(f)), "the largest length field"))
        }
        Format::Mux if limit < field_max(f) => {
            Some((header(f, 1, field_max(f)), "the largest length field"))
        }
        _ => None,
    };
    match bad {
        Some((bytes, what)) => {
            let mut write = one.clone();
            write.extend_from_slice(&bytes);
            let s = b.script(write, After::Close)?;
            b.push(
                "7.1",
                101,
                Level::Should,
                format!("a message, then {what}: one reply, then the connection closes"),
                Check::Server(s),
            );
        }
        None => b.na(
            "7.1",
            101,
            Level::Should,
            "the connection closes after a wire error",
            "no wire error is possible under this limit".into(),
        ),
    }
    Ok(())
}

fn hex_bytes(s: &str) -> Vec<u8> {
    crate::hex::decode(s.as_bytes()).unwrap_or_default()
}
