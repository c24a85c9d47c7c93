//! What the fuzzer knows of each format's grammar: where a binary header
//! keeps its length and its type or channel, and how to split any bytes,
//! valid or not, into message-shaped units that generation, mutation and
//! minimisation can edit without losing the structure.

use std::ops::Range;

use crate::formats::Format;

/// The header of a length-prefixed format.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// Bytes before the payload.
    pub len: usize,
    /// Where the big-endian payload length is.
    pub length: Range<usize>,
    /// Where the type or channel code is (`None`: frame has none).
    pub code: Option<Range<usize>>,
    /// Bytes every valid header starts with (magic, version).
    pub prefix: &'static [u8],
}

/// The magic format's header prefix: `0xDEADBEEF`, version 1 (magic §2).
const MAGIC_PREFIX: [u8; 5] = [0xde, 0xad, 0xbe, 0xef, 0x01];

/// The header layout of `format`; `None` for the line formats.
pub fn header(format: Format) -> Option<Header> {
    Some(match format {
        Format::Typed => Header {
            len: wireforms::typed::HEADER_LEN,
            length: 0..4,
            code: Some(4..5),
            prefix: &[],
        },
        Format::Magic => Header {
            len: wireforms::magic::HEADER_LEN,
            length: 6..8,
            code: Some(5..6),
            prefix: &MAGIC_PREFIX,
        },
        Format::Frame => Header {
            len: wireforms::frame::HEADER_LEN,
            length: 0..4,
            code: None,
            prefix: &[],
        },
        Format::Mux => Header {
            len: wireforms::mux::HEADER_LEN,
            length: 2..4,
            code: Some(0..2),
            prefix: &[],
        },
        Format::Request | Format::Response => return None,
    })
}

impl Header {
    /// The largest value the length field holds.
    pub fn length_max(&self) -> u64 {
        let bits = 8 * self.length.len() as u32;
        if bits >= 64 {
            u64::MAX
        } else {
            (1u64 << bits) - 1
        }
    }

    /// The largest value the code field holds (0 without one).
    pub fn code_max(&self) -> u64 {
        self.code
            .as_ref()
            .map_or(0, |c| (1u64 << (8 * c.len() as u32)) - 1)
    }

    /// A header claiming `length` payload bytes, with type or channel `code`
    /// (both truncated to their fields' width).
    pub fn emit(&self, code: u64, length: u64) -> Vec<u8> {
        let mut out = vec![0u8; self.len];
        out[..self.prefix.len()].copy_from_slice(self.prefix);
        put_be(&mut out[self.length.clone()], length);
        if let Some(c) = &self.code {
            put_be(&mut out[c.clone()], code);
        }
        out
    }

    /// The length field of a whole header.
    pub fn length_of(&self, header: &[u8]) -> u64 {
        get_be(&header[self.length.clone()])
    }
}

/// Writes `value` big-endian into `out`, keeping its low bytes.
pub fn put_be(out: &mut [u8], value: u64) {
    let bytes = value.to_be_bytes();
    let n = out.len().min(8);
    let at = out.len() - n;
    out[at..].copy_from_slice(&bytes[8 - n..]);
}

/// Reads `bytes` as a big-endian number (at most 8 bytes of it).
pub fn get_be(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b))
}

/// One message-shaped run of bytes: a header and the payload it claims
/// (cut short when the input ends), or one line with its `\n`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unit {
    /// Where the unit is in the input.
    pub range: Range<usize>,
    /// Where its payload (for lines: the line without its `\n`) is.
    pub payload: Range<usize>,
}

/// Splits `bytes` into units, leniently: any header is taken at its word,
/// whatever its magic or length; the last unit may be cut short.
pub fn units(format: Format, bytes: &[u8]) -> Vec<Unit> {
    let mut out = Vec::new();
    let mut at = 0;
    match header(format) {
        Some(h) => {
            while at < bytes.len() {
                let head_end = (at + h.len).min(bytes.len());
                if head_end - at < h.len {
                    out.push(Unit {
                        range: at..head_end,
                        payload: head_end..head_end,
                    });
                    break;
                }
                let claimed = h.length_of(&bytes[at..head_end]);
                let left = (bytes.len() - head_end) as u64;
                let end = head_end + claimed.min(left) as usize;
                out.push(Unit {
                    range: at..end,
                    payload: head_end..end,
                });
                at = end;
            }
        }
        None => {
            while at < bytes.len() {
                let end = memchr_lf(&bytes[at..]).map_or(bytes.len(), |i| at + i + 1);
                let content_end = if bytes[end - 1] == b'\n' {
                    end - 1
                } else {
                    end
                };
                out.push(Unit {
                    range: at..end,
                    payload: at..content_end,
                });
                at = end;
            }
        }
    }
    out
}

fn memchr_lf(bytes: &[u8]) -> Option<usize> {
    bytes.iter().position(|b| *b == b'\n')
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn units_follow_the_length_fields_and_the_line_ends() {
        let typed = [0, 0, 0, 2, 1, b'h', b'i', 0, 0, 0, 9, 1, b'x'];
        let u = units(Format::Typed, &typed);
        assert_eq!(u.len(), 2);
        assert_eq!(u[0].range, 0..7);
        assert_eq!(u[0].payload, 5..7);
        assert_eq!(
            u[1].range,
            7..13,
            "a claimed length beyond the input is cut"
        );
        let lines = b"1:ECHO:a\n2:UPPER:b";
        let u = units(Format::Request, lines);
        assert_eq!(u.len(), 2);
        assert_eq!(u[0].payload, 0..8);
        assert_eq!(u[1].range, 9..18);
        assert_eq!(
            units(Format::Mux, &[0, 1]).len(),
            1,
            "a short header is a unit"
        );
    }

    #[test]
    fn emitted_headers_carry_their_fields() {
        let h = header(Format::Magic).unwrap();
        let bytes = h.emit(7, 300);
        assert_eq!(bytes, [0xde, 0xad, 0xbe, 0xef, 1, 7, 1, 44]);
        assert_eq!(h.length_of(&bytes), 300);
        assert_eq!(h.length_max(), 65_535);
        assert_eq!(header(Format::Typed).unwrap().code_max(), 255);
        let mux = header(Format::Mux).unwrap();
        assert_eq!(mux.emit(65_535, 1), [0xff, 0xff, 0, 1]);
    }
}
