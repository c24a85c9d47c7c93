//! The boundary's own guarantees, driven through the exports as C calls
//! them: panics become a status, bad pointers are refused, the error
//! record carries what the library's error carries, replies match the
//! library's.

use core::ffi::CStr;
use core::ptr::{null, null_mut};

use wireforms::reference::ReferenceServer;
use wireforms::{frame, mux, reqres, Encode, ErrorKind};

use crate::boundary::test_hook::force_panic;
use crate::*;

fn empty_error() -> wireforms_error {
    wireforms_error::of_call(wireforms_status::Ok, "")
}

fn text(chars: &[core::ffi::c_char]) -> String {
    // SAFETY: the record's strings are always NUL-terminated in their array.
    unsafe { CStr::from_ptr(chars.as_ptr()) }
        .to_string_lossy()
        .into_owned()
}

fn name(ptr: *const core::ffi::c_char) -> String {
    // SAFETY: the name functions return static NUL-terminated strings.
    unsafe { CStr::from_ptr(ptr) }
        .to_string_lossy()
        .into_owned()
}

fn typed_parse(
    input: &[u8],
) -> (
    wireforms_status,
    wireforms_typed_message,
    usize,
    usize,
    wireforms_error,
) {
    let mut message = wireforms_typed_message {
        message_type: 0,
        payload: wireforms_bytes::of(b""),
    };
    let (mut consumed, mut needed, mut error) = (usize::MAX, usize::MAX, empty_error());
    // SAFETY: every pointer is a live local or the input slice.
    let status = unsafe {
        wireforms_typed_parse(
            input.as_ptr(),
            input.len(),
            null(),
            &mut message,
            &mut consumed,
            &mut needed,
            &mut error,
        )
    };
    (status, message, consumed, needed, error)
}

