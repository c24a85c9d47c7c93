//! The command-line conventions of issue 13, each run as a user runs it:
//! completions and a man page, `send --udp`, `serve`'s flag checks, bound
//! address line and JSON logs, plain request lines for `encode`, no raw
//! bytes to a terminal, and the error texts.

use std::io::{BufRead, BufReader, Read};
use std::net::{TcpListener, UdpSocket};
use std::process::{Child, ChildStderr, Command, Stdio};
use std::time::Duration;

use support::{bin, run, text, wait_bounded};

mod support;

fn taken_port() -> (TcpListener, String) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    (l, addr)
}

/// A server started with `--listen 127.0.0.1:0`, killed on drop.
struct Served {
    child: Child,
    stderr: Option<ChildStderr>,
    addr: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `serve`, reading the bound address from its first stdout line.
fn serve(args: &[&str]) -> Served {
    let mut child = bin()
        .arg("serve")
        .args(args)
        .args(["--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let stderr = child.stderr.take();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("serve printed no address line");
    let addr = line.trim().to_string();
    assert!(
        addr.parse::<std::net::SocketAddr>().is_ok(),
        "the first line is not an address: {line:?}"
    );
    Served {
        child,
        stderr,
        addr,
    }
}

// ---- error texts -------------------------------------------------------------

#[test]
fn a_decode_error_names_one_offset_the_absolute_one() {
    // "1:A:x\n" is 6 bytes; the 0xff is byte 4 of the second line: byte 10.
    let out = run(&["decode", "-f", "request"], b"1:A:x\n2:B:\xff\n");
    let err = text(&out.stderr);
    assert!(!out.status.success());
    assert_eq!(err.matches("byte").count(), 1, "{err}");
    assert!(err.contains("invalid UTF-8 at byte 10"), "{err}");
}

#[test]
fn one_case_is_not_cases() {
    let out = run(&["conform", "--list", "--case", "typed/3/101"], b"");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).ends_with("\n1 case\n"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn a_case_that_matches_nothing_is_reported() {
    let out = run(
        &[
            "conform",
            "--list",
            "--case",
            "typed/3/101",
            "--case",
            "typed/99/1",
        ],
        b"",
    );
    let err = text(&out.stderr);
    assert!(!out.status.success(), "{}", text(&out.stdout));
    assert!(err.contains("typed/99/1"), "{err}");
}

// ---- encode ------------------------------------------------------------------

#[test]
fn encode_request_takes_plain_lines_and_json() {
    let out = run(
        &["encode", "-f", "request"],
        b"1:ECHO:hi\n{\"id\":\"2\",\"command\":\"UPPER\",\"args\":\"x\"}\n3:REVERSE:a:b\r\n",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "1:ECHO:hi\n2:UPPER:x\n3:REVERSE:a:b\n");
    let out = run(&["encode", "-f", "request"], b"no separator here\n");
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("line 1"),
        "{}",
        text(&out.stderr)
    );
}

// ---- serve -------------------------------------------------------------------

#[test]
fn serve_checks_its_flags_before_it_binds() {
    // The port is taken: a bind first would report that instead.
    let (_taken, addr) = taken_port();
    let out = run(
        &["serve", "-f", "mux", "--max-payload", "70000", "-l", &addr],
        b"",
    );
    let err = text(&out.stderr);
    assert!(err.contains("mux length field"), "{err}");
    assert!(!err.contains("cannot listen"), "{err}");
    let out = run(&["serve", "-f", "response", "-l", &addr], b"");
    let err = text(&out.stderr);
    assert!(err.contains("no response server"), "{err}");
    assert!(!err.contains("cannot listen"), "{err}");
}

// ---- completions and the man page ----------------------------------------------

#[test]
fn completions_for_every_shell_name_the_subcommands() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let out = run(&["completions", shell], b"");
        assert!(out.status.success(), "{shell}: {}", text(&out.stderr));
        let script = text(&out.stdout);
        for word in ["decode", "conform", "max-payload", "completions"] {
            assert!(script.contains(word), "{shell} lacks {word}");
        }
    }
    assert!(text(&run(&["completions", "bash"], b"").stdout).contains("_wireforms()"));
    let out = run(&["completions", "cmd.exe"], b"");
    assert!(!out.status.success());
}

#[test]
fn manpage_is_roff_with_every_subcommand() {
    let out = run(&["manpage"], b"");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let page = text(&out.stdout);
    assert!(page.contains(".TH wireforms 1"), "{page}");
    assert!(page.contains(".SH SUBCOMMANDS"), "{page}");
    for sub in [
        "decode", "encode", "serve", "send", "conform", "harness", "manpage",
    ] {
        assert!(page.contains(&format!("wireforms\\-{sub}")), "lacks {sub}");
    }
}

// ---- serve: the address line, logging once, JSON logs --------------------------

#[test]
fn serve_prints_its_address_alone_and_logs_it_once() {
    let mut served = serve(&["-f", "typed"]);
    let port = served.addr.rsplit(':').next().unwrap().to_string();
    let out = run(&["send", "-f", "typed", "-t", &served.addr, "hi"], b"");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let _ = served.child.kill();
    let _ = served.child.wait();
    let mut logs = String::new();
    served
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut logs)
        .unwrap();
    assert!(!logs.contains("Some("), "{logs}");
    assert_eq!(logs.matches(&port).count(), 1, "{logs}");
}

