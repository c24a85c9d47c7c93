//! Fault 5 of issue 11: what a mux session holds is bounded in bytes.
//!
//! A peer starts 64 channels and sends 32 frames of 65,535 bytes on each
//! while the application never accepts or reads. Measured with a counting
//! allocator (the honest measure: every buffer, queue and task counts); one
//! test in this binary so that nothing else allocates meanwhile.
mod support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::io::AsyncWriteExt;
use wireforms::mux::{ChannelId, MuxHeader, HEADER_LEN};
use wireforms::transport::mux_session::{MuxConfig, MuxSession};

struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let now = CURRENT.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
        PEAK.fetch_max(now, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > layout.size() {
            let now = CURRENT.fetch_add(new_size - layout.size(), Ordering::Relaxed) + new_size
                - layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        } else {
            CURRENT.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
        }
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const CHANNELS: u16 = 64;
const FRAMES: usize = 32;
const PAYLOAD: usize = 65_535;

/// Buffers beyond the queued payloads: the read buffer (up to two frames),
/// the duplex pipe, tasks and tables.
const OVERHEAD: usize = 1024 * 1024;

#[tokio::test(flavor = "current_thread")]
async fn a_channel_flood_is_held_within_the_byte_budget() {
    let config = MuxConfig::default();
    let budget = config.budget;
    let (io, mut peer) = tokio::io::duplex(64 * 1024);
    let session = MuxSession::new(io, config);
    let payload = vec![0x5a; PAYLOAD];
    tokio::task::yield_now().await;
    let base = CURRENT.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    support::bounded("flood", async {
        for _ in 0..FRAMES {
            for id in 0..CHANNELS {
                let mut head = [0u8; HEADER_LEN];
                MuxHeader {
                    channel: ChannelId(id),
                    payload_len: PAYLOAD as u16,
                }
                .emit(&mut head);
                peer.write_all(&head).await.unwrap();
                peer.write_all(&payload).await.unwrap();
            }
        }
        peer.flush().await.unwrap();
    })
    .await;
    // Let the reader take the last frames.
    for _ in 0..100 {
        tokio::task::yield_now().await;
    }
    let peak = PEAK.load(Ordering::Relaxed).saturating_sub(base);
    let stats = session.stats();
    eprintln!(
        "mux flood: {CHANNELS} channels x {FRAMES} frames x {PAYLOAD} B, never accepted: \
         peak allocation growth {peak} B (budget {budget} B); {stats:?}"
    );
    assert_eq!(stats.received, u64::from(CHANNELS) * FRAMES as u64);
    assert_eq!(
        stats.received,
        stats.delivered + stats.discarded + stats.queued
    );
    assert!(stats.queued_bytes <= budget as u64, "{stats:?}");
    assert!(
        peak <= budget + OVERHEAD,
        "peak growth {peak} B over the budget {budget} B + {OVERHEAD} B"
    );
    drop(session);
    drop(peer);
}
