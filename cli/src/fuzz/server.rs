//! The server oracle: the same bytes written to the server under test and
//! to this crate's reference server (started here, with the limits the
//! user says the target enforces), their replies, closes and silences
//! observed the same way and compared.
//!
//! Over TCP, an input with no wire error is followed by a half-close, so a
//! reference server answers everything and closes at once; an input with
//! a wire error is not, and the close must come within `prompt` (as in
//! `conform`). A target that stays open after a half-close is waited for
//! `prompt` past its last byte, for replies it should not send. With an
//! idle timeout stated, an input cut inside a message is left open and the
//! target must close within that timeout (plus `prompt`). Over UDP
//! the input is one datagram; silence is checked for a short window.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, Result};
use bytes::Bytes;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::task::JoinHandle;
use tokio::time::{timeout_at, Instant};
use tokio_util::sync::CancellationToken;
use wireforms::magic::Magic;
use wireforms::reqres::{RequestLine, ResponseLine};
use wireforms::transport::reference;
use wireforms::transport::server::ServerOptions;
use wireforms::transport::udp::{max_datagram_len, parse_datagram, serve_udp};
use wireforms::typed::Typed;
use wireforms::Status;

use crate::conform::formats::per_channel;
use crate::conform::script::is_reset;

use super::finding::Difference;
use super::input::Input;
use super::Check;
use crate::formats::{with_format, CliFormat, Format, LimitArgs};

/// Longest wait for silence from a UDP server that should not answer.
const UDP_SILENCE: Duration = Duration::from_millis(100);

/// Bytes of replies from one exchange that are decoded and kept: past
/// this (plus the last read's whole replies), replies are only counted.
/// It also bounds the one reply still arriving (longer is junk).
const MAX_REPLY_BYTES: usize = 16 << 20;
/// Replies a target may send past the reference's count that are kept;
/// the rest are counted (extra replies either way).
const EXTRA_REPLIES_KEPT: usize = 16;

/// What one exchange with a server showed.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Observation {
    /// Whole replies, in the JSON shape (mux: in channel order, stable).
    pub replies: Vec<Value>,
    /// Whole replies past the cap (see [`MAX_REPLY_BYTES`] and
    /// [`EXTRA_REPLIES_KEPT`]): counted, not kept.
    pub unkept: usize,
    /// Bytes that are not a whole reply: what they were.
    pub junk: Option<String>,
    /// The server closed (or reset) the connection.
    pub closed: bool,
    /// The connection could not be made.
    pub refused: Option<String>,
}

