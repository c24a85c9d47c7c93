//! Limits given on the command line at their extremes: the tool neither
//! panics nor reserves memory for bytes that have not arrived.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod support;

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_wireforms")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Kills the child if the test fails before it ends.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn serve_with_the_largest_max_connections_serves() {
    let addr = format!("127.0.0.1:{}", free_port());
    let mut child = Child(
        Command::new(bin())
            .args(["serve", "-f", "request", "-l", &addr])
            .args(["--max-connections", "18446744073709551615"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let started = Instant::now();
    let mut stream = loop {
        if let Ok(s) = TcpStream::connect(&addr) {
            break s;
        }
        if let Ok(Some(status)) = child.0.try_wait() {
            let mut err = String::new();
            let _ = child.0.stderr.take().unwrap().read_to_string(&mut err);
            panic!("serve exited with {status}: {err}");
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "server did not start"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream.write_all(b"1:ECHO:hi\n").unwrap();
    let mut got = [0u8; 8];
    stream.read_exact(&mut got).unwrap();
    assert_eq!(&got, b"1:OK:hi\n");
    drop(stream);
    let pid = child.0.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let out = std::mem::replace(&mut child.0, Command::new("true").spawn().unwrap())
        .wait_with_output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{}: {err}", out.status);
    assert!(!err.contains("panicked"), "{err}");
}

/// Runs `wireforms decode` on `input` under an address-space limit of
/// `limit_mib`, so that reserving a declared length up front fails at once
/// instead of filling the machine's memory.
fn decode_within(limit_mib: u64, args: &[&str], input: &[u8]) -> std::process::Output {
    let script = format!("ulimit -v {} && exec \"$0\" \"$@\"", limit_mib * 1024);
    let mut command = Command::new("sh");
    command.args(["-c", &script, bin(), "decode"]).args(args);
    support::run_command(command, input)
}

#[test]
fn decode_with_a_4_gib_payload_limit_reserves_only_what_arrives() {
    // A frame header declaring 4,294,967,295 bytes, then 5 of them.
    let input = b"\xff\xff\xff\xffhello";
    let out = decode_within(
        256,
        &["--format", "frame", "--max-payload", "4294967295", "--json"],
        input,
    );
    let err = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        !err.contains("memory allocation") && out.status.code().is_some(),
        "{}: {err}",
        out.status
    );
    // The stream ends inside the frame: reported as incomplete.
    assert!(
        stdout.contains("incomplete") || err.contains("incomplete"),
        "{stdout} {err}"
    );
}
