//! Property tests for the length frame (`spec/frame.md`).

mod common;

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::Index;
use wireforms::frame::{Frame, LengthFrame, LengthFrameBuf, Limits, HEADER_LEN};
use wireforms::reference::{upper_ascii_in_place, ReferenceServer};
use wireforms::ErrorKind;

fn frame(max_payload: usize) -> impl Strategy<Value = LengthFrameBuf> {
    common::payload(max_payload).prop_map(LengthFrameBuf::new)
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
    (0u32..300, vec(any::<u8>(), 0..400)).prop_map(|(len, body)| {
        let mut v = len.to_be_bytes().to_vec();
        v.extend(body);
        v
    })
}

proptest! {
    #[test]
    fn encode_then_parse(f in frame(4096), trailing in vec(any::<u8>(), 0..16)) {
        common::encode_then_parse::<Frame>(&f, &trailing, &Limits::default());
    }

    #[test]
    fn parse_then_encode(payload in common::payload(4096), trailing in vec(any::<u8>(), 0..16)) {
        // Built by hand from the byte diagram, not by the crate's serializer.
        let mut bytes = (payload.len() as u32).to_be_bytes().to_vec();
        bytes.extend_from_slice(&payload);
        bytes.extend_from_slice(&trailing);
        let len = common::parse_then_encode::<Frame>(&bytes, &Limits::default());
        prop_assert_eq!(len, Some(HEADER_LEN + payload.len()));
    }

    #[test]
    fn stream_cut_anywhere(frames in vec(frame(300), 1..6), cuts in vec(any::<Index>(), 0..10)) {
        let cuts: Vec<usize> = cuts.iter().map(|c| c.index(usize::MAX)).collect();
        common::stream_cut_anywhere::<Frame>(&frames, &cuts, &Limits::default());
    }

    #[test]
    fn arbitrary_bytes(
        input in vec(any::<u8>(), 0..64),
        more in vec(any::<u8>(), 0..64),
        limits in limits(),
    ) {
        common::arbitrary_input::<Frame>(&input, &more, &limits, &[ErrorKind::TooLarge]);
    }

    #[test]
    fn arbitrary_bytes_after_a_header(
        input in plausible_input(),
        more in vec(any::<u8>(), 0..64),
        limits in limits(),
    ) {
        common::arbitrary_input::<Frame>(&input, &more, &limits, &[ErrorKind::TooLarge]);
    }

    #[test]
    fn limit_is_checked_from_the_header(len in any::<u32>(), max in any::<u32>()) {
        let header = len.to_be_bytes();
        let result = LengthFrame::parse(&header, &Limits::new(max));
        if len > max {
            prop_assert_eq!(result.unwrap_err().kind(), ErrorKind::TooLarge);
        } else {
            prop_assert_eq!(result.unwrap().is_complete(), len == 0);
        }
    }

    #[test]
    fn reference_reply_is_ascii_upper_case(f in frame(2048)) {
        let reply = Frame::replies(f.clone(), &Limits::default()).unwrap().remove(0);
        prop_assert_eq!(reply.payload.len(), f.payload.len());
        for (&before, &after) in f.payload.iter().zip(reply.payload.iter()) {
            prop_assert_eq!(after, before.to_ascii_uppercase());
        }
        let mut in_place = f.payload.to_vec();
        upper_ascii_in_place(&mut in_place);
        prop_assert_eq!(&in_place[..], &reply.payload[..]);
    }
}
