//! Hex text in and out (the `hex` crate does the digits), and payloads
//! shown the way people read them.

use anyhow::{bail, Result};

/// Lower-case hex of `bytes`.
pub fn encode(bytes: &[u8]) -> String {
    hex::encode(bytes)
}

/// Decodes hex text, ignoring ASCII whitespace anywhere.
///
/// # Errors
/// A non-hex character (with its position in `text`) or an odd number of
/// digits.
pub fn decode(text: &[u8]) -> Result<Vec<u8>> {
    let mut digits = HexDigits::default();
    digits.push(text, 0)?;
    let out = digits.take_bytes()?;
    digits.finish()?;
    Ok(out)
}

/// Hex digits gathered from text that may arrive in pieces: whitespace is
/// dropped, a digit left over from one piece pairs with the next, and an
/// error names the position in the whole text.
#[derive(Default)]
pub struct HexDigits {
    /// Digits not decoded yet.
    digits: Vec<u8>,
    /// Position in the text of each of `digits`, for errors.
    positions: Vec<u64>,
}

impl HexDigits {
    /// Adds `text`, which starts at position `start` of the whole text.
    ///
    /// # Errors
    /// A character that is neither whitespace nor a hex digit.
    pub fn push(&mut self, text: &[u8], start: u64) -> Result<()> {
        for (i, &c) in text.iter().enumerate() {
            if c.is_ascii_whitespace() {
                continue;
            }
            if !c.is_ascii_hexdigit() {
                let pos = start + i as u64;
                let shown = String::from_utf8_lossy(&text[i..text.len().min(i + 4)])
                    .chars()
                    .next()
                    .unwrap_or('?');
                bail!("invalid hex: {shown:?} at byte {pos} is not a hex digit");
            }
            self.digits.push(c);
            self.positions.push(start + i as u64);
        }
        Ok(())
    }

    /// Decodes every whole pair gathered so far; an odd digit waits.
    ///
    /// # Errors
    /// None in practice (every digit was checked by `push`); a `hex` error
    /// is reported with its position all the same.
    pub fn take_bytes(&mut self) -> Result<Vec<u8>> {
        let pairs = self.digits.len() / 2 * 2;
        let bytes = hex::decode(&self.digits[..pairs]).map_err(|e| match e {
            hex::FromHexError::InvalidHexCharacter { c, index } => {
                let pos = self.positions.get(index).copied().unwrap_or(0);
                anyhow::anyhow!("invalid hex: {c:?} at byte {pos} is not a hex digit")
            }
            other => anyhow::anyhow!("invalid hex: {other}"),
        })?;
        self.digits.drain(..pairs);
        self.positions.drain(..pairs);
        Ok(bytes)
    }

    /// The end of the text.
    ///
    /// # Errors
    /// A digit left without its pair.
    pub fn finish(&self) -> Result<()> {
        if !self.digits.is_empty() {
            bail!("invalid hex: odd number of digits (the last byte is cut)");
        }
        Ok(())
    }
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
    fn a_digit_pairs_across_pieces() {
        let mut d = HexDigits::default();
        d.push(b"0 1f", 0).unwrap();
        assert_eq!(d.take_bytes().unwrap(), vec![0x01]);
        d.push(b"f\n", 4).unwrap();
        assert_eq!(d.take_bytes().unwrap(), vec![0xff]);
        d.finish().unwrap();
        let e = d.push(b" g", 6).unwrap_err().to_string();
        assert!(e.contains("'g' at byte 7"), "{e}");
    }

    #[test]
    fn payloads_shown_as_text_or_hex() {
        assert_eq!(printable(b"hi there"), "\"hi there\"");
        assert_eq!(printable(b"\x00\xff"), "0x00ff (2 bytes)");
        assert_eq!(printable(b""), "\"\"");
    }
}
