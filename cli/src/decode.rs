//! `decode` and `encode`: byte streams to messages and back.
//!
//! Decoding streams: a read buffer holds the unparsed tail of the input and
//! grows only to the message being read, which the parser has checked
//! against the limit from its header first. A file far larger than memory
//! is decoded in constant space.

use std::io::{self, BufRead, IsTerminal, Read, Write};

use anyhow::{anyhow, bail, Context, Result};
use bytes::BytesMut;
use serde_json::Value;
use wireforms::{Encode, Error, Needed, Status, WireFormat};

use crate::formats::{with_format, CliFormat, Field, Format, LimitArgs};
use crate::hex;

/// Bytes read from the input at a time.
const CHUNK: usize = 256 * 1024;

/// How `decode` prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// One line per message.
    Human,
    /// One JSON object per line.
    Json,
    /// An annotated hex dump.
    Explain,
    /// Only the totals.
    Count,
}

/// Options of `decode`.
pub struct DecodeArgs {
    /// The format.
    pub format: Format,
    /// The limits.
    pub limits: LimitArgs,
    /// Input as hex text.
    pub hex: bool,
    /// Output style.
    pub style: Style,
    /// The input file; standard input when `None` or `-`.
    pub file: Option<std::path::PathBuf>,
}

/// Opens FILE or standard input.
pub fn open_input(file: Option<&std::path::Path>) -> Result<Box<dyn Read>> {
    match file {
        Some(path) if path.as_os_str() != "-" => {
            let f = std::fs::File::open(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            if f.metadata().map(|m| m.is_dir()).unwrap_or(false) {
                bail!("cannot read {}: is a directory", path.display());
            }
            Ok(Box::new(f))
        }
        _ => Ok(Box::new(io::stdin().lock())),
    }
}

/// Hex text in, bytes out; whitespace ignored; errors name the text offset.
pub struct HexReader<R> {
    inner: R,
    text: Vec<u8>,
    pos: u64,
    digits: hex::HexDigits,
    /// Decoded bytes not handed out yet.
    ready: Vec<u8>,
    ready_at: usize,
}

impl<R: Read> HexReader<R> {
    /// Wraps `inner`.
    pub fn new(inner: R) -> Self {
        HexReader {
            inner,
            text: vec![0; CHUNK],
            pos: 0,
            digits: hex::HexDigits::default(),
            ready: Vec::new(),
            ready_at: 0,
        }
    }
}

fn invalid_data(e: anyhow::Error) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e.to_string())
}

impl<R: Read> Read for HexReader<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.ready_at == self.ready.len() {
            let want = (out.len() * 2).clamp(2, self.text.len());
            let n = self.inner.read(&mut self.text[..want])?;
            if n == 0 {
                self.digits.finish().map_err(invalid_data)?;
                return Ok(0);
            }
            self.digits
                .push(&self.text[..n], self.pos)
                .map_err(invalid_data)?;
            self.pos += n as u64;
            self.ready = self.digits.take_bytes().map_err(invalid_data)?;
            self.ready_at = 0;
        }
        let n = out.len().min(self.ready.len() - self.ready_at);
        out[..n].copy_from_slice(&self.ready[self.ready_at..self.ready_at + n]);
        self.ready_at += n;
        Ok(n)
    }
}

/// The failure that ended a decode, at a stream offset.
pub struct DecodeFailure {
    /// Offset of the message that failed.
    pub offset: u64,
    /// The error.
    pub error: Error,
}

impl DecodeFailure {
    /// The error for standard error, with one offset, from the start of
    /// the input: an error that names its own position (counted from the
    /// message it is in) has it moved to the stream's count; any other is
    /// prefixed with the offset of its message.
    pub fn stderr_text(&self) -> String {
        let text = self.error.to_string();
        if let Some(within) = self.error.offset() {
            // The library writes its position as `at byte N`.
            let from = format!("at byte {within}");
            if text.contains(&from) {
                let absolute = self.offset.saturating_add(within as u64);
                return text.replacen(&from, &format!("at byte {absolute}"), 1);
            }
        }
        format!("at byte {}: {text}", self.offset)
    }

