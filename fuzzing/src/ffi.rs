//! The `ffi_decode` target: arbitrary bytes through the C ABI
//! (`wireforms-ffi`), called from Rust exactly as C calls it (raw pointers,
//! out-parameters, status codes), checked against the library it wraps.
//!
//! Input: byte 0 picks the format (`% 6`: typed, magic, frame, mux,
//! request, response) and the limits (`/ 6 % 3`: the defaults,
//! [`SMALL_LIMIT`], or byte 1 as the maximum, which byte 1 then is not
//! part of the data); the rest is the data.
//!
//! Checks: the ABI's status, consumed length and need are the library's;
//! a parsed message's fields are the library's slices, pointer for pointer
//! (zero copy, inside the input); an error record carries the library
//! error's kind, data, section and message; for a whole message, the
//! ABI's encoded length, bytes, short-buffer refusal and reference reply
//! are the library's; the datagram entry points agree with the library's
//! datagram reader (`transport::udp::parse_datagram`).

use std::ffi::CStr;

use bytes::Bytes;
use wireforms::reference::ReferenceServer;
use wireforms::transport::udp::parse_datagram;
use wireforms::{frame, magic, mux, reqres, typed, Encode, Error, Status};
use wireforms_ffi::*;

use crate::{FuzzFormat, SMALL_LIMIT};

type ParseFn<L, C> = unsafe extern "C" fn(
    *const u8,
    usize,
    *const L,
    *mut C,
    *mut usize,
    *mut usize,
    *mut wireforms_error,
) -> wireforms_status;
type DatagramFn<L, C> = unsafe extern "C" fn(
    *const u8,
    usize,
    *const L,
    *mut C,
    *mut wireforms_error,
) -> wireforms_status;
type LenFn<C> =
    unsafe extern "C" fn(*const C, *mut usize, *mut wireforms_error) -> wireforms_status;
type WriteFn<C> = unsafe extern "C" fn(
    *const C,
    *mut u8,
    usize,
    *mut usize,
    *mut wireforms_error,
) -> wireforms_status;

/// The reference-reply pair: its length, then its bytes.
type ReplyFns<C> = (LenFn<C>, WriteFn<C>);

/// A format's entry points and how its C struct compares with the
/// library's message.
trait Abi: FuzzFormat {
    type C: Copy;
    type CLimits;
    const PARSE: ParseFn<Self::CLimits, Self::C>;
    const DATAGRAM: Option<DatagramFn<Self::CLimits, Self::C>>;
    const ENCODED_LEN: LenFn<Self::C>;
    const EMIT: WriteFn<Self::C>;
    const REPLY: Option<ReplyFns<Self::C>>;

    fn c_limits(limits: &Self::Limits) -> Self::CLimits;
    /// A C struct with every field zero (what C would declare).
    fn zeroed() -> Self::C;
    /// Whether the C struct is exactly `m`: same numbers, same pointers.
    fn same(c: &Self::C, m: &Self::Message<'_>) -> bool;
    /// Whether the C struct holds `owned`'s values, its slices inside `input`.
    fn holds(c: &Self::C, owned: &Self::Owned, input: &[u8]) -> bool;
    /// The library's reference reply, encoded.
    fn reply(m: &Self::Message<'_>) -> Option<Result<Vec<u8>, Error>>;
}

fn same_slice(c: &wireforms_bytes, s: &[u8]) -> bool {
    c.len == s.len() && (s.is_empty() || c.data == s.as_ptr())
}

fn same_str(c: &wireforms_str, s: &str) -> bool {
    c.len == s.len() && (s.is_empty() || c.data.cast::<u8>() == s.as_ptr())
}

/// The bytes of a C slice, if it lies inside `input` (empty slices anywhere).
fn bytes_in<'a>(c: &wireforms_bytes, input: &'a [u8]) -> Option<&'a [u8]> {
    inside(c.data, c.len, input)
}

