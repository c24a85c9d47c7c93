//! The `mux_core` target: an arbitrary sequence of operations on the sans-IO
//! mux demultiplexer ([`Demux`]), no runtime, checked after every step
//! against its accounting invariants ([`Demux::check`]) and against a
//! simple model of what must come out of it.
//!
//! The model does not restate the admission policy (which frame is refused
//! and why); it holds what any policy must respect:
//! - a frame queued on a channel comes out of that channel, once, in order,
//!   and only there; a channel is accepted once, in the order the peer
//!   started them;
//! - a frame the core discards is counted under the reason it gave, and a
//!   channel it refuses or that is dropped takes exactly its queued frames
//!   with it (counted under that reason);
//! - `received == delivered + discarded + queued`, the queue sizes match
//!   the model's, and the queued bytes never exceed the budget;
//! - `open` fails exactly when the model says it must (ended, already
//!   open, too many channels), and with the kind it must;
//! - after the end, each held channel yields its frames, `Failed` once if
//!   the connection failed, then `Ended`; `accept` ends once the backlog is
//!   empty.
//!
//! Like the shell, the target reads a frame only when
//! [`Demux::wants_read`] says so.

use std::collections::{HashMap, VecDeque};

use arbitrary::Arbitrary;
use bytes::Bytes;
use wireforms::mux::ChannelId;
use wireforms::session::mux::{
    Accept, Admit, Demux, DemuxConfig, Discard, EndReason, Recv, FRAME_COST,
};
use wireforms::ErrorKind;

/// A script for [`mux_core`].
#[derive(Arbitrary, Clone, Debug)]
pub struct CoreScript {
    /// [`DemuxConfig::max_channels`] (modulo 8).
    pub max_channels: u8,
    /// [`DemuxConfig::accept_backlog`] (modulo 4, at least 1).
    pub accept_backlog: u8,
    /// [`DemuxConfig::channel_queue`] (modulo 6, at least 1).
    pub channel_queue: u8,
    /// [`DemuxConfig::budget`], in units of 64 bytes.
    pub budget: u8,
    /// [`DemuxConfig::max_payload_len`] (modulo 300).
    pub max_payload_len: u16,
    /// What happens, in order.
    pub ops: Vec<CoreOp>,
}

/// One operation of a [`CoreScript`]; channel numbers map to ids 0–7.
#[derive(Arbitrary, Clone, Debug)]
pub enum CoreOp {
    /// The shell read a frame (skipped while the core does not want one).
    Frame {
        /// Channel.
        channel: u8,
        /// Payload length (modulo the largest payload, plus one).
        len: u16,
    },
    /// The connection ended.
    End {
        /// Failed rather than closed by the peer.
        failed: bool,
    },
    /// The application opens a channel.
    Open(u8),
    /// The application accepts.
    Accept,
    /// The application reads a channel.
    Recv(u8),
    /// The application drops a channel's handle.
    Drop(u8),
    /// The application drops its session handle.
    StopAccepting,
}

/// Steps run per script; the rest are ignored.
const MAX_OPS: usize = 512;

/// What the model knows of one channel.
#[derive(Debug, Default)]
struct ModelChannel {
    queue: VecDeque<Bytes>,
    held: bool,
    failure_reported: bool,
}

#[derive(Debug, Default)]
struct Model {
    channels: HashMap<u16, ModelChannel>,
    /// Peer-started channels not yet accepted, oldest first.
    backlog: VecDeque<u16>,
    received: u64,
    delivered: u64,
    discarded: [u64; 7],
    ended: Option<EndReason>,
    accepting: bool,
}

impl Model {
    fn queued(&self) -> u64 {
        self.channels.values().map(|c| c.queue.len() as u64).sum()
    }

    fn discard(&mut self, reason: Discard, frames: u64) {
        let i = Discard::ALL
            .iter()
            .position(|r| *r == reason)
            .expect("every reason is listed");
        self.discarded[i] += frames;
    }

