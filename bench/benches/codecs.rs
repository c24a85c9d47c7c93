//! Parse, codec decode and encode of every format, each beside tokio-util's
//! `LengthDelimitedCodec` (or `LinesCodec` for the text format) configured
//! for the same bytes, in the same criterion group, so that the ratio of two
//! lines comes from one run on one machine.
//!
//! Groups are `<format>/decode` and `<format>/encode`; the parameter is the
//! payload size (the args length for request lines). Throughput is in
//! messages, so criterion prints messages per second.
//!
//! Run with `cargo bench -p wireforms-bench` (or `-- typed/` for one format).

use std::hint::black_box;
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use tokio_util::codec::{Decoder, Encoder, LengthDelimitedCodec};
use wireforms::frame::{Frame, LengthFrameBuf};
use wireforms::magic::{Magic, PacketBuf, PacketType};
use wireforms::mux::{ChannelId, Mux, MuxFrameBuf};
use wireforms::reqres::{RequestBuf, RequestLine};
use wireforms::transport::codec::WireCodec;
use wireforms::typed::{MessageType, Typed, TypedMessageBuf};
use wireforms::{Encode, Status, WireFormat};
use wireforms_bench::peers;

/// Payload sizes for the formats with a `u32` length.
const SIZES: [usize; 5] = [0, 16, 256, 4096, 65_536];
/// Payload sizes for the formats with a `u16` length (65,535 at most).
const SIZES_U16: [usize; 5] = [0, 16, 256, 4096, 65_535];
/// Args lengths of request lines: the last keeps the whole line under the
/// 65,536-byte default limit.
const LINE_SIZES: [usize; 5] = [0, 16, 256, 4096, 65_000];

/// About 1 MiB of messages per iteration, at least 16 and at most 10,000.
fn count_for(size: usize) -> usize {
    ((1 << 20) / (size + 8)).clamp(16, 10_000)
}

fn payload(size: usize) -> Bytes {
    Bytes::from(
        (0..size)
            .map(|i| b'a' + (i % 26) as u8)
            .collect::<Vec<u8>>(),
    )
}

/// How the peer codec sees the same bytes.
enum Peer {
    /// `LengthDelimitedCodec`s to decode and to encode, and the bytes the
    /// encoder is handed (everything after its length field).
    Length {
        decoder: fn() -> LengthDelimitedCodec,
        encoder: fn() -> LengthDelimitedCodec,
        item: Bytes,
    },
    /// `LinesCodec` and the line without its `\n`.
    Lines(String),
}

struct Case<F: WireFormat> {
    size: usize,
    message: F::Owned,
    limits: F::Limits,
    peer: Peer,
}

fn prefixed(prefix: &[u8], body: &Bytes) -> Bytes {
    let mut b = BytesMut::with_capacity(prefix.len() + body.len());
    b.put_slice(prefix);
    b.put_slice(body);
    b.freeze()
}

