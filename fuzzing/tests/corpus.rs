//! Replays the fuzz corpus through the fuzz targets' logic on stable Rust
//! (`wireforms-fuzzing`), so CI checks their invariants where libFuzzer is
//! not available:
//! - the seed corpus, generated here from `spec/vectors/*.json`;
//! - every file in `fuzz/regressions/<target>/` (inputs that once failed);
//! - a few scripted sessions and a bounded number of pseudo-random inputs.
//!
//! The seed generator: `WIREFORMS_WRITE_SEEDS=fuzz/corpus cargo test -p
//! wireforms-fuzzing --test corpus write_seed_corpora` writes the seeds to
//! `fuzz/corpus/<target>/`, where `cargo fuzz run` picks them up.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Once;

use serde_json::Value;
use wireforms_fuzzing::{
    self as fuzzing, CallOp, CallsScript, ClientScript, ClientStep, MuxScript, MuxStep,
};

fn root() -> &'static Path {
    // The repository root: this crate sits in `fuzzing/`.
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

const FORMATS: [&str; 6] = ["typed", "magic", "frame", "mux", "request", "response"];

thread_local! {
    /// Panics on this thread. The targets run their tasks on a
    /// current-thread runtime, that is on the test's own thread, so a
    /// test sees its own panics and no other test's.
    static PANICS: Cell<usize> = const { Cell::new(0) };
}

fn panics() -> usize {
    PANICS.with(Cell::get)
}

/// Counts panics, in tasks too: tokio catches a panic in a spawned task,
/// libFuzzer's hook aborts on it, and so must we fail.
fn count_panics() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            PANICS.with(|p| p.set(p.get() + 1));
            previous(info);
        }));
    });
}

/// Runs target `name` on `input`, naming the input if it fails.
fn replay(name: &str, label: &str, input: &[u8]) {
    count_panics();
    let target = fuzzing::target(name).unwrap_or_else(|| panic!("no fuzz target {name}"));
    let before = panics();
    let outcome = std::panic::catch_unwind(|| target(input));
    let panics = panics() - before;
    assert!(
        outcome.is_ok() && panics == 0,
        "fuzz target {name} failed on {label}: {input:02x?}"
    );
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

/// The inputs of every vector of `format`, by name.
fn vector_inputs(format: &str) -> Vec<(String, Vec<u8>)> {
    let path = root().join(format!("spec/vectors/{format}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    let file: Value = serde_json::from_str(&text).unwrap();
    let mut out = Vec::new();
    for group in file["testGroups"].as_array().unwrap() {
        for test in group["tests"].as_array().unwrap() {
            let id = test["tcId"].as_u64().unwrap();
            let input = unhex(test["input"].as_str().unwrap());
            out.push((format!("v{id:03}"), input));
        }
    }
    out
}

/// The seed corpus: target name → (file name, input).
fn seed_corpora() -> BTreeMap<String, Vec<(String, Vec<u8>)>> {
    let mut corpora: BTreeMap<String, Vec<(String, Vec<u8>)>> = BTreeMap::new();
    for format in FORMATS {
        let text = matches!(format, "request" | "response");
        for (name, input) in vector_inputs(format) {
            corpora
                .entry(format!("decode_{format}"))
                .or_default()
                .push((name.clone(), input.clone()));
            corpora.entry("ffi_decode".to_owned()).or_default().push((
                format!("{format}-{name}"),
                fuzzing::ffi::ffi_seed(format, &input),
            ));
            let codec = corpora.entry(format!("codec_{format}")).or_default();
            codec.push((
                format!("{name}-whole"),
                fuzzing::codec_seed(&input, &[], false),
            ));
            codec.push((
                format!("{name}-bytes"),
                fuzzing::codec_seed(&input, &[1], false),
            ));
            codec.push((
                format!("{name}-small"),
                fuzzing::codec_seed(&input, &[3, 0, 7], true),
            ));
            if text {
                let mut last = fuzzing::codec_seed(&input, &[2], false);
                last[0] |= 0x80;
                codec.push((format!("{name}-lastline"), last));
            }
        }
    }
    corpora
}

#[test]
fn targets_match_the_fuzz_directory() {
    let dir = root().join("fuzz/fuzz_targets");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| {
            let path = e.unwrap().path();
            path.file_stem().unwrap().to_string_lossy().into_owned()
        })
        .collect();
    files.sort();
    let mut names: Vec<String> = fuzzing::TARGETS
        .iter()
        .map(|(n, _)| n.to_string())
        .collect();
    names.sort();
    assert_eq!(files, names);
    let manifest = std::fs::read_to_string(root().join("fuzz/Cargo.toml")).unwrap();
    for name in names {
        assert!(
            manifest.contains(&format!("name = \"{name}\"")),
            "{name} not in fuzz/Cargo.toml"
        );
    }
}

#[test]
fn seed_corpora_from_the_vectors() {
    let corpora = seed_corpora();
    assert_eq!(corpora.len(), 13);
    for (target, seeds) in &corpora {
        assert!(!seeds.is_empty());
        for (name, input) in seeds {
            replay(target, name, input);
        }
    }
}

/// Writes the seed corpora to `$WIREFORMS_WRITE_SEEDS/<target>/` when that
/// variable is set (see the file's docs); does nothing otherwise.
#[test]
fn write_seed_corpora() {
    let Some(dir) = std::env::var_os("WIREFORMS_WRITE_SEEDS") else {
        return;
    };
    let dir = PathBuf::from(dir);
    for (target, seeds) in seed_corpora() {
        let target_dir = dir.join(&target);
        std::fs::create_dir_all(&target_dir).unwrap();
        for (name, input) in seeds {
            std::fs::write(target_dir.join(name), input).unwrap();
        }
    }
}

#[test]
fn regressions() {
    let dir = root().join("fuzz/regressions");
    let Ok(targets) = std::fs::read_dir(&dir) else {
        return;
    };
    for target in targets {
        let target = target.unwrap().path();
        if !target.is_dir() {
            continue;
        }
        let name = target.file_name().unwrap().to_string_lossy().into_owned();
        for file in std::fs::read_dir(&target).unwrap() {
            let file = file.unwrap().path();
            let input = std::fs::read(&file).unwrap();
            replay(&name, &file.display().to_string(), &input);
        }
    }
}

/// A small deterministic generator (xorshift), so that every target also
/// sees inputs no vector has.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn bytes(&mut self, seeds: &[Vec<u8>]) -> Vec<u8> {
        let len = (self.next() % 96) as usize;
        let mut out: Vec<u8> = match seeds.len() {
            0 => Vec::new(),
            n => seeds[(self.next() % n as u64) as usize].clone(),
        };
        for _ in 0..len {
            let b = self.next() as u8;
            match self.next() % 4 {
                0 if !out.is_empty() => {
                    let at = (self.next() % out.len() as u64) as usize;
                    out[at] = b;
                }
                1 => out.push(b':'),
                2 => out.push(b'\n'),
                _ => out.push(b),
            }
        }
        out
    }
}

