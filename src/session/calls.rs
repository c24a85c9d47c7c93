//! The pending-call table of a request/response client (spec reqres §10):
//! ID allocation, exact matching of responses, deadlines, fail-all on close,
//! and the accounting of every call.
//!
//! Sans-IO: [`CallTable`] reads no clock and wakes nothing. The caller
//! registers a call with a deadline it computed, feeds each response ID it
//! read to [`handle_response`](CallTable::handle_response), tells the table
//! the time in [`handle_timeout`](CallTable::handle_timeout) when
//! [`poll_timeout`](CallTable::poll_timeout) says a deadline is due, and
//! [`close`](CallTable::close)s it when the connection ends. Each of those
//! hands back the waiter (`W`, whatever the caller uses to wake the call) of
//! every call it ended, so the caller learns each call's single outcome from
//! the method that returned its waiter.
//!
//! # The accounting
//! Every registered call ends exactly once, as one of:
//! - **answered**: a response with its ID arrived while it was pending;
//! - **timed out**: its deadline passed, as told by `handle_timeout`;
//! - **failed**: the connection ended ([`close`](CallTable::close)) or its
//!   request could not be sent ([`fail`](CallTable::fail));
//! - **cancelled**: the caller gave up ([`cancel`](CallTable::cancel)).
//!
//! Whoever removes a call from the table decides its outcome, so a response
//! and a deadline that race cannot both claim the same call: at all times
//! `answered + timed_out + failed + cancelled + pending == calls`
//! ([`CallStats::is_balanced`]), and once the table is closed `pending == 0`.
//! A call refused by [`register`](CallTable::register) (table full or
//! closed) was never a call and is not counted.
//!
//! # IDs
//! IDs are decimal counters from 1, written without sign or leading zeros.
//! A response matches a pending call only when its ID is exactly that text
//! (spec reqres §10): `001`, `+1` and `1 ` match nothing and are counted as
//! unknown responses, as are late, repeated and invented IDs. An ID is never
//! given to a call while another call with that ID is pending.
//!
//! ```
//! use std::time::{Duration, Instant};
//! use wireforms::session::calls::{CallTable, CloseReason};
//!
//! let start = Instant::now();
//! let mut table = CallTable::new(16);
//! let a = table.register(start + Duration::from_secs(1), "a")?;
//! let b = table.register(start + Duration::from_secs(2), "b")?;
//! assert_eq!((a.to_string(), b.to_string()), ("1".into(), "2".into()));
//!
//! assert_eq!(table.handle_response("01"), None); // not call 1
//! assert_eq!(table.handle_response("1"), Some("a"));
//! assert_eq!(table.poll_timeout(), Some(start + Duration::from_secs(2)));
//! assert_eq!(table.close(CloseReason::PeerClosed), vec!["b"]);
//!
//! let stats = table.stats();
//! assert_eq!((stats.answered, stats.failed, stats.unknown_responses), (1, 1, 1));
//! assert!(stats.is_balanced() && stats.pending == 0);
//! # Ok::<(), wireforms::Error>(())
//! ```

use core::fmt;
use std::collections::{BTreeSet, HashMap};
use std::time::Instant;

use crate::Error;

/// Default bound on pending calls ([`CallTable::new`]): enough for any
/// pipeline that a server keeps busy, small enough that a server that never
/// answers holds a client to a few MiB (about 1 KiB per pending call with
/// its caller's future, spec security §9).
pub const DEFAULT_MAX_PENDING: usize = 4096;

/// The ID of a call: sent as its decimal text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CallId(pub u64);

impl CallId {
    /// The call whose ID is exactly `text`: decimal digits, no sign, no
    /// leading zero. Any other text names no call we could have sent.
    pub fn from_text(text: &str) -> Option<CallId> {
        let bytes = text.as_bytes();
        let canonical = match bytes {
            [] => false,
            [b'0'] => true,
            [b'0', ..] => false,
            _ => bytes.iter().all(u8::is_ascii_digit),
        };
        // `parse` then only fails on overflow: a number no counter reached.
        canonical.then(|| text.parse().ok().map(CallId)).flatten()
    }

