//! # wireforms
//!
//! Specified, zero-copy, hostile-input-proof parsers and serializers for five
//! small wire formats, with a thin tokio transport layer on top.
//!
//! The parser layer is sans-IO: it performs no networking, reads no clock and
//! spawns nothing. It turns bytes into typed, borrowed messages and typed
//! messages back into bytes. The two stateful protocols on top, the mux
//! session and the request/response client, are sans-IO state machines in
//! [`session`] (feature `std`). Everything that touches a socket lives in
//! [`transport`] (feature `tokio`, on by default): codecs, servers, and the
//! thin async shells that drive the session state machines.
//!
//! | module | format | spec |
//! |---|---|---|
//! | [`typed`] | typed binary message: `u32` length, `u8` type, payload | `spec/typed.md` |
//! | [`magic`] | magic header packet: `0xDEADBEEF`, version, type, `u16` length | `spec/magic.md` |
//! | [`frame`] | length frame: `u32` length, payload | `spec/frame.md` |
//! | [`mux`] | mux frame: `u16` channel, `u16` length, payload | `spec/mux.md` |
//! | [`reqres`] | ID request/response lines: `ID:COMMAND:ARGS\n` | `spec/reqres.md` |
//!
//! What each format's reference server answers (section 6 of its spec) is
//! in `reference` (feature `alloc`), sans-IO like the parsers.
//!
//! The four binary modules have the same parts: `HEADER_LEN`, `Header`
//! (the fixed header, read from `&[u8; HEADER_LEN]`), `Limits`, the
//! borrowed message (`TypedMessage`, `Packet`, `LengthFrame`, `MuxFrame`)
//! and its owned `…Buf` with `as_message()`, and a [`WireFormat`] marker
//! named after the module (`Typed`, `Magic`, `Frame`, `Mux`). [`reqres`]
//! has `Limits`, `Request`/`Response`, `RequestBuf`/`ResponseBuf` (also
//! `as_message()`) and the markers `RequestLine`/`ResponseLine`.
//!
//! ## The parsing contract
//! Every `parse` function takes the bytes received so far and returns one of:
//! - `Ok(Status::Complete(message, len))`: a whole message, which took the
//!   first `len` bytes of the input;
//! - `Ok(Status::Incomplete(needed))`: the input is a valid prefix, more bytes
//!   are needed (this is not an error);
//! - `Err(error)`: the input can never become a valid message; the error names
//!   what was wrong, where, and which spec section it breaks.
//!
//! No parse function panics, whatever its input, and no limit is exceeded
//! before it is checked: lengths read from the wire are compared with the
//! configured maximum before anything is reserved.
//!
//! ## Features
//! - `std` (default): `std::error::Error`, I/O error conversion.
//! - `alloc` (implied by `std`): owned message types over [`bytes::Bytes`],
//!   serializers into [`bytes::BufMut`], the reference servers' replies
//!   (`reference`).
//! - `tokio` (default): the [`transport`] layer.
//! - `arbitrary`: `arbitrary::Arbitrary` for the owned message types.
//!
//! With `default-features = false` the crate is `#![no_std]` and keeps the
//! parsers and the slice serializers (`emit`).
#![cfg_attr(not(feature = "std"), no_std)]
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "alloc")]
extern crate alloc;

mod error;
#[cfg(feature = "serde")]
mod serde_impls;
mod wire;

pub mod frame;
pub mod magic;
pub mod mux;
#[cfg(feature = "alloc")]
pub mod reference;
pub mod reqres;
pub mod typed;

#[cfg(feature = "std")]
pub mod session;
#[cfg(feature = "tokio")]
pub mod transport;

pub use error::{Error, ErrorKind};
pub use wire::{Encode, LengthLimit, Needed, Status, WireFormat};

// The README's examples run as doctests, so they cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
