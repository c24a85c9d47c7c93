//! A request/response client: many concurrent calls over one connection,
//! matched to their responses by ID (spec reqres §10).
//!
//! [`Client`] is a cheap-to-clone handle and a thin shell over the sans-IO
//! call table [`CallTable`], which decides
//! every rule: IDs, exact matching, deadlines, the pending cap, the end of
//! the connection, and the accounting. The shell only moves bytes and wakes
//! callers. Per connection it runs two tasks:
//! - the **writer** ([`write_queue`]) writes requests as soon as it can take
//!   them, calls that queue up together in one write;
//! - the **reader** feeds each response to the table, and keeps one timer
//!   set to the table's earliest deadline
//!   ([`poll_timeout`](crate::session::calls::CallTable::poll_timeout)).
//!
//! A call ends exactly once, as whichever of these comes first: its response
//! ([`Ok`]), its deadline ([`Error::Timeout`], after
//! [`ClientConfig::call_timeout`]), or the end of the connection
//! ([`Error::Closed`]); or it is cancelled when the caller drops its future
//! (a `select!` or `tokio::time::timeout` around it), which frees its entry
//! at once. A response whose ID is not exactly that of a pending call is
//! counted ([`ClientStats::unknown_responses`]) and logged, not fatal.
//!
//! Before anything is sent, a call is refused on its own when its fields
//! cannot be encoded ([`Error::InvalidField`]), when its line would be
//! longer than [`ClientConfig::limits`] allows ([`Error::TooLarge`]: the
//! server would close the connection and fail every other call with it), or
//! when [`ClientConfig::max_pending`] calls are pending
//! ([`Error::LimitReached`]).
//!
//! Events go to the target `wireforms::transport::reqres_client`, inside one
//! span per connection, `reqres_client` with the field `id` (a number per
//! client connection of the process, from 1).
//!
//! ```no_run
//! use wireforms::transport::reqres_client::{Client, ClientConfig};
//!
//! # async fn run() -> Result<(), wireforms::Error> {
//! let client = Client::connect("127.0.0.1:9000", ClientConfig::default()).await?;
//! let response = client.call("UPPER", "hello").await?;
//! assert_eq!(&*response.data, "HELLO");
//! # Ok(()) }
//! ```

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use futures::StreamExt;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpStream, ToSocketAddrs};
use tokio::sync::{mpsc, oneshot, Notify};
use tokio::time::Instant;
use tokio_util::codec::FramedRead;
use tracing::{debug, info_span, warn, Instrument};

use crate::reqres::{self, RequestBuf, ResponseBuf, Text};
use crate::session::calls::{CallId, CallTable, CloseReason};
use crate::transport::codec::ResponseCodec;
use crate::transport::write_batch::write_queue;
use crate::wire::Encode;
use crate::{Error, ErrorKind};

pub use crate::session::calls::DEFAULT_MAX_PENDING;

/// Default for [`ClientConfig::call_timeout`].
pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// Default for [`ClientConfig::write_queue`].
pub const DEFAULT_WRITE_QUEUE: usize = 1024;

/// Spec section of the rule that a sender keeps within the receiver's limit.
const SENDER_LIMIT: &str = "reqres/4";

/// Client settings.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ClientConfig {
    /// The line limit of both ends: the reader refuses a longer response
    /// line (and ends the connection, spec reqres §7.1), and a call whose
    /// request line would be longer is refused before it is sent, since a
    /// server with this limit would close the connection on it. Set it to
    /// the server's limit.
    pub limits: reqres::Limits,
    /// How long a call waits for its response.
    pub call_timeout: Duration,
    /// Requests queued for the writer (at least 1).
    pub write_queue: usize,
    /// Calls pending at once; a call beyond it fails at once with
    /// [`Error::LimitReached`]. Zero refuses every call.
    pub max_pending: usize,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            limits: reqres::Limits::default(),
            call_timeout: DEFAULT_CALL_TIMEOUT,
            write_queue: DEFAULT_WRITE_QUEUE,
            max_pending: DEFAULT_MAX_PENDING,
        }
    }
}

