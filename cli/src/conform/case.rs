//! What a conformance case is: an id after the spec section it checks, a
//! level, a few words, and the check that runs it.

use super::client::ClientCase;
use super::decoder::VectorCase;
use super::encoder::EncoderCase;
use super::probe::Probe;
use super::script::Script;

/// MUST or SHOULD.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// Required: a failure fails the run.
    Must,
    /// Recommended: a failure is a warning unless `--strict`.
    Should,
}

impl Level {
    /// `MUST` or `SHOULD`.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Must => "MUST",
            Level::Should => "SHOULD",
        }
    }
}

/// What a case does.
pub enum Check {
    /// Drives a server.
    Server(Script),
    /// Drives a decoder with one vector.
    Vector(Box<VectorCase>),
    /// Drives an encoder with one vector's messages.
    Encode(Box<EncoderCase>),
    /// Plays the server against a client.
    Client(ClientCase),
    /// Drives a server as a hostile peer (`spec/security.md`).
    Hostile(Probe),
    /// Cannot run here; the reason.
    NotApplicable(String),
}

/// One conformance case.
pub struct Case {
    /// `<format>/<section>/<n>`.
    pub id: String,
    /// The spec section, e.g. `typed/5.2`.
    pub section: String,
    /// MUST or SHOULD.
    pub level: Level,
    /// What is checked, in a few words.
    pub what: String,
    /// How.
    pub check: Check,
}

/// `1 case`, `2 cases`.
pub(crate) fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("{n} {one}")
    } else {
        format!("{n} {many}")
    }
}