/// Calls every fallible export with valid arguments; returns the statuses
/// and the error records they wrote.
fn call_every_fallible_export() -> Vec<(&'static str, wireforms_status, wireforms_error)> {
    let mut out = Vec::new();
    let input = b"\x00\x00\x00\x02\x01hi";
    let bytes = wireforms_bytes::of(b"hi");
    let line = wireforms_str::of("x");
    let typed = wireforms_typed_message {
        message_type: 1,
        payload: bytes,
    };
    let magic = wireforms_magic_packet {
        version: 1,
        packet_type: 1,
        payload: bytes,
    };
    let frame = wireforms_frame { payload: bytes };
    let mux = wireforms_mux_frame {
        channel: 1,
        payload: bytes,
    };
    let request = wireforms_request {
        id: line,
        command: line,
        args: line,
    };
    let response = wireforms_response {
        id: line,
        status: line,
        data: line,
    };
    let mut buf = [0u8; 64];
    let (b, n) = (buf.as_mut_ptr(), buf.len());
    let (mut len, mut consumed, mut needed) = (0usize, 0usize, 0usize);
    let (mut t, mut m, mut f, mut x) = (typed, magic, frame, mux);
    let (mut rq, mut rs) = (request, response);
    let (i, il) = (input.as_ptr(), input.len());
    let magic_input = b"\xde\xad\xbe\xef\x01\x01\x00\x02hi";
    let (mi, mil) = (magic_input.as_ptr(), magic_input.len());
    let frame_input = b"\x00\x00\x00\x02hi";
    let (fi, fil) = (frame_input.as_ptr(), frame_input.len());
    let mux_input = b"\x00\x01\x00\x02hi";
    let (xi, xil) = (mux_input.as_ptr(), mux_input.len());
    macro_rules! call {
        ($name:literal, $call:expr) => {{
            let mut error = empty_error();
            let e = &mut error as *mut wireforms_error;
            // SAFETY: every pointer is a live local of this function.
            let status = unsafe { $call(e) };
            out.push(($name, status, error));
        }};
    }
    call!("typed_parse", |e| wireforms_typed_parse(
        i,
        il,
        null(),
        &mut t,
        &mut consumed,
        &mut needed,
        e
    ));
    call!("typed_parse_datagram", |e| wireforms_typed_parse_datagram(
        i,
        il,
        null(),
        &mut t,
        e
    ));
    call!("typed_encoded_len", |e| wireforms_typed_encoded_len(
        &typed, &mut len, e
    ));
    call!("typed_emit", |e| wireforms_typed_emit(
        &typed, b, n, &mut len, e
    ));
    call!("typed_reference_reply_len", |e| {
        wireforms_typed_reference_reply_len(&typed, &mut len, e)
    });
    call!("typed_reference_reply", |e| {
        wireforms_typed_reference_reply(&typed, b, n, &mut len, e)
    });
    call!("magic_parse", |e| wireforms_magic_parse(
        mi,
        mil,
        null(),
        &mut m,
        &mut consumed,
        &mut needed,
        e
    ));
    call!("magic_parse_datagram", |e| wireforms_magic_parse_datagram(
        mi,
        mil,
        null(),
        &mut m,
        e
    ));
    call!("magic_encoded_len", |e| wireforms_magic_encoded_len(
        &magic, &mut len, e
    ));
    call!("magic_emit", |e| wireforms_magic_emit(
        &magic, b, n, &mut len, e
    ));
    call!("magic_reference_reply_len", |e| {
        wireforms_magic_reference_reply_len(&magic, &mut len, e)
    });
    call!("magic_reference_reply", |e| {
        wireforms_magic_reference_reply(&magic, b, n, &mut len, e)
    });
    call!("frame_parse", |e| wireforms_frame_parse(
        fi,
        fil,
        null(),
        &mut f,
        &mut consumed,
        &mut needed,
        e
    ));
    call!("frame_parse_datagram", |e| wireforms_frame_parse_datagram(
        fi,
        fil,
        null(),
        &mut f,
        e
    ));
    call!("frame_encoded_len", |e| wireforms_frame_encoded_len(
        &frame, &mut len, e
    ));
    call!("frame_emit", |e| wireforms_frame_emit(
        &frame, b, n, &mut len, e
    ));
    call!("frame_reference_reply_len", |e| {
        wireforms_frame_reference_reply_len(&frame, &mut len, e)
    });
    call!("frame_reference_reply", |e| {
        wireforms_frame_reference_reply(&frame, b, n, &mut len, e)
    });
    call!("mux_parse", |e| wireforms_mux_parse(
        xi,
        xil,
        null(),
        &mut x,
        &mut consumed,
        &mut needed,
        e
    ));
    call!("mux_parse_datagram", |e| wireforms_mux_parse_datagram(
        xi,
        xil,
        null(),
        &mut x,
        e
    ));
    call!("mux_encoded_len", |e| wireforms_mux_encoded_len(
        &mux, &mut len, e
    ));
    call!("mux_emit", |e| wireforms_mux_emit(&mux, b, n, &mut len, e));
    call!("mux_reference_reply_len", |e| {
        wireforms_mux_reference_reply_len(&mux, &mut len, e)
    });
    call!("mux_reference_reply", |e| {
        wireforms_mux_reference_reply(&mux, b, n, &mut len, e)
    });
    call!("request_parse", |e| wireforms_request_parse(
        b"1:ECHO:x\n".as_ptr(),
        9,
        null(),
        &mut rq,
        &mut consumed,
        &mut needed,
        e
    ));
    call!("request_parse_datagram", |e| {
        wireforms_request_parse_datagram(b"1:ECHO:x".as_ptr(), 8, null(), &mut rq, e)
    });
    call!("request_encoded_len", |e| wireforms_request_encoded_len(
        &request, &mut len, e
    ));
    call!("request_emit", |e| wireforms_request_emit(
        &request, b, n, &mut len, e
    ));
    call!("request_reference_reply_len", |e| {
        wireforms_request_reference_reply_len(&request, &mut len, e)
    });
    call!("request_reference_reply", |e| {
        wireforms_request_reference_reply(&request, b, n, &mut len, e)
    });
    call!("response_parse", |e| wireforms_response_parse(
        b"1:OK:x\n".as_ptr(),
        7,
        null(),
        &mut rs,
        &mut consumed,
        &mut needed,
        e
    ));
    call!("response_parse_datagram", |e| {
        wireforms_response_parse_datagram(b"1:OK:x\n".as_ptr(), 7, null(), &mut rs, e)
    });
    call!("response_encoded_len", |e| wireforms_response_encoded_len(
        &response, &mut len, e
    ));
    call!("response_emit", |e| wireforms_response_emit(
        &response, b, n, &mut len, e
    ));
    out
}

