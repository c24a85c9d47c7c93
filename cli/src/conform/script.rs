//! The script engine: bytes written to a server over TCP (at once, one
//! byte at a time, then maybe a half-close, on one or more connections) and
//! the replies that must come back, then what must follow (nothing, or a
//! prompt close).

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{timeout_at, Instant};

use super::formats::{decode_replies, per_channel};
use super::messages::{preview, reply_difference, short};
use crate::formats::Format;

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

pub(crate) fn is_reset(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::ConnectionReset
            | std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::BrokenPipe
    )
}

/// Bytes read that are kept for the reports, per case.
pub const RECEIVED_KEPT_MAX: usize = 64 * 1024;

/// Appends `bytes` to `kept` while it holds under `max`; the rest is dropped.
pub(crate) fn keep(kept: &mut Vec<u8>, bytes: &[u8], max: usize) {
    let room = max.saturating_sub(kept.len());
    kept.extend_from_slice(&bytes[..bytes.len().min(room)]);
}

/// Bytes a peer made us see: the first ones kept (up to a cap, see
/// [`keep`]), all of them counted.
#[derive(Clone, Debug, Default)]
pub(crate) struct Kept {
    pub bytes: Vec<u8>,
    pub seen: u64,
}

impl Kept {
    /// Counts `more`, keeping it while under `max` bytes.
    pub(crate) fn push(&mut self, more: &[u8], max: usize) {
        keep(&mut self.bytes, more, max);
        self.seen += more.len() as u64;
    }

    /// Bytes seen but not kept.
    pub(crate) fn dropped(&self) -> u64 {
        self.seen - self.bytes.len() as u64
    }
}

/// Bytes from a server, in hex and decoded as its replies.
pub(crate) fn shown(format: Format, bytes: &[u8]) -> String {
    let decoded = super::formats::describe(format, bytes, true).replace('\n', "; ");
    let decoded = match decoded.char_indices().nth(120) {
        Some((cut, _)) => format!("{}...", &decoded[..cut]),
        None => decoded,
    };
    format!("{} = {decoded}", preview(bytes))
}

impl Script {
    /// Runs the script; `Err` says what was seen. The bytes read on the
    /// first connection (at most [`RECEIVED_KEPT_MAX`]) are kept in
    /// `received` for the reports.
    pub async fn run(
        &self,
        addr: SocketAddr,
        limit: Duration,
        prompt: Duration,
        received: &mut Vec<u8>,
    ) -> Result<(), String> {
        let deadline = Instant::now() + limit;
        let mut seen: Vec<Vec<u8>> = vec![Vec::new(); self.connections.max(1)];
        let runs = seen
            .iter_mut()
            .map(|kept| self.one(addr, deadline, limit, prompt, kept));
        let results = futures::future::join_all(runs).await;
        if let Some(first) = seen.into_iter().next() {
            *received = first;
        }
        for (i, r) in results.into_iter().enumerate() {
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
        kept: &mut Vec<u8>,
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
            keep(kept, &chunk[..n], RECEIVED_KEPT_MAX);
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
            return Err(reply_difference(i, &seen[i], &expected[i]));
        }
        if self.after != After::Open {
            if !buf.is_empty() {
                return Err(format!(
                    "replied to bad input: {}",
                    shown(self.format, &buf)
                ));
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
                Ok(Ok(n)) => {
                    keep(kept, &chunk[..n], RECEIVED_KEPT_MAX);
                    return Err(format!(
                        "replied to bad input: {}",
                        shown(self.format, &chunk[..n])
                    ));
                }
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
