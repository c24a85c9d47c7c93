//! The hostile-peer engine (`spec/security.md`): checks that need more
//! than one script, timing or several connections: silent and trickling
//! peers, floods, resets, and garbage beside well-behaved neighbours. The
//! cases themselves are in `cases/security.rs`.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Result;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::OwnedReadHalf;
use tokio::net::TcpStream;
use tokio::time::{sleep, timeout_at, Instant};

use super::formats::{decode_replies, per_channel};
use super::messages::{preview, reply_difference};
use super::script::is_reset;
use crate::formats::Format;

/// Idle timeout the built-in servers are started with: short, so the idle
/// cases stay quick.
pub const BUILTIN_IDLE_TIMEOUT: Duration = Duration::from_secs(1);
/// Connection limit of the built-in servers: small, so a flood is quick.
pub const BUILTIN_MAX_CONNECTIONS: usize = 16;
/// Connections opened beyond the limit in the flood case.
pub(crate) const FLOOD_EXCESS: usize = 10;
/// The flood case opens at most this many connections (file descriptors).
pub(crate) const FLOOD_MAX: usize = 500;
/// A trickling peer's pace.
pub(crate) const TRICKLE: Duration = Duration::from_millis(100);
/// Well-behaved connections beside the one sending garbage.
pub(crate) const NEIGHBOURS: usize = 4;
/// Pause that lets a server read what was just written.
const SETTLE: Duration = Duration::from_millis(50);

/// What the server under test is expected to enforce.
#[derive(Clone, Copy, Debug)]
pub struct Expect {
    /// Its idle timeout; `None`: unknown, so the idle cases are skipped.
    pub idle_timeout: Option<Duration>,
    /// Its connection limit; `None`: unknown, so the flood case is skipped.
    pub max_connections: Option<usize>,
    /// Slack on top of the idle timeout (`--prompt`).
    pub prompt: Duration,
}

/// A hostile-peer check on one server.
pub struct Probe {
    /// The format the server reads.
    pub format: Format,
    pub(crate) kind: Kind,
}

/// Bytes written and the replies they must get.
#[derive(Clone)]
pub(crate) struct Exchange {
    pub(crate) write: Vec<u8>,
    pub(crate) replies: Vec<Value>,
}

pub(crate) enum Kind {
    /// `write` (one byte per [`TRICKLE`] when `trickle`), then nothing: the
    /// server closes within `idle` + slack and sends nothing.
    Stall {
        write: Vec<u8>,
        trickle: bool,
        idle: Duration,
    },
    /// Another connection is reset in the middle of `cut` while `good` is
    /// half written; `good` is still answered.
    Reset { good: Exchange, cut: Vec<u8> },
    /// One connection sends `garbage`; the others are answered before and
    /// after it.
    Neighbours { good: Exchange, garbage: Vec<u8> },
    /// `max` served connections, [`FLOOD_EXCESS`] more closed at once, the
    /// served ones still answered, and a new one served once they end.
    Flood { good: Exchange, max: usize },
}

async fn connect(addr: SocketAddr, deadline: Instant) -> Result<TcpStream, String> {
    let stream = timeout_at(deadline, TcpStream::connect(addr))
        .await
        .map_err(|_| "no connection before the case deadline".to_string())?
        .map_err(|e| format!("cannot connect: {e}"))?;
    let _ = stream.set_nodelay(true);
    Ok(stream)
}

/// Reads until `want` replies are in and checks them; nothing more may be
/// pending once they are.
async fn replies(
    format: Format,
    stream: &mut TcpStream,
    want: &[Value],
    deadline: Instant,
) -> Result<(), String> {
    let mut buf = Vec::new();
    let mut got = Vec::new();
    let mut chunk = vec![0u8; 16 * 1024];
    while got.len() < want.len() {
        let n = match timeout_at(deadline, stream.read(&mut chunk)).await {
            Err(_) => return Err(format!("{} of {} replies in time", got.len(), want.len())),
            Ok(Ok(n)) => n,
            Ok(Err(e)) if is_reset(&e) => 0,
            Ok(Err(e)) => return Err(format!("read failed: {e}")),
        };
        if n == 0 {
            return Err(format!(
                "connection closed after {} of {} replies",
                got.len(),
                want.len()
            ));
        }
        buf.extend_from_slice(&chunk[..n]);
        let (more, used) = decode_replies(format, &buf)?;
        buf.drain(..used);
        got.extend(more);
    }
    if !buf.is_empty() || got.len() > want.len() {
        return Err(format!("more than the {} expected replies", want.len()));
    }
    let (got, want) = (per_channel(format, got), per_channel(format, want.to_vec()));
    match (0..want.len()).find(|&i| got[i] != want[i]) {
        Some(i) => Err(reply_difference(i, &got[i], &want[i])),
        None => Ok(()),
    }
}

