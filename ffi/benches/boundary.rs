//! The cost of the C boundary: decoding length frames with a 16-byte
//! payload (20 bytes on the wire) from one buffer, through the library's
//! parser and through `wireforms_frame_parse`, in the same run.
//!
//! The export is called through a function pointer hidden from the
//! optimizer (`black_box`), as a C caller calls it: no inlining across the
//! boundary, every pointer check, the panic guard and the out-parameter
//! writes included.
//!
//!     cargo bench -p wireforms-ffi --bench boundary

use std::hint::black_box;

use criterion::{criterion_group, Criterion, Throughput};
use wireforms::frame::{LengthFrame, Limits};
use wireforms::{Encode, Status};
use wireforms_ffi::{
    wireforms_bytes, wireforms_error, wireforms_frame, wireforms_frame_limits_default,
    wireforms_frame_parse, wireforms_status,
};

const FRAMES: usize = 10_000;
const PAYLOAD: [u8; 16] = *b"0123456789abcdef";

type ParseFn = unsafe extern "C" fn(
    *const u8,
    usize,
    *const wireforms_ffi::wireforms_frame_limits,
    *mut wireforms_frame,
    *mut usize,
    *mut usize,
    *mut wireforms_error,
) -> wireforms_status;

fn stream() -> Vec<u8> {
    let frame = LengthFrame { payload: &PAYLOAD };
    let mut out = vec![0u8; frame.encoded_len() * FRAMES];
    for chunk in out.chunks_mut(frame.encoded_len()) {
        frame.emit(chunk).expect("room for the frame");
    }
    out
}

fn rust_parse(input: &[u8], limits: &Limits) -> usize {
    let (mut at, mut total) = (0, 0);
    while let Ok(Status::Complete(frame, len)) = LengthFrame::parse(&input[at..], limits) {
        total += frame.payload.len();
        at += len;
    }
    total
}

fn c_parse(parse: ParseFn, input: &[u8]) -> usize {
    let limits = wireforms_frame_limits_default();
    let mut frame = wireforms_frame {
        payload: wireforms_bytes {
            data: std::ptr::null(),
            len: 0,
        },
    };
    let (mut at, mut total, mut consumed, mut needed) = (0, 0, 0, 0);
    loop {
        // SAFETY: `input[at..]` is live; the outputs are live locals; a
        // NULL error record is allowed.
        let status = unsafe {
            parse(
                input[at..].as_ptr(),
                input.len() - at,
                &limits,
                &mut frame,
                &mut consumed,
                &mut needed,
                std::ptr::null_mut(),
            )
        };
        if status != wireforms_status::Ok {
            return total;
        }
        total += frame.payload.len;
        at += consumed;
    }
}

fn boundary(c: &mut Criterion) {
    let input = stream();
    let limits = Limits::default();
    assert_eq!(rust_parse(&input, &limits), 16 * FRAMES);
    let parse: ParseFn = wireforms_frame_parse;
    assert_eq!(c_parse(parse, &input), 16 * FRAMES);
    let mut group = c.benchmark_group("frame16/decode");
    group.throughput(Throughput::Elements(FRAMES as u64));
    group.bench_function("rust-parser", |b| {
        b.iter(|| rust_parse(black_box(&input), black_box(&limits)))
    });
    group.bench_function("c-abi", |b| {
        b.iter(|| c_parse(black_box(parse), black_box(&input)))
    });
    group.finish();
}

/// `BOUNDARY_ONLY=rust-parser|c-abi`: decode the stream 100 times with
/// that path alone and exit, for an instruction count that no other load
/// on the machine changes:
///
///     BOUNDARY_ONLY=c-abi valgrind --tool=callgrind target/release/deps/boundary-*
fn count_only(which: &str) {
    let input = stream();
    let limits = Limits::default();
    let mut total = 0;
    for _ in 0..100 {
        total += match which {
            "rust-parser" => rust_parse(black_box(&input), black_box(&limits)),
            _ => c_parse(
                black_box(wireforms_frame_parse as ParseFn),
                black_box(&input),
            ),
        };
    }
    assert_eq!(total, 100 * 16 * FRAMES);
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(std::time::Duration::from_millis(500))
        .measurement_time(std::time::Duration::from_secs(2))
        .sample_size(30);
    targets = boundary
}
fn main() {
    if let Ok(which) = std::env::var("BOUNDARY_ONLY") {
        return count_only(&which);
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
