//! The `calls_core` target: arbitrary sequences of register, response,
//! time, cancel, fail and close driven straight into the sans-IO call table
//! ([`CallTable`]), with no runtime, checked step by step against a simple
//! model (a sorted map of pending calls) and the accounting:
//! - `register` gives the model's next ID (the counter, skipping pending
//!   IDs) or refuses exactly when the table is closed or full;
//! - a response ends exactly the call whose ID is the response's text, and
//!   only while it is pending; anything else is an unknown response;
//! - `handle_timeout(now)` ends exactly the calls whose deadline is due,
//!   earliest first, and `poll_timeout` is the earliest deadline pending;
//! - `cancel` and `fail` end a pending call once and nothing else;
//! - `close` ends every pending call, and refuses every later register;
//! - after every step, every counter equals the model's and
//!   `answered + timed_out + failed + cancelled + pending == calls`; at the
//!   end, closed, `pending == 0`.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use arbitrary::Arbitrary;
use wireforms::session::calls::{CallId, CallTable, CloseReason};
use wireforms::Error;

/// Steps run per script; the rest are ignored.
const MAX_OPS: usize = 512;

/// A script for [`calls_core`].
#[derive(Arbitrary, Clone, Debug)]
pub struct CallsScript {
    /// The table's pending cap (`n % 16`).
    pub max_pending: u8,
    /// What happens, in order.
    pub ops: Vec<CallOp>,
}

/// Which call an operation names.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub enum Target {
    /// The n-th pending call (modulo those pending), if any.
    Pending(u8),
    /// An ID given out before (modulo those), pending or not.
    Issued(u8),
    /// Any number.
    Raw(u64),
}

/// A response ID.
#[derive(Arbitrary, Clone, Debug)]
pub enum ResponseId {
    /// Exactly the decimal text of a call's ID.
    Exact(Target),
    /// A call's ID with leading zeros.
    Zeros(Target, u8),
    /// A call's ID with a `+`.
    Plus(Target),
    /// A call's ID with a trailing byte.
    Suffix(Target, char),
    /// Any text.
    Text(String),
}

/// One step of a [`CallsScript`].
#[derive(Arbitrary, Clone, Debug)]
pub enum CallOp {
    /// Register a call due in this many milliseconds from now.
    Register(u16),
    /// A response arrives.
    Respond(ResponseId),
    /// This many milliseconds pass and the table is told.
    Advance(u16),
    /// Time passes and the table is not told (its deadlines are not due
    /// until it is).
    Pass(u16),
    /// The caller gives up on a call.
    Cancel(Target),
    /// A call's request cannot be sent.
    Fail(Target),
    /// The connection ends.
    Close(u8),
}

/// What a [`calls_core`] run did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CallsReport {
    /// Calls registered.
    pub calls: u64,
    /// Calls answered.
    pub answered: u64,
    /// Calls timed out.
    pub timed_out: u64,
    /// Registers refused.
    pub refused: u64,
}

/// The model: what the table should hold and have counted.
#[derive(Default)]
struct Model {
    /// Pending calls: ID → (deadline, waiter).
    pending: BTreeMap<u64, (Instant, u64)>,
    issued: Vec<u64>,
    next: u64,
    closed: Option<CloseReason>,
    calls: u64,
    answered: u64,
    timed_out: u64,
    failed: u64,
    cancelled: u64,
    unknown: u64,
}

impl Model {
    fn next_id(&self) -> u64 {
        let mut id = self.next;
        while self.pending.contains_key(&id) {
            id = id.wrapping_add(1);
        }
        id
    }

    fn id_of(&self, target: Target) -> Option<u64> {
        match target {
            Target::Pending(n) => {
                let len = self.pending.len();
                (len > 0).then(|| *self.pending.keys().nth(usize::from(n) % len).unwrap_or(&0))
            }
            Target::Issued(n) => {
                let len = self.issued.len();
                (len > 0).then(|| self.issued[usize::from(n) % len])
            }
            Target::Raw(id) => Some(id),
        }
    }

    fn end(&mut self, id: Option<u64>) -> Option<u64> {
        id.and_then(|id| self.pending.remove(&id))
            .map(|(_, waiter)| waiter)
    }
}

const REASONS: [CloseReason; 6] = [
    CloseReason::PeerClosed,
    CloseReason::ReadFailed,
    CloseReason::BadResponse,
    CloseReason::WriteFailed,
    CloseReason::ClientDropped,
    CloseReason::TaskStopped,
];

fn check(table: &CallTable<u64>, model: &Model, step: usize) {
    let s = table.stats();
    let expected = (
        model.calls,
        model.answered,
        model.timed_out,
        model.failed,
        model.cancelled,
        model.unknown,
        model.pending.len(),
    );
    let got = (
        s.calls,
        s.answered,
        s.timed_out,
        s.failed,
        s.cancelled,
        s.unknown_responses,
        s.pending,
    );
    assert_eq!(got, expected, "calls_core: counters after step {step}");
    assert!(
        s.is_balanced(),
        "calls_core: unbalanced after step {step}: {s:?}"
    );
    let earliest = model.pending.values().map(|(deadline, _)| *deadline).min();
    assert_eq!(
        table.poll_timeout(),
        earliest,
        "calls_core: poll_timeout after step {step}"
    );
    assert_eq!(
        table.closed(),
        model.closed,
        "calls_core: closed after step {step}"
    );
    for id in model.pending.keys() {
        assert!(
            table.is_pending(CallId(*id)),
            "calls_core: call {id} lost at step {step}"
        );
    }
}

