//! Property tests for the magic header packet (`spec/magic.md`).

mod common;

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::Index;
use wireforms::magic::{Limits, Magic, Packet, PacketBuf, PacketType, HEADER_LEN, MAGIC, VERSION};
use wireforms::reference::ReferenceServer;
use wireforms::{Encode, Error, ErrorKind};

const ERRORS: &[ErrorKind] = &[
    ErrorKind::BadMagic,
    ErrorKind::BadVersion,
    ErrorKind::TooLarge,
];

fn packet(max_payload: usize) -> impl Strategy<Value = PacketBuf> {
    (any::<u8>(), common::payload(max_payload))
        .prop_map(|(t, payload)| PacketBuf::new(PacketType(t), payload))
}

fn limits() -> impl Strategy<Value = Limits> {
    prop_oneof![
        Just(Limits::default()),
        (0u16..512).prop_map(Limits::new),
        any::<u16>().prop_map(Limits::new),
    ]
}

fn header(magic: u32, version: u8, packet_type: u8, len: u16) -> Vec<u8> {
    let mut v = magic.to_be_bytes().to_vec();
    v.extend([version, packet_type]);
    v.extend(len.to_be_bytes());
    v
}

/// Inputs that get past the magic (and mostly past the version), followed
/// by any bytes.
fn plausible_input() -> impl Strategy<Value = Vec<u8>> {
    let version = prop_oneof![4 => Just(VERSION), 1 => any::<u8>()];
    (
        version,
        any::<u8>(),
        0u16..300,
        vec(any::<u8>(), 0..400),
        0usize..=HEADER_LEN,
    )
        .prop_map(|(version, t, len, body, header_cut)| {
            let mut v = header(MAGIC, version, t, len);
            if body.is_empty() {
                // Also try the header cut short.
                v.truncate(header_cut);
            }
            v.extend(body);
            v
        })
}

proptest! {
    #[test]
    fn encode_then_parse(p in packet(4096), trailing in vec(any::<u8>(), 0..16)) {
        common::encode_then_parse::<Magic>(&p, &trailing, &Limits::default());
    }

    #[test]
    fn parse_then_encode(
        t in any::<u8>(),
        payload in common::payload(4096),
        trailing in vec(any::<u8>(), 0..16),
    ) {
        // Built by hand from the byte diagram, not by the crate's serializer.
        let mut bytes = header(MAGIC, VERSION, t, payload.len() as u16);
        bytes.extend_from_slice(&payload);
        bytes.extend_from_slice(&trailing);
        let len = common::parse_then_encode::<Magic>(&bytes, &Limits::default());
        prop_assert_eq!(len, Some(HEADER_LEN + payload.len()));
    }

    #[test]
    fn stream_cut_anywhere(
        packets in vec(packet(300), 1..6),
        cuts in vec(any::<Index>(), 0..10),
    ) {
        let cuts: Vec<usize> = cuts.iter().map(|c| c.index(usize::MAX)).collect();
        common::stream_cut_anywhere::<Magic>(&packets, &cuts, &Limits::default());
    }

    #[test]
    fn arbitrary_bytes(
        input in vec(any::<u8>(), 0..64),
        more in vec(any::<u8>(), 0..64),
        limits in limits(),
    ) {
        common::arbitrary_input::<Magic>(&input, &more, &limits, ERRORS);
    }

    #[test]
    fn arbitrary_bytes_after_the_magic(
        input in plausible_input(),
        more in vec(any::<u8>(), 0..64),
        limits in limits(),
    ) {
        common::arbitrary_input::<Magic>(&input, &more, &limits, ERRORS);
    }

    #[test]
    fn header_checks_in_order(
        magic in prop_oneof![Just(MAGIC), any::<u32>()],
        version in prop_oneof![Just(VERSION), any::<u8>()],
        t in any::<u8>(),
        len in any::<u16>(),
        limits in limits(),
    ) {
        // Magic, then version, then length, all from the 8 header bytes.
        let bytes = header(magic, version, t, len);
        let result = Packet::parse(&bytes, &limits);
        match result {
            Err(Error::BadMagic { found, .. }) => prop_assert!(magic != MAGIC && found == magic),
            Err(Error::BadVersion { found, .. }) => {
                prop_assert!(magic == MAGIC && version != VERSION && found == version)
            }
            Err(Error::TooLarge { len: l, max, .. }) => prop_assert!(
                magic == MAGIC && version == VERSION && l == u64::from(len)
                    && max == u64::from(limits.max_payload_len) && len > limits.max_payload_len
            ),
            Ok(status) => prop_assert!(
                magic == MAGIC && version == VERSION && len <= limits.max_payload_len
                    && status.is_complete() == (len == 0)
            ),
            Err(other) => prop_assert!(false, "unexpected {other}"),
        }
    }

    #[test]
    fn other_versions_encode_but_do_not_parse(
        version in any::<u8>().prop_filter("not ours", |v| *v != VERSION),
        t in any::<u8>(),
        payload in vec(any::<u8>(), 0..64),
    ) {
        let p = Packet { version, packet_type: PacketType(t), payload: &payload };
        let bytes = common::encode(&p);
        prop_assert_eq!(bytes[4], version);
        let err = Packet::parse(&bytes, &Limits::default()).unwrap_err();
        let ok = matches!(err, Error::BadVersion { found, section: "magic/5.3" } if found == version);
        prop_assert!(ok, "{}", err);
    }

    #[test]
    fn reference_reply_keeps_the_payload(p in packet(1024)) {
        let replies = Magic::replies(p.clone(), &Limits::default()).unwrap();
        prop_assert_eq!(replies.len(), 1);
        let reply = &replies[0];
        prop_assert_eq!(reply.version, VERSION);
        prop_assert_eq!(reply.packet_type.0, p.packet_type.0.wrapping_add(1));
        prop_assert_eq!(&reply.payload[..], &p.payload[..]);
        prop_assert_eq!(reply.encoded_len(), p.encoded_len());
    }
}
