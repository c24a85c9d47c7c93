//! `wireforms conform`: passes against the built-in servers and the
//! crate's own decoder, and reports a broken server's breaches as failures.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::{Command, Output};

use serde_json::Value;

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wireforms"))
        .args(args)
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn closing_line(out: &Output) -> String {
    text(&out.stdout).lines().last().unwrap_or("").to_string()
}

/// `N passed, 0 failed` with an optional `, N skipped`.
fn assert_all_passed(out: &Output) {
    let line = closing_line(out);
    let parts: Vec<&str> = line.split(", ").collect();
    assert!(
        out.status.success(),
        "{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(
        parts[0].ends_with(" passed")
            && parts[0].split(' ').next().unwrap().parse::<u32>().unwrap() > 0,
        "{line}"
    );
    assert_eq!(parts[1], "0 failed", "{line}");
    assert!(parts.len() == 2 || parts[2].ends_with(" skipped"), "{line}");
    assert!(!text(&out.stdout).lines().any(|l| l.starts_with("FAIL")));
}

#[test]
fn passes_against_the_built_in_servers() {
    let out = run(&["conform"]);
    assert_all_passed(&out);
    let s = text(&out.stdout);
    for id in [
        "typed/5.2/8",
        "magic/5.2/34",
        "frame/6/105",
        "mux/5.3/21",
        "reqres/6/101",
        "reqres/5.2/101",
    ] {
        assert!(
            s.lines().any(|l| l.starts_with("PASS") && l.contains(id)),
            "{id} missing:\n{s}"
        );
    }
}

#[test]
fn the_crate_decoder_passes_every_vector_through_the_harness() {
    let exe = env!("CARGO_BIN_EXE_wireforms");
    let out = run(&["conform", "--exec", &format!("{exe} harness")]);
    assert_all_passed(&out);
    assert!(
        !closing_line(&out).contains("skipped"),
        "{}",
        closing_line(&out)
    );
    // A harness for one format skips the others instead of failing them.
    let out = run(&[
        "conform",
        "--exec",
        &format!("{exe} harness --format typed"),
    ]);
    assert!(out.status.success());
    assert!(closing_line(&out).contains("skipped"));
}

#[test]
fn list_json_junit_and_selection() {
    let out = run(&["conform", "--list", "--section", "magic/5.2"]);
    let s = text(&out.stdout);
    assert!(
        s.lines()
            .all(|l| l.contains("magic/5.2") || l.ends_with(" cases")),
        "{s}"
    );
    let out = run(&["conform", "--list", "--case", "typed/5.3/101"]);
    assert_eq!(text(&out.stdout).lines().count(), 2);

    let junit = std::env::temp_dir().join(format!("wireforms-junit-{}.xml", std::process::id()));
    let out = run(&[
        "conform",
        "-f",
        "frame",
        "--json",
        "--junit",
        junit.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["failed"], 0);
    assert!(report["cases"].as_array().unwrap().len() > 10);
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.contains("<testsuite name=\"frame\"") && xml.contains("<testcase"));
    let _ = std::fs::remove_file(junit);

    let out = run(&["conform", "--case", "no/such/case"]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).starts_with("error: no case matches"));
}

/// A typed server that breaks the spec twice: it ignores the length limit
/// (waiting for any payload) and answers with the request's own type.
fn broken_typed_server() -> String {
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
                let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as u64;
                let mut payload = Vec::new();
                if (&mut conn).take(len).read_to_end(&mut payload).is_err()
                    || payload.len() as u64 != len
                {
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

#[test]
fn a_broken_server_fails_the_cases_it_breaks() {
    let addr = broken_typed_server();
    let out = run(&[
        "conform",
        "-f",
        "typed",
        "-t",
        &addr,
        "--prompt",
        "300ms",
        "--timeout",
        "2s",
        "--section",
        "typed/5.2",
        "--section",
        "typed/6",
    ]);
    let s = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{s}");
    let fail = |id: &str| {
        s.lines()
            .any(|l| l.starts_with("FAIL") && l.contains(&format!(" {id} ")))
    };
    // Waits for the payload of an over-limit header instead of closing.
    assert!(fail("typed/5.2/101"), "{s}");
    assert!(s.contains("still open"), "{s}");
    // Answers an over-limit message it should have refused.
    assert!(fail("typed/5.2/102"), "{s}");
    // Answers with the wrong type.
    assert!(fail("typed/6/23"), "{s}");
    assert!(s.contains("expected {\"payload\""), "{s}");
    assert!(closing_line(&out).contains(" failed"));

    // Known gaps in --exclude are reported, not counted.
    let exclude = std::env::temp_dir().join(format!("wireforms-exclude-{}", std::process::id()));
    std::fs::write(&exclude, "# known gaps\ntyped/5.2/101\ntyped/5.2/102\n").unwrap();
    let out = run(&[
        "conform",
        "-f",
        "typed",
        "-t",
        &addr,
        "--prompt",
        "300ms",
        "--timeout",
        "2s",
        "--section",
        "typed/5.2",
        "--exclude",
        exclude.to_str().unwrap(),
    ]);
    let _ = std::fs::remove_file(&exclude);
    let s = text(&out.stdout);
    assert!(
        s.contains("SKIP typed/5.2/101") && s.contains("expected failure"),
        "{s}"
    );
    assert!(closing_line(&out).ends_with(", 2 skipped"), "{s}");
}
