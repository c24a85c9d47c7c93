//! The mux targets beyond the corpus replay: the scripted session on a
//! multi-thread runtime, and the core target on scripts that reach its
//! paths (backpressure, refusals, drops, the end).

use wireforms_fuzzing::mux_core::{mux_core, CoreOp, CoreScript};
use wireforms_fuzzing::mux_session::{mux_session, mux_session_threaded, MuxScript, MuxStep};

fn script() -> MuxScript {
    let payload = |n: usize| (0..n).map(|i| i as u8).collect::<Vec<u8>>();
    MuxScript {
        pipe: 512,
        channel_queue: 1,
        max_channels: 4,
        accept_backlog: 1,
        write_queue: 2,
        small_limit: None,
        steps: vec![
            MuxStep::Open(1),
            MuxStep::Send {
                handle: 0,
                payload: payload(10),
            },
            MuxStep::SendLarge {
                handle: 0,
                len: 70_000,
            },
            MuxStep::PeerRead(4096),
            MuxStep::PeerFrame {
                channel: 1,
                payload: payload(5),
            },
            MuxStep::PeerFrame {
                channel: 1,
                payload: payload(6),
            },
            MuxStep::PeerFrame {
                channel: 2,
                payload: payload(7),
            },
            MuxStep::Recv { handle: 0 },
            MuxStep::Accept,
            MuxStep::PeerFrame {
                channel: 3,
                payload: payload(8),
            },
            MuxStep::Drop { handle: 0 },
            MuxStep::PeerFrame {
                channel: 1,
                payload: payload(9),
            },
            MuxStep::PeerLargeFrame {
                channel: 4,
                len: 65_535,
            },
        ],
    }
}

#[test]
fn the_scripted_session_agrees_on_both_runtimes() {
    let paused = mux_session(&script());
    let threaded = mux_session_threaded(&script());
    eprintln!("paused {paused:?}, threaded {threaded:?}");
    // Frames in: every one the peer wrote, read to the end by the session.
    assert_eq!(paused.frames_sent, 6);
    assert_eq!(threaded.frames_sent, paused.frames_sent);
    assert_eq!(paused.frames_written, 3);
}

#[test]
fn the_scripted_session_with_the_session_dropped() {
    let mut s = script();
    s.steps.insert(8, MuxStep::DropSession);
    let report = mux_session(&s);
    // Once the last handle is dropped the session stops reading: the
    // peer's last (large) frame no longer fits in the pipe.
    assert_eq!(report.frames_sent, 5);
    mux_session_threaded(&s);
}

#[test]
fn the_core_target_reaches_its_paths() {
    let mut ops = Vec::new();
    for round in 0..40u16 {
        ops.push(CoreOp::Open((round % 3) as u8));
        for c in 0..6u8 {
            ops.push(CoreOp::Frame {
                channel: c,
                len: round * 37 + u16::from(c) * 11,
            });
        }
        ops.push(CoreOp::Accept);
        ops.push(CoreOp::Recv((round % 5) as u8));
        ops.push(CoreOp::Recv(1));
        if round % 7 == 3 {
            ops.push(CoreOp::Drop((round % 4) as u8));
        }
    }
    ops.push(CoreOp::End { failed: true });
    for c in 0..8 {
        for _ in 0..6 {
            ops.push(CoreOp::Recv(c));
        }
        ops.push(CoreOp::Accept);
    }
    ops.push(CoreOp::StopAccepting);
    ops.push(CoreOp::Frame { channel: 1, len: 1 });
    let script = CoreScript {
        max_channels: 5,
        accept_backlog: 2,
        channel_queue: 3,
        budget: 40,
        max_payload_len: 200,
        ops,
    };
    let report = mux_core(&script);
    eprintln!("{report:?}");
    assert!(report.delivered > 0 && report.discarded > 0, "{report:?}");
    assert!(report.backpressured > 0, "{report:?}");
}
