//! A mux session: many logical channels over one byte stream (spec mux §10).
//!
//! [`MuxSession::new`] takes any `AsyncRead + AsyncWrite` and spawns two
//! tasks: a reader that parses frames and hands them to the session's
//! [`Demux`] (the sans-IO core in [`session::mux`](crate::session::mux),
//! where every rule below lives), and one writer
//! ([`write_queue`]) that sends the frames of every channel. Channels are
//! [`MuxChannel`] handles, each a `Stream` of received payloads and a
//! `Sink<Bytes>` for sending. A `Stream`/`Sink` pair rather than
//! `AsyncRead`/`AsyncWrite` because the format keeps message boundaries
//! (each frame is one payload) and the handles then compose with
//! `tokio_util::codec` adapters and `futures` combinators directly.
//!
//! This file is a shell: it moves frames between the connection and the
//! core and wakes the tasks waiting on them; no table or queue of channels
//! lives in a task.
//!
//! ## Policies (spec mux §10)
//! - **Memory** is bounded in bytes: one budget ([`MuxConfig::budget`],
//!   default 4 MiB) over every channel's queue and the accept backlog, as
//!   the [`Demux`] docs describe. Payloads shorter than half the largest
//!   frame are copied out of the read buffer (shared, each would keep its
//!   whole buffer alive while the budget counts its length); longer ones
//!   are kept without a copy and keep about twice their length alive, so
//!   memory stays within about twice the budget in the worst case.
//! - **Slow readers:** when the channels the application holds are at their
//!   half of the budget, or one has [`MuxConfig::channel_queue`] frames
//!   queued, the reader stops reading the connection: backpressure reaches
//!   the peer through TCP, and nothing is dropped. The base format has no
//!   per-channel flow control, so this is the only lossless choice; its
//!   cost is that one channel whose reader stalls stalls the others.
//! - **Channels the peer starts:** the first frame on an id that is not open
//!   creates a channel, handed out by [`MuxSession::accept`]. At most
//!   [`MuxConfig::max_channels`] are open at once and at most
//!   [`MuxConfig::accept_backlog`] wait to be accepted; a channel waiting
//!   to be accepted never stops the reading: when its frames do not fit (its
//!   queue, or the backlog's half of the budget), it is refused whole and its
//!   frames are counted discarded ([`MuxStats::discarded`]).
//! - **Dropped channels:** dropping a handle releases its id; its queued
//!   frames, and frames that arrive for it afterwards, are discarded and
//!   counted, until the application opens the id again.
//! - **Large writes** are split into frames of at most the session's
//!   [`mux::Limits::max_payload_len`] (a peer configured like this session
//!   accepts them), and the receiving channel yields each frame as its own
//!   item: a 70,000-byte send arrives as two payloads under the default
//!   limit (the format has no message boundary larger than a frame).
//! - **Fairness:** frames from all channels go through one queue that
//!   channels enter one frame at a time, so a large write does not hold the
//!   connection while other channels wait; the writer sends every frame
//!   queued at once in one write ([`write_queue`]).
//! - **Failure:** when the connection fails or ends, every channel's stream
//!   yields what it had queued, then ends (with an [`Error::Closed`] item
//!   first if it failed); ending never waits on a queue.
//!
//! ## Drop and close
//! - Dropping every handle (the session and every channel) closes the
//!   connection: the writer writes what is queued, then shuts the write side
//!   down, and the reader stops.
//! - Dropping the [`MuxSession`] alone stops accepting: channels waiting in
//!   the backlog are discarded (counted), the live channels keep working.
//! - [`MuxSession::flush`] and a channel's `SinkExt::close` wait until the
//!   frames queued before them are written to the connection, not only
//!   queued; [`MuxSession::close`] also waits for the shutdown of the write
//!   side when no channel is left. A channel's `SinkExt::flush` (and so
//!   `send`) waits only until its frames are in the session's write queue,
//!   so that consecutive sends pipeline (waiting for each write cost about
//!   half the throughput in the loopback benchmark).
//! - If the runtime shuts down first, the session's tasks are dropped with
//!   it: frames still queued for the writer are not written, the write side
//!   is not shut down, sends fail with [`Error::Closed`], and every
//!   channel's stream reports the connection as failed.
//!
//! ## Tracing
//! Events go to the target `wireforms::transport::mux_session`, inside one
//! span per session, `mux_session` with the field `id` (a number per
//! session of the process, from 1), so the events of many sessions can be
//! told apart.
//!
//! ```
//! use futures::{SinkExt, StreamExt};
//! use wireforms::mux::ChannelId;
//! use wireforms::transport::mux_session::{MuxConfig, MuxSession};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), wireforms::Error> {
//! let (a, b) = tokio::io::duplex(1 << 16);
//! let a = MuxSession::new(a, MuxConfig::default());
//! let mut b = MuxSession::new(b, MuxConfig::default());
//! let mut ch = a.open(ChannelId(7))?;
//! ch.send("hello".into()).await?;
//! let mut incoming = b.accept().await.expect("a channel");
//! assert_eq!(incoming.id(), ChannelId(7));
//! assert_eq!(incoming.next().await.transpose()?.as_deref(), Some(&b"hello"[..]));
//! # Ok(()) }
//! ```

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use futures::{Sink, Stream, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, Notify};
use tokio_util::codec::FramedRead;
use tokio_util::sync::{CancellationToken, PollSender};
use tracing::{debug, info_span, Instrument};