/// Limit arguments for a server enforcing `limit`.
pub fn limit_args(format: Format, limit: u64) -> LimitArgs {
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

/// A running reference server.
pub struct ReferenceServer {
    /// Where it listens.
    pub addr: SocketAddr,
    shutdown: CancellationToken,
    task: JoinHandle<()>,
}

impl ReferenceServer {
    /// Starts the reference server of `format` on 127.0.0.1:0, enforcing `limit`.
    ///
    /// # Errors
    /// No such server (response; frame and mux over UDP), or no socket.
    pub async fn start(
        format: Format,
        limit: u64,
        udp: bool,
        idle: Option<Duration>,
    ) -> Result<ReferenceServer> {
        let args = limit_args(format, limit);
        let shutdown = CancellationToken::new();
        let token = shutdown.clone();
        let options = ServerOptions::default()
            .idle_timeout(idle.unwrap_or(Duration::from_secs(10)))
            .shutdown_timeout(Duration::from_millis(200));
        if udp {
            let socket = Arc::new(UdpSocket::bind("127.0.0.1:0").await?);
            let addr = socket.local_addr()?;
            let task = match format {
                Format::Typed => {
                    let l = Typed::limits(&args)?;
                    let h = reference::ReferenceHandler::<Typed>::new(l);
                    tokio::spawn(async move {
                        let _ = serve_udp::<Typed, Typed, _>(socket, l, h, token).await;
                    })
                }
                Format::Magic => {
                    let l = Magic::limits(&args)?;
                    let h = reference::ReferenceHandler::<Magic>::new(l);
                    tokio::spawn(async move {
                        let _ = serve_udp::<Magic, Magic, _>(socket, l, h, token).await;
                    })
                }
                Format::Request => {
                    let l = RequestLine::limits(&args)?;
                    let replies =
                        wireforms::reqres::Limits::new(l.max_line_len.min(max_datagram_len(&addr)));
                    let h = reference::ReferenceHandler::<RequestLine>::new(replies);
                    tokio::spawn(async move {
                        let _ =
                            serve_udp::<RequestLine, ResponseLine, _>(socket, l, h, token).await;
                    })
                }
                other => {
                    return Err(anyhow!(
                        "--udp: {} has no datagram variant (typed, magic and request have)",
                        other.name()
                    ))
                }
            };
            return Ok(ReferenceServer {
                addr,
                shutdown,
                task,
            });
        }
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let o = options;
        let task = match format {
            Format::Typed => {
                let l = Typed::limits(&args)?;
                tokio::spawn(async move {
                    let _ = reference::typed(l, o).serve(listener, token).await;
                })
            }
            Format::Magic => {
                let l = Magic::limits(&args)?;
                tokio::spawn(async move {
                    let _ = reference::magic(l, o).serve(listener, token).await;
                })
            }
            Format::Frame => {
                let l = wireforms::frame::Frame::limits(&args)?;
                tokio::spawn(async move {
                    let _ = reference::frame(l, o).serve(listener, token).await;
                })
            }
            Format::Mux => {
                let l = wireforms::mux::Mux::limits(&args)?;
                tokio::spawn(async move {
                    let _ = reference::mux(l, o).serve(listener, token).await;
                })
            }
            Format::Request => {
                let l = RequestLine::limits(&args)?;
                tokio::spawn(async move {
                    let _ = reference::request(l, o).serve(listener, token).await;
                })
            }
            Format::Response => {
                return Err(anyhow!(
                    "there is no response server: fuzz --format request (it answers with response lines)"
                ))
            }
        };
        Ok(ReferenceServer {
            addr,
            shutdown,
            task,
        })
    }

    /// Stops it.
    pub async fn stop(self) {
        self.shutdown.cancel();
        let _ = self.task.await;
    }
}

/// The server oracle of one campaign job.
pub struct ServerOracle {
    /// The format the server reads.
    pub format: Format,
    /// The server under test.
    pub target: SocketAddr,
    /// The reference server.
    pub reference: SocketAddr,
    /// Datagrams instead of a stream.
    pub udp: bool,
    /// Longest wait for a reply or a close.
    pub timeout: Duration,
    /// How soon a close must follow input that must be refused.
    pub prompt: Duration,
    /// The target's idle timeout, as the user states it: an input cut
    /// inside a message is then left open (no half-close), and the target
    /// must close within it (plus `prompt`), as the reference does.
    pub idle: Option<Duration>,
}

/// The error the crate finds in `input` as a stream, `incomplete` included.
fn stream_error(format: Format, input: &Input) -> Option<String> {
    crate::vectors::judge(&input.case(format, String::new()), None).error
}

impl ServerOracle {
    /// Writes `input` to both servers and compares what they do.
    pub async fn check(&self, input: &Input) -> Result<Check> {
        if self.udp {
            return Ok(self.check_udp(input).await);
        }
        let kind = stream_error(self.format, input);
        let (error, limit, quiet) = match self.idle {
            Some(idle) if kind.as_deref() == Some("incomplete") => (
                kind,
                self.timeout.max(idle + self.prompt * 2),
                idle + self.prompt,
            ),
            _ => (
                kind.filter(|e| e != "incomplete"),
                self.timeout,
                self.prompt,
            ),
        };
        let half_close = error.is_none();
        let reference = probe_tcp(
            self.format,
            self.reference,
            &input.bytes,
            half_close,
            None,
            limit,
            quiet,
        )
        .await;
        if let Some(why) = &reference.refused {
            return Err(anyhow!("the reference server refused a connection: {why}"));
        }
        let target = probe_tcp(
            self.format,
            self.target,
            &input.bytes,
            half_close,
            Some(reference.replies.len()),
            limit,
            quiet,
        )
        .await;
        Ok(
            match compare(self.format, &reference, &target, error.as_deref(), quiet) {
                Some(d) => Check::Differ(d),
                None => Check::Agree,
            },
        )
    }

    async fn check_udp(&self, input: &Input) -> Check {
        // The model says whether the reference answers; silence is then
        // awaited from both at once.
        let answers = with_format!(self.format, F => {
            usize::from(parse_datagram::<F>(Bytes::copy_from_slice(&input.bytes), &match F::limits(&limit_args(self.format, input.limit)) {
                Ok(l) => l,
                Err(_) => return Check::Skipped,
            }).is_ok())
        });
        let (reference, target) = tokio::join!(
            probe_udp(
                self.format,
                self.reference,
                &input.bytes,
                answers,
                self.timeout
            ),
            probe_udp(
                self.format,
                self.target,
                &input.bytes,
                answers,
                self.timeout
            ),
        );
        if reference.refused.is_some() {
            // Not sendable at all (over the largest datagram): no input.
            return Check::Skipped;
        }
        match compare(self.format, &reference, &target, None, self.prompt) {
            Some(d) => Check::Differ(d),
            None => Check::Agree,
        }
    }
}

/// Decodes whole replies at the front of `bytes`: (replies, bytes used),
/// or what is wrong with the next one.
fn decode_replies(format: Format, bytes: &[u8]) -> (Vec<Value>, usize, Option<String>) {
    let reply_format = if format == Format::Request {
        Format::Response
    } else {
        format
    };
    with_format!(reply_format, F => decode_as::<F>(bytes))
}

fn widest<F: CliFormat>() -> F::Limits {
    let args = if F::FORMAT.is_text() {
        LimitArgs {
            max_payload: None,
            max_line: Some(MAX_REPLY_BYTES),
        }
    } else {
        let max = super::layout::header(F::FORMAT).map_or(0, |h| h.length_max());
        LimitArgs {
            max_payload: Some(max),
            max_line: None,
        }
    };
    F::limits(&args).unwrap_or_default()
}

fn decode_as<F: CliFormat>(bytes: &[u8]) -> (Vec<Value>, usize, Option<String>) {
    let limits = widest::<F>();
    let mut out = Vec::new();
    let mut used = 0;
    loop {
        match F::parse(&bytes[used..], &limits) {
            Ok(Status::Complete(m, len)) => {
                out.push(serde_json::to_value(F::to_owned_copy(&m)).unwrap_or(Value::Null));
                used += len;
            }
            Ok(Status::Incomplete(_)) => return (out, used, None),
            Err(e) => return (out, used, Some(format!("reply {}: {e}", used))),
        }
    }
}

/// One TCP exchange. With `want`, once that many replies are in, the wait
/// for more (or for the close) is `prompt` past the last byte.
async fn probe_tcp(
    format: Format,
    addr: SocketAddr,
    bytes: &[u8],
    half_close: bool,
    want: Option<usize>,
    limit: Duration,
    prompt: Duration,
) -> Observation {
    let mut seen = Observation::default();
    let deadline = Instant::now() + limit;
    let stream = match timeout_at(deadline, TcpStream::connect(addr)).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            seen.refused = Some(e.to_string());
            return seen;
        }
        Err(_) => {
            seen.refused = Some(format!("no connection within {limit:?}"));
            return seen;
        }
    };
    let _ = stream.set_nodelay(true);
    let (mut rd, mut wr) = stream.into_split();
    let write = bytes.to_vec();
    // Written while reading, so neither side's buffers fill; a server that
    // closes early makes the write fail, which is not itself a finding.
    let writer = tokio::spawn(async move {
        let _ = wr.write_all(&write).await;
        if half_close {
            let _ = wr.shutdown().await;
        }
        wr
    });
    let mut buf = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    let mut last = Instant::now();
    let cap = want.map_or(usize::MAX, |w| w.saturating_add(EXTRA_REPLIES_KEPT));
    let mut kept_bytes = 0usize;
    loop {
        let until = match want {
            Some(w) if seen.replies.len() >= w => deadline.min(last + prompt),
            _ => deadline,
        };
        match timeout_at(until, rd.read(&mut chunk)).await {
            Err(_) => break,
            Ok(Ok(0)) => {
                seen.closed = true;
                break;
            }
            Ok(Err(e)) if is_reset(&e) => {
                seen.closed = true;
                break;
            }
            Ok(Err(_)) => {
                seen.closed = true;
                break;
            }
            Ok(Ok(n)) => {
                last = Instant::now();
                buf.extend_from_slice(&chunk[..n]);
                let (replies, used, bad) = decode_replies(format, &buf);
                buf.drain(..used);
                let room = if kept_bytes < MAX_REPLY_BYTES {
                    cap.saturating_sub(seen.replies.len())
                } else {
                    0
                };
                kept_bytes += used;
                seen.unkept += replies.len().saturating_sub(room);
                seen.replies.extend(replies.into_iter().take(room));
                if let Some(bad) = bad {
                    seen.junk = Some(bad);
                    break;
                }
                if buf.len() > MAX_REPLY_BYTES {
                    seen.junk = Some(format!("a reply over {MAX_REPLY_BYTES} bytes"));
                    break;
                }
            }
        }
    }
    if seen.junk.is_none() && !buf.is_empty() {
        seen.junk = Some(format!(
            "{} bytes that are not a whole reply: {}",
            buf.len(),
            crate::hex::encode(&buf[..buf.len().min(16)])
        ));
    }
    writer.abort();
    seen.replies = per_channel(format, std::mem::take(&mut seen.replies));
    seen
}

