//! `wireforms conform` selection and reports: `--expect` lists (expected
//! failures, unexpected passes, stale entries), ids holding `#`, globs,
//! and the JSON, JUnit and HTML reports carrying every outcome (the HTML
//! one rendered in headless chromium).

mod support;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::Value;

fn run(args: &[&str]) -> Output {
    support::run(args, b"")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn closing_line(out: &Output) -> String {
    text(&out.stdout).lines().last().unwrap_or("").to_string()
}

/// A temporary file holding `body`, removed on drop.
struct Temp(PathBuf);

impl Temp {
    fn new(name: &str, body: &str) -> Temp {
        let p = std::env::temp_dir().join(format!("wireforms-{}-{name}", std::process::id()));
        std::fs::write(&p, body).unwrap();
        Temp(p)
    }
    fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for Temp {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// A typed server that answers every message with the request's own type
/// (the spec says type + 1), otherwise right.
fn same_type_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            std::thread::spawn(move || loop {
                let mut head = [0u8; 5];
                if conn.read_exact(&mut head).is_err() {
                    return;
                }
                let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]);
                if len > 1 << 20 {
                    return;
                }
                let mut payload = vec![0; len as usize];
                if conn.read_exact(&mut payload).is_err() {
                    return;
                }
                if conn
                    .write_all(&head)
                    .and_then(|_| conn.write_all(&payload))
                    .is_err()
                {
                    return;
                }
            });
        }
    });
    addr
}

const TYPE_CASE: &str = "typed/5.3/101";

fn against(addr: &str, extra: &[&str]) -> Output {
    let mut args = vec![
        "conform",
        "-f",
        "typed",
        "-t",
        addr,
        "--timeout",
        "2s",
        "--case",
        TYPE_CASE,
    ];
    args.extend_from_slice(extra);
    run(&args)
}

