//! What pending calls cost in memory against a server that never answers,
//! and that cancelling them gives it back (spec security §7). Measured with
//! a counting allocator; one test in this binary so that nothing else
//! allocates meanwhile.

#[path = "support/counting_alloc.rs"]
mod counting_alloc;

use std::time::Duration;

use tokio::io::AsyncReadExt;
use wireforms::transport::reqres_client::{Client, ClientConfig, DEFAULT_MAX_PENDING};
use wireforms::ErrorKind;

#[global_allocator]
static ALLOCATOR: counting_alloc::Counting = counting_alloc::Counting;

/// Lets every task run until it waits (paused time does not move).
async fn settle() {
    for _ in 0..64 {
        tokio::task::yield_now().await;
    }
}

#[tokio::test(start_paused = true)]
async fn a_silent_server_holds_at_most_the_pending_cap_and_cancelling_frees_it() {
    let (io, mut peer) = tokio::io::duplex(64 * 1024);
    // Reads and forgets every request, never answers.
    let silent = tokio::spawn(async move {
        let mut buf = vec![0u8; 16 * 1024];
        while matches!(peer.read(&mut buf).await, Ok(n) if n > 0) {}
    });
    let client = Client::new(io, ClientConfig::default());
    settle().await;
    let base = counting_alloc::current();

    // A few over the cap: those are refused at once.
    let calls = (0..DEFAULT_MAX_PENDING + 8).map(|_| client.call("ECHO", "x"));
    let mut all = Box::pin(futures::future::join_all(calls));
    tokio::select! {
        _ = &mut all => panic!("nothing answers and the timeout is far"),
        _ = tokio::time::sleep(Duration::from_millis(1)) => {}
    }
    settle().await;
    assert_eq!(client.stats().pending, DEFAULT_MAX_PENDING);
    let held = counting_alloc::current().saturating_sub(base);
    let per_call = held / DEFAULT_MAX_PENDING;

    // The callers give up: every entry goes.
    drop(all);
    settle().await;
    let stats = client.stats();
    assert_eq!(
        (stats.pending, stats.cancelled),
        (0, DEFAULT_MAX_PENDING as u64)
    );
    let kept = counting_alloc::current().saturating_sub(base);
    eprintln!(
        "{DEFAULT_MAX_PENDING} pending calls (callers' futures included): {held} bytes, \
         {per_call} per call; after cancelling them: {kept} bytes still held"
    );
    // The callers' futures and the client's state together stay within a
    // small constant per call, and what stays after (queue blocks, buffers)
    // does not grow with the calls that were pending.
    assert!(per_call <= 2048, "{per_call} bytes per pending call");
    assert!(
        kept <= 256 * 1024,
        "cancelled calls still hold {kept} of {held} bytes"
    );

    // And later calls are served as before.
    let e = client.call("ECHO", "x").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout);
    drop(client);
    silent.await.unwrap();
}