use crate::mux::{self, ChannelId, MuxFrameBuf};
use crate::session::mux::{
    Accept, Admit, Demux, DemuxConfig, DemuxStats, Discard, EndReason, Recv,
    DEFAULT_ACCEPT_BACKLOG, DEFAULT_BUDGET, DEFAULT_CHANNEL_QUEUE, DEFAULT_MAX_CHANNELS,
};
use crate::transport::codec::MuxCodec;
use crate::transport::write_batch::{write_queue, SHARE_FROM};
use crate::Error;

/// Session settings.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct MuxConfig {
    /// What the reader enforces on incoming frames; also the largest frame
    /// the session sends.
    pub limits: mux::Limits,
    /// Frames each channel queues; a held channel with this many stops the
    /// reading.
    pub channel_queue: usize,
    /// Channels open at once (opened, accepted, or waiting to be accepted).
    pub max_channels: usize,
    /// Peer-started channels waiting for [`MuxSession::accept`].
    pub accept_backlog: usize,
    /// Frames queued for the writer, across all channels.
    pub write_queue: usize,
    /// Bytes queued for the application, over every channel and the accept
    /// backlog (see [`Demux`]).
    pub budget: usize,
}

impl Default for MuxConfig {
    fn default() -> Self {
        MuxConfig {
            limits: mux::Limits::default(),
            channel_queue: DEFAULT_CHANNEL_QUEUE,
            max_channels: DEFAULT_MAX_CHANNELS,
            accept_backlog: DEFAULT_ACCEPT_BACKLOG,
            write_queue: 256,
            budget: DEFAULT_BUDGET,
        }
    }
}

impl MuxConfig {
    /// Sets [`channel_queue`](MuxConfig::channel_queue) (at least 1).
    pub fn channel_queue(mut self, frames: usize) -> Self {
        self.channel_queue = frames.max(1);
        self
    }
    /// Sets [`max_channels`](MuxConfig::max_channels).
    pub fn max_channels(mut self, n: usize) -> Self {
        self.max_channels = n;
        self
    }
    /// Sets [`accept_backlog`](MuxConfig::accept_backlog) (at least 1).
    pub fn accept_backlog(mut self, n: usize) -> Self {
        self.accept_backlog = n.max(1);
        self
    }
    /// Sets [`budget`](MuxConfig::budget) (raised to two frames of the
    /// largest payload if lower).
    pub fn budget(mut self, bytes: usize) -> Self {
        self.budget = bytes;
        self
    }

