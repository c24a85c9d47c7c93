//! The `reqres_client` target: a scripted peer (the server side) against a
//! [`Client`]; see [`crate::peer`] for the shared harness.

use std::collections::HashSet;
use std::time::Duration;

use arbitrary::Arbitrary;

use tokio::time::timeout;
use wireforms::reqres::{self, RequestBuf};
use wireforms::transport::reqres_client::{Client, ClientConfig};
use wireforms::{Encode, Error, ErrorKind, Status, WireFormat};

use crate::peer::*;

/// A script for [`reqres_client`].
#[derive(Arbitrary, Clone, Debug)]
pub struct ClientScript {
    /// Pipe capacity in bytes (at least 1).
    pub pipe: u16,
    /// [`ClientConfig::call_timeout`] in milliseconds (at least 1).
    pub call_timeout_ms: u16,
    /// [`ClientConfig::write_queue`].
    pub write_queue: u8,
    /// A small line limit for the client's reader, or the default.
    pub small_limit: Option<u8>,
    /// What happens, in order.
    pub steps: Vec<ClientStep>,
}

/// One step of a [`ClientScript`].
#[derive(Arbitrary, Clone, Debug)]
pub enum ClientStep {
    /// The application starts a call (a task of its own).
    Call {
        /// Command.
        command: String,
        /// Arguments.
        args: String,
    },
    /// The peer reads up to this many bytes of requests.
    PeerRead(u16),
    /// The peer answers the n-th request it read, status `OK`.
    Answer {
        /// Which request (modulo those read).
        request: u8,
        /// Data.
        data: String,
    },
    /// The peer writes a response line with any ID.
    AnswerId {
        /// ID.
        id: u8,
        /// Status.
        status: String,
        /// Data.
        data: String,
    },
    /// The peer writes arbitrary bytes.
    PeerBytes(Vec<u8>),
    /// The peer half-closes its side.
    PeerShutdown,
    /// Virtual time passes (milliseconds).
    Sleep(u16),
    /// The application drops its client handle (calls keep theirs).
    DropClient,
}

type Call = (
    String,
    String,
    tokio::task::JoinHandle<Result<reqres::ResponseBuf, Error>>,
);

/// The request lines in `bytes` from `at` on: (id, command, args).
fn read_requests(bytes: &[u8], at: &mut usize, into: &mut Vec<(String, String, String)>) {
    let limits = reqres::Limits {
        max_line_len: usize::MAX,
    };
    loop {
        match reqres::Request::parse(&bytes[*at..], &limits) {
            Ok(Status::Complete(r, len)) => {
                let line = &bytes[*at..*at + len];
                assert_eq!(
                    &r.to_bytes().expect("a request line re-encodes")[..],
                    line,
                    "client: non-canonical request line"
                );
                into.push((r.id.into(), r.command.into(), r.args.into()));
                *at += len;
            }
            Ok(Status::Incomplete(_)) => return,
            Err(e) => panic!("client: invalid request line: {e}"),
        }
    }
}

/// What a [`reqres_client`] run did: how the calls ended, by kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ClientReport {
    /// Calls answered.
    pub answered: usize,
    /// Calls refused with `invalid_field`.
    pub invalid: usize,
    /// Calls that timed out.
    pub timed_out: usize,
    /// Calls that failed with `closed`.
    pub closed: usize,
}

/// Fuzz target body: a scripted peer (the server side) against a
/// [`Client`]; see the [module docs](self).
pub fn reqres_client(script: &ClientScript) -> ClientReport {
    runtime().block_on(run_client(script))
}

