use alloc::vec::Vec;

use super::*;
use crate::magic::PacketType;
use crate::mux::{ChannelId, MuxFrame};
use crate::reqres::{self, Request, RequestBuf, RequestLine};
use crate::typed::MessageType;
use crate::Encode;

#[test]
fn test_typed_reply_wraps_and_shares_the_payload() {
    let payload = Bytes::from_static(b"Binary message data");
    let replies = Typed::replies(
        TypedMessageBuf::new(MessageType(1), payload.clone()),
        &typed::Limits::default(),
    )
    .unwrap();
    assert_eq!(
        replies,
        [TypedMessageBuf::new(MessageType(2), payload.clone())]
    );
    assert_eq!(replies[0].payload.as_ptr(), payload.as_ptr());
    let wrapped = Typed::replies(
        TypedMessageBuf::new(MessageType(255), ""),
        &Default::default(),
    );
    assert_eq!(wrapped.unwrap()[0].message_type, MessageType(0));
}

#[test]
fn test_magic_reply() {
    let request = PacketBuf {
        version: VERSION,
        packet_type: PacketType(1),
        payload: Bytes::from_static(b"Custom protocol message"),
    };
    let replies = Magic::replies(request, &magic::Limits::default()).unwrap();
    assert_eq!(replies.len(), 1);
    let bytes = replies[0].to_bytes().unwrap();
    assert_eq!(&bytes[..8], b"\xde\xad\xbe\xef\x01\x02\x00\x17");
    assert_eq!(&bytes[8..], b"Custom protocol message");
    let wrapped = Magic::replies(PacketBuf::new(PacketType(255), ""), &Default::default());
    assert_eq!(wrapped.unwrap()[0].packet_type, PacketType(0));
}

fn frame_reply(payload: &[u8]) -> LengthFrameBuf {
    let request = LengthFrameBuf::new(Bytes::copy_from_slice(payload));
    let mut replies = Frame::replies(request, &frame::Limits::default()).unwrap();
    assert_eq!(replies.len(), 1);
    replies.remove(0)
}

#[test]
fn test_upper_ascii_in_place() {
    let mut bytes = *b"First frame \x00\xff\xc3\xa9 z{`@a";
    upper_ascii_in_place(&mut bytes);
    assert_eq!(&bytes, b"FIRST FRAME \x00\xff\xc3\xa9 Z{`@A");
}

#[test]
fn test_frame_reply() {
    assert_eq!(
        &frame_reply(b"First frame").to_bytes().unwrap()[..],
        b"\x00\x00\x00\x0bFIRST FRAME"
    );
    // An empty frame gets an empty frame.
    assert_eq!(frame_reply(b""), LengthFrameBuf::default());
}

#[test]
fn test_frame_reply_binary_safe() {
    // Every byte value: only a-z change, and the length is kept
    // (the guide's Go server would replace invalid UTF-8 with U+FFFD).
    let all: Vec<u8> = (0..=255u8).collect();
    let reply = frame_reply(&all);
    assert_eq!(reply.payload.len(), 256);
    for (i, (&before, &after)) in all.iter().zip(reply.payload.iter()).enumerate() {
        let expected = if before.is_ascii_lowercase() {
            before - 32
        } else {
            before
        };
        assert_eq!(after, expected, "byte {i}");
    }
    let latin = frame_reply("straße é".as_bytes());
    assert_eq!(&latin.payload[..], "STRAßE é".as_bytes());
}

fn mux_reply(
    channel: u16,
    payload: &[u8],
    limits: &mux::Limits,
) -> Result<Vec<MuxFrameBuf>, Error> {
    let request = MuxFrame {
        channel: ChannelId(channel),
        payload,
    };
    Mux::replies(MuxFrameBuf::from(request), limits)
}

