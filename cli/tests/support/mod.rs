//! Running the `wireforms` binary from the CLI's integration tests, as a
//! user runs it, bounded in time.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The longest any one command of the tests may run before it is killed.
pub const COMMAND_LIMIT: Duration = Duration::from_secs(60);

/// The binary under test.
pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_wireforms"))
}

/// Runs `wireforms args` with `stdin`, bounded by [`COMMAND_LIMIT`].
pub fn run(args: &[&str], stdin: &[u8]) -> Output {
    let mut command = bin();
    command.args(args);
    run_command(command, stdin)
}

/// Runs `command` with `stdin` piped in and its output collected, bounded by
/// [`COMMAND_LIMIT`].
pub fn run_command(mut command: Command, stdin: &[u8]) -> Output {
    let mut child = command
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
    let out = wait_bounded(child, COMMAND_LIMIT);
    writer.join().unwrap();
    out
}

/// Waits for `child`, collecting its output; kills it and fails the test
/// after `limit`.
pub fn wait_bounded(mut child: Child, limit: Duration) -> Output {
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

/// Bytes as text, lossily.
pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}
