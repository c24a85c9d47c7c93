//! The logic of the fuzz targets (a workspace crate of its own, never
//! published: the library carries no fuzzing code or test-only features).
//!
//! Each function here is one fuzz target's body. The cargo-fuzz targets in
//! `fuzz/` call them, and `fuzzing/tests/corpus.rs` replays the seed corpus
//! (made from `spec/vectors/`) and `fuzz/regressions/` through them on
//! stable Rust, so CI checks the same invariants where libFuzzer is not
//! available. Every check is an `assert!`: a broken invariant is a panic,
//! which libFuzzer reports as a crash.
//!
//! What the targets check, beyond "no panic":
//! - [`decode`]: the parser agrees with an independent, hand-written oracle
//!   on the outcome (consumed length, exact need, error kind and offset);
//!   a complete message re-encodes to exactly the bytes it took (a `\r\n`
//!   line re-encodes to its canonical `\n` form, which parses to the same
//!   message); a need is never above the limit plus the header, and
//!   supplying one byte less still needs one byte; an error stays an error
//!   when more bytes follow; `parse_from` with a valid hint agrees with
//!   `parse`.
//! - [`roundtrip`]: an owned message the serializer accepts parses back
//!   equal, through both the copying and the zero-copy conversions.
//! - [`codec`]: the tokio-util codec fed chunk by chunk gives the same
//!   messages and the same first error as a one-shot loop over the whole
//!   input, and its buffer stays within a bound set by the limit.
//! - [`ffi::ffi_decode`]: the same bytes through the C ABI
//!   (`wireforms-ffi`), called as C calls it, agree with the library:
//!   status, lengths, pointers into the input, error records, encodings
//!   and reference replies.
//! - [`mux_session::mux_session`] and [`reqres_client::reqres_client`]: a
//!   scripted peer against the real transport types, on a current-thread
//!   runtime with paused time (see the `peer` module); the mux target also
//!   checks that every frame the session read is delivered or counted
//!   discarded, exactly once.
//! - [`mux_core::mux_core`]: operations on the sans-IO mux core, no
//!   runtime, checked step by step against its accounting and a model.
//! - [`calls_core::calls_core`]: the client's sans-IO call table, driven
//!   with no runtime and checked against a model after every step.
//!
//! Memory: the parsers cannot allocate. They are built, unchanged, in the
//! `--no-default-features` configuration, which links no allocator at all,
//! so any allocation in them would fail to compile there. The targets'
//! own allocations are bounded by the input size plus a constant, and the
//! campaigns run with libFuzzer's `-rss_limit_mb`/`-malloc_limit_mb` (see
//! `fuzz/README.md`).

use bytes::{Bytes, BytesMut};
use tokio_util::codec::Decoder;

use wireforms::transport::codec::WireCodec;
use wireforms::{
    frame, magic, mux, reqres, typed, Encode, Error, ErrorKind, LengthLimit, Needed, Status,
    WireFormat,
};

pub mod calls_core;
pub mod ffi;
pub mod mux_core;
pub mod mux_session;
mod peer;
pub mod reqres_client;

pub use calls_core::{CallOp, CallsScript};
pub use mux_core::{CoreOp, CoreScript};
pub use mux_session::{MuxScript, MuxStep};
pub use reqres_client::{ClientScript, ClientStep};

/// Needs above this are checked against the oracle only, not by actually
/// appending the bytes (a 1 MiB need would make every run slow).
const APPEND_CHECK_MAX: usize = 4096;

/// What a parse should give, as the oracle computes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expected {
    /// A whole message taking this many bytes.
    Complete(usize),
    /// A valid prefix needing this much more.
    Incomplete(Needed),
    /// An error of this kind, with this offset where the kind has one.
    Fail(ErrorKind, Option<usize>),
}

impl Expected {
    /// The outcome of an actual parse, in the oracle's terms.
    pub fn of<T>(result: &Result<Status<T>, Error>) -> Expected {
        match result {
            Ok(Status::Complete(_, len)) => Expected::Complete(*len),
            Ok(Status::Incomplete(needed)) => Expected::Incomplete(*needed),
            Err(e) => Expected::Fail(e.kind(), e.offset()),
        }
    }
}