fn bench_format<F: WireFormat>(c: &mut Criterion, cases: Vec<Case<F>>) {
    let mut decode = c.benchmark_group(format!("{}/decode", F::NAME));
    for case in &cases {
        let n = count_for(case.size);
        let mut wire = BytesMut::new();
        for _ in 0..n {
            case.message.encode(&mut wire).expect("encodable");
        }
        decode.throughput(Throughput::Elements(n as u64));
        let limits = &case.limits;
        decode.bench_with_input(
            BenchmarkId::new("wireforms-parse", case.size),
            &wire[..],
            |b, wire| {
                b.iter(|| {
                    let mut rest = black_box(wire);
                    let mut count = 0usize;
                    while let Ok(Status::Complete(message, len)) = F::parse(rest, limits) {
                        black_box(message);
                        rest = &rest[len..];
                        count += 1;
                    }
                    assert_eq!(count, n);
                })
            },
        );
        decode.bench_with_input(
            BenchmarkId::new("wireforms-codec", case.size),
            &wire,
            |b, wire| {
                b.iter_batched(
                    || wire.clone(),
                    |mut buf| {
                        let mut codec = WireCodec::<F>::new(limits.clone());
                        let mut count = 0usize;
                        while let Some(message) = codec.decode(&mut buf).expect("valid") {
                            black_box(message);
                            count += 1;
                        }
                        assert_eq!(count, n);
                    },
                    BatchSize::LargeInput,
                )
            },
        );
        match &case.peer {
            Peer::Length { decoder, .. } => decode.bench_with_input(
                BenchmarkId::new("tokio-util-LengthDelimitedCodec", case.size),
                &wire,
                |b, wire| {
                    b.iter_batched(
                        || wire.clone(),
                        |mut buf| {
                            let mut codec = decoder();
                            let mut count = 0usize;
                            while let Some(frame) = codec.decode(&mut buf).expect("valid") {
                                black_box(frame);
                                count += 1;
                            }
                            assert_eq!(count, n);
                        },
                        BatchSize::LargeInput,
                    )
                },
            ),
            Peer::Lines(_) => decode.bench_with_input(
                BenchmarkId::new("tokio-util-LinesCodec", case.size),
                &wire,
                |b, wire| {
                    b.iter_batched(
                        || wire.clone(),
                        |mut buf| {
                            let mut codec = peers::lines();
                            let mut count = 0usize;
                            while let Some(line) = codec.decode(&mut buf).expect("valid") {
                                black_box(line);
                                count += 1;
                            }
                            assert_eq!(count, n);
                        },
                        BatchSize::LargeInput,
                    )
                },
            ),
        };
    }
    decode.finish();

    let mut encode = c.benchmark_group(format!("{}/encode", F::NAME));
    for case in &cases {
        let n = count_for(case.size);
        let capacity = n * (case.message.encoded_len() + 8);
        encode.throughput(Throughput::Elements(n as u64));
        encode.bench_function(BenchmarkId::new("wireforms-codec", case.size), |b| {
            let mut codec = WireCodec::<F>::new(case.limits.clone());
            let mut buf = BytesMut::with_capacity(capacity);
            b.iter(|| {
                buf.clear();
                for _ in 0..n {
                    codec
                        .encode(case.message.clone(), &mut buf)
                        .expect("encodable");
                }
                black_box(buf.len());
            })
        });
        // The serializer alone, from a borrowed message (no owned clone).
        encode.bench_function(
            BenchmarkId::new("wireforms-encode-borrowed", case.size),
            |b| {
                let message = F::as_message(&case.message);
                let mut buf = BytesMut::with_capacity(capacity);
                b.iter(|| {
                    buf.clear();
                    for _ in 0..n {
                        black_box(&message).encode(&mut buf).expect("encodable");
                    }
                    black_box(buf.len());
                })
            },
        );
        match &case.peer {
            Peer::Length { encoder, item, .. } => encode.bench_function(
                BenchmarkId::new("tokio-util-LengthDelimitedCodec", case.size),
                |b| {
                    let mut codec = encoder();
                    let mut buf = BytesMut::with_capacity(capacity);
                    b.iter(|| {
                        buf.clear();
                        for _ in 0..n {
                            codec.encode(item.clone(), &mut buf).expect("encodable");
                        }
                        black_box(buf.len());
                    })
                },
            ),
            Peer::Lines(line) => {
                encode.bench_function(BenchmarkId::new("tokio-util-LinesCodec", case.size), |b| {
                    let mut codec = peers::lines();
                    let mut buf = BytesMut::with_capacity(capacity);
                    b.iter(|| {
                        buf.clear();
                        for _ in 0..n {
                            codec.encode(line.as_str(), &mut buf).expect("encodable");
                        }
                        black_box(buf.len());
                    })
                })
            }
        };
    }
    encode.finish();
}

fn typed(c: &mut Criterion) {
    let cases = SIZES
        .iter()
        .map(|&size| {
            let p = payload(size);
            Case::<Typed> {
                size,
                message: TypedMessageBuf::new(MessageType(1), p.clone()),
                limits: Default::default(),
                peer: Peer::Length {
                    decoder: peers::typed,
                    encoder: peers::typed,
                    item: prefixed(&[1], &p),
                },
            }
        })
        .collect();
    bench_format(c, cases);
}

fn magic(c: &mut Criterion) {
    let cases = SIZES_U16
        .iter()
        .map(|&size| {
            let p = payload(size);
            Case::<Magic> {
                size,
                message: PacketBuf::new(PacketType(1), p.clone()),
                limits: Default::default(),
                peer: Peer::Length {
                    decoder: peers::magic,
                    encoder: peers::magic_encoder,
                    item: prefixed(&[0xde, 0xad, 0xbe, 0xef, 1, 1], &p),
                },
            }
        })
        .collect();
    bench_format(c, cases);
}

fn frame(c: &mut Criterion) {
    let cases = SIZES
        .iter()
        .map(|&size| {
            let p = payload(size);
            Case::<Frame> {
                size,
                message: LengthFrameBuf::new(p.clone()),
                limits: Default::default(),
                peer: Peer::Length {
                    decoder: peers::frame,
                    encoder: peers::frame,
                    item: p,
                },
            }
        })
        .collect();
    bench_format(c, cases);
}

fn mux(c: &mut Criterion) {
    let cases = SIZES_U16
        .iter()
        .map(|&size| {
            let p = payload(size);
            Case::<Mux> {
                size,
                message: MuxFrameBuf::new(ChannelId(7), p.clone()),
                limits: Default::default(),
                peer: Peer::Length {
                    decoder: peers::mux,
                    encoder: peers::mux_encoder,
                    item: prefixed(&[0, 7], &p),
                },
            }
        })
        .collect();
    bench_format(c, cases);
}

fn request(c: &mut Criterion) {
    let cases = LINE_SIZES
        .iter()
        .map(|&size| {
            let args = String::from_utf8(payload(size).to_vec()).expect("ascii");
            let line = format!("12345:ECHO:{args}");
            Case::<RequestLine> {
                size,
                message: RequestBuf::new("12345", "ECHO", args),
                limits: Default::default(),
                peer: Peer::Lines(line),
            }
        })
        .collect();
    bench_format(c, cases);
}

fn settings() -> Criterion {
    // Short measurements: the whole suite runs in a few minutes on two cores.
    Criterion::default()
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1))
        .sample_size(20)
        .configure_from_args()
}

criterion_group! {
    name = benches;
    config = settings();
    targets = typed, magic, frame, mux, request
}
criterion_main!(benches);
