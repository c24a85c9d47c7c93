//! Decoder cases: every vector, sent to a decoder over the harness
//! protocol (`spec/harness.md`).

use std::path::Path;

use anyhow::Result;

use crate::conform::case::{plural, Case, Check, Level};
use crate::conform::decoder::VectorCase;
use crate::formats::Format;
use crate::vectors::{self, HarnessCase};

/// The vector cases of `format`.
pub(crate) fn cases(format: Format, dir: Option<&Path>) -> Result<Vec<Case>> {
    let file = vectors::load(format, dir)?;
    let mut out = Vec::new();
    for group in &file.groups {
        for test in &group.tests {
            let id = vectors::case_id(format, test);
            let expect = match (test.result.as_str(), &test.error) {
                ("valid", _) => plural(test.messages.len(), "message", "messages"),
                (_, Some(e)) => e.clone(),
                (r, None) => r.to_string(),
            };
            let what = format!(
                "{} {}: {} -> {expect}",
                format.name(),
                group.mode,
                test.comment
            );
            out.push(Case {
                id: id.clone(),
                section: test.section.clone(),
                level: Level::Must,
                what,
                check: Check::Vector(Box::new(VectorCase {
                    case: HarnessCase {
                        id,
                        op: "decode".into(),
                        format: format.name().into(),
                        mode: group.mode.clone(),
                        limits: group.limits.clone(),
                        input: test.input.clone(),
                    },
                    test: test.clone(),
                })),
            });
        }
    }
    Ok(out)
}
