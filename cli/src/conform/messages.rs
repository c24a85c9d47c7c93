//! Building the bytes cases write (headers, messages, request lines,
//! filler) and showing what came back in a failure message.

use serde_json::Value;

use crate::formats::Format;

/// A header claiming `len` payload bytes (type or channel `code`).
pub(crate) fn header(format: Format, code: u16, len: u64) -> Vec<u8> {
    let mut out = Vec::new();
    match format {
        Format::Typed => {
            out.extend_from_slice(&(len as u32).to_be_bytes());
            out.push(code as u8);
        }
        Format::Magic => {
            out.extend_from_slice(&wireforms::magic::MAGIC.to_be_bytes());
            out.push(wireforms::magic::VERSION);
            out.push(code as u8);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        }
        Format::Frame => out.extend_from_slice(&(len as u32).to_be_bytes()),
        Format::Mux => {
            out.extend_from_slice(&code.to_be_bytes());
            out.extend_from_slice(&(len as u16).to_be_bytes());
        }
        Format::Request | Format::Response => {}
    }
    out
}

/// A whole binary message.
pub(crate) fn message(format: Format, code: u16, payload: &[u8]) -> Vec<u8> {
    let mut out = header(format, code, payload.len() as u64);
    out.extend_from_slice(payload);
    out
}

/// A request line `id:command:args\n`.
pub(crate) fn line(id: &str, command: &str, args: &str) -> Vec<u8> {
    format!("{id}:{command}:{args}\n").into_bytes()
}

/// Letters and digits, so upper-casing replies are easy to read.
pub(crate) fn filler(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| b"abcdefghijklmnopqrstuvwxyz0123456789"[i % 36])
        .collect()
}

/// Payloads held in memory for one case are kept below this.
pub(crate) const CASE_BYTES_MAX: u64 = 16 << 20;

pub(crate) fn preview(bytes: &[u8]) -> String {
    let shown = &bytes[..bytes.len().min(24)];
    let more = if bytes.len() > shown.len() { "..." } else { "" };
    format!(
        "{} 0x{}{more}",
        super::case::plural(bytes.len(), "byte", "bytes"),
        crate::hex::encode(shown)
    )
}

pub(crate) fn short(v: &Value) -> String {
    let s = v.to_string();
    match s.char_indices().nth(117) {
        Some((cut, _)) => format!("{}...", &s[..cut]),
        None => s,
    }
}

/// The first field in which two messages differ, with both values:
/// `type 1 (expected 2)`; `None` when they are equal or not objects.
pub(crate) fn differing_field(got: &Value, want: &Value) -> Option<String> {
    let (Value::Object(g), Value::Object(w)) = (got, want) else {
        return None;
    };
    w.iter()
        .find(|(k, v)| g.get(*k) != Some(*v))
        .map(|(k, v)| match g.get(k) {
            Some(seen) => format!("{k} {} (expected {})", short(seen), short(v)),
            None => format!("no {k} (expected {})", short(v)),
        })
        .or_else(|| {
            g.keys()
                .find(|k| !w.contains_key(*k))
                .map(|k| format!("an unexpected field {k}"))
        })
}

/// Reply `i` (0-based) differs: the field, then both messages.
pub(crate) fn reply_difference(i: usize, got: &Value, want: &Value) -> String {
    match differing_field(got, want) {
        Some(field) => format!(
            "reply {}: {field}; got {} (expected {})",
            i + 1,
            short(got),
            short(want)
        ),
        None => format!("reply {}: {} (expected {})", i + 1, short(got), short(want)),
    }
}
