//! The conformance vectors of `spec/vectors/`, and the crate's own decoder
//! run over them (for `wireforms harness` and to build server cases).
//!
//! The files are read at run time from the repository the binary was built
//! in, when it is still there, so an edited vector is picked up; otherwise
//! the copies compiled into the binary are used and it works anywhere.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, Result};
use bytes::Bytes;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{json, Map, Value};
use wireforms::transport::udp::parse_datagram;
use wireforms::{Error, Status};

use crate::formats::{with_format, CliFormat, Format, LimitArgs};

const BUILT_IN: [(&str, &str); 6] = [
    ("typed", include_str!("../../spec/vectors/typed.json")),
    ("magic", include_str!("../../spec/vectors/magic.json")),
    ("frame", include_str!("../../spec/vectors/frame.json")),
    ("mux", include_str!("../../spec/vectors/mux.json")),
    ("request", include_str!("../../spec/vectors/request.json")),
    ("response", include_str!("../../spec/vectors/response.json")),
];

/// One vector file.
#[derive(Debug, Deserialize)]
pub struct VectorFile {
    /// The format's name.
    pub format: String,
    /// The groups.
    #[serde(rename = "testGroups")]
    pub groups: Vec<Group>,
}

/// A group of tests sharing limits and mode.
#[derive(Debug, Deserialize)]
pub struct Group {
    /// Receiver limits, e.g. `{"max_payload_len": 16}`.
    pub limits: Map<String, Value>,
    /// `stream` or `datagram`.
    pub mode: String,
    /// The tests.
    pub tests: Vec<Test>,
}

fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

/// One test (layout: `spec/README.md`, "Vector files").
#[derive(Clone, Debug, Deserialize)]
pub struct Test {
    /// Its id within the file.
    #[serde(rename = "tcId")]
    pub id: u64,
    /// What is tested.
    pub comment: String,
    /// The section exercised.
    pub section: String,
    /// The input, hex.
    pub input: String,
    /// `valid`, `invalid` or `acceptable`.
    pub result: String,
    /// Messages decoded (before the error, for `invalid`).
    #[serde(default)]
    pub messages: Vec<Value>,
    /// The error kind.
    pub error: Option<String>,
    /// Offset of the failing message.
    #[serde(rename = "errorOffset")]
    pub error_offset: Option<u64>,
    /// `incomplete`: bytes asked for (`null`: unknown).
    #[serde(default, deserialize_with = "present")]
    pub needed: Option<Value>,
    /// The error's data.
    #[serde(rename = "errorDetail")]
    pub error_detail: Option<Value>,
}

/// Where the vector files are read from at run time, when present.
pub fn default_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../spec/vectors")
}

/// The vector file of `format`, from `dir` when it holds one, else built in.
///
/// # Errors
/// A file in `dir` that is not valid JSON of the vector layout.
pub fn load(format: Format, dir: Option<&Path>) -> Result<VectorFile> {
    let name = format.name();
    let dir = dir.map(Path::to_path_buf).unwrap_or_else(default_dir);
    let path = dir.join(format!("{name}.json"));
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(_) => BUILT_IN
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, t)| t.to_string())
            .ok_or_else(|| anyhow!("no vectors for {name}"))?,
    };
    let file: VectorFile = serde_json::from_str(&text)
        .map_err(|e| anyhow!("{}: not a vector file: {e}", path.display()))?;
    if file.format != name {
        return Err(anyhow!(
            "{}: holds {} vectors, not {name}",
            path.display(),
            file.format
        ));
    }
    Ok(file)
}

/// Limits from a group's `limits` object.
pub fn limit_args(limits: &Map<String, Value>) -> LimitArgs {
    LimitArgs {
        max_payload: limits.get("max_payload_len").and_then(Value::as_u64),
        max_line: limits
            .get("max_line_len")
            .and_then(Value::as_u64)
            .and_then(|n| usize::try_from(n).ok()),
    }
}