    /// The `decode --json` error object as one JSON line: `offset`,
    /// `error`, `message`, `section`, and `needed` for `incomplete`.
    pub fn json_line(&self) -> Result<Vec<u8>> {
        let needed = match self.error {
            Error::Incomplete { needed, .. } => Some(needed),
            _ => None,
        };
        let line = ErrorLine {
            offset: self.offset,
            error: self.error.kind().as_str(),
            message: self.error.to_string(),
            section: self.error.section(),
            needed,
        };
        Ok(serde_json::to_vec(&line)?)
    }
}

/// The error object, fields in the order the issue lists them.
#[derive(serde::Serialize)]
struct ErrorLine {
    offset: u64,
    error: &'static str,
    message: String,
    section: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    needed: Option<Option<usize>>,
}

/// Reads a stream and hands each message, with its bytes and offset, to `each`.
pub struct StreamDecoder<R> {
    reader: R,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    offset: u64,
    eof: bool,
}

impl<R: Read> StreamDecoder<R> {
    /// A decoder over `reader`.
    pub fn new(reader: R) -> Self {
        StreamDecoder {
            reader,
            buf: Vec::new(),
            start: 0,
            end: 0,
            offset: 0,
            eof: false,
        }
    }

    /// Decodes to the end. `Ok(Err(_))` is a wire error or a stream cut
    /// inside a message; `Err(_)` is an I/O error or an error from `each`.
    pub fn run<F: WireFormat>(
        &mut self,
        limits: &F::Limits,
        mut each: impl FnMut(u64, &F::Message<'_>, &[u8]) -> Result<()>,
    ) -> Result<Result<(), DecodeFailure>> {
        let mut scanned = 0;
        loop {
            let avail = &self.buf[self.start..self.end];
            if avail.is_empty() {
                if self.eof {
                    return Ok(Ok(()));
                }
                self.fill(0)?;
                continue;
            }
            let needed = match F::parse_from(avail, limits, scanned) {
                Ok(Status::Complete(message, len)) => {
                    each(self.offset, &message, &avail[..len])?;
                    self.start += len;
                    self.offset += len as u64;
                    scanned = 0;
                    continue;
                }
                Ok(Status::Incomplete(needed)) => needed,
                Err(error) => {
                    return Ok(Err(DecodeFailure {
                        offset: self.offset,
                        error,
                    }))
                }
            };
            if self.eof {
                let section = F::INCOMPLETE_SECTION;
                return Ok(Err(DecodeFailure {
                    offset: self.offset,
                    error: Error::Incomplete {
                        needed: needed.size(),
                        section,
                    },
                }));
            }
            if needed == Needed::Unknown {
                scanned = self.end - self.start;
            }
            self.fill(needed.size().unwrap_or(0))?;
        }
    }

    /// Reads at least one more byte (or notes the end). `needed` more bytes
    /// are known to be coming (checked against the limit by the parser),
    /// but room is made only for what can arrive now: at most the bytes
    /// held again, and at least [`CHUNK`]. A header may declare gigabytes
    /// that never come; the buffer grows with what does, doubling at most
    /// per read.
    fn fill(&mut self, needed: usize) -> Result<()> {
        let held = self.end - self.start;
        let room = needed.min(held.max(CHUNK)).max(CHUNK);
        if self.start > 0 && self.buf.len() - self.end < room {
            self.buf.copy_within(self.start..self.end, 0);
            self.start = 0;
            self.end = held;
        }
        let want = self.end.saturating_add(room);
        if self.buf.len() < want {
            self.buf.resize(want, 0);
        }
        loop {
            match self.reader.read(&mut self.buf[self.end..]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(());
                }
                Ok(n) => {
                    self.end += n;
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::InvalidData => return Err(anyhow!("{e}")),
                Err(e) => return Err(anyhow!("cannot read input: {e}")),
            }
        }
    }
}

/// One message as a `decode --json` line: `offset`, `size`, then its fields.
pub fn json_line<F: CliFormat>(
    out: &mut Vec<u8>,
    offset: u64,
    message: &F::Message<'_>,
    size: usize,
) -> Result<()> {
    let owned = F::to_owned_copy(message);
    let fields = serde_json::to_vec(&owned)?;
    out.extend_from_slice(format!("{{\"offset\":{offset},\"size\":{size},").as_bytes());
    // `fields` is a non-empty object: splice it in after its `{`.
    out.extend_from_slice(&fields[1..]);
    out.push(b'\n');
    Ok(())
}

/// One message as a human line.
pub fn human_line(offset: u64, fields: &[Field], size: usize) -> String {
    let mut line = format!("@{offset} ({size} bytes)");
    for f in fields {
        match f.name {
            "separator" | "magic" | "length" => continue,
            "line ending" if f.value == "LF" => continue,
            name => {
                line.push(' ');
                line.push_str(name);
                line.push('=');
                line.push_str(&f.value);
            }
        }
    }
    line
}

/// Bytes of one field shown in `--explain` (the rest is summarised).
const EXPLAIN_MAX: usize = 256;

pub(crate) fn explain(out: &mut Vec<u8>, index: u64, offset: u64, fields: &[Field], bytes: &[u8]) {
    let _ = writeln!(
        out,
        "message {index} at offset {offset}, {} bytes",
        bytes.len()
    );
    for f in fields {
        let field = &bytes[f.range.clone()];
        let shown = &field[..field.len().min(EXPLAIN_MAX)];
        let mut rows = shown.chunks(16).peekable();
        if rows.peek().is_none() {
            let _ = writeln!(
                out,
                "  {:08x}  {:<48}  {:<11} {}",
                offset + f.range.start as u64,
                "(empty)",
                f.name,
                f.value
            );
        }
        for (i, row) in rows.enumerate() {
            let hex: Vec<String> = row.iter().map(|b| format!("{b:02x}")).collect();
            let at = offset + (f.range.start + i * 16) as u64;
            if i == 0 {
                let _ = writeln!(
                    out,
                    "  {at:08x}  {:<48}  {:<11} {}",
                    hex.join(" "),
                    f.name,
                    f.value
                );
            } else {
                let _ = writeln!(out, "  {at:08x}  {}", hex.join(" "));
            }
        }
        if field.len() > EXPLAIN_MAX {
            let _ = writeln!(
                out,
                "            ... {} more bytes",
                field.len() - EXPLAIN_MAX
            );
        }
    }
}

/// Files at least this long get a progress bar (on a terminal): shorter
/// ones are decoded before a bar would be worth drawing.
pub const PROGRESS_MIN_LEN: u64 = 16 * 1024 * 1024;

/// Input bytes between two progress updates: the bar is drawn rarely, and
/// the hot loop only compares two counters.
const PROGRESS_STEP: u64 = 1024 * 1024;

/// Counts the bytes read through it, for the progress bar.
struct Counted<R> {
    inner: R,
    read: std::rc::Rc<std::cell::Cell<u64>>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(out)?;
        self.read.set(self.read.get() + n as u64);
        Ok(n)
    }
}

