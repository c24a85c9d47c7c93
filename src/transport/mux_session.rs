//! A mux session: many logical channels over one byte stream (spec mux §10).
//!
//! [`MuxSession::new`] takes any `AsyncRead + AsyncWrite` and spawns two
//! tasks: a reader that routes incoming frames to their channel, and one
//! writer that sends the frames of every channel. Channels are
//! [`MuxChannel`] handles, each a `Stream` of received payloads and a
//! `Sink<Bytes>` for sending. A `Stream`/`Sink` pair rather than
//! `AsyncRead`/`AsyncWrite` because the format keeps message boundaries
//! (each frame is one payload) and the handles then compose with
//! `tokio_util::codec` adapters and `futures` combinators directly.
//!
//! ## Policies (spec mux §10)
//! - **Slow readers:** each channel has a bounded receive queue
//!   ([`MuxConfig::channel_queue`] frames). When it is full the reader task
//!   waits, which stops reading the connection: backpressure reaches the
//!   peer through TCP, and nothing is dropped. The base format has no
//!   per-channel flow control, so this is the only lossless choice; its
//!   cost is that one channel whose reader stalls stalls the others.
//! - **Channels the peer starts:** the first frame on an id that is not open
//!   creates a channel, handed out by [`MuxSession::accept`]. At most
//!   [`MuxConfig::max_channels`] are open at once and at most
//!   [`MuxConfig::accept_backlog`] wait to be accepted; a frame that would
//!   exceed either is discarded and counted ([`MuxStats::discarded`]).
//! - **Dropped channels:** dropping a handle releases its id. Frames that
//!   arrive for it afterwards are discarded and counted, until the
//!   application opens the id again.
//! - **Large writes** are split into frames of at most 65,535 bytes, and
//!   the receiving channel yields each frame as its own item: a 70,000-byte
//!   send arrives as two payloads (the format has no message boundary
//!   larger than a frame).
//! - **Fairness:** frames from all channels go through one queue that
//!   channels enter one frame at a time, so a large write does not hold the
//!   connection while other channels wait; the writer sends every frame
//!   queued at once in one write.
//! - **Failure:** when the connection fails or ends, every channel's stream
//!   ends (with an [`Error::Closed`] item first if it failed), and sends fail.
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
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

use bytes::Bytes;
use futures::{Sink, Stream, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio_util::codec::FramedRead;
use tokio_util::sync::PollSender;
use tracing::debug;

use crate::mux::{self, ChannelId, MuxFrameBuf};
use crate::transport::codec::MuxCodec;
use crate::transport::write_batch::WriteBatch;
use crate::Error;

/// Session settings.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct MuxConfig {
    /// What the reader enforces on incoming frames.
    pub limits: mux::Limits,
    /// Frames each channel buffers before the session stops reading.
    pub channel_queue: usize,
    /// Channels open at once (opened and accepted).
    pub max_channels: usize,
    /// Peer-started channels waiting for [`MuxSession::accept`].
    pub accept_backlog: usize,
    /// Frames queued for the writer, across all channels.
    pub write_queue: usize,
}

