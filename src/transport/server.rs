//! Shared server machinery: accept loop, connection limit, timeouts, socket
//! options and graceful shutdown, for every format's reference server and
//! for application servers.
//!
//! A server accepts connections from any [`Listener`] (TCP, Unix sockets,
//! a stream of connections accepted elsewhere), reads messages of format
//! `In` and answers each with zero or more messages of format `Out`,
//! computed by a handler: an
//! [`AsyncHandler`](crate::transport::handler::AsyncHandler) with per-connection state,
//! or the synchronous [`Handler`] (the reference servers' handler is
//! [`ReferenceHandler`](crate::transport::reference::ReferenceHandler) over
//! the sans-IO [`reference`](crate::reference) module). Up to
//! [`ServerOptions::max_in_flight`] calls of one connection run at once;
//! replies follow the order of the requests, except for request lines,
//! answered as their calls finish (the peer matches them by ID). Replies
//! that are ready together are written together, with one flush.
//!
//! # Tracing
//! Events are emitted under the target `wireforms::transport::server`,
//! inside two spans:
//! - `server` (level INFO), for one [`Server::serve`]: fields `format` (the
//!   name of `In`) and `addr` (where it listens, or `unknown`);
//! - `connection` (level INFO), a child of `server`, for one accepted
//!   connection: fields `id` (the [`ConnectionInfo::id`], counted from 1),
//!   `peer` (the [`PeerAddr`](crate::transport::handler::PeerAddr), as
//!   text) and `format`. Every event about a connection (accepted, closed
//!   and why) is emitted in its span, and so is everything a handler logs.

use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::stream::{FuturesOrdered, FuturesUnordered};
use futures::{FutureExt, StreamExt};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::codec::{Decoder, FramedRead};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, info_span, warn, Instrument};

use crate::transport::codec::WireCodec;
use crate::transport::handler::{ConnectionInfo, Context, ServeHandler};
use crate::transport::listener::Listener;
use crate::transport::write_batch::WriteBatch;
use crate::wire::{Encode, WireFormat};
use crate::Error;

/// Default for [`ServerOptions::max_connections`].
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;
/// Default for [`ServerOptions::idle_timeout`]: how long a peer may stay
/// silent, between messages or inside one, before it is disconnected.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// Default for [`ServerOptions::write_timeout`]: how long a reply may wait
/// for a peer that does not read.
pub const DEFAULT_WRITE_TIMEOUT: Duration = Duration::from_secs(30);
/// Default for [`ServerOptions::shutdown_timeout`].
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(10);
/// Default TCP keep-alive idle time and probe interval.
pub const DEFAULT_KEEPALIVE: Duration = Duration::from_secs(60);
/// Default for [`ServerOptions::max_in_flight`]: enough to keep a slow
/// backend busy, few enough that one pipelining peer holds little memory.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 32;

/// How a server treats its connections.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerOptions {
    /// Connections served at once. A connection accepted beyond this is
    /// closed at once, without a byte read or written (spec §8): refusing is
    /// cheaper than queueing for a server under a flood, and the peer sees a
    /// prompt close instead of a silent wait. Values above
    /// [`Semaphore::MAX_PERMITS`] (2^61 - 1) are taken as that bound, which
    /// is no bound in practice.
    pub max_connections: usize,
    /// Longest silence tolerated from a peer, between messages or in the
    /// middle of one; then the connection is closed.
    pub idle_timeout: Duration,
    /// Longest time a write (reply flush) may take; then the connection is closed.
    pub write_timeout: Duration,
    /// Set `TCP_NODELAY` on accepted connections (replies are written as
    /// whole batches already, so Nagle's algorithm only adds latency).
    pub nodelay: bool,
    /// TCP keep-alive idle time and probe interval; `None` leaves the
    /// system default (usually off).
    pub keepalive: Option<Duration>,
    /// After shutdown starts, how long connections get to finish; then the
    /// rest are closed.
    pub shutdown_timeout: Duration,
    /// Handler calls of one connection running at once (0 is taken as 1).
    /// At the bound the server stops reading that connection until a call
    /// finishes, so a peer that pipelines without end waits, in its own
    /// socket buffers, instead of making the server queue its requests.
    pub max_in_flight: usize,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            max_connections: DEFAULT_MAX_CONNECTIONS,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            write_timeout: DEFAULT_WRITE_TIMEOUT,
            nodelay: true,
            keepalive: Some(DEFAULT_KEEPALIVE),
            shutdown_timeout: DEFAULT_SHUTDOWN_TIMEOUT,
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
        }
    }
}

