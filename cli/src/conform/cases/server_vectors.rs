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

#[cfg(test)]
mod test {
    use serde_json::json;

    use crate::conform::case::Check;
    use crate::conform::probe::Expect;
    use crate::formats::{Format, LimitArgs};

    /// The replies these cases demand, written out rather than taken from
    /// the reference: commands are case-sensitive (§2.2), UPPER is the
    /// simple mapping (§6), and a reply ending in '\r' is ERR (§6, §4.1).
    #[test]
    fn sharper_request_cases_demand_the_spec_replies() {
        let expect = Expect {
            idle_timeout: None,
            max_connections: None,
            prompt: std::time::Duration::from_secs(1),
        };
        let cases =
            super::super::server_cases(Format::Request, &LimitArgs::default(), &expect, None)
                .unwrap();
        let replies = |id: &str| match &cases.iter().find(|c| c.id == id).unwrap().check {
            Check::Server(s) => s.replies.clone(),
            _ => panic!("{id} is not a server case"),
        };
        let ok = |id: &str, data: &str| json!({"id": id, "status": "OK", "data": data});
        assert_eq!(
            replies("reqres/2.2/request#39"),
            [ok("1", "Unknown command"), ok("2", "Unknown command")]
        );
        assert_eq!(
            replies("reqres/6/request#40"),
            [ok("3", "\u{1fbc} \u{1fcc} \u{1ffc} \u{1f88}")]
        );
        assert_eq!(
            replies("reqres/6/request#41"),
            [ok("4", "\u{df} \u{149} \u{1f0} \u{1c4}")]
        );
        assert_eq!(
            replies("reqres/6/request#42"),
            [
                json!({"id": "5", "status": "ERR", "data": "reply ends with CR"}),
                ok("6", "a\rb")
            ]
        );
    }
}
