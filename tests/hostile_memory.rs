//! Memory amplification (spec §8 of each format): a header that claims a
//! huge length, followed by nothing, must not make the server reserve more
//! than the configured limit. Measured with a counting allocator; one test
//! in this binary so that nothing else allocates meanwhile.
#[path = "support/counting_alloc.rs"]
mod counting_alloc;
mod support;

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use wireforms::transport::reference;
use wireforms::transport::server::{RunningServer, ServerOptions};
use wireforms::{frame, magic, mux, reqres, typed};

#[global_allocator]
static ALLOCATOR: counting_alloc::Counting = counting_alloc::Counting;

/// Bytes the server may use beyond the payload limit: buffers, tasks, sockets.
const OVERHEAD: usize = 256 * 1024;

/// Connects, sends `header`, waits for the server to close, and returns the
/// peak allocation growth meanwhile.
async fn peak_growth(server: &RunningServer, header: &[u8]) -> usize {
    let mut s = TcpStream::connect(server.local_addr).await.unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let base = counting_alloc::reset_peak();
    s.write_all(header).await.unwrap();
    let mut out = Vec::with_capacity(16);
    let _ = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut out)).await;
    assert!(out.is_empty(), "no reply to a header alone");
    counting_alloc::peak().saturating_sub(base)
}

#[tokio::test(flavor = "current_thread")]
async fn huge_length_claims_reserve_at_most_the_limit() {
    let options = ServerOptions::default().idle_timeout(Duration::from_millis(300));
    let mut report = Vec::new();

    let limit = 1 << 20;
    let server = support::start(reference::typed(typed::Limits::new(limit), options.clone())).await;
    let over = peak_growth(&server, b"\xff\xff\xff\xff\x01").await;
    let at = peak_growth(&server, &[0x00, 0x10, 0x00, 0x00, 0x01]).await; // exactly 1 MiB, then nothing
    server.shutdown().await.unwrap();
    report.push(("typed 4 GiB claim", over, OVERHEAD));
    report.push(("typed 1 MiB claim", at, limit as usize + OVERHEAD));

    let server = support::start(reference::frame(frame::Limits::new(limit), options.clone())).await;
    let over = peak_growth(&server, b"\xff\xff\xff\xff").await;
    server.shutdown().await.unwrap();
    report.push(("frame 4 GiB claim", over, OVERHEAD));

    let server = support::start(reference::magic(magic::Limits::default(), options.clone())).await;
    let at = peak_growth(&server, b"\xde\xad\xbe\xef\x01\x01\xff\xff").await;
    server.shutdown().await.unwrap();
    report.push(("magic 65,535 claim", at, 65_535 + OVERHEAD));

    let server = support::start(reference::mux(mux::Limits::default(), options.clone())).await;
    let at = peak_growth(&server, b"\x00\x01\xff\xff").await;
    server.shutdown().await.unwrap();
    report.push(("mux 65,535 claim", at, 65_535 + OVERHEAD));

    let server = support::start(reference::request(reqres::Limits::default(), options)).await;
    let endless = vec![b'x'; 200_000];
    let at = peak_growth(&server, &endless).await;
    server.shutdown().await.unwrap();
    report.push((
        "request 200 KB line",
        at,
        reqres::DEFAULT_MAX_LINE_LEN * 2 + OVERHEAD,
    ));

    for (case, grew, bound) in &report {
        println!("{case}: peak growth {grew} bytes (bound {bound})");
        assert!(grew <= bound, "{case}: grew {grew} > {bound}");
    }
}