/// A wire format as the fuzz targets see it: an independent oracle for its
/// parser. Its limits are seen as one number through the library's
/// [`LengthLimit`].
pub trait FuzzFormat: WireFormat {
    /// The error kinds the parser may return.
    const ERRORS: &'static [ErrorKind];

    /// What parsing `input` must give, computed without the parser.
    fn expect(input: &[u8], limits: &Self::Limits) -> Expected;

    /// Whether a parsed text line holds a `\r` the serializer refuses
    /// (in the first two fields, or ending the last); the receiver accepts
    /// it (spec reqres §5.3, §5.5). Always false for the binary formats.
    fn unencodable(message: &Self::Message<'_>) -> bool;
}

/// Limits whose one maximum (payload or line length) is `max`, saturated
/// to what the format's length field can say.
pub fn limits_with<F: WireFormat>(max: usize) -> F::Limits {
    let mut limits = F::Limits::default();
    limits.set_max_len(max);
    limits
}

/// The largest limits the format can be configured with.
fn max_limits<F: WireFormat>() -> F::Limits {
    limits_with::<F>(usize::MAX)
}

/// The oracle of a binary format: `payload_len` reads the complete header
/// and returns the payload length, or the error the header deserves.
fn expect_binary(
    input: &[u8],
    header_len: usize,
    payload_len: impl Fn(&[u8]) -> Result<usize, ErrorKind>,
) -> Expected {
    if input.len() < header_len {
        return Expected::Incomplete(Needed::new(header_len - input.len()));
    }
    match payload_len(&input[..header_len]) {
        Err(kind) => Expected::Fail(kind, None),
        Ok(len) => {
            let total = header_len + len;
            if input.len() >= total {
                Expected::Complete(total)
            } else {
                Expected::Incomplete(Needed::new(total - input.len()))
            }
        }
    }
}

fn be_u16(b: &[u8]) -> usize {
    usize::from(b[0]) << 8 | usize::from(b[1])
}

fn be_u32(b: &[u8]) -> usize {
    b[..4]
        .iter()
        .fold(0usize, |acc, &x| acc << 8 | usize::from(x))
}

impl FuzzFormat for typed::Typed {
    const ERRORS: &'static [ErrorKind] = &[ErrorKind::TooLarge];

    fn expect(input: &[u8], limits: &typed::Limits) -> Expected {
        expect_binary(input, 5, |h| {
            let len = be_u32(h);
            if len > limits.max_len() {
                return Err(ErrorKind::TooLarge);
            }
            Ok(len)
        })
    }
    fn unencodable(_: &typed::TypedMessage<'_>) -> bool {
        false
    }
}

impl FuzzFormat for magic::Magic {
    const ERRORS: &'static [ErrorKind] = &[
        ErrorKind::BadMagic,
        ErrorKind::BadVersion,
        ErrorKind::TooLarge,
    ];

    fn expect(input: &[u8], limits: &magic::Limits) -> Expected {
        // Magic, then version, then length (spec magic §5).
        expect_binary(input, 8, |h| {
            if h[..4] != [0xde, 0xad, 0xbe, 0xef] {
                return Err(ErrorKind::BadMagic);
            }
            if h[4] != 1 {
                return Err(ErrorKind::BadVersion);
            }
            let len = be_u16(&h[6..]);
            if len > limits.max_len() {
                return Err(ErrorKind::TooLarge);
            }
            Ok(len)
        })
    }
    fn unencodable(_: &magic::Packet<'_>) -> bool {
        false
    }
}

impl FuzzFormat for frame::Frame {
    const ERRORS: &'static [ErrorKind] = &[ErrorKind::TooLarge];

    fn expect(input: &[u8], limits: &frame::Limits) -> Expected {
        expect_binary(input, 4, |h| {
            let len = be_u32(h);
            if len > limits.max_len() {
                return Err(ErrorKind::TooLarge);
            }
            Ok(len)
        })
    }
    fn unencodable(_: &frame::LengthFrame<'_>) -> bool {
        false
    }
}

impl FuzzFormat for mux::Mux {
    const ERRORS: &'static [ErrorKind] = &[ErrorKind::TooLarge];

