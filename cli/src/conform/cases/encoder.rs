//! Encoder cases: each `valid` vector's messages sent to an encoder over
//! the harness protocol (`spec/harness.md` §4.2). Encoding MUST give the
//! input back (or `canonical` when flagged `NonCanonical`); with flag
//! `Unencodable` it MUST refuse with `invalid_field` (`spec/README.md`,
//! "Running a vector"). Ids are the vector's case id with `/encode`.

use std::path::Path;

use anyhow::Result;

use crate::conform::case::{Case, Check, Level};
use crate::conform::encoder::EncoderCase;
use crate::formats::Format;
use crate::vectors::{self, EncodeCase};

/// The encoder cases of `format`.
pub(crate) fn cases(format: Format, dir: Option<&Path>) -> Result<Vec<Case>> {
    let file = vectors::load(format, dir)?;
    let mut out = Vec::new();
    for test in file.groups.iter().flat_map(|g| &g.tests) {
        if test.result != "valid" {
            continue;
        }
        let id = format!("{}/encode", vectors::case_id(format, test));
        let unencodable = test.flags.iter().any(|f| f == "Unencodable");
        let what = if unencodable {
            format!(
                "{} encode: {} -> refused (invalid_field)",
                format.name(),
                test.comment
            )
        } else {
            format!(
                "{} encode: {} -> the {}input",
                format.name(),
                test.comment,
                if test.canonical.is_some() {
                    "canonical "
                } else {
                    ""
                }
            )
        };
        out.push(Case {
            id: id.clone(),
            section: test.section.clone(),
            level: Level::Must,
            what,
            check: Check::Encode(Box::new(EncoderCase {
                case: EncodeCase {
                    id,
                    op: "encode".into(),
                    format: format.name().into(),
                    messages: test.messages.clone(),
                },
                test: test.clone(),
            })),
        });
    }
    Ok(out)
}
