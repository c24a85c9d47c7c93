//! serde support for the owned message types (feature `serde`).
//!
//! The JSON shape is the one of the conformance vectors (`spec/README.md`,
//! "Vector files") and of the command-line tool: one object per message,
//! payloads as lower-case hex strings.
//!
//! | type | shape |
//! |---|---|
//! | [`TypedMessageBuf`] | `{"type": u8, "payload": hex}` |
//! | [`PacketBuf`] | `{"version": u8, "type": u8, "payload": hex}` |
//! | [`LengthFrameBuf`] | `{"payload": hex}` |
//! | [`MuxFrameBuf`] | `{"channel": u16, "payload": hex}` |
//! | [`RequestBuf`] | `{"id": string, "command": string, "args": string}` |
//! | [`ResponseBuf`] | `{"id": string, "status": string, "data": string}` |
//!
//! Deserializing accepts upper-case hex digits too, and rejects an odd
//! number of digits, a non-hex character, a missing field and an unknown
//! field, with a message that says which.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use bytes::Bytes;
use serde::de::{self, Deserializer, Visitor};
use serde::ser::Serializer;
use serde::{Deserialize, Serialize};

use crate::frame::LengthFrameBuf;
use crate::magic::{PacketBuf, PacketType};
use crate::mux::{ChannelId, MuxFrameBuf};
use crate::reqres::{RequestBuf, ResponseBuf, Text};
use crate::typed::{MessageType, TypedMessageBuf};

/// Serializes borrowed bytes as a lower-case hex string without allocating.
struct HexRef<'a>(&'a [u8]);

impl fmt::Display for HexRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for byte in self.0 {
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

impl Serialize for HexRef<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// Bytes deserialized from a hex string (either case).
struct HexBuf(Bytes);

/// The value of one hex digit, if `c` is one.
fn hex_digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Decodes a hex string; the error says what is wrong and where.
fn decode_hex<E: de::Error>(s: &str) -> Result<Vec<u8>, E> {
    let digits = s.as_bytes();
    if digits.len() % 2 != 0 {
        return Err(E::custom(format_args!(
            "hex payload has an odd number of digits ({})",
            digits.len()
        )));
    }
    let mut out = Vec::with_capacity(digits.len() / 2);
    for (i, pair) in digits.chunks_exact(2).enumerate() {
        let mut value = 0u8;
        for (j, &c) in pair.iter().enumerate() {
            let Some(d) = hex_digit(c) else {
                // Report the character, not the byte: it may be part of a
                // multi-byte UTF-8 sequence.
                let pos = 2 * i + j;
                let shown = s.get(pos..).and_then(|t| t.chars().next()).unwrap_or('?');
                return Err(E::custom(format_args!(
                    "hex payload has a non-hex character {shown:?} at position {pos}"
                )));
            };
            value = (value << 4) | d;
        }
        out.push(value);
    }
    Ok(out)
}

impl<'de> Deserialize<'de> for HexBuf {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct HexVisitor;

        impl Visitor<'_> for HexVisitor {
            type Value = HexBuf;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string of hex digits")
            }

            fn visit_str<E: de::Error>(self, s: &str) -> Result<HexBuf, E> {
                decode_hex(s).map(|v| HexBuf(Bytes::from(v)))
            }
        }

        deserializer.deserialize_str(HexVisitor)
    }
}

// ---- typed ----------------------------------------------------------------

#[derive(Serialize)]
struct TypedOut<'a> {
    #[serde(rename = "type")]
    message_type: u8,
    payload: HexRef<'a>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TypedIn {
    #[serde(rename = "type")]
    message_type: u8,
    payload: HexBuf,
}

