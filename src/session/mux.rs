//! The mux demultiplexer (spec mux §10), as a plain state machine.
//!
//! [`Demux`] holds what a mux session knows about the frames it has read:
//! the channel table, the channels waiting to be accepted, the ids the
//! application dropped, each channel's receive queue, and the byte budget
//! over all of them. It does no I/O, keeps no clock and stores no waker: a
//! shell reads frames and hands them over ([`Demux::handle_frame`],
//! [`Demux::handle_end`]), the application takes them out ([`Demux::recv`],
//! [`Demux::accept`]), and the shell asks [`Demux::wants_read`] before it
//! reads the next frame. The async [`MuxSession`] is such a shell.
//!
//! ## Accounting
//! Every frame handed to [`Demux::handle_frame`] is, exactly once, either
//! *delivered* (taken by the application through [`Demux::recv`]) or
//! *discarded* (counted, with a [`Discard`] reason), or still *queued*:
//! `received == delivered + discarded + queued` holds after every call
//! ([`Demux::check`] verifies it).
//!
//! ## The byte budget
//! A queued frame costs its payload length plus [`FRAME_COST`] bytes (the
//! queue entry), so a flood of empty frames is bounded too. The budget
//! ([`DemuxConfig::budget`], default [`DEFAULT_BUDGET`]) is split in two:
//! - half for channels nobody has accepted yet. A frame that does not fit
//!   there (or in the channel's queue of [`DemuxConfig::channel_queue`]
//!   frames) is never waited for: the channel is refused, its frames are
//!   discarded ([`Discard::Refused`]) and its id is treated as dropped. An
//!   application that never accepts therefore cannot stall the connection.
//! - the other half for channels the application holds. When they hold so
//!   much that one more frame of the largest size might not fit, or one of
//!   them has more than its queue of frames, [`Demux::wants_read`] turns false: the shell
//!   stops reading (backpressure reaches the peer through the transport) and
//!   nothing is lost.
//!
//! Queued bytes therefore never exceed the budget.
//!
//! ## End of the connection
//! [`Demux::handle_end`] never waits on anything: it marks the connection
//! ended, and then each channel yields its queued frames, then
//! [`Recv::Failed`] once if the connection failed, then [`Recv::Ended`].
//! Channels still waiting in the backlog can be accepted and read the same
//! way; [`Demux::accept`] returns [`Accept::Ended`] once the backlog is empty.
//!
//! [`MuxSession`]: crate::transport::mux_session::MuxSession
//!
//! ```
//! use bytes::Bytes;
//! use wireforms::mux::ChannelId;
//! use wireforms::session::mux::{Accept, Admit, Demux, DemuxConfig, EndReason, Recv};
//!
//! let mut demux = Demux::new(DemuxConfig::default());
//! assert_eq!(demux.handle_frame(ChannelId(7), Bytes::from_static(b"hi")), Admit::NewChannel);
//! assert_eq!(demux.accept(), Accept::Channel(ChannelId(7)));
//! demux.handle_end(EndReason::Failed);
//! assert_eq!(demux.recv(ChannelId(7)), Recv::Item(Bytes::from_static(b"hi")));
//! assert_eq!(demux.recv(ChannelId(7)), Recv::Failed);
//! assert_eq!(demux.recv(ChannelId(7)), Recv::Ended);
//! assert_eq!(demux.accept(), Accept::Ended);
//! assert!(demux.check().is_ok());
//! ```

use std::collections::{HashMap, VecDeque};

use bytes::Bytes;

use crate::mux::{ChannelId, MAX_PAYLOAD_LEN};
use crate::Error;

/// Default byte budget of a session: everything queued in every channel and
/// in the accept backlog (spec mux §10.2). Bounds what a peer can make one
/// connection hold while the application does not read.
pub const DEFAULT_BUDGET: usize = 4 * 1024 * 1024;

/// Bytes charged for each queued frame on top of its payload: what its
/// queue entry takes, so that empty frames are not free.
pub const FRAME_COST: usize = core::mem::size_of::<Bytes>();

/// Default frames one channel queues (spec mux §10.2).
pub const DEFAULT_CHANNEL_QUEUE: usize = 32;

/// Default channels open at once, opened and peer-started (spec mux §10.3).
pub const DEFAULT_MAX_CHANNELS: usize = 1024;

/// Default peer-started channels waiting to be accepted (spec mux §10.3).
pub const DEFAULT_ACCEPT_BACKLOG: usize = 64;