impl ClientConfig {
    /// Sets [`call_timeout`](ClientConfig::call_timeout).
    pub fn call_timeout(mut self, d: Duration) -> Self {
        self.call_timeout = d;
        self
    }

    /// Sets [`limits`](ClientConfig::limits).
    pub fn limits(mut self, limits: reqres::Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Sets [`write_queue`](ClientConfig::write_queue).
    pub fn write_queue(mut self, requests: usize) -> Self {
        self.write_queue = requests;
        self
    }

    /// Sets [`max_pending`](ClientConfig::max_pending).
    pub fn max_pending(mut self, calls: usize) -> Self {
        self.max_pending = calls;
        self
    }
}

/// Counters of a client connection (those of its
/// [`CallStats`](crate::session::calls::CallStats)). Every call counted in
/// `calls` is in exactly one of `answered`, `timed_out`, `failed`,
/// `cancelled` and `pending`; calls refused before they were sent are not
/// counted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClientStats {
    /// Calls answered.
    pub answered: u64,
    /// Calls that timed out.
    pub timed_out: u64,
    /// Responses whose ID matched no pending call (late, duplicate, unknown,
    /// or not exactly a call's ID).
    pub unknown_responses: u64,
    /// Calls waiting for their response now.
    pub pending: usize,
    /// Calls made (sent, or queued to be sent).
    pub calls: u64,
    /// Calls failed by the end of the connection.
    pub failed: u64,
    /// Calls whose caller gave up (dropped the call's future) first.
    pub cancelled: u64,
}

type Reply = oneshot::Sender<Result<ResponseBuf, Error>>;

struct Shared {
    table: Mutex<CallTable<Reply>>,
    /// Wakes the reader: the earliest deadline moved.
    wake: Notify,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, CallTable<Reply>> {
        // A panic elsewhere cannot leave the table half-updated: every
        // method of the core is one step.
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Ends the connection's calls (once; later reasons are ignored).
    fn close(&self, reason: CloseReason) {
        let failed = self.lock().close(reason);
        for reply in failed {
            let _ = reply.send(Err(reason.error()));
        }
    }
}

/// Closes the table if the task holding it ends without doing so: a task
/// dropped by a runtime that shuts down (polled or not) still fails the
/// pending calls.
struct CloseOnDrop(Arc<Shared>);

impl Drop for CloseOnDrop {
    fn drop(&mut self) {
        self.0.close(CloseReason::TaskStopped);
    }
}

/// A request/response client over one connection. Clones share it.
///
/// # Drop and close
/// - Dropping a call's future (cancelling it) removes its pending entry at
///   once; its request may still be written, and a late answer is then
///   counted as unknown.
/// - Dropping every clone closes the connection: the reader stops at once,
///   requests already queued are written, then the write side is shut down
///   and the connection dropped. No call can be pending then (each borrows
///   a clone).
/// - When the server closes the connection, a read fails or a response line
///   is invalid, every pending call fails with [`Error::Closed`], and so
///   does every later call. A failed write does the same, and the reader
///   goes on counting what still arrives as unknown responses until the
///   server closes or the last clone is dropped.
/// - When the runtime that runs the connection shuts down, pending calls
///   fail with [`Error::Closed`] and queued requests are dropped unwritten.
#[derive(Clone)]
pub struct Client {
    shared: Arc<Shared>,
    writer: mpsc::Sender<RequestBuf>,
    config: Arc<ClientConfig>,
    /// Dropped with the last clone, which tells the reader to stop.
    _handles: Arc<oneshot::Sender<()>>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

/// A registered call; dropping it before its outcome is known cancels it.
struct CallGuard<'a> {
    shared: &'a Shared,
    id: CallId,
    ended: bool,
}

impl Drop for CallGuard<'_> {
    fn drop(&mut self) {
        if !self.ended {
            let reply = self.shared.lock().cancel(self.id);
            drop(reply);
        }
    }
}