    fn demux(&self) -> DemuxConfig {
        DemuxConfig {
            max_channels: self.max_channels,
            accept_backlog: self.accept_backlog.max(1),
            channel_queue: self.channel_queue.max(1),
            budget: self.budget,
            max_payload_len: usize::from(self.limits.max_payload_len),
        }
    }
}

/// Counters of a session. Every frame received is, exactly once, delivered,
/// discarded or still queued: `received == delivered + discarded + queued`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct MuxStats {
    /// Frames received and taken by the application.
    pub delivered: u64,
    /// Frames received and discarded (dropped channel, refused channel, too
    /// many channels, backlog full, not accepting).
    pub discarded: u64,
    /// Frames written.
    pub written: u64,
    /// Frames received.
    pub received: u64,
    /// Frames received and still queued.
    pub queued: u64,
    /// Bytes queued now, as charged against [`MuxConfig::budget`].
    pub queued_bytes: u64,
    /// The most bytes queued at once so far.
    pub peak_queued_bytes: u64,
    /// Frames discarded, by reason, in the order of [`Discard::ALL`].
    pub discarded_by: [u64; 7],
}

impl MuxStats {
    /// Frames discarded for `reason`.
    pub fn discarded_for(&self, reason: Discard) -> u64 {
        let index = Discard::ALL.iter().position(|r| *r == reason);
        index.map_or(0, |i| self.discarded_by[i])
    }

    fn new(demux: DemuxStats, written: u64) -> MuxStats {
        MuxStats {
            delivered: demux.delivered,
            discarded: demux.discarded,
            written,
            received: demux.received,
            queued: demux.queued,
            queued_bytes: demux.queued_bytes,
            peak_queued_bytes: demux.peak_queued_bytes,
            discarded_by: demux.discarded_by,
        }
    }
}

/// How the writer ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum WriterEnd {
    /// Every handle gone, everything written, the write side shut down.
    ShutDown,
    /// A write failed, or the task was dropped with its runtime.
    Failed,
}

struct State {
    demux: Demux,
    /// Channel streams waiting for a frame.
    readers: HashMap<u16, Waker>,
    acceptor: Option<Waker>,
    /// Tasks waiting for the writer's progress.
    flushers: Vec<Waker>,
    /// Frames handed to the writer so far (a frame's sequence number).
    frames_queued: u64,
    /// Frames written so far; frame `n` is written once `written >= n`.
    written: u64,
    writer_end: Option<WriterEnd>,
    /// Live handles: the session and every channel.
    handles: usize,
}

impl State {
    /// Wakes every task that may make progress after the connection ended.
    fn wake_all(&mut self) {
        for (_, w) in self.readers.drain() {
            w.wake();
        }
        if let Some(w) = self.acceptor.take() {
            w.wake();
        }
    }

    fn wake_flushers(&mut self) {
        for w in self.flushers.drain(..) {
            w.wake();
        }
    }

    /// Ready once frame `seq` is written (and, with `shutdown`, once the
    /// write side is shut down).
    fn poll_written(
        &mut self,
        cx: &mut Context<'_>,
        seq: u64,
        shutdown: bool,
    ) -> Poll<Result<(), Error>> {
        match self.writer_end {
            Some(WriterEnd::Failed) if self.written < seq || shutdown => {
                return Poll::Ready(Err(Error::Closed {
                    reason: "mux connection failed",
                }))
            }
            Some(_) => return Poll::Ready(Ok(())),
            None if self.written >= seq && !shutdown => return Poll::Ready(Ok(())),
            None => {}
        }
        if !self.flushers.iter().any(|w| w.will_wake(cx.waker())) {
            self.flushers.push(cx.waker().clone());
        }
        Poll::Pending
    }

