//! The loopback measurements. Each function measures one side (ours or a
//! peer) for about `duration` and returns what the receiving side counted.

use std::future::poll_fn;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::task::JoinSet;
use tokio_util::codec::{Decoder, Encoder, FramedRead, FramedWrite};
use tokio_util::compat::TokioAsyncReadCompatExt;
use tokio_util::sync::CancellationToken;
use wireforms::mux::ChannelId;
use wireforms::transport::batch::BatchReader;
use wireforms::transport::mux_session::{MuxConfig, MuxSession};
use wireforms::transport::reference;
use wireforms::transport::reqres_client::{Client, ClientConfig};
use wireforms::transport::server::ServerOptions;
use wireforms::transport::write_batch::WriteBatch;
use wireforms::{Encode, WireFormat};

use crate::harness::{accept, connect, pair, Deadline, Received};

/// A payload of `len` bytes (letters, so text formats can carry it too).
pub fn payload(len: usize) -> Bytes {
    Bytes::from((0..len).map(|i| b'a' + (i % 26) as u8).collect::<Vec<u8>>())
}

/// Raw TCP: 64 KiB `write_all`s in, 256 KiB `read`s out. The ceiling.
pub fn raw_tcp(duration: Duration) -> Received {
    let chunk = payload(64 * 1024);
    pair(
        |listener, done| async move {
            let mut stream = accept(&listener).await;
            let mut buf = vec![0u8; 256 * 1024];
            let mut got = Received::default();
            let mut start = None;
            loop {
                match stream.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        start.get_or_insert_with(Instant::now);
                        got.bytes += n as u64;
                    }
                }
            }
            got.elapsed = start.map(|s| s.elapsed()).unwrap_or_default();
            got.messages = got.bytes / (64 * 1024);
            let _ = done.send(());
            got
        },
        move |addr, done| async move {
            let mut stream = connect(addr).await;
            let mut deadline = Deadline::new(duration, 1);
            while !deadline.passed() {
                stream.write_all(&chunk).await.expect("write");
            }
            stream.shutdown().await.expect("shutdown");
            let _ = done.await;
        },
    )
    .0
}

/// A stream of messages made by `item`, encoded with `encoder` and decoded
/// with `decoder`; `payload_len` says how many payload bytes a decoded
/// message carries.
pub fn stream<E, I, D>(
    duration: Duration,
    encoder: E,
    item: impl Fn() -> I + Send + 'static,
    decoder: D,
    payload_len: fn(&D::Item) -> usize,
) -> Received
where
    E: Encoder<I> + Send + 'static,
    E::Error: std::fmt::Debug,
    D: Decoder + Send + 'static,
    D::Error: std::fmt::Debug,
{
    pair(
        move |listener, done| receive(listener, decoder, payload_len, done),
        move |addr, done| async move {
            let stream = connect(addr).await;
            let mut sink = FramedWrite::new(stream, encoder);
            let mut deadline = Deadline::new(duration, 64);
            while !deadline.passed() {
                sink.feed(item()).await.expect("send");
            }
            sink.close().await.expect("close");
            let _ = done.await;
        },
    )
    .0
}

/// Decodes one connection's messages until it ends.
async fn receive<D>(
    listener: tokio::net::TcpListener,
    decoder: D,
    payload_len: fn(&D::Item) -> usize,
    done: tokio::sync::oneshot::Sender<()>,
) -> Received
where
    D: Decoder,
    D::Error: std::fmt::Debug,
{
    let stream = accept(&listener).await;
    let mut frames = FramedRead::new(stream, decoder);
    let mut got = Received::default();
    let mut start = None;
    while let Some(frame) = frames.next().await {
        let frame = frame.expect("a valid frame");
        start.get_or_insert_with(Instant::now);
        got.messages += 1;
        got.bytes += payload_len(&frame) as u64;
    }
    got.elapsed = start.map(|s| s.elapsed()).unwrap_or_default();
    let _ = done.send(());
    got
}