#[test]
fn every_fallible_export_succeeds_on_valid_arguments() {
    let calls = call_every_fallible_export();
    assert_eq!(calls.len(), 34);
    for (name, status, error) in calls {
        assert_eq!(
            status,
            wireforms_status::Ok,
            "{name}: {}",
            text(&error.message)
        );
    }
}

#[test]
fn a_forced_panic_in_any_export_becomes_the_panic_status() {
    force_panic(true);
    let calls = call_every_fallible_export();
    let limits = (
        wireforms_typed_limits_default(),
        wireforms_magic_limits_default(),
        wireforms_frame_limits_default(),
        wireforms_mux_limits_default(),
        wireforms_line_limits_default(),
    );
    let names = (
        wireforms_status_name(0),
        wireforms_error_kind_name(2),
        wireforms_ffi_version(),
    );
    force_panic(false);
    assert_eq!(calls.len(), 34);
    for (name, status, error) in calls {
        assert_eq!(status, wireforms_status::Panic, "{name}");
        assert_eq!(error.kind, wireforms_error_kind::Internal, "{name}");
        assert!(
            text(&error.message).contains("panic caught at the C boundary: forced by a test"),
            "{name}: {}",
            text(&error.message)
        );
    }
    // The infallible exports answer their fallback, which is the true value.
    assert_eq!(limits.0.max_payload_len, 1 << 20);
    assert_eq!(limits.1.max_payload_len, 65_535);
    assert_eq!(limits.2.max_payload_len, 1 << 20);
    assert_eq!(limits.3.max_payload_len, 65_535);
    assert_eq!(limits.4.max_line_len, 65_536);
    assert_eq!(name(names.0), "unknown");
    assert_eq!(name(names.1), "unknown");
    assert_eq!(names.2, WIREFORMS_FFI_VERSION);
}

#[test]
fn null_and_misaligned_pointers_are_refused() {
    let input = b"\x00\x00\x00\x02\x01hi";
    let mut message = wireforms_typed_message {
        message_type: 0,
        payload: wireforms_bytes::of(b""),
    };
    let (mut consumed, mut needed, mut error) = (0usize, 0usize, empty_error());
    // SAFETY: NULL where the contract forbids it, everything else live.
    let status = unsafe {
        wireforms_typed_parse(
            input.as_ptr(),
            input.len(),
            null(),
            null_mut(),
            &mut consumed,
            &mut needed,
            &mut error,
        )
    };
    assert_eq!(status, wireforms_status::NullPointer);
    assert_eq!(error.kind, wireforms_error_kind::None);
    assert_eq!(text(&error.message), "null_pointer: message");
    // A non-empty input at NULL.
    // SAFETY: as above.
    let status = unsafe {
        wireforms_typed_parse(
            null(),
            3,
            null(),
            &mut message,
            &mut consumed,
            &mut needed,
            null_mut(),
        )
    };
    assert_eq!(status, wireforms_status::NullPointer);
    // An empty input may be NULL: it needs the 5 header bytes.
    // SAFETY: as above.
    let status = unsafe {
        wireforms_typed_parse(
            null(),
            0,
            null(),
            &mut message,
            &mut consumed,
            &mut needed,
            null_mut(),
        )
    };
    assert_eq!((status, needed), (wireforms_status::Incomplete, 5));
    // A misaligned `size_t *`: one byte into an aligned pair.
    let mut room = [0usize; 2];
    let misaligned = room
        .as_mut_ptr()
        .cast::<u8>()
        .wrapping_add(1)
        .cast::<usize>();
    // SAFETY: the export refuses the misaligned pointer before writing.
    let status = unsafe {
        wireforms_typed_parse(
            input.as_ptr(),
            input.len(),
            null(),
            &mut message,
            misaligned,
            &mut needed,
            &mut error,
        )
    };
    assert_eq!(status, wireforms_status::MisalignedPointer);
    assert_eq!(text(&error.message), "misaligned_pointer: consumed");
    // A misaligned limits pointer.
    let limits = [wireforms_typed_limits_default(); 2];
    let misaligned = limits
        .as_ptr()
        .cast::<u8>()
        .wrapping_add(1)
        .cast::<wireforms_typed_limits>();
    // SAFETY: refused before it is read.
    let status = unsafe {
        wireforms_typed_parse(
            input.as_ptr(),
            input.len(),
            misaligned,
            &mut message,
            &mut consumed,
            &mut needed,
            &mut error,
        )
    };
    assert_eq!(status, wireforms_status::MisalignedPointer);
    // A payload at NULL with a length, given to a serializer.
    let bad = wireforms_typed_message {
        message_type: 0,
        payload: wireforms_bytes {
            data: null(),
            len: 4,
        },
    };
    let mut len = 0;
    // SAFETY: the NULL payload is refused before it is read.
    let status = unsafe { wireforms_typed_encoded_len(&bad, &mut len, &mut error) };
    assert_eq!(status, wireforms_status::NullPointer);
    assert_eq!(text(&error.message), "null_pointer: payload");
}