    fn closed(&self) -> Error {
        let reason = match (self.writer_end, self.demux.ended()) {
            (Some(WriterEnd::Failed), _) => "mux connection failed",
            (_, Some(end)) => end.as_str(),
            _ => "mux session closed",
        };
        Error::Closed { reason }
    }
}

struct Shared {
    state: Mutex<State>,
    /// Wakes the reader when the core has room again.
    resume_reading: Notify,
    /// Cancelled when the last handle is gone: the reader stops.
    all_gone: CancellationToken,
    /// Payloads shorter than this are copied out of the read buffer.
    copy_below: usize,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A poisoned lock only means another task panicked mid-update; the
        // core's counters are still consistent (each update is one call).
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// One handle fewer; the last one stops the reader.
    fn release(&self, state: &mut State) {
        state.handles -= 1;
        if state.handles == 0 {
            self.all_gone.cancel();
        }
    }
}

/// One end of a multiplexed connection. See the [module docs](self) for
/// what dropping it does.
pub struct MuxSession {
    shared: Arc<Shared>,
    writer: mpsc::Sender<MuxFrameBuf>,
    max_frame: usize,
}

impl std::fmt::Debug for MuxSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MuxSession")
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl MuxSession {
    /// Starts a session over `io`, spawning its reader and writer on the
    /// current tokio runtime.
    ///
    /// # Panics
    /// Outside a tokio runtime (as `tokio::spawn` does).
    pub fn new<T>(io: T, config: MuxConfig) -> MuxSession
    where
        T: AsyncRead + AsyncWrite + Send + 'static,
    {
        let (read, write) = tokio::io::split(io);
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                demux: Demux::new(config.demux()),
                readers: HashMap::new(),
                acceptor: None,
                flushers: Vec::new(),
                frames_queued: 0,
                written: 0,
                writer_end: None,
                handles: 1,
            }),
            resume_reading: Notify::new(),
            all_gone: CancellationToken::new(),
            copy_below: usize::from(config.limits.max_payload_len / 2).max(SHARE_FROM),
        });
        let (writer_tx, writer_rx) = mpsc::channel(config.write_queue.max(1));
        // Both tasks log inside one span per session, so the events of many
        // sessions in one process can be told apart.
        let span = info_span!("mux_session", id = next_session_id());
        tokio::spawn(
            read_loop(
                FramedRead::new(read, MuxCodec::new(config.limits)),
                ReaderGuard(shared.clone()),
            )
            .instrument(span.clone()),
        );
        tokio::spawn(write_loop(write, writer_rx, WriterGuard(shared.clone())).instrument(span));
        MuxSession {
            shared,
            writer: writer_tx,
            max_frame: usize::from(config.limits.max_payload_len),
        }
    }

    /// Opens channel `id` from this side.
    ///
    /// # Errors
    /// [`Error::Misuse`] when the id is open already (or waits to be
    /// accepted); [`Error::LimitReached`] when [`MuxConfig::max_channels`]
    /// are open; [`Error::Closed`] when the connection has ended.
    pub fn open(&self, id: ChannelId) -> Result<MuxChannel, Error> {
        let mut state = self.shared.lock();
        state.demux.open(id)?;
        Ok(self.channel(&mut state, id))
    }

    fn channel(&self, state: &mut State, id: ChannelId) -> MuxChannel {
        state.handles += 1;
        MuxChannel {
            id,
            shared: self.shared.clone(),
            outbound: PollSender::new(self.writer.clone()),
            unsent: None,
            max_frame: self.max_frame,
            last_queued: 0,
            reserved: false,
            send_closed: false,
        }
    }

    /// The next channel the peer started, or `None` once the connection
    /// has ended and no channel waits.
    pub async fn accept(&mut self) -> Option<MuxChannel> {
        futures::future::poll_fn(|cx| {
            let mut state = self.shared.lock();
            match state.demux.accept() {
                Accept::Channel(id) => Poll::Ready(Some(self.channel(&mut state, id))),
                Accept::Empty => {
                    state.acceptor = Some(cx.waker().clone());
                    Poll::Pending
                }
                Accept::Ended => Poll::Ready(None),
            }
        })
        .await
    }

    /// The session's counters.
    pub fn stats(&self) -> MuxStats {
        let state = self.shared.lock();
        MuxStats::new(state.demux.stats(), state.written)
    }

    /// Number of channels open now (held, or waiting to be accepted).
    pub fn open_channels(&self) -> usize {
        self.shared.lock().demux.open_channels()
    }

    /// Waits until every frame queued (by any channel) before this call is
    /// written to the connection.
    ///
    /// # Errors
    /// [`Error::Closed`] when the connection failed first.
    pub async fn flush(&self) -> Result<(), Error> {
        let seq = self.shared.lock().frames_queued;
        futures::future::poll_fn(|cx| self.shared.lock().poll_written(cx, seq, false)).await
    }

    /// Closes this handle: stops accepting (as dropping it does), then waits
    /// until every frame queued before the call is written, and, when no
    /// channel is left, until the write side is shut down (the peer sees the
    /// end). Live channels keep the connection open.
    ///
    /// # Errors
    /// [`Error::Closed`] when the connection failed first.
    pub async fn close(self) -> Result<(), Error> {
        let shared = self.shared.clone();
        let seq = shared.lock().frames_queued;
        drop(self);
        futures::future::poll_fn(|cx| {
            let mut state = shared.lock();
            let shutdown = state.handles == 0;
            state.poll_written(cx, seq, shutdown)
        })
        .await
    }
}