impl ServerOptions {
    /// Sets [`max_connections`](ServerOptions::max_connections).
    pub fn max_connections(mut self, n: usize) -> Self {
        self.max_connections = n;
        self
    }
    /// Sets [`idle_timeout`](ServerOptions::idle_timeout).
    pub fn idle_timeout(mut self, d: Duration) -> Self {
        self.idle_timeout = d;
        self
    }
    /// Sets [`write_timeout`](ServerOptions::write_timeout).
    pub fn write_timeout(mut self, d: Duration) -> Self {
        self.write_timeout = d;
        self
    }
    /// Sets [`nodelay`](ServerOptions::nodelay).
    pub fn nodelay(mut self, on: bool) -> Self {
        self.nodelay = on;
        self
    }
    /// Sets [`keepalive`](ServerOptions::keepalive).
    pub fn keepalive(mut self, period: Option<Duration>) -> Self {
        self.keepalive = period;
        self
    }
    /// Sets [`shutdown_timeout`](ServerOptions::shutdown_timeout).
    pub fn shutdown_timeout(mut self, d: Duration) -> Self {
        self.shutdown_timeout = d;
        self
    }
    /// Sets [`max_in_flight`](ServerOptions::max_in_flight).
    pub fn max_in_flight(mut self, calls: usize) -> Self {
        self.max_in_flight = calls;
        self
    }
}

/// What a server did, returned when it has shut down.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerStats {
    /// Connections accepted and served.
    pub connections: u64,
    /// Connections refused because `max_connections` were being served.
    pub refused: u64,
    /// Messages read and handed to the handler: answered, or, once per
    /// connection at most, found unanswerable.
    pub messages: u64,
    /// Connections closed because of a wire error (bad magic, over-limit...).
    pub wire_errors: u64,
    /// The same, by error kind name (`too_large`, `bad_magic`...).
    pub wire_error_kinds: BTreeMap<&'static str, u64>,
    /// Connections closed because the peer was silent or did not read.
    pub timeouts: u64,
    /// Connections closed because a request could not be answered at all:
    /// the handler refused it (for the request server, a reply that would
    /// be longer than the peer's line limit even as an error status, spec
    /// reqres §6), or a reply failed its serializer's check.
    pub unanswerable: u64,
    /// Connections still open at the shutdown deadline, closed then.
    pub aborted: u64,
    /// The most connection tasks held at once. Finished ones are reaped
    /// before every accept, so this is the peak of open connections plus
    /// at most those that ended since the accept before.
    pub peak_connections: u64,
}

#[derive(Default)]
struct Counters {
    connections: AtomicU64,
    refused: AtomicU64,
    messages: AtomicU64,
    wire_errors: AtomicU64,
    wire_error_kinds: Mutex<BTreeMap<&'static str, u64>>,
    timeouts: AtomicU64,
    unanswerable: AtomicU64,
}

/// How a connection ended.
#[derive(Debug)]
enum End {
    /// The peer closed its side after its last message.
    Clean,
    /// The server is shutting down.
    Shutdown,
    /// The peer sent bytes the format rejects.
    Wire(Error),
    /// The peer was too slow.
    Timeout(Stall),
    /// A request could not be answered (see [`ServerStats::unanswerable`]).
    Unanswerable(Error),
    /// The socket failed.
    Io(Error),
}

/// What a peer was too slow at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stall {
    /// Sending: silent past the idle timeout.
    IdleRead,
    /// Reading our replies: a write took longer than the write timeout.
    Write,
}

impl Stall {
    fn as_str(self) -> &'static str {
        match self {
            Stall::IdleRead => "idle read",
            Stall::Write => "write",
        }
    }
}

