//! Hex text in and out, and payloads shown the way people read them.

use std::fmt::Write as _;

use anyhow::{bail, Result};

/// Lower-case hex of `bytes`.
pub fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

fn digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Decodes hex text, ignoring ASCII whitespace anywhere.
///
/// # Errors
/// A non-hex character (with its position) or an odd number of digits.
pub fn decode(text: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() / 2);
    let mut high: Option<u8> = None;
    for (pos, &c) in text.iter().enumerate() {
        if c.is_ascii_whitespace() {
            continue;
        }
        let Some(d) = digit(c) else {
            let shown = String::from_utf8_lossy(&text[pos..text.len().min(pos + 4)])
                .chars()
                .next()
                .unwrap_or('?');
            bail!("invalid hex: {shown:?} at byte {pos} is not a hex digit");
        };
        match high.take() {
            Some(h) => out.push((h << 4) | d),
            None => high = Some(d),
        }
    }
    if high.is_some() {
        bail!("invalid hex: odd number of digits (the last byte is cut)");
    }
    Ok(out)
}

/// A payload as text in quotes when it is printable UTF-8, else as hex
/// (with its length, which hex makes hard to count).
pub fn printable(payload: &[u8]) -> String {
    match std::str::from_utf8(payload) {
        Ok(s) if s.chars().all(|c| !c.is_control() || c == '\t') => format!("{s:?}"),
        _ => format!("0x{} ({} bytes)", encode(payload), payload.len()),
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn round_trip_ignores_whitespace() {
        assert_eq!(decode(b"00 ff\n0A\t").unwrap(), vec![0, 255, 10]);
        assert_eq!(encode(&[0, 255, 10]), "00ff0a");
    }

    #[test]
    fn errors_say_where() {
        let e = decode(b"00 zz").unwrap_err().to_string();
        assert!(e.contains("'z' at byte 3"), "{e}");
        assert!(decode(b"abc").unwrap_err().to_string().contains("odd"));
    }

    #[test]
    fn payloads_shown_as_text_or_hex() {
        assert_eq!(printable(b"hi there"), "\"hi there\"");
        assert_eq!(printable(b"\x00\xff"), "0x00ff (2 bytes)");
        assert_eq!(printable(b""), "\"\"");
    }
}
