//! The mux session: channels, splitting, slow-reader policy, failure.
mod support;

use std::time::Duration;

use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use tokio::io::AsyncWriteExt;
use wireforms::mux::{ChannelId, MuxFrameBuf};
use wireforms::transport::mux_session::{MuxConfig, MuxSession};
use wireforms::{Encode, ErrorKind};

use support::bounded;

fn pair(config: MuxConfig) -> (MuxSession, MuxSession) {
    let (a, b) = tokio::io::duplex(256 * 1024);
    (
        MuxSession::new(a, config.clone()),
        MuxSession::new(b, config),
    )
}

#[tokio::test]
async fn several_channels_at_once_with_large_writes() {
    let (a, mut b) = pair(MuxConfig::default());
    let server = tokio::spawn(async move {
        // Echo every accepted channel's data back on it.
        let mut echoes = Vec::new();
        while let Some(mut ch) = b.accept().await {
            echoes.push(tokio::spawn(async move {
                while let Some(Ok(data)) = ch.next().await {
                    if ch.send(data).await.is_err() {
                        break;
                    }
                }
            }));
        }
        for e in echoes {
            let _ = e.await;
        }
    });
    let mut tasks = Vec::new();
    for id in [0u16, 1, 2, 65_535, 300, 301, 302, 303] {
        let mut ch = a.open(ChannelId(id)).unwrap();
        tasks.push(tokio::spawn(async move {
            // 200,000 bytes: split into 4 frames, reassembled by the reader.
            let data: Vec<u8> = (0..200_000u32).map(|i| (i as u8) ^ (id as u8)).collect();
            ch.send(Bytes::from(data.clone())).await.unwrap();
            let mut got = Vec::new();
            while got.len() < data.len() {
                let chunk = ch.next().await.unwrap().unwrap();
                assert!(chunk.len() <= 65_535);
                got.extend_from_slice(&chunk);
            }
            assert_eq!(got, data, "channel {id}");
        }));
    }
    for t in tasks {
        bounded("channel", t).await.unwrap();
    }
    assert!(a.stats().written >= 8 * 4);
    drop(a);
    bounded("server", server).await.unwrap();
}

#[tokio::test]
async fn a_slow_channel_applies_backpressure_without_loss() {
    let config = MuxConfig::default().channel_queue(2);
    let (a, mut b) = pair(config);
    let mut slow = a.open(ChannelId(1)).unwrap();
    let mut fast = a.open(ChannelId(2)).unwrap();
    // Accept both on b, then send 20 frames on slow and 1 on fast.
    let mut b_slow_tx = None;
    let mut b_fast_tx = None;
    slow.send(Bytes::from_static(b"hello")).await.unwrap();
    fast.send(Bytes::from_static(b"hello")).await.unwrap();
    for _ in 0..2 {
        let ch = bounded("accept", b.accept()).await.unwrap();
        match ch.id().0 {
            1 => b_slow_tx = Some(ch),
            _ => b_fast_tx = Some(ch),
        }
    }
    let mut b_slow = b_slow_tx.unwrap();
    let mut b_fast = b_fast_tx.unwrap();
    assert_eq!(
        &bounded("fast hello", b_fast.next()).await.unwrap().unwrap()[..],
        b"hello"
    );
    for i in 0..20u8 {
        b_slow.send(Bytes::from(vec![i; 10])).await.unwrap();
    }
    b_fast
        .send(Bytes::from_static(b"behind the queue"))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    // The slow channel's queue is full, so the session stopped reading: the
    // fast channel's frame, written after, is not delivered yet (the policy
    // is connection-wide backpressure, spec mux §10).
    assert!(
        tokio::time::timeout(Duration::from_millis(100), fast.next())
            .await
            .is_err()
    );
    // Reading the slow channel releases everything, in order, nothing lost.
    for i in 0..20u8 {
        let got = bounded("slow frame", slow.next()).await.unwrap().unwrap();
        assert_eq!(&got[..], &[i; 10][..]);
    }
    let got = bounded("fast after", fast.next()).await.unwrap().unwrap();
    assert_eq!(&got[..], b"behind the queue");
    assert_eq!(a.stats().discarded, 0);
}

#[tokio::test]
async fn connection_loss_is_seen_by_every_channel() {
    let (a_io, b_io) = tokio::io::duplex(64 * 1024);
    let a = MuxSession::new(a_io, MuxConfig::default());
    let mut channels: Vec<_> = (1..=5).map(|id| a.open(ChannelId(id)).unwrap()).collect();
    // The peer writes a frame header that promises more than it sends, then dies.
    let mut b_io = b_io;
    b_io.write_all(b"\x00\x01\x00\x10abc").await.unwrap();
    drop(b_io);
    for ch in &mut channels {
        let item = bounded("failure", ch.next()).await;
        let err = item.expect("an error item").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Closed);
        assert!(bounded("end", ch.next()).await.is_none());
    }
    // Opening a channel on the ended session fails with `closed`.
    let err = a.open(ChannelId(9)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Closed);
}

