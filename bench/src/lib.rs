//! End-to-end loopback benchmarks of wireforms against the peers a user
//! would otherwise reach for: tokio-util's `Framed<LengthDelimitedCodec>`
//! and yamux, measured in the same run so that the ratios mean something.
//!
//! In the streaming scenarios our sender is the library's zero-copy writer
//! (`transport::write_batch::WriteBatch`, written out at the same 8 KiB
//! point where `FramedWrite` flushes) and our receiver is
//! `FramedRead<WireCodec<F>>`; the peer's are `FramedWrite` and `FramedRead`
//! over a `LengthDelimitedCodec` configured for the same bytes.
//!
//! Every scenario runs its client and its server on two tokio runtimes on
//! two OS threads, joined by one loopback TCP connection, so the figures
//! resemble two programs rather than two tasks sharing a scheduler. Absolute
//! figures depend on the machine; only the ratios travel.
//!
//! The command-line tool's `wireforms bench [--quick] [--json]` is a thin
//! call of [`run`], [`render_table`] and [`render_json`]:
//!
//! ```no_run
//! use wireforms_bench::{render_table, run, BenchOptions};
//!
//! let results = run(&BenchOptions { quick: true, ..Default::default() }, &mut |p| {
//!     eprintln!("[{}/{}] {} ({})", p.step, p.steps, p.scenario, p.side)
//! });
//! print!("{}", render_table(&results));
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::fmt::Write as _;
use std::time::Duration;

use bytes::Bytes;
use serde::Serialize;
use wireforms::frame::{Frame, LengthFrameBuf};
use wireforms::magic::{Magic, PacketBuf, PacketType};
use wireforms::mux::{ChannelId, Mux, MuxFrameBuf};
use wireforms::reqres::{RequestBuf, RequestLine};
use wireforms::transport::codec::{FrameCodec, MagicCodec, TypedCodec};
use wireforms::typed::{MessageType, Typed, TypedMessageBuf};
use wireforms::WireFormat;

pub mod harness;
pub mod inmemory;
pub mod peers;
pub mod scenarios;

use harness::Received;
use scenarios::payload;

/// What to run.
#[derive(Clone, Debug, Default)]
pub struct BenchOptions {
    /// Short measurements: the whole run takes under a minute.
    pub quick: bool,
    /// How long each side of each scenario sends; overrides `quick`
    /// (default: 1 s quick, 3 s otherwise).
    pub measure: Option<Duration>,
    /// Run only the scenarios whose id contains this (the raw TCP ceiling
    /// always runs: the other figures are compared with it).
    pub only: Option<String>,
}

impl BenchOptions {
    fn measure(&self) -> Duration {
        self.measure.unwrap_or(if self.quick {
            Duration::from_millis(1000)
        } else {
            Duration::from_secs(3)
        })
    }

    /// Each in-memory scenario, both sides together (alternated): far less
    /// than a loopback side, since a pass takes well under a millisecond.
    fn in_memory(&self) -> Duration {
        match self.measure {
            Some(d) => d,
            None if self.quick => Duration::from_millis(400),
            None => Duration::from_millis(1200),
        }
    }
}

/// One step of a run, for a progress display.
#[derive(Clone, Copy, Debug)]
pub struct Progress<'a> {
    /// This step, from 1.
    pub step: usize,
    /// Steps in the run.
    pub steps: usize,
    /// The scenario's id.
    pub scenario: &'a str,
    /// Which side is being measured: `wireforms` or the baseline's name.
    pub side: &'a str,
}

/// The result of one scenario.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ScenarioResult {
    /// Short stable id, e.g. `frame-64k` or `codec/typed/decode/16`.
    pub id: String,
    /// What was measured.
    pub title: String,
    /// Unit of `ours` and `baseline`: `MB/s` (10^6 payload bytes a second),
    /// `msg/s` or `calls/s`.
    pub unit: &'static str,
    /// The wireforms figure.
    pub ours: f64,
    /// What it is compared with, measured in the same run.
    pub baseline_name: Option<&'static str>,
    /// The baseline's figure.
    pub baseline: Option<f64>,
    /// `ours / baseline`.
    pub ratio: Option<f64>,
    /// Payload throughput as a fraction of the raw TCP copy of this run.
    pub vs_raw_tcp: Option<f64>,
    /// The issue's target for this scenario, in words.
    pub target: Option<&'static str>,
    /// Whether the target was met.
    pub met: Option<bool>,
}