/// A progress bar over the input file, shown only when standard error is
/// a terminal, the file is long, and the output is not `--json` (a
/// machine reads that) nor lines scrolling on the same terminal (`--count`
/// there is fine: it prints once, at the end).
fn progress_bar(args: &DecodeArgs) -> Option<indicatif::ProgressBar> {
    let path = args.file.as_deref().filter(|p| p.as_os_str() != "-")?;
    let len = std::fs::metadata(path).ok()?.len();
    let scrolling = io::stdout().is_terminal() && args.style != Style::Count;
    if len < PROGRESS_MIN_LEN
        || args.style == Style::Json
        || scrolling
        || !io::stderr().is_terminal()
    {
        return None;
    }
    let bar = indicatif::ProgressBar::new(len);
    let style = indicatif::ProgressStyle::with_template(
        "{bytes}/{total_bytes} {wide_bar} {binary_bytes_per_sec} {eta}",
    )
    .ok()?;
    bar.set_style(style);
    Some(bar)
}

/// Runs `decode`; returns the process exit status.
pub fn decode(args: &DecodeArgs) -> Result<i32> {
    let read = std::rc::Rc::new(std::cell::Cell::new(0));
    let input = Counted {
        inner: open_input(args.file.as_deref())?,
        read: read.clone(),
    };
    let input: Box<dyn Read> = if args.hex {
        Box::new(HexReader::new(input))
    } else {
        Box::new(input)
    };
    let progress = progress_bar(args).map(|bar| Progress { bar, read, next: 0 });
    with_format!(args.format, F => decode_as::<F>(args, input, progress))
}