impl Serialize for TypedMessageBuf {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        TypedOut {
            message_type: self.message_type.0,
            payload: HexRef(&self.payload),
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for TypedMessageBuf {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let m = TypedIn::deserialize(deserializer)?;
        Ok(TypedMessageBuf::new(
            MessageType(m.message_type),
            m.payload.0,
        ))
    }
}

// ---- magic ----------------------------------------------------------------

#[derive(Serialize)]
struct PacketOut<'a> {
    version: u8,
    #[serde(rename = "type")]
    packet_type: u8,
    payload: HexRef<'a>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PacketIn {
    version: u8,
    #[serde(rename = "type")]
    packet_type: u8,
    payload: HexBuf,
}

impl Serialize for PacketBuf {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        PacketOut {
            version: self.version,
            packet_type: self.packet_type.0,
            payload: HexRef(&self.payload),
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for PacketBuf {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let p = PacketIn::deserialize(deserializer)?;
        // The version is kept as given: the format can carry any value.
        Ok(PacketBuf {
            version: p.version,
            packet_type: PacketType(p.packet_type),
            payload: p.payload.0,
        })
    }
}

// ---- frame ----------------------------------------------------------------

#[derive(Serialize)]
struct FrameOut<'a> {
    payload: HexRef<'a>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FrameIn {
    payload: HexBuf,
}

impl Serialize for LengthFrameBuf {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        FrameOut {
            payload: HexRef(&self.payload),
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for LengthFrameBuf {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(LengthFrameBuf::new(
            FrameIn::deserialize(deserializer)?.payload.0,
        ))
    }
}

// ---- mux ------------------------------------------------------------------

#[derive(Serialize)]
struct MuxOut<'a> {
    channel: u16,
    payload: HexRef<'a>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MuxIn {
    channel: u16,
    payload: HexBuf,
}

impl Serialize for MuxFrameBuf {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        MuxOut {
            channel: self.channel.0,
            payload: HexRef(&self.payload),
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for MuxFrameBuf {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let m = MuxIn::deserialize(deserializer)?;
        Ok(MuxFrameBuf::new(ChannelId(m.channel), m.payload.0))
    }
}

// ---- request / response lines ----------------------------------------------

/// Text fields are JSON strings; a `String` becomes a [`Text`] without copying.
fn text(s: String) -> Text {
    Text::from(s)
}

#[derive(Serialize)]
struct RequestOut<'a> {
    id: &'a str,
    command: &'a str,
    args: &'a str,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RequestIn {
    id: String,
    command: String,
    args: String,
}

impl Serialize for RequestBuf {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        RequestOut {
            id: &self.id,
            command: &self.command,
            args: &self.args,
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for RequestBuf {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let r = RequestIn::deserialize(deserializer)?;
        Ok(RequestBuf::new(text(r.id), text(r.command), text(r.args)))
    }
}

#[derive(Serialize)]
struct ResponseOut<'a> {
    id: &'a str,
    status: &'a str,
    data: &'a str,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResponseIn {
    id: String,
    status: String,
    data: String,
}