#[test]
fn expectations_round_trip() {
    let addr = same_type_server();
    // Unlisted, the fault fails the run and names the field.
    let out = against(&addr, &[]);
    let s = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{s}");
    assert!(s.contains("FAIL typed/5.3/101"), "{s}");
    assert!(s.contains("reply 1: type 0 (expected 1)"), "{s}");

    // Listed: an expected failure, the run passes.
    let list = Temp::new(
        "expect",
        "# known\ntyped/5.3/101  answers with the request's type\n",
    );
    let out = against(&addr, &["--expect", list.path()]);
    let s = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{s}");
    assert!(s.contains("XFAIL typed/5.3/101"), "{s}");
    assert!(s.contains("answers with the request's type"), "{s}");
    assert_eq!(closing_line(&out), "0 passed, 0 failed, 1 expected failure");

    // Fixed (the built-in server): an unexpected pass fails the run.
    let out = run(&[
        "conform",
        "-f",
        "typed",
        "--case",
        TYPE_CASE,
        "--expect",
        list.path(),
    ]);
    let s = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{s}");
    assert!(s.contains("XPASS typed/5.3/101"), "{s}");
    assert!(s.contains("remove it from the list"), "{s}");
    assert_eq!(closing_line(&out), "0 passed, 1 failed");

    // A stale entry is an error, named with its line.
    let stale = Temp::new("stale", "typed/5.3/101 known\ntyped/5.3/999 long fixed\n");
    let out = against(&addr, &["--expect", stale.path()]);
    let e = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{e}");
    assert!(
        e.contains(":2: typed/5.3/999") && e.contains("matches no case"),
        "{e}"
    );

    // An entry without a reason is refused.
    let bare = Temp::new("bare", "typed/5.3/101\n");
    let out = against(&addr, &["--expect", bare.path()]);
    assert!(
        text(&out.stderr).contains("has no reason"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn hash_ids_and_globs_select() {
    // `#` is part of an id, in --case and in the lists.
    let out = run(&["conform", "--list", "--case", "reqres/5.5/request#23"]);
    let s = text(&out.stdout);
    assert_eq!(s.lines().count(), 2, "{s}");
    assert!(s.starts_with("reqres/5.5/request#23 "), "{s}");
    let list = Temp::new(
        "exclude",
        "reqres/5.5/request#23   # needs a newer server\n",
    );
    let out = run(&[
        "conform",
        "-f",
        "request",
        "--case",
        "reqres/5.5/request#2*",
        "--exclude",
        list.path(),
    ]);
    let s = text(&out.stdout);
    assert!(out.status.success(), "{s}");
    assert!(
        s.contains("SKIP reqres/5.5/request#23 ") && s.contains("excluded: needs a newer server"),
        "{s}"
    );
    assert!(s.contains("PASS reqres/5.5/request#23/encode"), "{s}");

    // Globs: any --case, and any --section, both must hold.
    let out = run(&["conform", "--list", "--section", "reqres/5.*"]);
    let s = text(&out.stdout);
    assert!(s.lines().count() > 10, "{s}");
    for l in s.lines().filter(|l| !l.ends_with(" cases")) {
        let section = l.split_whitespace().nth(1).unwrap();
        assert!(section.starts_with("reqres/5."), "{l}");
    }
    let out = run(&[
        "conform",
        "--list",
        "--case",
        "typed/5.*",
        "--section",
        "typed/5.2",
    ]);
    let s = text(&out.stdout);
    assert!(s.lines().count() > 3, "{s}");
    assert!(
        s.lines()
            .filter(|l| !l.ends_with(" cases"))
            .all(|l| l.starts_with("typed/5.2/")),
        "{s}"
    );
    let out = run(&["conform", "--list", "--case", "typed/9.*"]);
    assert!(text(&out.stderr).contains("no case matches typed/9.*"));
}

#[test]
fn json_and_junit_carry_every_outcome() {
    let addr = same_type_server();
    let list = Temp::new("expect2", "typed/5.3/101 known\n");
    let junit = Temp::new("junit.xml", "");
    let out = against(
        &addr,
        &[
            "--case",
            "typed/6/102",
            "--case",
            "typed/6/104",
            "--case",
            "typed/8/201",
            "--expect",
            list.path(),
            "--json",
            "--junit",
            junit.path(),
        ],
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    // 6/102: failed (wrong type); 6/104 (SHOULD): warned, not passed;
    // 8/201: skipped (no --idle-timeout for a target); 5.3/101: expected.
    assert_eq!(report["failed"], 1, "{report}");
    assert_eq!(report["passed"], 1, "{report}");
    assert_eq!(report["warned"], 1, "{report}");
    assert_eq!(report["counts"]["pass"], 0, "{report}");
    assert_eq!(report["counts"]["warn"], 1, "{report}");
    assert_eq!(report["counts"]["expected failure"], 1, "{report}");
    assert_eq!(report["counts"]["skipped"], 1, "{report}");
    let statuses: Vec<&str> = report["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["FAIL", "WARN", "XFAIL", "SKIP"]);
    let xml = std::fs::read_to_string(&junit.0).unwrap();
    assert_eq!(xml.matches("<testcase").count(), 4, "{xml}");
    assert!(
        xml.lines()
            .filter(|l| l.contains("<testcase") || l.contains("<testsuite"))
            .all(|l| l.contains(" time=\"")),
        "{xml}"
    );
    assert!(xml.contains("expected failure (known)"), "{xml}");
}

/// `chromium`, or `None` (the test is skipped, but fails under CI=true).
fn chromium() -> Option<&'static str> {
    let found = Command::new("chromium").arg("--version").output().is_ok();
    if !found {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("chromium is not installed (CI=true: .ci/run installs it with apt-get)");
        }
        eprintln!("skipped: chromium is not installed (apt-get install chromium)");
        return None;
    }
    Some("chromium")
}

#[test]
fn the_html_report_renders_with_the_right_counts() {
    let Some(browser) = chromium() else { return };
    let addr = same_type_server();
    let list = Temp::new("expect3", "typed/5.3/101 known\n");
    let html = Temp::new("report.html", "");
    let out = against(
        &addr,
        &[
            "--case",
            "typed/6/102",
            "--case",
            "typed/5.1/101",
            "--case",
            "typed/5.1/102",
            "--case",
            "typed/8/201",
            "--expect",
            list.path(),
            "--html",
            html.path(),
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    let profile = std::env::temp_dir().join(format!("wireforms-chromium-{}", std::process::id()));
    let mut command = Command::new(browser);
    command.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        &format!("--user-data-dir={}", profile.display()),
        "--dump-dom",
        &format!("file://{}", html.path()),
    ]);
    let dom = support::run_command(command, b"");
    let _ = std::fs::remove_dir_all(&profile);
    let dom = text(&dom.stdout);
    // Counted by the page's own script from its rows.
    assert!(
        dom.contains("data-ready=\"yes\""),
        "the script did not run:\n{dom}"
    );
    let count = |key: &str| {
        let mark = format!("data-status=\"{key}\">");
        let at = dom.find(&format!("<span class=\"count\" {mark}")).unwrap();
        let rest = &dom[at..];
        let start = rest.find('>').unwrap() + 1;
        let end = start + rest[start..].find('<').unwrap();
        rest[start..end].to_string()
    };
    assert_eq!(count("pass"), "1"); // 5.1/102: no reply to a cut message
    assert_eq!(count("fail"), "2");
    assert_eq!(count("xfail"), "1");
    assert_eq!(count("skip"), "1");
    assert_eq!(count("xpass"), "0");
    assert!(dom.contains("<span id=\"total\">5</span>"), "{dom}");
    // Passes are filtered out by default.
    assert!(dom.contains("<span id=\"shown\">4</span>"), "{dom}");
    assert!(dom.contains("reply 1: type"), "{dom}");
}

#[test]
fn testee_faults_are_named_once() {
    // Text on standard output instead of frames is shown as text.
    let out = run(&[
        "conform",
        "-f",
        "typed",
        "--case",
        "typed/2.2/2",
        "--exec",
        "echo hello there",
    ]);
    let s = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{s}");
    assert!(
        s.contains("the testee wrote text to standard output (\"hello there\\n\")"),
        "{s}"
    );
    // A command that cannot start ends the run with one error, not a
    // failure per case.
    let out = run(&["conform", "-f", "typed", "--exec", "/no/such/decoder"]);
    let e = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{e}");
    assert_eq!(e.matches("cannot start /no/such/decoder").count(), 1, "{e}");
    assert!(!text(&out.stdout).contains("FAIL"), "{}", text(&out.stdout));
}
