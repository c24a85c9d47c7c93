//! Server cases of the limit (§3: inclusive) and of messages over it
//! (§5.2, magic §5.4): refused before the payload is awaited, no reply.

use anyhow::Result;

use super::Builder;
use crate::conform::case::{Check, Level};
use crate::conform::formats::field_max;
use crate::conform::messages::{filler, header, line, message, CASE_BYTES_MAX};
use crate::conform::script::After;
use crate::formats::Format;

/// Adds the limit cases of `b.format`.
pub(crate) fn cases(b: &mut Builder) -> Result<()> {
    let f = b.format;
    let limit = b.limit;
    let text = f.is_text();

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
    Ok(())
}