    fn expect(input: &[u8], limits: &mux::Limits) -> Expected {
        expect_binary(input, 4, |h| {
            let len = be_u16(&h[2..]);
            if len > limits.max_len() {
                return Err(ErrorKind::TooLarge);
            }
            Ok(len)
        })
    }
    fn unencodable(_: &mux::MuxFrame<'_>) -> bool {
        false
    }
}

/// The oracle of the text lines (spec reqres §5): the `\n` is looked for
/// within the first `max` bytes only; then UTF-8; then two `:`.
fn expect_line(input: &[u8], limits: &reqres::Limits) -> Expected {
    let max = limits.max_line_len;
    let window = &input[..input.len().min(max)];
    let Some(end) = window.iter().position(|&b| b == b'\n') else {
        return if input.len() >= max {
            Expected::Fail(ErrorKind::LineTooLong, None)
        } else {
            Expected::Incomplete(Needed::Unknown)
        };
    };
    let mut line = &input[..end];
    if line.last() == Some(&b'\r') {
        line = &line[..line.len() - 1];
    }
    if let Err(e) = core::str::from_utf8(line) {
        return Expected::Fail(ErrorKind::InvalidUtf8, Some(e.valid_up_to()));
    }
    if line.iter().filter(|&&b| b == b':').count() < 2 {
        return Expected::Fail(ErrorKind::Malformed, Some(line.len()));
    }
    Expected::Complete(end + 1)
}

/// spec reqres §4.1: only a last field ending in '\r' cannot be written
/// back (the receiver would strip it as part of the line ending).
fn unencodable_line(_first: &str, _second: &str, last: &str) -> bool {
    last.ends_with('\r')
}

const LINE_ERRORS: &[ErrorKind] = &[
    ErrorKind::LineTooLong,
    ErrorKind::InvalidUtf8,
    ErrorKind::Malformed,
];

impl FuzzFormat for reqres::RequestLine {
    const ERRORS: &'static [ErrorKind] = LINE_ERRORS;

    fn expect(input: &[u8], limits: &reqres::Limits) -> Expected {
        expect_line(input, limits)
    }
    fn unencodable(m: &reqres::Request<'_>) -> bool {
        unencodable_line(m.id, m.command, m.args)
    }
}

impl FuzzFormat for reqres::ResponseLine {
    const ERRORS: &'static [ErrorKind] = LINE_ERRORS;

    fn expect(input: &[u8], limits: &reqres::Limits) -> Expected {
        expect_line(input, limits)
    }
    fn unencodable(m: &reqres::Response<'_>) -> bool {
        unencodable_line(m.id, m.status, m.data)
    }
}

/// The fixed small limit every decode and codec run also uses.
pub const SMALL_LIMIT: usize = 16;

/// Checks the invariants every error shares: a kind the format can
/// report, a section of this format, a lower-case message.
fn check_error<F: FuzzFormat>(e: &Error) {
    assert!(
        F::ERRORS.contains(&e.kind()),
        "{}: unexpected error kind {e:?}",
        F::NAME
    );
    let section = e.section().expect("a wire error names its spec section");
    let prefix = if F::IS_LINE { "reqres/" } else { F::NAME };
    assert!(
        section.starts_with(prefix),
        "{}: section {section}",
        F::NAME
    );
    let text = e.to_string();
    assert!(
        !text.starts_with(|c: char| c.is_ascii_uppercase()),
        "error messages are lower-case: {text}"
    );
}

/// Fuzz target body: arbitrary bytes into the sans-IO parser of `F`, with
/// the default limits, [`SMALL_LIMIT`], and a limit given by the first
/// input byte.
pub fn decode<F: FuzzFormat>(data: &[u8]) {
    decode_with::<F>(data, &F::Limits::default());
    decode_with::<F>(data, &limits_with::<F>(SMALL_LIMIT));
    let first = data.first().copied().map_or(0, usize::from);
    decode_with::<F>(data, &limits_with::<F>(first));
}

