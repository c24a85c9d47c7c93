//! Decoding one direction of a connection from its reassembled bytes:
//! messages out as they complete, errors, and each format's recovery from
//! an error or a gap as its spec's §7.3 allows (magic: scan for the next
//! `de ad be ef`; request/response lines: resume after the next `\n`;
//! typed, frame, mux: no resynchronisation point, the direction stops).
//!
//! Memory: the buffer holds the unparsed tail only. The parser checks a
//! message's length against the limit from its header (or on every byte of
//! a line) before waiting for it, so the buffer never exceeds one message
//! at the limit plus one delivery from the reassembler
//! ([`Direction::max_buffer`]).

use std::io::Write;

use anyhow::Result;
use wireforms::{magic, Needed, Status, WireFormat};

use crate::formats::{with_format, CliFormat, Format, LimitArgs};

use super::output::{Context, Output};

/// How a format recovers, from its spec's §7.3.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Recovery {
    /// No resynchronisation point.
    Stop,
    /// Scan for the next magic number (magic/7.3).
    Magic,
    /// Resume after the next line ending (reqres/7.3).
    NextLine,
}

fn recovery(format: Format) -> Recovery {
    match format {
        Format::Magic => Recovery::Magic,
        Format::Request | Format::Response => Recovery::NextLine,
        Format::Typed | Format::Frame | Format::Mux => Recovery::Stop,
    }
}

/// The spec section that says how a capture reader recovers.
fn capture_section(format: Format) -> String {
    format!("{}/7.3", format.spec_prefix())
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Parse,
    /// Skipping since this stream offset.
    Seek(u64),
    Stopped,
}

/// The largest segment payload an IP packet can carry: what one delivery
/// adds to the buffer at most (held blocks are stored per segment).
const MAX_DELIVERY: usize = 65_535;

/// The buffer is given back down to this (or twice what it holds) when its
/// capacity is more than four times what it holds: one large message does
/// not keep its memory for the connection's lifetime.
const SHRINK_TO: usize = 64 * 1024;

/// One direction's decoder.
pub struct Direction {
    format: Format,
    limits: LimitArgs,
    buf: Vec<u8>,
    /// Stream offset of `buf[0]`.
    buf_offset: u64,
    scanned: usize,
    mode: Mode,
    /// Largest the buffer has been.
    pub peak_buffer: usize,
}

impl Direction {
    /// A direction carrying `format`; `mid_stream` when the capture joined
    /// it late (magic then starts by looking for a packet start).
    pub fn new(format: Format, limits: LimitArgs, mid_stream: bool) -> Self {
        let mode = if mid_stream && recovery(format) == Recovery::Magic {
            Mode::Seek(0)
        } else {
            Mode::Parse
        };
        Direction {
            format,
            limits,
            buf: Vec::new(),
            buf_offset: 0,
            scanned: 0,
            mode,
            peak_buffer: 0,
        }
    }

    /// The most the buffer can hold: a message at the limit, less a byte,
    /// plus one delivery.
    ///
    /// # Errors
    /// Limits that do not apply to the format.
    pub fn max_buffer(format: Format, limits: &LimitArgs) -> Result<usize> {
        let max_message = with_format!(format, F => {
            let l = F::limits(limits)?;
            F::FIXED_HEADER_LEN.saturating_add(wireforms::LengthLimit::max_len(&l))
        });
        Ok(max_message.saturating_add(MAX_DELIVERY))
    }

    /// Memory held now: the buffer's capacity, not only its bytes.
    pub fn buffered(&self) -> usize {
        self.buf.capacity()
    }

    /// The next bytes of the stream, at `offset`.
    ///
    /// # Errors
    /// Output errors.
    pub fn data<W: Write>(
        &mut self,
        ctx: &Context,
        offset: u64,
        bytes: &[u8],
        out: &mut Output<W>,
    ) -> Result<()> {
        if self.mode == Mode::Stopped {
            return Ok(());
        }
        if self.buf.is_empty() {
            self.buf_offset = offset;
            if let Mode::Seek(from) = self.mode {
                // A seek that began before any byte came starts here.
                self.mode = Mode::Seek(from.max(offset));
            }
        }
        self.buf.extend_from_slice(bytes);
        self.peak_buffer = self.peak_buffer.max(self.buf.capacity());
        with_format!(self.format, F => self.process::<F, W>(ctx, out))
    }

    /// `len` bytes at `offset` were lost: the message they cut is gone.
    ///
    /// # Errors
    /// Output errors.
    pub fn gap<W: Write>(
        &mut self,
        ctx: &Context,
        offset: u64,
        len: u64,
        out: &mut Output<W>,
    ) -> Result<()> {
        if self.mode == Mode::Stopped {
            return Ok(());
        }
        let resume = offset.saturating_add(len);
        let (mode, text) = match recovery(self.format) {
            Recovery::Stop => (
                Mode::Stopped,
                format!(
                    "bytes not captured; no resynchronisation point ({}): the rest of this direction is not decoded",
                    capture_section(self.format)
                ),
            ),
            Recovery::Magic => (
                Mode::Seek(resume),
                format!(
                    "bytes not captured; looking for the next magic ({})",
                    capture_section(self.format)
                ),
            ),
            Recovery::NextLine => (
                Mode::Seek(resume),
                format!(
                    "bytes not captured; resuming after the next line ending ({})",
                    capture_section(self.format)
                ),
            ),
        };
        let lost = self.buf.len() as u64;
        let at = if lost > 0 { self.buf_offset } else { offset };
        self.buf.clear();
        self.buf.shrink_to(SHRINK_TO);
        self.scanned = 0;
        self.buf_offset = resume;
        self.mode = mode;
        out.event(ctx, self.format, "gap", at, len + lost, &text)
    }