#[test]
fn test_mux_reply() {
    let reply = mux_reply(1, b"Message on channel 1", &Default::default()).unwrap();
    assert_eq!(reply.len(), 1);
    assert_eq!(
        &reply[0].to_bytes().unwrap()[..],
        b"\x00\x01\x00\x1cEcho 1: Message on channel 1"
    );
    // An empty request on channel 2 gets the bare prefix.
    let reply = mux_reply(2, b"", &Default::default()).unwrap();
    assert_eq!(
        &reply[0].to_bytes().unwrap()[..],
        b"\x00\x02\x00\x08Echo 2: "
    );
    // Every channel is answered, with its own number.
    let reply = mux_reply(65_535, b"x", &Default::default()).unwrap();
    assert_eq!(&reply[0].payload[..], b"Echo 65535: x");
    let reply = mux_reply(0, b"x", &Default::default()).unwrap();
    assert_eq!(&reply[0].payload[..], b"Echo 0: x");
}

#[test]
fn test_mux_reply_splits_long_replies() {
    // 65,527 + "Echo 1: " = 65,535 fits one frame; 65,528 is where the
    // guide's u16 length wrapped.
    let payload = alloc::vec![b'a'; 65_535];
    let lens = |reply: &[MuxFrameBuf]| reply.iter().map(|f| f.payload.len()).collect::<Vec<_>>();
    let reply = mux_reply(1, &payload[..65_527], &Default::default()).unwrap();
    assert_eq!(lens(&reply), [65_535]);
    let reply = mux_reply(1, &payload[..65_528], &Default::default()).unwrap();
    assert_eq!(lens(&reply), [65_535, 1]);
    let reply = mux_reply(1, &payload, &Default::default()).unwrap();
    assert_eq!(lens(&reply), [65_535, 8]);
    assert!(reply.iter().all(|f| f.channel == ChannelId(1)));
    let joined: Vec<u8> = reply
        .iter()
        .flat_map(|f| f.payload.iter().copied())
        .collect();
    assert_eq!(&joined[..8], b"Echo 1: ");
    assert_eq!(&joined[8..], &payload[..]);
    // Within a peer's lower limit, and none at all within 0.
    let reply = mux_reply(1, b"abc", &mux::Limits::new(4)).unwrap();
    assert_eq!(lens(&reply), [4, 4, 3]);
    let e = mux_reply(1, b"abc", &mux::Limits::new(0)).unwrap_err();
    assert!(
        matches!(
            e,
            Error::TooLarge {
                len: 11,
                max: 0,
                section: "mux/6"
            }
        ),
        "{e:?}"
    );
}

/// The reply to a request line, with no line limit.
fn reply(line: &[u8]) -> Vec<u8> {
    reply_within(line, usize::MAX).unwrap()
}

#[test]
fn test_guide_exchanges() {
    assert_eq!(reply(b"1:ECHO:hello\n"), b"1:OK:hello\n");
    assert_eq!(
        reply(b"2:UPPER:make this uppercase\n"),
        b"2:OK:MAKE THIS UPPERCASE\n"
    );
    assert_eq!(reply(b"3:REVERSE:reverse\n"), b"3:OK:esrever\n");
    assert_eq!(reply(b"3:REVERSE:h\xc3\xa9llo\n"), b"3:OK:oll\xc3\xa9h\n");
    assert_eq!(reply(b"4:FOO:x\n"), b"4:OK:Unknown command\n");
    // Commands are case-sensitive.
    assert_eq!(reply(b"4:echo:x\n"), b"4:OK:Unknown command\n");
    assert_eq!(reply(b"::x\n"), b":OK:Unknown command\n");
    assert_eq!(reply(b"5:ECHO:a:b\n"), b"5:OK:a:b\n");
    assert_eq!(reply(b"6:ECHO:crlf\r\n"), b"6:OK:crlf\n");
}

