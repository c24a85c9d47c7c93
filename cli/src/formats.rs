//! The formats as the command line names them, and what the tool needs of
//! each beyond [`WireFormat`]: limits from flags, and the field layout that
//! `decode --explain` labels.

use std::ops::Range;

use anyhow::{bail, Result};
use serde::de::DeserializeOwned;
use serde::Serialize;
use wireforms::frame::{self, Frame};
use wireforms::magic::{self, Magic};
use wireforms::mux::{self, Mux};
use wireforms::reqres::{self, RequestLine, ResponseLine};
use wireforms::typed::{self, Typed};
use wireforms::WireFormat;

/// A format named on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Typed binary message: u32 length, u8 type, payload.
    Typed,
    /// Magic header packet: 0xDEADBEEF, version, type, u16 length, payload.
    Magic,
    /// Length frame: u32 length, payload.
    Frame,
    /// Mux frame: u16 channel, u16 length, payload.
    Mux,
    /// Request lines `ID:COMMAND:ARGS`.
    Request,
    /// Response lines `ID:STATUS:DATA`.
    Response,
}

impl Format {
    /// Every format, in spec order.
    pub const ALL: [Format; 6] = [
        Format::Typed,
        Format::Magic,
        Format::Frame,
        Format::Mux,
        Format::Request,
        Format::Response,
    ];

    /// The name used on the command line and in the vectors.
    pub fn name(self) -> &'static str {
        match self {
            Format::Typed => "typed",
            Format::Magic => "magic",
            Format::Frame => "frame",
            Format::Mux => "mux",
            Format::Request => "request",
            Format::Response => "response",
        }
    }

    /// The format named `name`.
    pub fn from_name(name: &str) -> Option<Format> {
        Format::ALL.into_iter().find(|f| f.name() == name)
    }

    /// The spec document prefix (`reqres` for both line formats).
    pub fn spec_prefix(self) -> &'static str {
        match self {
            Format::Request | Format::Response => "reqres",
            other => other.name(),
        }
    }

    /// Whether messages are text lines.
    pub fn is_text(self) -> bool {
        matches!(self, Format::Request | Format::Response)
    }
}

/// Runs `$body` with the type alias `$F` bound to the marker type of `$fmt`.
macro_rules! with_format {
    ($fmt:expr, $F:ident => $body:expr) => {
        match $fmt {
            $crate::formats::Format::Typed => {
                type $F = wireforms::typed::Typed;
                $body
            }
            $crate::formats::Format::Magic => {
                type $F = wireforms::magic::Magic;
                $body
            }
            $crate::formats::Format::Frame => {
                type $F = wireforms::frame::Frame;
                $body
            }
            $crate::formats::Format::Mux => {
                type $F = wireforms::mux::Mux;
                $body
            }
            $crate::formats::Format::Request => {
                type $F = wireforms::reqres::RequestLine;
                $body
            }
            $crate::formats::Format::Response => {
                type $F = wireforms::reqres::ResponseLine;
                $body
            }
        }
    };
}
pub(crate) use with_format;

/// Receiver limits given on the command line.
#[derive(Clone, Copy, Debug, Default, clap::Args)]
pub struct LimitArgs {
    /// Largest payload accepted, in bytes, inclusive (binary formats;
    /// default: the spec's, 1048576 for typed and frame, 65535 for magic and mux).
    #[arg(long, value_name = "N")]
    pub max_payload: Option<u64>,
    /// Longest line accepted, in bytes, its line ending included (request,
    /// response; default 65536).
    #[arg(long, value_name = "N")]
    pub max_line: Option<usize>,
}

/// One labelled run of bytes of a message, for `decode --explain`.
pub struct Field {
    /// Bytes of the message the field takes.
    pub range: Range<usize>,
    /// The field's name.
    pub name: &'static str,
    /// Its value, as people read it.
    pub value: String,
}

/// What the tool needs of a format.
pub trait CliFormat: WireFormat<Owned: Serialize + DeserializeOwned> + 'static {
    /// The format on the command line.
    const FORMAT: Format;

    /// Limits from the flags, refusing a flag that does not apply or a value
    /// the format cannot carry.
    fn limits(args: &LimitArgs) -> Result<Self::Limits>;

    /// The largest payload (or line) `limits` accepts, for the conformance cases.
    fn limit_of(limits: &Self::Limits) -> u64;

    /// The fields of `message`, whose encoding is `bytes`.
    fn fields(message: &Self::Message<'_>, bytes: &[u8]) -> Vec<Field>;
}

fn payload_limit(args: &LimitArgs, format: Format, max: u64) -> Result<Option<u64>> {
    if args.max_line.is_some() {
        bail!(
            "--max-line applies to request and response lines, not to {}; use --max-payload",
            format.name()
        );
    }
    match args.max_payload {
        Some(n) if n > max => bail!(
            "--max-payload {n} is above what the {} length field can carry ({max})",
            format.name()
        ),
        other => Ok(other),
    }
}

fn line_limit(args: &LimitArgs, format: Format) -> Result<reqres::Limits> {
    if args.max_payload.is_some() {
        bail!(
            "--max-payload applies to the binary formats, not to {} lines; use --max-line",
            format.name()
        );
    }
    match args.max_line {
        Some(0) => bail!("--max-line must be at least 1 (the line ending counts)"),
        Some(n) => Ok(reqres::Limits::new(n)),
        None => Ok(reqres::Limits::default()),
    }
}

fn be_hex(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0, |acc, b| (acc << 8) | u64::from(*b))
}

fn payload_field(start: usize, payload: &[u8]) -> Field {
    Field {
        range: start..start + payload.len(),
        name: "payload",
        value: crate::hex::printable(payload),
    }
}

