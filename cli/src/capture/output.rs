//! What `decode --pcap` and `--live` print: each message, error, gap and
//! resynchronisation with its connection, direction and capture time.
//!
//! `--json` lines all carry `event` (`message`, `error`, `gap`, `skipped`,
//! `truncated`), `time`, `frame`, `transport`, `stream` (the connection's
//! number, counted from 0 in order of appearance as Wireshark's
//! `tcp.stream`), `src`, `dst` and `format`; a message then has `offset`
//! (in its direction's byte stream), `size` and its fields as
//! `decode --json` prints them.

use std::io::Write;
use std::net::SocketAddr;

use anyhow::Result;
use serde::Serialize;
use wireforms::Error;

use crate::decode::{human_line, Style};
use crate::formats::{CliFormat, Format};

use super::file::Timestamp;

/// Where and when an event happened.
#[derive(Clone, Copy, Debug)]
pub struct Context {
    /// Capture time of the frame that completed it.
    pub time: Timestamp,
    /// That frame's number (1-based).
    pub frame: u64,
    /// `tcp` or `udp`.
    pub transport: &'static str,
    /// The connection's number (or the UDP flow's).
    pub stream: u64,
    /// Sender.
    pub src: SocketAddr,
    /// Receiver.
    pub dst: SocketAddr,
}

/// Totals for the summary.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    /// Messages decoded.
    pub messages: u64,
    /// Their bytes.
    pub message_bytes: u64,
    /// Wire errors (and incomplete messages at FIN or RST).
    pub errors: u64,
    /// Bytes the capture lost (gaps).
    pub lost_bytes: u64,
    /// Bytes skipped to resynchronise.
    pub skipped_bytes: u64,
}

/// The printer.
pub struct Output<W: Write> {
    out: W,
    style: Style,
    line: Vec<u8>,
    /// What was printed, counted.
    pub totals: Totals,
}

#[derive(Serialize)]
struct Head<'a> {
    event: &'a str,
    time: String,
    frame: u64,
    transport: &'a str,
    stream: u64,
    src: SocketAddr,
    dst: SocketAddr,
    format: &'a str,
}

impl<W: Write> Output<W> {
    /// Prints to `out` in `style`.
    pub fn new(out: W, style: Style) -> Self {
        Output {
            out,
            style,
            line: Vec::new(),
            totals: Totals::default(),
        }
    }

    /// The JSON head of a line, without its closing brace.
    fn json_head(&mut self, event: &str, ctx: &Context, format: Format) -> Result<()> {
        let head = Head {
            event,
            time: ctx.time.to_string(),
            frame: ctx.frame,
            transport: ctx.transport,
            stream: ctx.stream,
            src: ctx.src,
            dst: ctx.dst,
            format: format.name(),
        };
        let bytes = serde_json::to_vec(&head)?;
        self.line.extend_from_slice(&bytes[..bytes.len() - 1]);
        Ok(())
    }

    fn human_head(&mut self, ctx: &Context, format: Format) {
        let _ = write!(
            self.line,
            "{} #{} {} {} {} > {} {} ",
            ctx.time,
            ctx.frame,
            ctx.transport,
            ctx.stream,
            ctx.src,
            ctx.dst,
            format.name()
        );
    }

    fn emit(&mut self) -> Result<()> {
        let r = self.out.write_all(&self.line);
        self.line.clear();
        r.map_err(crate::decode::output_error)
    }

    /// One decoded message, `raw` its bytes at `offset` of its stream.
    ///
    /// # Errors
    /// Output errors.
    pub fn message<F: CliFormat>(
        &mut self,
        ctx: &Context,
        offset: u64,
        message: &F::Message<'_>,
        raw: &[u8],
    ) -> Result<()> {
        self.totals.messages += 1;
        self.totals.message_bytes += raw.len() as u64;
        match self.style {
            Style::Count => return Ok(()),
            Style::Json => {
                self.json_head("message", ctx, F::FORMAT)?;
                let mut fields = Vec::new();
                crate::decode::json_line::<F>(&mut fields, offset, message, raw.len())?;
                // `{"offset":...}\n`: splice after its `{`.
                self.line.push(b',');
                self.line.extend_from_slice(&fields[1..]);
            }
            Style::Human => {
                self.human_head(ctx, F::FORMAT);
                let fields = F::fields(message, raw);
                self.line
                    .extend_from_slice(human_line(offset, &fields, raw.len()).as_bytes());
                self.line.push(b'\n');
            }
            Style::Explain => {
                self.human_head(ctx, F::FORMAT);
                self.line.push(b'\n');
                let fields = F::fields(message, raw);
                let count = self.totals.messages;
                crate::decode::explain(&mut self.line, count, offset, &fields, raw);
            }
        }
        self.emit()
    }

    /// A wire error at `offset` of a stream.
    ///
    /// # Errors
    /// Output errors.
    pub fn error(
        &mut self,
        ctx: &Context,
        format: Format,
        offset: u64,
        error: Error,
    ) -> Result<()> {
        self.totals.errors += 1;
        let failure = crate::decode::DecodeFailure { offset, error };
        match self.style {
            Style::Json => {
                self.json_head("error", ctx, format)?;
                let obj = failure.json_line()?;
                self.line.push(b',');
                self.line.extend_from_slice(&obj[1..]);
                self.line.push(b'\n');
            }
            _ => {
                self.human_head(ctx, format);
                let _ = writeln!(
                    self.line,
                    "@{offset} error {}: {}",
                    failure.error.kind(),
                    failure.error
                );
            }
        }
        self.emit()
    }

    /// An event without a message: a gap, a skip or a truncation, with its
    /// offset, its length, and what it means.
    ///
    /// # Errors
    /// Output errors.
    pub fn event(
        &mut self,
        ctx: &Context,
        format: Format,
        event: &'static str,
        offset: u64,
        len: u64,
        text: &str,
    ) -> Result<()> {
        match event {
            "gap" => self.totals.lost_bytes += len,
            "skipped" => self.totals.skipped_bytes += len,
            _ => {}
        }
        match self.style {
            Style::Json => {
                self.json_head(event, ctx, format)?;
                let tail = serde_json::json!({"offset": offset, "len": len, "message": text});
                let tail = serde_json::to_vec(&tail)?;
                self.line.push(b',');
                self.line.extend_from_slice(&tail[1..]);
                self.line.push(b'\n');
            }
            Style::Count => return Ok(()),
            _ => {
                self.human_head(ctx, format);
                let _ = writeln!(self.line, "@{offset} {event} {len} bytes: {text}");
            }
        }
        self.emit()
    }

    /// Flushes the output.
    ///
    /// # Errors
    /// Output errors.
    pub fn flush(&mut self) -> Result<()> {
        self.out.flush().map_err(crate::decode::output_error)
    }
}
