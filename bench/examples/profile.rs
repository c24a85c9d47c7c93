//! One in-memory path, run for callgrind: instruction counts are stable on
//! a shared, loaded machine where wall-clock figures are not.
//!
//! ```text
//! cargo build --release -p wireforms-bench --example profile
//! valgrind --tool=callgrind --toggle-collect='*measured*' \
//!     target/release/examples/profile batch typed 16 10
//! ```
//! Arguments: path (`codec-decode`, `codec-encode`, `batch`, `peer-decode`,
//! `peer-encode`), format (`typed`, `magic`, `frame`, `mux`, `request`),
//! size, passes. Each pass handles `inmemory::count_for(size)` messages;
//! the program prints that count, so instructions per message are the
//! collected total divided by messages x passes.

use std::hint::black_box;

use bytes::{Buf, Bytes, BytesMut};
use tokio_util::codec::{Decoder, Encoder};
use wireforms::frame::{Frame, LengthFrameBuf};
use wireforms::magic::{Magic, PacketBuf, PacketType};
use wireforms::mux::{ChannelId, Mux, MuxFrameBuf};
use wireforms::reqres::{RequestBuf, RequestLine};
use wireforms::transport::batch::BatchDecoder;
use wireforms::transport::codec::WireCodec;
use wireforms::typed::{MessageType, Typed, TypedMessageBuf};
use wireforms::{Encode, WireFormat};
use wireforms_bench::inmemory::{count_for, prefixed, Peer};
use wireforms_bench::peers;
use wireforms_bench::scenarios::payload;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, path, format, size, passes] = &args[..] else {
        eprintln!("usage: profile PATH FORMAT SIZE PASSES");
        std::process::exit(2);
    };
    let size: usize = size.parse().expect("a size");
    let passes: usize = passes.parse().expect("a number of passes");
    let p = payload(size);
    match format.as_str() {
        "typed" => run::<Typed>(
            path,
            TypedMessageBuf::new(MessageType(1), p.clone()),
            length(peers::typed, peers::typed, prefixed(&[1], &p)),
            size,
            passes,
        ),
        "magic" => run::<Magic>(
            path,
            PacketBuf::new(PacketType(1), p.clone()),
            length(
                peers::magic,
                peers::magic_encoder,
                prefixed(&[0xde, 0xad, 0xbe, 0xef, 1, 1], &p),
            ),
            size,
            passes,
        ),
        "frame" => run::<Frame>(
            path,
            LengthFrameBuf::new(p.clone()),
            length(peers::frame, peers::frame, p),
            size,
            passes,
        ),
        "mux" => run::<Mux>(
            path,
            MuxFrameBuf::new(ChannelId(7), p.clone()),
            length(peers::mux, peers::mux_encoder, prefixed(&[0, 7], &p)),
            size,
            passes,
        ),
        "request" => {
            let args = String::from_utf8(p.to_vec()).expect("ascii");
            let line = format!("12345:ECHO:{args}");
            run::<RequestLine>(
                path,
                RequestBuf::new("12345", "ECHO", args),
                Peer::Lines(line),
                size,
                passes,
            )
        }
        other => panic!("no format {other}"),
    }
}

fn length(
    decoder: fn() -> tokio_util::codec::LengthDelimitedCodec,
    encoder: fn() -> tokio_util::codec::LengthDelimitedCodec,
    item: Bytes,
) -> Peer {
    Peer::Length {
        decoder,
        encoder,
        item,
    }
}

fn run<F: WireFormat>(path: &str, message: F::Owned, peer: Peer, size: usize, passes: usize) {
    let n = count_for(size);
    let mut wire = BytesMut::new();
    for _ in 0..n {
        message.encode(&mut wire).expect("encodable");
    }
    let mut out = BytesMut::with_capacity(n * (message.encoded_len() + 8));
    let mut total = 0;
    for _ in 0..passes {
        let mut buf = wire.clone();
        out.clear();
        total += measured::<F>(path, &mut buf, &mut out, &message, &peer, n);
    }
    println!("{total} messages");
}

#[inline(never)]
fn measured<F: WireFormat>(
    path: &str,
    buf: &mut BytesMut,
    out: &mut BytesMut,
    message: &F::Owned,
    peer: &Peer,
    n: usize,
) -> usize {
    let mut count = 0;
    match (path, peer) {
        ("codec-decode", _) => {
            let mut codec = WireCodec::<F>::default();
            while let Some(m) = codec.decode(buf).expect("valid") {
                black_box(m.encoded_len());
                count += 1;
            }
        }
        ("codec-encode", _) => {
            let mut codec = WireCodec::<F>::default();
            for _ in 0..n {
                codec.encode(message.clone(), out).expect("encodable");
                count += 1;
            }
        }
        ("batch", _) => {
            let mut decoder = BatchDecoder::<F>::default();
            for m in decoder.decode(buf) {
                black_box(m.expect("valid").encoded_len());
                count += 1;
            }
            buf.advance(decoder.take_consumed());
        }
        ("peer-decode", Peer::Length { decoder, .. }) => {
            let mut codec = decoder();
            while let Some(f) = codec.decode(buf).expect("valid") {
                black_box(f.len());
                count += 1;
            }
        }
        ("peer-decode", Peer::Lines(_)) => {
            let mut codec = peers::lines();
            while let Some(l) = codec.decode(buf).expect("valid") {
                black_box(l.len());
                count += 1;
            }
        }
        ("peer-encode", Peer::Length { encoder, item, .. }) => {
            let mut codec = encoder();
            for _ in 0..n {
                codec.encode(item.clone(), out).expect("encodable");
                count += 1;
            }
        }
        ("peer-encode", Peer::Lines(line)) => {
            let mut codec = peers::lines();
            for _ in 0..n {
                codec.encode(line.as_str(), out).expect("encodable");
                count += 1;
            }
        }
        (other, _) => panic!("no path {other}"),
    }
    count
}