/// Like [`stream`], but the sender is the library's zero-copy writer,
/// [`WriteBatch`]: small messages are coalesced, payloads of
/// [`SHARE_FROM`](wireforms::transport::write_batch::SHARE_FROM) bytes or
/// more go to the socket uncopied. It writes whenever `FRAMED_BOUNDARY`
/// bytes are batched, the same point at which `FramedWrite` flushes.
pub fn stream_batched<M, D>(
    duration: Duration,
    item: impl Fn() -> M + Send + 'static,
    decoder: D,
    payload_len: fn(&D::Item) -> usize,
) -> Received
where
    M: Encode,
    D: Decoder + Send + 'static,
    D::Error: std::fmt::Debug,
{
    pair(
        move |listener, done| receive(listener, decoder, payload_len, done),
        move |addr, done| async move {
            let mut stream = connect(addr).await;
            let mut batch = WriteBatch::new();
            let mut deadline = Deadline::new(duration, 64);
            while !deadline.passed() {
                batch.push(&item()).expect("encodable");
                if batch.len() >= FRAMED_BOUNDARY {
                    batch.write_to(&mut stream).await.expect("write");
                }
            }
            batch.write_to(&mut stream).await.expect("write");
            stream.shutdown().await.expect("shutdown");
            let _ = done.await;
        },
    )
    .0
}

/// Like [`stream_batched`] on the sending side, and on the receiving side
/// the library's zero-copy [`BatchReader`]: every whole message of a read
/// is counted as a borrowed view, nothing split off or reference-counted.
pub fn stream_into_batches<F, M>(
    duration: Duration,
    item: impl Fn() -> M + Send + 'static,
) -> Received
where
    F: WireFormat + 'static,
    M: Encode,
{
    pair(
        move |listener, done| async move {
            let stream = accept(&listener).await;
            let mut reader = BatchReader::<_, F>::new(stream, F::Limits::default());
            let mut got = Received::default();
            let mut start = None;
            while let Some(batch) = reader.next_batch().await {
                start.get_or_insert_with(Instant::now);
                for message in batch.expect("a read") {
                    let message = message.expect("a valid message");
                    got.messages += 1;
                    got.bytes += message.encoded_len().saturating_sub(F::FIXED_HEADER_LEN) as u64;
                }
            }
            got.elapsed = start.map(|s| s.elapsed()).unwrap_or_default();
            let _ = done.send(());
            got
        },
        move |addr, done| async move {
            let mut stream = connect(addr).await;
            let mut batch = WriteBatch::new();
            let mut deadline = Deadline::new(duration, 64);
            while !deadline.passed() {
                batch.push(&item()).expect("encodable");
                if batch.len() >= FRAMED_BOUNDARY {
                    batch.write_to(&mut stream).await.expect("write");
                }
            }
            batch.write_to(&mut stream).await.expect("write");
            stream.shutdown().await.expect("shutdown");
            let _ = done.await;
        },
    )
    .0
}

/// `FramedWrite`'s default backpressure boundary (tokio-util 0.7).
const FRAMED_BOUNDARY: usize = 8 * 1024;

/// Request/response calls to the reference request server: `callers`
/// concurrent callers on one connection, each making one call at a time.
pub fn calls(duration: Duration, callers: usize) -> Received {
    let shutdown = CancellationToken::new();
    let stop = shutdown.clone();
    pair(
        move |listener, _done| async move {
            let server = reference::request(Default::default(), ServerOptions::default());
            let _ = server.serve(listener, shutdown).await;
        },
        move |addr, _done| async move {
            let client = Client::connect(addr, ClientConfig::default())
                .await
                .expect("a connection");
            let answered = Arc::new(AtomicU64::new(0));
            let start = Instant::now();
            let callers = (0..callers).map(|_| {
                let client = client.clone();
                let answered = answered.clone();
                async move {
                    let mut deadline = Deadline::new(duration, 16);
                    while !deadline.passed() {
                        let response = client.call("ECHO", "hello").await.expect("a response");
                        debug_assert_eq!(&*response.data, "hello");
                        answered.fetch_add(1, Ordering::Relaxed);
                    }
                }
            });
            futures::future::join_all(callers).await;
            let elapsed = start.elapsed();
            stop.cancel();
            Received {
                messages: answered.load(Ordering::Relaxed),
                bytes: 0,
                elapsed,
            }
        },
    )
    .1
}