impl Default for MuxConfig {
    fn default() -> Self {
        MuxConfig {
            limits: mux::Limits::default(),
            channel_queue: 32,
            max_channels: 1024,
            accept_backlog: 64,
            write_queue: 256,
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
}

/// Counters of a session.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct MuxStats {
    /// Frames received and delivered to a channel's queue.
    pub delivered: u64,
    /// Frames received and discarded (dropped channel, too many channels,
    /// accept backlog full).
    pub discarded: u64,
    /// Frames written.
    pub written: u64,
}

type Inbound = mpsc::Sender<Result<Bytes, Error>>;

struct State {
    open: HashMap<u16, Inbound>,
    /// Ids whose handle the application dropped (one bit per id).
    dropped: Box<[u64; 1024]>,
    /// Why the connection ended, once it has.
    ended: Option<&'static str>,
}

impl State {
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

struct Shared {
    state: Mutex<State>,
    config: MuxConfig,
    delivered: AtomicU64,
    discarded: AtomicU64,
    written: AtomicU64,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A poisoned lock only means another task panicked mid-update of
        // plain maps; the data is still usable.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// One end of a multiplexed connection.
pub struct MuxSession {
    shared: Arc<Shared>,
    writer: mpsc::Sender<MuxFrameBuf>,
    accept: mpsc::Receiver<MuxChannel>,
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
    pub fn new<T>(io: T, config: MuxConfig) -> MuxSession
    where
        T: AsyncRead + AsyncWrite + Send + 'static,
    {
        let (read, write) = tokio::io::split(io);
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                open: HashMap::new(),
                dropped: Box::new([0; 1024]),
                ended: None,
            }),
            config: config.clone(),
            delivered: AtomicU64::new(0),
            discarded: AtomicU64::new(0),
            written: AtomicU64::new(0),
        });
        let (writer_tx, writer_rx) = mpsc::channel(config.write_queue.max(1));
        let (accept_tx, accept_rx) = mpsc::channel(config.accept_backlog.max(1));
        tokio::spawn(read_loop(
            FramedRead::new(read, MuxCodec::new(config.limits)),
            shared.clone(),
            // Weak: the writer stops (and the connection closes) once the
            // session handle and every channel are gone.
            writer_tx.downgrade(),
            accept_tx,
        ));
        tokio::spawn(write_loop(write, writer_rx, shared.clone()));
        MuxSession {
            shared,
            writer: writer_tx,
            accept: accept_rx,
        }
    }

    /// Opens channel `id` from this side.
    ///
    /// # Errors
    /// [`Error::InvalidField`] when the id is already open or
    /// [`MuxConfig::max_channels`] are open; [`Error::Closed`] when the
    /// connection has ended.
    pub fn open(&self, id: ChannelId) -> Result<MuxChannel, Error> {
        let mut state = self.shared.lock();
        if let Some(reason) = state.ended {
            return Err(Error::Closed { reason });
        }
        if state.open.contains_key(&id.0) {
            return Err(Error::InvalidField {
                field: "channel",
                reason: "already open",
                section: "mux/10",
            });
        }
        if state.open.len() >= self.shared.config.max_channels {
            return Err(Error::InvalidField {
                field: "channel",
                reason: "too many open channels",
                section: "mux/10",
            });
        }
        state.set_dropped(id.0, false);
        Ok(register(&mut state, id, &self.shared, &self.writer))
    }

    /// The next channel the peer started, or `None` once the connection
    /// has ended.
    pub async fn accept(&mut self) -> Option<MuxChannel> {
        self.accept.recv().await
    }

    /// The session's counters.
    pub fn stats(&self) -> MuxStats {
        MuxStats {
            delivered: self.shared.delivered.load(Ordering::Relaxed),
            discarded: self.shared.discarded.load(Ordering::Relaxed),
            written: self.shared.written.load(Ordering::Relaxed),
        }
    }

    /// Number of channels open now.
    pub fn open_channels(&self) -> usize {
        self.shared.lock().open.len()
    }
}

fn register(
    state: &mut State,
    id: ChannelId,
    shared: &Arc<Shared>,
    writer: &mpsc::Sender<MuxFrameBuf>,
) -> MuxChannel {
    let (tx, rx) = mpsc::channel(shared.config.channel_queue.max(1));
    state.open.insert(id.0, tx);
    MuxChannel {
        id,
        inbound: rx,
        outbound: PollSender::new(writer.clone()),
        unsent: Vec::new().into_iter(),
        shared: shared.clone(),
    }
}

