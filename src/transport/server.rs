//! Shared server machinery: accept loop, connection limit, timeouts, socket
//! options and graceful shutdown, for every format's reference server.
//!
//! A server reads messages of format `In` and answers each with zero or more
//! messages of format `Out`, computed by a handler (the reference servers'
//! handlers are the format modules' pure `reference_reply` functions).
//! Messages on one connection are answered in order; replies to messages
//! that arrive together are written together, with one flush.

use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::{FutureExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::codec::{Decoder, FramedRead};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::transport::codec::WireCodec;
use crate::transport::write_batch::WriteBatch;
use crate::wire::WireFormat;
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
    H: Handler<In::Owned, Out::Owned>,
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
    pub fn spawn(self, listener: TcpListener) -> Result<RunningServer, Error> {
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
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: CancellationToken,
    ) -> Result<ServerStats, Error> {
        let this = Arc::new(self);
        let counters = Arc::new(Counters::default());
        // tokio's semaphore holds at most MAX_PERMITS (2^61 - 1) permits; a
        // larger limit means no limit at all, which MAX_PERMITS is in practice.
        let permits = Arc::new(Semaphore::new(
            this.options.max_connections.min(Semaphore::MAX_PERMITS),
        ));
        let mut tasks = JoinSet::new();
        let mut peak_connections = 0;
        let local = listener.local_addr().ok();
        info!(format = In::NAME, addr = ?local, "serving");

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
            let (stream, peer) = match accepted {
                Ok(pair) => pair,
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
                drop(stream);
                continue;
            };
            counters.connections.fetch_add(1, Ordering::Relaxed);
            let this = this.clone();
            let counters = counters.clone();
            let shutdown = shutdown.clone();
            tasks.spawn(async move {
                let end = this.connection(stream, peer, &counters, &shutdown).await;
                count_end(&counters, peer, &end);
                drop(permit);
            });
            peak_connections = peak_connections.max(tasks.len() as u64);
        }

        drop(listener);
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

    async fn connection(
        &self,
        stream: TcpStream,
        peer: SocketAddr,
        counters: &Counters,
        shutdown: &CancellationToken,
    ) -> End {
        configure(&stream, &self.options);
        debug!(%peer, "accepted");
        let (read, mut write) = stream.into_split();
        let mut codec = WireCodec::<In>::new(self.limits.clone());
        codec.set_answer_unterminated_last_line(self.answer_unterminated_last_line);
        let mut reader = FramedRead::new(read, codec);
        // Replies: small ones coalesced, large payloads written from the
        // buffer they arrived in (a reference reply often shares the request's).
        let mut batch = WriteBatch::new();
        let write_timeout = self.options.write_timeout;

        let end = loop {
            let next = tokio::select! {
                biased;
                _ = shutdown.cancelled() => break End::Shutdown,
                next = tokio::time::timeout(self.options.idle_timeout, reader.next()) => next,
            };
            let first = match next {
                Err(_) => break End::Timeout(Stall::IdleRead),
                Ok(None) => break End::Clean,
                Ok(Some(Err(e))) => break classify(e),
                Ok(Some(Ok(message))) => message,
            };
            // Answer this message and every other one already buffered, then
            // write once: pipelined requests get batched replies.
            let mut pending = Some(first);
            let mut stop = None;
            while let Some(message) = pending.take() {
                if let Err(end) = self.answer(message, &mut batch, counters) {
                    stop = Some(end);
                    break;
                }
                if batch.is_full() {
                    // Bound the batch: a peer that pipelines without end is
                    // answered as it goes, and one that never reads is cut
                    // here by the write timeout.
                    if let Err(end) = write_batch(&mut batch, &mut write, write_timeout).await {
                        stop = Some(end);
                        break;
                    }
                }
                if shutdown.is_cancelled() {
                    // What is already whole in the buffer is answered below.
                    break;
                }
                match reader.next().now_or_never() {
                    Some(Some(Ok(message))) => pending = Some(message),
                    Some(Some(Err(e))) => stop = Some(classify(e)),
                    Some(None) => stop = Some(End::Clean),
                    None => {}
                }
            }
            if let Some(end @ End::Timeout(Stall::Write)) = stop {
                break end;
            }
            if let Err(end) = write_batch(&mut batch, &mut write, write_timeout).await {
                break end;
            }
            if let Some(end) = stop {
                break end;
            }
            if shutdown.is_cancelled() {
                break End::Shutdown;
            }
        };
        match end {
            // The peer does not read: there is nothing to close cleanly.
            End::Timeout(Stall::Write) => end,
            End::Shutdown => {
                self.close_for_shutdown(reader, write, batch, counters)
                    .await
            }
            end => {
                // Every message read has been answered and written: close our
                // side cleanly so the peer sees an end of stream.
                let _ = tokio::time::timeout(write_timeout, write.shutdown()).await;
                end
            }
        }
    }

    /// Adds the replies to `message` to `batch`.
    fn answer(
        &self,
        message: In::Owned,
        batch: &mut WriteBatch,
        counters: &Counters,
    ) -> Result<(), End> {
        counters.messages.fetch_add(1, Ordering::Relaxed);
        let replies = self.handler.replies(message).map_err(End::Unanswerable)?;
        for reply in replies {
            batch.push(&reply).map_err(End::Unanswerable)?;
        }
        Ok(())
    }

    /// Spec security §8: answer the messages already whole in the buffer
    /// or in what one read without waiting brings, read no others, close
    /// the write side, then discard the peer's input until it closes, for
    /// at most half the shutdown timeout. A socket closed with unread input
    /// sends a reset, which can destroy replies the peer has not read yet.
    async fn close_for_shutdown(
        &self,
        mut reader: FramedRead<OwnedReadHalf, WireCodec<In>>,
        mut write: OwnedWriteHalf,
        mut batch: WriteBatch,
        counters: &Counters,
    ) -> End {
        let linger_until = tokio::time::Instant::now() + self.options.shutdown_timeout / 2;
        let write_timeout = self.options.write_timeout;
        let mut buffered = std::mem::take(reader.read_buffer_mut());
        // Messages that had arrived when the shutdown was seen: one read,
        // without waiting. (A peer that pipelines without pause always has
        // more on the way; reading until it stops would never end.)
        buffered.reserve(DISCARD_CHUNK);
        let _ = reader.get_ref().try_read_buf(&mut buffered);
        let mut end = End::Shutdown;
        // A message cut by the shutdown is not answered; neither is one the
        // buffer shows is bad.
        while let Ok(Some(message)) = reader.decoder_mut().decode(&mut buffered) {
            if let Err(e) = self.answer(message, &mut batch, counters) {
                end = e;
                break;
            }
            if batch.is_full() {
                if let Err(e) = write_batch(&mut batch, &mut write, write_timeout).await {
                    return e;
                }
            }
        }
        if let Err(e) = write_batch(&mut batch, &mut write, write_timeout).await {
            return e;
        }
        if tokio::time::timeout(write_timeout, write.shutdown())
            .await
            .is_err()
        {
            return End::Timeout(Stall::Write);
        }
        let mut read = reader.into_inner();
        let mut sink = vec![0u8; DISCARD_CHUNK];
        loop {
            match tokio::time::timeout_at(linger_until, read.read(&mut sink)).await {
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

/// At shutdown, the most bytes read at once: for messages that had
/// arrived, then for input that is discarded.
const DISCARD_CHUNK: usize = 64 * 1024;

fn count_end(counters: &Counters, peer: SocketAddr, end: &End) {
    match end {
        End::Clean => debug!(%peer, "closed by peer"),
        End::Shutdown => debug!(%peer, "closed for shutdown"),
        End::Wire(e) => {
            counters.wire_errors.fetch_add(1, Ordering::Relaxed);
            *counters
                .wire_error_kinds
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .entry(e.kind().as_str())
                .or_default() += 1;
            info!(%peer, error = %e, kind = %e.kind(), "closed on bad input");
        }
        End::Timeout(stall) => {
            counters.timeouts.fetch_add(1, Ordering::Relaxed);
            debug!(%peer, what = stall.as_str(), "closed on timeout");
        }
        End::Unanswerable(e) => {
            counters.unanswerable.fetch_add(1, Ordering::Relaxed);
            info!(%peer, error = %e, "closed: a request cannot be answered");
        }
        End::Io(e) => debug!(%peer, error = %e, "closed on i/o error"),
    }
}

async fn write_batch(
    batch: &mut WriteBatch,
    write: &mut OwnedWriteHalf,
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

fn configure(stream: &TcpStream, options: &ServerOptions) {
    if options.nodelay {
        if let Err(e) = stream.set_nodelay(true) {
            debug!(error = %e, "TCP_NODELAY not set");
        }
    }
    if let Some(period) = options.keepalive {
        let keepalive = socket2::TcpKeepalive::new()
            .with_time(period)
            .with_interval(period);
        if let Err(e) = socket2::SockRef::from(stream).set_tcp_keepalive(&keepalive) {
            debug!(error = %e, "TCP keep-alive not set");
        }
    }
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
