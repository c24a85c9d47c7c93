//! Server cases of the stream (§5.1: a message in pieces; §6: pipelined
//! messages, many connections, a last line before a half-close) and of
//! each format's boundaries (every type code, every channel, a reply split
//! into frames).

use anyhow::Result;

use super::Builder;
use crate::conform::case::{Check, Level};
use crate::conform::formats::field_max;
use crate::conform::messages::{filler, line, message};
use crate::conform::script::After;
use crate::formats::Format;

/// Adds the stream cases of `b.format`.
pub(crate) fn cases(b: &mut Builder) -> Result<()> {
    let f = b.format;
    let limit = b.limit;
    let text = f.is_text();
    let one = super::one_message(f);

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
    Ok(())
}
