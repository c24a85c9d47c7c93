//! `wireforms fuzz --exec`: deliberately faulty decoders (a Python harness,
//! `testees/faulty_decoder.py`) are found within a bounded number of runs
//! with a fixed seed, minimised, written as vectors that `conform` then
//! fails on; the crate's own harness and the fault-free testee give nothing.

mod support;

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;
use support::{run, text};

fn testee(fault: &str) -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/testees/faulty_decoder.py");
    format!("python3 {} {fault}", script.display())
}

fn out_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("fuzz-decoder-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn fuzz(format: &str, exec: &str, runs: &str, out: &Path) -> (Output, Value) {
    let out = run(
        &[
            "fuzz",
            "--format",
            format,
            "--exec",
            exec,
            "--runs",
            runs,
            "--seed",
            "1",
            "--json",
            "--out",
            out.to_str().unwrap(),
        ],
        b"",
    );
    let summary: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", text(&out.stdout), text(&out.stderr)));
    (out, summary)
}

fn findings(summary: &Value) -> Vec<Value> {
    summary["findings"].as_array().unwrap().clone()
}

/// Runs the written vectors through `conform --exec`: it must fail them.
fn assert_conform_fails(format: &str, exec: &str, dir: &Path) {
    let out = run(
        &[
            "conform",
            "--format",
            format,
            "--exec",
            exec,
            "--vectors",
            dir.to_str().unwrap(),
        ],
        b"",
    );
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("FAIL "), "{stdout}");
    assert!(
        stdout.lines().last().unwrap().starts_with("0 passed"),
        "{stdout}"
    );
    // The same vectors pass against the reference decoder.
    let harness = format!("{} harness", env!("CARGO_BIN_EXE_wireforms"));
    let out = run(
        &[
            "conform",
            "--format",
            format,
            "--exec",
            &harness,
            "--vectors",
            dir.to_str().unwrap(),
        ],
        b"",
    );
    assert!(out.status.success(), "{}", text(&out.stdout));
}

#[test]
fn an_off_by_one_limit_is_found_and_replayed_by_conform() {
    let dir = out_dir("limit");
    let exec = testee("limit-off-by-one");
    let (out, summary) = fuzz("typed", &exec, "400", &dir);
    assert_eq!(out.status.code(), Some(1));
    let f = findings(&summary);
    let accepted = f
        .iter()
        .find(|f| f["key"] == "stream: invalid/too_large: result")
        .unwrap_or_else(|| panic!("not found: {summary}"));
    // Minimal: a header alone, claiming limit + 1 bytes.
    let input = accepted["input"].as_str().unwrap();
    let limit = accepted["limits"]["max_payload_len"].as_u64().unwrap();
    assert_eq!(input.len(), 10, "{accepted}");
    assert_eq!(
        u64::from_str_radix(&input[..8], 16).unwrap(),
        limit + 1,
        "{accepted}"
    );
    assert_schema_valid(&dir.join("typed.json"));
    assert_conform_fails("typed", &exec, &dir);
}

#[test]
fn several_jobs_find_the_same_fault() {
    let dir = out_dir("jobs");
    let exec = testee("limit-off-by-one");
    let out = run(
        &[
            "fuzz",
            "--format",
            "typed",
            "--exec",
            &exec,
            "--runs",
            "400",
            "--seed",
            "1",
            "--jobs",
            "3",
            "--json",
            "--out",
            dir.to_str().unwrap(),
        ],
        b"",
    );
    assert_eq!(out.status.code(), Some(1));
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["inputs"], 400);
    assert_eq!(summary["jobs"], 3);
    assert!(findings(&summary)
        .iter()
        .any(|f| f["key"] == "stream: invalid/too_large: result"));
}

/// The written file against `spec/vectors/schema.json`, when Python has
/// `jsonschema` (the CI machine may not; `conform` reading it is checked
/// everywhere).
fn assert_schema_valid(file: &Path) {
    let schema = Path::new(env!("CARGO_MANIFEST_DIR")).join("../spec/vectors/schema.json");
    let script = "import json, sys\n\
        try:\n    import jsonschema\nexcept ImportError:\n    sys.exit(0)\n\
        jsonschema.validate(json.load(open(sys.argv[2])), json.load(open(sys.argv[1])))\n";
    let out = std::process::Command::new("python3")
        .args(["-c", script])
        .arg(&schema)
        .arg(file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
}

#[test]
fn a_decoder_accepting_magic_version_2_is_found_and_minimised() {
    let dir = out_dir("magic");
    let exec = testee("magic-v2");
    let (out, summary) = fuzz("magic", &exec, "400", &dir);
    assert_eq!(out.status.code(), Some(1));
    let f = findings(&summary);
    let found = f
        .iter()
        .find(|f| f["key"] == "stream: invalid/bad_version: result")
        .unwrap_or_else(|| panic!("not found: {summary}"));
    // One header, version 2, no payload.
    let input = found["input"].as_str().unwrap();
    assert_eq!(input.len(), 16, "{found}");
    assert!(input.starts_with("deadbeef02"), "{found}");
    assert_conform_fails("magic", &exec, &dir);
}

#[test]
fn a_decoder_crashing_on_one_payload_is_found_and_minimised() {
    let dir = out_dir("crash");
    let exec = testee("crash-on-ff");
    let (out, summary) = fuzz("frame", &exec, "400", &dir);
    assert_eq!(out.status.code(), Some(1));
    let f = findings(&summary);
    let crash = f
        .iter()
        .find(|f| f["key"] == "stream: crash or non-protocol output")
        .unwrap_or_else(|| panic!("not found: {summary}"));
    assert_eq!(crash["input"], "00000001ff", "{crash}");
    assert_conform_fails("frame", &exec, &dir);
}

#[test]
fn a_correct_decoder_gives_no_findings() {
    let dir = out_dir("clean");
    for format in ["typed", "magic", "frame"] {
        let (out, summary) = fuzz(format, &testee("none"), "600", &dir);
        assert!(out.status.success(), "{summary}");
        assert_eq!(summary["inputs"], 600);
        assert!(findings(&summary).is_empty(), "{summary}");
    }
    assert!(!dir.exists(), "nothing is written without findings");
}

#[test]
fn the_crates_own_harness_gives_no_findings() {
    let dir = out_dir("own");
    let harness = format!("{} harness", env!("CARGO_BIN_EXE_wireforms"));
    for format in ["typed", "magic", "frame", "mux", "request", "response"] {
        let (out, summary) = fuzz(format, &harness, "300", &dir);
        assert!(out.status.success(), "{format}: {summary}");
        assert_eq!(summary["skipped"], 0, "{format}: {summary}");
        assert!(findings(&summary).is_empty(), "{format}: {summary}");
    }
}

#[test]
fn the_same_seed_tries_the_same_inputs() {
    let a = out_dir("seed-a");
    let b = out_dir("seed-b");
    let exec = testee("limit-off-by-one");
    let (_, one) = fuzz("typed", &exec, "300", &a);
    let (_, two) = fuzz("typed", &exec, "300", &b);
    let inputs = |s: &Value| -> Vec<(Value, Value)> {
        findings(s)
            .iter()
            .map(|f| (f["key"].clone(), f["foundAt"].clone()))
            .collect()
    };
    assert!(!inputs(&one).is_empty());
    assert_eq!(inputs(&one), inputs(&two));
}
