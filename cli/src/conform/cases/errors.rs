//! Server cases of §7.1: after a wire error the connection SHOULD close.

use anyhow::Result;

use super::Builder;
use crate::conform::case::{Check, Level};
use crate::conform::formats::field_max;
use crate::conform::messages::header;
use crate::conform::script::After;
use crate::formats::Format;

/// Adds the §7.1 cases of `b.format`.
pub(crate) fn cases(b: &mut Builder) -> Result<()> {
    let f = b.format;
    let limit = b.limit;
    let one = super::one_message(f);

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