fn str_in<'a>(c: &wireforms_str, input: &'a [u8]) -> Option<&'a [u8]> {
    inside(c.data.cast(), c.len, input)
}

fn inside(data: *const u8, len: usize, input: &[u8]) -> Option<&[u8]> {
    if len == 0 {
        return Some(&[]);
    }
    let offset = (data as usize).checked_sub(input.as_ptr() as usize)?;
    input.get(offset..offset.checked_add(len)?)
}

fn empty_bytes() -> wireforms_bytes {
    wireforms_bytes {
        data: std::ptr::null(),
        len: 0,
    }
}

fn empty_str() -> wireforms_str {
    wireforms_str {
        data: std::ptr::null(),
        len: 0,
    }
}

impl Abi for typed::Typed {
    type C = wireforms_typed_message;
    type CLimits = wireforms_typed_limits;
    const PARSE: ParseFn<Self::CLimits, Self::C> = wireforms_typed_parse;
    const DATAGRAM: Option<DatagramFn<Self::CLimits, Self::C>> =
        Some(wireforms_typed_parse_datagram);
    const ENCODED_LEN: LenFn<Self::C> = wireforms_typed_encoded_len;
    const EMIT: WriteFn<Self::C> = wireforms_typed_emit;
    const REPLY: Option<ReplyFns<Self::C>> = Some((
        wireforms_typed_reference_reply_len,
        wireforms_typed_reference_reply,
    ));

    fn c_limits(l: &typed::Limits) -> wireforms_typed_limits {
        wireforms_typed_limits {
            max_payload_len: l.max_payload_len,
        }
    }
    fn zeroed() -> Self::C {
        wireforms_typed_message {
            message_type: 0,
            payload: empty_bytes(),
        }
    }
    fn same(c: &Self::C, m: &typed::TypedMessage<'_>) -> bool {
        c.message_type == m.message_type.0 && same_slice(&c.payload, m.payload)
    }
    fn holds(c: &Self::C, o: &typed::TypedMessageBuf, input: &[u8]) -> bool {
        c.message_type == o.message_type.0 && bytes_in(&c.payload, input) == Some(&o.payload[..])
    }
    fn reply(m: &typed::TypedMessage<'_>) -> Option<Result<Vec<u8>, Error>> {
        reference_bytes::<typed::Typed>(m, &Default::default())
    }
}

impl Abi for magic::Magic {
    type C = wireforms_magic_packet;
    type CLimits = wireforms_magic_limits;
    const PARSE: ParseFn<Self::CLimits, Self::C> = wireforms_magic_parse;
    const DATAGRAM: Option<DatagramFn<Self::CLimits, Self::C>> =
        Some(wireforms_magic_parse_datagram);
    const ENCODED_LEN: LenFn<Self::C> = wireforms_magic_encoded_len;
    const EMIT: WriteFn<Self::C> = wireforms_magic_emit;
    const REPLY: Option<ReplyFns<Self::C>> = Some((
        wireforms_magic_reference_reply_len,
        wireforms_magic_reference_reply,
    ));

    fn c_limits(l: &magic::Limits) -> wireforms_magic_limits {
        wireforms_magic_limits {
            max_payload_len: l.max_payload_len,
        }
    }
    fn zeroed() -> Self::C {
        wireforms_magic_packet {
            version: 0,
            packet_type: 0,
            payload: empty_bytes(),
        }
    }
    fn same(c: &Self::C, m: &magic::Packet<'_>) -> bool {
        c.version == m.version
            && c.packet_type == m.packet_type.0
            && same_slice(&c.payload, m.payload)
    }
    fn holds(c: &Self::C, o: &magic::PacketBuf, input: &[u8]) -> bool {
        c.version == o.version
            && c.packet_type == o.packet_type.0
            && bytes_in(&c.payload, input) == Some(&o.payload[..])
    }
    fn reply(m: &magic::Packet<'_>) -> Option<Result<Vec<u8>, Error>> {
        reference_bytes::<magic::Magic>(m, &Default::default())
    }
}

