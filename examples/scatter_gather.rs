//! Guide: "Scatter-Gather I/O".
//!
//! Gather: the client writes a length-frame header (wireforms
//! `Header::emit`) and three separate payload buffers with vectored
//! writes (`write_vectored` with `IoSlice`s, looping with
//! `IoSlice::advance_slices` until all is written): one system call for
//! four buffers, no copy into a contiguous one. The server replies with
//! `bytes::Buf::chain` + `write_all_buf`, which tokio also writes
//! vectored. Scatter: the client reads the reply's header and body into two
//! separate buffers with `try_read_vectored`.
//!
//! Differences from the guide: its `writeVectored` calls `Write` once per
//! buffer (several system calls, possibly several TCP segments) and its
//! `readVectored` stops at the first short read, so the data it returns
//! depends on timing; its server answers with two separate writes. Here the
//! writes really are vectored and the reads go on until every buffer is
//! full.
//!
//! Run: `cargo run --example scatter_gather [ADDR]` (default `127.0.0.1:0`).

use std::io::{IoSlice, IoSliceMut};

use bytes::Buf;
use futures::StreamExt;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio_util::codec::FramedRead;
use wireforms::frame::{Header, HEADER_LEN};
use wireforms::transport::codec::FrameCodec;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

const PREFIX: &[u8] = b"Echo: ";

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".into());
    let listener = TcpListener::bind(&addr).await?;
    let addr = listener.local_addr()?;
    let server = tokio::spawn(async move {
        let (conn, _) = listener.accept().await?;
        let (read, mut write) = conn.into_split();
        let mut frames = FramedRead::new(read, FrameCodec::default());
        let frame = frames.next().await.ok_or("client closed")??;
        println!(
            "Server received one frame: {}",
            String::from_utf8_lossy(&frame.payload)
        );
        let body_len = PREFIX.len() + frame.payload.len();
        let header = frame_header(body_len)?;
        // Three buffers, one vectored write (repeated only if partial).
        let mut reply = (&header[..]).chain(PREFIX).chain(frame.payload);
        write.write_all_buf(&mut reply).await?;
        Ok::<_, BoxError>(())
    });

    let mut conn = TcpStream::connect(addr).await?;
    let parts: [&[u8]; 3] = [b"First ", b"Second ", b"Third"];
    let header = frame_header(parts.iter().map(|p| p.len()).sum())?;
    let mut slices = [
        IoSlice::new(&header),
        IoSlice::new(parts[0]),
        IoSlice::new(parts[1]),
        IoSlice::new(parts[2]),
    ];
    let total: usize = slices.iter().map(|s| s.len()).sum();
    let mut bufs = &mut slices[..];
    let mut calls = 0;
    while !bufs.is_empty() {
        let n = conn.write_vectored(bufs).await?;
        if n == 0 {
            return Err("connection closed while writing".into());
        }
        calls += 1;
        IoSlice::advance_slices(&mut bufs, n);
    }
    println!(
        "Sent {total} bytes from {} buffers in {calls} write call(s)",
        parts.len() + 1
    );

    // Scatter: header and body land in separate buffers.
    let mut reply_header = [0u8; HEADER_LEN];
    let mut body = vec![0u8; PREFIX.len() + total - HEADER_LEN];
    let mut slices = [
        IoSliceMut::new(&mut reply_header),
        IoSliceMut::new(&mut body),
    ];
    let mut bufs = &mut slices[..];
    while !bufs.is_empty() {
        conn.readable().await?;
        match conn.try_read_vectored(bufs) {
            Ok(0) => return Err("connection closed while reading".into()),
            Ok(n) => IoSliceMut::advance_slices(&mut bufs, n),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            Err(e) => return Err(e.into()),
        }
    }
    println!(
        "Received header {:02x?} and body {:?}",
        reply_header,
        String::from_utf8_lossy(&body)
    );
    server.await??;
    Ok(())
}

/// The 4-byte length-frame header for a payload of `len` bytes.
fn frame_header(len: usize) -> Result<[u8; HEADER_LEN], BoxError> {
    let mut header = [0u8; HEADER_LEN];
    Header {
        payload_len: u32::try_from(len)?,
    }
    .emit(&mut header);
    Ok(header)
}