/// Settings of a [`Demux`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DemuxConfig {
    /// Channels open at once (held by the application or waiting to be
    /// accepted).
    pub max_channels: usize,
    /// Peer-started channels waiting to be accepted.
    pub accept_backlog: usize,
    /// Frames one channel queues (at least 1): a held channel that has
    /// more (the one in hand when reading stopped) stops the reading; a
    /// channel waiting to be accepted is refused instead.
    pub channel_queue: usize,
    /// Bytes queued over every channel and the backlog; raised to two
    /// frames of `max_payload_len` if set lower, so that each half of the
    /// budget holds one frame.
    pub budget: usize,
    /// Largest payload the reader accepts (what one frame can cost).
    pub max_payload_len: usize,
}

impl Default for DemuxConfig {
    fn default() -> Self {
        DemuxConfig {
            max_channels: DEFAULT_MAX_CHANNELS,
            accept_backlog: DEFAULT_ACCEPT_BACKLOG,
            channel_queue: DEFAULT_CHANNEL_QUEUE,
            budget: DEFAULT_BUDGET,
            max_payload_len: MAX_PAYLOAD_LEN,
        }
    }
}

/// Why a frame was discarded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Discard {
    /// For an id the application dropped (or that was refused), not opened
    /// again since.
    DroppedId,
    /// It would have started a channel while `max_channels` are open.
    TooManyChannels,
    /// It would have started a channel while `accept_backlog` wait.
    BacklogFull,
    /// On a channel nobody had accepted, over that channel's queue or the
    /// backlog's half of the budget: the channel was refused, and this
    /// counts its queued frames too.
    Refused,
    /// It would have started a channel, or waited in one, after the
    /// application stopped accepting.
    NotAccepting,
    /// Queued in a channel whose handle the application dropped.
    HandleDropped,
    /// Handed over after the connection ended (a shell's mistake; counted,
    /// never queued).
    AfterEnd,
}

impl Discard {
    /// Every reason, in the order of [`DemuxStats::discarded_by`].
    pub const ALL: [Discard; 7] = [
        Discard::DroppedId,
        Discard::TooManyChannels,
        Discard::BacklogFull,
        Discard::Refused,
        Discard::NotAccepting,
        Discard::HandleDropped,
        Discard::AfterEnd,
    ];

    fn index(self) -> usize {
        match self {
            Discard::DroppedId => 0,
            Discard::TooManyChannels => 1,
            Discard::BacklogFull => 2,
            Discard::Refused => 3,
            Discard::NotAccepting => 4,
            Discard::HandleDropped => 5,
            Discard::AfterEnd => 6,
        }
    }
}

/// What [`Demux::handle_frame`] did with a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admit {
    /// Queued on a channel the application holds: wake its reader.
    Queued,
    /// Queued on a new peer-started channel, now waiting to be accepted:
    /// wake the acceptor.
    NewChannel,
    /// Queued on a channel already waiting to be accepted.
    Backlogged,
    /// Discarded and counted.
    Discarded(Discard),
}

/// How the connection ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EndReason {
    /// The peer closed its side after whole frames.
    PeerClosed,
    /// A read error, a frame over the limit, or an end inside a frame.
    Failed,
}

impl EndReason {
    /// The [`Error::Closed`] reason a caller sees.
    pub const fn as_str(self) -> &'static str {
        match self {
            EndReason::PeerClosed => "connection closed by peer",
            EndReason::Failed => "mux connection failed",
        }
    }
}

/// What [`Demux::recv`] found on a channel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Recv {
    /// The next payload, in order.
    Item(Bytes),
    /// Nothing queued yet; the connection goes on.
    Empty,
    /// The connection failed (reported once, after the queued frames).
    Failed,
    /// Nothing more will come: the connection ended, or the id is not a
    /// channel the application holds.
    Ended,
}

/// What [`Demux::accept`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Accept {
    /// A peer-started channel, now held by the application.
    Channel(ChannelId),
    /// None waiting yet.
    Empty,
    /// None will come: the connection ended and the backlog is empty, or
    /// accepting was stopped.
    Ended,
}