struct Target {
    text: &'static str,
    min_ratio: Option<f64>,
    min_vs_raw: Option<f64>,
}

enum Unit {
    Bytes,
    Messages,
    Calls,
}

/// How a scenario measures.
enum Measure {
    /// Two programs over loopback TCP: ours, then the baseline, each for
    /// the run's measuring time.
    Loopback {
        ours: Box<dyn Fn(Duration) -> Received>,
        baseline: Option<Box<dyn Fn(Duration) -> Received>>,
    },
    /// In memory, both sides alternated on one thread (`inmemory`); the
    /// figures are messages per second.
    InMemory(Box<dyn Fn(Duration) -> inmemory::Pair>),
}

struct Scenario {
    id: String,
    title: String,
    unit: Unit,
    baseline_name: Option<&'static str>,
    target: Option<Target>,
    measure: Measure,
}

impl Scenario {
    fn loopback(
        id: &str,
        title: &str,
        unit: Unit,
        baseline_name: Option<&'static str>,
        target: Option<Target>,
        ours: impl Fn(Duration) -> Received + 'static,
        baseline: Option<Box<dyn Fn(Duration) -> Received>>,
    ) -> Scenario {
        Scenario {
            id: id.into(),
            title: title.into(),
            unit,
            baseline_name,
            target,
            measure: Measure::Loopback {
                ours: Box::new(ours),
                baseline,
            },
        }
    }

    fn sides(&self) -> usize {
        match &self.measure {
            Measure::Loopback { baseline, .. } => 1 + usize::from(baseline.is_some()),
            Measure::InMemory(_) => 1,
        }
    }
}

use inmemory::prefixed;

fn frames_ours(d: Duration, len: usize) -> Received {
    let p = payload(len);
    scenarios::stream_batched(
        d,
        move || LengthFrameBuf::new(p.clone()),
        FrameCodec::default(),
        |m| m.payload.len(),
    )
}

fn frames_peer(d: Duration, len: usize) -> Received {
    let p = payload(len);
    scenarios::stream(
        d,
        peers::frame(),
        move || p.clone(),
        peers::frame(),
        |f| f.len(),
    )
}

const TYPED_LEN: usize = 4096;
const MAGIC_LEN: usize = 4096;
const MUX_WRITE: usize = 64 * 1024;

fn target(text: &'static str, min_ratio: f64) -> Option<Target> {
    Some(Target {
        text,
        min_ratio: Some(min_ratio),
        min_vs_raw: None,
    })
}

const LDC: Option<&str> = Some("LengthDelimitedCodec");
const LINES: Option<&str> = Some("LinesCodec");