/// What a decoder reports for one vector input: the harness verdict.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// The case id, echoed.
    #[serde(default)]
    pub id: String,
    /// `valid`, `invalid` or `unsupported`.
    pub result: String,
    /// Messages decoded, in order.
    #[serde(default)]
    pub messages: Vec<Value>,
    /// Error kind, for `invalid`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Offset of the failing message, for `invalid`.
    #[serde(
        default,
        rename = "errorOffset",
        skip_serializing_if = "Option::is_none"
    )]
    pub error_offset: Option<u64>,
    /// `incomplete` only: bytes needed, or `null`.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub needed: Option<Value>,
    /// Optional: the error's data, compared when given.
    #[serde(
        default,
        rename = "errorDetail",
        skip_serializing_if = "Option::is_none"
    )]
    pub error_detail: Option<Value>,
    /// Optional: the section the error cites, compared when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub section: Option<String>,
}

/// The data of an error, in the vectors' `errorDetail` shape.
pub fn error_detail(e: &Error) -> Option<Value> {
    Some(match e {
        Error::TooLarge { len, max, .. } => json!({"len": len, "max": max}),
        Error::BadMagic { found, .. } => json!({ "found": found }),
        Error::BadVersion { found, .. } => json!({ "found": found }),
        Error::Malformed { offset, .. } | Error::InvalidUtf8 { offset, .. } => {
            json!({ "offset": offset })
        }
        Error::LineTooLong { max, .. } => json!({ "max": max }),
        Error::TrailingBytes { len, .. } => json!({ "len": len }),
        _ => return None,
    })
}

fn failed(messages: Vec<Value>, offset: u64, e: &Error) -> Verdict {
    let needed = match e {
        Error::Incomplete { needed, .. } => Some(needed.map_or(Value::Null, Value::from)),
        _ => None,
    };
    Verdict {
        id: String::new(),
        result: "invalid".into(),
        messages,
        error: Some(e.kind().as_str().into()),
        error_offset: Some(offset),
        needed,
        error_detail: error_detail(e),
        section: e.section().map(str::to_string),
    }
}

/// Decodes `input` as the spec's "Running a vector" says, with this crate.
pub fn run_with<F: CliFormat>(input: &[u8], limits: &F::Limits, datagram: bool) -> Verdict {
    let mut messages = Vec::new();
    if datagram {
        return match parse_datagram::<F>(Bytes::copy_from_slice(input), limits) {
            Ok(m) => Verdict {
                result: "valid".into(),
                messages: vec![serde_json::to_value(&m).unwrap_or(Value::Null)],
                ..Verdict::default()
            },
            Err(e) => failed(messages, 0, &e),
        };
    }
    let mut offset = 0;
    while offset < input.len() {
        match F::parse(&input[offset..], limits) {
            Ok(Status::Complete(m, len)) => {
                messages.push(serde_json::to_value(F::to_owned_copy(&m)).unwrap_or(Value::Null));
                offset += len;
            }
            Ok(Status::Incomplete(needed)) => {
                let e = Error::Incomplete {
                    needed: needed.size(),
                    section: F::INCOMPLETE_SECTION,
                };
                return failed(messages, offset as u64, &e);
            }
            Err(e) => return failed(messages, offset as u64, &e),
        }
    }
    Verdict {
        result: "valid".into(),
        messages,
        ..Verdict::default()
    }
}

/// One harness case, as sent to a decoder (`spec/harness.md`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct HarnessCase {
    /// Case id.
    pub id: String,
    /// Format name.
    pub format: String,
    /// `stream` or `datagram`.
    pub mode: String,
    /// Receiver limits.
    pub limits: Map<String, Value>,
    /// Input, hex.
    pub input: String,
}

/// This crate's verdict on a harness case (`unsupported` for a format
/// outside `only`).
pub fn judge(case: &HarnessCase, only: Option<Format>) -> Verdict {
    let unsupported = || Verdict {
        id: case.id.clone(),
        result: "unsupported".into(),
        ..Verdict::default()
    };
    let Some(format) = Format::from_name(&case.format) else {
        return unsupported();
    };
    if only.is_some_and(|f| f != format) {
        return unsupported();
    }
    let Ok(input) = crate::hex::decode(case.input.as_bytes()) else {
        return unsupported();
    };
    let args = limit_args(&case.limits);
    let datagram = case.mode == "datagram";
    let verdict = with_format!(format, F => match F::limits(&args) {
        Ok(limits) => run_with::<F>(&input, &limits, datagram),
        Err(_) => unsupported(),
    });
    Verdict {
        id: case.id.clone(),
        ..verdict
    }
}

