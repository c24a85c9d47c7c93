//! Fault 5 of issue 11: what a mux session holds is bounded in bytes.
//!
//! A peer starts 64 channels and sends 32 frames of 65,535 bytes on each
//! while the application never accepts or reads. Measured with a counting
//! allocator (the honest measure: every buffer, queue and task counts); the
//! tests of this binary measure one at a time.
#[path = "support/counting_alloc.rs"]
mod counting_alloc;
mod support;

use tokio::io::AsyncWriteExt;
use wireforms::mux::{ChannelId, Header, HEADER_LEN};
use wireforms::transport::mux_session::{MuxConfig, MuxSession};

/// One measurement at a time (the tests of this binary run in parallel).
static MEASURING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[global_allocator]
static ALLOCATOR: counting_alloc::Counting = counting_alloc::Counting;

const CHANNELS: u16 = 64;
const FRAMES: usize = 32;
const PAYLOAD: usize = 65_535;

/// Buffers beyond the queued payloads: the read buffer (up to two frames),
/// the duplex pipe, tasks and tables.
const OVERHEAD: usize = 1024 * 1024;

#[tokio::test(flavor = "current_thread")]
async fn a_channel_flood_is_held_within_the_byte_budget() {
    let _measuring = MEASURING.lock().await;
    let config = MuxConfig::default();
    let budget = config.budget;
    let (io, mut peer) = tokio::io::duplex(64 * 1024);
    let session = MuxSession::new(io, config);
    let payload = vec![0x5a; PAYLOAD];
    tokio::task::yield_now().await;
    let base = counting_alloc::reset_peak();
    support::bounded("flood", async {
        for _ in 0..FRAMES {
            for id in 0..CHANNELS {
                let mut head = [0u8; HEADER_LEN];
                Header {
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
    let peak = counting_alloc::peak().saturating_sub(base);
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

/// Shared payloads keep their read buffer alive: a held channel that is
/// never read, fed frames just long enough to be kept without a copy, each
/// followed by a discarded full frame.
#[tokio::test(flavor = "current_thread")]
async fn shared_payloads_stay_near_the_budget() {
    let _measuring = MEASURING.lock().await;
    // A long queue, so that the held half of the budget is what stops it.
    let config = MuxConfig::default().channel_queue(10_000);
    let budget = config.budget;
    let (io, mut peer) = tokio::io::duplex(64 * 1024);
    let session = MuxSession::new(io, config);
    let held = session.open(ChannelId(1)).unwrap();
    drop(session.open(ChannelId(2)).unwrap());
    let kept = vec![0x11; PAYLOAD / 2];
    let dropped = vec![0x22; PAYLOAD];
    tokio::task::yield_now().await;
    let base = counting_alloc::reset_peak();
    // Until the session stops reading (backpressure on the held channel).
    let _ = tokio::time::timeout(std::time::Duration::from_secs(2), async {
        for _ in 0..1000 {
            for (id, payload) in [(ChannelId(1), &kept), (ChannelId(2), &dropped)] {
                let mut head = [0u8; HEADER_LEN];
                Header {
                    channel: id,
                    payload_len: payload.len() as u16,
                }
                .emit(&mut head);
                peer.write_all(&head).await.unwrap();
                peer.write_all(payload).await.unwrap();
            }
        }
    })
    .await;
    let peak = counting_alloc::peak().saturating_sub(base);
    let stats = session.stats();
    eprintln!(
        "mux shared payloads: peak allocation growth {peak} B (budget {budget} B); {stats:?}"
    );
    assert!(stats.queued_bytes <= budget as u64 / 2, "{stats:?}");
    // Each payload kept without a copy keeps about twice its length alive
    // (its read buffer): the held half of the budget costs about all of it.
    assert!(
        peak <= budget + OVERHEAD,
        "peak growth {peak} B over the budget {budget} B + {OVERHEAD} B"
    );
    drop(held);
    drop(session);
}