    /// The stream ended: by FIN or RST (`closed`), or with the capture. A
    /// message left unfinished is `incomplete` when closed, and
    /// `truncated` when the capture stopped.
    ///
    /// # Errors
    /// Output errors.
    pub fn end<W: Write>(
        &mut self,
        ctx: &Context,
        closed: bool,
        out: &mut Output<W>,
    ) -> Result<()> {
        let held = self.buf.len() as u64;
        let mode = std::mem::replace(&mut self.mode, Mode::Stopped);
        self.buf.clear();
        self.buf.shrink_to(SHRINK_TO);
        match mode {
            Mode::Parse if held > 0 && closed => {
                let error = with_format!(self.format, F => wireforms::Error::Incomplete {
                    needed: None,
                    section: F::INCOMPLETE_SECTION,
                });
                out.error(ctx, self.format, self.buf_offset, error)
            }
            Mode::Parse if held > 0 => out.event(
                ctx,
                self.format,
                "truncated",
                self.buf_offset,
                held,
                "the capture ends inside this message",
            ),
            Mode::Seek(from) if held > 0 || self.buf_offset > from => {
                let skipped = (self.buf_offset + held).saturating_sub(from);
                out.event(
                    ctx,
                    self.format,
                    "skipped",
                    from,
                    skipped,
                    "the stream ended before a resynchronisation point",
                )
            }
            _ => Ok(()),
        }
    }

    fn process<F: CliFormat, W: Write>(
        &mut self,
        ctx: &Context,
        out: &mut Output<W>,
    ) -> Result<()> {
        let limits = F::limits(&self.limits)?;
        let mut start = 0;
        let result = loop {
            let avail = &self.buf[start..];
            let at = self.buf_offset + start as u64;
            if avail.is_empty() {
                break Ok(());
            }
            match self.mode {
                Mode::Stopped => {
                    start = self.buf.len();
                    break Ok(());
                }
                Mode::Parse => match F::parse_from(avail, &limits, self.scanned) {
                    Ok(Status::Complete(message, len)) => {
                        if let Err(e) = out.message::<F>(ctx, at, &message, &avail[..len]) {
                            break Err(e);
                        }
                        start += len;
                        self.scanned = 0;
                    }
                    Ok(Status::Incomplete(needed)) => {
                        if needed == Needed::Unknown {
                            self.scanned = avail.len();
                        }
                        break Ok(());
                    }
                    Err(error) => {
                        if let Err(e) = out.error(ctx, F::FORMAT, at, error) {
                            break Err(e);
                        }
                        self.scanned = 0;
                        match recovery(F::FORMAT) {
                            Recovery::Stop => {
                                self.mode = Mode::Stopped;
                                start = self.buf.len();
                                break Ok(());
                            }
                            // Scan from the byte after the failed packet's start.
                            Recovery::Magic => {
                                self.mode = Mode::Seek(at);
                                start += 1;
                            }
                            Recovery::NextLine => self.mode = Mode::Seek(at),
                        }
                    }
                },
                Mode::Seek(from) => {
                    let found = match recovery(F::FORMAT) {
                        Recovery::Magic => find(avail, &magic::MAGIC.to_be_bytes()).map(|i| (i, i)),
                        _ => avail.iter().position(|&b| b == b'\n').map(|i| (i, i + 1)),
                    };
                    match found {
                        Some((_, resume)) => {
                            start += resume;
                            self.mode = Mode::Parse;
                            let skipped = (at + resume as u64).saturating_sub(from);
                            if skipped > 0 {
                                let text = format!(
                                    "resynchronised ({}); what follows is best-effort",
                                    capture_section(F::FORMAT)
                                );
                                if let Err(e) =
                                    out.event(ctx, F::FORMAT, "skipped", from, skipped, &text)
                                {
                                    break Err(e);
                                }
                            }
                        }
                        None => {
                            // Keep the last bytes: a magic may straddle deliveries.
                            let keep = if recovery(F::FORMAT) == Recovery::Magic {
                                avail.len().min(magic::MAGIC.to_be_bytes().len() - 1)
                            } else {
                                0
                            };
                            start += avail.len() - keep;
                            break Ok(());
                        }
                    }
                }
            }
        };
        self.buf.drain(..start);
        if self.buf.capacity() > SHRINK_TO.max(4 * self.buf.len()) {
            self.buf.shrink_to(SHRINK_TO.max(2 * self.buf.len()));
        }
        self.buf_offset += start as u64;
        result
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
