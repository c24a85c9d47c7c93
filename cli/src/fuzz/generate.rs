//! Inputs generated from each format's grammar, choices drawn through
//! `arbitrary::Unstructured`: headers with boundary lengths (0, limit - 1,
//! limit, limit + 1, the field's maximum), every type and channel
//! boundary, magic and version near-misses, lines near the limit, CR/LF and
//! UTF-8 edge cases, several messages back to back, and cuts at any point.

use arbitrary::{Result, Unstructured};

use super::input::Input;
use super::layout::{self, Header};
use crate::formats::Format;

/// Payload bytes written out in full at most; a longer claimed length is
/// sent as its header (and perhaps a few bytes), which is what a limit
/// check is about anyway.
pub const PAYLOAD_CAP: u64 = 70_000;

/// What a campaign generates for.
#[derive(Clone, Debug)]
pub struct Plan {
    /// The format.
    pub format: Format,
    /// Receiver limits to judge inputs under (one is picked per input).
    pub limits: Vec<u64>,
    /// Whether inputs may be datagrams.
    pub datagrams: bool,
    /// Whether every input is a datagram (server mode over UDP).
    pub only_datagrams: bool,
}

impl Plan {
    fn pick_limit(&self, u: &mut Unstructured<'_>) -> Result<u64> {
        Ok(*u.choose(&self.limits)?)
    }

    fn pick_datagram(&self, u: &mut Unstructured<'_>) -> Result<bool> {
        Ok(self.only_datagrams || (self.datagrams && u.ratio(1, 5)?))
    }
}

/// A new input from the grammar of `plan.format`.
pub fn generate(plan: &Plan, u: &mut Unstructured<'_>) -> Result<Input> {
    let limit = plan.pick_limit(u)?;
    let datagram = plan.pick_datagram(u)?;
    let count = if datagram {
        *u.choose(&[1usize, 1, 1, 0, 2])?
    } else {
        *u.choose(&[1usize, 1, 2, 2, 3, 0, 5])?
    };
    let mut bytes = Vec::new();
    for _ in 0..count {
        match layout::header(plan.format) {
            Some(h) => binary_message(&h, limit, u, &mut bytes)?,
            None => line(limit, u, &mut bytes)?,
        }
    }
    // A cut anywhere: inside a header, inside a payload, inside a line.
    if !bytes.is_empty() && u.ratio(1, 4)? {
        let at = u.int_in_range(0..=bytes.len() - 1)?;
        bytes.truncate(at);
    }
    Ok(Input {
        bytes,
        datagram,
        limit,
        expect: None,
    })
}

/// A length near a boundary of `limit` or of the field.
pub fn boundary_length(h: &Header, limit: u64, u: &mut Unstructured<'_>) -> Result<u64> {
    let max = h.length_max();
    let small = u.int_in_range(0..=limit.min(40))?;
    // Big payloads cost the most to send and judge: near a big limit, one
    // time in eight.
    if limit > 4096 && u.ratio(7, 8)? {
        let over = if limit < max { limit + 1 } else { small };
        return Ok(*u.choose(&[0, 1, small, small, small, over])?);
    }
    let candidates = [
        0,
        1,
        small,
        small,
        small,
        limit.saturating_sub(1),
        limit,
        limit,
        limit.saturating_add(1),
        limit.saturating_add(2),
        max.saturating_sub(1),
        max,
    ];
    Ok((*u.choose(&candidates)?).min(max))
}

fn boundary_code(h: &Header, u: &mut Unstructured<'_>) -> Result<u64> {
    let max = h.code_max();
    let any = u.int_in_range(0..=max)?;
    let candidates = [
        0,
        1.min(max),
        1.min(max),
        2.min(max),
        any,
        any,
        max.saturating_sub(1),
        max,
        255.min(max),
        256.min(max),
    ];
    Ok(*u.choose(&candidates)?)
}

fn binary_message(
    h: &Header,
    limit: u64,
    u: &mut Unstructured<'_>,
    out: &mut Vec<u8>,
) -> Result<()> {
    let length = boundary_length(h, limit, u)?;
    let code = boundary_code(h, u)?;
    let mut head = h.emit(code, length);
    if !h.prefix.is_empty() && u.ratio(1, 5)? {
        // Magic and version near-misses: one byte of the prefix changed.
        let i = u.choose_index(h.prefix.len())?;
        let near = [
            head[i] ^ 1,
            head[i].wrapping_add(1),
            head[i].wrapping_sub(1),
            0,
            0xff,
        ];
        head[i] = *u.choose(&near)?;
    }
    out.extend_from_slice(&head);
    let written = if length <= PAYLOAD_CAP {
        length
    } else {
        u.int_in_range(0..=3)?
    };
    payload(written as usize, u, out)
}