/// A handler from one request message to its replies.
pub trait Handler<In, Out>: Clone + Send + Sync + 'static {
    /// The replies to `request`, in order (possibly none).
    ///
    /// # Errors
    /// When `request` cannot be answered at all (the request server's
    /// reply would be longer than any line the peer accepts, spec reqres
    /// §6). The server then closes the connection without a reply and
    /// counts it in [`ServerStats::unanswerable`]; a datagram server drops
    /// the datagram.
    fn replies(&self, request: In) -> Result<Vec<Out>, Error>;
}

impl<In, Out, F> Handler<In, Out> for F
where
    F: Fn(In) -> Vec<Out> + Clone + Send + Sync + 'static,
{
    fn replies(&self, request: In) -> Result<Vec<Out>, Error> {
        Ok(self(request))
    }
}

/// A format-generic server: reads `In` messages, writes `Out` replies.
#[derive(Debug)]
pub struct Server<In: WireFormat, Out: WireFormat, H> {
    limits: In::Limits,
    options: ServerOptions,
    handler: H,
    answer_unterminated_last_line: bool,
    _formats: core::marker::PhantomData<fn() -> Out>,
}

impl<In, Out, H> Server<In, Out, H>
where
    In: WireFormat + 'static,
    Out: WireFormat + 'static,
{
    /// A server enforcing `limits` on what it reads, answering with `handler`.
    pub fn new(limits: In::Limits, options: ServerOptions, handler: H) -> Self {
        Server {
            limits,
            options,
            handler,
            answer_unterminated_last_line: false,
            _formats: core::marker::PhantomData,
        }
    }

    /// For text formats: when a peer half-closes after a last line without
    /// its `\n`, answer that line (spec reqres §6) instead of reporting an
    /// incomplete message.
    pub fn answer_unterminated_last_line(mut self, on: bool) -> Self {
        self.answer_unterminated_last_line = on;
        self
    }

    /// Serves `listener` on a spawned task; the returned handle knows the
    /// address and shuts the server down.
    ///
    /// # Errors
    /// [`Error::Io`] when the listener has no local address.
    pub fn spawn<K: 'static>(self, listener: TcpListener) -> Result<RunningServer, Error>
    where
        H: ServeHandler<In::Owned, Out::Owned, K>,
    {
        let local_addr = listener.local_addr()?;
        let token = CancellationToken::new();
        Ok(RunningServer::spawn(
            local_addr,
            token.clone(),
            self.serve(listener, token),
        ))
    }

    /// Serves `listener` until `shutdown` is cancelled, then stops accepting
    /// and lets every connection finish (spec security §8): it answers the
    /// messages it has read or holds whole in its buffer (after one more
    /// read without waiting, for what had arrived), reads no others,
    /// closes its write side, and discards what the peer still sends until
    /// the peer closes (for at most half of
    /// [`shutdown_timeout`](ServerOptions::shutdown_timeout)), so that the
    /// peer sees an end of stream, not a reset. Connections still open at
    /// the deadline are closed then and counted in
    /// [`ServerStats::aborted`].
    ///
    /// # Errors
    /// Only an accept error that is not about one connection (running out of
    /// file descriptors is logged and retried).
    pub async fn serve<L: Listener, K: 'static>(
        self,
        listener: L,
        shutdown: CancellationToken,
    ) -> Result<ServerStats, Error>
    where
        H: ServeHandler<In::Owned, Out::Owned, K>,
    {
        let local = listener.local_addr_string();
        let span = info_span!(
            "server",
            format = In::NAME,
            addr = local.as_deref().unwrap_or("unknown")
        );
        self.serve_in_span::<L, K>(listener, shutdown)
            .instrument(span)
            .await
    }

    async fn serve_in_span<L: Listener, K: 'static>(
        self,
        mut listener: L,
        shutdown: CancellationToken,
    ) -> Result<ServerStats, Error>
    where
        H: ServeHandler<In::Owned, Out::Owned, K>,
    {
        let this = Arc::new(self);
        let counters = Arc::new(Counters::default());
        // tokio's semaphore holds at most MAX_PERMITS (2^61 - 1) permits; a
        // larger limit means no limit at all, which MAX_PERMITS is in practice.
        let permits = Arc::new(Semaphore::new(
            this.options.max_connections.min(Semaphore::MAX_PERMITS),
        ));
        let mut tasks = JoinSet::new();
        let mut peak_connections = 0;
        let mut next_id: u64 = 0;
        let mut listener_ended = false;
        // Debug, not info: the span carries the address, and a program that
        // serves (the CLI) announces it once itself.
        debug!("serving");

        loop {
            // Reap every finished connection before taking another: under a
            // steady flow of connections accept is always ready, and the set
            // would otherwise grow by one finished task per connection.
            while tasks.try_join_next().is_some() {}
            let accepted = tokio::select! {
                biased;
                _ = shutdown.cancelled() => break,
                accepted = listener.accept() => accepted,
                // While no peer connects, reap as connections end.
                Some(_) = tasks.join_next(), if !tasks.is_empty() => continue,
            };
            let (io, peer) = match accepted {
                Ok(Some(pair)) => pair,
                Ok(None) => {
                    listener_ended = true;
                    break;
                }
                Err(e) if is_per_connection(&e) => {
                    debug!(error = %e, "accept failed for one connection");
                    continue;
                }
                Err(e) => {
                    // Out of descriptors or similar: back off instead of spinning.
                    warn!(error = %e, "accept failed; retrying shortly");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let Ok(permit) = permits.clone().try_acquire_owned() else {
                counters.refused.fetch_add(1, Ordering::Relaxed);
                debug!(%peer, "refused: connection limit reached");
                drop(io);
                continue;
            };
            counters.connections.fetch_add(1, Ordering::Relaxed);
            next_id += 1;
            listener.configure(&io, &this.options);
            let span = info_span!("connection", id = next_id, %peer, format = In::NAME);
            let info = ConnectionInfo::new(next_id, peer, In::NAME);
            let this = this.clone();
            let counters = counters.clone();
            let shutdown = shutdown.clone();
            tasks.spawn(
                async move {
                    let end = this
                        .connection::<_, K>(io, info, &counters, &shutdown)
                        .await;
                    count_end(&counters, &end);
                    drop(permit);
                }
                .instrument(span),
            );
            peak_connections = peak_connections.max(tasks.len() as u64);
        }

        drop(listener);
        if listener_ended {
            // No more connections will come: serve the open ones to their
            // end, or until told to shut down.
            debug!(open = tasks.len(), "no more connections to accept");
            loop {
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    next = tasks.join_next() => if next.is_none() { break },
                }
            }
        }
        info!(open = tasks.len(), "shutting down");
        let deadline = tokio::time::sleep(this.options.shutdown_timeout);
        tokio::pin!(deadline);
        let mut aborted = 0;
        loop {
            tokio::select! {
                next = tasks.join_next() => if next.is_none() { break },
                _ = &mut deadline => {
                    aborted = tasks.len() as u64;
                    warn!(aborted, "shutdown deadline passed; closing the rest");
                    tasks.shutdown().await;
                    break;
                }
            }
        }
        let error_kinds = counters
            .wire_error_kinds
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        Ok(ServerStats {
            connections: counters.connections.load(Ordering::Relaxed),
            refused: counters.refused.load(Ordering::Relaxed),
            messages: counters.messages.load(Ordering::Relaxed),
            wire_errors: counters.wire_errors.load(Ordering::Relaxed),
            wire_error_kinds: error_kinds,
            timeouts: counters.timeouts.load(Ordering::Relaxed),
            unanswerable: counters.unanswerable.load(Ordering::Relaxed),
            aborted,
            peak_connections,
        })
    }

    async fn connection<Io, K>(
        &self,
        io: Io,
        info: ConnectionInfo,
        counters: &Counters,
        shutdown: &CancellationToken,
    ) -> End
    where
        Io: AsyncRead + AsyncWrite + Unpin,
        H: ServeHandler<In::Owned, Out::Owned, K>,
    {
        debug!("accepted");
        let state = self.handler.open(&info);
        let cx = Context::new(info, state);
        let mut codec = WireCodec::<In>::new(self.limits.clone());
        codec.set_answer_unterminated_last_line(self.answer_unterminated_last_line);
        // Reads and writes take turns, so the reader can own the whole
        // connection and lend it for writes (no split, no lock).
        let mut reader = FramedRead::new(io, codec);
        // Replies: small ones coalesced, large payloads written from the
        // buffer they arrived in (a reference reply often shares the request's).
        let mut batch = WriteBatch::new();
        let write_timeout = self.options.write_timeout;
        let max_in_flight = self.options.max_in_flight.max(1);
        let mut calls = Calls::new(answers_by_id::<In>());
        // Whether the peer may still send: after its end of stream or a bad
        // message, the calls in flight are finished and answered first.
        let mut reading = true;
        let mut after_reading = End::Clean;

        let start_call = |message| self.handler.serve(message, cx.clone());

        let end = loop {
            if !reading && calls.is_empty() {
                break after_reading;
            }
            // Biased: finished calls first, then new messages while there is
            // room, and only when nothing else is ready, a write: replies to
            // messages that arrive together go out together, in one write.
            tokio::select! {
                biased;
                _ = shutdown.cancelled() => break End::Shutdown,
                Some(replies) = calls.next(), if !calls.is_empty() => {
                    if let Err(end) = push_replies(replies, &mut batch) {
                        break end;
                    }
                    if batch.is_full() {
                        // Bound the batch: a peer that pipelines without end
                        // is answered as it goes, and one that never reads
                        // is cut here by the write timeout.
                        if let Err(end) = write_batch(&mut batch, reader.get_mut(), write_timeout).await {
                            break end;
                        }
                    }
                }
                // At the bound the connection is not read: the peer's
                // further messages wait in its socket, not in our memory.
                next = reader.next(), if reading && calls.len() < max_in_flight => {
                    let mut next = next;
                    // Then every message already buffered, without waiting
                    // (nor a select and a timer per message).
                    let stop = loop {
                        match next {
                            Some(Ok(message)) => {
                                if let Err(end) = self.take::<K, _>(message, &mut calls, &start_call, &mut batch, counters) {
                                    break Some(end);
                                }
                            }
                            Some(Err(e)) => {
                                reading = false;
                                after_reading = classify(e);
                                break None;
                            }
                            None => {
                                reading = false;
                                break None;
                            }
                        }
                        if batch.is_full() {
                            if let Err(end) = write_batch(&mut batch, reader.get_mut(), write_timeout).await {
                                break Some(end);
                            }
                        }
                        if calls.len() >= max_in_flight || shutdown.is_cancelled() {
                            break None;
                        }
                        match reader.next().now_or_never() {
                            Some(more) => next = more,
                            None => break None,
                        }
                    };
                    if let Some(end) = stop {
                        break end;
                    }
                }
                () = std::future::ready(()), if !batch.is_empty() => {
                    if let Err(end) = write_batch(&mut batch, reader.get_mut(), write_timeout).await {
                        break end;
                    }
                }
                // A peer waiting for its answers is not idle.
                () = tokio::time::sleep(self.options.idle_timeout), if reading && calls.is_empty() => {
                    break End::Timeout(Stall::IdleRead);
                }
            }
        };
        match end {
            // The peer does not read: there is nothing to close cleanly.
            End::Timeout(Stall::Write) => end,
            End::Shutdown => {
                self.close_for_shutdown::<_, _, K>(reader, batch, calls, start_call, counters)
                    .await
            }
            end => {
                // Every reply made has been written (or is now): close our
                // side cleanly so the peer sees an end of stream.
                if let Err(e) = write_batch(&mut batch, reader.get_mut(), write_timeout).await {
                    return e;
                }
                let _ = tokio::time::timeout(write_timeout, reader.get_mut().shutdown()).await;
                end
            }
        }
    }

    /// Starts answering `message`: at once for a synchronous handler (when
    /// no earlier call of an in-order connection is still running), else
    /// as a call in flight.
    fn take<K, F>(
        &self,
        message: In::Owned,
        calls: &mut Calls<F>,
        start_call: &impl Fn(In::Owned) -> F,
        batch: &mut WriteBatch,
        counters: &Counters,
    ) -> Result<(), End>
    where
        H: ServeHandler<In::Owned, Out::Owned, K>,
        F: Future<Output = Result<Vec<Out::Owned>, Error>>,
    {
        counters.messages.fetch_add(1, Ordering::Relaxed);
        let message = if calls.any_order() || calls.is_empty() {
            match self.handler.replies_now(message) {
                Ok(replies) => return push_replies(replies, batch),
                Err(message) => message,
            }
        } else {
            message
        };
        calls.push(start_call(message));
        Ok(())
    }

    /// Spec security §8: answer the messages in flight, those already whole
    /// in the buffer and those in what one read without waiting brings;
    /// read no others, close the write side, then discard the peer's input
    /// until it closes, for at most half the shutdown timeout. A socket
    /// closed with unread input sends a reset, which can destroy replies
    /// the peer has not read yet.
    async fn close_for_shutdown<Io, F, K>(
        &self,
        mut reader: FramedRead<Io, WireCodec<In>>,
        mut batch: WriteBatch,
        mut calls: Calls<F>,
        start_call: impl Fn(In::Owned) -> F,
        counters: &Counters,
    ) -> End
    where
        Io: AsyncRead + AsyncWrite + Unpin,
        F: Future<Output = Result<Vec<Out::Owned>, Error>>,
        H: ServeHandler<In::Owned, Out::Owned, K>,
    {
        let linger_until = tokio::time::Instant::now() + self.options.shutdown_timeout / 2;
        let write_timeout = self.options.write_timeout;
        let max_in_flight = self.options.max_in_flight.max(1);
        let mut buffered = std::mem::take(reader.read_buffer_mut());
        // Messages that had arrived when the shutdown was seen: one read,
        // without waiting. (A peer that pipelines without pause always has
        // more on the way; reading until it stops would never end.)
        buffered.reserve(DISCARD_CHUNK);
        let _ = reader.get_mut().read_buf(&mut buffered).now_or_never();
        // A message cut by the shutdown is not answered; neither is one the
        // buffer shows is bad.
        let mut end = End::Shutdown;
        let mut more = true;
        while more || !calls.is_empty() {
            if more && calls.len() < max_in_flight {
                match reader.decoder_mut().decode(&mut buffered) {
                    Ok(Some(message)) => {
                        if let Err(e) = self.take::<K, _>(
                            message,
                            &mut calls,
                            &start_call,
                            &mut batch,
                            counters,
                        ) {
                            end = e;
                            break;
                        }
                        if batch.is_full() {
                            if let Err(e) =
                                write_batch(&mut batch, reader.get_mut(), write_timeout).await
                            {
                                return e;
                            }
                        }
                    }
                    _ => more = false,
                }
                continue;
            }
            let Some(replies) = calls.next().await else {
                continue;
            };
            if let Err(e) = push_replies(replies, &mut batch) {
                end = e;
                break;
            }
            if batch.is_full() {
                if let Err(e) = write_batch(&mut batch, reader.get_mut(), write_timeout).await {
                    return e;
                }
            }
        }
        drop(calls);
        let mut io = reader.into_inner();
        if let Err(e) = write_batch(&mut batch, &mut io, write_timeout).await {
            return e;
        }
        if tokio::time::timeout(write_timeout, io.shutdown())
            .await
            .is_err()
        {
            return End::Timeout(Stall::Write);
        }
        let mut sink = vec![0u8; DISCARD_CHUNK];
        loop {
            match tokio::time::timeout_at(linger_until, io.read(&mut sink)).await {
                Ok(Ok(0)) | Ok(Err(_)) => break,
                Ok(Ok(_)) => continue,
                Err(_) => {
                    debug!("peer still sending after the shutdown linger; closing");
                    break;
                }
            }
        }
        end
    }
}

