//! The command-line conventions of issue 13, each run as a user runs it:
//! completions and a man page, `send --udp`, `serve`'s flag checks, bound
//! address line and JSON logs, plain request lines for `encode`, no raw
//! bytes to a terminal, and the error texts.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, UdpSocket};
use std::process::{Child, ChildStderr, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_wireforms"))
}

/// Runs `args` with `stdin`, bounded in time (the child is killed after 60 s).
fn run(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = bin()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    let data = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&data);
    });
    let out = wait_bounded(child, Duration::from_secs(60));
    writer.join().unwrap();
    out
}

fn wait_bounded(mut child: Child, limit: Duration) -> Output {
    let started = Instant::now();
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out_t = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = stdout.read_to_end(&mut v);
        v
    });
    let err_t = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = stderr.read_to_end(&mut v);
        v
    });
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            panic!("the command did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Output {
        status,
        stdout: out_t.join().unwrap(),
        stderr: err_t.join().unwrap(),
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

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