/// [`decode`] with the given limits.
pub fn decode_with<F: FuzzFormat>(data: &[u8], limits: &F::Limits) {
    let result = F::parse(data, limits);
    let outcome = Expected::of(&result);
    assert_eq!(
        outcome,
        F::expect(data, limits),
        "{}: parser and oracle disagree on {data:02x?} with {limits:?}",
        F::NAME
    );
    check_hints::<F>(data, limits, outcome);
    match result {
        Ok(Status::Complete(message, len)) => check_complete::<F>(data, limits, message, len),
        Ok(Status::Incomplete(needed)) => check_incomplete::<F>(data, limits, needed),
        Err(e) => {
            check_error::<F>(&e);
            // An error is final: no later bytes make the input valid.
            let mut longer = data.to_vec();
            longer.extend_from_slice(data);
            longer.push(b'\n');
            let again = Expected::of(&F::parse(&longer, limits));
            assert_eq!(again, outcome, "{}: error changed with more input", F::NAME);
        }
    }
}

/// `parse_from` told of a prefix known to hold no line end agrees with
/// `parse` (the binary formats ignore the hint).
fn check_hints<F: FuzzFormat>(data: &[u8], limits: &F::Limits, outcome: Expected) {
    let no_lf = data.iter().position(|&b| b == b'\n').unwrap_or(data.len());
    for scanned in [no_lf, no_lf / 2] {
        let hinted = Expected::of(&F::parse_from(data, limits, scanned));
        assert_eq!(
            hinted,
            outcome,
            "{}: parse_from({scanned}) differs",
            F::NAME
        );
    }
}

fn check_complete<F: FuzzFormat>(
    data: &[u8],
    limits: &F::Limits,
    message: F::Message<'_>,
    len: usize,
) {
    let consumed = &data[..len];
    // Messages are compared in their owned form: the borrowed forms of two
    // buffers have different lifetimes.
    let owned = F::to_owned_copy(&message);
    let parses_to = |bytes: &[u8]| match F::parse(bytes, limits) {
        Ok(Status::Complete(m, l)) => l == bytes.len() && F::to_owned_copy(&m) == owned,
        _ => false,
    };
    // The message depends on its own bytes only.
    assert!(
        parses_to(consumed),
        "{}: message changed without its trailing bytes",
        F::NAME
    );
    if F::IS_LINE {
        assert!(len <= limits.max_len(), "{}: line over the limit", F::NAME);
    } else {
        assert!(
            len - F::FIXED_HEADER_LEN <= limits.max_len(),
            "payload over the limit"
        );
    }

    // Re-encoding gives back the consumed bytes.
    let mut out = vec![0u8; message.encoded_len()];
    let emitted = message.emit(&mut out);
    if F::unencodable(&message) {
        // spec reqres §4.1/§5.5: a receiver accepts a last field ending in
        // '\r' that the serializer refuses to write (vectors flagged `Unencodable`).
        let e = emitted.expect_err("a last field ending in '\\r' is refused");
        assert_eq!(e.kind(), ErrorKind::InvalidField, "{e:?}");
        return;
    }
    let n = emitted.expect("a parsed message encodes");
    assert_eq!(n, out.len(), "encoded_len is the bytes written");
    if F::IS_LINE && consumed.ends_with(b"\r\n") {
        // Non-canonical (spec reqres §5.5): written back with '\n' only.
        let mut canonical = consumed[..len - 2].to_vec();
        canonical.push(b'\n');
        assert_eq!(out, canonical, "{}: canonical form", F::NAME);
        assert!(
            parses_to(&out),
            "{}: the canonical form parses differently",
            F::NAME
        );
    } else {
        assert_eq!(out, consumed, "{}: re-encoding differs", F::NAME);
    }
    if n > 0 {
        let short = message.emit(&mut out[..n - 1]);
        assert!(
            matches!(short, Err(Error::BufferTooSmall { .. })),
            "{short:?}"
        );
    }

    // The owned forms: copying and zero-copy agree.
    assert_eq!(F::to_owned_copy(&F::as_message(&owned)), owned);
    let frame = Bytes::copy_from_slice(consumed);
    let reparsed = F::parse(&frame, limits);
    if let Ok(Status::Complete(in_frame, _)) = reparsed {
        assert_eq!(F::to_owned_in(&in_frame, &frame), owned);
    }
}