/// `channels` wireforms mux channels, each sending `write_len`-byte writes.
pub fn mux(duration: Duration, channels: u16, write_len: usize) -> Received {
    let chunk = payload(write_len);
    pair(
        |listener, done| async move {
            let stream = accept(&listener).await;
            let mut session = MuxSession::new(stream, MuxConfig::default());
            let bytes = Arc::new(AtomicU64::new(0));
            let frames = Arc::new(AtomicU64::new(0));
            let mut readers = JoinSet::new();
            let mut start = None;
            while let Some(mut channel) = session.accept().await {
                start.get_or_insert_with(Instant::now);
                let (bytes, frames) = (bytes.clone(), frames.clone());
                readers.spawn(async move {
                    while let Some(Ok(payload)) = channel.next().await {
                        bytes.fetch_add(payload.len() as u64, Ordering::Relaxed);
                        frames.fetch_add(1, Ordering::Relaxed);
                    }
                });
            }
            while readers.join_next().await.is_some() {}
            let got = Received {
                messages: frames.load(Ordering::Relaxed),
                bytes: bytes.load(Ordering::Relaxed),
                elapsed: start.map(|s| s.elapsed()).unwrap_or_default(),
            };
            let _ = done.send(());
            got
        },
        move |addr, done| async move {
            let stream = connect(addr).await;
            let session = MuxSession::new(stream, MuxConfig::default());
            let mut writers = JoinSet::new();
            for id in 1..=channels {
                let mut channel = session.open(ChannelId(id)).expect("a channel");
                let chunk = chunk.clone();
                writers.spawn(async move {
                    let mut deadline = Deadline::new(duration, 1);
                    while !deadline.passed() {
                        channel.send(chunk.clone()).await.expect("send");
                    }
                });
            }
            drop(session);
            while writers.join_next().await.is_some() {}
            let _ = done.await;
        },
    )
    .0
}

/// `streams` yamux streams (default configuration, tokio through
/// `tokio_util::compat`), each sending `write_len`-byte writes.
pub fn yamux(duration: Duration, streams: usize, write_len: usize) -> Received {
    use futures::{AsyncReadExt as _, AsyncWriteExt as _};
    let chunk = payload(write_len);
    pair(
        move |listener, done| async move {
            let stream = accept(&listener).await.compat();
            let mut conn =
                yamux::Connection::new(stream, yamux::Config::default(), yamux::Mode::Server);
            let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
            let driver = tokio::spawn(poll_fn(move |cx| loop {
                match conn.poll_next_inbound(cx) {
                    Poll::Ready(Some(Ok(stream))) => {
                        let _ = tx.send(stream);
                    }
                    Poll::Ready(Some(Err(_)) | None) => return Poll::Ready(()),
                    Poll::Pending => return Poll::Pending,
                }
            }));
            let bytes = Arc::new(AtomicU64::new(0));
            let mut readers = JoinSet::new();
            let mut start = None;
            for _ in 0..streams {
                let Some(mut stream) = rx.recv().await else {
                    break;
                };
                start.get_or_insert_with(Instant::now);
                let bytes = bytes.clone();
                readers.spawn(async move {
                    let mut buf = vec![0u8; 64 * 1024];
                    while let Ok(n @ 1..) = stream.read(&mut buf).await {
                        bytes.fetch_add(n as u64, Ordering::Relaxed);
                    }
                });
            }
            while readers.join_next().await.is_some() {}
            let bytes = bytes.load(Ordering::Relaxed);
            let got = Received {
                messages: bytes / write_len.max(1) as u64,
                bytes,
                elapsed: start.map(|s| s.elapsed()).unwrap_or_default(),
            };
            let _ = done.send(());
            driver.abort();
            got
        },
        move |addr, done| async move {
            let stream = connect(addr).await.compat();
            let mut conn =
                yamux::Connection::new(stream, yamux::Config::default(), yamux::Mode::Client);
            let mut outbound = Vec::new();
            for _ in 0..streams {
                let stream = poll_fn(|cx| conn.poll_new_outbound(cx))
                    .await
                    .expect("a yamux stream");
                outbound.push(stream);
            }
            let driver = tokio::spawn(poll_fn(move |cx| loop {
                match conn.poll_next_inbound(cx) {
                    Poll::Ready(Some(Ok(_))) => {}
                    Poll::Ready(Some(Err(_)) | None) => return Poll::Ready(()),
                    Poll::Pending => return Poll::Pending,
                }
            }));
            let mut writers = JoinSet::new();
            for mut stream in outbound {
                let chunk = chunk.clone();
                writers.spawn(async move {
                    let mut deadline = Deadline::new(duration, 1);
                    while !deadline.passed() {
                        stream.write_all(&chunk).await.expect("write");
                    }
                    let _ = stream.close().await;
                });
            }
            while writers.join_next().await.is_some() {}
            let _ = done.await;
            driver.abort();
        },
    )
    .0
}
