//! A request/response client: many concurrent calls over one connection,
//! matched to their responses by ID (spec reqres §10).
//!
//! [`Client`] is a cheap-to-clone handle. Each [`call`](Client::call) gets
//! an ID that no pending call shares (a per-connection counter), is written
//! as soon as the writer can take it (calls that queue up together go out in
//! one write), and waits for the response with that ID, which may arrive in
//! any order. A call that waits longer than
//! [`ClientConfig::call_timeout`] fails with [`Error::Timeout`] and its ID is
//! forgotten. When the connection ends, every pending call fails with
//! [`Error::Closed`]. A response whose ID matches no pending call is counted
//! ([`ClientStats::unknown_responses`]) and logged, not fatal.
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

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::BytesMut;
use futures::StreamExt;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpStream, ToSocketAddrs};
use tokio::sync::{mpsc, oneshot};
use tokio_util::codec::FramedRead;
use tracing::{debug, warn};

use crate::reqres::{self, RequestBuf, ResponseBuf, Text};
use crate::transport::codec::ResponseCodec;
use crate::wire::Encode;
use crate::Error;

/// Default for [`ClientConfig::call_timeout`].
pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// Client settings.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ClientConfig {
    /// What the reader enforces on response lines.
    pub limits: reqres::Limits,
    /// How long a call waits for its response.
    pub call_timeout: Duration,
    /// Requests queued for the writer.
    pub write_queue: usize,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            limits: reqres::Limits::default(),
            call_timeout: DEFAULT_CALL_TIMEOUT,
            write_queue: 1024,
        }
    }
}

impl ClientConfig {
    /// Sets [`call_timeout`](ClientConfig::call_timeout).
    pub fn call_timeout(mut self, d: Duration) -> Self {
        self.call_timeout = d;
        self
    }
}

/// Counters of a client connection.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClientStats {
    /// Calls answered.
    pub answered: u64,
    /// Calls that timed out.
    pub timed_out: u64,
    /// Responses whose ID matched no pending call (late, duplicate or unknown).
    pub unknown_responses: u64,
    /// Calls waiting for their response now.
    pub pending: usize,
}

type Reply = oneshot::Sender<Result<ResponseBuf, Error>>;

struct Pending {
    calls: HashMap<u64, Reply>,
    /// Why the connection ended, once it has; no call is registered after.
    ended: Option<&'static str>,
}

struct Shared {
    pending: Mutex<Pending>,
    next_id: AtomicU64,
    answered: AtomicU64,
    timed_out: AtomicU64,
    unknown: AtomicU64,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Fails every pending call and refuses new ones.
    fn end(&self, reason: &'static str) {
        let calls: Vec<Reply> = {
            let mut pending = self.lock();
            pending.ended.get_or_insert(reason);
            pending.calls.drain().map(|(_, reply)| reply).collect()
        };
        for reply in calls {
            let _ = reply.send(Err(Error::Closed { reason }));
        }
    }
}