fn check_incomplete<F: FuzzFormat>(data: &[u8], limits: &F::Limits, needed: Needed) {
    let Needed::Size(n) = needed else {
        // Only a text line without its '\n' has an unknown need (the
        // oracle checked it is one).
        assert!(F::IS_LINE, "{}: unknown need", F::NAME);
        return;
    };
    let n = n.get();
    assert!(!F::IS_LINE, "{}: a line never knows its need", F::NAME);
    let most = F::FIXED_HEADER_LEN.saturating_add(limits.max_len());
    assert!(
        data.len().saturating_add(n) <= most,
        "{}: need {n} after {} bytes exceeds limit + header {most}",
        F::NAME,
        data.len()
    );
    if n > APPEND_CHECK_MAX {
        return;
    }
    // One byte short still needs exactly one byte; the full need ends the
    // wait, or (header just completed) names a new need.
    let filler = |k: usize| (0..k).map(|i| data.get(i).copied().unwrap_or(0xa5));
    let mut longer = data.to_vec();
    longer.extend(filler(n - 1));
    assert_eq!(
        F::parse(&longer, limits).map(|s| s.map(|_| ())).ok(),
        Some(Status::Incomplete(Needed::new(1))),
        "{}: the need of {n} was overstated",
        F::NAME
    );
    longer.extend(filler(1));
    let full = F::parse(&longer, limits);
    if let Ok(Status::Incomplete(_)) = full {
        assert_eq!(
            data.len() + n,
            F::FIXED_HEADER_LEN,
            "{}: the need of {n} was understated",
            F::NAME
        );
    }
}

/// Fuzz target body: an owned message (from `arbitrary`) is encoded, then
/// parsed back: equal, or refused with a typed error.
pub fn roundtrip<F: FuzzFormat>(owned: &F::Owned) {
    let mut buf = BytesMut::from(&b"prefix"[..]);
    let checked = owned.check();
    let encoded = owned.encode(&mut buf);
    match (checked, encoded) {
        (Err(a), Err(b)) => {
            assert_eq!(a.kind(), b.kind());
            assert!(
                matches!(a.kind(), ErrorKind::TooLarge | ErrorKind::InvalidField),
                "{a:?}"
            );
            assert_eq!(&buf[..], b"prefix", "a refused message writes nothing");
            return;
        }
        (Ok(()), Ok(())) => {}
        (a, b) => panic!("check and encode disagree: {a:?} {b:?}"),
    }
    let wire = buf.split_off(6).freeze();
    assert_eq!(wire.len(), owned.encoded_len(), "encoded_len");
    let limits = max_limits::<F>();
    let parsed = F::parse(&wire, &limits);
    match parsed {
        Ok(Status::Complete(message, len)) => {
            assert_eq!(
                len,
                wire.len(),
                "{}: the whole encoding is one message",
                F::NAME
            );
            assert_eq!(&F::to_owned_copy(&message), owned);
            assert_eq!(&F::to_owned_in(&message, &wire), owned);
        }
        // The serializer writes any version byte; a receiver speaks only 1.
        Err(e) if e.kind() == ErrorKind::BadVersion && F::NAME == "magic" => {}
        other => panic!(
            "{}: {owned:?} encoded as {wire:02x?} parsed as {other:?}",
            F::NAME
        ),
    }
}

/// How a [`codec`] input is laid out.
///
/// Byte 0: bits 0–5 are `k`, the number of chunk sizes; bit 6 selects the
/// limit [`SMALL_LIMIT`] instead of the default; bit 7 sets
/// `set_answer_unterminated_last_line` (text formats only). Then `k` bytes
/// of chunk sizes (used in turn, round and round; 0 feeds nothing and
/// decodes again; `k = 0` feeds everything at once), then the data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CodecInput<'a> {
    /// Chunk sizes.
    pub chunks: &'a [u8],
    /// Use [`SMALL_LIMIT`].
    pub small_limits: bool,
    /// Answer an unterminated last line (text formats).
    pub answer_last_line: bool,
    /// The byte stream.
    pub data: &'a [u8],
}

