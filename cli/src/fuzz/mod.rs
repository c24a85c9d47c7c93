//! `fuzz`: differential fuzz campaigns against another implementation of
//! a format, with this crate as the oracle.
//!
//! Decoder mode (`--exec CMD`) sends each input to a decoder through the
//! harness protocol (`spec/harness.md`) and grades its verdict as
//! `conform --exec` grades a vector, against this crate's verdict. Server
//! mode (`--target ADDR`, `--udp`) writes each input to a server and to
//! the reference server started here, and compares replies, closes and
//! silences. Inputs come from each format's grammar (`generate`) and from
//! mutating a corpus that starts with the spec's vectors (`mutate`,
//! `corpus`). A difference is confirmed, minimised (`minimise`),
//! deduplicated by what differs (`finding`) and written as a vector file
//! (`write`) that `conform --vectors DIR` replays. `campaign` runs it all
//! within the budgets.

mod campaign;
mod corpus;
mod decoder;
mod finding;
mod generate;
mod input;
mod layout;
mod minimise;
mod mutate;
mod server;
mod write;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;

use crate::formats::{Format, LimitArgs};

pub use campaign::run as fuzz;

/// Options of `fuzz`.
pub struct FuzzArgs {
    /// The format.
    pub format: Format,
    /// A decoder to drive through the harness protocol.
    pub exec: Option<String>,
    /// A server to drive.
    pub target: Option<String>,
    /// Datagrams instead of a byte stream (server mode).
    pub udp: bool,
    /// The limits: the target server's, or one more for the decoder's menu.
    pub limits: LimitArgs,
    /// Stop after this long (default 10 s when `runs` is not given).
    pub time: Option<Duration>,
    /// Stop after this many inputs.
    pub runs: Option<u64>,
    /// Inputs are a function of the seed and their number.
    pub seed: Option<u64>,
    /// Testee processes (or server connections) at once.
    pub jobs: usize,
    /// Where findings are written.
    pub out: PathBuf,
    /// More seeds: one file, one input.
    pub corpus: Option<PathBuf>,
    /// The vector files seeding the corpus.
    pub vectors: Option<PathBuf>,
    /// Longest wait for one verdict or reply.
    pub timeout: Duration,
    /// How soon a server must close after input it must refuse.
    pub prompt: Duration,
    /// The target server's idle timeout, checked when given.
    pub idle_timeout: Option<Duration>,
    /// A JSON summary on standard output.
    pub json: bool,
    /// Inputs one minimisation may try.
    pub minimise_runs: u32,
}

/// The outcome of one input.
#[derive(Clone, Debug)]
pub enum Check {
    /// The testee agrees with the reference.
    Agree,
    /// The testee does not support the input's format or mode.
    Skipped,
    /// It does not.
    Differ(finding::Difference),
}

/// Where verdicts are compared.
pub enum Oracle {
    /// A decoder, through the harness protocol.
    Decoder(Box<decoder::DecoderOracle>),
    /// A server, beside the reference server.
    Server(server::ServerOracle),
}

impl Oracle {
    /// Runs `input` and compares.
    ///
    /// # Errors
    /// The testee cannot be run at all.
    pub async fn check(&mut self, input: &input::Input) -> Result<Check> {
        match self {
            Oracle::Decoder(d) => d.check(input).await,
            Oracle::Server(s) => s.check(input).await,
        }
    }

    async fn finish(&mut self) {
        if let Oracle::Decoder(d) = self {
            d.finish().await;
        }
    }
}

/// `1 finding`, `2 findings`.
pub(crate) fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("{n} {one}")
    } else {
        format!("{n} {many}")
    }
}
