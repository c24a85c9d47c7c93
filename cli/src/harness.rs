//! `wireforms harness`: this crate's decoder behind the harness protocol of
//! `spec/harness.md`, so that `conform --exec` is proven on a real decoder.
//!
//! Reads length frames (`spec/frame.md`) holding JSON cases from standard
//! input and answers each with a length frame holding its JSON verdict
//! (decode cases) or encoding (encode cases), flushed at once, until
//! standard input ends.

use std::io::{self, Read, Write};

use anyhow::{anyhow, bail, Result};

use crate::formats::Format;
use crate::vectors::{encode_answer, judge, EncodeCase, HarnessCase};

/// Largest harness frame accepted, either way (`spec/harness.md` §3).
pub const MAX_FRAME_LEN: u32 = 16 << 20;

/// Reads one frame; `None` at a clean end of input.
pub fn read_frame(input: &mut impl Read) -> Result<Option<Vec<u8>>> {
    let mut head = [0u8; 4];
    let mut got = 0;
    while got < head.len() {
        match input.read(&mut head[got..]) {
            Ok(0) if got == 0 => return Ok(None),
            Ok(0) => bail!("input ended inside a frame header"),
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
    let len = u32::from_be_bytes(head);
    if len > MAX_FRAME_LEN {
        bail!("frame of {len} bytes is over the harness limit of {MAX_FRAME_LEN}");
    }
    let mut body = vec![0; len as usize];
    input
        .read_exact(&mut body)
        .map_err(|e| anyhow!("input ended inside a frame: {e}"))?;
    Ok(Some(body))
}

/// The frame holding `body`.
pub fn frame(body: &[u8]) -> Result<Vec<u8>> {
    let len = u32::try_from(body.len())
        .ok()
        .filter(|n| *n <= MAX_FRAME_LEN)
        .ok_or_else(|| anyhow!("frame of {} bytes is over the harness limit", body.len()))?;
    let mut out = Vec::with_capacity(4 + body.len());
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(body);
    Ok(out)
}

/// Runs the harness until standard input ends.
pub fn harness(only: Option<Format>) -> Result<i32> {
    let mut stdin = io::stdin().lock();
    let mut stdout = io::stdout().lock();
    while let Some(body) = read_frame(&mut stdin)? {
        let value: serde_json::Value =
            serde_json::from_slice(&body).map_err(|e| anyhow!("bad harness case: {e}"))?;
        let answer = match value.get("op").and_then(serde_json::Value::as_str) {
            Some("encode") => {
                let case: EncodeCase =
                    serde_json::from_value(value).map_err(|e| anyhow!("bad encode case: {e}"))?;
                serde_json::to_vec(&encode_answer(&case, only))?
            }
            None | Some("decode") => {
                let case: HarnessCase =
                    serde_json::from_value(value).map_err(|e| anyhow!("bad harness case: {e}"))?;
                serde_json::to_vec(&judge(&case, only))?
            }
            Some(op) => {
                // An operation of a later protocol version: said, not fatal.
                let id = value.get("id").cloned().unwrap_or_default();
                serde_json::to_vec(
                    &serde_json::json!({"id": id, "result": "unsupported", "op": op}),
                )?
            }
        };
        stdout.write_all(&frame(&answer)?)?;
        stdout.flush()?;
    }
    Ok(0)
}
