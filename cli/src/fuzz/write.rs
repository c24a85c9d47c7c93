//! Findings written as a vector file in the layout of `spec/vectors/`
//! (`spec/README.md`, "Vector files"), so `conform --vectors DIR` replays
//! them and they can be added to a vector file by hand. The testee's
//! verdict and the dedup key go into each test's comment; `findings.json`
//! beside it holds them as data.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, Result};
use serde_json::{json, Map, Value};

use super::decoder::{reference, test_of};
use super::finding::Finding;
use crate::formats::Format;

/// The flag every written test carries, and what it means.
pub const FLAG: &str = "FuzzFinding";
const FLAG_NOTE: &str = "Found by `wireforms fuzz`: the implementation under test judged this input differently from the reference; the comment says how.";

/// The vector test of one finding, numbered `id`.
fn test_json(format: Format, f: &Finding, id: u64, server: bool) -> Value {
    let verdict = reference(format, &f.input);
    let mut test = test_of(format, &f.input, &verdict);
    if server && test.result == "valid" {
        // The replies of the reference server are what differed (§6).
        test.section = format!("{}/6", format.spec_prefix());
    }
    let mut t = Map::new();
    t.insert("tcId".into(), json!(id));
    t.insert(
        "comment".into(),
        json!(format!(
            "fuzz finding ({}): the testee said {}",
            f.difference.key, f.difference.testee
        )),
    );
    t.insert("section".into(), json!(test.section));
    t.insert("flags".into(), json!([FLAG]));
    t.insert("input".into(), json!(test.input));
    t.insert("result".into(), json!(test.result));
    t.insert("messages".into(), json!(test.messages));
    if let Some(e) = &test.error {
        t.insert("error".into(), json!(e));
        t.insert("errorOffset".into(), json!(test.error_offset.unwrap_or(0)));
        if e == "incomplete" {
            t.insert("needed".into(), test.needed.clone().unwrap_or(Value::Null));
        } else if let Some(d) = &test.error_detail {
            t.insert("errorDetail".into(), d.clone());
        }
    }
    Value::Object(t)
}

/// The vector file holding `findings`, one group per mode and limit.
pub fn vector_file(format: Format, findings: &[Finding], server: bool) -> Value {
    let mut groups: Vec<(String, u64, Vec<Value>)> = Vec::new();
    for (i, f) in findings.iter().enumerate() {
        let test = test_json(format, f, i as u64 + 1, server);
        let mode = f.input.mode().to_string();
        match groups
            .iter_mut()
            .find(|(m, l, _)| *m == mode && *l == f.input.limit)
        {
            Some((_, _, tests)) => tests.push(test),
            None => groups.push((mode, f.input.limit, vec![test])),
        }
    }
    let groups: Vec<Value> = groups
        .into_iter()
        .map(|(mode, limit, tests)| {
            let probe = super::input::Input {
                bytes: Vec::new(),
                datagram: mode == "datagram",
                limit,
                expect: None,
            };
            json!({
                "comment": format!("wireforms fuzz findings, {mode}, limit {limit}"),
                "limits": probe.limits(format),
                "mode": mode,
                "tests": tests,
            })
        })
        .collect();
    json!({
        "schema": "wireforms-vectors-v1.json",
        "format": format.name(),
        "version": 1,
        "spec": format!("spec/{}.md", format.spec_prefix()),
        "numberOfTests": findings.len(),
        "notes": { FLAG: FLAG_NOTE },
        "testGroups": groups,
    })
}

/// Writes `DIR/<format>.json` (replacing it) and `DIR/findings.json`.
///
/// # Errors
/// The directory or a file cannot be written.
pub fn write(
    dir: &Path,
    format: Format,
    findings: &[Finding],
    server: bool,
    summary: &Value,
) -> Result<PathBuf> {
    std::fs::create_dir_all(dir).map_err(|e| anyhow!("cannot create {}: {e}", dir.display()))?;
    let path = dir.join(format!("{}.json", format.name()));
    let text = serde_json::to_string_pretty(&vector_file(format, findings, server))?;
    std::fs::write(&path, text + "\n")
        .map_err(|e| anyhow!("cannot write {}: {e}", path.display()))?;
    let side = dir.join("findings.json");
    std::fs::write(&side, serde_json::to_string_pretty(summary)? + "\n")
        .map_err(|e| anyhow!("cannot write {}: {e}", side.display()))?;
    Ok(path)
}