#[test]
fn parse_outcomes_and_error_records() {
    let (status, message, consumed, needed, _) = typed_parse(b"\x00\x00\x00\x02\x01hiXYZ");
    assert_eq!((status, consumed, needed), (wireforms_status::Ok, 7, 0));
    assert_eq!(message.message_type, 1);
    assert_eq!(message.payload.len, 2);
    let (status, _, consumed, needed, _) = typed_parse(b"\x00\x00\x00\x09\x01hi");
    assert_eq!(
        (status, consumed, needed),
        (wireforms_status::Incomplete, 0, 7)
    );
    let (status, _, _, _, error) = typed_parse(b"\x00\x20\x00\x00\x01");
    assert_eq!(status, wireforms_status::Error);
    assert_eq!(error.kind, wireforms_error_kind::TooLarge);
    assert_eq!(
        error.details,
        WIREFORMS_DETAIL_LEN | WIREFORMS_DETAIL_MAX,
        "{error:?}"
    );
    assert_eq!((error.len, error.max), (0x0020_0000, 1 << 20));
    assert_eq!(text(&error.section), "typed/5.2");
    assert_eq!(
        text(&error.message),
        "length 2097152 exceeds the maximum of 1048576 (spec typed/5.2)"
    );
    assert_eq!(
        name(wireforms_error_kind_name(error.kind as u32)),
        "too_large"
    );
}

#[test]
fn emit_measures_refuses_short_buffers_and_overlap() {
    let request = wireforms_request {
        id: wireforms_str::of("7"),
        command: wireforms_str::of("ECHO"),
        args: wireforms_str::of("a:b"),
    };
    let (mut len, mut written, mut error) = (0, 0, empty_error());
    // SAFETY: live locals.
    let status = unsafe { wireforms_request_encoded_len(&request, &mut len, &mut error) };
    assert_eq!((status, len), (wireforms_status::Ok, 11));
    let mut out = [0u8; 11];
    // SAFETY: `out` has 10 of its 11 bytes offered.
    let status =
        unsafe { wireforms_request_emit(&request, out.as_mut_ptr(), 10, &mut written, &mut error) };
    assert_eq!(status, wireforms_status::Error);
    assert_eq!(error.kind, wireforms_error_kind::BufferTooSmall);
    assert_eq!((error.needed, error.available), (11, 10));
    assert_eq!(out, [0u8; 11], "nothing is written into a short buffer");
    // SAFETY: live locals.
    let status =
        unsafe { wireforms_request_emit(&request, out.as_mut_ptr(), 11, &mut written, &mut error) };
    assert_eq!((status, written), (wireforms_status::Ok, 11));
    assert_eq!(&out, b"7:ECHO:a:b\n");
    // A field the format cannot carry.
    let bad = wireforms_request {
        id: wireforms_str::of("a:b"),
        ..request
    };
    // SAFETY: live locals.
    let status = unsafe { wireforms_request_encoded_len(&bad, &mut len, &mut error) };
    assert_eq!(status, wireforms_status::Error);
    assert_eq!(error.kind, wireforms_error_kind::InvalidField);
    assert_eq!(
        (text(&error.field), text(&error.section)),
        ("id".into(), "reqres/4.1".into())
    );
    // Bytes that are not UTF-8.
    let not_utf8 = [0xffu8];
    let bad = wireforms_request {
        args: wireforms_str {
            data: not_utf8.as_ptr().cast(),
            len: 1,
        },
        ..request
    };
    // SAFETY: live locals.
    let status = unsafe { wireforms_request_encoded_len(&bad, &mut len, &mut error) };
    assert_eq!(status, wireforms_status::Error);
    assert_eq!(text(&error.field), "args");
    // An output buffer that holds the payload it is to receive.
    let mut buf = *b"....hello";
    let frame = wireforms_frame {
        payload: wireforms_bytes {
            data: buf[4..].as_ptr(),
            len: 5,
        },
    };
    // SAFETY: the overlap is refused before any slice is made.
    let status =
        unsafe { wireforms_frame_emit(&frame, buf.as_mut_ptr(), 9, &mut written, &mut error) };
    assert_eq!(status, wireforms_status::InvalidArgument);
    assert_eq!(
        text(&error.message),
        "invalid_argument: out overlaps the message"
    );
}