impl<'a> CodecInput<'a> {
    /// Splits a fuzz input.
    pub fn parse(input: &'a [u8]) -> CodecInput<'a> {
        let Some((&control, rest)) = input.split_first() else {
            return CodecInput {
                chunks: &[],
                small_limits: false,
                answer_last_line: false,
                data: &[],
            };
        };
        let k = usize::from(control & 0x3f).min(rest.len());
        let (chunks, data) = rest.split_at(k);
        CodecInput {
            chunks,
            small_limits: control & 0x40 != 0,
            answer_last_line: control & 0x80 != 0,
            data,
        }
    }

    /// The fuzz input for this layout (for seeds).
    pub fn to_bytes(&self) -> Vec<u8> {
        let k = self.chunks.len().min(0x3f);
        let mut control = k as u8;
        if self.small_limits {
            control |= 0x40;
        }
        if self.answer_last_line {
            control |= 0x80;
        }
        let mut out = vec![control];
        out.extend_from_slice(&self.chunks[..k]);
        out.extend_from_slice(self.data);
        out
    }
}

/// Cuts `data` into the chunks `sizes` says.
fn chunks<'a>(data: &'a [u8], sizes: &[u8]) -> Vec<&'a [u8]> {
    if sizes.is_empty() || sizes.iter().all(|&s| s == 0) && !data.is_empty() {
        return vec![data];
    }
    let mut out = Vec::new();
    let mut at = 0usize;
    for &size in sizes.iter().cycle() {
        let end = at.saturating_add(usize::from(size)).min(data.len());
        out.push(&data[at..end]);
        at = end;
        if at == data.len() {
            break;
        }
    }
    out
}

/// What a stream decodes to: its messages, then how it ended.
type Decoded<F> = (Vec<<F as WireFormat>::Owned>, Option<Error>);

/// The reference: a loop of one-shot parses over the whole input.
fn decode_at_once<F: FuzzFormat>(data: &[u8], limits: &F::Limits, answer_last: bool) -> Decoded<F> {
    let mut messages = Vec::new();
    let mut at = 0;
    let end = loop {
        let rest = &data[at..];
        match F::parse(rest, limits) {
            Ok(Status::Complete(message, len)) => {
                messages.push(F::to_owned_copy(&message));
                at += len;
            }
            Ok(Status::Incomplete(_)) if rest.is_empty() => break None,
            Ok(Status::Incomplete(_)) if answer_last => {
                // The codec ends an unterminated last line itself.
                let mut line = rest.to_vec();
                line.push(b'\n');
                let parsed = F::parse(&line, limits);
                match parsed {
                    Ok(Status::Complete(message, len)) => {
                        assert_eq!(len, line.len());
                        messages.push(F::to_owned_copy(&message));
                        break None;
                    }
                    Ok(Status::Incomplete(n)) => panic!("a terminated line still needs {n:?}"),
                    Err(e) => break Some(e),
                }
            }
            Ok(Status::Incomplete(needed)) => {
                break Some(Error::Incomplete {
                    needed: needed.size(),
                    section: F::INCOMPLETE_SECTION,
                })
            }
            Err(e) => break Some(e),
        }
    };
    (messages, end)
}

/// The codec under test, fed `pieces` one after the other.
fn decode_in_chunks<F: FuzzFormat>(
    pieces: &[&[u8]],
    limits: &F::Limits,
    answer_last: bool,
    most_buffered: usize,
) -> Decoded<F> {
    let mut codec = WireCodec::<F>::new(limits.clone());
    codec.set_answer_unterminated_last_line(answer_last);
    let mut buf = BytesMut::new();
    let mut messages = Vec::new();
    for piece in pieces {
        buf.extend_from_slice(piece);
        loop {
            match codec.decode(&mut buf) {
                Ok(Some(message)) => messages.push(message),
                Ok(None) => break,
                Err(e) => return (messages, Some(e)),
            }
            assert!(
                buf.capacity() <= most_buffered,
                "codec buffer grew to {}",
                buf.capacity()
            );
        }
        assert!(
            buf.capacity() <= most_buffered,
            "codec buffer grew to {}",
            buf.capacity()
        );
    }
    loop {
        match codec.decode_eof(&mut buf) {
            Ok(Some(message)) => messages.push(message),
            Ok(None) => return (messages, None),
            Err(e) => return (messages, Some(e)),
        }
    }
}