impl Abi for frame::Frame {
    type C = wireforms_frame;
    type CLimits = wireforms_frame_limits;
    const PARSE: ParseFn<Self::CLimits, Self::C> = wireforms_frame_parse;
    const DATAGRAM: Option<DatagramFn<Self::CLimits, Self::C>> =
        Some(wireforms_frame_parse_datagram);
    const ENCODED_LEN: LenFn<Self::C> = wireforms_frame_encoded_len;
    const EMIT: WriteFn<Self::C> = wireforms_frame_emit;
    const REPLY: Option<ReplyFns<Self::C>> = Some((
        wireforms_frame_reference_reply_len,
        wireforms_frame_reference_reply,
    ));

    fn c_limits(l: &frame::Limits) -> wireforms_frame_limits {
        wireforms_frame_limits {
            max_payload_len: l.max_payload_len,
        }
    }
    fn zeroed() -> Self::C {
        wireforms_frame {
            payload: empty_bytes(),
        }
    }
    fn same(c: &Self::C, m: &frame::LengthFrame<'_>) -> bool {
        same_slice(&c.payload, m.payload)
    }
    fn holds(c: &Self::C, o: &frame::LengthFrameBuf, input: &[u8]) -> bool {
        bytes_in(&c.payload, input) == Some(&o.payload[..])
    }
    fn reply(m: &frame::LengthFrame<'_>) -> Option<Result<Vec<u8>, Error>> {
        reference_bytes::<frame::Frame>(m, &Default::default())
    }
}

impl Abi for mux::Mux {
    type C = wireforms_mux_frame;
    type CLimits = wireforms_mux_limits;
    const PARSE: ParseFn<Self::CLimits, Self::C> = wireforms_mux_parse;
    const DATAGRAM: Option<DatagramFn<Self::CLimits, Self::C>> = Some(wireforms_mux_parse_datagram);
    const ENCODED_LEN: LenFn<Self::C> = wireforms_mux_encoded_len;
    const EMIT: WriteFn<Self::C> = wireforms_mux_emit;
    const REPLY: Option<ReplyFns<Self::C>> = Some((
        wireforms_mux_reference_reply_len,
        wireforms_mux_reference_reply,
    ));

    fn c_limits(l: &mux::Limits) -> wireforms_mux_limits {
        wireforms_mux_limits {
            max_payload_len: l.max_payload_len,
        }
    }
    fn zeroed() -> Self::C {
        wireforms_mux_frame {
            channel: 0,
            payload: empty_bytes(),
        }
    }
    fn same(c: &Self::C, m: &mux::MuxFrame<'_>) -> bool {
        c.channel == m.channel.0 && same_slice(&c.payload, m.payload)
    }
    fn holds(c: &Self::C, o: &mux::MuxFrameBuf, input: &[u8]) -> bool {
        c.channel == o.channel.0 && bytes_in(&c.payload, input) == Some(&o.payload[..])
    }
    fn reply(m: &mux::MuxFrame<'_>) -> Option<Result<Vec<u8>, Error>> {
        reference_bytes::<mux::Mux>(m, &Default::default())
    }
}

/// The library's reference replies to `m`, encoded one after the other.
fn reference_bytes<F: ReferenceServer>(
    m: &F::Message<'_>,
    limits: &F::Limits,
) -> Option<Result<Vec<u8>, Error>> {
    let replies = match F::replies(F::to_owned_copy(m), limits) {
        Ok(replies) => replies,
        Err(e) => return Some(Err(e)),
    };
    let mut out = Vec::new();
    for reply in replies {
        match reply.to_bytes() {
            Ok(b) => out.extend_from_slice(&b),
            Err(e) => return Some(Err(e)),
        }
    }
    Some(Ok(out))
}

fn line_limits(l: &reqres::Limits) -> wireforms_line_limits {
    wireforms_line_limits {
        max_line_len: l.max_line_len,
    }
}

