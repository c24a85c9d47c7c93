//! `wireforms shim`: this crate's clients (the request/response [`Client`]
//! and the [`MuxSession`]) behind the client shim protocol of
//! `spec/harness.md` §9, so that `conform --client --shim` is proven on a
//! real client.
//!
//! Reads one JSON operation a line from standard input, acts on it with the
//! library's client, and reports what the client delivered as JSON lines on
//! standard output, flushed one by one; ends with `{"event":"done"}` once
//! every call has ended (request) or the connection has ended or been
//! silent for the timeout (mux).

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{anyhow, bail, Result};
use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;
use wireforms::mux::ChannelId;
use wireforms::transport::mux_session::{MuxConfig, MuxSession};
use wireforms::transport::reqres_client::{Client, ClientConfig};

use crate::formats::Format;

/// One operation of the shim protocol.
#[derive(Debug, Deserialize)]
#[serde(tag = "op", rename_all = "lowercase")]
enum Op {
    /// Request/response: make a call.
    Call {
        tag: String,
        command: String,
        args: String,
    },
    /// Mux: send a payload on a channel.
    Send { channel: u16, payload: String },
    /// No more operations.
    End,
}

/// Options of `shim`.
pub struct ShimArgs {
    /// `request` or `mux`.
    pub format: Format,
    /// The server; default `WIREFORMS_ADDR`.
    pub addr: Option<String>,
    /// How long a call (or a silent mux connection) is waited for.
    pub timeout: Duration,
}

/// Runs the shim until its operations end and the client is done.
pub async fn shim(args: ShimArgs) -> Result<i32> {
    let addr = match args.addr {
        Some(a) => a,
        None => std::env::var("WIREFORMS_ADDR")
            .map_err(|_| anyhow!("no server address: give ADDR or set WIREFORMS_ADDR"))?,
    };
    let (events, rx) = mpsc::unbounded_channel::<Value>();
    let printer = tokio::spawn(print_events(rx));
    let result = match args.format {
        Format::Request => request(&addr, args.timeout, events).await,
        Format::Mux => mux(&addr, args.timeout, events).await,
        other => Err(anyhow!(
            "the shim drives request and mux clients, not {}",
            other.name()
        )),
    };
    // Every sender is gone once the client side is: the printer ends.
    let _ = printer.await;
    result.map(|()| 0)
}

async fn print_events(mut rx: mpsc::UnboundedReceiver<Value>) {
    let mut out = tokio::io::stdout();
    while let Some(event) = rx.recv().await {
        let mut line = event.to_string();
        line.push('\n');
        if out.write_all(line.as_bytes()).await.is_err() || out.flush().await.is_err() {
            return;
        }
    }
    let _ = out.write_all(b"{\"event\":\"done\"}\n").await;
    let _ = out.flush().await;
}

/// The operations on standard input, one a line, until `end` or its end.
fn read_ops() -> mpsc::UnboundedReceiver<Result<Op>> {
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut lines = BufReader::new(tokio::io::stdin()).lines();
        loop {
            match lines.next_line().await {
                Ok(Some(l)) if l.trim().is_empty() => continue,
                Ok(Some(l)) => {
                    let op = serde_json::from_str::<Op>(&l)
                        .map_err(|e| anyhow!("bad shim operation {l:?}: {e}"));
                    let end = matches!(op, Ok(Op::End) | Err(_));
                    if tx.send(op).is_err() || end {
                        return;
                    }
                }
                _ => {
                    let _ = tx.send(Ok(Op::End));
                    return;
                }
            }
        }
    });
    rx
}

fn error_kind(e: &wireforms::Error) -> &'static str {
    e.kind().as_str()
}

