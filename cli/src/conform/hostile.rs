//! Hostile-peer cases (`spec/security.md`) that can be checked from outside
//! a server: silent and trickling peers, floods, resets, half-closes and
//! garbage.
//!
//! Ids are `<format>/8/<n>`: each format document's §8 delegates to
//! `security.md`, and `n` is 100 × the `security.md` section + a case
//! number, so `typed/8/201` is the first case of security §2. The section
//! column is `security/<s>`.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Result;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::OwnedReadHalf;
use tokio::net::TcpStream;
use tokio::time::{sleep, timeout_at, Instant};

use super::server::{
    analyse, decode_replies, field_max, filler, header, is_reset, line, message, per_channel,
    preview, short, After, Builder, CASE_BYTES_MAX,
};
use super::{Case, Check, Level};
use crate::formats::Format;

/// Idle timeout the built-in servers are started with: short, so the idle
/// cases stay quick.
pub const BUILTIN_IDLE_TIMEOUT: Duration = Duration::from_secs(1);
/// Connection limit of the built-in servers: small, so a flood is quick.
pub const BUILTIN_MAX_CONNECTIONS: usize = 16;
/// Connections opened beyond the limit in the flood case.
const FLOOD_EXCESS: usize = 10;
/// The flood case opens at most this many connections (file descriptors).
const FLOOD_MAX: usize = 500;
/// A trickling peer's pace.
const TRICKLE: Duration = Duration::from_millis(100);
/// Well-behaved connections beside the one sending garbage.
const NEIGHBOURS: usize = 4;
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
    kind: Kind,
}

/// Bytes written and the replies they must get.
#[derive(Clone)]
struct Exchange {
    write: Vec<u8>,
    replies: Vec<Value>,
}