/// Fuzz target body: see the [module docs](self).
pub fn calls_core(script: &CallsScript) -> CallsReport {
    let max_pending = usize::from(script.max_pending % 16);
    let mut table: CallTable<u64> = CallTable::new(max_pending);
    let mut model = Model {
        next: 1,
        ..Model::default()
    };
    let start = Instant::now();
    let mut now = start;
    let mut waiters = 0u64;
    let mut refused = 0;
    for (step, op) in script.ops.iter().take(MAX_OPS).enumerate() {
        match op {
            CallOp::Register(ms) => {
                let deadline = now + Duration::from_millis(u64::from(*ms));
                let expected_id = model.next_id();
                assert_eq!(table.next_id(), CallId(expected_id), "calls_core: next_id");
                waiters += 1;
                match table.register(deadline, waiters) {
                    Ok(id) => {
                        assert!(
                            model.closed.is_none() && model.pending.len() < max_pending,
                            "calls_core: registered past the cap or the close"
                        );
                        assert_eq!(id, CallId(expected_id), "calls_core: the ID given");
                        model.pending.insert(id.0, (deadline, waiters));
                        model.issued.push(id.0);
                        model.next = id.0.wrapping_add(1);
                        model.calls += 1;
                    }
                    Err(e) => {
                        refused += 1;
                        match (&e, model.closed) {
                            (Error::Closed { reason }, Some(closed)) => {
                                assert_eq!(*reason, closed.as_str(), "calls_core: close reason")
                            }
                            (Error::LimitReached { max, .. }, None) => {
                                assert_eq!(model.pending.len(), max_pending, "calls_core: cap");
                                assert_eq!(*max, max_pending as u64);
                            }
                            _ => panic!("calls_core: refused with {e:?}"),
                        }
                    }
                }
            }
            CallOp::Respond(response) => {
                let (text, exact_id) = match response {
                    ResponseId::Exact(t) => {
                        let id = model.id_of(*t);
                        (id.map(|id| id.to_string()).unwrap_or_default(), id)
                    }
                    ResponseId::Zeros(t, n) => {
                        let id = model.id_of(*t).unwrap_or(0);
                        let zeros = "0".repeat(usize::from(n % 4) + 1);
                        (format!("{zeros}{id}"), None)
                    }
                    ResponseId::Plus(t) => (format!("+{}", model.id_of(*t).unwrap_or(0)), None),
                    ResponseId::Suffix(t, c) => {
                        let id = model.id_of(*t).unwrap_or(0);
                        let text = format!("{id}{c}");
                        // A digit suffix is another number's exact text.
                        let exact = text.parse::<u64>().ok().filter(|n| n.to_string() == text);
                        (text, exact)
                    }
                    ResponseId::Text(text) => {
                        let exact = text.parse::<u64>().ok().filter(|n| n.to_string() == *text);
                        (text.clone(), exact)
                    }
                };
                // With no call to name, `Exact` sends the empty ID.
                let expected = model.end(exact_id);
                match expected {
                    Some(_) => model.answered += 1,
                    None => model.unknown += 1,
                }
                assert_eq!(
                    table.handle_response(&text),
                    expected,
                    "calls_core: response {text:?}"
                );
            }
            CallOp::Advance(ms) | CallOp::Pass(ms) => {
                now += Duration::from_millis(u64::from(*ms));
                if let CallOp::Advance(_) = op {
                    let mut due: Vec<(Instant, u64, u64)> = model
                        .pending
                        .iter()
                        .filter(|(_, (deadline, _))| *deadline <= now)
                        .map(|(id, (deadline, waiter))| (*deadline, *id, *waiter))
                        .collect();
                    due.sort_unstable();
                    for (_, id, _) in &due {
                        model.pending.remove(id);
                    }
                    model.timed_out += due.len() as u64;
                    let expected: Vec<u64> = due.iter().map(|(_, _, w)| *w).collect();
                    assert_eq!(table.handle_timeout(now), expected, "calls_core: timeouts");
                }
            }
            CallOp::Cancel(t) => {
                let id = model.id_of(*t);
                let expected = model.end(id);
                model.cancelled += u64::from(expected.is_some());
                let got = id.and_then(|id| table.cancel(CallId(id)));
                assert_eq!(got, expected, "calls_core: cancel {id:?}");
            }
            CallOp::Fail(t) => {
                let id = model.id_of(*t);
                let expected = model.end(id);
                model.failed += u64::from(expected.is_some());
                let got = id.and_then(|id| table.fail(CallId(id)));
                assert_eq!(got, expected, "calls_core: fail {id:?}");
            }
            CallOp::Close(r) => {
                let reason = REASONS[usize::from(*r) % REASONS.len()];
                let mut expected: Vec<u64> = model.pending.values().map(|(_, w)| *w).collect();
                model.failed += expected.len() as u64;
                model.pending.clear();
                model.closed.get_or_insert(reason);
                let mut got = table.close(reason);
                got.sort_unstable();
                expected.sort_unstable();
                assert_eq!(got, expected, "calls_core: close");
            }
        }
        check(&table, &model, step);
    }
    // The connection ends: nothing stays pending, everything is counted.
    model.failed += model.pending.len() as u64;
    model.pending.clear();
    model.closed.get_or_insert(CloseReason::PeerClosed);
    table.close(CloseReason::PeerClosed);
    check(&table, &model, usize::MAX);
    let s = table.stats();
    assert_eq!(s.pending, 0, "calls_core: pending after close");
    CallsReport {
        calls: s.calls,
        answered: s.answered,
        timed_out: s.timed_out,
        refused,
    }
}