impl Drop for MuxSession {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        // Nobody can accept any more: the backlog is discarded, counted.
        state.demux.stop_accepting();
        state.acceptor = None;
        self.shared.release(&mut state);
    }
}

/// Ends the core when the reader stops for any reason (its task dropped
/// with the runtime included), so that no channel waits for ever.
struct ReaderGuard(Arc<Shared>);

impl ReaderGuard {
    fn end(&self, reason: EndReason) {
        let mut state = self.0.lock();
        state.demux.handle_end(reason);
        state.wake_all();
    }
}

impl Drop for ReaderGuard {
    fn drop(&mut self) {
        self.end(EndReason::Failed);
    }
}

async fn read_loop<R: AsyncRead + Unpin>(mut frames: FramedRead<R, MuxCodec>, guard: ReaderGuard) {
    let shared = &guard.0;
    let end = loop {
        // Backpressure: the core says when it has room for another frame.
        while !shared.lock().demux.wants_read() {
            tokio::select! {
                _ = shared.resume_reading.notified() => {}
                _ = shared.all_gone.cancelled() => return,
            }
        }
        let next = tokio::select! {
            next = frames.next() => next,
            _ = shared.all_gone.cancelled() => return,
        };
        let frame = match next {
            None => break EndReason::PeerClosed,
            Some(Err(e)) => {
                debug!(error = %e, "mux connection failed");
                break EndReason::Failed;
            }
            Some(Ok(frame)) => frame,
        };
        // A short payload is copied: shared, it would keep its whole read
        // buffer alive while the budget counts only its length. A long one
        // is most of its buffer and is kept without a copy.
        let payload = if frame.payload.len() < shared.copy_below {
            Bytes::copy_from_slice(&frame.payload)
        } else {
            frame.payload
        };
        let mut state = shared.lock();
        match state.demux.handle_frame(frame.channel, payload) {
            Admit::Queued => {
                if let Some(w) = state.readers.remove(&frame.channel.0) {
                    w.wake();
                }
            }
            Admit::NewChannel => {
                if let Some(w) = state.acceptor.take() {
                    w.wake();
                }
            }
            Admit::Backlogged | Admit::Discarded(_) => {}
        }
    };
    guard.end(end);
}

/// Records the writer's end when it stops for any reason.
struct WriterGuard(Arc<Shared>);

impl WriterGuard {
    fn end(&self, end: WriterEnd) {
        let mut state = self.0.lock();
        state.writer_end.get_or_insert(end);
        state.wake_flushers();
    }
}