fn reply_of<M>(
    request: &M,
    len_fn: unsafe extern "C" fn(*const M, *mut usize, *mut wireforms_error) -> wireforms_status,
    reply_fn: unsafe extern "C" fn(
        *const M,
        *mut u8,
        usize,
        *mut usize,
        *mut wireforms_error,
    ) -> wireforms_status,
) -> Vec<u8> {
    let (mut len, mut written, mut error) = (0, 0, empty_error());
    // SAFETY: live locals; `out` has `len` bytes.
    unsafe {
        assert_eq!(len_fn(request, &mut len, &mut error), wireforms_status::Ok);
        let mut out = vec![0u8; len];
        if len > 0 {
            let status = reply_fn(request, out.as_mut_ptr(), len - 1, &mut written, &mut error);
            assert_eq!(status, wireforms_status::Error);
            assert_eq!(error.kind, wireforms_error_kind::BufferTooSmall);
            assert_eq!(error.needed, len);
        }
        let status = reply_fn(request, out.as_mut_ptr(), len, &mut written, &mut error);
        assert_eq!((status, written), (wireforms_status::Ok, len));
        out
    }
}

#[test]
fn reference_replies_match_the_library() {
    let typed = wireforms_typed_message {
        message_type: 255,
        payload: wireforms_bytes::of(b"hi"),
    };
    let got = reply_of(
        &typed,
        wireforms_typed_reference_reply_len,
        wireforms_typed_reference_reply,
    );
    assert_eq!(got, b"\x00\x00\x00\x02\x00hi");
    let magic = wireforms_magic_packet {
        version: 1,
        packet_type: 7,
        payload: wireforms_bytes::of(b"hi"),
    };
    let got = reply_of(
        &magic,
        wireforms_magic_reference_reply_len,
        wireforms_magic_reference_reply,
    );
    assert_eq!(got, b"\xde\xad\xbe\xef\x01\x08\x00\x02hi");
    let all: Vec<u8> = (0..=255).collect();
    let frame = wireforms_frame {
        payload: wireforms_bytes::of(&all),
    };
    let got = reply_of(
        &frame,
        wireforms_frame_reference_reply_len,
        wireforms_frame_reference_reply,
    );
    let want = frame::Frame::replies(frame::LengthFrameBuf::new(all.clone()), &Default::default());
    assert_eq!(got, want.unwrap()[0].to_bytes().unwrap().to_vec());
    // A mux request long enough for a reply of two frames.
    let long = vec![b'x'; 65_530];
    let mux_request = wireforms_mux_frame {
        channel: 300,
        payload: wireforms_bytes::of(&long),
    };
    let got = reply_of(
        &mux_request,
        wireforms_mux_reference_reply_len,
        wireforms_mux_reference_reply,
    );
    let request = mux::MuxFrameBuf::new(mux::ChannelId(300), long.clone());
    let frames = mux::Mux::replies(request, &Default::default()).unwrap();
    assert_eq!(frames.len(), 2);
    let want: Vec<u8> = frames
        .iter()
        .flat_map(|f| f.to_bytes().unwrap().to_vec())
        .collect();
    assert_eq!(got, want);
    for (command, args, data) in [
        ("ECHO", "hello", "hello"),
        ("UPPER", "straße", "STRAßE"),
        ("REVERSE", "abc", "cba"),
        ("NOPE", "x", wireforms::reference::UNKNOWN_COMMAND),
    ] {
        let request = wireforms_request {
            id: wireforms_str::of("42"),
            command: wireforms_str::of(command),
            args: wireforms_str::of(args),
        };
        let got = reply_of(
            &request,
            wireforms_request_reference_reply_len,
            wireforms_request_reference_reply,
        );
        assert_eq!(got, format!("42:OK:{data}\n").into_bytes(), "{command}");
    }
}

