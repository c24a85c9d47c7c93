//! Minimisation: the shortest input, of the simplest structure, that still
//! shows the same difference (the same dedup key). Edits go through the
//! format's layout first (whole units dropped, payloads shortened with
//! their length fields kept honest, codes and payload bytes made plain),
//! then bytes are deleted in chunks, as delta debugging does.

use std::time::Instant;

use anyhow::Result;

use super::finding::Difference;
use super::input::Input;
use super::layout::{self, put_be};
use super::{Check, Oracle};
use crate::formats::Format;

/// What one minimisation may spend.
#[derive(Clone, Copy, Debug)]
pub struct Budget {
    /// Inputs tried at most.
    pub checks: u32,
    /// And no later than this.
    pub deadline: Instant,
}

struct Minimiser<'a> {
    oracle: &'a mut Oracle,
    format: Format,
    key: String,
    best: Input,
    difference: Difference,
    budget: Budget,
    checks: u32,
}

/// The smallest input found that shows `difference` as `input` does.
///
/// # Errors
/// The testee can no longer be run.
pub async fn minimise(
    oracle: &mut Oracle,
    format: Format,
    input: Input,
    difference: Difference,
    budget: Budget,
) -> Result<(Input, Difference, u32)> {
    if input.expect.is_some() {
        // A spec vector as it is: already the reproducer.
        return Ok((input, difference, 0));
    }
    let mut m = Minimiser {
        oracle,
        format,
        key: difference.key.clone(),
        best: input,
        difference,
        budget,
        checks: 0,
    };
    loop {
        let before = (m.best.bytes.len(), m.best.bytes.clone());
        m.drop_units().await?;
        m.cut_tail().await?;
        m.shrink_payloads().await?;
        m.delete_chunks().await?;
        m.plain_codes().await?;
        m.plain_bytes().await?;
        if m.spent() || (m.best.bytes.len(), m.best.bytes.clone()) == before {
            break;
        }
    }
    Ok((m.best, m.difference, m.checks))
}

impl Minimiser<'_> {
    fn spent(&self) -> bool {
        self.checks >= self.budget.checks || Instant::now() >= self.budget.deadline
    }

    /// Keeps `bytes` when they still show the same difference.
    async fn attempt(&mut self, bytes: Vec<u8>) -> Result<bool> {
        if self.spent() || bytes == self.best.bytes {
            return Ok(false);
        }
        self.checks += 1;
        let candidate = self.best.with_bytes(bytes);
        match self.oracle.check(&candidate).await? {
            Check::Differ(d) if d.key == self.key => {
                self.best = candidate;
                self.difference = d;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn drop_units(&mut self) -> Result<()> {
        let mut k = layout::units(self.format, &self.best.bytes).len();
        while k > 0 {
            k -= 1;
            let units = layout::units(self.format, &self.best.bytes);
            let Some(unit) = units.get(k) else { continue };
            let mut bytes = self.best.bytes.clone();
            bytes.drain(unit.range.clone());
            self.attempt(bytes).await?;
        }
        Ok(())
    }

    async fn cut_tail(&mut self) -> Result<()> {
        let mut step = self.best.bytes.len() / 2;
        while step > 0 && !self.spent() {
            let len = self.best.bytes.len();
            let bytes = self.best.bytes[..len.saturating_sub(step)].to_vec();
            if !self.attempt(bytes).await? {
                step /= 2;
            }
        }
        Ok(())
    }

    /// Shortens each unit's payload, its length field following when it
    /// was honest, in halving steps (a threshold such as a limit is found
    /// in a few dozen tries even for 64 KiB).
    async fn shrink_payloads(&mut self) -> Result<()> {
        let header = layout::header(self.format);
        let count = layout::units(self.format, &self.best.bytes).len();
        for k in 0..count {
            let mut step = {
                let units = layout::units(self.format, &self.best.bytes);
                units.get(k).map_or(0, |u| u.payload.len() / 2).max(1)
            };
            loop {
                if self.spent() {
                    return Ok(());
                }
                let units = layout::units(self.format, &self.best.bytes);
                let Some(unit) = units.get(k) else { break };
                let have = unit.payload.len();
                if have == 0 {
                    break;
                }
                let step_now = step.min(have);
                let mut bytes = self.best.bytes.clone();
                if let Some(h) = &header {
                    if unit.range.len() >= h.len {
                        let at = unit.range.start;
                        let field = at + h.length.start..at + h.length.end;
                        let claimed = layout::get_be(&bytes[field.clone()]);
                        if claimed == have as u64 {
                            put_be(&mut bytes[field], (have - step_now) as u64);
                        }
                    }
                }
                bytes.drain(unit.payload.end - step_now..unit.payload.end);
                if !self.attempt(bytes).await? {
                    if step == 1 {
                        break;
                    }
                    step /= 2;
                }
            }
        }
        Ok(())
    }

    async fn delete_chunks(&mut self) -> Result<()> {
        if self.best.bytes.len() > 2048 {
            return Ok(());
        }
        let mut size = self.best.bytes.len() / 2;
        while size > 0 && !self.spent() {
            let mut at = 0;
            while at + size <= self.best.bytes.len() && !self.spent() {
                let mut bytes = self.best.bytes.clone();
                bytes.drain(at..at + size);
                if !self.attempt(bytes).await? {
                    at += size;
                }
            }
            size /= 2;
        }
        Ok(())
    }

    async fn plain_codes(&mut self) -> Result<()> {
        let Some(h) = layout::header(self.format) else {
            return Ok(());
        };
        let Some(code) = h.code.clone() else {
            return Ok(());
        };
        let count = layout::units(self.format, &self.best.bytes).len();
        for k in 0..count {
            for plain in [1u64, 0] {
                let units = layout::units(self.format, &self.best.bytes);
                let Some(unit) = units.get(k) else { break };
                if unit.range.len() < h.len {
                    break;
                }
                let mut bytes = self.best.bytes.clone();
                let at = unit.range.start;
                put_be(&mut bytes[at + code.start..at + code.end], plain);
                if self.attempt(bytes).await? {
                    break;
                }
            }
        }
        Ok(())
    }

    /// Payload bytes made `a`, all of a unit at once, then one by one for
    /// short payloads (line separators and endings kept).
    async fn plain_bytes(&mut self) -> Result<()> {
        let keep = |b: u8| b == b':' || b == b'\r' || b == b'\n';
        let count = layout::units(self.format, &self.best.bytes).len();
        for k in 0..count {
            let units = layout::units(self.format, &self.best.bytes);
            let Some(unit) = units.get(k).cloned() else {
                break;
            };
            let mut bytes = self.best.bytes.clone();
            for b in &mut bytes[unit.payload.clone()] {
                if !keep(*b) {
                    *b = b'a';
                }
            }
            if self.attempt(bytes).await? || unit.payload.len() > 64 {
                continue;
            }
            for i in unit.payload.clone() {
                let b = self.best.bytes[i];
                if b == b'a' || keep(b) {
                    continue;
                }
                let mut bytes = self.best.bytes.clone();
                bytes[i] = b'a';
                self.attempt(bytes).await?;
            }
        }
        Ok(())
    }
}