fn loopback_list() -> Vec<Scenario> {
    vec![
        Scenario::loopback(
            "raw-tcp",
            "raw TCP copy, 64 KiB writes (the ceiling, best of 2)",
            Unit::Bytes,
            None,
            None,
            scenarios::raw_tcp,
            None,
        ),
        Scenario::loopback(
            "frame-64",
            "length frames, 64 B payloads",
            Unit::Messages,
            Some("Framed<LengthDelimitedCodec>"),
            target(">= 1.5x peer", 1.5),
            |d| frames_ours(d, 64),
            Some(Box::new(|d| frames_peer(d, 64))),
        ),
        Scenario::loopback(
            "frame-64-batch",
            "length frames, 64 B payloads, batch reader + WriteBatch",
            Unit::Messages,
            Some("Framed<LengthDelimitedCodec>"),
            target(">= 2x peer", 2.0),
            |d| {
                let p = payload(64);
                scenarios::stream_into_batches::<Frame, _>(d, move || {
                    LengthFrameBuf::new(p.clone())
                })
            },
            Some(Box::new(|d| frames_peer(d, 64))),
        ),
        Scenario::loopback(
            "frame-64k",
            "length frames, 64 KiB payloads",
            Unit::Bytes,
            Some("Framed<LengthDelimitedCodec>"),
            Some(Target {
                text: ">= 0.85x raw TCP",
                min_ratio: None,
                min_vs_raw: Some(0.85),
            }),
            |d| frames_ours(d, 64 * 1024),
            Some(Box::new(|d| frames_peer(d, 64 * 1024))),
        ),
        Scenario::loopback(
            "typed-4k",
            "typed messages, 4 KiB payloads",
            Unit::Bytes,
            Some("Framed<LengthDelimitedCodec>"),
            None,
            |d| {
                let p = payload(TYPED_LEN);
                scenarios::stream_batched(
                    d,
                    move || TypedMessageBuf::new(MessageType(1), p.clone()),
                    TypedCodec::default(),
                    |m| m.payload.len(),
                )
            },
            Some(Box::new(|d| {
                let item = prefixed(&[1], &payload(TYPED_LEN));
                scenarios::stream(
                    d,
                    peers::typed(),
                    move || item.clone(),
                    peers::typed(),
                    |f| f.len().saturating_sub(1),
                )
            })),
        ),
        Scenario::loopback(
            "magic-4k",
            "magic packets, 4 KiB payloads",
            Unit::Bytes,
            Some("Framed<LengthDelimitedCodec>"),
            None,
            |d| {
                let p = payload(MAGIC_LEN);
                scenarios::stream_batched(
                    d,
                    move || PacketBuf::new(PacketType(1), p.clone()),
                    MagicCodec::default(),
                    |m| m.payload.len(),
                )
            },
            Some(Box::new(|d| {
                let item = prefixed(&[0xde, 0xad, 0xbe, 0xef, 1, 1], &payload(MAGIC_LEN));
                scenarios::stream(
                    d,
                    peers::magic_encoder(),
                    move || item.clone(),
                    peers::magic_encoder(),
                    |f| f.len().saturating_sub(6),
                )
            })),
        ),
        Scenario::loopback(
            "reqres-pipelined",
            "request/response, 64 callers on one connection",
            Unit::Calls,
            Some("one call at a time"),
            target(">= 20x one at a time", 20.0),
            |d| scenarios::calls(d, 64),
            Some(Box::new(|d| scenarios::calls(d, 1))),
        ),
        Scenario::loopback(
            "mux-1",
            "mux, 1 channel of 64 KiB writes",
            Unit::Bytes,
            Some("yamux"),
            None,
            |d| scenarios::mux(d, 1, MUX_WRITE),
            Some(Box::new(|d| scenarios::yamux(d, 1, MUX_WRITE))),
        ),
        Scenario::loopback(
            "mux-8",
            "mux, 8 channels of 64 KiB writes",
            Unit::Bytes,
            Some("yamux"),
            Some(Target {
                text: ">= 2x yamux, >= 0.7x raw TCP",
                min_ratio: Some(2.0),
                min_vs_raw: Some(0.7),
            }),
            |d| scenarios::mux(d, 8, MUX_WRITE),
            Some(Box::new(|d| scenarios::yamux(d, 8, MUX_WRITE))),
        ),
    ]
}

/// One in-memory format: how to make its message of a size, and the peer.
struct InMemoryFormat {
    name: &'static str,
    sizes: &'static [usize],
    case: fn(usize) -> InMemoryCase,
}

/// The three measurements of one format at one size.
struct InMemoryCase {
    decode: Box<dyn Fn(Duration) -> inmemory::Pair>,
    encode: Box<dyn Fn(Duration) -> inmemory::Pair>,
    batch: Option<Box<dyn Fn(Duration) -> inmemory::Pair>>,
}

fn case_of<F: WireFormat + 'static>(
    size: usize,
    message: F::Owned,
    peer: inmemory::Peer,
    batch: bool,
) -> InMemoryCase {
    let (m1, p1) = (message.clone(), peer.clone());
    let (m2, p2) = (message.clone(), peer.clone());
    InMemoryCase {
        decode: Box::new(move |d| inmemory::codec_decode::<F>(d, &m1, &p1, size)),
        encode: Box::new(move |d| inmemory::codec_encode::<F>(d, &m2, &p2, size)),
        batch: batch.then(|| -> Box<dyn Fn(Duration) -> inmemory::Pair> {
            Box::new(move |d| inmemory::batch_decode::<F>(d, &message, &peer, size))
        }),
    }
}

fn length_peer(
    decoder: fn() -> tokio_util::codec::LengthDelimitedCodec,
    encoder: fn() -> tokio_util::codec::LengthDelimitedCodec,
    item: Bytes,
) -> inmemory::Peer {
    inmemory::Peer::Length {
        decoder,
        encoder,
        item,
    }
}

/// The batch scenarios' one size.
const BATCH_SIZE: usize = 16;

