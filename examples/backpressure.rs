//! Guide: "Connection Backpressure".
//!
//! A producer hands records to a writer task through a bounded `mpsc`
//! channel. The writer batches them in a `FramedWrite` (wireforms
//! `FrameCodec`), which writes when its buffer passes its backpressure
//! boundary, and flushes a partial batch every `FLUSH_INTERVAL`. The server
//! reads slowly and both socket buffers are small, so TCP pushes back: the
//! writer waits on the socket, the channel fills, and the producer waits on
//! `send`. Nothing is dropped and memory stays bounded at every step.
//!
//! Differences from the guide: its `Write` and its `autoFlush` goroutine
//! share one buffer with no lock (a data race: records can be sent twice or
//! lost), `Write` polls with `Sleep(10ms)` instead of waiting for room, and
//! the flusher goroutine is never stopped. Here one task owns the
//! connection, the channel is the only shared thing, and waiting is
//! `await`ing, not polling.
//!
//! Run: `cargo run --example backpressure [ADDR]` (default `127.0.0.1:0`).

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TrySendError;
use tokio_util::codec::{FramedRead, FramedWrite};
use wireforms::frame::LengthFrameBuf;
use wireforms::transport::codec::FrameCodec;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

const RECORDS: usize = 64;
const RECORD_LEN: usize = 4096;
/// Records the producer may get ahead of the writer.
const QUEUE: usize = 8;
const FLUSH_INTERVAL: Duration = Duration::from_millis(50);
/// Small socket buffers make the pushback visible within a short demo.
const SOCKET_BUFFER: u32 = 8 * 1024;

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".into())
        .parse()?;
    let socket = TcpSocket::new_v4()?;
    socket.set_recv_buffer_size(SOCKET_BUFFER)?;
    socket.bind(addr)?;
    let listener = socket.listen(16)?;
    let addr = listener.local_addr()?;

    // A slow reader: one record every 4 ms.
    let server = tokio::spawn(async move {
        let (conn, _) = listener.accept().await?;
        let mut frames = FramedRead::new(conn, FrameCodec::default());
        let (mut records, mut bytes) = (0, 0);
        while let Some(frame) = frames.next().await {
            bytes += frame?.payload.len();
            records += 1;
            tokio::time::sleep(Duration::from_millis(4)).await;
        }
        Ok::<_, BoxError>((records, bytes))
    });

    let client = TcpSocket::new_v4()?;
    client.set_send_buffer_size(SOCKET_BUFFER)?;
    let conn = client.connect(addr).await?;
    let (tx, rx) = mpsc::channel::<LengthFrameBuf>(QUEUE);
    let writer = tokio::spawn(write_records(conn, rx));

    let mut waits = 0;
    for i in 0..RECORDS {
        let record = LengthFrameBuf::new(vec![i as u8; RECORD_LEN]);
        match tx.try_send(record) {
            Ok(()) => {}
            Err(TrySendError::Full(record)) => {
                // The writer is behind: wait for room (this is the backpressure).
                waits += 1;
                tx.send(record).await?;
            }
            Err(TrySendError::Closed(_)) => return Err("writer stopped".into()),
        }
    }
    drop(tx); // no more records: the writer flushes and closes
    writer.await??;
    let (records, bytes) = server.await??;
    println!("Producer queued {RECORDS} records and had to wait for room {waits} times");
    println!("Server received {records} records ({bytes} bytes)");
    Ok(())
}

/// Owns the connection: batches records, flushes on a timer, closes at the end.
async fn write_records(
    conn: TcpStream,
    mut rx: mpsc::Receiver<LengthFrameBuf>,
) -> Result<(), BoxError> {
    let mut sink = FramedWrite::new(conn, FrameCodec::default());
    let mut ticker = tokio::time::interval(FLUSH_INTERVAL);
    loop {
        tokio::select! {
            record = rx.recv() => match record {
                // `feed` writes out the buffer first when it is past the
                // boundary, waiting for the socket when it is full.
                Some(record) => sink.feed(record).await?,
                None => break,
            },
            _ = ticker.tick() => sink.flush().await?,
        }
    }
    sink.close().await?;
    Ok(())
}
