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
    /// Flags (`NonCanonical`, `Unencodable`, ...).
    #[serde(default)]
    pub flags: Vec<String>,
    /// `NonCanonical`: what encoding `messages` gives, hex.
    pub canonical: Option<String>,
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
    /// `decode` (the default when absent).
    #[serde(default = "decode_op")]
    pub op: String,
    /// Format name.
    pub format: String,
    /// `stream` or `datagram`.
    pub mode: String,
    /// Receiver limits.
    pub limits: Map<String, Value>,
    /// Input, hex.
    pub input: String,
}

fn decode_op() -> String {
    "decode".into()
}

/// An encode request of the harness protocol: messages in, bytes or a
/// typed refusal out (`spec/harness.md` §4.2).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EncodeCase {
    /// Case id.
    pub id: String,
    /// `encode`.
    pub op: String,
    /// Format name.
    pub format: String,
    /// The messages, in the vectors' JSON shape, encoded one after another.
    pub messages: Vec<Value>,
}

/// The answer to an [`EncodeCase`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EncodeAnswer {
    /// The case id, echoed.
    #[serde(default)]
    pub id: String,
    /// `encoded`, `unencodable` or `unsupported`.
    pub result: String,
    /// `encoded`: the bytes, hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    /// `unencodable`: the error kind (`invalid_field`, `too_large`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// `unencodable`, optional: which message (0-based).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<u64>,
}

fn encode_with<F: CliFormat>(messages: &[Value]) -> EncodeAnswer {
    let mut out = bytes::BytesMut::new();
    for (i, m) in messages.iter().enumerate() {
        let refuse = |kind: &str| EncodeAnswer {
            result: "unencodable".into(),
            error: Some(kind.into()),
            index: Some(i as u64),
            ..EncodeAnswer::default()
        };
        let Ok(owned) = serde_json::from_value::<F::Owned>(m.clone()) else {
            return refuse("invalid_field");
        };
        if let Err(e) = wireforms::Encode::encode(&owned, &mut out) {
            return refuse(e.kind().as_str());
        }
    }
    EncodeAnswer {
        result: "encoded".into(),
        output: Some(crate::hex::encode(&out)),
        ..EncodeAnswer::default()
    }
}

/// This crate's answer to an encode request.
pub fn encode_answer(case: &EncodeCase, only: Option<Format>) -> EncodeAnswer {
    let answer = match Format::from_name(&case.format) {
        Some(format) if only.is_none_or(|f| f == format) => {
            with_format!(format, F => encode_with::<F>(&case.messages))
        }
        _ => EncodeAnswer {
            result: "unsupported".into(),
            ..EncodeAnswer::default()
        },
    };
    EncodeAnswer {
        id: case.id.clone(),
        ..answer
    }
}

/// Compares an encode answer with a `valid` test; `Err` says what differs.
pub fn grade_encoding(test: &Test, a: &EncodeAnswer) -> Result<(), String> {
    let unencodable = test.flags.iter().any(|f| f == "Unencodable");
    match (a.result.as_str(), unencodable) {
        ("encoded", false) => {
            let want = test.canonical.as_deref().unwrap_or(&test.input);
            let got = a.output.as_deref().unwrap_or("");
            if got.eq_ignore_ascii_case(want) {
                Ok(())
            } else {
                Err(first_byte_difference(got, want))
            }
        }
        ("unencodable", true) => match a.error.as_deref() {
            Some("invalid_field") => Ok(()),
            other => Err(format!(
                "refused with {} (expected invalid_field)",
                other.unwrap_or("no error kind")
            )),
        },
        ("encoded", true) => Err(format!(
            "encoded as 0x{} (expected a refusal with invalid_field: §4.1 forbids sending it)",
            a.output.as_deref().unwrap_or("")
        )),
        ("unencodable", false) => Err(format!(
            "refused with {} (expected the bytes 0x{})",
            a.error.as_deref().unwrap_or("no error kind"),
            test.canonical.as_deref().unwrap_or(&test.input)
        )),
        (other, _) => Err(format!(
            "result {other:?} (expected encoded or unencodable)"
        )),
    }
}

