//! The `reqres_client` target: a scripted peer (the server side) against a
//! [`Client`]; see [`crate::peer`] for the shared harness.
//!
//! The oracle is complete, not only "what arrived was sent":
//! - every call resolves exactly once: as answered, timed out, closed,
//!   refused before sending (`invalid_field`, `too_large`, `limit_reached`,
//!   or `closed` once the connection has ended), or aborted by the script;
//! - the client's counters agree: `answered + timed_out + failed +
//!   cancelled == calls`, `pending == 0` once every call is resolved, and,
//!   without aborted calls, `answered`, `timed_out` and `cancelled` are
//!   exactly what the callers saw;
//! - every complete response line the client read is either an answer or
//!   counted as unknown (`answered + unknown_responses` is the number of
//!   response lines up to the first invalid one);
//! - no request line the client wrote is over the line limit, and every
//!   `too_large` names a line over it;
//! - once the last handle is dropped, with the peer still there (reading,
//!   never closing), the client closes its side and every task ends.
//!
//! [`reqres_client`] runs on a current-thread runtime with paused time (the
//! fuzz target); [`reqres_client_threaded`] runs the same script and checks
//! on a multi-thread runtime in real time (the corpus replay).

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
    /// A small line limit for the client (both directions), or the default.
    pub small_limit: Option<u8>,
    /// A small [`ClientConfig::max_pending`] (`n % 8`), or the default.
    pub max_pending: Option<u8>,
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
    /// The application gives up on the n-th call (modulo those made): its
    /// task is aborted, whatever state the call is in.
    Abort(u8),
}

type Call = (
    String,
    String,
    tokio::task::JoinHandle<Result<reqres::ResponseBuf, Error>>,
);

/// The request lines in `bytes` from `at` on: (id, command, args).
fn read_requests(bytes: &[u8], at: &mut usize, into: &mut Vec<(String, String, String)>) {
    let limits = reqres::Limits::new(usize::MAX);
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
    /// Calls refused with `too_large` (request line over the limit).
    pub too_large: usize,
    /// Calls refused with `limit_reached` (too many pending).
    pub limit_reached: usize,
    /// Calls that timed out.
    pub timed_out: usize,
    /// Calls that failed with `closed` (pending when the connection ended,
    /// or made after).
    pub closed: usize,
    /// Calls whose task the script aborted.
    pub aborted: usize,
    /// Response lines the client counted as unknown.
    pub unknown_responses: u64,
}

/// Fuzz target body: a scripted peer (the server side) against a
/// [`Client`]; see the [module docs](self). Current-thread runtime, paused
/// time: deterministic.
pub fn reqres_client(script: &ClientScript) -> ClientReport {
    runtime().block_on(run_client(script, Clock::Paused))
}

/// Real time the threaded variant may take before it counts as a hang.
const THREADED_BOUND: Duration = Duration::from_secs(60);