/// Whether replies may go out in the order their calls finish: only for
/// request lines, whose responses the peer matches by ID (spec reqres §10).
/// Every other format's replies follow the order of its requests.
fn answers_by_id<In: WireFormat>() -> bool {
    In::NAME == "request"
}

/// A connection's handler calls in flight, finishing in request order or
/// in any order.
enum Calls<F: Future> {
    InOrder(FuturesOrdered<F>),
    AsFinished(FuturesUnordered<F>),
}

impl<F: Future> Calls<F> {
    fn new(any_order: bool) -> Self {
        if any_order {
            Calls::AsFinished(FuturesUnordered::new())
        } else {
            Calls::InOrder(FuturesOrdered::new())
        }
    }

    fn push(&mut self, call: F) {
        match self {
            Calls::InOrder(calls) => calls.push_back(call),
            Calls::AsFinished(calls) => calls.push(call),
        }
    }

    fn len(&self) -> usize {
        match self {
            Calls::InOrder(calls) => calls.len(),
            Calls::AsFinished(calls) => calls.len(),
        }
    }

    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether calls may finish in any order.
    fn any_order(&self) -> bool {
        matches!(self, Calls::AsFinished(_))
    }

    /// The next finished call (cancel-safe); `None` when none is in flight.
    async fn next(&mut self) -> Option<F::Output> {
        match self {
            Calls::InOrder(calls) => calls.next().await,
            Calls::AsFinished(calls) => calls.next().await,
        }
    }
}