    /// Bytes of the decimal text.
    pub fn text_len(self) -> usize {
        let mut n = self.0;
        let mut len = 1;
        while n >= 10 {
            n /= 10;
            len += 1;
        }
        len
    }
}

impl fmt::Display for CallId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Why a table was closed: the end of the connection, given to every call
/// still pending as [`Error::Closed`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CloseReason {
    /// The server closed the connection.
    PeerClosed,
    /// Reading failed (an I/O error).
    ReadFailed,
    /// The server sent a line that is not a response (or is over the
    /// limit); the stream cannot be resynchronised after it (reqres §7.1).
    BadResponse,
    /// Writing a request failed.
    WriteFailed,
    /// Every client handle was dropped.
    ClientDropped,
    /// The task that ran the connection stopped (its runtime shut down).
    TaskStopped,
}

impl CloseReason {
    /// The reason in a few words, as carried by [`Error::Closed`].
    pub const fn as_str(self) -> &'static str {
        match self {
            CloseReason::PeerClosed => "connection closed by peer",
            CloseReason::ReadFailed => "connection failed",
            CloseReason::BadResponse => "connection closed after an invalid response",
            CloseReason::WriteFailed => "connection failed while writing",
            CloseReason::ClientDropped => "client dropped",
            CloseReason::TaskStopped => "connection task stopped",
        }
    }

    /// The error a call ended by this reason fails with.
    pub fn error(self) -> Error {
        Error::Closed {
            reason: self.as_str(),
        }
    }
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The counters of a [`CallTable`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CallStats {
    /// Calls registered.
    pub calls: u64,
    /// Calls answered.
    pub answered: u64,
    /// Calls whose deadline passed.
    pub timed_out: u64,
    /// Calls failed by the end of the connection or an unsendable request.
    pub failed: u64,
    /// Calls the caller gave up on.
    pub cancelled: u64,
    /// Responses that matched no pending call (unknown, late, repeated, or
    /// an ID that is not exactly a call's).
    pub unknown_responses: u64,
    /// Calls pending now.
    pub pending: usize,
}

impl CallStats {
    /// Whether every call is accounted for exactly once:
    /// `answered + timed_out + failed + cancelled + pending == calls`.
    pub fn is_balanced(&self) -> bool {
        let ended = [self.answered, self.timed_out, self.failed, self.cancelled]
            .iter()
            .try_fold(self.pending as u64, |sum, n| sum.checked_add(*n));
        ended == Some(self.calls)
    }
}

struct Pending<W> {
    deadline: Instant,
    waiter: W,
}

/// The pending calls of one connection; see the [module docs](self).
pub struct CallTable<W> {
    pending: HashMap<CallId, Pending<W>>,
    /// The same calls, by deadline.
    deadlines: BTreeSet<(Instant, CallId)>,
    /// Where ID allocation goes on from.
    next_id: u64,
    max_pending: usize,
    closed: Option<CloseReason>,
    stats: CallStats,
}

impl<W> fmt::Debug for CallTable<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallTable")
            .field("stats", &self.stats())
            .field("closed", &self.closed)
            .finish_non_exhaustive()
    }
}

impl<W> CallTable<W> {
    /// An open, empty table that holds at most `max_pending` calls (zero
    /// refuses every call).
    pub fn new(max_pending: usize) -> Self {
        CallTable {
            pending: HashMap::new(),
            deadlines: BTreeSet::new(),
            next_id: 1,
            max_pending,
            closed: None,
            stats: CallStats::default(),
        }
    }

    /// The ID the next [`register`](CallTable::register) will give, so a
    /// caller can check the request line it would send first.
    pub fn next_id(&self) -> CallId {
        // Terminates: fewer IDs are pending than a u64 counts.
        let mut id = self.next_id;
        while self.pending.contains_key(&CallId(id)) {
            id = id.wrapping_add(1);
        }
        CallId(id)
    }

