//! Guide: "Stream Chunking".
//!
//! 5,000 bytes sent in chunks of 1,024, each chunk a length frame
//! (wireforms `FrameCodec`). The chunks are `Bytes::slice`s of one buffer:
//! splitting copies nothing.
//!
//! Difference from the guide: its receiver prints "Received chunk" for
//! every `Read`, but TCP keeps no chunk boundaries, so those lines show how
//! the kernel happened to split the stream, not the chunks that were sent,
//! and it needs the total size agreed in advance. Framing each chunk keeps
//! the boundaries, and the end of the stream is the sender closing its
//! write half, so no size needs to be known up front. The receiver's codec
//! has a limit suited to the chunk size.
//!
//! Run: `cargo run --example stream_chunking [ADDR]` (default `127.0.0.1:0`).

use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::codec::{FramedRead, FramedWrite};
use wireforms::frame::{LengthFrameBuf, Limits};
use wireforms::transport::codec::FrameCodec;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

const CHUNK_SIZE: usize = 1024;
const TOTAL: usize = 5000;

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".into());
    let listener = TcpListener::bind(&addr).await?;
    let addr = listener.local_addr()?;

    let receiver = tokio::spawn(async move {
        let (conn, _) = listener.accept().await?;
        let limits = Limits::new(CHUNK_SIZE as u32);
        let mut chunks = FramedRead::new(conn, FrameCodec::new(limits));
        let mut received = Vec::with_capacity(TOTAL);
        let mut count = 0;
        while let Some(chunk) = chunks.next().await {
            let chunk = chunk?;
            count += 1;
            received.extend_from_slice(&chunk.payload);
            println!(
                "Received chunk {count}: {} bytes (total: {})",
                chunk.payload.len(),
                received.len()
            );
        }
        Ok::<_, BoxError>((count, received))
    });

    let data: Bytes = (0..TOTAL)
        .map(|i| (i % 256) as u8)
        .collect::<Vec<u8>>()
        .into();
    let chunk_count = TOTAL.div_ceil(CHUNK_SIZE);
    println!("Sending {TOTAL} bytes in {chunk_count} chunks");
    let mut sink = FramedWrite::new(TcpStream::connect(addr).await?, FrameCodec::default());
    for (i, start) in (0..TOTAL).step_by(CHUNK_SIZE).enumerate() {
        let chunk = data.slice(start..TOTAL.min(start + CHUNK_SIZE));
        println!("Sent chunk {}: {} bytes", i + 1, chunk.len());
        // `feed` queues without flushing; one flush below sends them all.
        sink.feed(LengthFrameBuf::new(chunk)).await?;
    }
    // Flush, then close our write half: the receiver's stream ends there.
    sink.close().await?;

    let (count, received) = receiver.await??;
    assert_eq!(received, data, "the bytes arrive intact");
    println!(
        "Server received {} bytes total in {count} chunks",
        received.len()
    );
    Ok(())
}