/// Adds a call's replies to `batch`.
fn push_replies<M: Encode>(
    replies: Result<Vec<M>, Error>,
    batch: &mut WriteBatch,
) -> Result<(), End> {
    for reply in replies.map_err(End::Unanswerable)? {
        batch.push(&reply).map_err(End::Unanswerable)?;
    }
    Ok(())
}

/// At shutdown, the most bytes read at once: for messages that had
/// arrived, then for input that is discarded.
const DISCARD_CHUNK: usize = 64 * 1024;

fn count_end(counters: &Counters, end: &End) {
    match end {
        End::Clean => debug!("closed by peer"),
        End::Shutdown => debug!("closed for shutdown"),
        End::Wire(e) => {
            counters.wire_errors.fetch_add(1, Ordering::Relaxed);
            *counters
                .wire_error_kinds
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .entry(e.kind().as_str())
                .or_default() += 1;
            info!(error = %e, kind = %e.kind(), "closed on bad input");
        }
        End::Timeout(stall) => {
            counters.timeouts.fetch_add(1, Ordering::Relaxed);
            debug!(what = stall.as_str(), "closed on timeout");
        }
        End::Unanswerable(e) => {
            counters.unanswerable.fetch_add(1, Ordering::Relaxed);
            info!(error = %e, "closed: a request cannot be answered");
        }
        End::Io(e) => debug!(error = %e, "closed on i/o error"),
    }
}