/// Counters of a [`Demux`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DemuxStats {
    /// Frames handed to [`Demux::handle_frame`].
    pub received: u64,
    /// Frames the application took ([`Recv::Item`]).
    pub delivered: u64,
    /// Frames discarded, for every reason.
    pub discarded: u64,
    /// Frames queued now (in held channels and in the backlog).
    pub queued: u64,
    /// Bytes queued now, as charged against the budget.
    pub queued_bytes: u64,
    /// The most bytes queued at once so far.
    pub peak_queued_bytes: u64,
    /// Frames discarded, by reason, in the order of [`Discard::ALL`].
    pub discarded_by: [u64; 7],
}

impl DemuxStats {
    /// Frames discarded for `reason`.
    pub fn discarded_for(&self, reason: Discard) -> u64 {
        self.discarded_by[reason.index()]
    }
}

#[derive(Debug, Default)]
struct Channel {
    queue: VecDeque<Bytes>,
    /// Bytes charged for `queue`.
    bytes: usize,
    /// Held by the application (opened or accepted), not in the backlog.
    held: bool,
    /// [`Recv::Failed`] was returned already.
    failure_reported: bool,
}

/// The demultiplexer of a mux session; see the [module docs](self).
#[derive(Debug)]
pub struct Demux {
    config: DemuxConfig,
    /// Largest cost of one frame.
    max_cost: usize,
    /// For channels held by the application.
    held_budget: usize,
    /// For channels waiting to be accepted.
    backlog_budget: usize,
    channels: HashMap<u16, Channel>,
    /// Peer-started channels, oldest first.
    backlog: VecDeque<u16>,
    /// Ids whose frames are discarded until the application opens them
    /// (one bit per id).
    dropped: Box<[u64; 1024]>,
    accepting: bool,
    ended: Option<EndReason>,
    /// Held channels with more than `channel_queue` frames queued.
    full_held: usize,
    held_bytes: usize,
    backlog_bytes: usize,
    stats: DemuxStats,
}

impl Demux {
    /// An empty demultiplexer.
    pub fn new(config: DemuxConfig) -> Demux {
        let config = DemuxConfig {
            channel_queue: config.channel_queue.max(1),
            ..config
        };
        let max_cost = config.max_payload_len.saturating_add(FRAME_COST);
        let budget = config.budget.max(max_cost.saturating_mul(2));
        let backlog_budget = budget / 2;
        Demux {
            config: DemuxConfig { budget, ..config },
            max_cost,
            held_budget: budget - backlog_budget,
            backlog_budget,
            channels: HashMap::new(),
            backlog: VecDeque::new(),
            dropped: Box::new([0; 1024]),
            accepting: true,
            ended: None,
            full_held: 0,
            held_bytes: 0,
            backlog_bytes: 0,
            stats: DemuxStats::default(),
        }
    }

    /// The settings in force (the budget as raised, if it was).
    pub fn config(&self) -> &DemuxConfig {
        &self.config
    }

    /// Takes a frame the shell read on `channel`: queues it, or discards and
    /// counts it. Never waits: the shell asks [`wants_read`](Self::wants_read)
    /// before reading the next one.
    pub fn handle_frame(&mut self, channel: ChannelId, payload: Bytes) -> Admit {
        self.stats.received += 1;
        if self.ended.is_some() {
            return self.discard(Discard::AfterEnd, 1);
        }
        let id = channel.0;
        let cost = payload.len().saturating_add(FRAME_COST);
        let backlog_room = self.backlog_bytes.saturating_add(cost) <= self.backlog_budget
            && self.queued_bytes().saturating_add(cost) <= self.config.budget;
        let channel_queue = self.config.channel_queue;
        if let Some(ch) = self.channels.get_mut(&id) {
            if ch.held {
                // Admitted whatever its size: the shell read it because
                // `wants_read` said there was room for the largest frame.
                ch.queue.push_back(payload);
                ch.bytes += cost;
                if ch.queue.len() == channel_queue + 1 {
                    self.full_held += 1;
                }
                self.held_bytes += cost;
                self.queued(1);
                return Admit::Queued;
            }
            if ch.queue.len() < channel_queue && backlog_room {
                ch.queue.push_back(payload);
                ch.bytes += cost;
                self.backlog_bytes += cost;
                self.queued(1);
                return Admit::Backlogged;
            }
            // Waiting for an accept that may never come would stall the
            // connection; a channel with a hole in it would be worse than
            // none. Refuse it whole.
            self.refuse(id);
            return self.discard(Discard::Refused, 1);
        }
        if self.is_dropped(id) {
            return self.discard(Discard::DroppedId, 1);
        }
        if !self.accepting {
            return self.discard(Discard::NotAccepting, 1);
        }
        let refusal = if self.channels.len() >= self.config.max_channels {
            Some(Discard::TooManyChannels)
        } else if self.backlog.len() >= self.config.accept_backlog {
            Some(Discard::BacklogFull)
        } else if !backlog_room {
            Some(Discard::Refused)
        } else {
            None
        };
        if let Some(reason) = refusal {
            // Later frames of this channel would arrive without its start:
            // refuse the id until the application opens it.
            self.set_dropped(id, true);
            return self.discard(reason, 1);
        }
        let mut ch = Channel::default();
        ch.queue.push_back(payload);
        ch.bytes = cost;
        self.channels.insert(id, ch);
        self.backlog.push_back(id);
        self.backlog_bytes += cost;
        self.queued(1);
        Admit::NewChannel
    }