#[tokio::test]
async fn dropped_channel_frames_are_discarded_and_the_id_released() {
    let (a, mut b) = pair(MuxConfig::default());
    let mut ch = a.open(ChannelId(4)).unwrap();
    ch.send(Bytes::from_static(b"one")).await.unwrap();
    let b4 = bounded("accept", b.accept()).await.unwrap();
    drop(b4);
    ch.send(Bytes::from_static(b"two")).await.unwrap();
    ch.send(Bytes::from_static(b"three")).await.unwrap();
    let mut probe = a.open(ChannelId(5)).unwrap();
    probe.send(Bytes::from_static(b"probe")).await.unwrap();
    let mut b5 = bounded("accept 5", b.accept()).await.unwrap();
    assert_eq!(&b5.next().await.unwrap().unwrap()[..], b"probe");
    // "one" was queued when the handle was dropped, "two" and "three"
    // arrived before "probe": all three discarded, counted.
    assert_eq!(b.stats().discarded, 3);
    // The id can be opened again by the application.
    let mut again = b.open(ChannelId(4)).unwrap();
    ch.send(Bytes::from_static(b"four")).await.unwrap();
    assert_eq!(
        &bounded("reopened", again.next()).await.unwrap().unwrap()[..],
        b"four"
    );
}

#[tokio::test]
async fn a_peer_opening_thousands_of_channels_is_bounded() {
    let config = MuxConfig::default().max_channels(16).accept_backlog(8);
    let (a_io, mut b_io) = tokio::io::duplex(1 << 20);
    let mut a = MuxSession::new(a_io, config);
    let mut wire = Vec::new();
    for id in 0..5000u16 {
        wire.extend_from_slice(&MuxFrameBuf::new(ChannelId(id), "x").to_bytes().unwrap());
    }
    b_io.write_all(&wire).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let stats = a.stats();
    assert_eq!(stats.received, 5000);
    assert_eq!(stats.queued, 8, "only the backlog's worth were kept");
    assert_eq!(stats.discarded, 4992);
    assert!(a.open_channels() <= 16);
    // Accepted channels work.
    let mut first = bounded("accept", a.accept()).await.unwrap();
    assert_eq!(first.id(), ChannelId(0));
    assert_eq!(&first.next().await.unwrap().unwrap()[..], b"x");
}

// ---- Regression tests of issue 11 (each failed before its fix). ----

/// Fault 1: a failing connection must end every channel and `accept()` even
/// when a channel's queue is full (the teardown used to wait on that queue).
#[tokio::test(start_paused = true)]
async fn a_failing_connection_ends_every_channel_even_with_a_full_queue() {
    let (a_io, mut peer) = tokio::io::duplex(64 * 1024);
    let mut a = MuxSession::new(a_io, MuxConfig::default().channel_queue(2));
    let mut one = a.open(ChannelId(1)).unwrap();
    let mut two = a.open(ChannelId(2)).unwrap();
    for payload in [&b"first"[..], b"second"] {
        peer.write_all(&MuxFrameBuf::new(ChannelId(1), payload).to_bytes().unwrap())
            .await
            .unwrap();
    }
    // A header promising 16 bytes on channel 2, three of them, then the end.
    peer.write_all(b"\x00\x02\x00\x10abc").await.unwrap();
    drop(peer);
    let bound = Duration::from_secs(5);
    let ended = tokio::time::timeout(bound, two.next()).await;
    let item = ended.expect("channel 2 did not end (teardown hang)");
    assert_eq!(item.unwrap().unwrap_err().kind(), ErrorKind::Closed);
    assert!(tokio::time::timeout(bound, two.next())
        .await
        .unwrap()
        .is_none());
    for expected in [&b"first"[..], b"second"] {
        let got = tokio::time::timeout(bound, one.next()).await.unwrap();
        assert_eq!(&got.unwrap().unwrap()[..], expected);
    }
    let failure = tokio::time::timeout(bound, one.next()).await.unwrap();
    assert_eq!(failure.unwrap().unwrap_err().kind(), ErrorKind::Closed);
    assert!(tokio::time::timeout(bound, one.next())
        .await
        .unwrap()
        .is_none());
    let accepted = tokio::time::timeout(bound, a.accept()).await;
    assert!(accepted.expect("accept() did not end").is_none());
}

