//! One fuzz input: bytes, how they are delivered (a byte stream or one
//! datagram), the receiver limit they are judged under, and for an
//! unmutated spec vector the verdict the vector allows.

use serde_json::{Map, Value};

use crate::formats::Format;
use crate::vectors::{HarnessCase, Test};

/// One input tried on the testee.
#[derive(Clone, Debug)]
pub struct Input {
    /// The bytes.
    pub bytes: Vec<u8>,
    /// One datagram instead of a byte stream.
    pub datagram: bool,
    /// The receiver limit: `max_payload_len`, or `max_line_len` for lines.
    pub limit: u64,
    /// A spec vector taken as it is: its own verdict is the oracle, so an
    /// `acceptable` vector allows either outcome.
    pub expect: Option<Box<Test>>,
}

impl Input {
    /// The limits object of the vectors and of the harness protocol.
    pub fn limits(&self, format: Format) -> Map<String, Value> {
        let key = if format.is_text() {
            "max_line_len"
        } else {
            "max_payload_len"
        };
        let mut m = Map::new();
        m.insert(key.into(), Value::from(self.limit));
        m
    }

    /// `stream` or `datagram`.
    pub fn mode(&self) -> &'static str {
        if self.datagram {
            "datagram"
        } else {
            "stream"
        }
    }

    /// The harness case carrying this input.
    pub fn case(&self, format: Format, id: String) -> HarnessCase {
        HarnessCase {
            id,
            op: "decode".into(),
            format: format.name().into(),
            mode: self.mode().into(),
            limits: self.limits(format),
            input: crate::hex::encode(&self.bytes),
        }
    }

    /// The same input with other bytes (no longer the vector it was).
    pub fn with_bytes(&self, bytes: Vec<u8>) -> Input {
        Input {
            bytes,
            datagram: self.datagram,
            limit: self.limit,
            expect: None,
        }
    }
}

/// The default receiver limit of `format` (its spec §3).
pub fn default_limit(format: Format) -> u64 {
    match format {
        Format::Typed => u64::from(wireforms::typed::DEFAULT_MAX_PAYLOAD_LEN),
        Format::Magic => u64::from(wireforms::magic::DEFAULT_MAX_PAYLOAD_LEN),
        Format::Frame => u64::from(wireforms::frame::DEFAULT_MAX_PAYLOAD_LEN),
        Format::Mux => u64::from(wireforms::mux::DEFAULT_MAX_PAYLOAD_LEN),
        Format::Request | Format::Response => {
            wireforms::reqres::Limits::default().max_line_len as u64
        }
    }
}