#[test]
fn every_library_kind_has_a_c_kind_of_the_same_name() {
    let mut codes = Vec::new();
    for kind in ErrorKind::ALL {
        let c = wireforms_error_kind::of(kind);
        assert_eq!(name(wireforms_error_kind_name(c as u32)), kind.as_str());
        codes.push(c as u32);
    }
    codes.sort_unstable();
    codes.dedup();
    assert_eq!(codes.len(), ErrorKind::ALL.len(), "distinct codes");
    assert_eq!(name(wireforms_error_kind_name(0)), "none");
    assert_eq!(name(wireforms_error_kind_name(999)), "unknown");
    for status in wireforms_status::ALL {
        assert_ne!(name(wireforms_status_name(status as u32)), "unknown");
    }
    assert_eq!(name(wireforms_status_name(7)), "unknown");
}

#[test]
fn the_abi_version_is_the_crate_version() {
    let part = |s: &str| s.parse::<u32>().unwrap();
    let want = part(env!("CARGO_PKG_VERSION_MAJOR")) * 10_000
        + part(env!("CARGO_PKG_VERSION_MINOR")) * 100
        + part(env!("CARGO_PKG_VERSION_PATCH"));
    assert_eq!(WIREFORMS_FFI_VERSION, want);
    assert_eq!(wireforms_ffi_version(), want);
}

#[test]
fn long_messages_are_cut_at_a_char_boundary() {
    let e = wireforms::Error::Malformed {
        reason: "ééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééé",
        offset: 1,
        section: "reqres/5.3",
    };
    let record = wireforms_error::of(&e);
    let message = text(&record.message);
    assert!(message.len() < WIREFORMS_MESSAGE_CAP);
    assert!(message.starts_with("malformed message at byte 1: éé"));
    let _ = Encode::encoded_len(&reqres::Request::default());
}

fn request_datagram(
    input: &[u8],
    max_line_len: usize,
) -> (wireforms_status, wireforms_request, wireforms_error) {
    let limits = wireforms_line_limits { max_line_len };
    let mut message = wireforms_request {
        id: wireforms_str::of(""),
        command: wireforms_str::of(""),
        args: wireforms_str::of(""),
    };
    let mut error = empty_error();
    // SAFETY: live locals and the input slice.
    let status = unsafe {
        wireforms_request_parse_datagram(
            input.as_ptr(),
            input.len(),
            &limits,
            &mut message,
            &mut error,
        )
    };
    (status, message, error)
}

#[test]
fn a_line_datagram_may_leave_out_its_line_feed() {
    // Without its '\n': the fields still point into the caller's bytes.
    let input = b"7:ECHO:a:b";
    let (status, m, _) = request_datagram(input, 64);
    assert_eq!(status, wireforms_status::Ok);
    assert_eq!(m.args.data.cast::<u8>(), input[7..].as_ptr());
    assert_eq!((m.id.len, m.command.len, m.args.len), (1, 4, 3));
    // With it, and with "\r\n".
    for input in [&b"7:ECHO:a:b\n"[..], b"7:ECHO:a:b\r\n"] {
        let (status, m, _) = request_datagram(input, 64);
        assert_eq!((status, m.args.len), (wireforms_status::Ok, 3));
    }
    // Bytes after the line: the ones the peer sent, not the '\n' the
    // reader adds (as the library's datagram reader counts them).
    let (status, _, error) = request_datagram(b"1:A:b\nxy", 64);
    assert_eq!(status, wireforms_status::Error);
    assert_eq!(error.kind, wireforms_error_kind::TrailingBytes);
    assert_eq!((error.len, text(&error.section)), (2, "reqres/7.2".into()));
    // The line limit counts the '\n' the datagram leaves out.
    assert_eq!(request_datagram(b"1:A:bcd", 8).0, wireforms_status::Ok);
    let (status, _, error) = request_datagram(b"1:A:bcde", 8);
    assert_eq!(status, wireforms_status::Error);
    assert_eq!(error.kind, wireforms_error_kind::LineTooLong);
    // An empty datagram holds no line at all: incomplete, as in every
    // format (spec README, datagram mode).
    let (status, _, error) = request_datagram(b"", 8);
    assert_eq!(status, wireforms_status::Error);
    assert_eq!(error.kind, wireforms_error_kind::Incomplete);
}