/// Fault 5: frames on a channel nobody accepts must not stall the
/// connection: 33 frames (one more than the channel queue) on a new id, then
/// one on a channel the application reads.
#[tokio::test(start_paused = true)]
async fn an_unaccepted_channel_cannot_stall_the_connection() {
    let (a_io, mut peer) = tokio::io::duplex(64 * 1024);
    let a = MuxSession::new(a_io, MuxConfig::default());
    let mut read = a.open(ChannelId(2)).unwrap();
    let writer = tokio::spawn(async move {
        for i in 0..33u8 {
            let frame = MuxFrameBuf::new(ChannelId(1), vec![i; 100]);
            peer.write_all(&frame.to_bytes().unwrap()).await.unwrap();
        }
        let frame = MuxFrameBuf::new(ChannelId(2), "to the reader");
        peer.write_all(&frame.to_bytes().unwrap()).await.unwrap();
        peer
    });
    let got = tokio::time::timeout(Duration::from_secs(5), read.next()).await;
    let got = got.expect("the connection stalled on an unaccepted channel");
    assert_eq!(&got.unwrap().unwrap()[..], b"to the reader");
    drop(writer.await.unwrap());
}

/// Fault 6: frames queued in a channel whose handle is dropped are counted
/// discarded (they used to count as delivered, then vanish).
#[tokio::test(start_paused = true)]
async fn frames_queued_in_a_dropped_handle_are_counted_discarded() {
    let (a_io, mut peer) = tokio::io::duplex(64 * 1024);
    let mut a = MuxSession::new(a_io, MuxConfig::default());
    let mut held = a.open(ChannelId(1)).unwrap();
    let mut wire = Vec::new();
    for (id, payload) in [(1, "a"), (1, "b"), (1, "c"), (7, "x"), (7, "y")] {
        let frame = MuxFrameBuf::new(ChannelId(id), payload);
        wire.extend_from_slice(&frame.to_bytes().unwrap());
    }
    peer.write_all(&wire).await.unwrap();
    // One frame of channel 1 is taken by the application.
    assert_eq!(
        &bounded("recv", held.next()).await.unwrap().unwrap()[..],
        b"a"
    );
    // Channel 7 is accepted and dropped unread; so is channel 1.
    let peer_started = bounded("accept", a.accept()).await.unwrap();
    assert_eq!(peer_started.id(), ChannelId(7));
    drop(peer_started);
    drop(held);
    let stats = a.stats();
    assert_eq!(
        (stats.delivered, stats.discarded),
        (1, 4),
        "one delivered, four queued then dropped: {stats:?}"
    );
    drop(peer);
}

/// Fault 10: a sender splits at its configured `max_payload_len`, so a peer
/// with the same lower limit accepts everything it sends.
#[tokio::test(start_paused = true)]
async fn large_writes_split_at_the_configured_payload_limit() {
    let mut config = MuxConfig::default();
    config.limits.max_payload_len = 1000;
    let (a, mut b) = pair(config);
    let mut ch = a.open(ChannelId(3)).unwrap();
    let data: Vec<u8> = (0..4500u32).map(|i| i as u8).collect();
    ch.send(Bytes::from(data.clone())).await.unwrap();
    let mut incoming = bounded("accept", b.accept()).await.unwrap();
    let mut got = Vec::new();
    while got.len() < data.len() {
        let chunk = bounded("chunk", incoming.next()).await.unwrap().unwrap();
        assert!(chunk.len() <= 1000, "a {}-byte frame", chunk.len());
        got.extend_from_slice(&chunk);
    }
    assert_eq!(got, data);
}

// ---- Drop and close semantics (module docs of `mux_session`). ----

/// Reads frames from a raw peer until the session closes its side.
async fn frames_until_end(peer: &mut tokio::io::DuplexStream) -> Vec<MuxFrameBuf> {
    use tokio::io::AsyncReadExt;
    let mut wire = Vec::new();
    bounded("end of stream", peer.read_to_end(&mut wire))
        .await
        .unwrap();
    let mut frames = Vec::new();
    let mut at = 0;
    let limits = wireforms::mux::Limits::default();
    while let Ok(wireforms::Status::Complete(f, len)) =
        wireforms::mux::MuxFrame::parse(&wire[at..], &limits)
    {
        frames.push(MuxFrameBuf::from(f));
        at += len;
    }
    assert_eq!(at, wire.len(), "whole frames only");
    frames
}