impl Abi for reqres::RequestLine {
    type C = wireforms_request;
    type CLimits = wireforms_line_limits;
    const PARSE: ParseFn<Self::CLimits, Self::C> = wireforms_request_parse;
    const DATAGRAM: Option<DatagramFn<Self::CLimits, Self::C>> =
        Some(wireforms_request_parse_datagram);
    const ENCODED_LEN: LenFn<Self::C> = wireforms_request_encoded_len;
    const EMIT: WriteFn<Self::C> = wireforms_request_emit;
    const REPLY: Option<ReplyFns<Self::C>> = Some((
        wireforms_request_reference_reply_len,
        wireforms_request_reference_reply,
    ));

    fn c_limits(l: &reqres::Limits) -> wireforms_line_limits {
        line_limits(l)
    }
    fn zeroed() -> Self::C {
        wireforms_request {
            id: empty_str(),
            command: empty_str(),
            args: empty_str(),
        }
    }
    fn same(c: &Self::C, m: &reqres::Request<'_>) -> bool {
        same_str(&c.id, m.id) && same_str(&c.command, m.command) && same_str(&c.args, m.args)
    }
    fn holds(c: &Self::C, o: &reqres::RequestBuf, input: &[u8]) -> bool {
        str_in(&c.id, input) == Some(o.id.as_bytes())
            && str_in(&c.command, input) == Some(o.command.as_bytes())
            && str_in(&c.args, input) == Some(o.args.as_bytes())
    }
    fn reply(m: &reqres::Request<'_>) -> Option<Result<Vec<u8>, Error>> {
        // The C function answers with no line limit.
        reference_bytes::<reqres::RequestLine>(m, &reqres::Limits::new(usize::MAX))
    }
}

impl Abi for reqres::ResponseLine {
    type C = wireforms_response;
    type CLimits = wireforms_line_limits;
    const PARSE: ParseFn<Self::CLimits, Self::C> = wireforms_response_parse;
    const DATAGRAM: Option<DatagramFn<Self::CLimits, Self::C>> =
        Some(wireforms_response_parse_datagram);
    const ENCODED_LEN: LenFn<Self::C> = wireforms_response_encoded_len;
    const EMIT: WriteFn<Self::C> = wireforms_response_emit;
    const REPLY: Option<ReplyFns<Self::C>> = None;

    fn c_limits(l: &reqres::Limits) -> wireforms_line_limits {
        line_limits(l)
    }
    fn zeroed() -> Self::C {
        wireforms_response {
            id: empty_str(),
            status: empty_str(),
            data: empty_str(),
        }
    }
    fn same(c: &Self::C, m: &reqres::Response<'_>) -> bool {
        same_str(&c.id, m.id) && same_str(&c.status, m.status) && same_str(&c.data, m.data)
    }
    fn holds(c: &Self::C, o: &reqres::ResponseBuf, input: &[u8]) -> bool {
        str_in(&c.id, input) == Some(o.id.as_bytes())
            && str_in(&c.status, input) == Some(o.status.as_bytes())
            && str_in(&c.data, input) == Some(o.data.as_bytes())
    }
    fn reply(_: &reqres::Response<'_>) -> Option<Result<Vec<u8>, Error>> {
        None
    }
}

fn blank_error() -> wireforms_error {
    wireforms_error {
        kind: wireforms_error_kind::None,
        details: 0,
        len: 0,
        max: 0,
        found: 0,
        offset: 0,
        needed: 0,
        available: 0,
        section: [0; WIREFORMS_SECTION_CAP],
        field: [0; WIREFORMS_FIELD_CAP],
        message: [0; WIREFORMS_MESSAGE_CAP],
    }
}

fn c_text(chars: &[core::ffi::c_char]) -> String {
    let bytes: Vec<u8> = chars.iter().map(|&c| c as u8).collect();
    let text = CStr::from_bytes_until_nul(&bytes).expect("a NUL-terminated record string");
    text.to_str().expect("UTF-8").to_owned()
}

