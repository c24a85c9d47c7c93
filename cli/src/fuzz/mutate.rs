//! Mutation of corpus inputs: byte-level havoc in the manner of AFL
//! (bit flips, interesting bytes, deletions, duplications, splices) mixed
//! with edits that know the grammar (a unit's length field set to a
//! boundary or made to match its payload, its type or channel changed,
//! whole units duplicated, dropped or swapped). No mutation crate fits
//! here: the well-kept ones are coverage-guided engines that run inside
//! the process under test, and these testees are other processes.

use arbitrary::{Result, Unstructured};

use super::generate::{boundary_length, Plan};
use super::input::Input;
use super::layout::{self, put_be};

/// Bytes a mutated input is kept under.
const MAX_LEN: usize = 1 << 17;

const INTERESTING: [u8; 12] = [
    0, 1, 0x7f, 0x80, 0xff, b'\n', b'\r', b':', 0xc3, 0xde, 0xef, b'a',
];

/// `seed` with 1 to 8 mutations stacked, `other` a second corpus input to
/// splice from.
pub fn mutate(plan: &Plan, seed: &Input, other: &[u8], u: &mut Unstructured<'_>) -> Result<Input> {
    let mut input = seed.with_bytes(seed.bytes.clone());
    if u.ratio(1, 10)? {
        input.limit = *u.choose(&plan.limits)?;
    }
    for _ in 0..u.int_in_range(1..=8)? {
        one(plan, &mut input, other, u)?;
    }
    input.bytes.truncate(MAX_LEN);
    Ok(input)
}

fn one(plan: &Plan, input: &mut Input, other: &[u8], u: &mut Unstructured<'_>) -> Result<()> {
    let b = &mut input.bytes;
    let op = u.int_in_range(0u8..=11)?;
    if b.is_empty() && op < 6 {
        b.push(*u.choose(&INTERESTING)?);
        return Ok(());
    }
    match op {
        0 => {
            let i = u.choose_index(b.len())?;
            b[i] ^= 1 << u.int_in_range(0..=7)?;
        }
        1 => {
            let i = u.choose_index(b.len())?;
            b[i] = *u.choose(&INTERESTING)?;
        }
        2 => {
            let i = u.choose_index(b.len())?;
            let n = u.int_in_range(1..=(b.len() - i).min(16))?;
            b.drain(i..i + n);
        }
        3 => {
            let i = u.choose_index(b.len())?;
            let n = u.int_in_range(1..=(b.len() - i).min(32))?;
            let copy = b[i..i + n].to_vec();
            let at = u.int_in_range(0..=b.len())?;
            b.splice(at..at, copy);
        }
        4 => {
            let at = u.int_in_range(0..=b.len() - 1)?;
            b.truncate(at);
        }
        5 => {
            let at = u.int_in_range(0..=b.len())?;
            let n = u.int_in_range(1..=8)?;
            let mut ins = Vec::with_capacity(n);
            for _ in 0..n {
                ins.push(u.arbitrary()?);
            }
            b.splice(at..at, ins);
        }
        6 if !other.is_empty() => {
            // Splice: our front, then the other's back (or all of it).
            let keep = u.int_in_range(0..=b.len())?;
            let from = u.int_in_range(0..=other.len() - 1)?;
            b.truncate(keep);
            b.extend_from_slice(&other[from..]);
        }
        _ => structural(plan, input, u)?,
    }
    Ok(())
}

/// An edit of one unit, through the format's layout.
fn structural(plan: &Plan, input: &mut Input, u: &mut Unstructured<'_>) -> Result<()> {
    let units = layout::units(plan.format, &input.bytes);
    if units.is_empty() {
        return Ok(());
    }
    let k = u.choose_index(units.len())?;
    let unit = units[k].clone();
    let b = &mut input.bytes;
    let op = u.int_in_range(0u8..=4)?;
    match (layout::header(plan.format), op) {
        (_, 0) => {
            let copy = b[unit.range.clone()].to_vec();
            b.splice(unit.range.end..unit.range.end, copy);
        }
        (_, 1) if units.len() > 1 => {
            b.drain(unit.range.clone());
        }
        (_, 1) => {
            let j = u.choose_index(units.len())?;
            if j != k {
                let (a, c) = if j < k { (j, k) } else { (k, j) };
                let mut out = b[..units[a].range.start].to_vec();
                out.extend_from_slice(&b[units[c].range.clone()]);
                out.extend_from_slice(&b[units[a].range.end..units[c].range.start]);
                out.extend_from_slice(&b[units[a].range.clone()]);
                out.extend_from_slice(&b[units[c].range.end..]);
                *b = out;
            }
        }
        (Some(h), 2) if unit.range.len() >= h.len => {
            let len = boundary_length(&h, input.limit, u)?;
            let at = unit.range.start;
            put_be(&mut b[at + h.length.start..at + h.length.end], len);
        }
        (Some(h), 3) if unit.range.len() >= h.len => {
            // Make the claim honest, so that what follows is parsed too.
            let at = unit.range.start;
            put_be(
                &mut b[at + h.length.start..at + h.length.end],
                unit.payload.len() as u64,
            );
        }
        (Some(h), _) if unit.range.len() >= h.len => {
            if let Some(code) = &h.code {
                let value = *u.choose(&[0, 1, 2, 255, 256, 65_534, 65_535])?;
                let at = unit.range.start;
                put_be(&mut b[at + code.start..at + code.end], value);
            }
        }
        (None, 2) => {
            // A line ending changed: CRLF, a lone CR, none.
            let end = unit.payload.end;
            let ending: &[u8] = u.choose(&[&b"\r\n"[..], b"\r", b"", b"\n\n"])?;
            b.splice(end..unit.range.end, ending.iter().copied());
        }
        (None, 3) => {
            let at = u.int_in_range(unit.payload.start..=unit.payload.end)?;
            let piece: &[u8] = u.choose(&[
                &b":"[..],
                b"\xc3\xa9",
                b"\xff",
                b"\xc3",
                b"\xed\xa0\x80",
                b"\r",
                b"ECHO:",
            ])?;
            b.splice(at..at, piece.iter().copied());
        }
        (None, _) => {
            // Grow the line to the limit, or one past it.
            let target = input.limit.saturating_add(u.int_in_range(0..=1)?) as usize;
            let grow = target.saturating_sub(unit.range.len());
            if grow <= MAX_LEN {
                let end = unit.payload.end;
                b.splice(end..end, std::iter::repeat_n(b'a', grow));
            }
        }
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::formats::Format;

    #[test]
    fn mutation_changes_inputs_and_is_repeatable() {
        let plan = Plan {
            format: Format::Magic,
            limits: vec![16],
            datagrams: false,
            only_datagrams: false,
        };
        let seed = Input {
            bytes: vec![0xde, 0xad, 0xbe, 0xef, 1, 1, 0, 2, b'h', b'i'],
            datagram: false,
            limit: 16,
            expect: None,
        };
        let mut changed = 0;
        for s in 0..200u32 {
            let data: Vec<u8> = (0..256u32)
                .map(|i| (s.wrapping_mul(0x9e37_79b9) ^ i.wrapping_mul(131)) as u8)
                .collect();
            let a = mutate(&plan, &seed, b"", &mut Unstructured::new(&data)).unwrap();
            let b = mutate(&plan, &seed, b"", &mut Unstructured::new(&data)).unwrap();
            assert_eq!(a.bytes, b.bytes);
            changed += usize::from(a.bytes != seed.bytes);
        }
        assert!(
            changed > 150,
            "only {changed} of 200 mutations changed the input"
        );
    }
}
