//! Allocation counts: decoding many frames from one buffer with a codec
//! allocates a constant number of times (not once per frame), and the
//! sans-IO parser does not allocate at all.
//!
//! A counting global allocator (this test binary only) counts the
//! allocations made on the thread that is measuring, so the test harness's
//! other threads do not disturb the counts.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::hint::black_box;

use bytes::BytesMut;
use tokio_util::codec::Decoder;
use wireforms::frame::{Frame, LengthFrameBuf};
use wireforms::magic::{Magic, PacketBuf, PacketType};
use wireforms::mux::{ChannelId, Mux, MuxFrameBuf};
use wireforms::reqres::{RequestBuf, RequestLine};
use wireforms::transport::codec::WireCodec;
use wireforms::typed::{MessageType, Typed, TypedMessageBuf};
use wireforms::{Encode, Status, WireFormat};

struct Counting;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static COUNT: Cell<u64> = const { Cell::new(0) };
}

fn note() {
    // `try_with`: the allocator can run while thread locals are torn down.
    let _ = COUNTING.try_with(|on| {
        if on.get() {
            let _ = COUNT.try_with(|c| c.set(c.get() + 1));
        }
    });
}

// SAFETY: every call is forwarded unchanged to the system allocator; the
// bookkeeping touches only const-initialised thread locals (no allocation).
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note();
        // SAFETY: the caller's contract is passed on unchanged.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note();
        // SAFETY: as above.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note();
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Allocations made by `f` on this thread.
fn allocations(f: impl FnOnce()) -> u64 {
    COUNT.with(|c| c.set(0));
    COUNTING.with(|on| on.set(true));
    f();
    COUNTING.with(|on| on.set(false));
    COUNT.with(|c| c.get())
}

const FRAMES: usize = 100_000;

fn wire_of<F: WireFormat>(message: &F::Owned, n: usize) -> BytesMut {
    let mut wire = BytesMut::with_capacity(n * message.encoded_len());
    for _ in 0..n {
        message.encode(&mut wire).unwrap();
    }
    wire
}

/// Allocations of decoding all `n` messages of `message` from one buffer.
fn codec_allocations<F: WireFormat>(message: &F::Owned, n: usize) -> u64 {
    let mut buf = wire_of::<F>(message, n);
    let mut codec = WireCodec::<F>::default();
    let mut count = 0;
    let allocs = allocations(|| {
        while let Some(m) = codec.decode(&mut buf).unwrap() {
            black_box(&m);
            count += 1;
        }
    });
    assert_eq!(count, n);
    allocs
}

fn parser_allocations<F: WireFormat>(message: &F::Owned, n: usize) -> u64 {
    let wire = wire_of::<F>(message, n);
    let limits = F::Limits::default();
    let mut count = 0;
    let allocs = allocations(|| {
        let mut rest = &wire[..];
        while let Ok(Status::Complete(m, len)) = F::parse(rest, &limits) {
            black_box(m);
            rest = &rest[len..];
            count += 1;
        }
    });
    assert_eq!(count, n);
    allocs
}

fn check<F: WireFormat>(message: F::Owned) {
    let few = codec_allocations::<F>(&message, 10);
    let many = codec_allocations::<F>(&message, FRAMES);
    assert_eq!(
        few,
        many,
        "{}: codec allocations grow with the frame count",
        F::NAME
    );
    assert!(
        many <= 1,
        "{}: {many} allocations for {FRAMES} frames",
        F::NAME
    );
    assert_eq!(parser_allocations::<F>(&message, FRAMES), 0, "{}", F::NAME);
}

#[test]
fn the_counter_counts() {
    assert_eq!(allocations(|| drop(black_box(vec![1u8; 10]))), 1);
}

#[test]
fn typed() {
    check::<Typed>(TypedMessageBuf::new(
        MessageType(1),
        &b"sixteen bytes..."[..],
    ));
}

#[test]
fn magic() {
    check::<Magic>(PacketBuf::new(PacketType(1), &b"sixteen bytes..."[..]));
}

#[test]
fn frame() {
    check::<Frame>(LengthFrameBuf::new(&b"sixteen bytes..."[..]));
}

#[test]
fn mux() {
    check::<Mux>(MuxFrameBuf::new(ChannelId(7), &b"sixteen bytes..."[..]));
}

#[test]
fn request_lines() {
    check::<RequestLine>(RequestBuf::new("17", "ECHO", "sixteen bytes..."));
}
