//! `wireforms conform --client`: the crate's own shim passes; a client shim
//! written in Python from spec/harness.md alone passes too, and with faults
//! switched on (IDs reused, mux payloads truncated, a hang on a silent
//! server) fails the cases that catch them, naming the fault.

mod support;

use std::path::Path;
use std::process::{Command, Output};

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn closing_line(out: &Output) -> String {
    text(&out.stdout).lines().last().unwrap_or("").to_string()
}

/// `python3`, or `None` (skipped, but a failure under CI=true).
fn python() -> Option<()> {
    if Command::new("python3").arg("--version").output().is_ok() {
        return Some(());
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("python3 is not installed");
    }
    eprintln!("skipped: python3 is not installed");
    None
}

fn pyshim(format: &str, fault: &str) -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/pyshim.py");
    format!("python3 {} {format} {fault}", script.display())
}

fn client(format: &str, command: &str, extra: &[&str]) -> Output {
    let mut args = vec![
        "conform", "--client", "--shim", "-f", format, "--exec", command,
    ];
    args.extend_from_slice(extra);
    support::run(&args, b"")
}

#[test]
fn the_crate_shim_passes_every_client_case() {
    let exe = env!("CARGO_BIN_EXE_wireforms");
    for format in ["request", "mux"] {
        let command = format!("{exe} shim --format {format} --timeout 1s");
        let out = client(format, &command, &[]);
        let s = text(&out.stdout);
        assert!(out.status.success(), "{s}");
        assert!(closing_line(&out).ends_with(" passed, 0 failed"), "{s}");
    }
}

#[test]
fn a_shim_written_from_the_spec_passes() {
    let Some(()) = python() else { return };
    // Every client case run and passed: a run of SKIP or UNIMPL would
    // show no FAIL too.
    for (format, cases) in [("request", 9), ("mux", 7)] {
        let out = client(format, &pyshim(format, "none"), &["--prompt", "500ms"]);
        let s = text(&out.stdout);
        assert!(out.status.success(), "{s}");
        assert!(!s.contains("FAIL"), "{s}");
        assert_eq!(
            closing_line(&out),
            format!("{cases} passed, 0 failed"),
            "{s}"
        );
    }
}

#[test]
fn a_client_reusing_ids_fails_naming_the_id() {
    let Some(()) = python() else { return };
    let out = client(
        "request",
        &pyshim("request", "reuse-ids"),
        &[
            "--prompt",
            "500ms",
            "--case",
            "reqres/10/204",
            "--case",
            "reqres/10/206",
        ],
    );
    let s = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{s}");
    for id in ["reqres/10/204", "reqres/10/206"] {
        let line = s.lines().find(|l| l.contains(id)).unwrap_or("");
        assert!(line.starts_with("FAIL"), "{s}");
        assert!(
            line.contains("reused ID \"1\" while a request with it was pending"),
            "{line}"
        );
    }
    // Out of order, the answers then go to the wrong calls.
    assert!(s.contains("call c1: delivered data"), "{s}");
}

#[test]
fn a_client_truncating_mux_payloads_fails_naming_the_channel() {
    let Some(()) = python() else { return };
    let out = client(
        "mux",
        &pyshim("mux", "truncate"),
        &["--prompt", "500ms", "--case", "mux/10.5/205"],
    );
    let s = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{s}");
    assert!(
        s.contains("channel 3: the client sent 65535 of the 70000 bytes it was given (the payload was truncated, not split into frames)"),
        "{s}"
    );
}

#[test]
fn a_client_hanging_on_a_silent_server_fails_within_the_bound() {
    let Some(()) = python() else { return };
    let started = std::time::Instant::now();
    let out = client(
        "request",
        &pyshim("request", "hang"),
        &[
            "--timeout",
            "1500ms",
            "--prompt",
            "300ms",
            "--case",
            "reqres/10/206",
        ],
    );
    let s = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{s}");
    assert!(
        s.contains("the client did not exit within 1.5s against a silent server (it hangs instead of giving up)"),
        "{s}"
    );
    // Bounded by --timeout, not by the hang (a generous margin: no speed claim).
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
}

#[test]
fn client_mode_needs_a_format_and_a_command() {
    let out = support::run(&["conform", "--client", "--exec", "x"], b"");
    assert!(
        text(&out.stderr).contains("--client needs --format"),
        "{}",
        text(&out.stderr)
    );
    let out = support::run(&["conform", "--client", "-f", "typed", "--exec", "x"], b"");
    assert!(
        text(&out.stderr).contains("not typed"),
        "{}",
        text(&out.stderr)
    );
    let out = support::run(
        &[
            "conform",
            "--client",
            "-f",
            "mux",
            "--exec",
            "/no/such/client",
        ],
        b"",
    );
    let e = text(&out.stderr);
    // Said once, not once per case.
    assert_eq!(e.matches("cannot start /no/such/client").count(), 1, "{e}");
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn wire_level_judges_any_client_program() {
    // `wireforms send` knows no shim protocol: it is judged on the wire
    // and on exiting in time, whatever the server does.
    let exe = env!("CARGO_BIN_EXE_wireforms");
    let command = format!(
        "{exe} send --format request --target {{addr}} --timeout 300ms 1:ECHO:hi 2:UPPER:x"
    );
    let out = support::run(
        &[
            "conform", "--client", "-f", "request", "--exec", &command, "--prompt", "300ms",
        ],
        b"",
    );
    let s = text(&out.stdout);
    assert!(out.status.success(), "{s}");
    assert_eq!(closing_line(&out), "9 passed, 0 failed");
}