    /// The connection ended. Never waits: every channel then yields its
    /// queued frames, [`Recv::Failed`] once if `reason` is
    /// [`EndReason::Failed`], then [`Recv::Ended`]. A second call changes
    /// nothing.
    pub fn handle_end(&mut self, reason: EndReason) {
        self.ended.get_or_insert(reason);
    }

    /// How the connection ended, once it has.
    pub fn ended(&self) -> Option<EndReason> {
        self.ended
    }

    /// The application opens channel `id` from its side.
    ///
    /// # Errors
    /// [`Error::Closed`] once the connection has ended; [`Error::Misuse`]
    /// when `id` is open already (held, or waiting to be accepted);
    /// [`Error::LimitReached`] when `max_channels` are open. Nothing changes
    /// then.
    pub fn open(&mut self, id: ChannelId) -> Result<(), Error> {
        if let Some(reason) = self.ended {
            return Err(Error::Closed {
                reason: reason.as_str(),
            });
        }
        match self.channels.get(&id.0) {
            Some(ch) if ch.held => {
                return Err(Error::Misuse {
                    reason: "channel opened while it is open",
                })
            }
            Some(_) => {
                return Err(Error::Misuse {
                    reason: "channel opened while it waits to be accepted",
                })
            }
            None => {}
        }
        if self.channels.len() >= self.config.max_channels {
            return Err(Error::LimitReached {
                what: "open channels",
                max: self.config.max_channels as u64,
            });
        }
        self.set_dropped(id.0, false);
        self.channels.insert(
            id.0,
            Channel {
                held: true,
                ..Channel::default()
            },
        );
        Ok(())
    }

    /// The oldest channel waiting to be accepted, now held by the
    /// application.
    pub fn accept(&mut self) -> Accept {
        let Some(id) = self.backlog.pop_front() else {
            return if self.ended.is_some() || !self.accepting {
                Accept::Ended
            } else {
                Accept::Empty
            };
        };
        if let Some(ch) = self.channels.get_mut(&id) {
            ch.held = true;
            if ch.queue.len() > self.config.channel_queue {
                self.full_held += 1;
            }
            self.backlog_bytes -= ch.bytes;
            self.held_bytes += ch.bytes;
        }
        Accept::Channel(ChannelId(id))
    }

    /// The application stops accepting (its session handle is gone): the
    /// channels waiting are discarded with their frames
    /// ([`Discard::NotAccepting`]), and so are new ones from now on.
    pub fn stop_accepting(&mut self) {
        self.accepting = false;
        while let Some(id) = self.backlog.pop_front() {
            if let Some(ch) = self.channels.remove(&id) {
                self.backlog_bytes -= ch.bytes;
                self.unqueue(Discard::NotAccepting, ch.queue.len());
            }
        }
    }

    /// Takes the next frame of channel `id`, which the application holds.
    pub fn recv(&mut self, id: ChannelId) -> Recv {
        let Some(ch) = self.channels.get_mut(&id.0).filter(|ch| ch.held) else {
            return Recv::Ended;
        };
        let was_full = ch.queue.len() > self.config.channel_queue;
        if let Some(payload) = ch.queue.pop_front() {
            let cost = payload.len().saturating_add(FRAME_COST);
            ch.bytes -= cost;
            if was_full && ch.queue.len() <= self.config.channel_queue {
                self.full_held -= 1;
            }
            self.held_bytes -= cost;
            self.stats.queued -= 1;
            self.stats.delivered += 1;
            return Recv::Item(payload);
        }
        match self.ended {
            None => Recv::Empty,
            Some(EndReason::Failed) if !ch.failure_reported => {
                ch.failure_reported = true;
                Recv::Failed
            }
            Some(_) => Recv::Ended,
        }
    }

