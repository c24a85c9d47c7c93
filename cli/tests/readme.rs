//! The transcripts in `cli/README.md` are real runs: each block marked
//! `<!-- transcript -->` is run again, command by command, and must show
//! what the README shows. `cli/tools/transcripts.sh` regenerates them
//! (`WIREFORMS_BLESS=1`); this test fails when they drift.
//!
//! Commands run under `sh` in an empty temporary directory, with this
//! build's `wireforms` first on `PATH`, standard error merged into standard
//! output as a terminal shows both. The README's addresses are fixed
//! names for servers the test starts on ephemeral ports:
//! `127.0.0.1:9000` a request server (`--idle-timeout 5s`), `127.0.0.1:9001`
//! a typed server, `127.0.0.1:9009` a port nothing listens on.

use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const MARK: &str = "<!-- transcript -->";

fn readme() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `wireforms serve ARGS --listen 127.0.0.1:0`; its bound address.
fn serve(args: &[&str]) -> (Server, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_wireforms"))
        .arg("serve")
        .args(args)
        .args(["--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("serve printed no address");
    (Server(child), line.trim().to_string())
}

/// The README's names for addresses, and the real ones of this run.
struct Addresses {
    pairs: Vec<(&'static str, String)>,
    _servers: Vec<Server>,
}

impl Addresses {
    fn start() -> Addresses {
        let (request, request_addr) = serve(&["--format", "request", "--idle-timeout", "5s"]);
        let (typed, typed_addr) = serve(&["--format", "typed"]);
        let nobody = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .to_string();
        Addresses {
            pairs: vec![
                ("127.0.0.1:9000", request_addr),
                ("127.0.0.1:9001", typed_addr),
                ("127.0.0.1:9009", nobody),
            ],
            _servers: vec![request, typed],
        }
    }

    fn to_real(&self, text: &str) -> String {
        self.pairs
            .iter()
            .fold(text.to_string(), |t, (name, real)| t.replace(name, real))
    }

    fn to_names(&self, text: &str) -> String {
        self.pairs
            .iter()
            .fold(text.to_string(), |t, (name, real)| t.replace(real, name))
    }
}

/// Runs one transcript command; what a terminal would show.
fn run(command: &str, dir: &Path, addrs: &Addresses) -> String {
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_wireforms")).parent().unwrap();
    let path = std::env::join_paths(std::iter::once(bin_dir.to_path_buf()).chain(
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
    ))
    .unwrap();
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(format!("exec 2>&1; {}", addrs.to_real(command)))
        .current_dir(dir)
        .env("PATH", path)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut out = Vec::new();
        let _ = stdout.read_to_end(&mut out);
        out
    });
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(300) {
            let _ = child.kill();
            panic!("`{command}` did not finish within 300 s");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let out = String::from_utf8_lossy(&reader.join().unwrap()).into_owned();
    normalise(&addrs.to_names(&out))
}

/// What changes from run to run: log timestamps become
/// `2026-01-01T00:00:00.000000Z`, ephemeral loopback ports `PORT`.
fn normalise(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let line = match line.split_once("Z  ") {
            Some((stamp, rest)) if is_timestamp(stamp) => {
                format!("2026-01-01T00:00:00.000000Z  {rest}")
            }
            _ => line.to_string(),
        };
        out.push_str(&ephemeral_ports(&line));
    }
    out
}

/// `2026-12-01T10:20:17.793488` (the `Z` split off).
fn is_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() > 20
        && b[4] == b'-'
        && b[10] == b'T'
        && b[19] == b'.'
        && s.bytes()
            .all(|c| c.is_ascii_digit() || matches!(c, b'-' | b'T' | b':' | b'.'))
}

/// `127.0.0.1:N` with N five digits and not one of the README's names
/// (`9000`, `9001`, `9009`) becomes `127.0.0.1:PORT`.
fn ephemeral_ports(line: &str) -> String {
    const HOST: &str = "127.0.0.1:";
    let mut out = String::new();
    let mut rest = line;
    while let Some(at) = rest.find(HOST) {
        let (before, after) = rest.split_at(at + HOST.len());
        out.push_str(before);
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        let port = &after[..digits];
        if digits == 5 {
            out.push_str("PORT");
        } else {
            out.push_str(port);
        }
        rest = &after[digits..];
    }
    out.push_str(rest);
    out
}

#[test]
fn normalising_keeps_the_named_addresses() {
    assert_eq!(
        normalise(
            "2026-12-01T10:20:17.793488Z  INFO listening addr=127.0.0.1:37701\n127.0.0.1:9000\n"
        ),
        "2026-01-01T00:00:00.000000Z  INFO listening addr=127.0.0.1:PORT\n127.0.0.1:9000\n"
    );
}

/// The README with every transcript block run again.
fn regenerate(readme: &str) -> String {
    let dir = std::env::temp_dir().join(format!("wireforms-readme-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let addrs = Addresses::start();
    let mut out = String::new();
    let mut lines = readme.lines();
    while let Some(line) = lines.next() {
        out.push_str(line);
        out.push('\n');
        if line.trim() != MARK {
            continue;
        }
        let fence = lines.next().expect("a fenced block after the mark");
        assert!(fence.starts_with("```"), "{MARK} must precede a fence");
        out.push_str(fence);
        out.push('\n');
        for line in lines.by_ref() {
            if line.starts_with("```") {
                out.push_str(line);
                out.push('\n');
                break;
            }
            if let Some(command) = line.strip_prefix("$ ") {
                out.push_str(line);
                out.push('\n');
                out.push_str(&run(command, &dir, &addrs));
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    out
}

#[test]
fn readme_transcripts_are_what_the_tool_prints() {
    let path = readme();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.contains(MARK),
        "no transcript blocks in {}",
        path.display()
    );
    let fresh = regenerate(&text);
    if std::env::var_os("WIREFORMS_BLESS").is_some() {
        std::fs::write(&path, &fresh).unwrap();
        return;
    }
    if fresh != text {
        let first = text
            .lines()
            .zip(fresh.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(text.lines().count().min(fresh.lines().count()));
        let show = |t: &str| t.lines().skip(first).take(6).collect::<Vec<_>>().join("\n");
        panic!(
            "cli/README.md transcripts drifted at line {} (run cli/tools/transcripts.sh)\n\
             README:\n{}\n\nthe tool now:\n{}",
            first + 1,
            show(&text),
            show(&fresh)
        );
    }
}

/// The root README quotes lines of a `conform` run: each must be a line of
/// the full run transcribed in `cli/README.md` (itself checked above), so
/// `cargo run --release -- conform` prints what the README shows.
#[test]
fn root_readme_quotes_the_conform_run() {
    let cli = std::fs::read_to_string(readme()).unwrap();
    let run = cli
        .split("$ wireforms conform\n")
        .nth(1)
        .expect("cli/README.md transcribes `wireforms conform`");
    let run: Vec<&str> = run.lines().take_while(|l| !l.starts_with("```")).collect();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md");
    let root = std::fs::read_to_string(root).unwrap();
    let quoted: Vec<&str> = root
        .lines()
        .filter(|l| l.starts_with("PASS ") || l.contains(" passed, "))
        .collect();
    assert!(quoted.len() >= 3, "the root README quotes no conform run");
    for line in quoted {
        assert!(
            run.contains(&line),
            "README.md quotes a line the run does not print: {line}"
        );
    }
}