/// Compares a verdict with a test; `Err` says what differs.
pub fn grade(test: &Test, v: &Verdict) -> Result<(), String> {
    if v.result == "unsupported" {
        return Err("the decoder does not support this case".into());
    }
    let expected_valid = test.result == "valid";
    let acceptable = test.result == "acceptable";
    match (
        v.result.as_str(),
        expected_valid || acceptable,
        test.result == "invalid" || acceptable,
    ) {
        ("valid", true, _) => {
            if v.messages != test.messages {
                return Err(format!(
                    "messages {} (expected {})",
                    Value::from(v.messages.clone()),
                    Value::from(test.messages.clone())
                ));
            }
            Ok(())
        }
        ("invalid", _, true) => {
            let want = test.error.as_deref().unwrap_or("?");
            let got = v.error.as_deref().unwrap_or("(none)");
            if got != want {
                return Err(format!("error {got} (expected {want})"));
            }
            if v.error_offset != test.error_offset {
                // Numbers, not Rust's `Some(..)`.
                let shown = |o: Option<u64>| o.map_or("none".to_string(), |o| o.to_string());
                let got = match v.error_offset {
                    Some(o) => format!("at offset {o}"),
                    None => "at no offset".to_string(),
                };
                return Err(format!(
                    "error {got} (expected {})",
                    shown(test.error_offset)
                ));
            }
            if v.messages != test.messages {
                return Err(format!(
                    "{} message(s) before the error (expected {})",
                    v.messages.len(),
                    test.messages.len()
                ));
            }
            if want == "incomplete" {
                let need = |n: &Option<Value>| n.clone().unwrap_or(Value::Null);
                if need(&v.needed) != need(&test.needed) {
                    return Err(format!(
                        "needed {} (expected {})",
                        need(&v.needed),
                        need(&test.needed)
                    ));
                }
            } else {
                if let (Some(got), Some(want)) = (&v.error_detail, &test.error_detail) {
                    if got != want {
                        return Err(format!("errorDetail {got} (expected {want})"));
                    }
                }
                if let Some(section) = &v.section {
                    if *section != test.section {
                        return Err(format!("cites {section} (expected {})", test.section));
                    }
                }
            }
            Ok(())
        }
        (other, _, _) => Err(format!(
            "result {other} (expected {}{})",
            test.result,
            test.error
                .as_deref()
                .map(|e| format!(" {e}"))
                .unwrap_or_default()
        )),
    }
}

/// Case id of a vector: `<prefix>/<section number>/<tcId>`, with the file
/// named for the two line formats (`reqres/5.3/request#31`).
pub fn case_id(format: Format, test: &Test) -> String {
    if format.is_text() {
        format!("{}/{}#{}", test.section, format.name(), test.id)
    } else {
        format!("{}/{}", test.section, test.id)
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn crate_passes_every_vector_through_run_with() {
        for format in Format::ALL {
            let file = load(format, None).unwrap();
            for group in &file.groups {
                for t in &group.tests {
                    let case = HarnessCase {
                        id: case_id(format, t),
                        format: format.name().into(),
                        mode: group.mode.clone(),
                        limits: group.limits.clone(),
                        input: t.input.clone(),
                    };
                    let v = judge(&case, None);
                    assert_eq!(grade(t, &v), Ok(()), "{}", case.id);
                }
            }
        }
    }

    #[test]
    fn a_wrong_error_offset_is_shown_as_numbers() {
        let file = load(Format::Typed, None).unwrap();
        let (group, t) = file
            .groups
            .iter()
            .flat_map(|g| g.tests.iter().map(move |t| (g, t)))
            .find(|(_, t)| t.result == "invalid" && t.error_offset.is_some())
            .unwrap();
        let case = HarnessCase {
            id: case_id(Format::Typed, t),
            format: "typed".into(),
            mode: group.mode.clone(),
            limits: group.limits.clone(),
            input: t.input.clone(),
        };
        let want = t.error_offset.unwrap();
        let mut v = judge(&case, None);
        v.error_offset = Some(want + 1);
        let seen = grade(t, &v).unwrap_err();
        assert_eq!(
            seen,
            format!("error at offset {} (expected {want})", want + 1)
        );
        v.error_offset = None;
        let seen = grade(t, &v).unwrap_err();
        assert_eq!(seen, format!("error at no offset (expected {want})"));
    }
}