#[test]
fn pseudo_random_inputs() {
    let corpora = seed_corpora();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for (name, _) in fuzzing::TARGETS {
        let seeds: Vec<Vec<u8>> = corpora
            .get(*name)
            .map(|s| s.iter().map(|(_, i)| i.clone()).collect())
            .unwrap_or_default();
        let runs = if name.starts_with("mux_") || name.starts_with("reqres_") {
            60
        } else {
            300
        };
        for i in 0..runs {
            let input = rng.bytes(&seeds);
            replay(name, &format!("random input {i}"), &input);
        }
    }
}

#[test]
fn scripted_mux_session() {
    count_panics();
    let payload = |n: usize| (0..n).map(|i| i as u8).collect::<Vec<u8>>();
    let script = MuxScript {
        pipe: 512,
        channel_queue: 1,
        max_channels: 4,
        accept_backlog: 1,
        write_queue: 2,
        small_limit: None,
        steps: vec![
            MuxStep::Open(1),
            MuxStep::Send {
                handle: 0,
                payload: payload(10),
            },
            MuxStep::SendLarge {
                handle: 0,
                len: 70_000,
            },
            MuxStep::PeerRead(4096),
            MuxStep::PeerFrame {
                channel: 1,
                payload: payload(5),
            },
            MuxStep::PeerFrame {
                channel: 1,
                payload: payload(6),
            },
            MuxStep::PeerFrame {
                channel: 2,
                payload: payload(7),
            },
            MuxStep::PeerFrame {
                channel: 255,
                payload: vec![],
            },
            MuxStep::Recv { handle: 0 },
            MuxStep::Accept,
            MuxStep::Recv { handle: 1 },
            MuxStep::Drop { handle: 0 },
            MuxStep::PeerFrame {
                channel: 1,
                payload: payload(8),
            },
            MuxStep::PeerLargeFrame {
                channel: 3,
                len: 65_535,
            },
            MuxStep::Close { handle: 0 },
            MuxStep::PeerBytes(vec![0, 9, 0xff, 0xff]),
            MuxStep::Sleep(500),
            MuxStep::Recv { handle: 0 },
            MuxStep::PeerShutdown,
            MuxStep::DropSession,
        ],
    };
    let report = fuzzing::mux_session::mux_session(&script);
    eprintln!("{report:?}");
    // 10 bytes, then 70,000 in two frames; six frames in from the peer
    // (the last four bytes are a header without its payload).
    assert_eq!(report.frames_written, 3);
    assert_eq!(report.frames_sent, 6);
    assert!(report.received >= 2, "{report:?}");
    let with_limit = MuxScript {
        small_limit: Some(4),
        ..script
    };
    let report = fuzzing::mux_session::mux_session(&with_limit);
    eprintln!("{report:?}");
    assert_eq!(report.frames_sent, 0, "the first frame is over the limit");
    assert_eq!(panics(), 0);
}

