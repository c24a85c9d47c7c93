//! The `wireforms` binary, run as a user runs it: every command, its
//! output, and every error path ending in one line and a non-zero exit.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::{bin, run, text};

mod support;

fn assert_clean_error(out: &Output, needle: &str) {
    let err = text(&out.stderr);
    assert!(!out.status.success(), "expected failure; stderr: {err}");
    assert!(
        !err.contains("panicked") && !err.contains("backtrace"),
        "{err}"
    );
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(
        lines.iter().any(|l| l.contains(needle)),
        "stderr lacks {needle:?}: {err}"
    );
}

fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../spec/vectors")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

// ---- decode ---------------------------------------------------------------

#[test]
fn decode_human_json_explain_count() {
    let hex = b"00000002016869 0000000002\n";
    let out = run(&["decode", "--format", "typed", "--hex"], hex);
    assert!(out.status.success());
    assert_eq!(
        text(&out.stdout),
        "@0 (7 bytes) type=1 payload=\"hi\"\n@7 (5 bytes) type=2 payload=\"\"\n"
    );

    let out = run(&["decode", "-f", "typed", "--hex", "--json"], hex);
    let lines: Vec<Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        lines[0],
        serde_json::json!({"offset": 0, "size": 7, "type": 1, "payload": "6869"})
    );
    assert_eq!(lines[1]["offset"], 7);

    let out = run(
        &["decode", "-f", "magic", "--hex", "--explain"],
        b"deadbeef 01 07 0002 6869",
    );
    let s = text(&out.stdout);
    assert!(s.contains("magic       0xdeadbeef"), "{s}");
    assert!(s.contains("00000008  68 69"), "{s}");

    let out = run(
        &["decode", "-f", "frame", "--hex", "--count"],
        b"00000000 00000001 41",
    );
    assert_eq!(text(&out.stdout), "2 messages, 9 bytes\n");
}

#[test]
fn decode_error_object_names_offset_kind_section_and_need() {
    let out = run(
        &["decode", "-f", "typed", "--hex", "--json"],
        b"00000002016869 000000",
    );
    assert_eq!(out.status.code(), Some(1));
    let last: Value = serde_json::from_str(text(&out.stdout).lines().last().unwrap()).unwrap();
    assert_eq!(last["offset"], 7);
    assert_eq!(last["error"], "incomplete");
    assert_eq!(last["section"], "typed/5.1");
    assert_eq!(last["needed"], 2);
    assert!(last["message"].as_str().unwrap().contains("2 more bytes"));
    assert_clean_error(&out, "error: at byte 7");

    let out = run(
        &["decode", "-f", "magic", "--hex", "--json"],
        b"cafebabe01010000",
    );
    let obj: Value = serde_json::from_str(text(&out.stdout).trim()).unwrap();
    assert_eq!(obj["error"], "bad_magic");
    assert_eq!(obj["section"], "magic/5.2");
    assert!(obj.get("needed").is_none());

    let out = run(
        &["decode", "-f", "frame", "--hex", "--max-payload", "4"],
        b"00000005",
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stdout).contains("error too_large"));
}

