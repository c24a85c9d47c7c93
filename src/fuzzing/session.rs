//! Scripted peers against the mux session and the request/response client.
//!
//! A script (built by `arbitrary` from the fuzz input) is a list of steps
//! taken in turn by one side: the application (open, accept, send, receive,
//! close, drop) and the peer at the other end of a `tokio::io::duplex` pipe
//! (write valid or arbitrary bytes, read, half-close). Everything runs on a
//! current-thread runtime with paused time, so a step that would wait
//! (backpressure, a call waiting for its answer) ends at its virtual-time
//! bound at once and the run is deterministic.
//!
//! After the script, every handle is dropped and the peer reads to the end
//! of the stream: the transport's tasks must all end within a bound (no
//! deadlock, no leaked task). Then the targets check what crossed the pipe:
//! - mux: the session wrote only whole, valid frames; per channel id, the
//!   frames written are, in order, a subsequence of the frames the
//!   application sent, and the payloads received are a subsequence of the
//!   frames the peer sent; the counters agree.
//! - client: every request line is valid, canonical and has a unique ID;
//!   a call that succeeded got a response the peer sent, for a request with
//!   the call's command and arguments; a call fails only with
//!   `invalid_field` (exactly when its fields cannot be encoded), `timeout`
//!   or `closed`; no call stays pending.
//!
//! Memory: every queue in the transport is bounded (channel queues, the
//! accept backlog, the write queues) and the pipe holds at most `pipe`
//! bytes, so a run allocates at most a constant times the script; the fuzz
//! campaigns enforce it with libFuzzer's `-rss_limit_mb`.

use alloc::string::String;
use alloc::vec::Vec;
use std::collections::{HashMap, HashSet};
use std::time::Duration;

use arbitrary::Arbitrary;
use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream, ReadHalf, WriteHalf};
use tokio::time::timeout;

use crate::mux::{self, ChannelId};
use crate::reqres::{self, RequestBuf};
use crate::transport::mux_session::{MuxChannel, MuxConfig, MuxSession};
use crate::transport::reqres_client::{Client, ClientConfig};
use crate::wire::{Encode, Status, WireFormat};
use crate::{Error, ErrorKind};

/// Virtual time one step may take.
const STEP: Duration = Duration::from_millis(100);
/// Virtual time the teardown may take before it counts as a deadlock.
const TEARDOWN: Duration = Duration::from_secs(3600);
/// Steps run per script; the rest are ignored.
const MAX_STEPS: usize = 64;
/// Largest payload one step sends (enough for three mux frames).
const MAX_SEND: usize = 3 * mux::MAX_PAYLOAD_LEN;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("a current-thread runtime builds")
}

