//! Server cases from the vectors: those whose outcome is the same under
//! the server's limit, as a script of the vector's input.

use std::path::Path;

use anyhow::Result;

use super::Builder;
use crate::conform::case::{plural, Case, Check, Level};
use crate::conform::formats::analyse;
use crate::conform::script::After;
use crate::vectors;

/// Cases from the vectors whose outcome is the same under the server's limit.
pub(crate) fn cases(b: &mut Builder, dir: Option<&Path>) -> Result<()> {
    let file = vectors::load(b.format, dir)?;
    for group in file.groups.iter().filter(|g| g.mode == "stream") {
        for test in &group.tests {
            let input = crate::hex::decode(test.input.as_bytes())?;
            let a = analyse(b.format, &input, b.limit)?;
            if a.messages != test.messages || a.unanswerable {
                continue;
            }
            let id = vectors::case_id(b.format, test);
            let (after, what) = match (&a.failure, test.result.as_str(), &test.error) {
                (None, "valid", _) if !a.messages.is_empty() => (
                    After::Open,
                    format!(
                        "{}: {} per §6",
                        test.comment,
                        plural(a.replies.len(), "reply", "replies")
                    ),
                ),
                (Some((kind, at)), "invalid", Some(want))
                    if kind == want && Some(*at) == test.error_offset && kind != "incomplete" =>
                {
                    // A length over the limit must be refused before the payload
                    // is awaited (§5): a server still open without a reply is
                    // indistinguishable from one waiting for it.
                    let waits = kind == "too_large" || kind == "line_too_long";
                    let then = if waits { "closes promptly" } else { "no reply" };
                    let before = if a.replies.is_empty() {
                        String::new()
                    } else {
                        format!("{}, then ", plural(a.replies.len(), "reply", "replies"))
                    };
                    (
                        if waits { After::Close } else { After::NoReply },
                        format!("{} ({kind}): {before}{then}", test.comment),
                    )
                }
                _ => continue,
            };
            let script = b.script(input, after)?;
            b.out.push(Case {
                id,
                section: test.section.clone(),
                level: Level::Must,
                what,
                check: Check::Server(script),
            });
        }
    }
    Ok(())
}