impl Client {
    /// Connects over TCP (with `TCP_NODELAY`).
    ///
    /// # Errors
    /// [`Error::Io`] when the connection cannot be made.
    pub async fn connect(addr: impl ToSocketAddrs, config: ClientConfig) -> Result<Client, Error> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Client::new(stream, config))
    }

    /// Starts a client over `io`, spawning its reader and writer on the
    /// current tokio runtime.
    pub fn new<T>(io: T, config: ClientConfig) -> Client
    where
        T: AsyncRead + AsyncWrite + Send + 'static,
    {
        let (read, write) = tokio::io::split(io);
        let shared = Arc::new(Shared {
            table: Mutex::new(CallTable::new(config.max_pending)),
            wake: Notify::new(),
        });
        let (tx, rx) = mpsc::channel(config.write_queue.max(1));
        let (handles, handles_gone) = oneshot::channel();
        let reader = FramedRead::new(read, ResponseCodec::new(config.limits));
        // The guards are made here, not in the tasks, so that a task its
        // runtime drops before it first runs still closes the table.
        // Both tasks log inside one span per client connection, so the
        // events of many clients in one process can be told apart.
        let span = info_span!("reqres_client", id = next_client_id());
        tokio::spawn(
            read_loop(reader, CloseOnDrop(shared.clone()), handles_gone).instrument(span.clone()),
        );
        tokio::spawn(write_loop(write, rx, CloseOnDrop(shared.clone())).instrument(span));
        Client {
            shared,
            writer: tx,
            config: Arc::new(config),
            _handles: Arc::new(handles),
        }
    }

    /// Sends `COMMAND:ARGS` with a fresh ID and waits for its response.
    ///
    /// Cancel-safe: dropping the future ends the call (counted as
    /// cancelled) and frees its entry.
    ///
    /// # Errors
    /// Before anything is sent: [`Error::InvalidField`] when the command or
    /// args cannot be encoded, [`Error::TooLarge`] when the request line
    /// would exceed [`ClientConfig::limits`], [`Error::LimitReached`] when
    /// [`ClientConfig::max_pending`] calls are pending, [`Error::Closed`]
    /// once the connection has ended. After: [`Error::Timeout`] after
    /// [`ClientConfig::call_timeout`], [`Error::Closed`] when the connection
    /// ends first.
    pub async fn call(&self, command: &str, args: &str) -> Result<ResponseBuf, Error> {
        let mut request = RequestBuf {
            id: Text::new(),
            command: Text::from(command.to_owned()),
            args: Text::from(args.to_owned()),
        };
        // The ID is decimal digits, always valid: check the rest now.
        request.check()?;
        let line_len_without_id = request.encoded_len();
        let now = Instant::now();
        // A timeout too long for the clock never comes: a century will do.
        let deadline = now
            .checked_add(self.config.call_timeout)
            .unwrap_or(now + Duration::from_secs(100 * 365 * 24 * 3600));
        let (reply, mut answer) = oneshot::channel();
        let id = {
            let mut table = self.shared.lock();
            // Spec reqres §4: a sender MUST NOT send a line longer than the
            // receiver accepts. Checked with the very ID it would get.
            let len = line_len_without_id.saturating_add(table.next_id().text_len());
            let max = self.config.limits.max_line_len;
            if len > max {
                return Err(Error::TooLarge {
                    len: len as u64,
                    max: max as u64,
                    section: SENDER_LIMIT,
                });
            }
            let earliest = table.poll_timeout();
            let id = table.register(deadline.into_std(), reply)?;
            if table.poll_timeout() != earliest {
                self.shared.wake.notify_one();
            }
            id
        };
        let mut call = CallGuard {
            shared: &self.shared,
            id,
            ended: false,
        };
        request.id = Text::from(id.to_string());
        let outcome = tokio::select! {
            // The call can end while its request waits for the queue: a
            // deadline, the connection's end, or a peer that guessed its ID.
            biased;
            outcome = &mut answer => outcome,
            queued = self.writer.send(request) => {
                if queued.is_err() {
                    // The writer is gone; its end closed the table, which
                    // failed the call already unless it ended otherwise.
                    let mut table = self.shared.lock();
                    let reason = table.closed().unwrap_or(CloseReason::WriteFailed);
                    if let Some(reply) = table.fail(id) {
                        let _ = reply.send(Err(reason.error()));
                    }
                }
                (&mut answer).await
            }
        };
        call.ended = true;
        outcome.unwrap_or(Err(Error::Internal {
            reason: "a call ended without an outcome",
        }))
    }

    /// Whether the connection has ended (every further call fails with
    /// [`Error::Closed`]).
    pub fn is_closed(&self) -> bool {
        self.shared.lock().closed().is_some()
    }

    /// The connection's counters.
    pub fn stats(&self) -> ClientStats {
        let s = self.shared.lock().stats();
        ClientStats {
            answered: s.answered,
            timed_out: s.timed_out,
            unknown_responses: s.unknown_responses,
            pending: s.pending,
            calls: s.calls,
            failed: s.failed,
            cancelled: s.cancelled,
        }
    }
}

