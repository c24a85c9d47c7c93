//! Property checks shared by the `prop_<format>` tests, written once against
//! [`WireFormat`] and run for each binary format.
//!
//! They panic on a violation; proptest catches the panic and shrinks.
#![allow(dead_code)]

use proptest::prelude::*;
use wireforms::{Encode, ErrorKind, Needed, Status, WireFormat};

/// Payloads of up to `max` bytes, often tiny or empty (where off-by-one
/// bugs at the header boundary show).
pub fn payload(max: usize) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        1 => proptest::collection::vec(any::<u8>(), 0..4),
        3 => proptest::collection::vec(any::<u8>(), 0..max),
    ]
}

/// Largest need the no-panic check follows up by actually supplying the
/// bytes (a header may ask for up to 4 GiB).
const MAX_FOLLOWED_NEED: usize = 1 << 20;

/// Encodes `message` with `emit`, checking that it writes exactly
/// `encoded_len()` bytes, refuses a buffer one byte short, and agrees with
/// `to_bytes`.
pub fn encode<M: Encode>(message: &M) -> Vec<u8> {
    let len = message.encoded_len();
    let mut out = vec![0u8; len];
    assert_eq!(message.emit(&mut out).expect("encodable message"), len);
    if len > 0 {
        let mut short = vec![0u8; len - 1];
        assert_eq!(
            message.emit(&mut short).unwrap_err().kind(),
            ErrorKind::BufferTooSmall
        );
    }
    assert_eq!(
        &message.to_bytes().expect("encodable message")[..],
        &out[..]
    );
    out
}

/// Property 1: encode then parse gives back the message and consumes
/// exactly `encoded_len()` bytes, whatever follows it; every strict prefix
/// is `Incomplete` with a need that does not overshoot the message.
pub fn encode_then_parse<F: WireFormat>(owned: &F::Owned, trailing: &[u8], limits: &F::Limits) {
    let encoded = encode(owned);
    let total = encoded.len();
    let mut input = encoded.clone();
    input.extend_from_slice(trailing);

    match F::parse(&input, limits).expect("a valid message parses") {
        Status::Complete(message, len) => {
            assert_eq!(len, total, "consumed exactly encoded_len()");
            assert_eq!(message.encoded_len(), total);
            assert_eq!(&F::to_owned_copy(&message), owned);
        }
        Status::Incomplete(needed) => panic!("whole message reported incomplete: {needed:?}"),
    }

    // Without trailing bytes too: the parser must not ask for more than the message.
    let exact = F::parse(&encoded, limits).expect("a valid message parses");
    assert_eq!(
        exact.map(|m| F::to_owned_copy(&m)),
        Status::Complete(owned.clone(), total)
    );

    for cut in 0..total {
        check_prefix::<F>(&encoded, cut, limits);
    }
}

/// A strict prefix `encoded[..cut]` of one valid message is `Incomplete`
/// with a known need `n`, `cut + n` does not pass the end of the message,
/// and supplying exactly the `n` bytes completes it or names a new need.
pub fn check_prefix<F: WireFormat>(encoded: &[u8], cut: usize, limits: &F::Limits) {
    let total = encoded.len();
    let needed = match F::parse(&encoded[..cut], limits) {
        Ok(Status::Incomplete(needed)) => needed,
        other => panic!("prefix of {cut}/{total} bytes gave {other:?}"),
    };
    let n = needed
        .size()
        .expect("binary formats always know their need");
    let fed = cut.checked_add(n).expect("need overflows");
    assert!(fed <= total, "prefix of {cut}: need {n} overshoots {total}");
    match F::parse(&encoded[..fed], limits) {
        Ok(Status::Complete(_, len)) => assert_eq!((fed, len), (total, total)),
        Ok(Status::Incomplete(Needed::Size(_))) => assert!(fed < total),
        other => panic!("prefix of {fed}/{total} bytes gave {other:?}"),
    }
}

/// Property 2: when `input` parses, encoding the result gives back the
/// bytes it was parsed from. Returns the length parsed, if complete.
pub fn parse_then_encode<F: WireFormat>(input: &[u8], limits: &F::Limits) -> Option<usize> {
    let (message, len) = F::parse(input, limits).ok()?.complete()?;
    assert!(len <= input.len());
    assert_eq!(encode(&message), &input[..len]);
    Some(len)
}

/// Parses messages off the front of `stream` until it runs out, in one go.
/// Returns them and the number of bytes they took.
pub fn parse_all<F: WireFormat>(stream: &[u8], limits: &F::Limits) -> (Vec<F::Owned>, usize) {
    let mut out = Vec::new();
    let mut at = 0;
    loop {
        match F::parse(&stream[at..], limits).expect("a valid stream parses") {
            Status::Complete(message, len) => {
                assert!(len > 0, "a message takes at least one byte");
                out.push(F::to_owned_copy(&message));
                at += len;
            }
            Status::Incomplete(_) => return (out, at),
        }
    }
}