    /// Registers a call that times out at `deadline`, woken through
    /// `waiter` when it ends; returns its ID ([`next_id`](CallTable::next_id)).
    ///
    /// # Errors
    /// [`Error::Closed`] (with the close reason) once the table is closed,
    /// [`Error::LimitReached`] when `max_pending` calls are pending. The
    /// call is then not registered and not counted.
    pub fn register(&mut self, deadline: Instant, waiter: W) -> Result<CallId, Error> {
        if let Some(reason) = self.closed {
            return Err(reason.error());
        }
        if self.pending.len() >= self.max_pending {
            return Err(Error::LimitReached {
                what: "pending calls",
                max: self.max_pending as u64,
            });
        }
        let id = self.next_id();
        self.next_id = id.0.wrapping_add(1);
        self.pending.insert(id, Pending { deadline, waiter });
        self.deadlines.insert((deadline, id));
        self.stats.calls += 1;
        Ok(id)
    }

    fn remove(&mut self, id: CallId) -> Option<W> {
        let call = self.pending.remove(&id)?;
        self.deadlines.remove(&(call.deadline, id));
        self.shrink();
        Some(call.waiter)
    }

    /// Gives memory back once most of it is unused, so a burst of calls
    /// does not hold the table at its peak for the life of the connection.
    /// Shrinking to half when a quarter is used keeps it amortised O(1).
    fn shrink(&mut self) {
        const KEEP: usize = 64;
        let (len, capacity) = (self.pending.len(), self.pending.capacity());
        if capacity > KEEP && len < capacity / 4 {
            self.pending.shrink_to((2 * len).max(KEEP));
        }
    }

    /// A response with ID `id` arrived: returns the waiter of the call it
    /// answers, which ends as answered, or `None` (counted as an unknown
    /// response) when `id` is not exactly the ID of a pending call.
    pub fn handle_response(&mut self, id: &str) -> Option<W> {
        let waiter = CallId::from_text(id).and_then(|id| self.remove(id));
        match waiter {
            Some(_) => self.stats.answered += 1,
            None => self.stats.unknown_responses += 1,
        }
        waiter
    }