#[test]
fn test_simple_uppercase() {
    assert_eq!(
        reply("7:UPPER:straße\n".as_bytes()),
        "7:OK:STRAßE\n".as_bytes()
    );
    // ᾳ (U+1FB3): simple mapping ᾼ (U+1FBC), not "ΑΙ".
    assert_eq!(
        reply("8:UPPER:ᾳ ᾀ ῃ ῳ ᾧ\n".as_bytes()),
        "8:OK:ᾼ ᾈ ῌ ῼ ᾯ\n".as_bytes()
    );
    // The titlecase forms and the ligatures have no simple mapping.
    for c in ['ß', 'ᾈ', 'ᾼ', 'ﬁ', 'ŉ', 'ᾲ', 'ᾶ'] {
        assert_eq!(simple_uppercase(c), c);
    }
    assert_eq!(simple_uppercase('é'), 'É');
    assert_eq!(simple_uppercase('ſ'), 'S');
    assert_eq!(simple_uppercase('ǅ'), 'Ǆ');
    assert_eq!(simple_uppercase('1'), '1');
    // One char in, one char out, for every scalar value.
    for c in (0..=0x10_FFFFu32).filter_map(char::from_u32) {
        let up = simple_uppercase(c);
        let mut full = c.to_uppercase();
        if let (Some(f), None) = (full.next(), full.next()) {
            if ypogegrammeni_free(c) {
                assert_eq!(up, f, "{c:?}");
            }
        }
    }
}

fn ypogegrammeni_free(c: char) -> bool {
    !matches!(u32::from(c), 0x1F80..=0x1FFF)
}

#[test]
fn test_data_ending_in_cr_is_an_err_reply() {
    // spec §6: a final CR cannot be carried (the peer strips it with
    // the line ending), so the answer says so instead of dropping it.
    assert_eq!(reply(b"9:REVERSE:\rab\n"), b"9:ERR:reply ends with CR\n");
    assert_eq!(reply(b"9:ECHO:ab\r\r\n"), b"9:ERR:reply ends with CR\n");
    assert_eq!(reply(b"9:UPPER:\r\r\n"), b"9:ERR:reply ends with CR\n");
    // A CR elsewhere is data.
    assert_eq!(reply(b"9:REVERSE:a\rb\n"), b"9:OK:b\ra\n");
}

fn reply_within(line: &[u8], max_line_len: usize) -> Result<Vec<u8>, Error> {
    let (request, len) = Request::parse(line, &reqres::Limits::default())
        .unwrap()
        .complete()
        .unwrap();
    assert_eq!(len, line.len());
    let replies = RequestLine::replies(
        RequestBuf::from(request),
        &reqres::Limits::new(max_line_len),
    )?;
    assert_eq!(replies.len(), 1);
    Ok(replies[0].to_bytes().unwrap().to_vec())
}

#[test]
fn test_reply_within_the_line_limit() {
    // UPPER of ɐ (2 bytes) is Ɐ (3 bytes): 21,843 of them and one 'a'
    // make a reply of exactly 65,536 bytes, which is sent.
    let mut line = b"1:UPPER:".to_vec();
    line.extend_from_slice("ɐ".repeat(21_843).as_bytes());
    line.extend_from_slice(b"a\n");
    let got = reply_within(&line, reqres::DEFAULT_MAX_LINE_LEN).unwrap();
    assert_eq!(got.len(), reqres::DEFAULT_MAX_LINE_LEN);
    assert!(got.starts_with(b"1:OK:\xe2\xb1\xaf"));
    // One byte more and it is an error status.
    line.insert(line.len() - 1, b'a');
    assert_eq!(
        reply_within(&line, reqres::DEFAULT_MAX_LINE_LEN).unwrap(),
        b"1:ERR:reply too long\n"
    );
    // The error status itself has to fit: `1:ERR:reply too long\n` is 21 bytes.
    let line = b"1:ECHO:0123456789abcdefghij\n";
    assert_eq!(reply_within(line, 21).unwrap(), b"1:ERR:reply too long\n");
    let e = reply_within(line, 20).unwrap_err();
    assert!(
        matches!(
            e,
            Error::LineTooLong {
                max: 20,
                section: "reqres/6"
            }
        ),
        "{e:?}"
    );
    // The case: a 65,532-byte ID with `::`.
    let mut line = "a".repeat(65_532).into_bytes();
    line.extend_from_slice(b"::\n");
    assert!(reply_within(&line, reqres::DEFAULT_MAX_LINE_LEN).is_err());
    // No reply is ever over the limit.
    for max in 0..40 {
        if let Ok(r) = reply_within(b"12:ECHO:hello world\n", max) {
            assert!(r.len() <= max, "{max}");
        }
    }
}