    /// The application dropped its handle of channel `id`: its queued
    /// frames are discarded ([`Discard::HandleDropped`]), and frames that
    /// arrive for it later are discarded ([`Discard::DroppedId`]) until the
    /// application opens it again.
    pub fn drop_channel(&mut self, id: ChannelId) {
        let Some(ch) = self.channels.get(&id.0).filter(|ch| ch.held) else {
            return;
        };
        if ch.queue.len() > self.config.channel_queue {
            self.full_held -= 1;
        }
        if let Some(ch) = self.channels.remove(&id.0) {
            self.held_bytes -= ch.bytes;
            self.unqueue(Discard::HandleDropped, ch.queue.len());
        }
        if self.ended.is_none() {
            self.set_dropped(id.0, true);
        }
    }

    /// Whether the shell should read the next frame: false once the
    /// connection ended, while a held channel has more than
    /// `channel_queue` frames, or while held channels hold so much that a
    /// frame of the largest size might not fit their half of the budget
    /// (backpressure). Frames of channels waiting to be accepted never make
    /// it false.
    pub fn wants_read(&self) -> bool {
        self.ended.is_none()
            && self.full_held == 0
            && (self.held_bytes == 0
                || self.held_bytes.saturating_add(self.max_cost) <= self.held_budget)
    }

    /// Channels open now: held by the application or waiting to be accepted.
    pub fn open_channels(&self) -> usize {
        self.channels.len()
    }

    /// Channels the application holds now.
    pub fn held_channels(&self) -> usize {
        self.channels.len() - self.backlog.len()
    }

    /// The counters.
    pub fn stats(&self) -> DemuxStats {
        DemuxStats {
            queued_bytes: self.queued_bytes() as u64,
            ..self.stats
        }
    }

    /// Verifies the accounting against the tables (for tests and fuzz
    /// targets; linear in the frames queued).
    ///
    /// # Errors
    /// [`Error::Internal`] naming the first invariant that does not hold.
    pub fn check(&self) -> Result<(), Error> {
        let s = &self.stats;
        let fail = |reason| Err(Error::Internal { reason });
        if s.received != s.delivered + s.discarded + s.queued {
            return fail("received != delivered + discarded + queued");
        }
        if s.discarded != s.discarded_by.iter().sum::<u64>() {
            return fail("discarded != sum of its reasons");
        }
        let (mut frames, mut held, mut backlog, mut full) = (0u64, 0usize, 0usize, 0usize);
        for ch in self.channels.values() {
            let bytes: usize = ch.queue.iter().map(|p| p.len() + FRAME_COST).sum();
            if bytes != ch.bytes {
                return fail("channel bytes != sum of its queue");
            }
            frames += ch.queue.len() as u64;
            if ch.held {
                held += ch.bytes;
                full += usize::from(ch.queue.len() > self.config.channel_queue);
            } else {
                backlog += ch.bytes;
                if ch.queue.len() > self.config.channel_queue {
                    return fail("backlog channel over its queue");
                }
            }
        }
        if frames != s.queued || held != self.held_bytes || backlog != self.backlog_bytes {
            return fail("queued frames or bytes != sum of the channels");
        }
        if full != self.full_held {
            return fail("full channel count");
        }
        if self.backlog.len() != self.channels.values().filter(|c| !c.held).count() {
            return fail("backlog != channels not held");
        }
        if backlog > self.backlog_budget || self.queued_bytes() > self.config.budget {
            return fail("over the budget");
        }
        Ok(())
    }

    fn queued_bytes(&self) -> usize {
        self.held_bytes + self.backlog_bytes
    }

    fn queued(&mut self, frames: u64) {
        self.stats.queued += frames;
        let now = self.queued_bytes() as u64;
        self.stats.peak_queued_bytes = self.stats.peak_queued_bytes.max(now);
    }

    /// Counts `frames` that were queued as discarded.
    fn unqueue(&mut self, reason: Discard, frames: usize) {
        self.stats.queued -= frames as u64;
        self.count_discarded(reason, frames as u64);
    }

    fn discard(&mut self, reason: Discard, frames: u64) -> Admit {
        self.count_discarded(reason, frames);
        Admit::Discarded(reason)
    }

