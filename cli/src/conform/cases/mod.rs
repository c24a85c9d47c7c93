//! The case lists, one file per side and spec part:
//!
//! - `server_vectors.rs`: server cases built from the vectors;
//! - `limits.rs`, `stream.rs`, `errors.rs`: the server cases of the spec's
//!   §3/§5 (limits), §5.1/§6 (pieces, pipelining, format boundaries) and
//!   §7.1 (closing after a wire error);
//! - `security.rs`: hostile-peer cases (`spec/security.md`);
//! - `client.rs`: client cases, the server side played against a client;
//! - `decoder.rs`, `encoder.rs`: the decoder and encoder cases sent over
//!   the harness protocol.
//!
//! A new case goes into the file of its side and section.

mod client;
mod decoder;
mod encoder;
mod errors;
mod limits;
mod security;
mod server_vectors;
mod stream;

use std::path::Path;

use anyhow::Result;

use super::case::{Case, Check, Level};
use super::formats::{analyse, with_server};
use super::probe::Expect;
use super::script::{After, Script};
use crate::formats::{CliFormat, Format, LimitArgs};

pub(crate) use client::cases as client_cases;
pub(crate) use decoder::cases as decoder_cases;
pub(crate) use encoder::cases as encoder_cases;

pub(crate) struct Builder {
    pub(crate) format: Format,
    pub(crate) prefix: &'static str,
    pub(crate) limit: u64,
    pub(crate) out: Vec<Case>,
}

impl Builder {
    pub(crate) fn script(&self, write: Vec<u8>, after: After) -> Result<Script> {
        let a = analyse(self.format, &write, self.limit)?;
        Ok(Script {
            format: self.format,
            write,
            bytewise: false,
            half_close: false,
            replies: a.replies,
            after,
            connections: 1,
        })
    }

    pub(crate) fn push(
        &mut self,
        section: &str,
        n: u32,
        level: Level,
        what: impl Into<String>,
        check: Check,
    ) {
        self.out.push(Case {
            id: format!("{}/{section}/{n}", self.prefix),
            section: format!("{}/{section}", self.prefix),
            level,
            what: what.into(),
            check,
        });
    }

    pub(crate) fn na(&mut self, section: &str, n: u32, level: Level, what: &str, why: String) {
        self.push(section, n, level, what, Check::NotApplicable(why));
    }
}

/// The server cases of `format`, for a server enforcing `limits` and
/// `expect`.
pub(crate) fn server_cases(
    format: Format,
    limits: &LimitArgs,
    expect: &Expect,
    dir: Option<&Path>,
) -> Result<Vec<Case>> {
    let limit = with_server!(format, F => F::limit_of(&F::limits(limits)?));
    let mut b = Builder {
        format,
        prefix: format.spec_prefix(),
        limit,
        out: Vec::new(),
    };
    server_vectors::cases(&mut b, dir)?;
    limits::cases(&mut b)?;
    stream::cases(&mut b)?;
    errors::cases(&mut b)?;
    security::cases(&mut b, expect)?;
    Ok(b.out)
}

/// One request of the format: `1:ECHO:hello` or type/channel 1, `hello`.
pub(crate) fn one_message(f: Format) -> Vec<u8> {
    if f.is_text() {
        super::messages::line("1", "ECHO", "hello")
    } else {
        super::messages::message(f, 1, b"hello")
    }
}
