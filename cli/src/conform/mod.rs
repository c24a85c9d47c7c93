//! `conform`: a conformance suite in the manner of h2spec and Autobahn.
//!
//! Cases are named `<format>/<section>/<n>` after the spec section they
//! check (vector-derived cases keep the vector's `tcId`; cases of their own
//! are numbered from 101; hostile-peer cases are `<format>/8/<n>`, see
//! `cases/security.rs`). Each is a MUST or a SHOULD and has a bounded
//! time. Server cases drive a server over TCP; with `--exec`, vector cases
//! drive a decoder through the harness protocol (`spec/harness.md`).
//!
//! Layout, each depending only on those above it:
//!
//! - `formats.rs`: per-format knowledge (reference replies, parsing under a
//!   limit, the length field); `messages.rs`: building and showing bytes;
//! - `driver.rs`: the harness-protocol driver (runs a testee process);
//! - `script.rs`, `probe.rs`, `decoder.rs`, `encoder.rs`, `client.rs`: the
//!   engines that run a case;
//! - `case.rs`: what a case is; `cases/`: the case lists, per side and
//!   spec section;
//! - `select.rs`: `--case`, `--section`, `--exclude`;
//! - `report.rs`: outcomes, the closing line, JSON and JUnit;
//! - `runner.rs`: the run itself.

mod case;
mod cases;
mod client;
mod decoder;
pub mod driver;
mod encoder;
pub(crate) mod formats;
mod html;
mod messages;
mod probe;
mod report;
mod runner;
pub(crate) mod script;
mod select;

use std::path::PathBuf;
use std::time::Duration;

use crate::formats::{Format, LimitArgs};

pub(crate) use case::plural;
pub use runner::conform;

/// Options of `conform`.
pub struct ConformArgs {
    /// `None`: every format.
    pub format: Option<Format>,
    /// A server to test instead of the built-in ones.
    pub target: Option<String>,
    /// A decoder and encoder to test through the harness protocol, or with
    /// `client`, a client program.
    pub exec: Option<String>,
    /// Test a client (`--exec`) instead of a server.
    pub client: bool,
    /// The client speaks the shim protocol.
    pub shim: bool,
    /// The limits the target server enforces.
    pub limits: LimitArgs,
    /// JSON report on standard output.
    pub json: bool,
    /// JUnit XML report to this file.
    pub junit: Option<PathBuf>,
    /// SHOULD failures fail the run.
    pub strict: bool,
    /// List the cases and stop.
    pub list: bool,
    /// Only these case ids.
    pub cases: Vec<String>,
    /// Only these sections (or formats).
    pub sections: Vec<String>,
    /// Expected failures, with reasons (`--expect`).
    pub expect_file: Option<PathBuf>,
    /// Cases not run, with reasons (`--exclude`).
    pub exclude: Option<PathBuf>,
    /// HTML report to this file.
    pub html: Option<PathBuf>,
    /// Longest time a case may take.
    pub timeout: Duration,
    /// How soon a server must close (or stay silent) after bad input.
    pub prompt: Duration,
    /// Vector files directory.
    pub vectors: Option<PathBuf>,
    /// What the server enforces, for the hostile-peer cases.
    pub expect: ExpectArgs,
}

/// What a server is expected to enforce, checked by the hostile-peer cases
/// (`spec/security.md`). The built-in servers are started with these.
#[derive(Clone, Copy, Debug, Default, clap::Args)]
pub struct ExpectArgs {
    /// The server's idle timeout: a peer silent or stuck in one message is
    /// closed after it (plus --prompt slack). Built-in servers: default 1s.
    /// For --target, absent or 0 skips the idle cases.
    #[arg(long, value_parser = crate::serve::parse_duration, value_name = "DURATION")]
    pub idle_timeout: Option<Duration>,
    /// The server's connection limit: connections beyond it are closed at
    /// once. Built-in servers: default 16. For --target, absent or 0 skips
    /// the flood case.
    #[arg(long, value_name = "N")]
    pub max_connections: Option<usize>,
}