#[test]
fn decode_streams_a_file_larger_than_its_buffer() {
    let dir = std::env::temp_dir().join(format!("wireforms-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("many.bin");
    let mut data = Vec::new();
    for i in 0..100_000u32 {
        let payload = format!("message {i}");
        data.extend_from_slice(&(payload.len() as u32).to_be_bytes());
        data.extend_from_slice(payload.as_bytes());
    }
    // One large frame across many read chunks, too.
    data.extend_from_slice(&(1_000_000u32).to_be_bytes());
    data.extend(std::iter::repeat_n(b'x', 1_000_000));
    std::fs::write(&path, &data).unwrap();
    let out = run(
        &["decode", "-f", "frame", "--count", path.to_str().unwrap()],
        b"",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        format!("100001 messages, {} bytes\n", data.len())
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn error_paths_are_one_line_and_non_zero() {
    let out = run(&["decode", "-f", "typed", "/nonexistent/capture.bin"], b"");
    assert_clean_error(&out, "error: cannot read /nonexistent/capture.bin");

    let out = run(&["decode", "-f", "typed", "--hex"], b"00 zz");
    assert_clean_error(&out, "invalid hex: 'z' at byte 3");

    let out = run(&["decode", "-f", "typed", "--hex"], b"000");
    assert_clean_error(&out, "odd number of digits");

    let out = run(&["decode", "-f", "typed", "--hex"], b"0000000501ab");
    assert_clean_error(&out, "input ended inside a message");

    let out = run(&["decode", "-f", "carrier-pigeon"], b"");
    assert_clean_error(&out, "carrier-pigeon");

    let out = run(&["decode", "-f", "mux", "--max-payload", "70000"], b"");
    assert_clean_error(&out, "above what the mux length field can carry");

    let out = run(&["encode", "-f", "request"], b"{\"id\":\"1\",\"command\":\"A\",\"args\":\"x\"}\n{\"id\":\"a:b\",\"command\":\"A\",\"args\":\"\"}\n");
    assert_clean_error(&out, "line 2: cannot encode");

    let out = run(
        &["encode", "-f", "typed"],
        b"{\"type\":1,\"payload\":\"zz\"}\n",
    );
    assert_clean_error(&out, "line 1");

    let port = free_port();
    let taken = TcpListener::bind(("127.0.0.1", port)).unwrap();
    let addr = format!("127.0.0.1:{port}");
    let out = run(&["serve", "-f", "typed", "-l", &addr], b"");
    assert_clean_error(&out, "cannot listen on");
    drop(taken);

    let refused = format!("127.0.0.1:{}", free_port());
    let out = run(&["send", "-f", "typed", "-t", &refused, "hi"], b"");
    assert_clean_error(&out, "cannot connect to");
    let out = run(&["conform", "-f", "typed", "-t", &refused], b"");
    assert_clean_error(&out, "cannot connect to");

    let out = run(&["serve", "-f", "frame", "--udp", "-l", "127.0.0.1:0"], b"");
    assert_clean_error(&out, "no datagram variant");
}

// ---- encode ----------------------------------------------------------------

#[test]
fn encode_raw_and_hex() {
    let out = run(
        &["encode", "-f", "typed", "--hex"],
        b"{\"type\":1,\"payload\":\"6869\"}\n\n{\"offset\":7,\"size\":5,\"type\":2,\"payload\":\"\"}\n",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "00000002016869\n0000000002\n");
    let out = run(
        &["encode", "-f", "request"],
        b"{\"id\":\"1\",\"command\":\"ECHO\",\"args\":\"x\"}\n",
    );
    assert_eq!(out.stdout, b"1:ECHO:x\n");
}

/// `decode --json | encode` gives back every valid vector (the canonical
/// form for non-canonical inputs).
#[test]
fn decode_json_encode_round_trips_every_valid_vector() {
    let mut checked = 0;
    for name in ["typed", "magic", "frame", "mux", "request", "response"] {
        let path = vectors_dir().join(format!("{name}.json"));
        let file: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        for group in file["testGroups"].as_array().unwrap() {
            if group["mode"] != "stream" {
                continue;
            }
            let mut limit_flags = Vec::new();
            if let Some(n) = group["limits"]["max_payload_len"].as_u64() {
                limit_flags = vec!["--max-payload".to_string(), n.to_string()];
            }
            if let Some(n) = group["limits"]["max_line_len"].as_u64() {
                limit_flags = vec!["--max-line".to_string(), n.to_string()];
            }
            for test in group["tests"].as_array().unwrap() {
                if test["result"] != "valid" {
                    continue;
                }
                let unencodable = test["flags"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|f| f == "Unencodable");
                let input = test["input"].as_str().unwrap();
                let mut args = vec!["decode", "-f", name, "--hex", "--json"];
                args.extend(limit_flags.iter().map(String::as_str));
                let decoded = run(&args, input.as_bytes());
                assert!(decoded.status.success(), "{name} #{}", test["tcId"]);
                let encoded = run(&["encode", "-f", name, "--hex"], &decoded.stdout);
                if unencodable {
                    assert_clean_error(&encoded, "cannot encode");
                    continue;
                }
                assert!(
                    encoded.status.success(),
                    "{name} #{}: {}",
                    test["tcId"],
                    text(&encoded.stderr)
                );
                let want = test
                    .get("canonical")
                    .and_then(Value::as_str)
                    .unwrap_or(input);
                let got: String = text(&encoded.stdout).split_whitespace().collect();
                assert_eq!(got, want, "{name} #{}", test["tcId"]);
                checked += 1;
            }
        }
    }
    assert!(checked >= 70, "only {checked} vectors checked");
}

// ---- serve and send ----------------------------------------------------------

struct Served(std::process::Child);

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serve(format: &str, extra: &[&str]) -> (Served, String) {
    let addr = format!("127.0.0.1:{}", free_port());
    let child = bin()
        .args(["serve", "-f", format, "-l", &addr])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while TcpStream::connect(&addr).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "server did not start"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    (Served(child), addr)
}

#[test]
fn serve_send_and_graceful_sigterm() {
    let (mut served, addr) = serve("request", &["--idle-timeout", "2s", "--max-line", "1024"]);
    let out = run(
        &[
            "send",
            "-f",
            "request",
            "-t",
            &addr,
            "1:ECHO:hi",
            "2:UPPER:straße",
            "3:REVERSE:abc",
        ],
        b"",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let s = text(&out.stdout);
    assert!(
        s.contains("reply to 1: @0 (8 bytes) id=\"1\" status=\"OK\" data=\"hi\""),
        "{s}"
    );
    assert!(s.contains("data=\"STRAßE\""), "{s}");
    assert!(s.contains("data=\"cba\""), "{s}");

    // JSON lines on standard input, replies as JSON.
    let out = run(
        &["send", "-f", "request", "-t", &addr, "--json"],
        b"{\"id\":\"9\",\"command\":\"ECHO\",\"args\":\"x\"}\n",
    );
    let reply: Value = serde_json::from_str(text(&out.stdout).trim()).unwrap();
    assert_eq!(reply["data"], "x");
    assert_eq!(reply["status"], "OK");

    let out = run(
        &["send", "-f", "request", "-t", &addr, "1:A:x", "1:B:y"],
        b"",
    );
    assert_clean_error(&out, "already used by message 1");

    let pid = served.0.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let started = Instant::now();
    let status = loop {
        if let Some(status) = served.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no graceful exit"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success());
    let mut log = String::new();
    served
        .0
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut log)
        .unwrap();
    assert!(
        log.contains("shutting down") && log.contains("stopped"),
        "{log}"
    );
}

/// A typed server like the guide's: one reply, then it closes.
fn one_reply_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for conn in listener.incoming().take(3) {
            let mut conn = conn.unwrap();
            let mut head = [0u8; 5];
            if conn.read_exact(&mut head).is_err() {
                continue;
            }
            let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
            let mut payload = vec![0; len];
            conn.read_exact(&mut payload).unwrap();
            head[4] = head[4].wrapping_add(1);
            conn.write_all(&head).unwrap();
            conn.write_all(&payload).unwrap();
        }
    });
    addr
}

#[test]
fn send_reconnects_to_a_server_that_closes_after_one_reply() {
    let addr = one_reply_server();
    let out = run(
        &["send", "-f", "typed", "-t", &addr, "one", "two", "three"],
        b"",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let s = text(&out.stdout);
    assert_eq!(s.lines().count(), 3, "{s}");
    assert!(
        s.contains("reply to 3: @0 (10 bytes) type=2 payload=\"three\""),
        "{s}"
    );
}

/// Runs `args` (no input); `None` when it was still running after `limit`
/// and had to be killed.
fn run_within(args: &[&str], limit: Duration) -> Option<Output> {
    let mut child = bin()
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Some(child.wait_with_output().unwrap())
}

/// A request server that answers every connection's first line with an ID
/// nobody asked for, then closes; counts the connections it served.
fn wrong_id_server() -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::io::BufRead;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let served = std::sync::Arc::new(AtomicUsize::new(0));
    let count = served.clone();
    // Ends with the test process; bounded by the client's attempts.
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            count.fetch_add(1, Ordering::Relaxed);
            let mut line = String::new();
            let mut reader = std::io::BufReader::new(conn.try_clone().unwrap());
            if reader.read_line(&mut line).is_ok() {
                let _ = conn.write_all(b"999:OK:stray\n");
            }
        }
    });
    (addr, served)
}