/// Where two hex strings first differ, as a byte offset and both bytes.
fn first_byte_difference(got: &str, want: &str) -> String {
    let (g, w) = (
        crate::hex::decode(got.as_bytes()).unwrap_or_default(),
        crate::hex::decode(want.as_bytes()).unwrap_or_default(),
    );
    let at = g.iter().zip(&w).position(|(a, b)| a != b);
    match at {
        Some(i) => format!(
            "byte {i} is 0x{:02x} (expected 0x{:02x}): 0x{got} (expected 0x{want})",
            g[i], w[i]
        ),
        None => format!(
            "{} bytes (expected {}): 0x{got} (expected 0x{want})",
            g.len(),
            w.len()
        ),
    }
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
                return Err(message_difference(&v.messages, &test.messages));
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
                    "before the error: {}",
                    message_difference(&v.messages, &test.messages)
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

/// What differs between two message lists: the first differing message
/// and field with both values, or which message is missing or extra.
pub fn message_difference(got: &[Value], want: &[Value]) -> String {
    let shown = |v: &Value| {
        let s = v.to_string();
        match s.char_indices().nth(100) {
            Some((cut, _)) => format!("{}...", &s[..cut]),
            None => s,
        }
    };
    if let Some(i) = (0..got.len().min(want.len())).find(|&i| got[i] != want[i]) {
        let field = match (&got[i], &want[i]) {
            (Value::Object(g), Value::Object(w)) => w
                .iter()
                .find(|(k, v)| g.get(*k) != Some(*v))
                .map(|(k, v)| match g.get(k) {
                    Some(seen) => format!(": {k} {} (expected {})", shown(seen), shown(v)),
                    None => format!(": no {k} (expected {})", shown(v)),
                })
                .unwrap_or_default(),
            _ => String::new(),
        };
        return format!(
            "message {}{field}; got {} (expected {})",
            i + 1,
            shown(&got[i]),
            shown(&want[i])
        );
    }
    if got.len() < want.len() {
        format!(
            "{} of {} messages; missing message {}: {}",
            got.len(),
            want.len(),
            got.len() + 1,
            shown(&want[got.len()])
        )
    } else {
        format!(
            "{} messages (expected {}); extra message {}: {}",
            got.len(),
            want.len(),
            want.len() + 1,
            shown(&got[want.len()])
        )
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
                        op: decode_op(),
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
    fn crate_encodes_every_valid_vector_and_refuses_the_unencodable() {
        let mut refused = 0;
        for format in Format::ALL {
            let file = load(format, None).unwrap();
            for t in file.groups.iter().flat_map(|g| &g.tests) {
                if t.result != "valid" {
                    continue;
                }
                let case = EncodeCase {
                    id: case_id(format, t),
                    op: "encode".into(),
                    format: format.name().into(),
                    messages: t.messages.clone(),
                };
                let a = encode_answer(&case, None);
                assert_eq!(grade_encoding(t, &a), Ok(()), "{}", case.id);
                refused += usize::from(a.result == "unencodable");
            }
        }
        assert!(refused >= 2, "the Unencodable vectors were not refused");
    }

    #[test]
    fn a_wrong_encoding_names_the_byte() {
        let t: Test = serde_json::from_value(json!({
            "tcId": 1, "comment": "", "section": "2.2", "input": "0000000101ff",
            "result": "valid", "messages": []
        }))
        .unwrap();
        let a = EncodeAnswer {
            result: "encoded".into(),
            output: Some("0000000102ff".into()),
            ..EncodeAnswer::default()
        };
        assert_eq!(
            grade_encoding(&t, &a).unwrap_err(),
            "byte 4 is 0x02 (expected 0x01): 0x0000000102ff (expected 0x0000000101ff)"
        );
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
            op: decode_op(),
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