/// The record carries what the library error carries.
fn check_record(record: &wireforms_error, e: &Error) {
    // SAFETY: the name function returns a static NUL-terminated string.
    let kind = unsafe { CStr::from_ptr(wireforms_error_kind_name(record.kind as u32)) };
    assert_eq!(kind.to_str().unwrap(), e.kind().as_str(), "{e:?}");
    assert_eq!(c_text(&record.section), e.section().unwrap_or(""), "{e:?}");
    let message = c_text(&record.message);
    assert!(
        !message.is_empty() && e.to_string().starts_with(&message),
        "{message} / {e}"
    );
    let has = |bit: u32| record.details & bit != 0;
    match *e {
        Error::TooLarge { len, max, .. } => {
            assert!(has(WIREFORMS_DETAIL_LEN) && has(WIREFORMS_DETAIL_MAX));
            assert_eq!((record.len, record.max), (len, max));
        }
        Error::BadMagic { found, .. } => assert_eq!(record.found, u64::from(found)),
        Error::BadVersion { found, .. } => assert_eq!(record.found, u64::from(found)),
        Error::Malformed { offset, .. } | Error::InvalidUtf8 { offset, .. } => {
            assert!(has(WIREFORMS_DETAIL_OFFSET));
            assert_eq!(record.offset, offset);
        }
        Error::LineTooLong { max, .. } => assert_eq!(record.max, max as u64),
        Error::TrailingBytes { len, .. } => assert_eq!(record.len, len as u64),
        Error::BufferTooSmall { needed, available } => {
            assert_eq!((record.needed, record.available), (needed, available));
        }
        Error::Incomplete { needed, .. } => {
            assert_eq!(has(WIREFORMS_DETAIL_NEEDED), needed.is_some());
            assert_eq!(record.needed, needed.unwrap_or(0));
        }
        _ => {}
    }
}

fn run<F: Abi>(data: &[u8], limits: &F::Limits) {
    let c_limits = F::c_limits(limits);
    let mut message = F::zeroed();
    let (mut consumed, mut needed, mut record) = (usize::MAX, usize::MAX, blank_error());
    // SAFETY: `data` is a live slice, every out-pointer a live local.
    let status = unsafe {
        F::PARSE(
            data.as_ptr(),
            data.len(),
            &c_limits,
            &mut message,
            &mut consumed,
            &mut needed,
            &mut record,
        )
    };
    let library = F::parse(data, limits);
    match &library {
        Ok(Status::Complete(m, len)) => {
            assert_eq!(status, wireforms_status::Ok);
            assert_eq!((consumed, needed), (*len, 0));
            assert!(
                F::same(&message, m),
                "{}: the C struct is not {m:?}",
                F::NAME
            );
            check_encode::<F>(&message, m);
        }
        Ok(Status::Incomplete(n)) => {
            assert_eq!(status, wireforms_status::Incomplete);
            assert_eq!((consumed, needed), (0, n.size().unwrap_or(0)));
        }
        Err(e) => {
            assert_eq!(status, wireforms_status::Error, "{e:?}");
            check_record(&record, e);
        }
    }
    if let Some(datagram) = F::DATAGRAM {
        check_datagram::<F>(datagram, data, &c_limits, limits);
    }
}

fn check_datagram<F: Abi>(
    datagram: DatagramFn<F::CLimits, F::C>,
    data: &[u8],
    c_limits: &F::CLimits,
    limits: &F::Limits,
) {
    let mut message = F::zeroed();
    let mut record = blank_error();
    // SAFETY: as in `run`.
    let status = unsafe {
        datagram(
            data.as_ptr(),
            data.len(),
            c_limits,
            &mut message,
            &mut record,
        )
    };
    // The library's own datagram reader (spec §7.2) is the reference.
    match parse_datagram::<F>(Bytes::copy_from_slice(data), limits) {
        Ok(owned) => {
            assert_eq!(status, wireforms_status::Ok, "{}", c_text(&record.message));
            assert!(
                F::holds(&message, &owned, data),
                "{}: datagram {owned:?}",
                F::NAME
            );
        }
        Err(e) => {
            assert_eq!(status, wireforms_status::Error, "{e:?}");
            check_record(&record, &e);
        }
    }
}

