//! Hostile-peer cases (`spec/security.md`) that can be checked from outside
//! a server: silent and trickling peers, floods, resets, half-closes and
//! garbage.
//!
//! Ids are `<format>/8/<n>`: each format document's §8 delegates to
//! `security.md`, and `n` is 100 × the `security.md` section + a case
//! number, so `typed/8/201` is the first case of security §2. The section
//! column is `security/<s>`.

use anyhow::Result;

use super::Builder;
use crate::conform::case::{plural, Case, Check, Level};
use crate::conform::formats::{analyse, field_max};
use crate::conform::messages::{filler, header, line, message, CASE_BYTES_MAX};
use crate::conform::probe::{
    Exchange, Expect, Kind, Probe, FLOOD_EXCESS, FLOOD_MAX, NEIGHBOURS, TRICKLE,
};
use crate::conform::script::After;
use crate::formats::Format;

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
pub(crate) fn cases(b: &mut Builder, expect: &Expect) -> Result<()> {
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
        plural(partial.len(), "byte", "bytes"),
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