async fn exchange(
    format: Format,
    stream: &mut TcpStream,
    ex: &Exchange,
    deadline: Instant,
) -> Result<(), String> {
    match timeout_at(deadline, stream.write_all(&ex.write)).await {
        Err(_) => return Err("could not write the request in time".into()),
        Ok(Err(e)) => return Err(format!("write failed: {e}")),
        Ok(Ok(())) => {}
    }
    replies(format, stream, &ex.replies, deadline).await
}

/// Waits for the server to close. `Err(None)`: still open at `deadline`;
/// `Err(Some(_))`: something else came.
async fn until_closed(rd: &mut OwnedReadHalf, deadline: Instant) -> Result<(), Option<String>> {
    let mut chunk = [0u8; 4096];
    match timeout_at(deadline, rd.read(&mut chunk)).await {
        Err(_) => Err(None),
        Ok(Ok(0)) => Ok(()),
        Ok(Err(e)) if is_reset(&e) => Ok(()),
        Ok(Err(e)) => Err(Some(format!("read failed: {e}"))),
        Ok(Ok(n)) => Err(Some(format!("sent {}", preview(&chunk[..n])))),
    }
}

impl Probe {
    /// Runs the check: `limit` bounds the whole case (the idle cases wait
    /// the idle timeout plus `prompt` instead); `Err` says what was seen.
    pub async fn run(
        &self,
        addr: SocketAddr,
        limit: Duration,
        prompt: Duration,
    ) -> Result<(), String> {
        let f = self.format;
        let deadline = Instant::now() + limit;
        match &self.kind {
            Kind::Stall {
                write,
                trickle,
                idle,
            } => stall(addr, write, *trickle, *idle, prompt).await,
            Kind::Reset { good, cut } => {
                let mut b = connect(addr, deadline).await?;
                let half = good.write.len() / 2;
                let _ = b.write_all(&good.write[..half]).await;
                let mut a = connect(addr, deadline).await?;
                let _ = a.write_all(cut).await;
                sleep(SETTLE).await;
                // A reset, not a close: SO_LINGER 0 makes the drop send RST.
                a.set_zero_linger()
                    .map_err(|e| format!("cannot arm a reset: {e}"))?;
                drop(a);
                sleep(SETTLE).await;
                let rest = Exchange {
                    write: good.write[half..].to_vec(),
                    replies: good.replies.clone(),
                };
                exchange(f, &mut b, &rest, deadline)
                    .await
                    .map_err(|e| format!("after another connection's reset: {e}"))
            }
            Kind::Neighbours { good, garbage } => {
                let mut goods = Vec::with_capacity(NEIGHBOURS);
                for _ in 0..NEIGHBOURS {
                    goods.push(connect(addr, deadline).await?);
                }
                round(f, &mut goods, good, deadline, "before the garbage").await?;
                let bad = connect(addr, deadline).await?;
                let (mut rd, mut wr) = bad.into_split();
                let _ = wr.write_all(garbage).await;
                // Closed or not (another case's concern), it has been read.
                let _ = until_closed(&mut rd, deadline.min(Instant::now() + prompt)).await;
                round(f, &mut goods, good, deadline, "after the garbage").await
            }
            Kind::Flood { good, max } => flood(f, addr, good, *max, deadline, prompt).await,
        }
    }
}