fn in_memory_formats() -> [InMemoryFormat; 5] {
    [
        InMemoryFormat {
            name: "typed",
            sizes: &[16, 4096],
            case: |size| {
                let p = payload(size);
                case_of::<Typed>(
                    size,
                    TypedMessageBuf::new(MessageType(1), p.clone()),
                    length_peer(peers::typed, peers::typed, prefixed(&[1], &p)),
                    size == BATCH_SIZE,
                )
            },
        },
        InMemoryFormat {
            name: "magic",
            sizes: &[16, 4096],
            case: |size| {
                let p = payload(size);
                case_of::<Magic>(
                    size,
                    PacketBuf::new(PacketType(1), p.clone()),
                    length_peer(
                        peers::magic,
                        peers::magic_encoder,
                        prefixed(&[0xde, 0xad, 0xbe, 0xef, 1, 1], &p),
                    ),
                    size == BATCH_SIZE,
                )
            },
        },
        InMemoryFormat {
            name: "frame",
            sizes: &[16, 4096],
            case: |size| {
                let p = payload(size);
                case_of::<Frame>(
                    size,
                    LengthFrameBuf::new(p.clone()),
                    length_peer(peers::frame, peers::frame, p),
                    size == BATCH_SIZE,
                )
            },
        },
        InMemoryFormat {
            name: "mux",
            sizes: &[16, 4096],
            case: |size| {
                let p = payload(size);
                case_of::<Mux>(
                    size,
                    MuxFrameBuf::new(ChannelId(7), p.clone()),
                    length_peer(peers::mux, peers::mux_encoder, prefixed(&[0, 7], &p)),
                    size == BATCH_SIZE,
                )
            },
        },
        InMemoryFormat {
            name: "request",
            sizes: &[16, 4096, 65_000],
            case: |size| {
                let args = String::from_utf8(payload(size).to_vec()).expect("ascii");
                let line = format!("12345:ECHO:{args}");
                case_of::<RequestLine>(
                    size,
                    RequestBuf::new("12345", "ECHO", args),
                    inmemory::Peer::Lines(line),
                    false,
                )
            },
        },
    ]
}

/// The issue's targets for the in-memory rows.
fn in_memory_target(format: &str, direction: &str, size: usize) -> Option<Target> {
    match (format, direction, size) {
        ("request", "decode", s) if s <= 256 => target(">= 1.5x LinesCodec", 1.5),
        ("request", "decode", _) => None,
        ("request", "encode", s) if s >= 65_000 => target(">= 0.9x LinesCodec", 0.9),
        ("request", "encode", _) => target(">= 0.5x LinesCodec", 0.5),
        (_, "decode", _) => target(">= 1.0x LengthDelimitedCodec", 1.0),
        (_, "encode", _) => target(">= 1.0x LengthDelimitedCodec", 1.0),
        (_, "batch", _) => target(">= 3x LengthDelimitedCodec", 3.0),
        _ => None,
    }
}

fn in_memory_list() -> Vec<Scenario> {
    let mut codec = Vec::new();
    let mut batch = Vec::new();
    for format in in_memory_formats() {
        let peer = if format.name == "request" { LINES } else { LDC };
        for &size in format.sizes {
            let case = (format.case)(size);
            for (direction, measure) in [("decode", case.decode), ("encode", case.encode)] {
                codec.push(Scenario {
                    id: format!("codec/{}/{direction}/{size}", format.name),
                    title: format!("codec {direction}, {} {size} B, in memory", format.name),
                    unit: Unit::Messages,
                    baseline_name: peer,
                    target: in_memory_target(format.name, direction, size),
                    measure: Measure::InMemory(measure),
                });
            }
            if let Some(measure) = case.batch {
                batch.push(Scenario {
                    id: format!("batch/{}/decode/{size}", format.name),
                    title: format!("batch decode, {} {size} B, in memory", format.name),
                    unit: Unit::Messages,
                    baseline_name: peer,
                    target: in_memory_target(format.name, "batch", size),
                    measure: Measure::InMemory(measure),
                });
            }
        }
    }
    codec.extend(batch);
    codec
}

fn scenario_list() -> Vec<Scenario> {
    let mut list = loopback_list();
    list.extend(in_memory_list());
    list
}

fn figure(unit: &Unit, r: &Received) -> f64 {
    match unit {
        Unit::Bytes => r.mb_per_s(),
        Unit::Messages | Unit::Calls => r.per_s(),
    }
}