enum Kind {
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
        Some(i) => Err(format!(
            "reply {}: {} (expected {})",
            i + 1,
            short(&got[i]),
            short(&want[i])
        )),
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
                format!(", {} trickled", super::plural(sent, "byte", "bytes"))
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

// ---- the cases ----------------------------------------------------------

fn push(b: &mut Builder, section: u32, k: u32, level: Level, what: String, check: Check) {
    b.out.push(Case {
        id: format!("{}/8/{}", b.prefix, section * 100 + k),
        section: format!("security/{section}"),
        level,
        what,
        check,
    });
}

fn probe(b: &Builder, kind: Kind) -> Check {
    Check::Hostile(Probe {
        format: b.format,
        kind,
    })
}

/// Adds the hostile-peer cases of `b.format` to `b`.
pub fn cases(b: &mut Builder, expect: &Expect) -> Result<()> {
    let f = b.format;
    let limit = b.limit;
    let text = f.is_text();
    let one = if text {
        line("1", "ECHO", "hello")
    } else {
        message(f, 1, b"hello")
    };
    let good = Exchange {
        replies: b.script(one.clone(), After::Open)?.replies,
        write: one.clone(),
    };
    let idle = expect.idle_timeout.filter(|d| !d.is_zero());
    let no_idle = || "the server's idle timeout is unknown (give --idle-timeout)".to_string();
    let skip = |what: &str, why: String| (what.to_string(), Check::NotApplicable(why));

    // §1: a length claim the server must not wait on, or only until the idle timeout.
    let (level, (what, check)) = if text {
        let len = limit.saturating_mul(4);
        if len <= CASE_BYTES_MAX {
            let s = b.script(filler(len as usize), After::Close)?;
            (
                Level::Must,
                (
                    format!("{len} bytes without '\\n' at once (4 x the limit): closed promptly, no reply"),
                    Check::Server(s),
                ),
            )
        } else {
            (
                Level::Must,
                skip(
                    "4 x the line limit without '\\n': closed promptly",
                    format!("limit {limit} is too large to send"),
                ),
            )
        }
    } else if limit < field_max(f) {
        let max = field_max(f);
        let s = b.script(header(f, 1, max), After::Close)?;
        (
            Level::Must,
            (
                format!("a header claiming {max} bytes (the field's largest), nothing more: closed promptly, no reply"),
                Check::Server(s),
            ),
        )
    } else {
        let what = format!("a header claiming {limit} bytes (the limit), nothing more: closed at the idle timeout, no reply");
        match idle {
            Some(idle) => (
                Level::Should,
                (
                    what,
                    probe(
                        b,
                        Kind::Stall {
                            write: header(f, 1, limit),
                            trickle: false,
                            idle,
                        },
                    ),
                ),
            ),
            None => (Level::Should, skip(&what, no_idle())),
        }
    };
    push(b, 1, 1, level, what, check);

    // §2: silent and trickling peers.
    let partial = if text {
        b"1:EC".to_vec()
    } else {
        let h = header(f, 1, 5);
        h[..h.len() / 2].to_vec()
    };
    let what = format!(
        "{} of a {}, then silence: closed at the idle timeout, no reply",
        super::plural(partial.len(), "byte", "bytes"),
        if text { "line" } else { "header" }
    );
    let check = match idle {
        Some(idle) => probe(
            b,
            Kind::Stall {
                write: partial,
                trickle: false,
                idle,
            },
        ),
        None => Check::NotApplicable(no_idle()),
    };
    push(b, 2, 1, Level::Should, what, check);

    let what =
        "one byte every 100 ms of a message that never ends: closed at the idle timeout, no reply";
    let check = match idle {
        Some(idle) => {
            // Enough bytes to outlast the idle timeout and its slack.
            let ticks = (idle + expect.prompt).as_millis() / TRICKLE.as_millis() + 2;
            let count = u64::try_from(ticks).unwrap_or(u64::MAX);
            let claim = limit.min(field_max(f));
            if count >= claim || count > CASE_BYTES_MAX {
                Check::NotApplicable(format!(
                    "{count} trickled bytes would complete a message under limit {limit}"
                ))
            } else {
                let mut write = if text {
                    b"1:ECHO:".to_vec()
                } else {
                    header(f, 1, claim)
                };
                write.extend_from_slice(&filler(count as usize));
                probe(
                    b,
                    Kind::Stall {
                        write,
                        trickle: true,
                        idle,
                    },
                )
            }
        }
        None => Check::NotApplicable(no_idle()),
    };
    push(b, 2, 2, Level::Should, what.into(), check);

    // §3: a flood beyond the connection limit.
    let what = "limit + 10 connections: the excess closed at once without a reply, the others served, then a new one";
    let check = match expect.max_connections {
        Some(max) if max > 0 && max + FLOOD_EXCESS <= FLOOD_MAX => probe(
            b,
            Kind::Flood {
                good: good.clone(),
                max,
            },
        ),
        Some(max) if max > 0 => Check::NotApplicable(format!(
            "a limit of {max} takes too many connections to flood"
        )),
        _ => Check::NotApplicable(
            "the server's connection limit is unknown (give --max-connections)".into(),
        ),
    };
    push(b, 3, 1, Level::Should, what.into(), check);

    // §4: abrupt ends.
    let two: Vec<u8> = if text {
        [line("1", "ECHO", "first"), line("2", "REVERSE", "second")].concat()
    } else {
        [message(f, 1, b"first"), message(f, 2, b"second")].concat()
    };
    let mut s = b.script(two, After::Close)?;
    s.half_close = true;
    push(
        b,
        4,
        1,
        Level::Must,
        "two messages, then half-close: both answered, then the server closes".into(),
        Check::Server(s),
    );
    let cut = if text {
        b"2:ECHO:cut short".to_vec()
    } else {
        let m = message(f, 2, &filler(limit.min(16) as usize));
        m[..m.len() / 2].to_vec()
    };
    push(
        b,
        4,
        2,
        Level::Must,
        "a connection reset mid-message: another connection's message, written around it, is answered".into(),
        probe(
            b,
            Kind::Reset {
                good: good.clone(),
                cut,
            },
        ),
    );

    // §5: garbage, with a valid message further on.
    let lead: &[u8] = match f {
        Format::Magic => b"GARBAGE!",
        Format::Request | Format::Response => b"garbage \xff\xfe no colons\n",
        _ => &[0xff; 8],
    };
    let garbage = [lead, &one].concat();
    let a = analyse(f, &garbage, limit)?;
    let wire_error = match &a.failure {
        Some((kind, 0)) if kind != "incomplete" && a.replies.is_empty() => Some(kind.clone()),
        _ => None,
    };
    let later = if f == Format::Magic {
        "a valid magic and packet"
    } else {
        "a valid message"
    };
    match wire_error {
        Some(kind) => {
            let s = b.script(garbage.clone(), After::NoReply)?;
            push(
                b,
                5,
                1,
                Level::Must,
                format!("garbage ({kind}) with {later} further on: no reply"),
                Check::Server(s),
            );
            let s = b.script(garbage.clone(), After::Close)?;
            push(
                b,
                5,
                2,
                Level::Should,
                format!("garbage ({kind}) with {later} further on: the connection closes promptly"),
                Check::Server(s),
            );
            push(
                b,
                5,
                3,
                Level::Must,
                format!("{NEIGHBOURS} connections answered before and after a fifth sends garbage ({kind})"),
                probe(b, Kind::Neighbours { good, garbage }),
            );
        }
        None => {
            let why = || format!("no byte string is an error under limit {limit}");
            push(
                b,
                5,
                1,
                Level::Must,
                format!("garbage with {later} further on: no reply"),
                Check::NotApplicable(why()),
            );
            push(
                b,
                5,
                2,
                Level::Should,
                format!("garbage with {later} further on: the connection closes promptly"),
                Check::NotApplicable(why()),
            );
            push(
                b,
                5,
                3,
                Level::Must,
                "other connections answered around one sending garbage".into(),
                Check::NotApplicable(why()),
            );
        }
    }
    Ok(())
}
