//! Runs every example in `examples/` to completion, with a time bound, and
//! checks its exit status and one line of its output.
//!
//! `cargo test` builds the examples before it runs the tests, so this uses
//! those binaries (`target/<profile>/examples/<name>`) rather than invoking
//! cargo again (the running `cargo test` holds the build directory lock).

use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Each example must finish within this.
const BOUND: Duration = Duration::from_secs(30);
/// Examples run at once (most of their time is spent waiting on timers).
const PARALLEL: usize = 6;

/// Example name and a line its output must contain (alternatives separated
/// by `|`, for demos whose outcome depends on the machine).
const EXAMPLES: &[(&str, &str)] = &[
    ("tcp_basic", "Received: Message received"),
    (
        "tcp_multi_client",
        "carol got: Echo from server: hello 2 from carol",
    ),
    ("timeouts", "Server timeouts: 1"),
    ("udp_basic", "Server answered 1 and rejected 1"),
    ("tcp_pool", "Worker 9 received: REQUEST FROM WORKER 9"),
    ("tcp_keepalive", "Client keep-alive: on=true"),
    (
        "graceful_shutdown",
        "Server stopped: 1 connections, 1 messages",
    ),
    ("buffered_io", "Client received: Echo: third line"),
    (
        "binary_protocol",
        "Received: Type=2, Payload=Binary message data",
    ),
    (
        "stream_chunking",
        "Server received 5000 bytes total in 5 chunks",
    ),
    (
        "connection_state",
        "alice > WHO          < Online: bob, alice",
    ),
    (
        "udp_broadcast",
        "Receiver 2 got 3 of 3|not delivered on this machine",
    ),
    (
        "udp_multicast",
        "Receiver 2 got 5 of 5|nothing to show|not delivered on this machine",
    ),
    ("select_timeout", "Client received: bye: idle timeout"),
    (
        "request_response",
        "UPPER:make this uppercase => 2:OK:MAKE THIS UPPERCASE",
    ),
    (
        "pipeline",
        "Input: \"network pipeline\" => Output: PIPELINE NETWORK",
    ),
    ("half_duplex", "Received: ACK: Message 3"),
    (
        "full_duplex",
        "Client received 5 messages, server received 5",
    ),
    (
        "custom_header",
        "Response: version=1 type=2 payload=Custom protocol message",
    ),
    ("multiplexing", "Channel 2: Echo 2: Message on channel 2"),
    ("rate_limit", "server received 15"),
    ("health_check", "Connection unhealthy: no PONG within 150ms"),
    (
        "zero_copy",
        "Through the proxy: sent 262144, echoed 262144, identical: true",
    ),
    ("socket_options", "client: TCP_NODELAY=true"),
    ("scatter_gather", "body \"Echo: First Second Third\""),
    (
        "bandwidth",
        "Client wrote 102400 bytes, server read 102400 bytes",
    ),
    ("backpressure", "Server received 64 records (262144 bytes)"),
    ("custom_framing", "Received: SECOND FRAME WITH MORE DATA"),
    (
        "async_server",
        "bob > WHOAMI    < bob, request 5 on connection 2",
    ),
    (
        "tower_client",
        "20 calls answered, at most 4 at once at the server",
    ),
];

fn examples_dir() -> PathBuf {
    // This test runs as target/<profile>/deps/examples-<hash>.
    let exe = std::env::current_exe().expect("test executable path");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile> directory");
    profile_dir.join("examples")
}

/// Runs one example; `Err` says what went wrong.
fn run(name: &str, expected: &str) -> Result<Duration, String> {
    let path = examples_dir().join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    if !path.exists() {
        return Err(format!(
            "{} not built: run plain `cargo test` (it builds the examples) or `cargo build --examples` first",
            path.display()
        ));
    }
    let start = Instant::now();
    let mut child = Command::new(&path)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", path.display()))?;
    // Read the pipes on threads so a chatty example cannot block on them.
    let mut stdout = child.stdout.take().expect("piped stdout");
    let mut stderr = child.stderr.take().expect("piped stderr");
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            break status;
        }
        if start.elapsed() > BOUND {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("did not finish within {BOUND:?}"));
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let elapsed = start.elapsed();
    let stdout = out.join().unwrap_or_default();
    let stderr = err.join().unwrap_or_default();
    if !status.success() {
        return Err(format!(
            "exited with {status}\n--- stdout\n{stdout}--- stderr\n{stderr}"
        ));
    }
    if !expected.split('|').any(|line| stdout.contains(line)) {
        return Err(format!(
            "output lacks {expected:?}\n--- stdout\n{stdout}--- stderr\n{stderr}"
        ));
    }
    Ok(elapsed)
}

#[test]
fn every_example_is_listed() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .expect("examples directory")
        .filter_map(|entry| {
            let name = entry.ok()?.file_name().into_string().ok()?;
            name.strip_suffix(".rs").map(str::to_owned)
        })
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = EXAMPLES.iter().map(|(n, _)| (*n).to_owned()).collect();
    listed.sort();
    assert_eq!(on_disk, listed, "tests/examples.rs must list every example");
}

#[test]
fn every_example_runs_to_completion() {
    let queue = Arc::new(Mutex::new(EXAMPLES.iter()));
    let failures = Arc::new(Mutex::new(Vec::new()));
    let workers: Vec<_> = (0..PARALLEL)
        .map(|_| {
            let queue = queue.clone();
            let failures = failures.clone();
            std::thread::spawn(move || loop {
                let Some(&(name, expected)) = queue.lock().unwrap().next() else {
                    break;
                };
                match run(name, expected) {
                    Ok(took) => eprintln!("example {name}: ok in {took:?}"),
                    Err(why) => failures.lock().unwrap().push(format!("{name}: {why}")),
                }
            })
        })
        .collect();
    for worker in workers {
        worker.join().expect("worker thread");
    }
    let failures = failures.lock().unwrap();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
