//! Property tests for the mux frame (`spec/mux.md`).

mod common;

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::Index;
use wireforms::mux::{
    split, ChannelId, Limits, Mux, MuxFrame, MuxFrameBuf, HEADER_LEN, MAX_PAYLOAD_LEN,
};
use wireforms::reference::ReferenceServer;
use wireforms::{Encode, ErrorKind};

fn frame(max_payload: usize) -> impl Strategy<Value = MuxFrameBuf> {
    (any::<u16>(), common::payload(max_payload))
        .prop_map(|(c, payload)| MuxFrameBuf::new(ChannelId(c), payload))
}

fn limits() -> impl Strategy<Value = Limits> {
    prop_oneof![
        Just(Limits::default()),
        (0u16..512).prop_map(Limits::new),
        any::<u16>().prop_map(Limits::new),
    ]
}

/// A header claiming a small length, then any bytes (fewer, as many or more
/// than it claims).
fn plausible_input() -> impl Strategy<Value = Vec<u8>> {
    (any::<u16>(), 0u16..300, vec(any::<u8>(), 0..400)).prop_map(|(c, len, body)| {
        let mut v = c.to_be_bytes().to_vec();
        v.extend(len.to_be_bytes());
        v.extend(body);
        v
    })
}

/// Payload lengths, often at or next to a multiple of 65,535.
fn split_len(max: usize) -> impl Strategy<Value = usize> {
    prop_oneof![
        0..max,
        (0..max / MAX_PAYLOAD_LEN + 1, -2isize..=2)
            .prop_map(|(k, d)| (k * MAX_PAYLOAD_LEN).saturating_add_signed(d)),
    ]
}

/// Frames as `split` must cut them: all full but the last, which is
/// non-empty unless it is the only one.
fn assert_cut_well(frames: &[MuxFrameBuf], total: usize) {
    let lens: Vec<usize> = frames.iter().map(|f| f.payload.len()).collect();
    let (last, full) = lens.split_last().expect("at least one frame");
    assert!(full.iter().all(|&l| l == MAX_PAYLOAD_LEN), "{lens:?}");
    assert!(
        *last <= MAX_PAYLOAD_LEN && (*last > 0 || lens.len() == 1),
        "{lens:?}"
    );
    assert_eq!(lens.iter().sum::<usize>(), total);
}

/// A payload of `len` bytes that shows where each byte came from.
fn patterned(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

proptest! {
    #[test]
    fn encode_then_parse(f in frame(4096), trailing in vec(any::<u8>(), 0..16)) {
        common::encode_then_parse::<Mux>(&f, &trailing, &Limits::default());
    }

    #[test]
    fn parse_then_encode(
        c in any::<u16>(),
        payload in common::payload(4096),
        trailing in vec(any::<u8>(), 0..16),
    ) {
        // Built by hand from the byte diagram, not by the crate's serializer.
        let mut bytes = c.to_be_bytes().to_vec();
        bytes.extend((payload.len() as u16).to_be_bytes());
        bytes.extend_from_slice(&payload);
        bytes.extend_from_slice(&trailing);
        let len = common::parse_then_encode::<Mux>(&bytes, &Limits::default());
        prop_assert_eq!(len, Some(HEADER_LEN + payload.len()));
    }

    #[test]
    fn stream_cut_anywhere(frames in vec(frame(300), 1..6), cuts in vec(any::<Index>(), 0..10)) {
        let cuts: Vec<usize> = cuts.iter().map(|c| c.index(usize::MAX)).collect();
        common::stream_cut_anywhere::<Mux>(&frames, &cuts, &Limits::default());
    }

    #[test]
    fn arbitrary_bytes(
        input in vec(any::<u8>(), 0..64),
        more in vec(any::<u8>(), 0..64),
        limits in limits(),
    ) {
        common::arbitrary_input::<Mux>(&input, &more, &limits, &[ErrorKind::TooLarge]);
    }

    #[test]
    fn arbitrary_bytes_after_a_header(
        input in plausible_input(),
        more in vec(any::<u8>(), 0..64),
        limits in limits(),
    ) {
        common::arbitrary_input::<Mux>(&input, &more, &limits, &[ErrorKind::TooLarge]);
    }

    #[test]
    fn limit_is_checked_from_the_header(c in any::<u16>(), len in any::<u16>(), max in any::<u16>()) {
        let mut header = c.to_be_bytes().to_vec();
        header.extend(len.to_be_bytes());
        let result = MuxFrame::parse(&header, &Limits::new(max));
        if len > max {
            prop_assert_eq!(result.unwrap_err().kind(), ErrorKind::TooLarge);
        } else {
            prop_assert_eq!(result.unwrap().is_complete(), len == 0);
        }
    }
}

proptest! {
    // Payloads of up to ~200 KB: fewer cases.
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn split_then_parse_gives_back_the_payload(c in any::<u16>(), len in split_len(200_000)) {
        let payload = patterned(len);
        let frames: Vec<MuxFrameBuf> = split(ChannelId(c), payload.clone().into()).collect();
        prop_assert_eq!(frames.len(), len.div_ceil(MAX_PAYLOAD_LEN).max(1));
        assert_cut_well(&frames, len);
        let stream: Vec<u8> = frames.iter().flat_map(common::encode).collect();
        let (parsed, consumed) = common::parse_all::<Mux>(&stream, &Limits::default());
        prop_assert_eq!(consumed, stream.len());
        prop_assert_eq!(&parsed, &frames);
        let joined: Vec<u8> = parsed.iter().flat_map(|f| f.payload.iter().copied()).collect();
        prop_assert_eq!(joined, payload);
    }

    #[test]
    fn reference_reply_echoes_on_the_same_channel(c in any::<u16>(), len in split_len(140_000)) {
        let payload = patterned(len);
        let request = MuxFrameBuf::from(MuxFrame { channel: ChannelId(c), payload: &payload });
        let reply = Mux::replies(request, &Limits::default()).unwrap();
        let prefix = format!("Echo {c}: ");
        let total = prefix.len() + len;
        prop_assert_eq!(reply.len(), total.div_ceil(MAX_PAYLOAD_LEN));
        assert_cut_well(&reply, total);
        prop_assert!(reply.iter().all(|f| f.channel == ChannelId(c) && f.check().is_ok()));
        let joined: Vec<u8> = reply.iter().flat_map(|f| f.payload.iter().copied()).collect();
        prop_assert_eq!(&joined[..prefix.len()], prefix.as_bytes());
        prop_assert_eq!(&joined[prefix.len()..], &payload[..]);
    }
}
