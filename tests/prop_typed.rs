//! Property tests for the typed binary message (`spec/typed.md`).

mod common;

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::Index;
use wireforms::typed::{Limits, MessageType, Typed, TypedMessageBuf, HEADER_LEN};
use wireforms::ErrorKind;

fn message(max_payload: usize) -> impl Strategy<Value = TypedMessageBuf> {
    (any::<u8>(), common::payload(max_payload))
        .prop_map(|(t, payload)| TypedMessageBuf::new(MessageType(t), payload))
}

fn limits() -> impl Strategy<Value = Limits> {
    prop_oneof![
        Just(Limits::default()),
        (0u32..512).prop_map(Limits::new),
        any::<u32>().prop_map(Limits::new),
    ]
}

/// A header claiming a small length, then any bytes (fewer, as many or more
/// than it claims), so that parses get past the header.
fn plausible_input() -> impl Strategy<Value = Vec<u8>> {
    (0u32..300, any::<u8>(), vec(any::<u8>(), 0..400)).prop_map(|(len, t, body)| {
        let mut v = len.to_be_bytes().to_vec();
        v.push(t);
        v.extend(body);
        v
    })
}

proptest! {
    #[test]
    fn encode_then_parse(m in message(4096), trailing in vec(any::<u8>(), 0..16)) {
        common::encode_then_parse::<Typed>(&m, &trailing, &Limits::default());
    }

    #[test]
    fn parse_then_encode(
        t in any::<u8>(),
        payload in common::payload(4096),
        trailing in vec(any::<u8>(), 0..16),
    ) {
        // Built by hand from the byte diagram, not by the crate's serializer.
        let mut bytes = (payload.len() as u32).to_be_bytes().to_vec();
        bytes.push(t);
        bytes.extend_from_slice(&payload);
        bytes.extend_from_slice(&trailing);
        let len = common::parse_then_encode::<Typed>(&bytes, &Limits::default());
        prop_assert_eq!(len, Some(HEADER_LEN + payload.len()));
    }

    #[test]
    fn stream_cut_anywhere(
        messages in vec(message(300), 1..6),
        cuts in vec(any::<Index>(), 0..10),
    ) {
        let cuts: Vec<usize> = cuts.iter().map(|c| c.index(usize::MAX)).collect();
        common::stream_cut_anywhere::<Typed>(&messages, &cuts, &Limits::default());
    }

    #[test]
    fn arbitrary_bytes(
        input in vec(any::<u8>(), 0..64),
        more in vec(any::<u8>(), 0..64),
        limits in limits(),
    ) {
        common::arbitrary_input::<Typed>(&input, &more, &limits, &[ErrorKind::TooLarge]);
    }

    #[test]
    fn arbitrary_bytes_after_a_header(
        input in plausible_input(),
        more in vec(any::<u8>(), 0..64),
        limits in limits(),
    ) {
        common::arbitrary_input::<Typed>(&input, &more, &limits, &[ErrorKind::TooLarge]);
    }

    #[test]
    fn limit_is_checked_from_the_header(len in any::<u32>(), max in any::<u32>(), t in any::<u8>()) {
        let mut header = len.to_be_bytes().to_vec();
        header.push(t);
        let result = wireforms::typed::TypedMessage::parse(&header, &Limits::new(max));
        if len > max {
            prop_assert_eq!(result.unwrap_err().kind(), ErrorKind::TooLarge);
        } else {
            prop_assert!(!result.unwrap().is_complete() || len == 0);
        }
    }
}