/// One datagram; replies awaited until `answers` came (then no more is
/// awaited) or, when none should, for [`UDP_SILENCE`].
async fn probe_udp(
    format: Format,
    addr: SocketAddr,
    bytes: &[u8],
    answers: usize,
    limit: Duration,
) -> Observation {
    let mut seen = Observation::default();
    let socket = match UdpSocket::bind("127.0.0.1:0").await {
        Ok(s) => s,
        Err(e) => {
            seen.refused = Some(e.to_string());
            return seen;
        }
    };
    if let Err(e) = socket.send_to(bytes, addr).await {
        seen.refused = Some(e.to_string());
        return seen;
    }
    let deadline = Instant::now() + if answers == 0 { UDP_SILENCE } else { limit };
    let mut buf = vec![0u8; 65_536];
    while seen.replies.len() < answers.max(1) {
        match timeout_at(deadline, socket.recv_from(&mut buf)).await {
            Ok(Ok((n, from))) if from == addr => {
                let reply_format = if format == Format::Request {
                    Format::Response
                } else {
                    format
                };
                let datagram = Bytes::copy_from_slice(&buf[..n]);
                let parsed = with_format!(reply_format, F => parse_datagram::<F>(datagram, &widest::<F>())
                    .map(|m| serde_json::to_value(&m).unwrap_or(Value::Null)));
                match parsed {
                    Ok(v) => seen.replies.push(v),
                    Err(e) => {
                        seen.junk = Some(format!("a reply datagram that is not a message: {e}"));
                        break;
                    }
                }
            }
            Ok(Ok(_)) => {}
            Ok(Err(_)) | Err(_) => break,
        }
    }
    seen
}

