//! `send`: messages to a server, replies printed.
//!
//! Binary formats go one message at a time, each waiting for its reply; a
//! server that closes after one reply (the guide's typed and magic servers)
//! gets a new connection for the next message. Request lines are pipelined
//! over one connection and each response is matched to its request by ID.

use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use futures::{SinkExt, StreamExt};
use tokio::net::UdpSocket;
use tokio::time::timeout;
use tokio_util::codec::{Framed, FramedRead, FramedWrite};
use wireforms::magic::Magic;
use wireforms::reqres::{RequestBuf, RequestLine, ResponseBuf, ResponseLine};
use wireforms::transport::codec::WireCodec;
use wireforms::transport::listener::{self, TcpOrUnixStream};
use wireforms::transport::udp::{max_datagram_len, parse_datagram};
use wireforms::typed::Typed;
use wireforms::{Encode, Status};

use crate::decode::{human_line, json_line, message_from_json};
use crate::formats::{with_format, CliFormat, Format};

/// Options of `send`.
pub struct SendArgs {
    /// The format of the requests.
    pub format: Format,
    /// The server.
    pub target: String,
    /// Datagrams instead of a byte stream.
    pub udp: bool,
    /// Messages given on the command line; standard input when empty.
    pub messages: Vec<String>,
    /// Print replies as JSON lines.
    pub json: bool,
    /// How long to wait for a reply (and for the connection).
    pub timeout: Duration,
}

/// Runs `send`.
pub async fn send(args: SendArgs) -> Result<i32> {
    let texts = if args.messages.is_empty() {
        let mut lines = Vec::new();
        for (i, line) in std::io::stdin().lock().lines().enumerate() {
            let line =
                line.map_err(|e| anyhow!("cannot read standard input line {}: {e}", i + 1))?;
            if !line.trim().is_empty() {
                lines.push(line);
            }
        }
        lines
    } else {
        args.messages.clone()
    };
    if args.udp {
        return match args.format {
            Format::Typed => send_datagrams::<Typed, Typed>(&args, &texts).await,
            Format::Magic => send_datagrams::<Magic, Magic>(&args, &texts).await,
            Format::Request => send_datagrams::<RequestLine, ResponseLine>(&args, &texts).await,
            other => bail!(
                "--udp: {} has no datagram variant (typed, magic and request have)",
                other.name()
            ),
        };
    }
    match args.format {
        Format::Request => send_requests(&args, &texts).await,
        Format::Response => bail!("responses are what servers send; send `request` lines"),
        f => with_format!(f, F => send_binary::<F>(&args, &texts).await),
    }
}

/// A message from an argument or input line: a JSON object, or plain text
/// (binary formats: the payload, type or channel 1; request: the line
/// `ID:COMMAND:ARGS`).
fn parse_message<F: CliFormat>(text: &str) -> Result<F::Owned> {
    if text.trim_start().starts_with('{') {
        return message_from_json::<F>(text);
    }
    let json = match F::FORMAT {
        Format::Typed => {
            serde_json::json!({"type": 1, "payload": crate::hex::encode(text.as_bytes())})
        }
        Format::Magic => {
            serde_json::json!({"version": 1, "type": 1, "payload": crate::hex::encode(text.as_bytes())})
        }
        Format::Frame => serde_json::json!({"payload": crate::hex::encode(text.as_bytes())}),
        Format::Mux => {
            serde_json::json!({"channel": 1, "payload": crate::hex::encode(text.as_bytes())})
        }
        Format::Request | Format::Response => {
            let line = format!("{text}\n");
            let limits = F::Limits::default();
            return match F::parse(line.as_bytes(), &limits) {
                Ok(Status::Complete(m, _)) => Ok(F::to_owned_copy(&m)),
                Ok(Status::Incomplete(_)) => bail!("not a whole line"),
                Err(e) => bail!("not a {} line `ID:COMMAND:ARGS`: {e}", F::NAME),
            };
        }
    };
    message_from_json::<F>(&json.to_string())
}

