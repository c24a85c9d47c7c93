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
    assert!(
        parts[2..]
            .iter()
            .all(|p| p.ends_with(" skipped") || p.ends_with(" unimplemented")),
        "{line}"
    );
    assert!(!text(&out.stdout).lines().any(|l| l.starts_with("FAIL")));
}

#[test]
fn passes_against_the_built_in_servers() {
    // A short idle timeout keeps the idle cases quick; with --prompt 500ms
    // they fail unless the built-in servers really are started with it.
    let out = run(&["conform", "--idle-timeout", "300ms", "--prompt", "500ms"]);
    assert_all_passed(&out);
    let s = text(&out.stdout);
    for id in [
        "typed/5.2/8",
        "magic/5.2/34",
        "frame/6/105",
        "mux/5.3/21",
        "reqres/6/101",
        "reqres/5.2/101",
        // The hostile-peer cases (spec/security.md), one of each section.
        "typed/8/101",
        "magic/8/101",
        "frame/8/201",
        "mux/8/202",
        "reqres/8/202",
        "typed/8/301",
        "mux/8/301",
        "frame/8/401",
        "reqres/8/402",
        "magic/8/501",
        "reqres/8/502",
        "typed/8/503",
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
    assert!(closing_line(&out).contains("unimplemented"));
    assert!(text(&out.stdout).contains("UNIMPL reqres/"));
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

    // Known gaps in --expect are reported as expected failures, not counted.
    let exclude = std::env::temp_dir().join(format!("wireforms-expect-{}", std::process::id()));
    std::fs::write(
        &exclude,
        "# known gaps\ntyped/5.2/101 waits for the payload\ntyped/5.2/102 answers it\n",
    )
    .unwrap();
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
        "--expect",
        exclude.to_str().unwrap(),
    ]);
    let _ = std::fs::remove_file(&exclude);
    let s = text(&out.stdout);
    assert!(
        s.contains("XFAIL typed/5.2/101") && s.contains("expected failure, waits for the payload"),
        "{s}"
    );
    assert!(closing_line(&out).ends_with(", 2 expected failures"), "{s}");
}

/// A magic server that does what the guide's does under abuse: it never
/// times out a peer, has no connection limit, and skips garbage to the next
/// magic instead of closing. Its replies are otherwise right.
fn lax_magic_server() -> String {
    const MAGIC: [u8; 4] = [0xde, 0xad, 0xbe, 0xef];
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            std::thread::spawn(move || {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    let n = match conn.read(&mut chunk) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => n,
                    };
                    buf.extend_from_slice(&chunk[..n]);
                    loop {
                        let Some(start) = buf.windows(4).position(|w| w == MAGIC) else {
                            buf.drain(..buf.len().saturating_sub(3));
                            break;
                        };
                        buf.drain(..start);
                        if buf.len() < 8 {
                            break;
                        }
                        let end = 8 + u16::from_be_bytes([buf[6], buf[7]]) as usize;
                        if buf.len() < end {
                            break;
                        }
                        let mut reply: Vec<u8> = buf.drain(..end).collect();
                        reply[4] = 1;
                        reply[5] = reply[5].wrapping_add(1);
                        if conn.write_all(&reply).is_err() {
                            return;
                        }
                    }
                }
            });
        }
    });
    addr
}

#[test]
fn a_lax_server_warns_and_fails_the_hostile_cases() {
    let addr = lax_magic_server();
    let base = [
        "conform",
        "-f",
        "magic",
        "-t",
        &addr,
        "--prompt",
        "300ms",
        "--timeout",
        "2s",
    ];
    let status = |s: &str, id: &str| {
        s.lines()
            .find(|l| l.split_whitespace().nth(1) == Some(id))
            .and_then(|l| l.split_whitespace().next())
            .unwrap_or("missing")
            .to_string()
    };

    // Without the expectations the idle and flood cases cannot be judged.
    let out = run(&[&base[..], &["--section", "magic/8"]].concat());
    let s = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{s}");
    for id in ["magic/8/101", "magic/8/201", "magic/8/202", "magic/8/301"] {
        assert_eq!(status(&s, id), "SKIP", "{id}\n{s}");
    }
    // Answers the packet after the garbage: a MUST broken.
    assert_eq!(status(&s, "magic/8/501"), "FAIL", "{s}");
    assert_eq!(status(&s, "magic/8/502"), "WARN", "{s}");
    // What it does right still passes.
    for id in ["magic/8/401", "magic/8/402", "magic/8/503"] {
        assert_eq!(status(&s, id), "PASS", "{id}\n{s}");
    }

    let expect = ["--idle-timeout", "300ms", "--max-connections", "4"];
    let out = run(&[
        &base[..],
        &expect,
        &["--section", "security/2", "--section", "security/3"],
    ]
    .concat());
    let s = text(&out.stdout);
    // SHOULD cases: warnings, so the run passes.
    assert_eq!(out.status.code(), Some(0), "{s}");
    for id in ["magic/8/201", "magic/8/202", "magic/8/301"] {
        assert_eq!(status(&s, id), "WARN", "{id}\n{s}");
    }
    assert!(
        s.contains("still open") && s.contains("bytes trickled"),
        "{s}"
    );
    assert!(s.contains("connection 5 (over the limit of 4)"), "{s}");

    let out = run(&[&base[..], &expect, &["--strict", "--case", "magic/8/201"]].concat());
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(status(&text(&out.stdout), "magic/8/201"), "FAIL");
}

#[test]
fn hostile_cases_listed_by_section() {
    let out = run(&["conform", "--list", "--section", "security/2"]);
    let s = text(&out.stdout);
    assert!(out.status.success(), "{s}");
    // Cases 201 and 202 of each of the five servers.
    assert!(s.ends_with("10 cases\n"), "{s}");
    assert!(s
        .lines()
        .filter(|l| !l.ends_with("cases"))
        .all(|l| l.contains("/8/20")));
    let out = run(&["conform", "--list", "--section", "typed/8"]);
    assert!(
        text(&out.stdout).ends_with("9 cases\n"),
        "{}",
        text(&out.stdout)
    );
}
