//! `serve --listen unix:/path` and `send --target unix:/path`.
#![cfg(unix)]

use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_wireforms"))
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A socket path of its own, removed (with the server) on drop.
struct Served {
    child: Child,
    path: PathBuf,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.path);
    }
}

fn socket_path(name: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    std::env::temp_dir().join(format!(
        "wireforms-cli-{name}-{}-{nanos}.sock",
        std::process::id()
    ))
}

fn serve(format: &str, path: PathBuf) -> Served {
    let child = bin()
        .args(["serve", "-f", format, "-l"])
        .arg(format!("unix:{}", path.display()))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let served = Served { child, path };
    let started = Instant::now();
    while UnixStream::connect(&served.path).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "server did not start"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    served
}

fn send(args: &[&str]) -> Output {
    let mut child = bin()
        .arg("send")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            panic!("send did not finish");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn serve_and_send_over_a_unix_socket() {
    let served = serve("request", socket_path("request"));
    let target = format!("unix:{}", served.path.display());
    let out = send(&[
        "-f",
        "request",
        "-t",
        &target,
        "1:UPPER:unix",
        "2:REVERSE:abc",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let s = text(&out.stdout);
    assert!(s.contains("data=\"UNIX\""), "{s}");
    assert!(s.contains("data=\"cba\""), "{s}");
}

#[test]
fn a_binary_format_over_a_unix_socket() {
    let served = serve("typed", socket_path("typed"));
    let target = format!("unix:{}", served.path.display());
    let out = send(&["-f", "typed", "-t", &target, "--json", "hello"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let s = text(&out.stdout);
    // The reference reply: the same payload, type + 1.
    assert!(s.contains("68656c6c6f"), "{s}");
}

#[test]
fn a_unix_path_in_use_is_a_clean_error() {
    let served = serve("typed", socket_path("busy"));
    let out = bin()
        .args(["serve", "-f", "typed", "-l"])
        .arg(format!("unix:{}", served.path.display()))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("cannot listen on unix:"), "{err}");
}
