//! Runs the conformance vectors of `spec/vectors/` (layout: `spec/README.md`,
//! "Vector files") through the crate's parsers and serializers.
//!
//! Each file is first checked against `spec/vectors/schema.json` and the
//! rules the schema cannot say (unique ids, flags explained, sections that
//! exist in the spec). Then one generic runner, written against
//! [`WireFormat`], decodes every input as the spec defines it and compares
//! messages (through the serde owned types), error kind, offset, need,
//! details and cited section; valid messages are encoded again and compared
//! with the input (or with `canonical`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};
use wireforms::transport::udp::parse_datagram;
use wireforms::{Encode, Error, ErrorKind, Needed, Status, WireFormat};

fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("spec/vectors")
}

fn load(name: &str) -> Value {
    let path = vectors_dir().join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

// ---- a small JSON Schema validator for the keywords schema.json uses ------

fn resolve<'a>(root: &'a Value, reference: &str) -> &'a Value {
    let pointer = reference.strip_prefix('#').expect("only local $ref");
    root.pointer(pointer)
        .unwrap_or_else(|| panic!("unresolved $ref {reference}"))
}

fn type_matches(name: &str, v: &Value) -> bool {
    match name {
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        "integer" => v.is_i64() || v.is_u64(),
        "number" => v.is_number(),
        "boolean" => v.is_boolean(),
        "null" => v.is_null(),
        other => panic!("unknown type {other} in schema"),
    }
}

/// Appends to `errs` every way `v` breaks `schema`.
fn validate(root: &Value, schema: &Value, v: &Value, path: &str, errs: &mut Vec<String>) {
    let schema = schema.as_object().expect("schema is an object");
    for (key, s) in schema {
        match key.as_str() {
            // Annotations; `pattern` is checked by hand (`check_file`).
            "$schema" | "$id" | "title" | "description" | "$defs" | "pattern" | "then" => {}
            "$ref" => validate(root, resolve(root, s.as_str().unwrap()), v, path, errs),
            "type" => {
                let ok = match s {
                    Value::String(t) => type_matches(t, v),
                    Value::Array(ts) => ts.iter().any(|t| type_matches(t.as_str().unwrap(), v)),
                    _ => panic!("bad type keyword"),
                };
                if !ok {
                    errs.push(format!("{path}: expected type {s}, got {v}"));
                }
            }
            "required" => {
                if let Some(o) = v.as_object() {
                    for name in s.as_array().unwrap() {
                        let name = name.as_str().unwrap();
                        if !o.contains_key(name) {
                            errs.push(format!("{path}: missing {name}"));
                        }
                    }
                }
            }
            "properties" => {
                if let Some(o) = v.as_object() {
                    for (name, sub) in s.as_object().unwrap() {
                        if let Some(x) = o.get(name) {
                            validate(root, sub, x, &format!("{path}.{name}"), errs);
                        }
                    }
                }
            }
            "additionalProperties" => {
                let known = schema.get("properties").and_then(Value::as_object);
                if let Some(o) = v.as_object() {
                    for (name, x) in o {
                        if known.is_some_and(|k| k.contains_key(name)) {
                            continue;
                        }
                        match s {
                            Value::Bool(false) => {
                                errs.push(format!("{path}: unexpected key {name}"))
                            }
                            Value::Bool(true) => {}
                            sub => validate(root, sub, x, &format!("{path}.{name}"), errs),
                        }
                    }
                }
            }
            "items" => {
                if let Some(a) = v.as_array() {
                    for (i, x) in a.iter().enumerate() {
                        validate(root, s, x, &format!("{path}[{i}]"), errs);
                    }
                }
            }
            "minItems" => {
                if v.as_array()
                    .is_some_and(|a| (a.len() as u64) < s.as_u64().unwrap())
                {
                    errs.push(format!("{path}: fewer than {s} items"));
                }
            }
            "enum" => {
                if !s.as_array().unwrap().contains(v) {
                    errs.push(format!("{path}: {v} not one of {s}"));
                }
            }
            "const" => {
                if v != s {
                    errs.push(format!("{path}: {v} is not {s}"));
                }
            }
            "minimum" => {
                if v.as_f64().is_some_and(|x| x < s.as_f64().unwrap()) {
                    errs.push(format!("{path}: {v} below {s}"));
                }
            }
            "maximum" => {
                if v.as_f64().is_some_and(|x| x > s.as_f64().unwrap()) {
                    errs.push(format!("{path}: {v} above {s}"));
                }
            }
            "allOf" => {
                for sub in s.as_array().unwrap() {
                    validate(root, sub, v, path, errs);
                }
            }
            "if" => {
                let mut probe = Vec::new();
                validate(root, s, v, path, &mut probe);
                if probe.is_empty() {
                    if let Some(then) = schema.get("then") {
                        validate(root, then, v, path, errs);
                    }
                }
            }
            "not" => {
                let mut probe = Vec::new();
                validate(root, s, v, path, &mut probe);
                if probe.is_empty() {
                    errs.push(format!("{path}: matches a forbidden schema {s}"));
                }
            }
            other => panic!("schema keyword {other} not supported by this validator"),
        }
    }
}