async fn write_batch<W: AsyncWrite + Unpin>(
    batch: &mut WriteBatch,
    write: &mut W,
    timeout: Duration,
) -> Result<(), End> {
    if batch.is_empty() {
        return Ok(());
    }
    match tokio::time::timeout(timeout, batch.write_to(write)).await {
        Err(_) => Err(End::Timeout(Stall::Write)),
        Ok(Err(e)) => Err(classify(e)),
        Ok(Ok(())) => Ok(()),
    }
}

/// A read or write error: the socket's, or the format's.
fn classify(e: Error) -> End {
    match e {
        Error::Io(_) => End::Io(e),
        other => End::Wire(other),
    }
}

/// Accept errors that concern one connection only.
fn is_per_connection(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(e.kind(), ConnectionAborted | ConnectionReset | Interrupted)
}

/// A server started in the background, for tests, examples and the
/// command-line tool.
#[derive(Debug)]
pub struct RunningServer {
    /// The address it listens on.
    pub local_addr: SocketAddr,
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<Result<ServerStats, Error>>,
}

impl RunningServer {
    /// Spawns `serve` on the current runtime.
    pub fn spawn<Fut>(
        local_addr: SocketAddr,
        shutdown: CancellationToken,
        serve: Fut,
    ) -> RunningServer
    where
        Fut: Future<Output = Result<ServerStats, Error>> + Send + 'static,
    {
        RunningServer {
            local_addr,
            shutdown,
            task: tokio::spawn(serve),
        }
    }

    /// The token that starts a graceful shutdown.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Starts a graceful shutdown and waits for the server to return.
    ///
    /// # Errors
    /// The server's own error, or [`Error::Closed`] if its task panicked.
    pub async fn shutdown(self) -> Result<ServerStats, Error> {
        self.shutdown.cancel();
        self.task.await.map_err(|_| Error::Closed {
            reason: "server task failed",
        })?
    }
}