/// A request/response client over one connection. Clones share it.
#[derive(Clone)]
pub struct Client {
    shared: Arc<Shared>,
    writer: mpsc::Sender<RequestBuf>,
    config: Arc<ClientConfig>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("stats", &self.stats())
            .finish_non_exhaustive()
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
            pending: Mutex::new(Pending {
                calls: HashMap::new(),
                ended: None,
            }),
            next_id: AtomicU64::new(1),
            answered: AtomicU64::new(0),
            timed_out: AtomicU64::new(0),
            unknown: AtomicU64::new(0),
        });
        let (tx, rx) = mpsc::channel(config.write_queue.max(1));
        let reader = FramedRead::new(read, ResponseCodec::new(config.limits));
        tokio::spawn(read_loop(reader, shared.clone()));
        tokio::spawn(write_loop(write, rx, shared.clone()));
        Client {
            shared,
            writer: tx,
            config: Arc::new(config),
        }
    }

    /// Sends `COMMAND:ARGS` with a fresh ID and waits for its response.
    ///
    /// # Errors
    /// [`Error::InvalidField`] when the command or args cannot be encoded,
    /// [`Error::Timeout`] after [`ClientConfig::call_timeout`],
    /// [`Error::Closed`] when the connection ends first.
    pub async fn call(&self, command: &str, args: &str) -> Result<ResponseBuf, Error> {
        let id = self.shared.next_id.fetch_add(1, Ordering::Relaxed);
        let request = RequestBuf {
            id: Text::from(id.to_string()),
            command: Text::from(command.to_owned()),
            args: Text::from(args.to_owned()),
        };
        request.check()?;
        let (tx, mut rx) = oneshot::channel();
        {
            let mut pending = self.shared.lock();
            if let Some(reason) = pending.ended {
                return Err(Error::Closed { reason });
            }
            pending.calls.insert(id, tx);
        }
        let sent = async {
            self.writer.send(request).await.map_err(|_| Error::Closed {
                reason: "client writer stopped",
            })?;
            (&mut rx).await.map_err(|_| Error::Closed {
                reason: "connection ended",
            })?
        };
        match tokio::time::timeout(self.config.call_timeout, sent).await {
            Ok(result) => {
                if result.is_err() {
                    self.shared.lock().calls.remove(&id);
                }
                result
            }
            Err(_) => {
                // The reader may have answered while the request still
                // waited for the writer (a peer that guesses IDs): it counted
                // the call as answered, so deliver that answer.
                if self.shared.lock().calls.remove(&id).is_none() {
                    if let Ok(answer) = rx.try_recv() {
                        return answer;
                    }
                }
                self.shared.timed_out.fetch_add(1, Ordering::Relaxed);
                Err(Error::Timeout { what: "call" })
            }
        }
    }

    /// Whether the connection has ended (every further call fails with
    /// [`Error::Closed`]).
    pub fn is_closed(&self) -> bool {
        self.shared.lock().ended.is_some()
    }

    /// The connection's counters.
    pub fn stats(&self) -> ClientStats {
        ClientStats {
            answered: self.shared.answered.load(Ordering::Relaxed),
            timed_out: self.shared.timed_out.load(Ordering::Relaxed),
            unknown_responses: self.shared.unknown.load(Ordering::Relaxed),
            pending: self.shared.lock().calls.len(),
        }
    }
}

async fn read_loop<R: AsyncRead + Unpin>(
    mut responses: FramedRead<R, ResponseCodec>,
    shared: Arc<Shared>,
) {
    let reason = loop {
        let response = match responses.next().await {
            None => break "connection closed by peer",
            Some(Err(e)) => {
                debug!(error = %e, "response stream failed");
                break "connection failed";
            }
            Some(Ok(response)) => response,
        };
        let reply = response
            .id
            .parse::<u64>()
            .ok()
            .and_then(|id| shared.lock().calls.remove(&id));
        match reply {
            Some(reply) => {
                shared.answered.fetch_add(1, Ordering::Relaxed);
                let _ = reply.send(Ok(response));
            }
            None => {
                shared.unknown.fetch_add(1, Ordering::Relaxed);
                warn!(id = %&*response.id, "response with an unknown id");
            }
        }
    };
    shared.end(reason);
}

async fn write_loop<W: AsyncWrite>(
    write: W,
    mut requests: mpsc::Receiver<RequestBuf>,
    shared: Arc<Shared>,
) {
    let mut write = std::pin::pin!(write);
    let mut buf = BytesMut::with_capacity(16 * 1024);
    while let Some(request) = requests.recv().await {
        // `call` checked it; a failure here would be a bug, not a peer's doing.
        let _ = request.encode(&mut buf);
        while buf.len() < 64 * 1024 {
            match requests.try_recv() {
                Ok(request) => {
                    let _ = request.encode(&mut buf);
                }
                Err(_) => break,
            }
        }
        if write.write_all(&buf).await.is_err() || write.flush().await.is_err() {
            shared.end("connection failed");
            return;
        }
        buf.clear();
    }
    // Every handle is gone: tell the server we are done.
    let _ = write.shutdown().await;
}