    fn count_discarded(&mut self, reason: Discard, frames: u64) {
        self.stats.discarded += frames;
        self.stats.discarded_by[reason.index()] += frames;
    }

    /// Discards a backlog channel whole and drops its id.
    fn refuse(&mut self, id: u16) {
        if let Some(ch) = self.channels.remove(&id) {
            self.backlog.retain(|&b| b != id);
            self.backlog_bytes -= ch.bytes;
            self.unqueue(Discard::Refused, ch.queue.len());
        }
        self.set_dropped(id, true);
    }

    fn is_dropped(&self, id: u16) -> bool {
        self.dropped[usize::from(id / 64)] & (1 << (id % 64)) != 0
    }

    fn set_dropped(&mut self, id: u16, on: bool) {
        let word = &mut self.dropped[usize::from(id / 64)];
        if on {
            *word |= 1 << (id % 64);
        } else {
            *word &= !(1 << (id % 64));
        }
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::ErrorKind;

    const A: ChannelId = ChannelId(1);
    const B: ChannelId = ChannelId(2);

    fn frame(n: usize) -> Bytes {
        Bytes::from(vec![n as u8; n])
    }

    fn small() -> DemuxConfig {
        DemuxConfig {
            max_channels: 4,
            accept_backlog: 2,
            channel_queue: 2,
            budget: 0,
            max_payload_len: 100,
        }
    }

    /// Every step of every test ends with the invariants holding.
    fn checked(demux: &Demux) -> DemuxStats {
        if let Err(e) = demux.check() {
            panic!("{e}: {demux:#?}");
        }
        demux.stats()
    }

    #[test]
    fn frames_on_an_open_channel_are_delivered_in_order() {
        let mut d = Demux::new(small());
        d.open(A).unwrap();
        assert_eq!(d.recv(A), Recv::Empty);
        assert_eq!(d.handle_frame(A, frame(1)), Admit::Queued);
        assert_eq!(d.handle_frame(A, frame(2)), Admit::Queued);
        checked(&d);
        assert_eq!(d.recv(A), Recv::Item(frame(1)));
        assert_eq!(checked(&d).queued_bytes, (2 + FRAME_COST) as u64);
        assert_eq!(d.recv(A), Recv::Item(frame(2)));
        assert_eq!(d.recv(A), Recv::Empty);
        let s = checked(&d);
        assert_eq!(
            (s.received, s.delivered, s.discarded, s.queued),
            (2, 2, 0, 0)
        );
        let peak = (3 + 2 * FRAME_COST) as u64;
        assert_eq!((s.queued_bytes, s.peak_queued_bytes), (0, peak));
    }

    #[test]
    fn open_reports_misuse_and_the_channel_limit() {
        let mut d = Demux::new(small());
        d.open(A).unwrap();
        assert_eq!(d.open(A).unwrap_err().kind(), ErrorKind::Misuse);
        assert_eq!(d.handle_frame(B, frame(1)), Admit::NewChannel);
        assert_eq!(d.open(B).unwrap_err().kind(), ErrorKind::Misuse);
        d.open(ChannelId(3)).unwrap();
        d.open(ChannelId(4)).unwrap();
        let err = d.open(ChannelId(5)).unwrap_err();
        assert!(matches!(err, Error::LimitReached { max: 4, .. }), "{err}");
        d.handle_end(EndReason::PeerClosed);
        assert_eq!(d.open(ChannelId(6)).unwrap_err().kind(), ErrorKind::Closed);
        assert_eq!(d.open_channels(), 4);
        checked(&d);
    }

    #[test]
    fn peer_started_channels_are_admitted_up_to_the_bounds() {
        let mut d = Demux::new(small());
        d.open(ChannelId(10)).unwrap();
        assert_eq!(d.handle_frame(A, frame(1)), Admit::NewChannel);
        assert_eq!(d.handle_frame(A, frame(1)), Admit::Backlogged);
        assert_eq!(d.handle_frame(B, frame(1)), Admit::NewChannel);
        // The backlog (2) is full: a third new channel is refused, and its
        // id stays refused even once there is room.
        let c = ChannelId(3);
        assert_eq!(
            d.handle_frame(c, frame(1)),
            Admit::Discarded(Discard::BacklogFull)
        );
        assert_eq!(d.accept(), Accept::Channel(A));
        assert_eq!(
            d.handle_frame(c, frame(1)),
            Admit::Discarded(Discard::DroppedId)
        );
        // Four open (10, A, B and a new one): the next is over max_channels.
        assert_eq!(d.handle_frame(ChannelId(4), frame(1)), Admit::NewChannel);
        let over = d.handle_frame(ChannelId(5), frame(1));
        assert_eq!(over, Admit::Discarded(Discard::TooManyChannels));
        let s = checked(&d);
        assert_eq!(s.discarded_for(Discard::BacklogFull), 1);
        assert_eq!(s.discarded_for(Discard::DroppedId), 1);
        assert_eq!(s.discarded_for(Discard::TooManyChannels), 1);
        assert_eq!(s.queued, 4);
    }

    #[test]
    fn a_backlog_channel_over_its_queue_is_refused_whole() {
        let mut d = Demux::new(small());
        assert_eq!(d.handle_frame(A, frame(5)), Admit::NewChannel);
        assert_eq!(d.handle_frame(A, frame(6)), Admit::Backlogged);
        assert!(d.wants_read(), "an unaccepted channel never stops reading");
        assert_eq!(
            d.handle_frame(A, frame(7)),
            Admit::Discarded(Discard::Refused)
        );
        assert!(d.wants_read());
        assert_eq!(d.accept(), Accept::Empty);
        let s = checked(&d);
        assert_eq!(s.discarded_for(Discard::Refused), 3);
        assert_eq!((s.queued, s.queued_bytes), (0, 0));
        // Refused means dropped: later frames are discarded until opened.
        assert_eq!(
            d.handle_frame(A, frame(1)),
            Admit::Discarded(Discard::DroppedId)
        );
        d.open(A).unwrap();
        assert_eq!(d.handle_frame(A, frame(1)), Admit::Queued);
        checked(&d);
    }

    #[test]
    fn the_backlog_holds_at_most_half_the_budget() {
        // Budget raised to two 100-byte frames: 132 bytes for the backlog.
        let mut d = Demux::new(DemuxConfig {
            accept_backlog: 8,
            channel_queue: 8,
            ..small()
        });
        assert_eq!(d.config().budget, 2 * (100 + FRAME_COST));
        assert_eq!(d.handle_frame(A, frame(50)), Admit::NewChannel);
        assert_eq!(d.handle_frame(B, frame(10)), Admit::NewChannel);
        // 50 + 10 + 1 + 3 × 32 = 157 > 132 would not fit: B is refused.
        assert_eq!(
            d.handle_frame(B, frame(1)),
            Admit::Discarded(Discard::Refused)
        );
        let new = d.handle_frame(ChannelId(3), frame(100));
        assert_eq!(new, Admit::Discarded(Discard::Refused));
        let s = checked(&d);
        assert_eq!((s.queued, s.discarded), (1, 3));
        assert!(d.wants_read());
    }

    #[test]
    fn held_channels_stop_reading_at_their_half_of_the_budget() {
        let mut d = Demux::new(DemuxConfig {
            channel_queue: 8,
            budget: 1000,
            ..small()
        });
        d.open(A).unwrap();
        d.open(B).unwrap();
        // Held half: 500 bytes; a frame costs at most 132.
        let mut sent = 0;
        while d.wants_read() {
            assert_eq!(
                d.handle_frame(if sent % 2 == 0 { A } else { B }, frame(100)),
                Admit::Queued
            );
            sent += 1;
        }
        assert_eq!(sent, 3, "3 × 132 = 396; a fourth might not fit in 500");
        let s = checked(&d);
        assert!(s.queued_bytes <= 500);
        assert_eq!(d.recv(B), Recv::Item(frame(100)));
        assert!(d.wants_read(), "reading frees room");
        checked(&d);
    }

    #[test]
    fn a_full_held_queue_stops_reading_until_it_is_read() {
        let mut d = Demux::new(DemuxConfig {
            budget: 10_000,
            ..small()
        });
        d.open(A).unwrap();
        d.handle_frame(A, frame(1));
        d.handle_frame(A, frame(1));
        assert!(d.wants_read(), "channel_queue (2) frames queued");
        d.handle_frame(A, frame(1));
        assert!(!d.wants_read(), "one more than channel_queue");
        assert_eq!(d.recv(A), Recv::Item(frame(1)));
        assert!(d.wants_read());
        // An accepted backlog channel (at most channel_queue frames) does
        // not stop reading until it has one more.
        d.handle_frame(B, frame(1));
        d.handle_frame(B, frame(1));
        assert_eq!(d.accept(), Accept::Channel(B));
        assert!(d.wants_read());
        d.handle_frame(B, frame(1));
        assert!(!d.wants_read());
        d.drop_channel(B);
        assert!(d.wants_read(), "dropping frees room");
        checked(&d);
    }

    #[test]
    fn dropping_a_handle_counts_its_queued_frames_and_drops_the_id() {
        let mut d = Demux::new(small());
        d.open(A).unwrap();
        d.handle_frame(A, frame(1));
        d.handle_frame(A, frame(2));
        assert_eq!(d.recv(A), Recv::Item(frame(1)));
        d.drop_channel(A);
        let s = checked(&d);
        assert_eq!(
            (s.delivered, s.discarded_for(Discard::HandleDropped)),
            (1, 1)
        );
        assert_eq!(
            d.handle_frame(A, frame(3)),
            Admit::Discarded(Discard::DroppedId)
        );
        assert_eq!(d.recv(A), Recv::Ended);
        // Reopened: frames are wanted again.
        d.open(A).unwrap();
        assert_eq!(d.handle_frame(A, frame(4)), Admit::Queued);
        assert_eq!(d.recv(A), Recv::Item(frame(4)));
        let s = checked(&d);
        assert_eq!((s.received, s.delivered, s.discarded), (4, 2, 2));
    }

    #[test]
    fn stopping_accepting_discards_the_backlog_and_new_channels() {
        let mut d = Demux::new(small());
        d.handle_frame(A, frame(1));
        d.handle_frame(A, frame(1));
        d.handle_frame(B, frame(1));
        d.stop_accepting();
        assert_eq!(d.accept(), Accept::Ended);
        let late = d.handle_frame(ChannelId(9), frame(1));
        assert_eq!(late, Admit::Discarded(Discard::NotAccepting));
        let s = checked(&d);
        assert_eq!(s.discarded_for(Discard::NotAccepting), 4);
        assert_eq!((s.queued, d.open_channels()), (0, 0));
    }

    #[test]
    fn a_failed_connection_ends_every_channel_after_its_queued_frames() {
        // Fault 1 of issue 11, in the core: channel 1's queue is full when
        // the connection fails; ending waits on nothing.
        let mut d = Demux::new(small());
        d.open(A).unwrap();
        d.open(B).unwrap();
        d.handle_frame(A, frame(1));
        d.handle_frame(A, frame(2));
        d.handle_end(EndReason::Failed);
        d.handle_end(EndReason::PeerClosed);
        assert_eq!(d.ended(), Some(EndReason::Failed), "the first end counts");
        assert_eq!(d.recv(B), Recv::Failed);
        assert_eq!(d.recv(B), Recv::Ended);
        assert_eq!(d.recv(A), Recv::Item(frame(1)));
        assert_eq!(d.recv(A), Recv::Item(frame(2)));
        assert_eq!(d.recv(A), Recv::Failed);
        assert_eq!(d.recv(A), Recv::Ended);
        assert_eq!(d.accept(), Accept::Ended);
        assert!(!d.wants_read());
        let after = d.handle_frame(A, frame(3));
        assert_eq!(after, Admit::Discarded(Discard::AfterEnd));
        checked(&d);
    }

    #[test]
    fn a_clean_end_leaves_the_backlog_acceptable() {
        let mut d = Demux::new(small());
        d.handle_frame(A, frame(1));
        d.handle_end(EndReason::PeerClosed);
        assert_eq!(d.accept(), Accept::Channel(A));
        assert_eq!(d.recv(A), Recv::Item(frame(1)));
        assert_eq!(d.recv(A), Recv::Ended, "a clean end reports no failure");
        assert_eq!(d.accept(), Accept::Ended);
        // Dropping after the end does not drop the id (nothing more comes).
        d.drop_channel(A);
        let s = checked(&d);
        assert_eq!((s.received, s.delivered), (1, 1));
    }

    #[test]
    fn empty_frames_cost_their_queue_entry() {
        let mut d = Demux::new(DemuxConfig {
            channel_queue: 1000,
            budget: 0,
            ..small()
        });
        d.open(A).unwrap();
        let mut n = 0;
        while d.wants_read() {
            d.handle_frame(A, Bytes::new());
            n += 1;
        }
        // Held half of the raised budget is 132 bytes; stop when fewer
        // than 132 are left.
        assert_eq!(n, 1);
        assert_eq!(checked(&d).queued_bytes, FRAME_COST as u64);
    }
}