fn count(n: usize) -> String {
    super::plural(n, "reply", "replies")
}

fn ending(o: &Observation) -> &'static str {
    if o.closed {
        "then closed"
    } else {
        "then open"
    }
}

fn short(v: &Value) -> String {
    let s = v.to_string();
    match s.char_indices().nth(100) {
        Some((cut, _)) => format!("{}...", &s[..cut]),
        None => s,
    }
}

/// What differs between the reference's and the target's exchange, if
/// anything that the spec rules on; `error` is the wire error of the input
/// (`incomplete` when it was left open for the idle timeout), `prompt` how
/// long the target was waited for once the reference had closed.
pub fn compare(
    format: Format,
    reference: &Observation,
    target: &Observation,
    error: Option<&str>,
    prompt: Duration,
) -> Option<Difference> {
    let total = |o: &Observation| o.replies.len() + o.unkept;
    let said = |o: &Observation| format!("{}, {}", count(total(o)), ending(o));
    let differ = |key: String, detail: String| {
        Some(Difference {
            key,
            reference: said(reference),
            testee: match &target.junk {
                Some(j) => format!("{}, then {j}", count(total(target))),
                None => said(target),
            },
            detail,
        })
    };
    if let Some(why) = &target.refused {
        return differ("connection refused".into(), why.clone());
    }
    if let Some(junk) = &target.junk {
        if reference.junk.is_none() {
            return differ(
                format!("reply not a valid {} message", format.name()),
                junk.clone(),
            );
        }
    }
    // The kept replies are compared, and the counts of all.
    let (r, t) = (&reference.replies, &target.replies);
    let (rn, tn) = (total(reference), total(target));
    let common = r.iter().zip(t).take_while(|(a, b)| a == b).count();
    let one_differs = common < r.len().min(t.len());
    if one_differs || rn != tn {
        let (key, detail) = if !one_differs && tn < rn {
            (
                "fewer replies".to_string(),
                format!("{tn} of {}", count(rn)),
            )
        } else if !one_differs {
            let extra = match t.get(common) {
                Some(v) => short(v),
                None => format!("not kept (over {} kept)", count(t.len())),
            };
            (
                "extra replies".to_string(),
                format!("{} (expected {rn}); extra: {extra}", count(tn)),
            )
        } else {
            (
                "a reply differs".to_string(),
                format!(
                    "reply {}: {} (expected {})",
                    common + 1,
                    short(&t[common]),
                    short(&r[common])
                ),
            )
        };
        return differ(key, detail);
    }
    // A length over the limit must be refused before the payload is
    // awaited: a server still open is indistinguishable from one waiting.
    if let Some(kind @ ("too_large" | "line_too_long")) = error {
        if reference.closed && !target.closed {
            return differ(
                format!("still open after {kind}"),
                format!("connection still open {prompt:?} after the bad input"),
            );
        }
    }
    // A peer stuck inside a message is closed after the idle timeout.
    if error == Some("incomplete") && reference.closed && !target.closed {
        return differ(
            "still open past the idle timeout".into(),
            format!("connection still open {prompt:?} after the input stopped inside a message"),
        );
    }
    None
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn a_target_streaming_replies_is_kept_bounded_and_differs() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let target = rt.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let server = tokio::spawn(async move {
                let (mut s, _) = listener.accept().await.unwrap();
                // The request read first, so the close is not a reset.
                let mut request = [0u8; 9];
                let _ = s.read_exact(&mut request).await;
                let many = b"1:OK:x\n".repeat(20_000);
                for _ in 0..5 {
                    if s.write_all(&many).await.is_err() {
                        break;
                    }
                }
            });
            let seen = probe_tcp(
                Format::Request,
                addr,
                b"1:ECHO:x\n",
                true,
                Some(1),
                Duration::from_secs(10),
                Duration::from_secs(5),
            )
            .await;
            server.abort();
            seen
        });
        assert!(target.junk.is_none(), "{:?}", target.junk);
        assert!(
            target.replies.len() <= 1 + EXTRA_REPLIES_KEPT,
            "{}",
            target.replies.len()
        );
        assert_eq!(target.replies.len() + target.unkept, 100_000);
        let reference = Observation {
            replies: target.replies[..1].to_vec(),
            closed: true,
            ..Observation::default()
        };
        let d = compare(Format::Request, &reference, &target, None, Duration::ZERO).unwrap();
        assert_eq!(d.key, "extra replies");
        assert!(
            d.detail.starts_with("100000 replies (expected 1)"),
            "{}",
            d.detail
        );
        assert!(d.testee.starts_with("100000 replies"), "{}", d.testee);
        // A reference past the cap itself agrees with an equal target.
        let same = compare(Format::Request, &target, &target, None, Duration::ZERO);
        assert!(same.is_none());
    }
}