struct Progress {
    bar: indicatif::ProgressBar,
    read: std::rc::Rc<std::cell::Cell<u64>>,
    next: u64,
}

impl Progress {
    fn tick(&mut self) {
        let read = self.read.get();
        if read >= self.next {
            self.bar.set_position(read);
            self.next = read + PROGRESS_STEP;
        }
    }
}

fn decode_as<F: CliFormat>(
    args: &DecodeArgs,
    input: Box<dyn Read>,
    mut progress: Option<Progress>,
) -> Result<i32> {
    let limits = F::limits(&args.limits)?;
    let stdout = io::stdout();
    let mut stdout = io::BufWriter::with_capacity(64 * 1024, stdout.lock());
    let mut line = Vec::new();
    let mut count = 0u64;
    let mut bytes = 0u64;
    let mut decoder = StreamDecoder::new(input);
    let result = decoder.run::<F>(&limits, |offset, message, raw| {
        if let Some(p) = progress.as_mut() {
            p.tick();
        }
        count += 1;
        bytes += raw.len() as u64;
        line.clear();
        match args.style {
            Style::Count => return Ok(()),
            Style::Json => json_line::<F>(&mut line, offset, message, raw.len())?,
            Style::Human => {
                let fields = F::fields(message, raw);
                line.extend_from_slice(human_line(offset, &fields, raw.len()).as_bytes());
                line.push(b'\n');
            }
            Style::Explain => {
                let fields = F::fields(message, raw);
                explain(&mut line, count, offset, &fields, raw);
            }
        }
        write_out(&mut stdout, &line)
    });
    if let Some(p) = progress {
        p.bar.finish_and_clear();
    }
    let result = match result {
        Ok(r) => r,
        Err(e) => {
            // Keep what was decoded before an input error.
            let _ = stdout.flush();
            return Err(e);
        }
    };
    if args.style == Style::Count {
        let summary = format!("{count} messages, {bytes} bytes\n");
        write_out(&mut stdout, summary.as_bytes())?;
    }
    match result {
        Ok(()) => {
            flush(&mut stdout)?;
            Ok(0)
        }
        Err(failure) => {
            match args.style {
                Style::Json => {
                    let mut obj = failure.json_line()?;
                    obj.push(b'\n');
                    write_out(&mut stdout, &obj)?;
                }
                Style::Human | Style::Explain | Style::Count => {
                    let text = format!(
                        "@{} error {}: {}\n",
                        failure.offset,
                        failure.error.kind(),
                        failure.error
                    );
                    write_out(&mut stdout, text.as_bytes())?;
                }
            }
            flush(&mut stdout)?;
            eprintln!("error: {}", failure.stderr_text());
            Ok(1)
        }
    }
}

fn write_out(w: &mut impl Write, bytes: &[u8]) -> Result<()> {
    w.write_all(bytes).map_err(output_error)
}