    /// The earliest deadline of a pending call: when
    /// [`handle_timeout`](CallTable::handle_timeout) has work.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.deadlines.first().map(|(deadline, _)| *deadline)
    }

    /// The time is `now`: every call whose deadline is `now` or earlier ends
    /// as timed out; returns their waiters, earliest deadline first.
    pub fn handle_timeout(&mut self, now: Instant) -> Vec<W> {
        let mut expired = Vec::new();
        while let Some(&(deadline, id)) = self.deadlines.first() {
            if deadline > now {
                break;
            }
            self.deadlines.pop_first();
            if let Some(call) = self.pending.remove(&id) {
                self.stats.timed_out += 1;
                expired.push(call.waiter);
            }
        }
        expired
    }

    /// The caller gave up on call `id`: it ends as cancelled. `None` when it
    /// had already ended (its outcome stands).
    pub fn cancel(&mut self, id: CallId) -> Option<W> {
        let waiter = self.remove(id)?;
        self.stats.cancelled += 1;
        Some(waiter)
    }

    /// Call `id`'s request cannot be sent: it ends as failed. `None` when it
    /// had already ended.
    pub fn fail(&mut self, id: CallId) -> Option<W> {
        let waiter = self.remove(id)?;
        self.stats.failed += 1;
        Some(waiter)
    }

    /// The connection ended: every pending call ends as failed (returned, to
    /// be told `reason`) and every later [`register`](CallTable::register)
    /// is refused. Closing again changes nothing and keeps the first reason.
    pub fn close(&mut self, reason: CloseReason) -> Vec<W> {
        self.closed.get_or_insert(reason);
        self.deadlines.clear();
        let failed: Vec<W> = self.pending.drain().map(|(_, call)| call.waiter).collect();
        self.shrink();
        self.stats.failed += failed.len() as u64;
        failed
    }

    /// Why the table was closed, once it is.
    pub fn closed(&self) -> Option<CloseReason> {
        self.closed
    }

    /// Whether call `id` is pending.
    pub fn is_pending(&self, id: CallId) -> bool {
        self.pending.contains_key(&id)
    }

    /// The counters.
    pub fn stats(&self) -> CallStats {
        CallStats {
            pending: self.pending.len(),
            ..self.stats
        }
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use std::time::Duration;

    fn at(start: Instant, ms: u64) -> Instant {
        start + Duration::from_millis(ms)
    }

    fn table() -> (CallTable<u32>, Instant) {
        (CallTable::new(DEFAULT_MAX_PENDING), Instant::now())
    }

    #[test]
    fn ids_count_from_one_and_are_not_reused_while_pending() {
        let (mut t, start) = table();
        let ids: Vec<CallId> = (0..3)
            .map(|i| t.register(at(start, 10), i).unwrap())
            .collect();
        assert_eq!(ids, [CallId(1), CallId(2), CallId(3)]);
        // Wrap the counter onto pending IDs: they are skipped.
        t.next_id = 1;
        assert_eq!(t.next_id(), CallId(4));
        assert_eq!(t.register(at(start, 10), 9).unwrap(), CallId(4));
        assert_eq!(t.handle_response("2"), Some(1));
        t.next_id = 1;
        assert_eq!(t.register(at(start, 10), 10).unwrap(), CallId(2));
    }

    #[test]
    fn ids_match_only_as_exact_text() {
        for text in [
            "001", "01", "+1", "-1", " 1", "1 ", "1\r", "", "0x1", "1.0", "１",
        ] {
            assert_eq!(CallId::from_text(text), None, "{text:?}");
        }
        assert_eq!(CallId::from_text("18446744073709551616"), None, "overflow");
        assert_eq!(CallId::from_text("0"), Some(CallId(0)));
        assert_eq!(
            CallId::from_text("18446744073709551615"),
            Some(CallId(u64::MAX))
        );
        let (mut t, start) = table();
        t.register(at(start, 10), 7).unwrap();
        for near_miss in ["001", "+1", "01", "1 "] {
            assert_eq!(t.handle_response(near_miss), None);
        }
        assert_eq!(t.handle_response("1"), Some(7));
        let s = t.stats();
        assert_eq!((s.answered, s.unknown_responses, s.pending), (1, 4, 0));
    }

    #[test]
    fn text_len_is_the_length_of_the_decimal_text() {
        for n in [0, 9, 10, 99, 100, 12_345, u64::MAX] {
            assert_eq!(CallId(n).text_len(), CallId(n).to_string().len(), "{n}");
        }
    }

    #[test]
    fn late_repeated_and_unknown_responses_are_counted() {
        let (mut t, start) = table();
        let id = t.register(at(start, 10), 1).unwrap();
        assert_eq!(t.handle_response(&id.to_string()), Some(1));
        assert_eq!(t.handle_response(&id.to_string()), None, "repeated");
        assert_eq!(t.handle_response("2"), None, "not registered yet");
        assert_eq!(t.handle_response("not a number"), None);
        let late = t.register(at(start, 10), 2).unwrap();
        assert_eq!(t.handle_timeout(at(start, 10)), vec![2]);
        assert_eq!(t.handle_response(&late.to_string()), None, "late");
        let s = t.stats();
        assert_eq!((s.answered, s.timed_out, s.unknown_responses), (1, 1, 4));
        assert!(s.is_balanced());
    }

    #[test]
    fn deadlines_expire_in_order_and_only_when_due() {
        let (mut t, start) = table();
        assert_eq!(t.poll_timeout(), None);
        t.register(at(start, 30), 30).unwrap();
        t.register(at(start, 10), 10).unwrap();
        t.register(at(start, 20), 20).unwrap();
        t.register(at(start, 20), 21).unwrap();
        assert_eq!(t.poll_timeout(), Some(at(start, 10)));
        assert!(t.handle_timeout(at(start, 9)).is_empty());
        assert_eq!(t.handle_timeout(at(start, 10)), vec![10]);
        assert_eq!(t.poll_timeout(), Some(at(start, 20)));
        assert_eq!(t.handle_timeout(at(start, 25)), vec![20, 21]);
        assert_eq!(t.poll_timeout(), Some(at(start, 30)));
        assert_eq!(t.stats().timed_out, 3);
    }

    // Fault 4 (issue 11), at the level where it is decided: a response the
    // reader took ends the call as answered, and a deadline that passes
    // before the caller is woken finds nothing to time out.
    #[test]
    fn an_answer_taken_before_the_deadline_is_handled_is_not_lost() {
        let (mut t, start) = table();
        let id = t.register(at(start, 10), 1).unwrap();
        assert_eq!(t.handle_response(&id.to_string()), Some(1));
        assert!(t.handle_timeout(at(start, 11)).is_empty());
        assert_eq!(t.cancel(id), None, "a caller giving up changes nothing now");
        let s = t.stats();
        assert_eq!((s.answered, s.timed_out, s.cancelled), (1, 0, 0));
        // And the other way round: once timed out, the answer is unknown.
        let id = t.register(at(start, 10), 2).unwrap();
        assert_eq!(t.handle_timeout(at(start, 10)), vec![2]);
        assert_eq!(t.handle_response(&id.to_string()), None);
        let s = t.stats();
        assert_eq!((s.answered, s.timed_out, s.unknown_responses), (1, 1, 1));
        assert!(s.is_balanced());
    }

    #[test]
    fn cancel_and_fail_end_a_pending_call_once() {
        let (mut t, start) = table();
        let a = t.register(at(start, 10), 1).unwrap();
        let b = t.register(at(start, 10), 2).unwrap();
        assert_eq!(t.cancel(a), Some(1));
        assert_eq!(t.cancel(a), None);
        assert_eq!(t.fail(b), Some(2));
        assert_eq!(t.fail(b), None);
        assert_eq!(t.poll_timeout(), None, "their deadlines are gone too");
        assert_eq!(t.handle_response(&a.to_string()), None);
        let s = t.stats();
        assert_eq!((s.calls, s.cancelled, s.failed, s.pending), (2, 1, 1, 0));
        assert!(s.is_balanced());
    }

    #[test]
    fn close_fails_every_pending_call_and_refuses_new_ones() {
        let (mut t, start) = table();
        for i in 0..5 {
            t.register(at(start, 10), i).unwrap();
        }
        let mut failed = t.close(CloseReason::PeerClosed);
        failed.sort_unstable();
        assert_eq!(failed, [0, 1, 2, 3, 4]);
        assert_eq!(t.poll_timeout(), None);
        assert!(t.close(CloseReason::WriteFailed).is_empty());
        assert_eq!(
            t.closed(),
            Some(CloseReason::PeerClosed),
            "the first reason stays"
        );
        let e = t.register(at(start, 10), 9).unwrap_err();
        assert_eq!(e.to_string(), "connection closed by peer");
        assert_eq!(t.handle_response("1"), None);
        let s = t.stats();
        assert_eq!(
            (s.calls, s.failed, s.pending, s.unknown_responses),
            (5, 5, 0, 1)
        );
        assert!(s.is_balanced());
    }

    #[test]
    fn the_pending_cap_refuses_without_counting() {
        let mut t = CallTable::new(2);
        let start = Instant::now();
        let a = t.register(at(start, 10), 1).unwrap();
        t.register(at(start, 10), 2).unwrap();
        let e = t.register(at(start, 10), 3).unwrap_err();
        assert!(matches!(e, Error::LimitReached { max: 2, .. }), "{e:?}");
        assert_eq!(t.stats().calls, 2);
        t.handle_response(&a.to_string());
        assert!(t.register(at(start, 10), 3).is_ok(), "room again");
        let mut none = CallTable::new(0);
        assert!(none.register(at(start, 10), 1).is_err());
    }

    #[test]
    fn balance_catches_a_miscount() {
        let s = CallStats {
            calls: 3,
            answered: 1,
            timed_out: 1,
            pending: 1,
            ..CallStats::default()
        };
        assert!(s.is_balanced());
        assert!(!CallStats { answered: 2, ..s }.is_balanced());
        assert!(!CallStats {
            answered: u64::MAX,
            ..s
        }
        .is_balanced());
    }
}
