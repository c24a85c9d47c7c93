//! `wireforms dissector`: a Wireshark Lua dissector for the five formats,
//! generated from [`PROTOCOLS`], the one description of their fields that
//! the spec's field tables (§2.2 of each document) and the crate's parsers
//! are both tested against (tests below), so none of the three can drift.
//!
//! The Lua side is a fixed engine (`dissector/wireforms.lua`) driven by the
//! tables generated here: field names, offsets, sizes, limits, the error
//! kinds each format can report (as expert info), and the spec sections.

use std::fmt::Write as _;

use wireforms::{frame, magic, mux, reqres, typed};

/// How a field's size is known.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Size {
    /// A fixed number of bytes.
    Fixed(usize),
    /// The value of the length field.
    Length,
}

/// One field of a binary format's message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BinaryField {
    /// The spec's name for it (`wireforms_<format>.<name>` in Wireshark).
    pub name: &'static str,
    /// Byte offset in the message.
    pub offset: usize,
    /// Its size.
    pub size: Size,
}

/// How a format's messages are laid out.
#[derive(Clone, Copy, Debug)]
pub enum Layout {
    /// A fixed header with a length field, then the payload.
    Binary {
        /// The fields, in wire order.
        fields: &'static [BinaryField],
        /// The header's length.
        header_len: usize,
        /// The length field's name.
        length_field: &'static str,
        /// The default receiver limit, in payload bytes.
        default_max: u64,
        /// The magic number and version, for the magic format.
        magic: Option<(u32, u8)>,
    },
    /// `A:B:C` lines ending in `\n` (or `\r\n`).
    Lines {
        /// The request's three fields.
        request: [&'static str; 3],
        /// The response's three fields.
        response: [&'static str; 3],
        /// The default receiver limit, the whole line.
        default_max: u64,
    },
}

/// One format as Wireshark sees it.
#[derive(Clone, Copy, Debug)]
pub struct Protocol {
    /// The spec prefix (`typed`, ..., `reqres`).
    pub prefix: &'static str,
    /// A title for people.
    pub title: &'static str,
    /// The layout.
    pub layout: Layout,
    /// Error kinds a receiver of this format reports (spec/README.md's
    /// taxonomy), with the section each cites.
    pub errors: &'static [(&'static str, &'static str)],
}

const fn fixed(name: &'static str, offset: usize, size: usize) -> BinaryField {
    BinaryField {
        name,
        offset,
        size: Size::Fixed(size),
    }
}

const fn payload(offset: usize) -> BinaryField {
    BinaryField {
        name: "payload",
        offset,
        size: Size::Length,
    }
}

/// The five formats.
pub const PROTOCOLS: [Protocol; 5] = [
    Protocol {
        prefix: "typed",
        title: "wireforms typed binary message",
        layout: Layout::Binary {
            fields: &[fixed("length", 0, 4), fixed("type", 4, 1), payload(5)],
            header_len: 5,
            length_field: "length",
            default_max: typed::DEFAULT_MAX_PAYLOAD_LEN as u64,
            magic: None,
        },
        errors: &[
            ("incomplete", "typed/5.1"),
            ("too_large", "typed/5.2"),
            ("trailing_bytes", "typed/7.2"),
        ],
    },
    Protocol {
        prefix: "magic",
        title: "wireforms magic header packet",
        layout: Layout::Binary {
            fields: &[
                fixed("magic", 0, 4),
                fixed("version", 4, 1),
                fixed("type", 5, 1),
                fixed("length", 6, 2),
                payload(8),
            ],
            header_len: 8,
            length_field: "length",
            default_max: magic::DEFAULT_MAX_PAYLOAD_LEN as u64,
            magic: Some((magic::MAGIC, magic::VERSION)),
        },
        errors: &[
            ("incomplete", "magic/5.1"),
            ("bad_magic", "magic/5.2"),
            ("bad_version", "magic/5.3"),
            ("too_large", "magic/5.4"),
            ("trailing_bytes", "magic/7.2"),
        ],
    },
    Protocol {
        prefix: "frame",
        title: "wireforms length frame",
        layout: Layout::Binary {
            fields: &[fixed("length", 0, 4), payload(4)],
            header_len: 4,
            length_field: "length",
            default_max: frame::DEFAULT_MAX_PAYLOAD_LEN as u64,
            magic: None,
        },
        errors: &[
            ("incomplete", "frame/5.1"),
            ("too_large", "frame/5.2"),
            ("trailing_bytes", "frame/7.2"),
        ],
    },
    Protocol {
        prefix: "mux",
        title: "wireforms mux frame",
        layout: Layout::Binary {
            fields: &[fixed("channel", 0, 2), fixed("length", 2, 2), payload(4)],
            header_len: 4,
            length_field: "length",
            default_max: mux::DEFAULT_MAX_PAYLOAD_LEN as u64,
            magic: None,
        },
        errors: &[
            ("incomplete", "mux/5.1"),
            ("too_large", "mux/5.2"),
            ("trailing_bytes", "mux/7.2"),
        ],
    },
    Protocol {
        prefix: "reqres",
        title: "wireforms ID request/response lines",
        layout: Layout::Lines {
            request: ["id", "command", "args"],
            response: ["id", "status", "data"],
            default_max: reqres::DEFAULT_MAX_LINE_LEN as u64,
        },
        errors: &[
            ("incomplete", "reqres/5.1"),
            ("line_too_long", "reqres/5.2"),
            ("malformed", "reqres/5.3"),
            ("invalid_utf8", "reqres/5.4"),
            ("trailing_bytes", "reqres/7.2"),
        ],
    },
];

/// The Lua engine the tables drive.
const ENGINE: &str = include_str!("dissector/wireforms.lua");

fn lua_str(s: &str) -> String {
    format!("{s:?}")
}

/// The dissector's source.
pub fn lua() -> String {
    let mut t = String::new();
    let _ = writeln!(
        t,
        "-- wireforms {}: Wireshark dissector for the five wireforms formats.\n\
         -- Generated by `wireforms dissector` from the description the spec and\n\
         -- the crate share; do not edit. Install: see docs/capture.md.\n",
        env!("CARGO_PKG_VERSION")
    );
    t.push_str("local PROTOCOLS = {\n");
    for p in &PROTOCOLS {
        let _ = writeln!(
            t,
            "  {{ prefix = {}, title = {},",
            lua_str(p.prefix),
            lua_str(p.title)
        );
        t.push_str("    errors = {");
        for (kind, section) in p.errors {
            let _ = write!(t, " {{ {}, {} }},", lua_str(kind), lua_str(section));
        }
        t.push_str(" },\n");
        match p.layout {
            Layout::Binary {
                fields,
                header_len,
                length_field,
                default_max,
                magic,
            } => {
                let _ = writeln!(
                    t,
                    "    kind = \"binary\", header_len = {header_len}, length_field = {}, default_max = {default_max},",
                    lua_str(length_field)
                );
                if let Some((m, v)) = magic {
                    let _ = writeln!(t, "    magic = {m}, version = {v},");
                }
                t.push_str("    fields = {\n");
                for f in fields {
                    let size = match f.size {
                        Size::Fixed(n) => n.to_string(),
                        Size::Length => "\"length\"".into(),
                    };
                    let _ = writeln!(
                        t,
                        "      {{ name = {}, offset = {}, size = {size} }},",
                        lua_str(f.name),
                        f.offset
                    );
                }
                t.push_str("    },\n");
            }
            Layout::Lines {
                request,
                response,
                default_max,
            } => {
                let names = |n: [&str; 3]| n.map(lua_str).join(", ");
                let _ = writeln!(
                    t,
                    "    kind = \"lines\", default_max = {default_max},\n    request = {{ {} }},\n    response = {{ {} }},",
                    names(request),
                    names(response)
                );
            }
        }
        t.push_str("  },\n");
    }
    t.push_str("}\n\n");
    t.push_str(ENGINE);
    t
}

/// Runs `wireforms dissector`: the Lua source on standard output.
///
/// # Errors
/// Output errors.
pub fn dissector() -> anyhow::Result<i32> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(lua().as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(0),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(0),
        Err(e) => Err(anyhow::anyhow!("cannot write output: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::{CliFormat, Format};
    use wireforms::{Status, WireFormat};

    fn spec(prefix: &str) -> String {
        let path = format!("{}/../spec/{prefix}.md", env!("CARGO_MANIFEST_DIR"));
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    /// The rows of the table under `### 2.2 Field table`.
    fn field_table(text: &str) -> Vec<Vec<String>> {
        let start = text.find("### 2.2 Field table").expect("a field table");
        text[start..]
            .lines()
            .skip_while(|l| !l.starts_with('|'))
            .take_while(|l| l.starts_with('|'))
            .skip(2) // header and rule
            .map(|l| {
                l.trim_matches('|')
                    .split('|')
                    .map(|c| c.trim().trim_matches('`').to_string())
                    .collect()
            })
            .collect()
    }

    #[test]
    fn the_description_is_the_spec_field_tables() {
        for p in &PROTOCOLS {
            let rows = field_table(&spec(p.prefix));
            match p.layout {
                Layout::Binary { fields, .. } => {
                    let described: Vec<Vec<String>> = fields
                        .iter()
                        .map(|f| {
                            let size = match f.size {
                                Size::Fixed(n) => n.to_string(),
                                Size::Length => "length".into(),
                            };
                            vec![f.offset.to_string(), size, f.name.to_string()]
                        })
                        .collect();
                    let table: Vec<Vec<String>> = rows.iter().map(|r| r[..3].to_vec()).collect();
                    assert_eq!(described, table, "{}: spec/{}.md §2.2", p.prefix, p.prefix);
                }
                Layout::Lines {
                    request, response, ..
                } => {
                    let numbered: Vec<_> = rows.iter().filter(|r| r[0] != "end").collect();
                    assert_eq!(numbered.len(), 3);
                    for (i, row) in numbered.iter().enumerate() {
                        assert_eq!(
                            row[1].to_lowercase(),
                            request[i],
                            "reqres request field {i}"
                        );
                        assert_eq!(
                            row[2].to_lowercase(),
                            response[i],
                            "reqres response field {i}"
                        );
                    }
                }
            }
        }
    }

    /// The crate's parser labels the same bytes with the same names
    /// (`decode --explain` uses these ranges).
    fn crate_fields<F: CliFormat>(bytes: &[u8]) -> Vec<(String, std::ops::Range<usize>)> {
        let Ok(Status::Complete(m, len)) = F::parse(bytes, &F::Limits::default()) else {
            panic!("{} does not parse its example", F::NAME);
        };
        F::fields(&m, &bytes[..len])
            .into_iter()
            .filter(|f| f.name != "separator" && f.name != "line ending")
            .map(|f| (f.name.to_string(), f.range))
            .collect()
    }

    #[test]
    fn the_description_is_the_crates_layout() {
        let examples: [(Format, &[u8]); 4] = [
            (Format::Typed, b"\0\0\0\x03\x07abc"),
            (Format::Magic, b"\xde\xad\xbe\xef\x01\x07\0\x03abc"),
            (Format::Frame, b"\0\0\0\x03abc"),
            (Format::Mux, b"\0\x07\0\x03abc"),
        ];
        for (format, bytes) in examples {
            let got = crate::formats::with_format!(format, F => crate_fields::<F>(bytes));
            let p = PROTOCOLS
                .iter()
                .find(|p| p.prefix == format.spec_prefix())
                .expect("described");
            let Layout::Binary {
                fields, header_len, ..
            } = p.layout
            else {
                panic!("binary");
            };
            let want: Vec<(String, std::ops::Range<usize>)> = fields
                .iter()
                .map(|f| {
                    let len = match f.size {
                        Size::Fixed(n) => n,
                        Size::Length => 3,
                    };
                    (f.name.to_string(), f.offset..f.offset + len)
                })
                .collect();
            assert_eq!(got, want, "{}", format.name());
            let crate_header = crate::formats::with_format!(format, F => F::FIXED_HEADER_LEN);
            assert_eq!(header_len, crate_header, "{} header", format.name());
        }
        let req = crate_fields::<wireforms::reqres::RequestLine>(b"1:ECHO:hi\n");
        let res = crate_fields::<wireforms::reqres::ResponseLine>(b"1:OK:hi\n");
        let Layout::Lines {
            request, response, ..
        } = PROTOCOLS[4].layout
        else {
            panic!("lines");
        };
        assert_eq!(
            req.iter().map(|f| f.0.as_str()).collect::<Vec<_>>(),
            request
        );
        assert_eq!(
            res.iter().map(|f| f.0.as_str()).collect::<Vec<_>>(),
            response
        );
    }

    #[test]
    fn every_error_kind_named_is_one_of_the_crate() {
        for p in &PROTOCOLS {
            for (kind, section) in p.errors {
                assert!(
                    wireforms::ErrorKind::ALL
                        .iter()
                        .any(|k| k.as_str() == *kind),
                    "{kind} is not an error kind"
                );
                assert!(section.starts_with(p.prefix), "{section}");
            }
        }
    }

    #[test]
    fn the_lua_names_every_field_as_wireforms_format_field() {
        let lua = lua();
        assert!(lua.contains("prefix = \"reqres\""));
        assert!(lua.contains("{ name = \"channel\", offset = 0, size = 2 }"));
        assert!(ENGINE.contains("\"wireforms_\" .. "));
    }
}
