//! The `mux_session` target: a scripted application and peer against a
//! [`MuxSession`]; see [`crate::peer`] for the shared harness.

use std::collections::HashMap;
use std::time::Duration;

use arbitrary::Arbitrary;
use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use tokio::time::timeout;
use wireforms::mux::{self, ChannelId};
use wireforms::transport::mux_session::{MuxChannel, MuxConfig, MuxSession};
use wireforms::{Encode, ErrorKind, Status};

use crate::peer::*;

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

/// [`mux_session`] on a multi-thread runtime (two workers, real time: each
/// step that waits takes its bound), where the session's reader, writer
/// and the script run in parallel. Too slow for a fuzz campaign; the
/// replay tests run it on their scripts.
pub fn mux_session_threaded(script: &MuxScript) -> MuxReport {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a multi-thread runtime builds")
        .block_on(run_mux(script))
}

async fn run_mux(script: &MuxScript) -> MuxReport {
    let limits = match script.small_limit {
        Some(max) => mux::Limits::new(u16::from(max)),
        None => mux::Limits::default(),
    };
    // The config is non-exhaustive: start from the default, set its fields.
    let mut config = MuxConfig::default();
    config.limits = limits;
    config.channel_queue = usize::from(script.channel_queue % 8).max(1);
    config.max_channels = usize::from(script.max_channels % 8);
    config.accept_backlog = usize::from(script.accept_backlog % 4).max(1);
    config.write_queue = usize::from(script.write_queue % 8).max(1);
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

    // Completeness: the peer ends its side and the application takes
    // everything (accepting every waiting channel, reading every handle to
    // its end, all at once so that no channel's backpressure blocks
    // another), so the session reads every frame the peer sent, up to the
    // first that does not parse.
    peer.shutdown().await;
    let mut ended = vec![false; handles.len()];
    let mut accepting = session.is_some();
    let give_up = tokio::time::Instant::now() + TEARDOWN;
    while accepting || ended.iter().any(|e| !e) {
        assert!(
            tokio::time::Instant::now() < give_up,
            "mux: the session never ended after the peer closed"
        );
        if let (true, Some(s)) = (accepting, session.as_mut()) {
            match timeout(STEP, s.accept()).await {
                Ok(Some(ch)) => {
                    handles.push(ch);
                    ended.push(false);
                }
                Ok(None) => accepting = false,
                Err(_) => {}
            }
        }
        for (ch, ended) in handles.iter_mut().zip(ended.iter_mut()) {
            while !*ended {
                match timeout(STEP, ch.next()).await {
                    Ok(Some(Ok(payload))) => {
                        received.entry(ch.id().0).or_default().push(payload);
                        received_count += 1;
                    }
                    Ok(Some(Err(e))) => assert_kind(&e, &[ErrorKind::Closed], "receive"),
                    Ok(None) => *ended = true,
                    Err(_) => break,
                }
            }
        }
    }
    let stats = match (&session, handles.first()) {
        (Some(s), _) => Some(s.stats()),
        (None, Some(ch)) => Some(ch.session_stats()),
        (None, None) => None,
    };

    drop(handles);
    drop(session);
    // With every handle gone the writer flushes its queue and closes, and
    // nothing of the session is left running, while the peer is still
    // there (a task waiting for the peer would show here).
    assert!(
        peer.read_to_end().await,
        "mux: the session never closed its side"
    );
    all_tasks_end("mux").await;
    let sent = core::mem::take(&mut peer.sent);
    let written = core::mem::take(&mut peer.received);
    drop(peer);

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
    // And every frame it read is accounted for, exactly once (spec mux
    // §10.1): it read them all, delivered what the application took, and
    // counted the rest as discarded; nothing is left queued.
    if let Some(stats) = stats {
        assert_eq!(stats.received, count as u64, "mux: frames read: {stats:?}");
        assert_eq!(
            stats.received,
            stats.delivered + stats.discarded + stats.queued,
            "mux: accounting: {stats:?}"
        );
        assert_eq!(stats.queued, 0, "mux: frames left queued: {stats:?}");
        assert_eq!(
            stats.delivered, received_count,
            "mux: delivered != taken by the application: {stats:?}"
        );
        assert_eq!(
            stats.discarded,
            stats.discarded_by.iter().sum::<u64>(),
            "mux: discard reasons: {stats:?}"
        );
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
    // The session splits at its configured payload limit (spec mux §10.5).
    let frames = attempted.entry(ch.id().0).or_default();
    let mut rest = payload.clone();
    while rest.len() > max_frame && max_frame > 0 {
        frames.push(rest.split_to(max_frame));
    }
    if max_frame > 0 || rest.is_empty() {
        frames.push(rest);
    }
    if let Ok(Err(e)) = timeout(STEP, ch.send(payload)).await {
        // `too_large`: a non-empty payload under a limit of 0.
        assert_kind(&e, &[ErrorKind::Closed, ErrorKind::TooLarge], "send");
    }
}
