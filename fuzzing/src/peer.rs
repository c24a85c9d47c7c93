//! What the two session targets share: the scripted peer at the other end
//! of a `tokio::io::duplex` pipe, the paused-time runtime and the checks
//! that every task ends. The targets themselves are in [`crate::mux_session`]
//! and [`crate::reqres_client`]; what follows describes both.
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

use std::time::Duration;

use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream, ReadHalf, WriteHalf};
use tokio::time::timeout;
use wireforms::{Error, ErrorKind};

/// Virtual time one step may take.
pub(crate) const STEP: Duration = Duration::from_millis(100);
/// Virtual time the teardown may take before it counts as a deadlock.
pub(crate) const TEARDOWN: Duration = Duration::from_secs(3600);
/// Steps run per script; the rest are ignored.
pub(crate) const MAX_STEPS: usize = 64;
/// Largest payload one step sends (enough for three mux frames).
pub(crate) const MAX_SEND: usize = 3 * wireforms::mux::MAX_PAYLOAD_LEN;

pub(crate) fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("a current-thread runtime builds")
}

/// Waits (in virtual time) until every spawned task has ended.
pub(crate) async fn all_tasks_end(what: &str) {
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

pub(crate) fn assert_kind(e: &Error, allowed: &[ErrorKind], what: &str) {
    assert!(
        allowed.contains(&e.kind()),
        "{what}: unexpected error {e:?}"
    );
}

/// Whether `part` is, in order, a subsequence of `whole`.
pub(crate) fn is_subsequence(part: &[Bytes], whole: &[Bytes]) -> bool {
    let mut rest = whole.iter();
    part.iter().all(|p| rest.any(|w| w == p))
}

/// The scripted peer: the other end of the pipe, recording both directions.
pub(crate) struct Peer {
    pub(crate) read: ReadHalf<DuplexStream>,
    pub(crate) write: Option<WriteHalf<DuplexStream>>,
    /// Bytes the peer wrote (only those the pipe took).
    pub(crate) sent: Vec<u8>,
    /// Bytes the peer read.
    pub(crate) received: Vec<u8>,
    pub(crate) eof: bool,
}

impl Peer {
    pub(crate) fn new(io: DuplexStream) -> Peer {
        let (read, write) = tokio::io::split(io);
        Peer {
            read,
            write: Some(write),
            sent: Vec::new(),
            received: Vec::new(),
            eof: false,
        }
    }

    pub(crate) async fn write(&mut self, bytes: &[u8]) {
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

    pub(crate) async fn read(&mut self, max: usize) {
        if self.eof {
            return;
        }
        let mut buf = vec![0u8; max.clamp(1, 1 << 16)];
        match timeout(STEP, self.read.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => self.eof = true,
            Ok(Ok(n)) => self.received.extend_from_slice(&buf[..n]),
            Err(_) => {}
        }
    }

    /// Reads until the other side ends the stream; false if it never does.
    pub(crate) async fn read_to_end(&mut self) -> bool {
        let ended = timeout(TEARDOWN, async {
            while !self.eof {
                self.read(1 << 16).await;
            }
        })
        .await;
        ended.is_ok()
    }

    pub(crate) async fn shutdown(&mut self) {
        if let Some(mut w) = self.write.take() {
            let _ = timeout(STEP, w.shutdown()).await;
        }
    }
}