#[test]
fn serve_log_format_json_writes_json_objects() {
    let mut served = serve(&["-f", "request", "--log-format", "json"]);
    let _ = served.child.kill();
    let _ = served.child.wait();
    let mut logs = String::new();
    served
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut logs)
        .unwrap();
    let first = logs.lines().next().expect("no log line");
    let event: serde_json::Value = serde_json::from_str(first).unwrap();
    assert_eq!(event["level"], "INFO", "{first}");
    assert_eq!(event["fields"]["addr"], served.addr.as_str(), "{first}");
    assert_eq!(event["fields"]["format"], "request", "{first}");
    let out = run(&["serve", "-f", "typed", "--log-format", "xml"], b"");
    assert!(!out.status.success());
}

// ---- send --udp ---------------------------------------------------------------

#[test]
fn send_udp_to_each_datagram_server() {
    let typed = serve(&["-f", "typed", "--udp"]);
    let out = run(
        &[
            "send",
            "-f",
            "typed",
            "--udp",
            "-t",
            &typed.addr,
            "hi",
            "there",
        ],
        b"",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "reply to 1: @0 (7 bytes) type=2 payload=\"hi\"\n\
         reply to 2: @7 (10 bytes) type=2 payload=\"there\"\n"
    );

    let magic = serve(&["-f", "magic", "--udp"]);
    let out = run(
        &[
            "send",
            "-f",
            "magic",
            "--udp",
            "-t",
            &magic.addr,
            "--json",
            "x",
        ],
        b"",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let reply: serde_json::Value = serde_json::from_str(text(&out.stdout).trim()).unwrap();
    assert_eq!(reply["type"], 2);

    let request = serve(&["-f", "request", "--udp"]);
    let out = run(
        &[
            "send",
            "-f",
            "request",
            "--udp",
            "-t",
            &request.addr,
            "1:UPPER:hi",
            "2:REVERSE:abc",
        ],
        b"",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let s = text(&out.stdout);
    assert!(
        s.contains("reply to 1: @0 (8 bytes) id=\"1\" status=\"OK\" data=\"HI\""),
        "{s}"
    );
    assert!(
        s.contains("reply to 2:") && s.contains("data=\"cba\""),
        "{s}"
    );

    let out = run(
        &["send", "-f", "mux", "--udp", "-t", &request.addr, "x"],
        b"",
    );
    assert!(
        text(&out.stderr).contains("no datagram variant"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn send_udp_reports_a_reply_that_does_not_come() {
    // A bound socket that never answers.
    let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = silent.local_addr().unwrap().to_string();
    let out = run(
        &[
            "send",
            "-f",
            "typed",
            "--udp",
            "-t",
            &addr,
            "--timeout",
            "200ms",
            "hi",
        ],
        b"",
    );
    let err = text(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("message 1: no reply within 200ms"), "{err}");
}

// ---- a terminal ------------------------------------------------------------------

/// Runs `shell_command` with a pseudo-terminal as its standard output and
/// error (util-linux `script`), returning what the terminal showed.
fn on_a_terminal(shell_command: &str) -> String {
    let child = Command::new("script")
        .args(["-qec", shell_command, "/dev/null"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("util-linux `script` runs commands on a pseudo-terminal");
    let out = wait_bounded(child, Duration::from_secs(60));
    text(&out.stdout)
}

#[test]
fn encode_refuses_raw_bytes_to_a_terminal_unless_asked() {
    let bin = env!("CARGO_BIN_EXE_wireforms");
    let json = r#"{"type":1,"payload":"6869"}"#;
    let shown = on_a_terminal(&format!(
        "echo '{json}' | {bin} encode -f typed; echo \"exit $?\""
    ));
    assert!(
        shown.contains("refusing to write raw typed bytes to a terminal"),
        "{shown}"
    );
    assert!(shown.contains("exit 1"), "{shown}");
    let shown = on_a_terminal(&format!("echo '{json}' | {bin} encode -f typed --hex"));
    assert!(shown.contains("00000002016869"), "{shown}");
    let shown = on_a_terminal(&format!(
        "echo '{json}' | {bin} encode -f typed --force; echo \" exit $?\""
    ));
    assert!(shown.contains("hi exit 0"), "{shown}");
    // Request lines are text: a terminal shows them.
    let shown = on_a_terminal(&format!("echo '1:ECHO:x' | {bin} encode -f request"));
    assert!(shown.contains("1:ECHO:x"), "{shown}");
    // A pipe is not a terminal.
    let out = run(&["encode", "-f", "typed"], format!("{json}\n").as_bytes());
    assert_eq!(out.stdout, b"\x00\x00\x00\x02\x01hi");
}

/// A file of `n` empty typed messages (5 bytes each).
fn typed_file(name: &str, n: usize) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("wireforms-{name}-{}.bin", std::process::id()));
    std::fs::write(&path, [0u8, 0, 0, 0, 7].repeat(n)).unwrap();
    path
}

#[test]
fn decode_shows_progress_on_a_terminal_for_long_files_only() {
    let bin = env!("CARGO_BIN_EXE_wireforms");
    // 20 MB, over the 16 MiB threshold.
    let long = typed_file("progress-long", 4_000_000);
    let p = long.display();
    let shown = on_a_terminal(&format!("{bin} decode -f typed --count {p}"));
    assert!(
        shown.contains("4000000 messages, 20000000 bytes"),
        "{shown}"
    );
    assert!(shown.contains("MiB"), "no progress bar: {shown}");
    // Not in a pipe, not for --json, not for a short file.
    let out = run(
        &["decode", "-f", "typed", "--count", &long.to_string_lossy()],
        b"",
    );
    assert_eq!(text(&out.stderr), "");
    let shown = on_a_terminal(&format!("{bin} decode -f typed --json {p} | tail -1"));
    assert!(!shown.contains("MiB"), "{shown}");
    let short = typed_file("progress-short", 1000);
    let shown = on_a_terminal(&format!(
        "{bin} decode -f typed --count {}",
        short.display()
    ));
    assert_eq!(shown.trim(), "1000 messages, 5000 bytes");
    let _ = std::fs::remove_file(long);
    let _ = std::fs::remove_file(short);
}