#[test]
fn scripted_reqres_client() {
    count_panics();
    let call = |c: &str, a: &str| ClientStep::Call {
        command: c.into(),
        args: a.into(),
    };
    let script = ClientScript {
        pipe: 64,
        call_timeout_ms: 1000,
        write_queue: 1,
        small_limit: None,
        max_pending: None,
        steps: vec![
            call("ECHO", "hello"),
            call("UPPER", "a:b"),
            call("BAD:CMD", "x"),
            call("ECHO", "line\nbreak"),
            ClientStep::PeerRead(1024),
            ClientStep::Answer {
                request: 1,
                data: "A:B".into(),
            },
            ClientStep::Answer {
                request: 0,
                data: "hello".into(),
            },
            ClientStep::AnswerId {
                id: 99,
                status: "OK".into(),
                data: "late".into(),
            },
            ClientStep::Answer {
                request: 0,
                data: "duplicate".into(),
            },
            call("REVERSE", "abc"),
            ClientStep::Sleep(2000),
            call("ECHO", "never answered"),
            ClientStep::PeerRead(1024),
            ClientStep::PeerBytes(b"garbage without separators\n".to_vec()),
            call("ECHO", "after the failure"),
            ClientStep::DropClient,
        ],
    };
    let report = fuzzing::reqres_client::reqres_client(&script);
    eprintln!("{report:?}");
    assert_eq!(report.answered, 2, "{report:?}");
    assert_eq!(report.invalid, 2, "{report:?}");
    assert_eq!(report.timed_out + report.closed, 3, "{report:?}");
    let with_limit = ClientScript {
        small_limit: Some(8),
        ..script.clone()
    };
    let report = fuzzing::reqres_client::reqres_client(&with_limit);
    eprintln!("{report:?}");
    assert_eq!(report.answered, 0, "every answer is over the line limit");
    let peer_closes = ClientScript {
        steps: vec![
            call("ECHO", "x"),
            ClientStep::PeerShutdown,
            call("ECHO", "y"),
        ],
        ..script
    };
    let report = fuzzing::reqres_client::reqres_client(&peer_closes);
    assert_eq!(report.closed, 2, "{report:?}");
    assert_eq!(panics(), 0);
}

/// Found by `reqres_client` (fuzz/regressions/reqres_client/
/// answer-before-request-written), reduced by hand: the peer answers an ID
/// whose request is still queued behind a full pipe. The client's reader
/// matches it to the pending call and counts it answered, but the call,
/// still waiting for the writer, then fails with `timeout`: the caller
/// never gets the answer that was counted (then `Client::call`'s `Err(_)`
/// arm of its `timeout`; now the call table, `src/session/calls.rs`,
/// decides each call's one outcome).
#[test]
fn regression_answer_to_a_request_not_yet_written() {
    count_panics();
    let call = |c: &str| ClientStep::Call {
        command: c.into(),
        args: String::new(),
    };
    let script = ClientScript {
        pipe: 1,
        call_timeout_ms: 1000,
        write_queue: 1,
        small_limit: None,
        max_pending: None,
        steps: vec![
            call("A"),
            call("B"),
            call("C"),
            // The peer reads nothing: call 3 is still queued when its
            // answer arrives.
            ClientStep::AnswerId {
                id: 3,
                status: "OK".into(),
                data: "guessed".into(),
            },
        ],
    };
    let report = fuzzing::reqres_client::reqres_client(&script);
    assert_eq!(report.answered, 1, "{report:?}");
}