/// One exchange on each connection, all at once.
async fn round(
    f: Format,
    conns: &mut [TcpStream],
    good: &Exchange,
    deadline: Instant,
    when: &str,
) -> Result<(), String> {
    let results =
        futures::future::join_all(conns.iter_mut().map(|s| exchange(f, s, good, deadline))).await;
    for (i, r) in results.into_iter().enumerate() {
        r.map_err(|e| format!("connection {} {when}: {e}", i + 1))?;
    }
    Ok(())
}

async fn stall(
    addr: SocketAddr,
    write: &[u8],
    trickle: bool,
    idle: Duration,
    slack: Duration,
) -> Result<(), String> {
    let start = Instant::now();
    let deadline = start + idle + slack;
    let (mut rd, mut wr) = connect(addr, deadline).await?.into_split();
    let mut sent = 0usize;
    // Keeps the write half open (dropping it would half-close, which a
    // server may rightly treat as the end) until the server has closed.
    let writing = async {
        if trickle {
            for b in write {
                if wr.write_all(std::slice::from_ref(b)).await.is_err() {
                    break;
                }
                sent += 1;
                sleep(TRICKLE).await;
            }
        } else if wr.write_all(write).await.is_ok() {
            sent = write.len();
        }
        std::future::pending::<()>().await
    };
    let outcome = tokio::select! {
        r = until_closed(&mut rd, deadline) => r,
        () = writing => Ok(()),
    };
    match outcome {
        Ok(()) => Ok(()),
        Err(Some(seen)) => Err(format!(
            "the server {seen} after {:?}",
            start.elapsed()
        )),
        Err(None) => Err(format!(
            "still open {:?} after connecting{} (expected closed at the idle timeout {idle:?}, + {slack:?} slack)",
            start.elapsed(),
            if trickle {
                format!(", {} trickled", super::case::plural(sent, "byte", "bytes"))
            } else {
                String::new()
            }
        )),
    }
}

async fn flood(
    f: Format,
    addr: SocketAddr,
    good: &Exchange,
    max: usize,
    deadline: Instant,
    prompt: Duration,
) -> Result<(), String> {
    // The first `max`, each retried briefly: connections of earlier cases
    // may still hold their slots for a moment.
    let served = futures::future::join_all((0..max).map(|_| async {
        let retry_until = deadline.min(Instant::now() + prompt);
        loop {
            let mut s = connect(addr, deadline).await?;
            match exchange(f, &mut s, good, deadline).await {
                Ok(()) => return Ok(s),
                Err(_) if Instant::now() < retry_until => sleep(Duration::from_millis(20)).await,
                Err(e) => return Err(e),
            }
        }
    }))
    .await;
    let mut conns = Vec::with_capacity(max);
    for (i, r) in served.into_iter().enumerate() {
        conns.push(r.map_err(|e| format!("connection {} of the first {max}: {e}", i + 1))?);
    }

    let excess = futures::future::join_all((0..FLOOD_EXCESS).map(|_| async {
        let (mut rd, mut wr) = connect(addr, deadline).await?.into_split();
        // The write may fail: the server may have closed already.
        let _ = wr.write_all(&good.write).await;
        let r = until_closed(&mut rd, deadline.min(Instant::now() + prompt)).await;
        drop(wr);
        r.map_err(|seen| match seen {
            None => format!("still open {prompt:?} after it was opened, no reply"),
            Some(seen) => format!("the server {seen}"),
        })
    }))
    .await;
    for (i, r) in excess.into_iter().enumerate() {
        r.map_err(|e| format!("connection {} (over the limit of {max}): {e}", max + i + 1))?;
    }

    round(f, &mut conns, good, deadline, "after the flood").await?;
    drop(conns);
    // Recovery: a slot is free again once the server has seen a close.
    let retry_until = deadline.min(Instant::now() + prompt);
    loop {
        let mut s = connect(addr, deadline).await?;
        match exchange(f, &mut s, good, deadline).await {
            Ok(()) => return Ok(()),
            Err(_) if Instant::now() < retry_until => sleep(Duration::from_millis(20)).await,
            Err(e) => {
                return Err(format!(
                    "a new connection, after the {max} served ones closed: {e}"
                ))
            }
        }
    }
}