/// Payload bytes: text, binary, header-like or UTF-8 edges, in a pattern.
fn payload(len: usize, u: &mut Unstructured<'_>, out: &mut Vec<u8>) -> Result<()> {
    const PIECES: [&[u8]; 10] = [
        b"hello",
        b"a",
        b"\x00",
        b"\xff",
        b"\xde\xad\xbe\xef\x01",
        b"\x00\x00\x00\x10",
        b"\xc3\xa9",
        b"\xc3",
        b"\r\n",
        b"\xf0\x9f\x98\x80",
    ];
    let mut pattern = Vec::new();
    for _ in 0..u.int_in_range(1..=3)? {
        pattern.extend_from_slice(u.choose(&PIECES)?);
    }
    if u.ratio(1, 3)? {
        pattern.push(u.arbitrary()?);
    }
    out.extend(pattern.iter().copied().cycle().take(len));
    Ok(())
}

const IDS: [&str; 8] = [
    "1",
    "0",
    "01",
    "",
    "42",
    "abc",
    "-1",
    "18446744073709551616",
];
const COMMANDS: [&str; 9] = [
    "ECHO", "UPPER", "REVERSE", "echo", "FOO", "", "OK", "ERR", "ECHO ",
];
const ARGS: [&[u8]; 14] = [
    b"hello",
    b"",
    b"a:b",
    b"::",
    b"stra\xc3\x9fe",
    b"\xc3\xa9",
    b"\xff",
    b"\xc3",
    b"\xc0\x80",
    b"\xed\xa0\x80",
    b"\xf0\x9f\x98\x80",
    b"\r",
    b" x ",
    b"\x00",
];
const ENDINGS: [&[u8]; 6] = [b"\n", b"\n", b"\n", b"\r\n", b"\r\r\n", b""];

fn line(limit: u64, u: &mut Unstructured<'_>, out: &mut Vec<u8>) -> Result<()> {
    let start = out.len();
    let shape = u.int_in_range(0u8..=9)?;
    let id = u.choose(&IDS)?.as_bytes();
    let command = u.choose(&COMMANDS)?.as_bytes();
    match shape {
        // Fewer than two separators: malformed.
        0 => out.extend_from_slice(id),
        1 => {
            out.extend_from_slice(id);
            out.push(b':');
            out.extend_from_slice(command);
        }
        _ => {
            out.extend_from_slice(id);
            out.push(b':');
            out.extend_from_slice(command);
            out.push(b':');
            for _ in 0..u.int_in_range(0..=2)? {
                out.extend_from_slice(u.choose(&ARGS)?);
            }
        }
    }
    let ending = *u.choose(&ENDINGS)?;
    // Lines near the limit (the limit counts the line ending).
    if u.ratio(1, 4)? && limit <= PAYLOAD_CAP {
        let target = *u.choose(&[
            limit.saturating_sub(1),
            limit,
            limit,
            limit.saturating_add(1),
            limit.saturating_add(2),
        ])?;
        let have = (out.len() - start + ending.len()) as u64;
        let pad = target.saturating_sub(have) as usize;
        let fill = *u.choose(&[b'a', b'x', 0x80])?;
        if fill == 0x80 {
            // Two-byte characters, so a cut may land inside one.
            out.extend(b"\xc3\xa9".iter().copied().cycle().take(pad));
        } else {
            out.extend(std::iter::repeat_n(fill, pad));
        }
    }
    out.extend_from_slice(ending);
    Ok(())
}

#[cfg(test)]
mod test {
    use super::*;

    fn plan(format: Format) -> Plan {
        Plan {
            format,
            limits: vec![16],
            datagrams: true,
            only_datagrams: false,
        }
    }

    #[test]
    fn generation_is_a_function_of_its_entropy() {
        for format in Format::ALL {
            let data: Vec<u8> = (0..4096u32).map(|i| (i * 7 + 3) as u8).collect();
            let a = generate(&plan(format), &mut Unstructured::new(&data)).unwrap();
            let b = generate(&plan(format), &mut Unstructured::new(&data)).unwrap();
            assert_eq!(a.bytes, b.bytes);
            assert_eq!(a.datagram, b.datagram);
        }
    }

    #[test]
    fn boundary_lengths_include_the_limit_and_one_more() {
        let h = layout::header(Format::Typed).unwrap();
        let mut seen = std::collections::BTreeSet::new();
        for seed in 0..400u32 {
            let data: Vec<u8> = (0..64u32)
                .map(|i| (seed.wrapping_mul(2_654_435_761).wrapping_add(i * 97) >> 7) as u8)
                .collect();
            seen.insert(boundary_length(&h, 16, &mut Unstructured::new(&data)).unwrap());
        }
        for want in [0, 15, 16, 17, u64::from(u32::MAX)] {
            assert!(seen.contains(&want), "{want} never generated: {seen:?}");
        }
    }
}