impl Serialize for ResponseBuf {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        ResponseOut {
            id: &self.id,
            status: &self.status,
            data: &self.data,
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for ResponseBuf {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let r = ResponseIn::deserialize(deserializer)?;
        Ok(ResponseBuf::new(text(r.id), text(r.status), text(r.data)))
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use serde_json::json;

    #[test]
    fn typed_round_trip() {
        let msg = TypedMessageBuf::new(MessageType(255), &b"\x00\xabZ"[..]);
        let value = serde_json::to_value(&msg).unwrap();
        assert_eq!(value, json!({"type": 255, "payload": "00ab5a"}));
        let back: TypedMessageBuf = serde_json::from_value(value).unwrap();
        assert_eq!(back, msg);
    }

    #[test]
    fn magic_round_trip() {
        let p = PacketBuf {
            version: 7,
            packet_type: PacketType(2),
            payload: Bytes::from_static(b"hi"),
        };
        let value = serde_json::to_value(&p).unwrap();
        assert_eq!(value, json!({"version": 7, "type": 2, "payload": "6869"}));
        assert_eq!(serde_json::from_value::<PacketBuf>(value).unwrap(), p);
        assert!(serde_json::from_str::<PacketBuf>(r#"{"type":2,"payload":""}"#).is_err());
    }

    #[test]
    fn frame_round_trip() {
        let f = LengthFrameBuf::new(Bytes::from_static(b"\xff\x00"));
        let value = serde_json::to_value(&f).unwrap();
        assert_eq!(value, json!({"payload": "ff00"}));
        assert_eq!(serde_json::from_value::<LengthFrameBuf>(value).unwrap(), f);
        assert!(serde_json::from_str::<LengthFrameBuf>(r#"{"payload":"f"}"#).is_err());
    }

    #[test]
    fn mux_round_trip() {
        let m = MuxFrameBuf::new(ChannelId(65535), Bytes::new());
        let value = serde_json::to_value(&m).unwrap();
        assert_eq!(value, json!({"channel": 65535, "payload": ""}));
        assert_eq!(serde_json::from_value::<MuxFrameBuf>(value).unwrap(), m);
        assert!(serde_json::from_str::<MuxFrameBuf>(r#"{"channel":65536,"payload":""}"#).is_err());
    }

    #[test]
    fn request_round_trip() {
        let r = RequestBuf::new("1", "UPPER", "héllo: x");
        let value = serde_json::to_value(&r).unwrap();
        assert_eq!(
            value,
            json!({"id": "1", "command": "UPPER", "args": "héllo: x"})
        );
        assert_eq!(serde_json::from_value::<RequestBuf>(value).unwrap(), r);
        assert!(serde_json::from_str::<RequestBuf>(r#"{"id":"1","command":"X"}"#).is_err());
        assert!(
            serde_json::from_str::<RequestBuf>(r#"{"id":"1","status":"X","args":""}"#).is_err()
        );
    }

    #[test]
    fn response_round_trip() {
        let r = ResponseBuf::new("", "OK", "Unknown command");
        let value = serde_json::to_value(&r).unwrap();
        assert_eq!(
            value,
            json!({"id": "", "status": "OK", "data": "Unknown command"})
        );
        assert_eq!(serde_json::from_value::<ResponseBuf>(value).unwrap(), r);
    }

    #[test]
    fn typed_empty_payload() {
        let msg = TypedMessageBuf::new(MessageType(0), Bytes::new());
        assert_eq!(
            serde_json::to_string(&msg).unwrap(),
            r#"{"type":0,"payload":""}"#
        );
    }

    #[test]
    fn upper_case_hex_accepted() {
        let msg: TypedMessageBuf =
            serde_json::from_str(r#"{"type":1,"payload":"DEadBE"}"#).unwrap();
        assert_eq!(&msg.payload[..], b"\xde\xad\xbe");
    }

    #[test]
    fn bad_hex_rejected_with_reason() {
        let err =
            serde_json::from_str::<TypedMessageBuf>(r#"{"type":1,"payload":"abc"}"#).unwrap_err();
        assert!(
            err.to_string().contains("odd number of digits (3)"),
            "{err}"
        );
        let err =
            serde_json::from_str::<TypedMessageBuf>(r#"{"type":1,"payload":"0g"}"#).unwrap_err();
        assert!(
            err.to_string()
                .contains("non-hex character 'g' at position 1"),
            "{err}"
        );
        let err =
            serde_json::from_str::<TypedMessageBuf>(r#"{"type":1,"payload":"é00"}"#).unwrap_err();
        assert!(
            err.to_string()
                .contains("non-hex character 'é' at position 0"),
            "{err}"
        );
    }

    #[test]
    fn fields_checked() {
        assert!(serde_json::from_str::<TypedMessageBuf>(r#"{"type":256,"payload":""}"#).is_err());
        assert!(serde_json::from_str::<TypedMessageBuf>(r#"{"payload":""}"#).is_err());
        assert!(
            serde_json::from_str::<TypedMessageBuf>(r#"{"type":1,"payload":"","x":1}"#).is_err()
        );
    }
}