/// Fuzz target body: the tokio-util codec of `F`, fed the stream in the
/// chunks the input describes ([`CodecInput`]), decodes exactly what a
/// one-shot parse loop over the whole stream gives, messages and first
/// error (the end-of-stream `incomplete` included).
pub fn codec<F: FuzzFormat>(input: &[u8]) {
    let CodecInput {
        chunks: sizes,
        small_limits,
        answer_last_line,
        data,
    } = CodecInput::parse(input);
    let limits = if small_limits {
        limits_with::<F>(SMALL_LIMIT)
    } else {
        F::Limits::default()
    };
    let answer_last = answer_last_line && F::IS_LINE;
    let pieces = chunks(data, sizes);
    // The buffer holds at most the input or one message, and `BytesMut`
    // at most doubles what it is asked for.
    let one_message = F::FIXED_HEADER_LEN.saturating_add(limits.max_len());
    let most_buffered = 4 * (data.len().max(one_message.min(1 << 21)) + 64);
    let (want, want_end) = decode_at_once::<F>(data, &limits, answer_last);
    let (got, got_end) = decode_in_chunks::<F>(&pieces, &limits, answer_last, most_buffered);
    assert_eq!(got, want, "{}: messages differ", F::NAME);
    let describe = |e: &Option<Error>| e.as_ref().map(|e| (e.kind(), e.to_string()));
    assert_eq!(
        describe(&got_end),
        describe(&want_end),
        "{}: the streams end differently",
        F::NAME
    );
    if let Some(e) = &got_end {
        if e.kind() != ErrorKind::Incomplete {
            check_error::<F>(e);
        }
    }
}

/// Fuzz target body: the zero-copy batch decoder
/// ([`wireforms::transport::batch::BatchDecoder`]) of `F`, fed the stream in
/// the chunks the input describes ([`CodecInput`]), one batch per chunk,
/// yields exactly what the codec yields for the same chunks: the same
/// messages, then the same end. It also checks its own accounting: every
/// byte is either consumed by a yielded message or still buffered, and the
/// buffer stays within the codec's bound.
pub fn batch<F: FuzzFormat>(input: &[u8]) {
    use bytes::Buf;
    use wireforms::transport::batch::BatchDecoder;

    let CodecInput {
        chunks: sizes,
        small_limits,
        answer_last_line,
        data,
    } = CodecInput::parse(input);
    let limits = if small_limits {
        limits_with::<F>(SMALL_LIMIT)
    } else {
        F::Limits::default()
    };
    let answer_last = answer_last_line && F::IS_LINE;
    let pieces = chunks(data, sizes);
    let one_message = F::FIXED_HEADER_LEN.saturating_add(limits.max_len());
    let most_buffered = 4 * (data.len().max(one_message.min(1 << 21)) + 64);
    let (want, want_end) = decode_in_chunks::<F>(&pieces, &limits, answer_last, most_buffered);

    let mut decoder = BatchDecoder::<F>::new(limits);
    decoder.set_answer_unterminated_last_line(answer_last);
    let mut buf = BytesMut::new();
    let mut got = Vec::new();
    let mut got_end = None;
    let mut fed = 0usize;
    let mut taken = 0usize;
    'stream: {
        for piece in &pieces {
            buf.extend_from_slice(piece);
            fed += piece.len();
            for item in decoder.decode(&buf) {
                match item {
                    Ok(message) => got.push(F::to_owned_copy(&message)),
                    Err(e) => {
                        got_end = Some(e);
                        break 'stream;
                    }
                }
            }
            let consumed = decoder.take_consumed();
            taken += consumed;
            buf.advance(consumed);
            assert_eq!(taken + buf.len(), fed, "{}: bytes lost or made up", F::NAME);
        }
        loop {
            match decoder.decode_eof(&mut buf) {
                Ok(None) => break,
                Ok(Some(batch)) => {
                    for item in batch {
                        match item {
                            Ok(message) => got.push(F::to_owned_copy(&message)),
                            Err(e) => {
                                got_end = Some(e);
                                break 'stream;
                            }
                        }
                    }
                    buf.advance(decoder.take_consumed());
                }
                Err(e) => {
                    got_end = Some(e);
                    break;
                }
            }
        }
    }
    assert_eq!(got, want, "{}: the batches and the codec differ", F::NAME);
    let describe = |e: &Option<Error>| e.as_ref().map(|e| (e.kind(), e.to_string()));
    assert_eq!(
        describe(&got_end),
        describe(&want_end),
        "{}: the batches and the codec end differently",
        F::NAME
    );
}