/// Waits (in virtual time) until every spawned task has ended.
async fn all_tasks_end(what: &str) {
    let metrics = tokio::runtime::Handle::current().metrics();
    let quiet = timeout(TEARDOWN, async {
        while metrics.num_alive_tasks() > 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    assert!(
        quiet.is_ok(),
        "{what}: tasks still alive after the connection ended"
    );
}

fn assert_kind(e: &Error, allowed: &[ErrorKind], what: &str) {
    assert!(
        allowed.contains(&e.kind()),
        "{what}: unexpected error {e:?}"
    );
}

/// Whether `part` is, in order, a subsequence of `whole`.
fn is_subsequence(part: &[Bytes], whole: &[Bytes]) -> bool {
    let mut rest = whole.iter();
    part.iter().all(|p| rest.any(|w| w == p))
}

/// The scripted peer: the other end of the pipe, recording both directions.
struct Peer {
    read: ReadHalf<DuplexStream>,
    write: Option<WriteHalf<DuplexStream>>,
    /// Bytes the peer wrote (only those the pipe took).
    sent: Vec<u8>,
    /// Bytes the peer read.
    received: Vec<u8>,
    eof: bool,
}

impl Peer {
    fn new(io: DuplexStream) -> Peer {
        let (read, write) = tokio::io::split(io);
        Peer {
            read,
            write: Some(write),
            sent: Vec::new(),
            received: Vec::new(),
            eof: false,
        }
    }

    async fn write(&mut self, bytes: &[u8]) {
        let Some(w) = self.write.as_mut() else { return };
        let mut done = 0;
        let _ = timeout(STEP, async {
            while done < bytes.len() {
                match w.write(&bytes[done..]).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => done += n,
                }
            }
        })
        .await;
        self.sent.extend_from_slice(&bytes[..done]);
    }

    async fn read(&mut self, max: usize) {
        if self.eof {
            return;
        }
        let mut buf = alloc::vec![0u8; max.clamp(1, 1 << 16)];
        match timeout(STEP, self.read.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => self.eof = true,
            Ok(Ok(n)) => self.received.extend_from_slice(&buf[..n]),
            Err(_) => {}
        }
    }

    /// Reads until the other side ends the stream; false if it never does.
    async fn read_to_end(&mut self) -> bool {
        let ended = timeout(TEARDOWN, async {
            while !self.eof {
                self.read(1 << 16).await;
            }
        })
        .await;
        ended.is_ok()
    }

    async fn shutdown(&mut self) {
        if let Some(mut w) = self.write.take() {
            let _ = timeout(STEP, w.shutdown()).await;
        }
    }
}

/// A script for [`mux_session`].
#[derive(Arbitrary, Clone, Debug)]
pub struct MuxScript {
    /// Pipe capacity in bytes (at least 1).
    pub pipe: u16,
    /// [`MuxConfig::channel_queue`].
    pub channel_queue: u8,
    /// [`MuxConfig::max_channels`].
    pub max_channels: u8,
    /// [`MuxConfig::accept_backlog`].
    pub accept_backlog: u8,
    /// [`MuxConfig::write_queue`].
    pub write_queue: u8,
    /// A small payload limit for the session's reader, or the default.
    pub small_limit: Option<u8>,
    /// What happens, in order.
    pub steps: Vec<MuxStep>,
}

/// One step of a [`MuxScript`]. Channel numbers map to ids 0–15, and 255
/// to 65,535; handle numbers pick among the open handles.
#[derive(Arbitrary, Clone, Debug)]
pub enum MuxStep {
    /// The peer writes a valid frame.
    PeerFrame {
        /// Channel.
        channel: u8,
        /// Payload.
        payload: Vec<u8>,
    },
    /// The peer writes a frame with a large, patterned payload.
    PeerLargeFrame {
        /// Channel.
        channel: u8,
        /// Payload length.
        len: u16,
    },
    /// The peer writes arbitrary bytes.
    PeerBytes(Vec<u8>),
    /// The peer reads up to this many bytes.
    PeerRead(u16),
    /// The peer half-closes its side.
    PeerShutdown,
    /// The application opens a channel.
    Open(u8),
    /// The application accepts a channel the peer started.
    Accept,
    /// The application sends on a handle.
    Send {
        /// Handle.
        handle: u8,
        /// Payload.
        payload: Vec<u8>,
    },
    /// The application sends a large, patterned payload (split in frames).
    SendLarge {
        /// Handle.
        handle: u8,
        /// Payload length (modulo three frames' worth).
        len: u32,
    },
    /// The application receives on a handle.
    Recv {
        /// Handle.
        handle: u8,
    },
    /// The application closes a handle's sink.
    Close {
        /// Handle.
        handle: u8,
    },
    /// The application drops a handle.
    Drop {
        /// Handle.
        handle: u8,
    },
    /// The application drops the session handle.
    DropSession,
    /// Virtual time passes (milliseconds).
    Sleep(u16),
}

fn channel_id(c: u8) -> ChannelId {
    if c == u8::MAX {
        ChannelId(u16::MAX)
    } else {
        ChannelId(u16::from(c % 16))
    }
}

fn patterned(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

fn pick(handles: &mut [MuxChannel], h: u8) -> Option<&mut MuxChannel> {
    let n = handles.len();
    handles.get_mut(usize::from(h).checked_rem(n)?)
}

/// The frames of `bytes`, by channel id, up to the first one that does not
/// parse; and whether every byte was parsed.
fn mux_frames(bytes: &[u8], limits: &mux::Limits) -> (HashMap<u16, Vec<Bytes>>, usize, bool) {
    let mut frames: HashMap<u16, Vec<Bytes>> = HashMap::new();
    let mut count = 0;
    let mut at = 0;
    while let Ok(Status::Complete(f, len)) = mux::MuxFrame::parse(&bytes[at..], limits) {
        frames
            .entry(f.channel.0)
            .or_default()
            .push(Bytes::copy_from_slice(f.payload));
        count += 1;
        at += len;
    }
    (frames, count, at == bytes.len())
}

/// What a [`mux_session`] run did, for tests that check a script reached
/// the paths it meant to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MuxReport {
    /// Frames the session wrote (as the peer read them).
    pub frames_written: usize,
    /// Frames the peer wrote (that parse under the session's limits).
    pub frames_sent: usize,
    /// Payloads the application received.
    pub received: u64,
}

/// Fuzz target body: a scripted peer and application against a
/// [`MuxSession`]; see the [module docs](self).
pub fn mux_session(script: &MuxScript) -> MuxReport {
    runtime().block_on(run_mux(script))
}

async fn run_mux(script: &MuxScript) -> MuxReport {
    let limits = match script.small_limit {
        Some(max) => mux::Limits {
            max_payload_len: u16::from(max),
        },
        None => mux::Limits::default(),
    };
    let config = MuxConfig {
        limits,
        channel_queue: usize::from(script.channel_queue % 8).max(1),
        max_channels: usize::from(script.max_channels % 8),
        accept_backlog: usize::from(script.accept_backlog % 4).max(1),
        write_queue: usize::from(script.write_queue % 8).max(1),
        budget: crate::session::mux::DEFAULT_BUDGET,
    };
    let max_frame = usize::from(limits.max_payload_len);
    let (io, peer_io) = tokio::io::duplex(usize::from(script.pipe).max(1));
    let mut peer = Peer::new(peer_io);
    let mut session = Some(MuxSession::new(io, config));
    let mut handles: Vec<MuxChannel> = Vec::new();
    // Per channel id: the frames the application tried to send, and the
    // payloads it received.
    let mut attempted: HashMap<u16, Vec<Bytes>> = HashMap::new();
    let mut received: HashMap<u16, Vec<Bytes>> = HashMap::new();
    let mut received_count = 0u64;

    for step in script.steps.iter().take(MAX_STEPS) {
        match step {
            MuxStep::PeerFrame { channel, payload } => {
                let payload = &payload[..payload.len().min(mux::MAX_PAYLOAD_LEN)];
                let frame = mux::MuxFrame {
                    channel: channel_id(*channel),
                    payload,
                };
                let wire = frame
                    .to_bytes()
                    .expect("a payload within the limit encodes");
                peer.write(&wire).await;
            }
            MuxStep::PeerLargeFrame { channel, len } => {
                let payload = patterned(usize::from(*len));
                let frame = mux::MuxFrame {
                    channel: channel_id(*channel),
                    payload: &payload,
                };
                let wire = frame.to_bytes().expect("a u16 length encodes");
                peer.write(&wire).await;
            }
            MuxStep::PeerBytes(bytes) => peer.write(bytes).await,
            MuxStep::PeerRead(max) => peer.read(usize::from(*max)).await,
            MuxStep::PeerShutdown => peer.shutdown().await,
            MuxStep::Open(c) => {
                if let Some(s) = &session {
                    match s.open(channel_id(*c)) {
                        Ok(ch) => handles.push(ch),
                        Err(e) => assert_kind(
                            &e,
                            &[
                                ErrorKind::Misuse,
                                ErrorKind::LimitReached,
                                ErrorKind::Closed,
                            ],
                            "open",
                        ),
                    }
                }
            }
            MuxStep::Accept => {
                if let Some(s) = &mut session {
                    if let Ok(Some(ch)) = timeout(STEP, s.accept()).await {
                        handles.push(ch);
                    }
                }
            }
            MuxStep::Send { handle, payload } => {
                if let Some(ch) = pick(&mut handles, *handle) {
                    send(ch, Bytes::from(payload.clone()), max_frame, &mut attempted).await;
                }
            }
            MuxStep::SendLarge { handle, len } => {
                if let Some(ch) = pick(&mut handles, *handle) {
                    let len = usize::try_from(*len).unwrap_or(0) % (MAX_SEND + 1);
                    send(ch, Bytes::from(patterned(len)), max_frame, &mut attempted).await;
                }
            }
            MuxStep::Recv { handle } => {
                if let Some(ch) = pick(&mut handles, *handle) {
                    let id = ch.id().0;
                    match timeout(STEP, ch.next()).await {
                        Ok(Some(Ok(payload))) => {
                            received.entry(id).or_default().push(payload);
                            received_count += 1;
                        }
                        Ok(Some(Err(e))) => assert_kind(&e, &[ErrorKind::Closed], "receive"),
                        Ok(None) | Err(_) => {}
                    }
                }
            }
            MuxStep::Close { handle } => {
                if let Some(ch) = pick(&mut handles, *handle) {
                    if let Ok(Err(e)) = timeout(STEP, ch.close()).await {
                        assert_kind(&e, &[ErrorKind::Closed], "close");
                    }
                }
            }
            MuxStep::Drop { handle } => {
                if !handles.is_empty() {
                    handles.swap_remove(usize::from(*handle) % handles.len());
                }
            }
            MuxStep::DropSession => session = None,
            MuxStep::Sleep(ms) => tokio::time::sleep(Duration::from_millis(u64::from(*ms))).await,
        }
        tokio::task::yield_now().await;
    }

    let stats = session.as_ref().map(|s| s.stats());
    drop(handles);
    drop(session);
    // With every handle gone the writer flushes its queue and closes.
    assert!(
        peer.read_to_end().await,
        "mux: the session never closed its side"
    );
    let sent = core::mem::take(&mut peer.sent);
    let written = core::mem::take(&mut peer.received);
    drop(peer);
    all_tasks_end("mux").await;

    // The session writes whole, valid frames, and only what it was given.
    let (out, frames_written, whole) = mux_frames(&written, &mux::Limits::default());
    assert!(
        whole,
        "mux: the session wrote bytes that are not whole frames"
    );
    for (id, frames) in &out {
        let expected = attempted.get(id).map_or(&[][..], |v| &v[..]);
        assert!(
            is_subsequence(frames, expected),
            "mux: channel {id} wrote frames it was not given"
        );
    }
    // It delivers, in order, only what the peer sent on each channel.
    let (incoming, count, _) = mux_frames(&sent, &limits);
    for (id, payloads) in &received {
        let expected = incoming.get(id).map_or(&[][..], |v| &v[..]);
        assert!(
            is_subsequence(payloads, expected),
            "mux: channel {id} received payloads the peer did not send"
        );
    }
    if let Some(stats) = stats {
        assert!(
            stats.delivered + stats.discarded <= count as u64,
            "{stats:?}"
        );
        assert!(received_count <= stats.delivered, "{stats:?}");
    }
    MuxReport {
        frames_written,
        frames_sent: count,
        received: received_count,
    }
}

async fn send(
    ch: &mut MuxChannel,
    payload: Bytes,
    max_frame: usize,
    attempted: &mut HashMap<u16, Vec<Bytes>>,
) {
    // The session splits at its configured payload limit.
    let frames = attempted.entry(ch.id().0).or_default();
    let mut rest = payload.clone();
    while rest.len() > max_frame && max_frame > 0 {
        frames.push(rest.split_to(max_frame));
    }
    if max_frame > 0 || rest.is_empty() {
        frames.push(rest);
    }
    if let Ok(Err(e)) = timeout(STEP, ch.send(payload)).await {
        assert_kind(&e, &[ErrorKind::Closed, ErrorKind::TooLarge], "send");
    }
}

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
    let config = ClientConfig {
        limits,
        call_timeout,
        write_queue: usize::from(script.write_queue % 8).max(1),
    };
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
                    let line = alloc::format!("{id}:OK:{data}\n");
                    peer.write(line.as_bytes()).await;
                }
            }
            ClientStep::AnswerId { id, status, data } => {
                let line = alloc::format!("{id}:{status}:{data}\n");
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