#[tokio::test(start_paused = true)]
async fn dropping_every_handle_writes_what_is_queued_then_closes() {
    let (io, mut peer) = tokio::io::duplex(1024);
    let a = MuxSession::new(io, MuxConfig::default());
    let mut ch = a.open(ChannelId(1)).unwrap();
    for i in 0..3u8 {
        // Queued, not flushed: the peer is not reading yet.
        ch.feed(Bytes::from(vec![i; 2000])).await.unwrap();
    }
    drop(ch);
    drop(a);
    let frames = frames_until_end(&mut peer).await;
    let payloads: Vec<_> = frames.iter().map(|f| f.payload.clone()).collect();
    assert_eq!(
        payloads,
        (0..3u8)
            .map(|i| Bytes::from(vec![i; 2000]))
            .collect::<Vec<_>>()
    );
}

#[tokio::test(start_paused = true)]
async fn session_flush_and_channel_close_wait_until_the_frames_are_written() {
    use tokio::io::AsyncReadExt;
    let (io, mut peer) = tokio::io::duplex(64);
    let a = MuxSession::new(io, MuxConfig::default());
    let mut ch = a.open(ChannelId(1)).unwrap();
    ch.feed(Bytes::from(vec![7u8; 1000])).await.unwrap();
    // The pipe holds 64 bytes and the peer does not read: not written yet.
    // A sink flush only queues; the session's flush and the sink's close
    // wait for the write.
    bounded("queued", ch.flush()).await.unwrap();
    let pending = tokio::time::timeout(Duration::from_secs(1), a.flush()).await;
    assert!(pending.is_err(), "session flush returned before the write");
    let pending = tokio::time::timeout(Duration::from_secs(1), ch.close()).await;
    assert!(
        pending.is_err(),
        "close returned before the frame was written"
    );
    let reader = tokio::spawn(async move {
        let mut got = vec![0u8; 1004];
        peer.read_exact(&mut got).await.unwrap();
        (peer, got)
    });
    bounded("close", ch.close()).await.unwrap();
    bounded("session flush", a.flush()).await.unwrap();
    assert_eq!(a.stats().written, 1);
    let (_peer, got) = reader.await.unwrap();
    assert_eq!(&got[..4], b"\x00\x01\x03\xe8");
}

#[tokio::test(start_paused = true)]
async fn close_without_channels_waits_for_the_shutdown() {
    let (io, mut peer) = tokio::io::duplex(64);
    let a = MuxSession::new(io, MuxConfig::default());
    let mut ch = a.open(ChannelId(2)).unwrap();
    ch.feed(Bytes::from_static(b"last words")).await.unwrap();
    drop(ch);
    let reader = tokio::spawn(async move { frames_until_end(&mut peer).await });
    bounded("close", a.close()).await.unwrap();
    let frames = bounded("peer", reader).await.unwrap();
    assert_eq!(frames, vec![MuxFrameBuf::new(ChannelId(2), "last words")]);
}

#[tokio::test(start_paused = true)]
async fn closing_a_channel_flushes_and_refuses_further_sends() {
    let (a, mut b) = pair(MuxConfig::default());
    let mut ch = a.open(ChannelId(5)).unwrap();
    ch.feed(Bytes::from_static(b"bye")).await.unwrap();
    bounded("close", ch.close()).await.unwrap();
    assert_eq!(a.stats().written, 1, "close waited for the write");
    let err = ch.send(Bytes::from_static(b"more")).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Closed);
    let mut incoming = bounded("accept", b.accept()).await.unwrap();
    assert_eq!(
        &bounded("recv", incoming.next()).await.unwrap().unwrap()[..],
        b"bye"
    );
}

#[tokio::test(start_paused = true)]
async fn nothing_runs_once_every_handle_is_gone() {
    // The peer stays connected and silent: the session's reader must not
    // keep the connection (and its task) alive for it.
    let (io, peer) = tokio::io::duplex(1024);
    let metrics = tokio::runtime::Handle::current().metrics();
    let a = MuxSession::new(io, MuxConfig::default());
    let ch = a.open(ChannelId(1)).unwrap();
    assert_eq!(metrics.num_alive_tasks(), 2);
    drop(a);
    drop(ch);
    bounded("tasks end", async {
        while metrics.num_alive_tasks() > 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    drop(peer);
}

#[tokio::test(start_paused = true)]
async fn open_reports_misuse_and_the_channel_limit() {
    let (a, _b) = pair(MuxConfig::default().max_channels(2));
    let _one = a.open(ChannelId(1)).unwrap();
    assert_eq!(a.open(ChannelId(1)).unwrap_err().kind(), ErrorKind::Misuse);
    let _two = a.open(ChannelId(2)).unwrap();
    assert_eq!(
        a.open(ChannelId(3)).unwrap_err().kind(),
        ErrorKind::LimitReached
    );
}