/// Reads responses into the table and expires its deadlines, until the
/// server ends the connection or every handle is gone.
async fn read_loop<R: AsyncRead + Unpin>(
    mut responses: FramedRead<R, ResponseCodec>,
    guard: CloseOnDrop,
    handles_gone: oneshot::Receiver<()>,
) {
    let shared = &*guard.0;
    let mut handles_gone = std::pin::pin!(handles_gone);
    let timer = tokio::time::sleep(Duration::ZERO);
    let mut timer = std::pin::pin!(timer);
    // The deadline the timer is set to (re-armed only when it moves).
    let mut armed = None;
    let reason = loop {
        let deadline = shared.lock().poll_timeout();
        if let Some(next) = deadline.filter(|next| armed != Some(*next)) {
            timer.as_mut().reset(Instant::from_std(next));
        }
        armed = deadline;
        tokio::select! {
            response = responses.next() => match response {
                None => break CloseReason::PeerClosed,
                Some(Err(e)) => {
                    debug!(error = %e, "response stream failed");
                    break match e.kind() {
                        ErrorKind::Io => CloseReason::ReadFailed,
                        _ => CloseReason::BadResponse,
                    };
                }
                Some(Ok(response)) => {
                    let reply = shared.lock().handle_response(&response.id);
                    match reply {
                        Some(reply) => {
                            let _ = reply.send(Ok(response));
                        }
                        None => warn!(id = %&*response.id, "response with an unknown id"),
                    }
                }
            },
            () = &mut timer, if deadline.is_some() => {
                armed = None;
                let expired = shared.lock().handle_timeout(Instant::now().into_std());
                for reply in expired {
                    let _ = reply.send(Err(Error::Timeout { what: "call" }));
                }
            }
            () = shared.wake.notified() => {}
            // Nobody can make or wait for a call any more.
            _ = &mut handles_gone => break CloseReason::ClientDropped,
        }
    };
    shared.close(reason);
}

/// Writes queued requests until every handle is gone (then shuts the write
/// side down and ends the connection) or a write fails.
async fn write_loop<W: AsyncWrite>(
    write: W,
    mut requests: mpsc::Receiver<RequestBuf>,
    guard: CloseOnDrop,
) {
    let shared = &*guard.0;
    let mut write = std::pin::pin!(write);
    match write_queue(&mut requests, &mut write, |_| {}).await {
        Ok(()) => {
            // Every handle is gone, so no call is pending: tell the server
            // we are done.
            let _ = write.shutdown().await;
            shared.close(CloseReason::ClientDropped);
        }
        Err(e) => {
            debug!(error = %e, "request write failed");
            shared.close(CloseReason::WriteFailed);
        }
    }
}

/// A number for each client connection of this process, from 1, for its span.
fn next_client_id() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}