impl Drop for WriterGuard {
    fn drop(&mut self) {
        self.end(WriterEnd::Failed);
    }
}

async fn write_loop<W: AsyncWrite + Unpin>(
    mut write: W,
    mut queue: mpsc::Receiver<MuxFrameBuf>,
    guard: WriterGuard,
) {
    let shared = &guard.0;
    let result = write_queue(&mut queue, &mut write, |frames| {
        let mut state = shared.lock();
        state.written += frames;
        state.wake_flushers();
    })
    .await;
    // Sends fail from now on.
    drop(queue);
    let end = match result {
        // Every handle is gone and everything taken was written.
        Ok(()) => match write.shutdown().await {
            Ok(()) => WriterEnd::ShutDown,
            Err(e) => {
                debug!(error = %e, "mux shutdown failed");
                WriterEnd::Failed
            }
        },
        Err(e) => {
            debug!(error = %e, "mux write failed");
            WriterEnd::Failed
        }
    };
    guard.end(end);
}

/// One logical channel of a [`MuxSession`]. Dropping it discards (and
/// counts) what it had queued and releases its id; see the [module
/// docs](self).
pub struct MuxChannel {
    id: ChannelId,
    shared: Arc<Shared>,
    outbound: PollSender<MuxFrameBuf>,
    /// What is left of the last `start_send`, sent one frame at a time.
    unsent: Option<Bytes>,
    /// Largest payload of one frame sent.
    max_frame: usize,
    /// Sequence number of the last frame this channel queued.
    last_queued: u64,
    /// `outbound` holds a place in the writer's queue.
    reserved: bool,
    send_closed: bool,
}

impl std::fmt::Debug for MuxChannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MuxChannel")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl MuxChannel {
    /// The channel's id.
    pub fn id(&self) -> ChannelId {
        self.id
    }

    /// The counters of the session this channel belongs to (readable after
    /// the [`MuxSession`] handle is gone).
    pub fn session_stats(&self) -> MuxStats {
        let state = self.shared.lock();
        MuxStats::new(state.demux.stats(), state.written)
    }

    /// Queues the frames of the last `start_send` one at a time.
    fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        while self.unsent.is_some() {
            futures::ready!(self.poll_reserve(cx))?;
            self.queue_next()?;
        }
        Poll::Ready(Ok(()))
    }

    /// Holds a place in the writer's queue for the next frame.
    fn poll_reserve(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        if !self.reserved {
            match self.outbound.poll_reserve(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Err(_)) => return Poll::Ready(Err(self.shared.lock().closed())),
                Poll::Ready(Ok(())) => self.reserved = true,
            }
        }
        Poll::Ready(Ok(()))
    }

    /// Queues the next frame of `unsent` in the place reserved for it.
    fn queue_next(&mut self) -> Result<(), Error> {
        let Some(payload) = next_chunk(&mut self.unsent, self.max_frame) else {
            return Ok(());
        };
        self.reserved = false;
        let mut state = self.shared.lock();
        // Numbered under the lock, in queue order, for `poll_flush`.
        if self
            .outbound
            .send_item(MuxFrameBuf::new(self.id, payload))
            .is_err()
        {
            return Err(state.closed());
        }
        state.frames_queued += 1;
        self.last_queued = state.frames_queued;
        Ok(())
    }

    fn send_closed() -> Error {
        Error::Closed {
            reason: "mux channel closed for sending",
        }
    }
}

impl Stream for MuxChannel {
    type Item = Result<Bytes, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let id = self.id;
        let mut state = self.shared.lock();
        match state.demux.recv(id) {
            Recv::Item(payload) => {
                let resume = state.demux.wants_read();
                drop(state);
                if resume {
                    self.shared.resume_reading.notify_one();
                }
                Poll::Ready(Some(Ok(payload)))
            }
            Recv::Empty => {
                state.readers.insert(id.0, cx.waker().clone());
                Poll::Pending
            }
            Recv::Failed => Poll::Ready(Some(Err(Error::Closed {
                reason: EndReason::Failed.as_str(),
            }))),
            Recv::Ended => Poll::Ready(None),
        }
    }
}