async fn request(
    addr: &str,
    timeout: Duration,
    events: mpsc::UnboundedSender<Value>,
) -> Result<()> {
    let config = ClientConfig::default().call_timeout(timeout);
    let client = tokio::time::timeout(timeout, Client::connect(addr, config))
        .await
        .map_err(|_| anyhow!("cannot connect to {addr} within {timeout:?}"))?
        .map_err(|e| anyhow!("cannot connect to {addr}: {e}"))?;
    let mut ops = read_ops();
    let mut calls = Vec::new();
    while let Some(op) = ops.recv().await {
        match op? {
            Op::Call { tag, command, args } => {
                let client = client.clone();
                let events = events.clone();
                calls.push(tokio::spawn(async move {
                    let event = match client.call(&command, &args).await {
                        Ok(r) => json!({"event": "response", "tag": tag, "id": &*r.id,
                                        "status": &*r.status, "data": &*r.data}),
                        Err(e) => json!({"event": "error", "tag": tag,
                                         "error": error_kind(&e), "message": e.to_string()}),
                    };
                    let _ = events.send(event);
                }));
            }
            Op::Send { .. } => bail!("send is a mux operation; this is a request shim"),
            Op::End => break,
        }
    }
    // Each call ends by itself: answered, timed out or failed.
    for call in calls {
        let _ = call.await;
    }
    let stats = client.stats();
    if stats.unknown_responses > 0 {
        let _ =
            events.send(json!({"event": "unknown_responses", "count": stats.unknown_responses}));
    }
    Ok(())
}

async fn mux(addr: &str, timeout: Duration, events: mpsc::UnboundedSender<Value>) -> Result<()> {
    let stream = tokio::time::timeout(timeout, tokio::net::TcpStream::connect(addr))
        .await
        .map_err(|_| anyhow!("cannot connect to {addr} within {timeout:?}"))?
        .map_err(|e| anyhow!("cannot connect to {addr}: {e}"))?;
    let _ = stream.set_nodelay(true);
    let session = MuxSession::new(stream, MuxConfig::default());
    let mut sinks = BTreeMap::new();
    let mut readers = Vec::new();
    let mut ops = read_ops();
    while let Some(op) = ops.recv().await {
        match op? {
            Op::Send { channel, payload } => {
                let payload = crate::hex::decode(payload.as_bytes())
                    .map_err(|e| anyhow!("channel {channel}: payload is not hex: {e}"))?;
                if let std::collections::btree_map::Entry::Vacant(slot) = sinks.entry(channel) {
                    let ch = session
                        .open(ChannelId(channel))
                        .map_err(|e| anyhow!("cannot open channel {channel}: {e}"))?;
                    let (sink, stream) = ch.split();
                    slot.insert(sink);
                    readers.push(tokio::spawn(read_channel(
                        channel,
                        stream,
                        timeout,
                        events.clone(),
                    )));
                }
                if let Some(sink) = sinks.get_mut(&channel) {
                    if let Err(e) = sink.send(Bytes::from(payload)).await {
                        let _ = events.send(json!({"event": "error", "channel": channel,
                                                   "error": error_kind(&e), "message": e.to_string()}));
                    }
                }
            }
            Op::Call { .. } => bail!("call is a request operation; this is a mux shim"),
            Op::End => break,
        }
    }
    if let Err(e) = session.flush().await {
        let _ = events
            .send(json!({"event": "error", "error": error_kind(&e), "message": e.to_string()}));
    }
    for r in readers {
        let _ = r.await;
    }
    drop(sinks);
    Ok(())
}

/// Reports a channel's payloads until the connection ends, fails, or is
/// silent for `timeout`.
async fn read_channel(
    channel: u16,
    mut stream: futures::stream::SplitStream<wireforms::transport::mux_session::MuxChannel>,
    timeout: Duration,
    events: mpsc::UnboundedSender<Value>,
) {
    loop {
        match tokio::time::timeout(timeout, stream.next()).await {
            Ok(Some(Ok(payload))) => {
                let _ = events.send(json!({"event": "data", "channel": channel,
                                           "payload": crate::hex::encode(&payload)}));
            }
            Ok(Some(Err(e))) => {
                let _ = events.send(json!({"event": "error", "channel": channel,
                                           "error": error_kind(&e), "message": e.to_string()}));
                return;
            }
            Ok(None) => return,
            Err(_) => {
                let _ = events.send(
                    json!({"event": "error", "channel": channel, "error": "timeout",
                                           "message": format!("nothing for {timeout:?}")}),
                );
                return;
            }
        }
    }
}