/// Feeds `stream` in the pieces `chunks` (lengths, summing to the stream's)
/// the way a receiver does: append to a buffer, parse what completes, keep
/// the rest. Every need reported must not pass the end of the message
/// being received, whose length `expected` gives.
pub fn parse_incremental<F: WireFormat>(
    stream: &[u8],
    chunks: &[usize],
    expected: &[F::Owned],
    limits: &F::Limits,
) -> Vec<F::Owned> {
    let mut buf: Vec<u8> = Vec::new();
    let mut out: Vec<F::Owned> = Vec::new();
    let mut at = 0;
    for &chunk in chunks {
        buf.extend_from_slice(&stream[at..at + chunk]);
        at += chunk;
        loop {
            let step = match F::parse(&buf, limits).expect("a valid stream parses") {
                Status::Complete(message, len) => Some((F::to_owned_copy(&message), len)),
                Status::Incomplete(needed) => {
                    let n = needed
                        .size()
                        .expect("binary formats always know their need");
                    // Past the last message there is nothing to check against.
                    if let Some(current) = expected.get(out.len()) {
                        let current = current.encoded_len();
                        assert!(
                            buf.len() + n <= current,
                            "need {n} with {} buffered passes the {current}-byte message",
                            buf.len()
                        );
                    }
                    None
                }
            };
            match step {
                Some((message, len)) => {
                    out.push(message);
                    buf.drain(..len);
                }
                None => break,
            }
        }
    }
    assert!(buf.is_empty(), "{} bytes left over", buf.len());
    out
}

/// Property 3: a stream of `messages` cut at `cuts` (any positions, sorted
/// or not) and fed incrementally, and fed one byte at a time, yields the
/// same messages as a one-shot parse loop, and those are `messages`.
pub fn stream_cut_anywhere<F: WireFormat>(
    messages: &[F::Owned],
    cuts: &[usize],
    limits: &F::Limits,
) {
    let stream: Vec<u8> = messages.iter().flat_map(encode).collect();

    let (one_shot, consumed) = parse_all::<F>(&stream, limits);
    assert_eq!(consumed, stream.len());
    assert_eq!(one_shot, messages);

    let mut points: Vec<usize> = cuts.iter().map(|c| c % (stream.len() + 1)).collect();
    points.push(0);
    points.push(stream.len());
    points.sort_unstable();
    points.dedup();
    let chunks: Vec<usize> = points.windows(2).map(|w| w[1] - w[0]).collect();
    assert_eq!(
        parse_incremental::<F>(&stream, &chunks, messages, limits),
        one_shot
    );

    let bytewise = vec![1; stream.len()];
    assert_eq!(
        parse_incremental::<F>(&stream, &bytewise, messages, limits),
        one_shot
    );
}

/// Property 4: parsing `input` never panics and gives
/// - `Complete` taking at most the input, whose re-encoding is the bytes taken;
/// - `Incomplete(Size(n))` where `n` is a true lower bound: any fewer than `n`
///   more bytes (taken from `more`, then zeros) still give `Incomplete` with a
///   need that adds up to at least the same total, and exactly `n` more bytes
///   complete the message at that length, name a new need or fail;
/// - or an error of one of the kinds in `allowed`, naming a section of this
///   format.
pub fn arbitrary_input<F: WireFormat>(
    input: &[u8],
    more: &[u8],
    limits: &F::Limits,
    allowed: &[ErrorKind],
) {
    match F::parse(input, limits) {
        Ok(Status::Complete(message, len)) => {
            assert!(len <= input.len());
            assert_eq!(message.encoded_len(), len);
            assert_eq!(encode(&message), &input[..len]);
        }
        Ok(Status::Incomplete(needed)) => {
            let n = needed
                .size()
                .expect("binary formats always know their need");
            if n > MAX_FOLLOWED_NEED {
                return;
            }
            let extended = |k: usize| {
                let mut v = input.to_vec();
                v.extend(more.iter().copied().chain(core::iter::repeat(0)).take(k));
                v
            };
            for k in [0, n / 2, n - 1] {
                let longer = extended(k);
                match F::parse(&longer, limits) {
                    Ok(Status::Incomplete(Needed::Size(m))) => assert!(
                        k + m.get() >= n,
                        "need {n} shrank to {} after {k} bytes",
                        m.get()
                    ),
                    other => panic!("need {n}, but {k} more bytes gave {other:?}"),
                };
            }
            let full = extended(n);
            match F::parse(&full, limits) {
                Ok(Status::Complete(_, len)) => assert_eq!(len, full.len()),
                Ok(Status::Incomplete(needed)) => {
                    assert!(
                        needed.size().is_some(),
                        "binary formats always know their need"
                    )
                }
                Err(e) => check_error::<F>(&e, allowed),
            };
        }
        Err(e) => check_error::<F>(&e, allowed),
    }
}

/// An error is of an expected kind and names a section of this format's spec.
pub fn check_error<F: WireFormat>(error: &wireforms::Error, allowed: &[ErrorKind]) {
    assert!(
        allowed.contains(&error.kind()),
        "unexpected {} error: {error}",
        error.kind()
    );
    let section = error.section().expect("wire errors name a section");
    assert!(
        section.starts_with(F::NAME) && section[F::NAME.len()..].starts_with('/'),
        "section {section} is not one of {}",
        F::NAME
    );
    // Display is hand-written and lower-case.
    let text = error.to_string();
    assert!(text.starts_with(|c: char| !c.is_uppercase()), "{text}");
}