impl Sink<Bytes> for MuxChannel {
    type Error = Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let this = self.get_mut();
        if this.send_closed {
            return Poll::Ready(Err(MuxChannel::send_closed()));
        }
        futures::ready!(this.poll_drain(cx))?;
        this.poll_reserve(cx)
    }

    /// Splits `payload` into frames of at most the session's
    /// `max_payload_len` and queues the first in the place `poll_ready`
    /// reserved; the others are queued by the next `poll_ready` or
    /// `poll_flush` (or, as far as the queue has room, when the channel is
    /// dropped).
    ///
    /// # Errors
    /// [`Error::Closed`] after `poll_close`; [`Error::TooLarge`] for a
    /// non-empty payload when the session's `max_payload_len` is 0;
    /// [`Error::Misuse`] when the previous payload is still being queued
    /// (`poll_ready` was not called).
    fn start_send(self: Pin<&mut Self>, payload: Bytes) -> Result<(), Error> {
        let this = self.get_mut();
        if this.send_closed {
            return Err(MuxChannel::send_closed());
        }
        if this.unsent.is_some() {
            return Err(Error::Misuse {
                reason: "start_send before poll_ready was ready",
            });
        }
        if this.max_frame == 0 && !payload.is_empty() {
            return Err(Error::TooLarge {
                len: payload.len() as u64,
                max: 0,
                section: "mux/4.1",
            });
        }
        this.unsent = Some(payload);
        if this.reserved {
            this.queue_next()?;
        }
        Ok(())
    }

    /// Ready once every frame of the last `start_send` is in the session's
    /// write queue, so that consecutive sends pipeline; `poll_close` and
    /// [`MuxSession::flush`] wait for the write itself.
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.get_mut().poll_drain(cx)
    }

    /// Queues what is left, waits until every frame this channel queued is
    /// written to the connection, then refuses further sends; receiving
    /// goes on.
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let this = self.get_mut();
        if this.send_closed {
            return Poll::Ready(Ok(()));
        }
        let result = match this.poll_drain(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(Err(e)) => Err(e),
            Poll::Ready(Ok(())) => {
                let seq = this.last_queued;
                futures::ready!(this.shared.lock().poll_written(cx, seq, false))
            }
        };
        this.send_closed = true;
        this.outbound.close();
        Poll::Ready(result)
    }
}

/// The next frame's payload of the write in progress: at most `max_frame`
/// bytes, the last one possibly shorter (an empty write is one empty frame);
/// `None` once the write is all handed out.
fn next_chunk(unsent: &mut Option<Bytes>, max_frame: usize) -> Option<Bytes> {
    let rest = unsent.as_mut()?;
    if rest.len() > max_frame {
        Some(rest.split_to(max_frame))
    } else {
        unsent.take()
    }
}

impl Drop for MuxChannel {
    fn drop(&mut self) {
        // The rest of a large write, as far as the writer's queue has room.
        while let Some(writer) = self.outbound.get_ref().filter(|_| self.unsent.is_some()) {
            let Some(payload) = next_chunk(&mut self.unsent, self.max_frame) else {
                break;
            };
            let mut state = self.shared.lock();
            if writer.try_send(MuxFrameBuf::new(self.id, payload)).is_err() {
                break;
            }
            state.frames_queued += 1;
        }
        let mut state = self.shared.lock();
        state.demux.drop_channel(self.id);
        state.readers.remove(&self.id.0);
        let resume = state.demux.wants_read();
        self.shared.release(&mut state);
        drop(state);
        if resume {
            self.shared.resume_reading.notify_one();
        }
    }
}

/// A number for each session of this process, from 1, for its span.
fn next_session_id() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}
