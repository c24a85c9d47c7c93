//! In-memory codec measurements: decode and encode of about 1 MiB of
//! messages by our codec (or batch decoder) and by the peer's codec,
//! alternated in rounds on the same thread, so that both sides see the same
//! machine, and the ratio means something on a loaded one.
//!
//! Every decoded message is used the same way on both sides: its length
//! goes through `black_box` (`encoded_len()` for ours, `len()` for the
//! peer's frame or line), then the message is dropped. Passing the whole
//! message to `black_box` instead forces it through memory, which for a
//! borrowed message with a one-byte field (typed, magic) cost about 3x
//! here, a harness artifact no real consumer pays.
//!
//! Each side's figure is its best pass (see [`alternate`]'s reasons). The
//! work per pass is what `bench/benches/codecs.rs` measures with
//! criterion: decode from one `BytesMut` holding the messages (its copy made
//! outside the timed part), encode of owned messages (each cloned, as a
//! `Framed` sink would be handed it) into one buffer.

use std::hint::black_box;
use std::time::{Duration, Instant};

use bytes::{Buf, BufMut, Bytes, BytesMut};
use tokio_util::codec::{Decoder, Encoder, LengthDelimitedCodec};
use wireforms::transport::batch::BatchDecoder;
use wireforms::transport::codec::WireCodec;
use wireforms::{Encode, WireFormat};

use crate::peers;

/// About 1 MiB of messages per pass, at least 16 and at most 10,000 (as the
/// criterion benches).
pub fn count_for(size: usize) -> usize {
    ((1 << 20) / (size + 8)).clamp(16, 10_000)
}

/// How the peer sees the same bytes.
#[derive(Clone)]
pub enum Peer {
    /// `LengthDelimitedCodec`s to decode and to encode, and the bytes the
    /// encoder is handed (everything after its length field).
    Length {
        /// The decoder's configuration.
        decoder: fn() -> LengthDelimitedCodec,
        /// The encoder's configuration.
        encoder: fn() -> LengthDelimitedCodec,
        /// What the encoder is handed per message.
        item: Bytes,
    },
    /// `LinesCodec`, and the line without its `\n`.
    Lines(String),
}

/// `prefix` then `body`, in one buffer.
pub fn prefixed(prefix: &[u8], body: &Bytes) -> Bytes {
    let mut b = BytesMut::with_capacity(prefix.len() + body.len());
    b.put_slice(prefix);
    b.put_slice(body);
    b.freeze()
}

/// Messages per second of each side: (ours, peer).
pub type Pair = (f64, f64);

/// Runs `ours` and `peer` (each one pass, returning messages and the time
/// it took) strictly alternately for about `duration` in all, and keeps
/// each side's best pass: a busy moment on a shared machine slows a pass,
/// never speeds one up, and alternating pass by pass gives both sides the
/// same moments.
fn alternate(
    duration: Duration,
    mut ours: impl FnMut() -> (usize, Duration),
    mut peer: impl FnMut() -> (usize, Duration),
) -> Pair {
    let rate = |(n, t): (usize, Duration)| n as f64 / t.as_secs_f64().max(1e-9);
    let start = Instant::now();
    let mut best = (0f64, 0f64);
    // At least a few passes each, however short the budget.
    let mut passes = 0u32;
    while passes < 3 || start.elapsed() < duration {
        best.0 = best.0.max(rate(ours()));
        best.1 = best.1.max(rate(peer()));
        passes += 1;
    }
    best
}

fn wire_of<F: WireFormat>(message: &F::Owned, n: usize) -> BytesMut {
    let mut wire = BytesMut::new();
    for _ in 0..n {
        message.encode(&mut wire).expect("encodable");
    }
    wire
}

fn timed(f: impl FnOnce() -> usize) -> (usize, Duration) {
    let start = Instant::now();
    let n = f();
    (n, start.elapsed())
}

/// The peer decoding `wire`: one pass.
fn peer_decode(peer: &Peer, wire: &BytesMut) -> (usize, Duration) {
    let mut buf = wire.clone();
    match peer {
        Peer::Length { decoder, .. } => {
            let mut codec = decoder();
            timed(|| {
                let mut count = 0;
                while let Some(frame) = codec.decode(&mut buf).expect("valid") {
                    black_box(frame.len());
                    count += 1;
                }
                count
            })
        }
        Peer::Lines(_) => {
            let mut codec = peers::lines();
            timed(|| {
                let mut count = 0;
                while let Some(line) = codec.decode(&mut buf).expect("valid") {
                    black_box(line.len());
                    count += 1;
                }
                count
            })
        }
    }
}

/// `WireCodec::<F>::decode` against the peer's decoder, same bytes.
pub fn codec_decode<F: WireFormat>(
    duration: Duration,
    message: &F::Owned,
    peer: &Peer,
    size: usize,
) -> Pair {
    let n = count_for(size);
    let wire = wire_of::<F>(message, n);
    alternate(
        duration,
        || {
            let mut buf = wire.clone();
            let mut codec = WireCodec::<F>::default();
            timed(|| {
                let mut count = 0;
                while let Some(m) = codec.decode(&mut buf).expect("valid") {
                    black_box(m.encoded_len());
                    count += 1;
                }
                count
            })
        },
        || peer_decode(peer, &wire),
    )
}

/// [`BatchDecoder`] over the same bytes against the peer's codec decoder.
pub fn batch_decode<F: WireFormat>(
    duration: Duration,
    message: &F::Owned,
    peer: &Peer,
    size: usize,
) -> Pair {
    let n = count_for(size);
    let wire = wire_of::<F>(message, n);
    alternate(
        duration,
        || {
            let mut buf = wire.clone();
            let mut decoder = BatchDecoder::<F>::default();
            timed(|| {
                let mut count = 0;
                for m in decoder.decode(&buf) {
                    black_box(m.expect("valid").encoded_len());
                    count += 1;
                }
                buf.advance(decoder.take_consumed());
                count
            })
        },
        || peer_decode(peer, &wire),
    )
}

/// `WireCodec::<F>::encode` of owned messages against the peer's encoder.
pub fn codec_encode<F: WireFormat>(
    duration: Duration,
    message: &F::Owned,
    peer: &Peer,
    size: usize,
) -> Pair {
    let n = count_for(size);
    let capacity = n * (message.encoded_len() + 8);
    let mut ours_buf = BytesMut::with_capacity(capacity);
    let mut peer_buf = BytesMut::with_capacity(capacity);
    let mut codec = WireCodec::<F>::default();
    let mut length = match peer {
        Peer::Length { encoder, .. } => Some(encoder()),
        Peer::Lines(_) => None,
    };
    let mut lines = peers::lines();
    alternate(
        duration,
        || {
            ours_buf.clear();
            timed(|| {
                for _ in 0..n {
                    codec
                        .encode(message.clone(), &mut ours_buf)
                        .expect("encodable");
                }
                black_box(ours_buf.len());
                n
            })
        },
        || {
            peer_buf.clear();
            timed(|| {
                match (peer, length.as_mut()) {
                    (Peer::Length { item, .. }, Some(codec)) => {
                        for _ in 0..n {
                            codec
                                .encode(item.clone(), &mut peer_buf)
                                .expect("encodable");
                        }
                    }
                    (Peer::Lines(line), _) => {
                        for _ in 0..n {
                            lines
                                .encode(line.as_str(), &mut peer_buf)
                                .expect("encodable");
                        }
                    }
                    (Peer::Length { .. }, None) => unreachable!("made above"),
                }
                black_box(peer_buf.len());
                n
            })
        },
    )
}