/// Calls `write` into a buffer of exactly `len` bytes; returns the status,
/// the bytes written and the record.
fn write_into<C>(
    write: WriteFn<C>,
    message: &C,
    len: usize,
) -> (wireforms_status, Vec<u8>, wireforms_error) {
    let mut out = vec![0u8; len];
    let (mut written, mut record) = (usize::MAX, blank_error());
    // SAFETY: `out` holds `len` writable bytes, apart from the input.
    let status = unsafe { write(message, out.as_mut_ptr(), len, &mut written, &mut record) };
    if status == wireforms_status::Ok {
        out.truncate(written);
    }
    (status, out, record)
}

fn check_written<C>(
    measure: LenFn<C>,
    write: WriteFn<C>,
    message: &C,
    library: Result<Vec<u8>, Error>,
) {
    let (mut len, mut record) = (usize::MAX, blank_error());
    // SAFETY: live locals.
    let status = unsafe { measure(message, &mut len, &mut record) };
    let want = match library {
        Err(e) => {
            assert_eq!(status, wireforms_status::Error);
            check_record(&record, &e);
            return;
        }
        Ok(want) => want,
    };
    assert_eq!((status, len), (wireforms_status::Ok, want.len()));
    let (status, got, record) = write_into(write, message, len);
    assert_eq!(status, wireforms_status::Ok, "{}", c_text(&record.message));
    assert_eq!(got, want);
    if len > 0 {
        let (status, untouched, record) = write_into(write, message, len - 1);
        assert_eq!(status, wireforms_status::Error);
        assert_eq!(record.kind, wireforms_error_kind::BufferTooSmall);
        assert_eq!((record.needed, record.available), (len, len - 1));
        assert!(
            untouched.iter().all(|&b| b == 0),
            "a short buffer is not written"
        );
    }
}

fn check_encode<F: Abi>(message: &F::C, m: &F::Message<'_>) {
    let library = m.to_bytes().map(|b| b.to_vec());
    check_written(F::ENCODED_LEN, F::EMIT, message, library);
    if let (Some((measure, write)), Some(want)) = (F::REPLY, F::reply(m)) {
        check_written(measure, write, message, want);
    }
}

fn with_limits<F: Abi>(selector: u8, rest: &[u8]) {
    match (selector / 6) % 3 {
        0 => run::<F>(rest, &F::Limits::default()),
        1 => run::<F>(rest, &crate::limits_with::<F>(SMALL_LIMIT)),
        _ => match rest.split_first() {
            Some((&max, data)) => run::<F>(data, &crate::limits_with::<F>(usize::from(max))),
            None => run::<F>(rest, &crate::limits_with::<F>(0)),
        },
    }
}

/// Fuzz target body (see the module docs).
pub fn ffi_decode(input: &[u8]) {
    let Some((&selector, rest)) = input.split_first() else {
        return;
    };
    match selector % 6 {
        0 => with_limits::<typed::Typed>(selector, rest),
        1 => with_limits::<magic::Magic>(selector, rest),
        2 => with_limits::<frame::Frame>(selector, rest),
        3 => with_limits::<mux::Mux>(selector, rest),
        4 => with_limits::<reqres::RequestLine>(selector, rest),
        _ => with_limits::<reqres::ResponseLine>(selector, rest),
    }
}

/// The `ffi_decode` input that runs `data` as `format` with the default
/// limits (for seeds).
pub fn ffi_seed(format: &str, data: &[u8]) -> Vec<u8> {
    let index = ["typed", "magic", "frame", "mux", "request", "response"]
        .iter()
        .position(|f| *f == format)
        .unwrap_or(0);
    let mut out = vec![index as u8];
    out.extend_from_slice(data);
    out
}