    /// Removes a channel and counts its queued frames under `reason`.
    fn remove(&mut self, id: u16, reason: Discard) {
        if let Some(ch) = self.channels.remove(&id) {
            self.backlog.retain(|&b| b != id);
            self.discard(reason, ch.queue.len() as u64);
        }
    }
}

/// Counts how the script went, for tests that check it reached the paths
/// it meant to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CoreReport {
    /// Frames handed to the core.
    pub received: u64,
    /// Frames the application took.
    pub delivered: u64,
    /// Frames discarded.
    pub discarded: u64,
    /// Frames skipped because the core did not want to read.
    pub backpressured: u64,
}

fn channel(c: u8) -> ChannelId {
    ChannelId(u16::from(c % 8))
}

/// Fuzz target body; see the [module docs](self).
pub fn mux_core(script: &CoreScript) -> CoreReport {
    let mut config = DemuxConfig::default();
    config.max_channels = usize::from(script.max_channels % 8);
    config.accept_backlog = usize::from(script.accept_backlog % 4).max(1);
    config.channel_queue = usize::from(script.channel_queue % 6).max(1);
    config.budget = usize::from(script.budget) * 64;
    config.max_payload_len = usize::from(script.max_payload_len % 300);
    let max_payload = config.max_payload_len;
    let mut demux = Demux::new(config);
    let budget = demux.config().budget as u64;
    let mut model = Model {
        accepting: true,
        ..Model::default()
    };
    let mut report = CoreReport::default();
    let mut serial = 0u32;

    for op in script.ops.iter().take(MAX_OPS) {
        match op {
            CoreOp::Frame { channel: c, len } => {
                if !demux.wants_read() {
                    report.backpressured += 1;
                    continue;
                }
                // Each payload is unique (its serial number, then a
                // pattern), so a frame delivered twice or elsewhere shows.
                serial += 1;
                let len = usize::from(*len) % (max_payload + 1);
                let mut payload = serial.to_be_bytes().to_vec();
                payload.resize(len.max(4), 0x5a);
                payload.truncate(len);
                let payload = Bytes::from(payload);
                let id = channel(*c).0;
                model.received += 1;
                let admit = demux.handle_frame(ChannelId(id), payload.clone());
                let known = model.channels.get(&id).map(|ch| ch.held);
                match (admit, known) {
                    (_, _) if model.ended.is_some() => {
                        assert_eq!(admit, Admit::Discarded(Discard::AfterEnd), "after the end");
                        model.discard(Discard::AfterEnd, 1);
                    }
                    (Admit::Queued, Some(true))
                    | (Admit::Backlogged, Some(false))
                    | (Admit::NewChannel, None) => {
                        if admit == Admit::NewChannel {
                            model.channels.insert(id, ModelChannel::default());
                            model.backlog.push_back(id);
                        }
                        if let Some(ch) = model.channels.get_mut(&id) {
                            ch.queue.push_back(payload);
                        }
                    }
                    (Admit::Discarded(Discard::Refused), Some(false)) => {
                        // The channel goes whole, with this frame.
                        model.remove(id, Discard::Refused);
                        model.discard(Discard::Refused, 1);
                    }
                    (Admit::Discarded(reason), None) => {
                        assert!(
                            !matches!(reason, Discard::HandleDropped | Discard::AfterEnd),
                            "a new id discarded as {reason:?}"
                        );
                        if !model.accepting {
                            // A dropped id stays dropped: either reason.
                            assert!(
                                matches!(reason, Discard::NotAccepting | Discard::DroppedId),
                                "a new id discarded as {reason:?} after accepting stopped"
                            );
                        }
                        model.discard(reason, 1);
                    }
                    (admit, known) => {
                        panic!("frame on channel {id} (held: {known:?}) admitted as {admit:?}")
                    }
                }
            }
            CoreOp::End { failed } => {
                let reason = if *failed {
                    EndReason::Failed
                } else {
                    EndReason::PeerClosed
                };
                demux.handle_end(reason);
                model.ended.get_or_insert(reason);
                assert_eq!(demux.ended(), model.ended);
            }
            CoreOp::Open(c) => {
                let id = channel(*c);
                let expected = if model.ended.is_some() {
                    Some(ErrorKind::Closed)
                } else if model.channels.contains_key(&id.0) {
                    Some(ErrorKind::Misuse)
                } else if model.channels.len() >= demux.config().max_channels {
                    Some(ErrorKind::LimitReached)
                } else {
                    None
                };
                let got = demux.open(id).err().map(|e| e.kind());
                assert_eq!(got, expected, "open({id:?})");
                if expected.is_none() {
                    model.channels.insert(
                        id.0,
                        ModelChannel {
                            held: true,
                            ..ModelChannel::default()
                        },
                    );
                }
            }
            CoreOp::Accept => match demux.accept() {
                Accept::Channel(id) => {
                    let expected = model.backlog.pop_front();
                    assert_eq!(Some(id.0), expected, "accepted out of order");
                    if let Some(ch) = model.channels.get_mut(&id.0) {
                        ch.held = true;
                    }
                }
                Accept::Empty => {
                    assert!(
                        model.backlog.is_empty(),
                        "a channel waits: {:?}",
                        model.backlog
                    );
                    assert!(model.ended.is_none() && model.accepting);
                }
                Accept::Ended => {
                    assert!(
                        model.backlog.is_empty(),
                        "a channel waits: {:?}",
                        model.backlog
                    );
                    assert!(model.ended.is_some() || !model.accepting);
                }
            },
            CoreOp::Recv(c) => {
                let id = channel(*c).0;
                let got = demux.recv(ChannelId(id));
                let ended = model.ended;
                match model.channels.get_mut(&id).filter(|ch| ch.held) {
                    None => assert_eq!(got, Recv::Ended, "recv on a channel not held"),
                    Some(ch) => match ch.queue.pop_front() {
                        Some(next) => {
                            assert_eq!(got, Recv::Item(next), "channel {id}");
                            model.delivered += 1;
                        }
                        None => {
                            let expected = match ended {
                                None => Recv::Empty,
                                Some(EndReason::Failed) if !ch.failure_reported => {
                                    ch.failure_reported = true;
                                    Recv::Failed
                                }
                                Some(_) => Recv::Ended,
                            };
                            assert_eq!(got, expected, "channel {id}");
                        }
                    },
                }
            }
            CoreOp::Drop(c) => {
                let id = channel(*c).0;
                demux.drop_channel(ChannelId(id));
                if model.channels.get(&id).is_some_and(|ch| ch.held) {
                    model.remove(id, Discard::HandleDropped);
                }
            }
            CoreOp::StopAccepting => {
                demux.stop_accepting();
                model.accepting = false;
                for id in std::mem::take(&mut model.backlog) {
                    model.remove(id, Discard::NotAccepting);
                }
            }
        }
        if let Err(e) = demux.check() {
            panic!("mux core: {e} after {op:?}");
        }
        let stats = demux.stats();
        assert_eq!(stats.received, model.received, "received");
        assert_eq!(stats.delivered, model.delivered, "delivered");
        assert_eq!(stats.discarded_by, model.discarded, "discarded, by reason");
        assert_eq!(stats.queued, model.queued(), "queued");
        let model_bytes: u64 = model
            .channels
            .values()
            .flat_map(|c| &c.queue)
            .map(|p| (p.len() + FRAME_COST) as u64)
            .sum();
        assert_eq!(stats.queued_bytes, model_bytes, "queued bytes");
        assert!(stats.queued_bytes <= budget, "over the budget: {stats:?}");
        assert_eq!(demux.open_channels(), model.channels.len(), "open channels");
    }
    let stats = demux.stats();
    report.received = stats.received;
    report.delivered = stats.delivered;
    report.discarded = stats.discarded;
    report
}