async fn read_loop<R: AsyncRead + Unpin>(
    mut frames: FramedRead<R, MuxCodec>,
    shared: Arc<Shared>,
    writer: mpsc::WeakSender<MuxFrameBuf>,
    accept: mpsc::Sender<MuxChannel>,
) {
    let reason = loop {
        let frame = match frames.next().await {
            None => break "connection closed by peer",
            Some(Err(e)) => {
                debug!(error = %e, "mux connection failed");
                break "mux connection failed";
            }
            Some(Ok(frame)) => frame,
        };
        let id = frame.channel.0;
        let mut refused = None;
        let target = {
            let mut state = shared.lock();
            match state.open.get(&id) {
                Some(tx) => Some(tx.clone()),
                None if state.is_dropped(id) => None,
                None if state.open.len() >= shared.config.max_channels => None,
                // A full backlog refuses the new channel (and its frame).
                None if accept.capacity() == 0 => None,
                None => match writer.upgrade() {
                    // Nobody can send any more: the session is going away.
                    None => None,
                    Some(writer) => {
                        let channel = register(&mut state, frame.channel, &shared, &writer);
                        let tx = state.open.get(&id).cloned();
                        match accept.try_send(channel) {
                            Ok(()) => tx,
                            Err(e) => {
                                // Only when the session handle is gone.
                                refused = Some(e);
                                None
                            }
                        }
                    }
                },
            }
        };
        // Dropped outside the lock: a channel's `Drop` takes it.
        drop(refused);
        let delivered = match target {
            // Waiting here is the backpressure policy: a full channel queue
            // stops the reading of the whole connection.
            Some(tx) => tx.send(Ok(frame.payload)).await.is_ok(),
            None => false,
        };
        let counter = if delivered {
            &shared.delivered
        } else {
            &shared.discarded
        };
        counter.fetch_add(1, Ordering::Relaxed);
    };
    let failed = reason != "connection closed by peer";
    let senders: Vec<Inbound> = {
        let mut state = shared.lock();
        state.ended = Some(reason);
        state.open.drain().map(|(_, tx)| tx).collect()
    };
    for tx in senders {
        if failed {
            let _ = tx.send(Err(Error::Closed { reason })).await;
        }
    }
}

async fn write_loop<W: AsyncWrite + Unpin>(
    mut write: W,
    mut frames: mpsc::Receiver<MuxFrameBuf>,
    shared: Arc<Shared>,
) {
    // Small frames coalesce into one write; 64 KiB payloads go out uncopied.
    let mut batch = WriteBatch::new();
    while let Some(frame) = frames.recv().await {
        // MuxChannel never queues a frame the format cannot carry.
        let mut count = u64::from(batch.push(&frame).is_ok());
        // Everything already queued goes out in the same write.
        while batch.len() < 256 * 1024 {
            match frames.try_recv() {
                Ok(frame) => count += u64::from(batch.push(&frame).is_ok()),
                Err(_) => break,
            }
        }
        if let Err(e) = batch.write_to(&mut write).await {
            debug!(error = %e, "mux write failed");
            break;
        }
        shared.written.fetch_add(count, Ordering::Relaxed);
    }
    let _ = write.shutdown().await;
}

/// One logical channel of a [`MuxSession`].
pub struct MuxChannel {
    id: ChannelId,
    inbound: mpsc::Receiver<Result<Bytes, Error>>,
    outbound: PollSender<MuxFrameBuf>,
    unsent: std::vec::IntoIter<MuxFrameBuf>,
    shared: Arc<Shared>,
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

    /// Queues the frames of the last `start_send` one at a time.
    fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        while self.unsent.len() > 0 {
            match self.outbound.poll_reserve(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Err(_)) => return Poll::Ready(Err(closed(&self.shared))),
                Poll::Ready(Ok(())) => {}
            }
            if let Some(frame) = self.unsent.next() {
                if self.outbound.send_item(frame).is_err() {
                    return Poll::Ready(Err(closed(&self.shared)));
                }
            }
        }
        Poll::Ready(Ok(()))
    }
}

fn closed(shared: &Shared) -> Error {
    Error::Closed {
        reason: shared.lock().ended.unwrap_or("mux session closed"),
    }
}

impl Stream for MuxChannel {
    type Item = Result<Bytes, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inbound.poll_recv(cx)
    }
}

impl Sink<Bytes> for MuxChannel {
    type Error = Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.get_mut().poll_drain(cx)
    }

    fn start_send(self: Pin<&mut Self>, payload: Bytes) -> Result<(), Error> {
        let this = self.get_mut();
        // Splitting keeps each frame within the u16 length (the guide's
        // sender truncates the length instead, spec mux §9).
        this.unsent = mux::split(this.id, payload).collect::<Vec<_>>().into_iter();
        Ok(())
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.get_mut().poll_drain(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let this = self.get_mut();
        let result = futures::ready!(this.poll_drain(cx));
        this.outbound.close();
        Poll::Ready(result)
    }
}

impl Drop for MuxChannel {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        state.open.remove(&self.id.0);
        if state.ended.is_none() {
            state.set_dropped(self.id.0, true);
        }
    }
}
