//! What pending calls cost in memory against a server that never answers,
//! and that cancelling them gives it back (spec security §7). Measured with
//! a counting allocator; one test in this binary so that nothing else
//! allocates meanwhile.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::AsyncReadExt;
use wireforms::transport::reqres_client::{Client, ClientConfig, DEFAULT_MAX_PENDING};
use wireforms::ErrorKind;

struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        CURRENT.fetch_add(layout.size(), Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > layout.size() {
            CURRENT.fetch_add(new_size - layout.size(), Ordering::Relaxed);
        } else {
            CURRENT.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
        }
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

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
    let base = CURRENT.load(Ordering::Relaxed);

    // A few over the cap: those are refused at once.
    let calls = (0..DEFAULT_MAX_PENDING + 8).map(|_| client.call("ECHO", "x"));
    let mut all = Box::pin(futures::future::join_all(calls));
    tokio::select! {
        _ = &mut all => panic!("nothing answers and the timeout is far"),
        _ = tokio::time::sleep(Duration::from_millis(1)) => {}
    }
    settle().await;
    assert_eq!(client.stats().pending, DEFAULT_MAX_PENDING);
    let held = CURRENT.load(Ordering::Relaxed).saturating_sub(base);
    let per_call = held / DEFAULT_MAX_PENDING;

    // The callers give up: every entry goes.
    drop(all);
    settle().await;
    let stats = client.stats();
    assert_eq!(
        (stats.pending, stats.cancelled),
        (0, DEFAULT_MAX_PENDING as u64)
    );
    let kept = CURRENT.load(Ordering::Relaxed).saturating_sub(base);
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