/// `send --udp`: each message in a datagram of its own, each waiting for
/// its one reply datagram (typed and magic answer in kind, request lines
/// with response lines). A lost datagram is a reply that does not come:
/// the timeout says so.
async fn send_datagrams<F, R>(args: &SendArgs, texts: &[String]) -> Result<i32>
where
    F: CliFormat,
    R: CliFormat,
{
    let messages = texts
        .iter()
        .enumerate()
        .map(|(i, t)| parse_message::<F>(t).with_context(|| format!("message {}", i + 1)))
        .collect::<Result<Vec<_>>>()?;
    let target = tokio::net::lookup_host(&args.target)
        .await
        .map_err(|e| anyhow!("cannot resolve {}: {e}", args.target))?
        .next()
        .ok_or_else(|| anyhow!("cannot resolve {}: no address", args.target))?;
    let local: std::net::SocketAddr = if target.is_ipv4() {
        (std::net::Ipv4Addr::UNSPECIFIED, 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let socket = UdpSocket::bind(local)
        .await
        .map_err(|e| anyhow!("cannot open a udp socket: {e}"))?;
    socket
        .connect(target)
        .await
        .map_err(|e| anyhow!("cannot send to {target} (udp): {e}"))?;
    let max = max_datagram_len(&target);
    // One byte more than a datagram can hold: a reply that fills it is cut.
    let mut buf = vec![0u8; max + 1];
    let mut offset = 0u64;
    for (i, message) in messages.iter().enumerate() {
        let n = i + 1;
        let bytes = F::as_message(message)
            .to_bytes()
            .map_err(|e| anyhow!("message {n}: cannot encode: {e}"))?;
        if bytes.len() > max {
            bail!(
                "message {n}: {} bytes do not fit in one datagram (at most {max})",
                bytes.len()
            );
        }
        socket
            .send(&bytes)
            .await
            .map_err(|e| anyhow!("message {n}: cannot send to {target} (udp): {e}"))?;
        let len = match timeout(args.timeout, socket.recv(&mut buf)).await {
            Err(_) => bail!(
                "message {n}: no reply within {} (udp: the datagram or its reply may be lost)",
                humantime::format_duration(args.timeout)
            ),
            Ok(Err(e)) => bail!("message {n}: no reply from {target} (udp): {e}"),
            Ok(Ok(len)) => len,
        };
        let datagram = bytes::Bytes::copy_from_slice(&buf[..len]);
        let reply = parse_datagram::<R>(datagram, &R::Limits::default())
            .map_err(|e| anyhow!("message {n}: bad reply: {e}"))?;
        print_reply::<R>(args.json, &format!("reply to {n}: "), offset, &reply)?;
        offset += len as u64;
    }
    Ok(0)
}

/// `unix:/path` or a TCP address (with `TCP_NODELAY`).
async fn connect(target: &str, limit: Duration) -> Result<TcpOrUnixStream> {
    let stream = timeout(limit, listener::connect(target))
        .await
        .map_err(|_| anyhow!("cannot connect to {target}: no answer within {limit:?}"))?
        .map_err(|e| anyhow!("cannot connect to {target}: {e}"))?;
    Ok(stream)
}

fn print_reply<F: CliFormat>(
    json: bool,
    prefix: &str,
    offset: u64,
    reply: &F::Owned,
) -> Result<()> {
    let message = F::as_message(reply);
    let raw = message
        .to_bytes()
        .map_err(|e| anyhow!("reply cannot be shown: {e}"))?;
    let mut out = Vec::new();
    if json {
        json_line::<F>(&mut out, offset, &message, raw.len())?;
    } else {
        let fields = F::fields(&message, &raw);
        out.extend_from_slice(
            format!("{prefix}{}\n", human_line(offset, &fields, raw.len())).as_bytes(),
        );
    }
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(&out)?;
    stdout.flush()?;
    Ok(())
}

/// Whether a read or write error means the peer closed the connection.
fn is_closed(e: &wireforms::Error) -> bool {
    match e {
        wireforms::Error::Io(io) => matches!(
            io.kind(),
            std::io::ErrorKind::ConnectionReset
                | std::io::ErrorKind::BrokenPipe
                | std::io::ErrorKind::ConnectionAborted
                | std::io::ErrorKind::UnexpectedEof
        ),
        wireforms::Error::Closed { .. } => true,
        _ => false,
    }
}

async fn send_binary<F: CliFormat>(args: &SendArgs, texts: &[String]) -> Result<i32> {
    let messages = texts
        .iter()
        .enumerate()
        .map(|(i, t)| parse_message::<F>(t).with_context(|| format!("message {}", i + 1)))
        .collect::<Result<Vec<_>>>()?;
    let mut conn: Option<(Framed<TcpOrUnixStream, WireCodec<F>>, u64, u64)> = None;
    for (i, message) in messages.into_iter().enumerate() {
        let n = i + 1;
        let mut retried = false;
        'attempt: loop {
            if conn.is_none() {
                let stream = connect(&args.target, args.timeout).await?;
                conn = Some((Framed::new(stream, WireCodec::<F>::default()), 0, 0));
            }
            let Some((framed, replies, offset)) = conn.as_mut() else {
                unreachable!("connected just above")
            };
            // A server that answered before and closed since gets one
            // reconnection per message.
            let may_retry = *replies > 0 && !retried;
            let sent = timeout(args.timeout, framed.send(message.clone())).await;
            match sent {
                Err(_) => bail!(
                    "message {n}: the server did not take it within {:?}",
                    args.timeout
                ),
                Ok(Err(e)) if is_closed(&e) && may_retry => {
                    conn = None;
                    retried = true;
                    continue 'attempt;
                }
                Ok(Err(e)) => bail!("message {n}: cannot send: {e}"),
                Ok(Ok(())) => {}
            }
            let mut got = 0;
            loop {
                // After a full mux frame more of the same reply may follow.
                let wait = if got == 0 {
                    args.timeout
                } else {
                    Duration::from_millis(200)
                };
                match timeout(wait, framed.next()).await {
                    Err(_) if got > 0 => break 'attempt,
                    Err(_) => bail!("message {n}: no reply within {:?}", args.timeout),
                    Ok(Some(Ok(reply))) => {
                        let size = F::as_message(&reply).encoded_len() as u64;
                        print_reply::<F>(args.json, &format!("reply to {n}: "), *offset, &reply)?;
                        *offset += size;
                        *replies += 1;
                        got += 1;
                        let full_mux = F::FORMAT == Format::Mux
                            && size
                                == (wireforms::mux::HEADER_LEN + wireforms::mux::MAX_PAYLOAD_LEN)
                                    as u64;
                        if !full_mux {
                            break 'attempt;
                        }
                    }
                    Ok(Some(Err(e))) if is_closed(&e) && may_retry && got == 0 => {
                        conn = None;
                        retried = true;
                        continue 'attempt;
                    }
                    Ok(Some(Err(e))) => bail!("message {n}: bad reply: {e}"),
                    Ok(None) if may_retry && got == 0 => {
                        conn = None;
                        retried = true;
                        continue 'attempt;
                    }
                    Ok(None) if got > 0 => {
                        conn = None;
                        break 'attempt;
                    }
                    Ok(None) => {
                        bail!("message {n}: the server closed the connection without replying")
                    }
                }
            }
        }
    }
    Ok(0)
}

async fn send_requests(args: &SendArgs, texts: &[String]) -> Result<i32> {
    let mut requests = Vec::new();
    let mut ids: HashMap<String, usize> = HashMap::new();
    for (i, t) in texts.iter().enumerate() {
        let r = parse_message::<RequestLine>(t).with_context(|| format!("message {}", i + 1))?;
        r.check()
            .map_err(|e| anyhow!("message {}: cannot encode: {e}", i + 1))?;
        if let Some(first) = ids.insert(r.id.to_string(), i + 1) {
            bail!(
                "message {}: id {:?} is already used by message {first}; pipelined requests need distinct ids (spec reqres/10)",
                i + 1,
                &*r.id
            );
        }
        requests.push(r);
    }
    // Request number by id, for the requests still waiting for a response.
    let mut pending: HashMap<String, usize> = ids;
    // Each connection answers at least one pending request, or the send
    // fails: a reply to no pending request is shown but is no progress, so
    // a server that only sends those cannot keep us reconnecting.
    while !pending.is_empty() {
        let stream = connect(&args.target, args.timeout).await?;
        let (read, write) = tokio::io::split(stream);
        let mut reader = FramedRead::new(read, WireCodec::<ResponseLine>::default());
        let mut writer = FramedWrite::new(write, WireCodec::<RequestLine>::default());
        let mut order: Vec<usize> = pending.values().copied().collect();
        order.sort_unstable();
        let batch: Vec<RequestBuf> = order.iter().map(|&n| requests[n - 1].clone()).collect();
        let writing = tokio::spawn(async move {
            for r in batch {
                writer.feed(r).await?;
            }
            writer.flush().await?;
            Ok::<_, wireforms::Error>(writer)
        });
        let mut answered_here = 0;
        let mut unmatched_here = 0;
        let mut offset = 0u64;
        let closed = loop {
            if pending.is_empty() {
                break false;
            }
            match timeout(args.timeout, reader.next()).await {
                Err(_) => bail!(
                    "no reply within {} ({} unanswered)",
                    humantime::format_duration(args.timeout),
                    crate::conform::plural(pending.len(), "request", "requests")
                ),
                Ok(Some(Ok(response))) => {
                    let size = response.encoded_len() as u64;
                    if print_response(args.json, &mut pending, offset, &response)? {
                        answered_here += 1;
                    } else {
                        unmatched_here += 1;
                    }
                    offset += size;
                }
                Ok(Some(Err(e))) if is_closed(&e) => break true,
                Ok(Some(Err(e))) => bail!("bad reply: {e}"),
                Ok(None) => break true,
            }
        };
        writing.abort();
        // A server that closed after some replies gets the rest again.
        if closed && !pending.is_empty() && answered_here == 0 {
            let stray = match unmatched_here {
                0 => String::new(),
                1 => " (its one reply answered no pending request)".to_string(),
                n => format!(" (its {n} replies answered no pending request)"),
            };
            bail!(
                "the server closed the connection with {} unanswered{stray}",
                crate::conform::plural(pending.len(), "request", "requests")
            );
        }
    }
    Ok(0)
}

/// Prints `response`; whether it answered a pending request (IDs compare
/// exactly, spec reqres/10).
fn print_response(
    json: bool,
    pending: &mut HashMap<String, usize>,
    offset: u64,
    response: &ResponseBuf,
) -> Result<bool> {
    let request = pending.remove(&*response.id);
    let prefix = match request {
        Some(n) => format!("reply to {n}: "),
        None => "reply to no pending request: ".to_string(),
    };
    print_reply::<ResponseLine>(json, &prefix, offset, response)?;
    Ok(request.is_some())
}
