//! `wireforms fuzz --target`: deliberately faulty servers (a Python server,
//! `testees/faulty_server.py`) are found within a bounded number of runs
//! with a fixed seed, minimised and written as vectors that `conform
//! --target` then fails on; the crate's own `serve` and the fault-free
//! testee give nothing.

mod support;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use serde_json::Value;
use support::{bin, run, text};

/// A server process, killed when dropped.
struct Server {
    child: Child,
    addr: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `command`, which prints its address as its first line.
fn start(mut command: Command) -> Server {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    Server {
        child,
        addr: line.trim().to_string(),
    }
}

fn faulty(fault: &str) -> Server {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/testees/faulty_server.py");
    let mut c = Command::new("python3");
    c.arg(script).arg(fault);
    start(c)
}

fn serve(format: &str, udp: bool) -> Server {
    let mut c = bin();
    c.args(["serve", "--format", format, "--listen", "127.0.0.1:0"]);
    if udp {
        c.arg("--udp");
    }
    start(c)
}

fn out_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("fuzz-server-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn fuzz(format: &str, server: &Server, extra: &[&str], out: &Path) -> (Output, Value) {
    let mut args = vec![
        "fuzz",
        "--format",
        format,
        "--target",
        &server.addr,
        "--seed",
        "1",
        "--json",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let out = run(&args, b"");
    let summary: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", text(&out.stdout), text(&out.stderr)));
    (out, summary)
}

fn finding<'a>(summary: &'a Value, key: &str) -> &'a Value {
    summary["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["key"] == key)
        .unwrap_or_else(|| panic!("no {key:?} finding: {}", brief(summary)))
}

/// The findings' keys and differences, without their (long) inputs.
fn brief(summary: &Value) -> String {
    summary["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| format!("{}: {} / {}; ", f["key"], f["reference"], f["testee"]))
        .collect()
}

/// The id `conform` gives the first written vector: `<section>/1`.
fn first_case(dir: &Path, format: &str) -> String {
    let file: Value =
        serde_json::from_slice(&std::fs::read(dir.join(format!("{format}.json"))).unwrap())
            .unwrap();
    let test = &file["testGroups"][0]["tests"][0];
    format!("{}/{}", test["section"].as_str().unwrap(), test["tcId"])
}

fn assert_conform_fails(format: &str, server: &Server, dir: &Path) {
    let case = first_case(dir, format);
    let out = run(
        &[
            "conform",
            "--format",
            format,
            "--target",
            &server.addr,
            "--vectors",
            dir.to_str().unwrap(),
            "--case",
            &case,
        ],
        b"",
    );
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains(&format!("FAIL {case}")), "{stdout}");
}

#[test]
fn a_server_answering_one_message_per_connection_is_found() {
    let server = faulty("one-per-connection");
    let dir = out_dir("one");
    let (out, summary) = fuzz("typed", &server, &["--runs", "200"], &dir);
    assert_eq!(out.status.code(), Some(1), "{}", brief(&summary));
    let f = finding(&summary, "fewer replies");
    // Minimal: two messages with empty payloads.
    assert_eq!(f["input"].as_str().unwrap().len(), 20, "{}", f["input"]);
    assert_conform_fails("typed", &server, &dir);
}

#[test]
fn a_server_desynchronised_by_long_mux_replies_is_found() {
    let server = faulty("mux-desync");
    let dir = out_dir("desync");
    let (out, summary) = fuzz(
        "mux",
        &server,
        &["--runs", "60", "--minimise-runs", "60"],
        &dir,
    );
    assert_eq!(out.status.code(), Some(1), "{}", brief(&summary));
    let f = &summary["findings"][0];
    // One request whose echo (`Echo N: ` and the payload) is longer than a
    // u16 holds.
    let input = f["input"].as_str().unwrap();
    let channel = u64::from_str_radix(&input[..4], 16).unwrap();
    let claimed = u64::from_str_radix(&input[4..8], 16).unwrap();
    let echo = format!("Echo {channel}: ").len() as u64 + claimed;
    assert!(echo > 65_535, "{} {}", f["key"], &input[..8]);
    assert_eq!(input.len() as u64, 2 * (4 + claimed), "{}", f["key"]);
    assert_conform_fails("mux", &server, &dir);
}

#[test]
fn a_correct_foreign_server_gives_no_findings() {
    for fault in ["typed-ok", "mux-ok"] {
        let server = faulty(fault);
        let format = &fault[..fault.len() - 3];
        let (out, summary) = fuzz(format, &server, &["--runs", "150"], &out_dir(fault));
        assert!(out.status.success(), "{fault}: {}", brief(&summary));
        assert_eq!(summary["inputs"], 150);
    }
}

#[test]
fn the_crates_own_servers_give_no_findings() {
    for format in ["typed", "magic", "frame", "mux", "request"] {
        let server = serve(format, false);
        let (out, summary) = fuzz(format, &server, &["--runs", "150"], &out_dir(format));
        assert!(out.status.success(), "{format}: {}", brief(&summary));
    }
    for format in ["typed", "magic", "request"] {
        let server = serve(format, true);
        let (out, summary) = fuzz(
            format,
            &server,
            &["--udp", "--runs", "100"],
            &out_dir(&format!("{format}-udp")),
        );
        assert!(out.status.success(), "{format} --udp: {}", brief(&summary));
    }
}

#[test]
fn a_server_without_an_idle_timeout_is_found_when_one_is_stated() {
    let limits = [
        "--idle-timeout",
        "300ms",
        "--prompt",
        "300ms",
        "--runs",
        "30",
    ];
    // The Python server never times a peer out.
    let server = faulty("typed-ok");
    let (out, summary) = fuzz("typed", &server, &limits, &out_dir("idle"));
    assert_eq!(out.status.code(), Some(1), "{}", brief(&summary));
    let f = finding(&summary, "still open past the idle timeout");
    assert_eq!(f["input"].as_str().unwrap().len(), 2, "{}", f["input"]);
    // `serve` with that idle timeout closes in time.
    let mut c = bin();
    c.args(["serve", "--format", "typed", "--listen", "127.0.0.1:0"]);
    c.args(["--idle-timeout", "300ms"]);
    let server = start(c);
    let (out, summary) = fuzz("typed", &server, &limits, &out_dir("idle-serve"));
    assert!(out.status.success(), "{}", brief(&summary));
}