fn flush(w: &mut impl Write) -> Result<()> {
    w.flush().map_err(output_error)
}

/// Output errors: a closed pipe (`| head`) ends quietly.
pub(crate) fn output_error(e: io::Error) -> anyhow::Error {
    if e.kind() == io::ErrorKind::BrokenPipe {
        anyhow::Error::new(crate::BrokenPipe)
    } else {
        anyhow!("cannot write output: {e}")
    }
}

/// Parses one JSON line in the shape of `decode --json` (`offset` and
/// `size` ignored) into an owned message.
pub fn message_from_json<F: CliFormat>(text: &str) -> Result<F::Owned> {
    let mut value: Value = serde_json::from_str(text).map_err(|e| anyhow!("invalid JSON: {e}"))?;
    let Some(obj) = value.as_object_mut() else {
        bail!("expected a JSON object");
    };
    if obj.contains_key("error") {
        bail!("this is a decode error object, not a message");
    }
    obj.remove("offset");
    obj.remove("size");
    serde_json::from_value(value).map_err(|e| anyhow!("not a {} message: {e}", F::NAME))
}

/// One `encode` input line: a JSON object, or for the line formats the
/// line itself (`1:ECHO:hi`), as `send` takes it.
pub fn message_from_line<F: CliFormat>(text: &str) -> Result<F::Owned> {
    if !F::FORMAT.is_text() || text.trim_start().starts_with('{') {
        return message_from_json::<F>(text);
    }
    let text = text.strip_suffix('\r').unwrap_or(text);
    let line = format!("{text}\n");
    let owned = match F::parse(line.as_bytes(), &F::Limits::default()) {
        Ok(Status::Complete(m, _)) => F::to_owned_copy(&m),
        Ok(Status::Incomplete(_)) => bail!("not a whole line"),
        Err(e) => bail!("not JSON, nor a {} line `ID:COMMAND:ARGS`: {e}", F::NAME),
    };
    Ok(owned)
}

/// Raw bytes go to a terminal only when asked for: they can garble it
/// (escape sequences) and are never what a person wanted to read.
///
/// # Errors
/// Raw binary output, standard output a terminal, and no `--force`.
pub fn refuse_raw_to_terminal(
    format: Format,
    hex_out: bool,
    force: bool,
    terminal: bool,
) -> Result<()> {
    if terminal && !hex_out && !force && !format.is_text() {
        bail!(
            "refusing to write raw {} bytes to a terminal: add --hex for hex text, \
             --force for the bytes, or redirect the output",
            format.name()
        );
    }
    Ok(())
}

/// Runs `encode`; returns the process exit status.
pub fn encode(
    format: Format,
    hex_out: bool,
    force: bool,
    file: Option<&std::path::Path>,
) -> Result<i32> {
    refuse_raw_to_terminal(format, hex_out, force, io::stdout().is_terminal())?;
    let input = io::BufReader::new(open_input(file)?);
    with_format!(format, F => encode_as::<F>(input, hex_out))
}
fn encode_as<F: CliFormat>(input: impl BufRead, hex_out: bool) -> Result<i32> {
    let stdout = io::stdout();
    let mut stdout = io::BufWriter::new(stdout.lock());
    let mut buf = BytesMut::new();
    for (i, line) in input.lines().enumerate() {
        let n = i + 1;
        let line = line.map_err(|e| anyhow!("cannot read input line {n}: {e}"))?;
        if line.trim().is_empty() {
            continue;
        }
        let message = message_from_line::<F>(&line).with_context(|| format!("line {n}"))?;
        buf.clear();
        message
            .encode(&mut buf)
            .map_err(|e| anyhow!("line {n}: cannot encode: {e}"))?;
        if hex_out {
            let mut text = hex::encode(&buf);
            text.push('\n');
            write_out(&mut stdout, text.as_bytes())?;
        } else {
            write_out(&mut stdout, &buf)?;
        }
    }
    flush(&mut stdout)?;
    Ok(0)
}