/// Runs every scenario and returns the results in a fixed order, the raw
/// TCP ceiling first (the better of a measurement at the start and one at
/// the end). `progress` is called before each measurement.
pub fn run(options: &BenchOptions, progress: &mut dyn FnMut(Progress<'_>)) -> Vec<ScenarioResult> {
    let d = options.measure();
    let in_memory = options.in_memory();
    let mut list = scenario_list();
    if let Some(only) = &options.only {
        list.retain(|s| s.id == "raw-tcp" || s.id.contains(only.as_str()));
    }
    // The ceiling is measured first and again last, and the better figure
    // kept: on a shared machine one measurement can land in a busy moment.
    let steps = 1 + list.iter().map(Scenario::sides).sum::<usize>();
    let mut done = 0;
    let mut measured = Vec::new();
    for s in &list {
        let (ours, baseline) = match &s.measure {
            Measure::Loopback { ours, baseline } => {
                progress(Progress {
                    step: done + 1,
                    steps,
                    scenario: &s.id,
                    side: "wireforms",
                });
                let figure_ours = figure(&s.unit, &ours(d));
                let figure_baseline = baseline.as_ref().map(|measure| {
                    progress(Progress {
                        step: done + 2,
                        steps,
                        scenario: &s.id,
                        side: s.baseline_name.unwrap_or("baseline"),
                    });
                    figure(&s.unit, &measure(d))
                });
                (figure_ours, figure_baseline)
            }
            Measure::InMemory(measure) => {
                progress(Progress {
                    step: done + 1,
                    steps,
                    scenario: &s.id,
                    side: "both, alternating",
                });
                let (ours, peer) = measure(in_memory);
                (ours, Some(peer))
            }
        };
        done += s.sides();
        measured.push((s, ours, baseline));
    }
    progress(Progress {
        step: steps,
        steps,
        scenario: "raw-tcp",
        side: "again, at the end",
    });
    let raw_again = scenarios::raw_tcp(d).mb_per_s();
    let mut raw_mb = None;
    let mut results = Vec::new();
    for (s, mut ours, baseline) in measured {
        if s.id == "raw-tcp" {
            ours = ours.max(raw_again);
            raw_mb = Some(ours);
        }
        let ratio = baseline.filter(|b| *b > 0.0).map(|b| ours / b);
        let vs_raw_tcp = match (&s.unit, raw_mb) {
            (Unit::Bytes, Some(raw)) if s.id != "raw-tcp" && raw > 0.0 => Some(ours / raw),
            _ => None,
        };
        let met = s.target.as_ref().map(|t| {
            t.min_ratio.is_none_or(|m| ratio.is_some_and(|r| r >= m))
                && t.min_vs_raw
                    .is_none_or(|m| vs_raw_tcp.is_some_and(|r| r >= m))
        });
        results.push(ScenarioResult {
            id: s.id.clone(),
            title: s.title.clone(),
            unit: match s.unit {
                Unit::Bytes => "MB/s",
                Unit::Messages => "msg/s",
                Unit::Calls => "calls/s",
            },
            ours,
            baseline_name: s.baseline_name,
            baseline,
            ratio,
            vs_raw_tcp,
            target: s.target.as_ref().map(|t| t.text),
            met,
        });
    }
    results
}

fn human(x: f64) -> String {
    if x >= 1e6 {
        format!("{:.2} M", x / 1e6)
    } else if x >= 1e4 {
        format!("{:.1} k", x / 1e3)
    } else {
        format!("{x:.0}")
    }
}

/// The results as a Markdown table (readable on a terminal too).
pub fn render_table(results: &[ScenarioResult]) -> String {
    let mut out = String::new();
    out.push_str(
        "| scenario | unit | wireforms | baseline | baseline figure | ratio | vs raw TCP | target | met |\n",
    );
    out.push_str("|---|---|---:|---|---:|---:|---:|---|---|\n");
    for r in results {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            r.title,
            r.unit,
            human(r.ours),
            r.baseline_name.unwrap_or("-"),
            r.baseline.map(human).unwrap_or_else(|| "-".into()),
            r.ratio
                .map(|x| format!("{x:.2}x"))
                .unwrap_or_else(|| "-".into()),
            r.vs_raw_tcp
                .map(|x| format!("{x:.2}x"))
                .unwrap_or_else(|| "-".into()),
            r.target.unwrap_or("-"),
            match r.met {
                Some(true) => "yes",
                Some(false) => "NO",
                None => "-",
            },
        );
    }
    out
}

/// The results as pretty-printed JSON (an array of objects with the fields
/// of [`ScenarioResult`]).
pub fn render_json(results: &[ScenarioResult]) -> String {
    serde_json::to_string_pretty(results).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}