/// The same script and checks on a multi-thread runtime (two workers) in
/// real time, with timeouts and sleeps cut to milliseconds, so the client's
/// reader, writer and callers really run in parallel. Not deterministic:
/// for replays (`fuzzing/tests/corpus.rs`), too slow for a fuzz target.
pub fn reqres_client_threaded(script: &ClientScript) -> ClientReport {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a multi-thread runtime builds");
    runtime.block_on(async {
        timeout(THREADED_BOUND, run_client(script, Clock::Real))
            .await
            .expect("client (threaded): the run did not end")
    })
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Clock {
    /// Virtual time: waits end at once.
    Paused,
    /// Real time: timeouts and sleeps cut short.
    Real,
}

async fn run_client(script: &ClientScript, clock: Clock) -> ClientReport {
    let limits = match script.small_limit {
        Some(max) => reqres::Limits::new(usize::from(max)),
        None => reqres::Limits::default(),
    };
    let call_timeout = Duration::from_millis(match clock {
        Clock::Paused => u64::from(script.call_timeout_ms.max(1)),
        Clock::Real => 1 + u64::from(script.call_timeout_ms % 50),
    });
    let max_pending = script.max_pending.map(|n| usize::from(n % 8));
    // The config is non-exhaustive: start from the default, set its fields.
    let mut config = ClientConfig::default()
        .limits(limits)
        .call_timeout(call_timeout)
        .write_queue(usize::from(script.write_queue % 8).max(1));
    if let Some(max) = max_pending {
        config = config.max_pending(max);
    }
    let (io, peer_io) = tokio::io::duplex(usize::from(script.pipe).max(1));
    let mut peer = Peer::new(peer_io);
    let client = Client::new(io, config);
    // The handle the checks read the counters through; the application's
    // own handle is `app`.
    let observer = client.clone();
    let mut app = Some(client);
    let mut calls: Vec<Call> = Vec::new();
    let mut requests: Vec<(String, String, String)> = Vec::new();
    let mut parsed = 0;

    for step in script.steps.iter().take(MAX_STEPS) {
        match step {
            ClientStep::Call { command, args } => {
                if let Some(c) = &app {
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
                let ms = match clock {
                    Clock::Paused => *ms,
                    Clock::Real => *ms % 10,
                };
                tokio::time::sleep(Duration::from_millis(u64::from(ms))).await
            }
            ClientStep::DropClient => app = None,
            ClientStep::Abort(n) => {
                if !calls.is_empty() {
                    calls[usize::from(*n) % calls.len()].2.abort();
                }
            }
        }
        tokio::task::yield_now().await;
    }
    drop(app);

    // Every call ends by its timeout at the latest.
    let made: Vec<(String, String)> = calls
        .iter()
        .map(|(c, a, _)| (c.clone(), a.clone()))
        .collect();
    let mut results = Vec::new();
    let mut aborted = 0;
    for (command, args, task) in calls {
        match timeout(call_timeout + TEARDOWN, task)
            .await
            .expect("client: a call outlived its timeout")
        {
            Ok(result) => results.push((command, args, result)),
            Err(e) if e.is_cancelled() => aborted += 1,
            Err(e) => panic!("client: a call task panicked: {e}"),
        }
    }
    // What the client's reader will have seen, up to its first error.
    let mut responses = Vec::new();
    let mut at = 0;
    while let Ok(Status::Complete(r, len)) = reqres::ResponseLine::parse(&peer.sent[at..], &limits)
    {
        responses.push(<reqres::ResponseLine as WireFormat>::to_owned_copy(&r));
        at += len;
    }
    // Let the reader take whatever the pipe still holds: each of those lines
    // answers a call or is counted unknown.
    let lines = responses.len() as u64;
    let read_all = timeout(TEARDOWN, async {
        loop {
            let s = observer.stats();
            if s.answered + s.unknown_responses >= lines {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    let stats = observer.stats();
    assert!(
        read_all.is_ok() && stats.answered + stats.unknown_responses == lines,
        "client: {lines} response lines, but neither answered nor counted unknown: {stats:?}"
    );
    let answered = results.iter().filter(|(_, _, r)| r.is_ok()).count() as u64;
    let kind_count = |kind: ErrorKind| {
        results
            .iter()
            .filter(|(_, _, r)| matches!(r, Err(e) if e.kind() == kind))
            .count() as u64
    };
    let timed_out = kind_count(ErrorKind::Timeout);
    let closed = kind_count(ErrorKind::Closed);
    let aborted = aborted as u64;
    assert_eq!(stats.pending, 0, "client: calls left pending: {stats:?}");
    assert_eq!(
        stats.answered + stats.timed_out + stats.failed + stats.cancelled,
        stats.calls,
        "client: a call ended twice or not at all: {stats:?}"
    );
    // A call the script aborted may have ended any way before; every
    // other call's outcome is exactly what its caller saw.
    let saw = format!("{stats:?}; callers saw {answered} answered, {timed_out} timed out, {closed} closed, {aborted} aborted");
    assert!(stats.cancelled <= aborted, "client: cancelled: {saw}");
    assert!(
        (answered..=answered + aborted).contains(&stats.answered),
        "client: answered: {saw}"
    );
    assert!(
        (timed_out..=timed_out + aborted).contains(&stats.timed_out),
        "client: timed out: {saw}"
    );
    // `closed` also counts calls refused once the connection had ended.
    assert!(stats.failed <= closed + aborted, "client: failed: {saw}");
    assert!(
        stats.calls <= answered + timed_out + closed + aborted,
        "client: calls: {saw}"
    );
    if aborted == 0 {
        assert_eq!(
            (stats.answered, stats.timed_out, stats.cancelled),
            (answered, timed_out, 0),
            "client: {saw}"
        );
    }

    // The last handle goes while the peer is still there: the client must
    // write what it queued, close its side and stop, without the peer's help.
    drop(observer);
    assert!(peer.read_to_end().await, "client: never closed its side");
    all_tasks_end("client").await;
    read_requests(&peer.received, &mut parsed, &mut requests);
    assert_eq!(
        parsed,
        peer.received.len(),
        "client: ended inside a request line"
    );
    drop(peer);

    let mut ids = HashSet::new();
    for (id, command, args) in &requests {
        assert!(ids.insert(id.clone()), "client: ID {id} used twice");
        assert!(
            made.iter().any(|(c, a)| c == command && a == args),
            "client: sent a request nobody made"
        );
        let line_len = RequestBuf::new(id.clone(), command.clone(), args.clone()).encoded_len();
        assert!(
            line_len <= limits.max_line_len,
            "client: sent a {line_len}-byte line over the limit of {}",
            limits.max_line_len
        );
    }
    let mut report = ClientReport {
        aborted: aborted as usize,
        unknown_responses: stats.unknown_responses,
        ..ClientReport::default()
    };
    for (command, args, result) in &results {
        match result {
            Ok(_) => report.answered += 1,
            Err(e) => match e.kind() {
                ErrorKind::InvalidField => report.invalid += 1,
                ErrorKind::TooLarge => report.too_large += 1,
                ErrorKind::LimitReached => report.limit_reached += 1,
                ErrorKind::Timeout => report.timed_out += 1,
                _ => report.closed += 1,
            },
        }
        let unsent = RequestBuf::new("", command.clone(), args.clone());
        let encodable = unsent.check().is_ok();
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
                        ErrorKind::TooLarge,
                        ErrorKind::LimitReached,
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
                if let Error::TooLarge { len, max, .. } = e {
                    // The line with the shortest ID (one digit) at least.
                    let least = unsent.encoded_len() as u64 + 1;
                    assert!(
                        *max == limits.max_line_len as u64 && *len > *max && *len >= least,
                        "client: too_large for a line that fits: {e:?}"
                    );
                }
                if let Error::LimitReached { max, .. } = e {
                    assert_eq!(
                        Some(*max),
                        max_pending.map(|m| m as u64),
                        "client: limit_reached without a small cap"
                    );
                }
            }
        }
    }
    report
}