async fn run_client(script: &ClientScript) -> ClientReport {
    let limits = match script.small_limit {
        Some(max) => reqres::Limits {
            max_line_len: usize::from(max),
        },
        None => reqres::Limits::default(),
    };
    let call_timeout = Duration::from_millis(u64::from(script.call_timeout_ms.max(1)));
    // The config is non-exhaustive: start from the default, set its fields.
    let mut config = ClientConfig::default();
    config.limits = limits;
    config.call_timeout = call_timeout;
    config.write_queue = usize::from(script.write_queue % 8).max(1);
    let (io, peer_io) = tokio::io::duplex(usize::from(script.pipe).max(1));
    let mut peer = Peer::new(peer_io);
    let mut client = Some(Client::new(io, config));
    let mut calls: Vec<Call> = Vec::new();
    let mut requests: Vec<(String, String, String)> = Vec::new();
    let mut parsed = 0;

    for step in script.steps.iter().take(MAX_STEPS) {
        match step {
            ClientStep::Call { command, args } => {
                if let Some(c) = &client {
                    let c = c.clone();
                    let (cmd, a) = (command.clone(), args.clone());
                    let task = tokio::spawn(async move { c.call(&cmd, &a).await });
                    calls.push((command.clone(), args.clone(), task));
                }
            }
            ClientStep::PeerRead(max) => {
                peer.read(usize::from(*max)).await;
                read_requests(&peer.received, &mut parsed, &mut requests);
            }
            ClientStep::Answer { request, data } => {
                if !requests.is_empty() {
                    let (id, _, _) = &requests[usize::from(*request) % requests.len()];
                    let line = format!("{id}:OK:{data}\n");
                    peer.write(line.as_bytes()).await;
                }
            }
            ClientStep::AnswerId { id, status, data } => {
                let line = format!("{id}:{status}:{data}\n");
                peer.write(line.as_bytes()).await;
            }
            ClientStep::PeerBytes(bytes) => peer.write(bytes).await,
            ClientStep::PeerShutdown => peer.shutdown().await,
            ClientStep::Sleep(ms) => {
                tokio::time::sleep(Duration::from_millis(u64::from(*ms))).await
            }
            ClientStep::DropClient => client = None,
        }
        tokio::task::yield_now().await;
    }

    // Every call ends by its timeout at the latest.
    let mut results = Vec::new();
    for (command, args, task) in calls {
        let result = timeout(call_timeout + TEARDOWN, task)
            .await
            .expect("client: a call outlived its timeout")
            .expect("client: a call task panicked");
        results.push((command, args, result));
    }
    if let Some(c) = &client {
        let stats = c.stats();
        assert_eq!(stats.pending, 0, "client: calls left pending: {stats:?}");
        let ok = results.iter().filter(|(_, _, r)| r.is_ok()).count() as u64;
        assert_eq!(stats.answered, ok, "client: answered calls: {stats:?}");
    }
    drop(client);
    // With every handle gone the writer closes its side.
    assert!(peer.read_to_end().await, "client: never closed its side");
    read_requests(&peer.received, &mut parsed, &mut requests);
    assert_eq!(
        parsed,
        peer.received.len(),
        "client: ended inside a request line"
    );
    let sent = core::mem::take(&mut peer.sent);
    drop(peer);
    all_tasks_end("client").await;

    let mut ids = HashSet::new();
    for (id, command, args) in &requests {
        assert!(ids.insert(id.clone()), "client: ID {id} used twice");
        assert!(
            results.iter().any(|(c, a, _)| c == command && a == args),
            "client: sent a request nobody made"
        );
    }
    // What the client's reader saw, up to its first error.
    let mut responses = Vec::new();
    let mut at = 0;
    while let Ok(Status::Complete(r, len)) = reqres::ResponseLine::parse(&sent[at..], &limits) {
        responses.push(<reqres::ResponseLine as WireFormat>::to_owned(&r));
        at += len;
    }
    let mut report = ClientReport::default();
    for (command, args, result) in &results {
        match result {
            Ok(_) => report.answered += 1,
            Err(e) if e.kind() == ErrorKind::InvalidField => report.invalid += 1,
            Err(e) if e.kind() == ErrorKind::Timeout => report.timed_out += 1,
            Err(_) => report.closed += 1,
        }
        let encodable = RequestBuf::new("1", command.clone(), args.clone())
            .check()
            .is_ok();
        match result {
            Ok(response) => {
                assert!(
                    responses.contains(response),
                    "client: invented {response:?}"
                );
                if let Some((_, c, a)) = requests.iter().find(|(id, _, _)| *id == *response.id) {
                    assert_eq!(
                        (c, a),
                        (command, args),
                        "client: answer matched the wrong call"
                    );
                }
            }
            Err(e) => {
                assert_kind(
                    e,
                    &[
                        ErrorKind::InvalidField,
                        ErrorKind::Timeout,
                        ErrorKind::Closed,
                    ],
                    "call",
                );
                assert_eq!(
                    e.kind() == ErrorKind::InvalidField,
                    !encodable,
                    "client: invalid_field exactly for unencodable calls: {e:?}"
                );
            }
        }
    }
    report
}
