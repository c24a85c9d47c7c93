//! Client cases (`conform --client`): the server side played against a
//! client program, one case per way of answering. Ids are
//! `<format>/<section>/<n>` numbered from 201; request/response cases are
//! in `reqres/10` (IDs and matching), mux cases in `mux/10.5` (sending),
//! `mux/10.6` (the end of the connection) and `mux/10.7` (ordering).
//!
//! Every case checks what the client writes (valid messages within the
//! spec's default limits; request IDs never reused while pending) and that
//! it exits within `--timeout`; at shim level (`--shim`) also what it
//! delivered to its caller (`spec/harness.md` §9).

use crate::conform::case::{Case, Check, Level};
use crate::conform::client::{Behaviour, ClientCase, LONG_LEN};
use crate::formats::Format;

/// The client cases of `format` (request or mux; none for the others).
pub(crate) fn cases(format: Format) -> Vec<Case> {
    use Behaviour::*;
    let list: Vec<(&str, Behaviour, &str)> = match format {
        Format::Request => vec![
            ("10", Correct, "a correct server: every call gets the answer to its own request"),
            ("10", Bytewise, "answers written one byte at a time are delivered"),
            ("10", Late, "answers after a pause (a third of the client's timeout) are waited for"),
            ("10", OutOfOrder, "answers in reverse order: each matched to its call by ID"),
            ("10", Unsolicited, "responses with IDs nobody asked for are not delivered to any call"),
            ("10", Silent, "a silent server: every call ends with an error, the client exits in time"),
            ("10", Malformed, "a malformed reply: every call ends with an error, the client exits"),
            ("10", OverLimit, "a reply line over the 65,536-byte limit: refused, calls fail, the client exits"),
            ("10", CloseMid, "the server closes mid-reply: every call ends with an error, the client exits"),
        ],
        Format::Mux => vec![
            ("10.7", Correct, "echoes on three channels: each channel's payloads in order"),
            ("10.7", Bytewise, "replies written one byte at a time are delivered"),
            ("10.7", Late, "replies after a pause are waited for"),
            ("10.7", Interleaved, "replies cut into small frames, channels interleaved: each channel's bytes in order"),
            ("10.5", Split, "70,000-byte replies in two frames, and a 70,000-byte send split, not truncated"),
            ("10.6", Silent, "a silent server: an error is reported, the client exits in time"),
            ("10.6", CloseMid, "the server closes mid-frame: an error is reported, the client exits"),
        ],
        _ => Vec::new(),
    };
    let prefix = format.spec_prefix();
    list.into_iter()
        .enumerate()
        .map(|(i, (section, behaviour, what))| Case {
            id: format!("{prefix}/{section}/{}", 201 + i),
            section: format!("{prefix}/{section}"),
            level: Level::Must,
            what: format!("client: {}", what.replace("70,000", &LONG_LEN.to_string())),
            check: Check::Client(ClientCase { format, behaviour }),
        })
        .collect()
}
