//! The request/response client on a multi-thread runtime against a scripted
//! peer that answers late, at once, out of order, twice, never, with IDs
//! nobody asked for and with IDs it predicts before their request arrives,
//! while callers give up on some calls. Whatever the schedule, every call
//! resolves exactly once and the counters add up (spec reqres §10).
//!
//! Real time (a multi-thread runtime cannot pause it), but no assertion
//! depends on speed: timeouts only decide which outcome a call gets.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use futures::StreamExt;
use tokio::io::{AsyncWriteExt, DuplexStream};
use tokio::sync::{mpsc, oneshot};
use tokio_util::codec::FramedRead;
use wireforms::reqres::ResponseBuf;
use wireforms::transport::codec::RequestCodec;
use wireforms::transport::reqres_client::{Client, ClientConfig, ClientStats};
use wireforms::{Encode, ErrorKind};

/// Every wait of the test is bounded by this.
const BOUND: Duration = Duration::from_secs(30);
const CALLERS: u64 = 8;
const BATCHES: u64 = 16;
const BATCH: u64 = 16;
/// Calls made while the peer goes away.
const LAST_CALLS: u64 = 32;

fn mix(mut x: u64) -> u64 {
    // splitmix64: a cheap, well-spread hash, so a seed picks a schedule.
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// The peer: answers each request as its hash says; returns how many
/// response lines it wrote once told to finish.
async fn peer(io: DuplexStream, seed: u64, finish: oneshot::Receiver<()>) -> u64 {
    let (read, mut write) = tokio::io::split(io);
    let (tx, mut rx) = mpsc::unbounded_channel::<ResponseBuf>();
    let written = tokio::spawn(async move {
        let mut lines = 0u64;
        let mut out = BytesMut::new();
        while let Some(response) = rx.recv().await {
            response.encode(&mut out).unwrap();
            lines += 1;
            while let Ok(response) = rx.try_recv() {
                response.encode(&mut out).unwrap();
                lines += 1;
            }
            if write.write_all(&out).await.is_err() {
                break;
            }
            out.clear();
        }
        // Stray lines after everything else, then the end of the stream.
        for id in ["x", "", "0"] {
            ResponseBuf::new(id, "OK", "stray")
                .encode(&mut out)
                .unwrap();
            lines += 1;
        }
        write.write_all(&out).await.unwrap();
        write.shutdown().await.unwrap();
        lines
    });
    let mut requests = FramedRead::new(read, RequestCodec::default());
    let mut held = Vec::new();
    let mut finish = std::pin::pin!(finish);
    loop {
        let request = tokio::select! {
            _ = &mut finish => break,
            r = requests.next() => match r {
                Some(Ok(r)) => r,
                _ => break,
            },
        };
        let id = request.id.to_string();
        let answer = ResponseBuf::new(request.id.clone(), "OK", request.args.clone());
        let h = mix(seed ^ mix(id.parse::<u64>().unwrap_or(0)));
        match h % 8 {
            0 | 1 => tx.send(answer).unwrap(),
            2 => {
                // Late: around the call timeout.
                let tx = tx.clone();
                let delay = Duration::from_micros((h >> 8) % 4000);
                tokio::spawn(async move {
                    tokio::time::sleep(delay).await;
                    let _ = tx.send(answer);
                });
            }
            3 => {
                // Out of order: held, then answered newest first.
                held.push(answer);
                if held.len() >= 5 {
                    for a in held.drain(..).rev() {
                        tx.send(a).unwrap();
                    }
                }
            }
            4 => {
                tx.send(answer.clone()).unwrap();
                tx.send(answer).unwrap();
            }
            5 => {} // never answered
            6 => {
                tx.send(ResponseBuf::new(format!("0{id}"), "OK", "near miss"))
                    .unwrap();
                tx.send(answer).unwrap();
            }
            _ => {
                // Early: an answer to an ID the client has not sent yet.
                if let Ok(n) = id.parse::<u64>() {
                    tx.send(ResponseBuf::new((n + 2).to_string(), "OK", "early"))
                        .unwrap();
                }
                tx.send(answer).unwrap();
            }
        }
    }
    drop(tx);
    written.await.unwrap()
}

#[derive(Default, Debug, Clone, Copy, PartialEq, Eq)]
struct Outcomes {
    answered: u64,
    timed_out: u64,
    closed: u64,
    cancelled: u64,
}

impl Outcomes {
    fn total(&self) -> u64 {
        self.answered + self.timed_out + self.closed + self.cancelled
    }
}

/// One call; `cancel_after` gives up on it from outside.
async fn one_call(client: &Client, args: &str, cancel_after: Option<Duration>) -> Outcome {
    let result = match cancel_after {
        Some(d) => match tokio::time::timeout(d, client.call("ECHO", args)).await {
            Ok(r) => r,
            Err(_) => return Outcome::Cancelled,
        },
        None => client.call("ECHO", args).await,
    };
    match result {
        Ok(r) => {
            assert!(
                *r.data == *args || &*r.data == "early",
                "call {args} got the answer {:?}",
                &*r.data
            );
            Outcome::Answered
        }
        Err(e) => match e.kind() {
            ErrorKind::Timeout => Outcome::TimedOut,
            ErrorKind::Closed => Outcome::Closed,
            _ => panic!("call {args}: unexpected {e:?}"),
        },
    }
}

#[derive(Debug, Clone, Copy)]
enum Outcome {
    Answered,
    TimedOut,
    Closed,
    Cancelled,
}

fn tally(outcomes: &mut Outcomes, o: Outcome) {
    match o {
        Outcome::Answered => outcomes.answered += 1,
        Outcome::TimedOut => outcomes.timed_out += 1,
        Outcome::Closed => outcomes.closed += 1,
        Outcome::Cancelled => outcomes.cancelled += 1,
    }
}

/// One schedule; returns the client's counters at the end.
async fn schedule(seed: u64, cancel: bool) -> ClientStats {
    let (io, peer_io) = tokio::io::duplex(64 * 1024);
    let (finish_tx, finish) = oneshot::channel();
    let peer = tokio::spawn(peer(peer_io, seed, finish));
    let config = ClientConfig::default().call_timeout(Duration::from_millis(2));
    let client = Client::new(io, config);
    let calls = Arc::new(AtomicU64::new(0));

    let callers = (0..CALLERS).map(|c| {
        let client = client.clone();
        let calls = calls.clone();
        tokio::spawn(async move {
            let mut outcomes = Outcomes::default();
            for b in 0..BATCHES {
                let batch = (0..BATCH).map(|i| {
                    let args = format!("c{c}-b{b}-{i}");
                    let h = mix(seed ^ mix(c << 32 | b << 16 | i));
                    let cancel_after =
                        (cancel && h % 4 == 0).then(|| Duration::from_micros((h >> 8) % 3000));
                    calls.fetch_add(1, Ordering::Relaxed);
                    let client = &client;
                    async move { one_call(client, &args, cancel_after).await }
                });
                for o in futures::future::join_all(batch).await {
                    tally(&mut outcomes, o);
                }
            }
            outcomes
        })
    });
    let callers: Vec<_> = callers.collect();
    let mut outcomes = Outcomes::default();
    for c in callers {
        let o = tokio::time::timeout(BOUND, c)
            .await
            .expect("callers")
            .unwrap();
        outcomes.answered += o.answered;
        outcomes.timed_out += o.timed_out;
        outcomes.closed += o.closed;
        outcomes.cancelled += o.cancelled;
    }

    // Calls in flight while the peer goes away: answered, timed out or
    // closed, but resolved.
    let last = (0..LAST_CALLS).map(|i| {
        let client = client.clone();
        calls.fetch_add(1, Ordering::Relaxed);
        tokio::spawn(async move { one_call(&client, &format!("last-{i}"), None).await })
    });
    let last: Vec<_> = last.collect();
    tokio::task::yield_now().await;
    finish_tx.send(()).unwrap();
    for t in last {
        tally(
            &mut outcomes,
            tokio::time::timeout(BOUND, t)
                .await
                .expect("last calls")
                .unwrap(),
        );
    }
    let lines_written = tokio::time::timeout(BOUND, peer)
        .await
        .expect("peer")
        .unwrap();
    // The table closes at the peer's end or at a failed write (the peer
    // stops reading); the reader goes on counting to the end of the stream.
    tokio::time::timeout(BOUND, async {
        loop {
            let stats = client.stats();
            if client.is_closed() && stats.answered + stats.unknown_responses >= lines_written {
                break;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    })
    .await
    .expect("the client reads every response line the peer wrote");

    let calls = calls.load(Ordering::Relaxed);
    assert_eq!(outcomes.total(), calls, "every call resolves: {outcomes:?}");
    let stats = client.stats();
    let report = format!("seed {seed}: {stats:?}, callers saw {outcomes:?}");
    // The table's view: each call it took ended exactly once.
    assert_eq!(stats.pending, 0, "{report}");
    assert_eq!(
        stats.answered + stats.timed_out + stats.failed + stats.cancelled,
        stats.calls,
        "{report}"
    );
    // Calls refused because the connection had ended were never taken.
    let refused = calls - stats.calls;
    assert!(refused <= LAST_CALLS, "{report}");
    // The callers' view agrees, except that a caller may give up after its
    // call ended and before it saw how.
    if cancel {
        assert!(stats.cancelled <= outcomes.cancelled, "{report}");
        assert!(outcomes.answered <= stats.answered, "{report}");
        assert!(outcomes.timed_out <= stats.timed_out, "{report}");
        assert!(outcomes.closed <= stats.failed + refused, "{report}");
    } else {
        assert_eq!(stats.cancelled, 0, "{report}");
        assert_eq!(stats.answered, outcomes.answered, "{report}");
        assert_eq!(stats.timed_out, outcomes.timed_out, "{report}");
        assert_eq!(stats.failed + refused, outcomes.closed, "{report}");
    }
    assert_eq!(
        stats.answered + stats.unknown_responses,
        lines_written,
        "every response line is matched or counted unknown: {report}"
    );

    // Nothing is left running once the last handle is gone.
    let stats = client.stats();
    drop(client);
    let metrics = tokio::runtime::Handle::current().metrics();
    tokio::time::timeout(BOUND, async {
        while metrics.num_alive_tasks() > 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    })
    .await
    .expect("client tasks end after the last handle is dropped");
    stats
}

/// The counters summed over schedules, for the record (spec security §9).
#[derive(Debug, Default)]
struct Totals {
    calls: u64,
    answered: u64,
    timed_out: u64,
    failed: u64,
    cancelled: u64,
    unknown_responses: u64,
}

impl Totals {
    fn add(&mut self, s: ClientStats) {
        self.calls += s.calls;
        self.answered += s.answered;
        self.timed_out += s.timed_out;
        self.failed += s.failed;
        self.cancelled += s.cancelled;
        self.unknown_responses += s.unknown_responses;
    }
}

fn multi_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn answers_race_their_timeouts_and_every_call_resolves_once() {
    let rt = multi_thread();
    let mut total = Totals::default();
    for seed in 0..40 {
        total.add(rt.block_on(schedule(seed, false)));
    }
    eprintln!("40 schedules without cancellation: {total:?}");
}

#[test]
fn cancelled_calls_are_accounted_under_the_same_schedule() {
    let rt = multi_thread();
    let mut total = Totals::default();
    for seed in 100..140 {
        total.add(rt.block_on(schedule(seed, true)));
    }
    eprintln!("40 schedules with cancellation: {total:?}");
}