/// The `batch_differential` target: the first byte picks the format, the
/// rest is a [`CodecInput`].
fn batch_any(input: &[u8]) {
    let Some((&format, rest)) = input.split_first() else {
        return;
    };
    match format % 6 {
        0 => batch::<typed::Typed>(rest),
        1 => batch::<magic::Magic>(rest),
        2 => batch::<frame::Frame>(rest),
        3 => batch::<mux::Mux>(rest),
        4 => batch::<reqres::RequestLine>(rest),
        _ => batch::<reqres::ResponseLine>(rest),
    }
}

/// The input a [`codec`] target gets for `data` fed in `chunks`.
pub fn codec_seed(data: &[u8], chunks: &[u8], small_limits: bool) -> Vec<u8> {
    CodecInput {
        chunks,
        small_limits,
        answer_last_line: false,
        data,
    }
    .to_bytes()
}

/// Runs `f` on the structured input `arbitrary` builds from `data`, the
/// way `libfuzzer-sys` does for a typed target (an input it cannot build
/// from is skipped).
pub fn with_arbitrary<'a, T: arbitrary::Arbitrary<'a>>(data: &'a [u8], f: impl FnOnce(T)) {
    if let Ok(value) = T::arbitrary_take_rest(arbitrary::Unstructured::new(data)) {
        f(value);
    }
}

macro_rules! targets {
    ($($name:ident => $body:expr;)*) => {
        $(
            #[doc = concat!("The `", stringify!($name), "` fuzz target.")]
            pub fn $name(data: &[u8]) {
                let body: fn(&[u8]) = $body;
                body(data)
            }
        )*

        /// Every fuzz target, by name (the names of `fuzz/fuzz_targets/`).
        pub const TARGETS: &[(&str, fn(&[u8]))] = &[$((stringify!($name), $name)),*];
    };
}

targets! {
    decode_typed => decode::<typed::Typed>;
    decode_magic => decode::<magic::Magic>;
    decode_frame => decode::<frame::Frame>;
    decode_mux => decode::<mux::Mux>;
    decode_request => decode::<reqres::RequestLine>;
    decode_response => decode::<reqres::ResponseLine>;
    roundtrip_typed => |d| with_arbitrary(d, |m| roundtrip::<typed::Typed>(&m));
    roundtrip_magic => |d| with_arbitrary(d, |m| roundtrip::<magic::Magic>(&m));
    roundtrip_frame => |d| with_arbitrary(d, |m| roundtrip::<frame::Frame>(&m));
    roundtrip_mux => |d| with_arbitrary(d, |m| roundtrip::<mux::Mux>(&m));
    roundtrip_request => |d| with_arbitrary(d, |m| roundtrip::<reqres::RequestLine>(&m));
    roundtrip_response => |d| with_arbitrary(d, |m| roundtrip::<reqres::ResponseLine>(&m));
    codec_typed => codec::<typed::Typed>;
    codec_magic => codec::<magic::Magic>;
    codec_frame => codec::<frame::Frame>;
    codec_mux => codec::<mux::Mux>;
    codec_request => codec::<reqres::RequestLine>;
    codec_response => codec::<reqres::ResponseLine>;
    batch_differential => batch_any;
    mux_session => |d| with_arbitrary(d, |s: MuxScript| {
        mux_session::mux_session(&s);
    });
    mux_core => |d| with_arbitrary(d, |s: CoreScript| {
        mux_core::mux_core(&s);
    });
    reqres_client => |d| with_arbitrary(d, |s: ClientScript| {
        reqres_client::reqres_client(&s);
    });
    calls_core => |d| with_arbitrary(d, |s: CallsScript| {
        calls_core::calls_core(&s);
    });
    ffi_decode => ffi::ffi_decode;
}

/// The fuzz target named `name`.
pub fn target(name: &str) -> Option<fn(&[u8])> {
    TARGETS.iter().find(|(n, _)| *n == name).map(|&(_, f)| f)
}