// ---- file-level checks the schema cannot express --------------------------

fn is_lower_hex(s: &str) -> bool {
    s.len() % 2 == 0
        && s.bytes()
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
}

fn hex(s: &str) -> Vec<u8> {
    assert!(is_lower_hex(s), "not lower-case hex: {s}");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// `fmt/n` or `fmt/n.m`, split into the doc prefix and the number.
fn split_section(section: &str) -> Option<(&str, &str)> {
    let (doc, num) = section.split_once('/')?;
    let mut parts = num.split('.');
    let ok = parts.clone().count() <= 2
        && parts.all(|p| !p.is_empty() && p.bytes().all(|c| c.is_ascii_digit()));
    (ok && ["typed", "magic", "frame", "mux", "reqres"].contains(&doc)).then_some((doc, num))
}

/// Whether `spec/<doc>.md` has a heading for section `num` (`## 5 ...` or
/// `### 5.2 ...`).
fn spec_has_section(doc: &str, num: &str) -> bool {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("spec/{doc}.md"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let hashes = if num.contains('.') { "###" } else { "##" };
    let heading = format!("{hashes} {num} ");
    text.lines().any(|l| l.starts_with(&heading))
}

fn check_file(name: &str, doc: &Value) {
    let schema = load("schema.json");
    let mut errs = Vec::new();
    validate(&schema, &schema, doc, name, &mut errs);
    assert!(
        errs.is_empty(),
        "{name} breaks schema.json:\n{}",
        errs.join("\n")
    );

    let format = doc["format"].as_str().unwrap();
    assert_eq!(
        format!("{format}.json"),
        name,
        "format field names the file"
    );
    let spec = doc["spec"].as_str().unwrap();
    assert!(
        Path::new(env!("CARGO_MANIFEST_DIR")).join(spec).is_file(),
        "{name}: {spec} missing"
    );

    let notes = doc["notes"].as_object().unwrap();
    let mut ids = BTreeSet::new();
    let mut used_flags = BTreeSet::new();
    let mut count = 0;
    for group in doc["testGroups"].as_array().unwrap() {
        for test in group["tests"].as_array().unwrap() {
            count += 1;
            let id = test["tcId"].as_u64().unwrap();
            assert!(ids.insert(id), "{name}: tcId {id} repeated");
            let section = test["section"].as_str().unwrap();
            let (doc_name, num) = split_section(section)
                .unwrap_or_else(|| panic!("{name} #{id}: bad section {section}"));
            assert_eq!(
                format!("spec/{doc_name}.md"),
                spec,
                "{name} #{id}: section of another doc"
            );
            assert!(
                spec_has_section(doc_name, num),
                "{name} #{id}: {section} is not a heading of {spec}"
            );
            for key in ["input", "canonical"] {
                if let Some(h) = test.get(key) {
                    assert!(
                        is_lower_hex(h.as_str().unwrap()),
                        "{name} #{id}: {key} is not lower-case hex"
                    );
                }
            }
            for flag in test["flags"].as_array().unwrap() {
                let flag = flag.as_str().unwrap();
                assert!(
                    notes.contains_key(flag),
                    "{name} #{id}: flag {flag} not in notes"
                );
                used_flags.insert(flag.to_owned());
            }
            if let Some(e) = test.get("error") {
                let e = e.as_str().unwrap();
                assert!(
                    ErrorKind::from_name(e).is_some(),
                    "{name} #{id}: {e} is no ErrorKind name"
                );
            }
            let non_canonical = test["flags"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f == "NonCanonical");
            assert_eq!(
                non_canonical,
                test.get("canonical").is_some(),
                "{name} #{id}: NonCanonical iff canonical"
            );
        }
    }
    assert_eq!(
        doc["numberOfTests"].as_u64(),
        Some(count),
        "{name}: numberOfTests"
    );
    for flag in notes.keys() {
        assert!(
            used_flags.contains(flag),
            "{name}: note {flag} explains no test's flag"
        );
    }
}

// ---- the generic runner ----------------------------------------------------

/// What decoding one input gave.
#[derive(Debug)]
struct Outcome<M> {
    messages: Vec<M>,
    /// Kind, offset of the failing message, need (incomplete) and the error
    /// when a parser reported it.
    failure: Option<(ErrorKind, usize, Option<Needed>, Option<Error>)>,
}

fn decode<F: WireFormat>(input: &[u8], limits: &F::Limits, datagram: bool) -> Outcome<F::Owned> {
    if datagram {
        // The crate's own datagram path (spec section 7.2).
        return match parse_datagram::<F>(Bytes::copy_from_slice(input), limits) {
            Ok(message) => Outcome {
                messages: vec![message],
                failure: None,
            },
            Err(e) => {
                let needed = match e {
                    Error::Incomplete { needed, .. } => {
                        Some(needed.map_or(Needed::Unknown, Needed::new))
                    }
                    _ => None,
                };
                Outcome {
                    messages: Vec::new(),
                    failure: Some((e.kind(), 0, needed, Some(e))),
                }
            }
        };
    }
    let mut messages = Vec::new();
    let mut offset = 0;
    while offset < input.len() {
        match F::parse(&input[offset..], limits) {
            Ok(Status::Complete(message, len)) => {
                assert!(
                    len > 0 && len <= input.len() - offset,
                    "consumed {len} of {}",
                    input.len() - offset
                );
                messages.push(F::to_owned_copy(&message));
                offset += len;
            }
            Ok(Status::Incomplete(needed)) => {
                let failure = Some((ErrorKind::Incomplete, offset, Some(needed), None));
                return Outcome { messages, failure };
            }
            Err(e) => {
                let failure = Some((e.kind(), offset, None, Some(e)));
                return Outcome { messages, failure };
            }
        }
    }
    Outcome {
        messages,
        failure: None,
    }
}

/// The data fields of an error, as the vectors' `errorDetail` names them.
fn detail(e: &Error) -> BTreeMap<String, u64> {
    let pairs: Vec<(&str, u64)> = match e {
        Error::TooLarge { len, max, .. } => vec![("len", *len), ("max", *max)],
        Error::BadMagic { found, .. } => vec![("found", u64::from(*found))],
        Error::BadVersion { found, .. } => vec![("found", u64::from(*found))],
        Error::Malformed { offset, .. } | Error::InvalidUtf8 { offset, .. } => {
            vec![("offset", *offset as u64)]
        }
        Error::LineTooLong { max, .. } => vec![("max", *max as u64)],
        Error::TrailingBytes { len, .. } => vec![("len", *len as u64)],
        _ => vec![],
    };
    pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

fn encode_all<F: WireFormat>(messages: &[F::Owned]) -> Result<Vec<u8>, Error> {
    let mut out = Vec::new();
    for m in messages {
        let bytes = m.to_bytes()?;
        assert_eq!(bytes.len(), m.encoded_len(), "encoded_len of {m:?}");
        let borrowed = F::as_message(m);
        assert_eq!(
            borrowed.to_bytes()?,
            bytes,
            "borrowed and owned encodings of {m:?}"
        );
        out.extend_from_slice(&bytes);
    }
    Ok(out)
}

/// Runs every case of `file`; returns the number run.
fn run<F>(file: &str, limits: impl Fn(&Map<String, Value>) -> F::Limits) -> usize
where
    F: WireFormat,
    F::Owned: Serialize + DeserializeOwned,
{
    let doc = load(file);
    check_file(file, &doc);
    assert_eq!(doc["format"], F::NAME);
    let mut failures = Vec::new();
    let mut count = 0;
    for group in doc["testGroups"].as_array().unwrap() {
        let limits = limits(group["limits"].as_object().unwrap());
        let datagram = group["mode"] == "datagram";
        for test in group["tests"].as_array().unwrap() {
            count += 1;
            let id = test["tcId"].as_u64().unwrap();
            let label = format!("{file} #{id} ({})", test["comment"].as_str().unwrap());
            if let Err(why) = run_case::<F>(test, &limits, datagram) {
                failures.push(format!("{label}: {why}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {count} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    count
}

fn run_case<F>(test: &Value, limits: &F::Limits, datagram: bool) -> Result<(), String>
where
    F: WireFormat,
    F::Owned: Serialize + DeserializeOwned,
{
    let input = hex(test["input"].as_str().unwrap());
    let got = decode::<F>(&input, limits, datagram);
    let result = test["result"].as_str().unwrap();
    let flags: Vec<&str> = test["flags"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let expect_valid = match result {
        "valid" => true,
        "invalid" => false,
        // Either outcome is allowed; hold the implementation to the one it chose.
        _ => got.failure.is_none(),
    };

    // Messages: through serde both ways.
    let expected: Vec<F::Owned> = serde_json::from_value(test["messages"].clone())
        .map_err(|e| format!("expected messages do not deserialize: {e}"))?;
    if got.messages != expected {
        return Err(format!(
            "messages {:?}, expected {expected:?}",
            got.messages
        ));
    }
    let as_json = serde_json::to_value(&got.messages).map_err(|e| e.to_string())?;
    if as_json != test["messages"] {
        return Err(format!(
            "messages serialize to {as_json}, expected {}",
            test["messages"]
        ));
    }

    if expect_valid {
        if let Some((kind, offset, needed, error)) = &got.failure {
            return Err(format!(
                "valid input failed: {kind} at {offset} (needed {needed:?}, {error:?})"
            ));
        }
        let encoded = encode_all::<F>(&got.messages);
        if flags.contains(&"Unencodable") {
            return match encoded {
                Err(e)
                    if e.kind() == ErrorKind::InvalidField
                        && e.section().is_some_and(|s| s.ends_with("/4.1")) =>
                {
                    Ok(())
                }
                other => Err(format!(
                    "encoding must fail with invalid_field (4.1), got {other:?}"
                )),
            };
        }
        let encoded = encoded.map_err(|e| format!("re-encoding failed: {e}"))?;
        let want = match test.get("canonical") {
            Some(c) => hex(c.as_str().unwrap()),
            None => input.clone(),
        };
        if encoded != want {
            return Err(format!("re-encoded {encoded:02x?}, expected {want:02x?}"));
        }
        return Ok(());
    }

    let Some((kind, offset, needed, error)) = got.failure else {
        return Err("invalid input decoded without error".into());
    };
    let want_kind = test["error"].as_str().unwrap();
    if kind.as_str() != want_kind {
        return Err(format!("error {kind} ({error:?}), expected {want_kind}"));
    }
    let want_offset = test["errorOffset"].as_u64().unwrap() as usize;
    if offset != want_offset {
        return Err(format!("error at offset {offset}, expected {want_offset}"));
    }
    if kind == ErrorKind::Incomplete {
        let want = match &test["needed"] {
            Value::Null => Needed::Unknown,
            n => Needed::new(n.as_u64().unwrap() as usize),
        };
        if needed != Some(want) {
            return Err(format!("needed {needed:?}, expected {want:?}"));
        }
    }
    if let Some(error) = error.as_ref().filter(|_| kind != ErrorKind::Incomplete) {
        let want: BTreeMap<String, u64> =
            serde_json::from_value(test.get("errorDetail").cloned().unwrap_or_default())
                .map_err(|e| format!("errorDetail: {e}"))?;
        if detail(error) != want {
            return Err(format!(
                "error details {:?} ({error}), expected {want:?}",
                detail(error)
            ));
        }
        // The parser cites the section the case exercises (the runner's own
        // trailing_bytes error cites none).
        if kind != ErrorKind::TrailingBytes {
            let section = test["section"].as_str().unwrap();
            if error.section() != Some(section) {
                return Err(format!(
                    "error cites {:?}, expected {section}",
                    error.section()
                ));
            }
        }
    }
    Ok(())
}

fn limit_u64(limits: &Map<String, Value>, key: &str) -> u64 {
    assert_eq!(limits.len(), 1, "unexpected limits {limits:?}");
    limits[key].as_u64().unwrap()
}

// ---- one test per file: only the limits differ -----------------------------

#[test]
fn typed_vectors() {
    let n = run::<wireforms::typed::Typed>("typed.json", |l| {
        wireforms::typed::Limits::new(u32::try_from(limit_u64(l, "max_payload_len")).unwrap())
    });
    assert!(n >= 25);
}

#[test]
fn magic_vectors() {
    let n = run::<wireforms::magic::Magic>("magic.json", |l| {
        wireforms::magic::Limits::new(u16::try_from(limit_u64(l, "max_payload_len")).unwrap())
    });
    assert!(n >= 25);
}

#[test]
fn frame_vectors() {
    let n = run::<wireforms::frame::Frame>("frame.json", |l| {
        wireforms::frame::Limits::new(u32::try_from(limit_u64(l, "max_payload_len")).unwrap())
    });
    assert!(n >= 25);
}

#[test]
fn mux_vectors() {
    let n = run::<wireforms::mux::Mux>("mux.json", |l| {
        wireforms::mux::Limits::new(u16::try_from(limit_u64(l, "max_payload_len")).unwrap())
    });
    assert!(n >= 25);
}

#[test]
fn request_vectors() {
    let n = run::<wireforms::reqres::RequestLine>("request.json", |l| {
        wireforms::reqres::Limits::new(usize::try_from(limit_u64(l, "max_line_len")).unwrap())
    });
    assert!(n >= 25);
}

#[test]
fn response_vectors() {
    let n = run::<wireforms::reqres::ResponseLine>("response.json", |l| {
        wireforms::reqres::Limits::new(usize::try_from(limit_u64(l, "max_line_len")).unwrap())
    });
    assert!(n >= 25);
}

#[test]
fn every_vector_file_is_run() {
    let mut names: Vec<String> = std::fs::read_dir(vectors_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".json") && n != "schema.json")
        .collect();
    names.sort();
    let run_here = [
        "frame.json",
        "magic.json",
        "mux.json",
        "request.json",
        "response.json",
        "typed.json",
    ];
    assert_eq!(
        names, run_here,
        "a vector file without a test, or a test without its file"
    );
}

#[test]
fn validator_rejects_a_broken_file() {
    let schema = load("schema.json");
    let mut doc = load("typed.json");
    doc["testGroups"][0]["tests"][0]["result"] = Value::from("maybe");
    doc["testGroups"][0]["tests"][1]
        .as_object_mut()
        .unwrap()
        .remove("input");
    doc["testGroups"][0]["tests"][2]["messages"][0]["payload"] = Value::from(7);
    let mut errs = Vec::new();
    validate(&schema, &schema, &doc, "typed.json", &mut errs);
    assert_eq!(errs.len(), 3, "{errs:#?}");
}
