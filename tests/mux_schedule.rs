//! The mux session on a multi-thread runtime: many channels in both
//! directions, readers that stop early, small queues and a small budget.
//! Whatever the schedule, every frame received is delivered, discarded or
//! queued (exactly once), and a channel read to its end holds exactly what
//! the peer sent on it, in order.
mod support;

use std::collections::HashMap;

use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use wireforms::mux::ChannelId;
use wireforms::transport::mux_session::{MuxConfig, MuxSession};

use support::bounded;

const CHANNELS: u16 = 16;
const FRAMES: usize = 150;

/// The `n`th payload of channel `id`: its length varies, its bytes say
/// where it belongs.
fn payload(id: u16, n: usize) -> Bytes {
    let len = (n * 997 + usize::from(id) * 131) % 3000;
    let mut p = vec![(id as u8) ^ (n as u8); len];
    if len >= 2 {
        p[..2].copy_from_slice(&(n as u16).to_be_bytes());
    }
    Bytes::from(p)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_frame_is_accounted_for_under_any_schedule() {
    for round in 0..4 {
        run(round).await;
    }
}

async fn run(round: usize) {
    let (a_io, b_io) = tokio::io::duplex(8 * 1024);
    let mut config = MuxConfig::default()
        .channel_queue(4)
        .budget(64 * 1024)
        .accept_backlog(8);
    // Small frames, so that the budget is not raised to two of 64 KiB.
    config.limits.max_payload_len = 4096;
    let mut app = MuxSession::new(a_io, config.clone());
    let peer = MuxSession::new(b_io, config);

    // The peer: every channel sends its frames from its own task.
    let mut senders = Vec::new();
    for id in 0..CHANNELS {
        let mut ch = peer.open(ChannelId(id)).unwrap();
        senders.push(tokio::spawn(async move {
            for n in 0..FRAMES {
                if ch.feed(payload(id, n)).await.is_err() {
                    break;
                }
            }
            let _ = ch.close().await;
        }));
    }

    // The application: accepts every channel until the connection ends
    // (channels refused before they were accepted never come); a quarter
    // of them stop reading early and drop their handle.
    let acceptor = tokio::spawn(async move {
        let mut readers = Vec::new();
        while let Some(mut ch) = app.accept().await {
            let id = ch.id().0;
            let stop_after = (id as usize % 4 == round % 4).then_some(usize::from(id) * 3);
            readers.push(tokio::spawn(async move {
                let mut got = Vec::new();
                while let Some(item) = ch.next().await {
                    got.push(item.expect("a clean end"));
                    if Some(got.len()) == stop_after {
                        return (id, got, false);
                    }
                }
                (id, got, true)
            }));
        }
        (app, readers)
    });
    for s in senders {
        bounded("sender", s).await.unwrap();
    }
    // The peer's close reaches the reader after its last frame.
    drop(peer);
    let (app, readers) = bounded("acceptor", acceptor).await.unwrap();
    let mut delivered = 0u64;
    let mut complete = HashMap::new();
    for r in readers {
        let (id, got, to_the_end) = bounded("reader", r).await.unwrap();
        delivered += got.len() as u64;
        for (n, p) in got.iter().enumerate() {
            assert_eq!(p, &payload(id, n), "channel {id}, frame {n}");
        }
        if to_the_end {
            complete.insert(id, got.len());
        }
    }
    let stats = app.stats();
    eprintln!("round {round}: {stats:?}; complete channels {complete:?}");
    assert_eq!(
        stats.received,
        stats.delivered + stats.discarded + stats.queued
    );
    assert_eq!(stats.delivered, delivered, "{stats:?}");
    assert_eq!(stats.queued, 0, "every handle is gone: {stats:?}");
    for (id, n) in complete {
        assert_eq!(n, FRAMES, "channel {id} was read to its end");
    }
    assert_eq!(stats.received, u64::from(CHANNELS) * FRAMES as u64);
    assert!(stats.peak_queued_bytes <= 64 * 1024, "{stats:?}");
}
