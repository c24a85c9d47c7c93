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

use bytes::{BufMut, Bytes, BytesMut};
use serde::Serialize;
use wireforms::frame::FrameBuf;
use wireforms::magic::{PacketBuf, PacketType};
use wireforms::transport::codec::{FrameCodec, MagicCodec, TypedCodec};
use wireforms::typed::{MessageType, TypedMessageBuf};

pub mod harness;
pub mod peers;
pub mod scenarios;

use harness::Received;
use scenarios::payload;

/// What to run.
#[derive(Clone, Debug, Default)]
pub struct BenchOptions {
    /// Short measurements: the whole run takes under 30 seconds.
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
    /// Short stable id, e.g. `frame-64k`.
    pub id: &'static str,
    /// What was measured.
    pub title: &'static str,
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

struct Scenario {
    id: &'static str,
    title: &'static str,
    unit: Unit,
    baseline_name: Option<&'static str>,
    target: Option<Target>,
    ours: fn(Duration) -> Received,
    baseline: Option<fn(Duration) -> Received>,
}

fn prefixed(prefix: &[u8], body: &Bytes) -> Bytes {
    let mut b = BytesMut::with_capacity(prefix.len() + body.len());
    b.put_slice(prefix);
    b.put_slice(body);
    b.freeze()
}

fn frames_ours(d: Duration, len: usize) -> Received {
    let p = payload(len);
    scenarios::stream_batched(
        d,
        move || FrameBuf::new(p.clone()),
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

fn scenario_list() -> Vec<Scenario> {
    vec![
        Scenario {
            id: "raw-tcp",
            title: "raw TCP copy, 64 KiB writes (the ceiling, best of 2)",
            unit: Unit::Bytes,
            baseline_name: None,
            target: None,
            ours: scenarios::raw_tcp,
            baseline: None,
        },
        Scenario {
            id: "frame-64",
            title: "length frames, 64 B payloads",
            unit: Unit::Messages,
            baseline_name: Some("Framed<LengthDelimitedCodec>"),
            target: Some(Target {
                text: ">= 1.5x peer",
                min_ratio: Some(1.5),
                min_vs_raw: None,
            }),
            ours: |d| frames_ours(d, 64),
            baseline: Some(|d| frames_peer(d, 64)),
        },
        Scenario {
            id: "frame-64k",
            title: "length frames, 64 KiB payloads",
            unit: Unit::Bytes,
            baseline_name: Some("Framed<LengthDelimitedCodec>"),
            target: Some(Target {
                text: ">= 0.85x raw TCP",
                min_ratio: None,
                min_vs_raw: Some(0.85),
            }),
            ours: |d| frames_ours(d, 64 * 1024),
            baseline: Some(|d| frames_peer(d, 64 * 1024)),
        },
        Scenario {
            id: "typed-4k",
            title: "typed messages, 4 KiB payloads",
            unit: Unit::Bytes,
            baseline_name: Some("Framed<LengthDelimitedCodec>"),
            target: None,
            ours: |d| {
                let p = payload(TYPED_LEN);
                scenarios::stream_batched(
                    d,
                    move || TypedMessageBuf::new(MessageType(1), p.clone()),
                    TypedCodec::default(),
                    |m| m.payload.len(),
                )
            },
            baseline: Some(|d| {
                let item = prefixed(&[1], &payload(TYPED_LEN));
                scenarios::stream(
                    d,
                    peers::typed(),
                    move || item.clone(),
                    peers::typed(),
                    |f| f.len().saturating_sub(1),
                )
            }),
        },
        Scenario {
            id: "magic-4k",
            title: "magic packets, 4 KiB payloads",
            unit: Unit::Bytes,
            baseline_name: Some("Framed<LengthDelimitedCodec>"),
            target: None,
            ours: |d| {
                let p = payload(MAGIC_LEN);
                scenarios::stream_batched(
                    d,
                    move || PacketBuf::new(PacketType(1), p.clone()),
                    MagicCodec::default(),
                    |m| m.payload.len(),
                )
            },
            baseline: Some(|d| {
                let item = prefixed(&[0xde, 0xad, 0xbe, 0xef, 1, 1], &payload(MAGIC_LEN));
                scenarios::stream(
                    d,
                    peers::magic_encoder(),
                    move || item.clone(),
                    peers::magic_encoder(),
                    |f| f.len().saturating_sub(6),
                )
            }),
        },
        Scenario {
            id: "reqres-pipelined",
            title: "request/response, 64 callers on one connection",
            unit: Unit::Calls,
            baseline_name: Some("one call at a time"),
            target: Some(Target {
                text: ">= 20x one at a time",
                min_ratio: Some(20.0),
                min_vs_raw: None,
            }),
            ours: |d| scenarios::calls(d, 64),
            baseline: Some(|d| scenarios::calls(d, 1)),
        },
        Scenario {
            id: "mux-1",
            title: "mux, 1 channel of 64 KiB writes",
            unit: Unit::Bytes,
            baseline_name: Some("yamux"),
            target: None,
            ours: |d| scenarios::mux(d, 1, MUX_WRITE),
            baseline: Some(|d| scenarios::yamux(d, 1, MUX_WRITE)),
        },
        Scenario {
            id: "mux-8",
            title: "mux, 8 channels of 64 KiB writes",
            unit: Unit::Bytes,
            baseline_name: Some("yamux"),
            target: Some(Target {
                text: ">= 2x yamux, >= 0.7x raw TCP",
                min_ratio: Some(2.0),
                min_vs_raw: Some(0.7),
            }),
            ours: |d| scenarios::mux(d, 8, MUX_WRITE),
            baseline: Some(|d| scenarios::yamux(d, 8, MUX_WRITE)),
        },
    ]
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
    let mut list = scenario_list();
    if let Some(only) = &options.only {
        list.retain(|s| s.id == "raw-tcp" || s.id.contains(only.as_str()));
    }
    // The ceiling is measured first and again last, and the better figure
    // kept: on a shared machine one measurement can land in a busy moment.
    let steps = 1 + list
        .iter()
        .map(|s| 1 + usize::from(s.baseline.is_some()))
        .sum::<usize>();
    let mut done = 0;
    let mut measured = Vec::new();
    for s in &list {
        progress(Progress {
            step: done + 1,
            steps,
            scenario: s.id,
            side: "wireforms",
        });
        let ours = figure(&s.unit, &(s.ours)(d));
        let baseline = s.baseline.map(|measure| {
            progress(Progress {
                step: done + 2,
                steps,
                scenario: s.id,
                side: s.baseline_name.unwrap_or("baseline"),
            });
            figure(&s.unit, &measure(d))
        });
        done += 1 + usize::from(baseline.is_some());
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
            id: s.id,
            title: s.title,
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
