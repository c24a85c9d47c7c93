//! The peers' codecs, configured for the same bytes as each wireforms format.
//!
//! `LengthDelimitedCodec`'s decoder can find a length field behind other
//! header bytes (magic, mux) but its encoder always writes the length field
//! first; the `*_encoder` builders below therefore write the same number of
//! bytes in a different order, which costs the peer the same work.

use tokio_util::codec::{LengthDelimitedCodec, LinesCodec};

/// Length frames: `u32` length, payload (exactly tokio-util's default layout).
pub fn frame() -> LengthDelimitedCodec {
    LengthDelimitedCodec::builder()
        .length_field_length(4)
        .max_frame_length(1 << 20)
        .new_codec()
}

/// Typed messages: `u32` payload length, type byte, payload. The frame it
/// yields is the type byte and the payload; its encoder, handed the type
/// byte and the payload, writes exactly a typed message.
pub fn typed() -> LengthDelimitedCodec {
    LengthDelimitedCodec::builder()
        .length_field_offset(0)
        .length_field_length(4)
        .length_adjustment(1)
        .num_skip(4)
        .max_frame_length((1 << 20) + 1)
        .new_codec()
}

/// Magic packets: the `u16` length sits behind 6 header bytes; the frame is
/// the whole packet.
pub fn magic() -> LengthDelimitedCodec {
    LengthDelimitedCodec::builder()
        .length_field_offset(6)
        .length_field_length(2)
        .length_adjustment(0)
        .num_skip(0)
        .max_frame_length(65_535 + 8)
        .new_codec()
}

/// An encoder (and matching decoder) writing a `u16` length, then the 6
/// other header bytes and the payload it is handed: a magic packet's size,
/// in the order `LengthDelimitedCodec` can write.
pub fn magic_encoder() -> LengthDelimitedCodec {
    LengthDelimitedCodec::builder()
        .length_field_length(2)
        .length_adjustment(6)
        .num_skip(0)
        .max_frame_length(65_535 + 8)
        .new_codec()
}

/// Mux frames: `u16` channel, `u16` length; the frame is the whole mux frame.
pub fn mux() -> LengthDelimitedCodec {
    LengthDelimitedCodec::builder()
        .length_field_offset(2)
        .length_field_length(2)
        .length_adjustment(0)
        .num_skip(0)
        .max_frame_length(65_535 + 4)
        .new_codec()
}

/// An encoder writing a `u16` length, then the channel and the payload it is
/// handed: a mux frame's size, in the order `LengthDelimitedCodec` can write.
pub fn mux_encoder() -> LengthDelimitedCodec {
    LengthDelimitedCodec::builder()
        .length_field_length(2)
        .length_adjustment(2)
        .num_skip(0)
        .max_frame_length(65_535 + 4)
        .new_codec()
}

/// Request lines: `LinesCodec` bounded like the reqres default (65,536
/// bytes counting the `\n`).
pub fn lines() -> LinesCodec {
    LinesCodec::new_with_max_length(65_536)
}