#[test]
fn scripted_reqres_client_aborts_and_the_pending_cap() {
    count_panics();
    let call = |a: &str| ClientStep::Call {
        command: "ECHO".into(),
        args: a.into(),
    };
    let script = ClientScript {
        pipe: 1024,
        call_timeout_ms: 1000,
        write_queue: 4,
        small_limit: None,
        // A cap of two pending calls.
        max_pending: Some(2),
        steps: vec![
            call("a"),
            call("b"),
            call("refused"),
            ClientStep::Abort(0),
            ClientStep::PeerRead(1024),
            // Call 1 was cancelled: its answer is unknown.
            ClientStep::Answer {
                request: 0,
                data: "a".into(),
            },
            ClientStep::Answer {
                request: 1,
                data: "b".into(),
            },
            ClientStep::AnswerId {
                id: 7,
                status: "OK".into(),
                data: "nobody's".into(),
            },
        ],
    };
    let report = fuzzing::reqres_client::reqres_client(&script);
    let expected = fuzzing::reqres_client::ClientReport {
        answered: 1,
        limit_reached: 1,
        aborted: 1,
        unknown_responses: 2,
        ..Default::default()
    };
    assert_eq!(report, expected);
    assert_eq!(panics(), 0);
}

#[test]
fn scripted_calls_core() {
    use fuzzing::calls_core::{ResponseId, Target};
    let script = CallsScript {
        max_pending: 3,
        ops: vec![
            CallOp::Register(10),
            CallOp::Register(20),
            CallOp::Register(5),
            CallOp::Register(5), // over the cap
            CallOp::Respond(ResponseId::Zeros(Target::Issued(0), 1)),
            CallOp::Respond(ResponseId::Plus(Target::Issued(0))),
            CallOp::Respond(ResponseId::Exact(Target::Issued(0))),
            CallOp::Respond(ResponseId::Exact(Target::Issued(0))), // repeated
            CallOp::Pass(100),
            CallOp::Respond(ResponseId::Exact(Target::Issued(2))), // due, not told
            CallOp::Advance(0),                                    // call 2 times out
            CallOp::Cancel(Target::Issued(1)),                     // already ended
            CallOp::Register(1),
            CallOp::Close(0),
            CallOp::Register(1), // closed
            CallOp::Fail(Target::Raw(4)),
        ],
    };
    let report = fuzzing::calls_core::calls_core(&script);
    let expected = fuzzing::calls_core::CallsReport {
        calls: 4,
        answered: 2,
        timed_out: 1,
        refused: 2,
    };
    assert_eq!(report, expected);
}

/// A step for [`threaded_reqres_client`], every kind drawn.
fn random_client_step(rng: &mut Rng) -> ClientStep {
    match rng.next() % 12 {
        0..=3 => ClientStep::Call {
            command: ["ECHO", "UPPER", "BAD:CMD"][(rng.next() % 3) as usize].into(),
            args: format!("a{}", rng.next() % 1000),
        },
        4 | 5 => ClientStep::PeerRead(rng.next() as u16),
        6 => ClientStep::Answer {
            request: rng.next() as u8,
            data: "answer".into(),
        },
        7 => ClientStep::AnswerId {
            id: (rng.next() % 12) as u8,
            status: "OK".into(),
            data: "guessed".into(),
        },
        8 => ClientStep::Sleep((rng.next() % 10) as u16),
        9 => ClientStep::Abort(rng.next() as u8),
        10 => match rng.next() % 8 {
            0 => ClientStep::PeerShutdown,
            1 => ClientStep::PeerBytes(b"no separators\n".to_vec()),
            2 => ClientStep::DropClient,
            _ => ClientStep::PeerRead(1 << 12),
        },
        _ => ClientStep::PeerBytes(format!("{}:OK:raw\n", rng.next() % 12).into_bytes()),
    }
}

/// The client's checks on a multi-thread runtime in real time (reader,
/// writer and callers in parallel), over pseudo-random scripts.
#[test]
fn threaded_reqres_client() {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let mut total = fuzzing::reqres_client::ClientReport::default();
    for _ in 0..16 {
        let steps = (0..8 + rng.next() % 40)
            .map(|_| random_client_step(&mut rng))
            .collect();
        let script = ClientScript {
            pipe: 16 + (rng.next() % 512) as u16,
            call_timeout_ms: rng.next() as u16,
            write_queue: rng.next() as u8,
            small_limit: (rng.next() % 4 == 0).then(|| 8 + (rng.next() % 32) as u8),
            max_pending: (rng.next() % 3 == 0).then(|| rng.next() as u8),
            steps,
        };
        let r = fuzzing::reqres_client::reqres_client_threaded(&script);
        total.answered += r.answered;
        total.timed_out += r.timed_out;
        total.closed += r.closed;
        total.aborted += r.aborted;
        total.unknown_responses += r.unknown_responses;
    }
    eprintln!("{total:?}");
    assert!(total.answered > 0 && total.timed_out > 0, "{total:?}");
}