impl CliFormat for Typed {
    const FORMAT: Format = Format::Typed;

    fn limits(args: &LimitArgs) -> Result<typed::Limits> {
        Ok(
            match payload_limit(args, Format::Typed, u64::from(u32::MAX))? {
                // Checked against u32::MAX just above.
                Some(n) => typed::Limits::new(u32::try_from(n)?),
                None => typed::Limits::default(),
            },
        )
    }

    fn limit_of(limits: &typed::Limits) -> u64 {
        u64::from(limits.max_payload_len)
    }

    fn fields(m: &typed::TypedMessage<'_>, bytes: &[u8]) -> Vec<Field> {
        vec![
            Field {
                range: 0..4,
                name: "length",
                value: be_hex(&bytes[0..4]).to_string(),
            },
            Field {
                range: 4..5,
                name: "type",
                value: m.message_type.0.to_string(),
            },
            payload_field(typed::HEADER_LEN, m.payload),
        ]
    }
}

impl CliFormat for Magic {
    const FORMAT: Format = Format::Magic;

    fn limits(args: &LimitArgs) -> Result<magic::Limits> {
        Ok(
            match payload_limit(args, Format::Magic, u64::from(u16::MAX))? {
                Some(n) => magic::Limits::new(u16::try_from(n)?),
                None => magic::Limits::default(),
            },
        )
    }

    fn limit_of(limits: &magic::Limits) -> u64 {
        u64::from(limits.max_payload_len)
    }

    fn fields(m: &magic::Packet<'_>, bytes: &[u8]) -> Vec<Field> {
        vec![
            Field {
                range: 0..4,
                name: "magic",
                value: format!("0x{:08x}", be_hex(&bytes[0..4])),
            },
            Field {
                range: 4..5,
                name: "version",
                value: m.version.to_string(),
            },
            Field {
                range: 5..6,
                name: "type",
                value: m.packet_type.0.to_string(),
            },
            Field {
                range: 6..8,
                name: "length",
                value: be_hex(&bytes[6..8]).to_string(),
            },
            payload_field(magic::HEADER_LEN, m.payload),
        ]
    }
}

impl CliFormat for Frame {
    const FORMAT: Format = Format::Frame;

    fn limits(args: &LimitArgs) -> Result<frame::Limits> {
        Ok(
            match payload_limit(args, Format::Frame, u64::from(u32::MAX))? {
                Some(n) => frame::Limits::new(u32::try_from(n)?),
                None => frame::Limits::default(),
            },
        )
    }

    fn limit_of(limits: &frame::Limits) -> u64 {
        u64::from(limits.max_payload_len)
    }

    fn fields(m: &frame::LengthFrame<'_>, bytes: &[u8]) -> Vec<Field> {
        vec![
            Field {
                range: 0..4,
                name: "length",
                value: be_hex(&bytes[0..4]).to_string(),
            },
            payload_field(frame::HEADER_LEN, m.payload),
        ]
    }
}

impl CliFormat for Mux {
    const FORMAT: Format = Format::Mux;

    fn limits(args: &LimitArgs) -> Result<mux::Limits> {
        Ok(
            match payload_limit(args, Format::Mux, u64::from(u16::MAX))? {
                Some(n) => mux::Limits::new(u16::try_from(n)?),
                None => mux::Limits::default(),
            },
        )
    }

    fn limit_of(limits: &mux::Limits) -> u64 {
        u64::from(limits.max_payload_len)
    }

    fn fields(m: &mux::MuxFrame<'_>, bytes: &[u8]) -> Vec<Field> {
        vec![
            Field {
                range: 0..2,
                name: "channel",
                value: m.channel.0.to_string(),
            },
            Field {
                range: 2..4,
                name: "length",
                value: be_hex(&bytes[2..4]).to_string(),
            },
            payload_field(mux::HEADER_LEN, m.payload),
        ]
    }
}

/// The fields of a line `a:b:c` followed by its line ending.
fn line_fields(names: [&'static str; 3], parts: [&str; 3], bytes: &[u8]) -> Vec<Field> {
    let mut out = Vec::new();
    let mut at = 0;
    for (i, (name, part)) in names.into_iter().zip(parts).enumerate() {
        out.push(Field {
            range: at..at + part.len(),
            name,
            value: format!("{part:?}"),
        });
        at += part.len();
        if i < 2 {
            out.push(Field {
                range: at..at + 1,
                name: "separator",
                value: "':'".into(),
            });
            at += 1;
        }
    }
    let ending = &bytes[at.min(bytes.len())..];
    out.push(Field {
        range: at..bytes.len(),
        name: "line ending",
        value: if ending == b"\r\n" { "CRLF" } else { "LF" }.into(),
    });
    out
}

impl CliFormat for RequestLine {
    const FORMAT: Format = Format::Request;

    fn limits(args: &LimitArgs) -> Result<reqres::Limits> {
        line_limit(args, Format::Request)
    }

    fn limit_of(limits: &reqres::Limits) -> u64 {
        limits.max_line_len as u64
    }

    fn fields(m: &reqres::Request<'_>, bytes: &[u8]) -> Vec<Field> {
        line_fields(["id", "command", "args"], [m.id, m.command, m.args], bytes)
    }
}

impl CliFormat for ResponseLine {
    const FORMAT: Format = Format::Response;

    fn limits(args: &LimitArgs) -> Result<reqres::Limits> {
        line_limit(args, Format::Response)
    }

    fn limit_of(limits: &reqres::Limits) -> u64 {
        limits.max_line_len as u64
    }

    fn fields(m: &reqres::Response<'_>, bytes: &[u8]) -> Vec<Field> {
        line_fields(["id", "status", "data"], [m.id, m.status, m.data], bytes)
    }
}