// Issue 11, fault 8: a reply to no pending request counted as progress, so
// `send` reconnected and resent for ever.
#[test]
fn send_requests_gives_up_on_a_server_that_answers_no_request() {
    let (addr, served) = wrong_id_server();
    let out = run_within(
        &["send", "-f", "request", "-t", &addr, "1:ECHO:a", "2:ECHO:b"],
        Duration::from_secs(10),
    );
    let connections = served.load(std::sync::atomic::Ordering::Relaxed);
    let out = out
        .unwrap_or_else(|| panic!("send still running after 10 s, {connections} connections made"));
    assert_clean_error(
        &out,
        "2 requests unanswered (its one reply answered no pending request)",
    );
    assert!(
        text(&out.stdout).contains("reply to no pending request"),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(connections, 1, "no reconnection without progress");
}

#[test]
fn send_times_out_instead_of_hanging() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let keep = std::thread::spawn(move || {
        let (conn, _) = listener.accept().unwrap();
        std::thread::sleep(Duration::from_secs(2));
        drop(conn);
    });
    let started = Instant::now();
    let out = run(
        &[
            "send",
            "-f",
            "frame",
            "-t",
            &addr,
            "--timeout",
            "300ms",
            "hi",
        ],
        b"",
    );
    assert_clean_error(&out, "no reply within 300ms");
    assert!(started.elapsed() < Duration::from_secs(2));
    keep.join().unwrap();
}

#[test]
fn bench_prints_ours_the_baseline_and_the_ratio() {
    // One short scenario besides the raw TCP ceiling: a few seconds
    // (`--only typed` would also pick the in-memory `codec/typed/...` rows).
    let out = bin()
        .args(["bench", "--quick", "--only", "typed-4k", "--json"])
        .output()
        .expect("run wireforms bench");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let results: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON results");
    let results = results.as_array().expect("an array of scenarios");
    let ids: Vec<&str> = results.iter().filter_map(|r| r["id"].as_str()).collect();
    assert_eq!(ids, ["raw-tcp", "typed-4k"]);
    let typed = &results[1];
    let (ours, baseline, ratio) = (
        typed["ours"].as_f64().unwrap(),
        typed["baseline"].as_f64().unwrap(),
        typed["ratio"].as_f64().unwrap(),
    );
    assert!(ours > 0.0 && baseline > 0.0);
    assert!((ratio - ours / baseline).abs() < 1e-9);
}
