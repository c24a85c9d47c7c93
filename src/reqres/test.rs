use super::*;
use crate::ErrorKind;

// The guide's first exchange.
static REQUEST_BYTES: [u8; 13] = *b"1:ECHO:hello\n";
static RESPONSE_BYTES: [u8; 11] = *b"1:OK:hello\n";

fn limits() -> Limits {
    Limits::default()
}

fn request(input: &[u8]) -> Request<'_> {
    let (req, len) = Request::parse(input, &limits())
        .unwrap()
        .complete()
        .unwrap();
    assert_eq!(len, input.len());
    req
}

fn response(input: &[u8]) -> Response<'_> {
    let (resp, len) = Response::parse(input, &limits())
        .unwrap()
        .complete()
        .unwrap();
    assert_eq!(len, input.len());
    resp
}

#[test]
fn test_parse() {
    assert_eq!(
        request(&REQUEST_BYTES),
        Request {
            id: "1",
            command: "ECHO",
            args: "hello"
        }
    );
    assert_eq!(
        response(&RESPONSE_BYTES),
        Response {
            id: "1",
            status: "OK",
            data: "hello"
        }
    );
}

#[test]
fn test_parse_takes_one_line() {
    let two = b"1:ECHO:a\n2:ECHO:b\n";
    let (req, len) = Request::parse(two, &limits()).unwrap().complete().unwrap();
    assert_eq!((req.id, req.args, len), ("1", "a", 9));
    assert_eq!(request(&two[len..]).id, "2");
}

#[test]
fn test_emit() {
    let req = Request {
        id: "1",
        command: "ECHO",
        args: "hello",
    };
    assert_eq!(req.encoded_len(), REQUEST_BYTES.len());
    let mut out = [0u8; 13];
    assert_eq!(req.emit(&mut out).unwrap(), 13);
    assert_eq!(out, REQUEST_BYTES);
    let mut short = [0u8; 12];
    assert!(matches!(
        req.emit(&mut short),
        Err(Error::BufferTooSmall {
            needed: 13,
            available: 12
        })
    ));

    let resp = Response {
        id: "1",
        status: "OK",
        data: "hello",
    };
    let mut out = [0u8; 11];
    assert_eq!(resp.emit(&mut out).unwrap(), resp.encoded_len());
    assert_eq!(out, RESPONSE_BYTES);
}

#[test]
fn test_encoded_len_is_bytes_written() {
    let cases = [
        ("", "", ""),
        ("1", "ECHO", "hello"),
        ("42", "UPPER", "a:b:c"),
        ("é", "RÉVERSE", "héllo wörld \r inside"),
    ];
    for (id, command, args) in cases {
        let req = Request { id, command, args };
        let mut out = [0u8; 64];
        assert_eq!(req.emit(&mut out).unwrap(), req.encoded_len());
        let resp = Response {
            id,
            status: command,
            data: args,
        };
        assert_eq!(resp.emit(&mut out).unwrap(), resp.encoded_len());
    }
}

#[test]
fn test_truncated() {
    for cut in 0..REQUEST_BYTES.len() {
        assert_eq!(
            Request::parse(&REQUEST_BYTES[..cut], &limits()).unwrap(),
            Status::Incomplete(Needed::Unknown),
            "cut at {cut}"
        );
    }
    // A cut between the CR and the LF is still a line in progress.
    assert_eq!(
        Request::parse(b"1:ECHO:hello\r", &limits()).unwrap(),
        Status::Incomplete(Needed::Unknown)
    );
}

#[test]
fn test_line_too_long() {
    // 65,535 bytes and the LF: 65,536 in all, the largest line accepted.
    let mut line = b"1:ECHO:".to_vec();
    line.resize(DEFAULT_MAX_LINE_LEN - 1, b'a');
    line.push(b'\n');
    let req = request(&line);
    assert_eq!(req.args.len(), DEFAULT_MAX_LINE_LEN - 1 - 7);

    // 65,536 bytes without a LF: refused, whatever follows.
    line.pop();
    line.push(b'a');
    assert_eq!(line.len(), DEFAULT_MAX_LINE_LEN);
    let err = Request::parse(&line, &limits()).unwrap_err();
    assert!(matches!(
        err,
        Error::LineTooLong {
            max: DEFAULT_MAX_LINE_LEN,
            section: "reqres/5.2"
        }
    ));
    line.push(b'\n');
    assert_eq!(
        Request::parse(&line, &limits()).unwrap_err().kind(),
        ErrorKind::LineTooLong
    );

    // One byte fewer is still a line in progress.
    assert_eq!(
        Request::parse(&line[..DEFAULT_MAX_LINE_LEN - 1], &limits()).unwrap(),
        Status::Incomplete(Needed::Unknown)
    );
}

#[test]
fn test_line_too_long_needs_only_max_bytes() {
    // The decision is made on the first max_line_len bytes: a tiny limit
    // refuses a 4-byte prefix without waiting for the rest of the line.
    let small = Limits { max_line_len: 4 };
    assert_eq!(
        Request::parse(b"1:E", &small).unwrap(),
        Status::Incomplete(Needed::Unknown)
    );
    assert_eq!(
        Request::parse(b"1:EC", &small).unwrap_err().kind(),
        ErrorKind::LineTooLong
    );
    // A LF past the limit is not looked at.
    assert_eq!(
        Request::parse(b"1:ECHO:x\n", &small).unwrap_err().kind(),
        ErrorKind::LineTooLong
    );
    assert_eq!(request_with(b"::\n", &small), ("", "", ""));
    // The CR counts: "::\r\n" is 4 bytes.
    assert_eq!(request_with(b"::\r\n", &small), ("", "", ""));
    let three = Limits { max_line_len: 3 };
    assert_eq!(
        Request::parse(b"::\r\n", &three).unwrap_err().kind(),
        ErrorKind::LineTooLong
    );
    // Zero refuses everything.
    let zero = Limits { max_line_len: 0 };
    assert_eq!(
        Request::parse(b"", &zero).unwrap_err().kind(),
        ErrorKind::LineTooLong
    );
}

fn request_with<'a>(input: &'a [u8], limits: &Limits) -> (&'a str, &'a str, &'a str) {
    let (r, _) = Request::parse(input, limits).unwrap().complete().unwrap();
    (r.id, r.command, r.args)
}

#[test]
fn test_split_line_resumes() {
    let l = limits();
    assert_eq!(
        split_line(b"abc", 0, &l).unwrap(),
        Status::Incomplete(Needed::Unknown)
    );
    assert_eq!(
        split_line(b"abc\r\nx", 3, &l).unwrap(),
        Status::Complete(&b"abc"[..], 5)
    );
    // A resume point past the input is clamped.
    assert_eq!(
        split_line(b"ab\n", 99, &l).unwrap(),
        Status::Incomplete(Needed::Unknown)
    );
}

#[test]
fn test_malformed() {
    for (line, offset) in [
        (&b"\n"[..], 0),
        (b"no colon\n", 8),
        (b"1:ECHO\n", 6),
        (b"1:ECHO\r\n", 6),
    ] {
        let err = Request::parse(line, &limits()).unwrap_err();
        assert!(
            matches!(
                err,
                Error::Malformed {
                    reason: "fewer than two ':'",
                    section: "reqres/5.3",
                    ..
                }
            ),
            "{err}"
        );
        assert_eq!(err.offset(), Some(offset), "{line:?}");
        assert_eq!(
            Response::parse(line, &limits()).unwrap_err().offset(),
            Some(offset)
        );
    }
}

#[test]
fn test_invalid_utf8() {
    for (line, offset) in [
        (&b"\xff:ECHO:x\n"[..], 0),
        (b"1:ECHO:h\xc3llo\n", 8),
        // Cut inside a sequence by the line end.
        (b"1:ECHO:h\xc3\n", 8),
        // Reported before a missing ':'.
        (b"ab\xe2\x82\n", 2),
    ] {
        let err = Request::parse(line, &limits()).unwrap_err();
        assert!(
            matches!(
                err,
                Error::InvalidUtf8 {
                    section: "reqres/5.4",
                    ..
                }
            ),
            "{err}"
        );
        assert_eq!(err.offset(), Some(offset), "{line:?}");
    }
}

#[test]
fn test_line_endings() {
    assert_eq!(request(b"1:ECHO:hello\r\n"), request(&REQUEST_BYTES));
    // Only one CR is stripped.
    assert_eq!(request(b"1:ECHO:x\r\r\n").args, "x\r");
    // A CR elsewhere is data.
    assert_eq!(request(b"1:ECHO:a\rb\n").args, "a\rb");
}

#[test]
fn test_fields() {
    // Empty ID and command are accepted.
    assert_eq!(
        request(b"::x\n"),
        Request {
            id: "",
            command: "",
            args: "x"
        }
    );
    assert_eq!(request(b"::\n"), Request::default());
    // ARGS keeps every ':' after the second.
    assert_eq!(request(b"5:ECHO:a:b::c:\n").args, "a:b::c:");
}

fn check_refused(req: Request<'_>, field: &str) {
    let err = req.check().unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidField {
                section: "reqres/4.1",
                ..
            }
        ),
        "{err}"
    );
    assert!(matches!(err, Error::InvalidField { field: f, .. } if f == field));
    let mut out = [0u8; 64];
    assert_eq!(
        req.emit(&mut out).unwrap_err().kind(),
        ErrorKind::InvalidField
    );
}

#[test]
fn test_serializer_refusals() {
    let ok = Request {
        id: "1",
        command: "ECHO",
        args: "x",
    };
    for bad in [":", "\n", "a:b", "a\nb"] {
        check_refused(Request { id: bad, ..ok }, "id");
        check_refused(Request { command: bad, ..ok }, "command");
        let resp = Response {
            id: "1",
            status: bad,
            data: "x",
        };
        assert!(matches!(
            resp.check(),
            Err(Error::InvalidField {
                field: "status",
                ..
            })
        ));
    }
    for bad in ["\n", "a\nb", "x\r", "\r"] {
        check_refused(Request { args: bad, ..ok }, "args");
        let resp = Response {
            id: "1",
            status: "OK",
            data: bad,
        };
        assert!(matches!(
            resp.check(),
            Err(Error::InvalidField { field: "data", .. })
        ));
    }
    // A CR is harmless away from the line end, so it may appear in an ID
    // (a reply must echo whatever ID it was sent).
    assert!(Request {
        id: "a\rb",
        command: "\r",
        ..ok
    }
    .check()
    .is_ok());
    // ':' and an inner CR are fine in ARGS.
    assert!(Request {
        args: "a:b\rc",
        ..ok
    }
    .check()
    .is_ok());
}

#[cfg(feature = "alloc")]
#[test]
fn test_line_grammar_limits_apply_to_encoded_len() {
    // An encoded request of exactly the limit parses.
    let args = "a".repeat(DEFAULT_MAX_LINE_LEN - 5);
    let req = Request {
        id: "1",
        command: "X",
        args: &args,
    };
    assert_eq!(req.encoded_len(), DEFAULT_MAX_LINE_LEN);
    let bytes = req.to_bytes().unwrap();
    assert_eq!(
        Request::parse(&bytes, &limits()).unwrap(),
        Status::Complete(req, bytes.len())
    );
}

#[cfg(feature = "alloc")]
mod owned {
    use super::*;
    use bytes::Bytes;

    #[test]
    fn test_to_owned_in_shares_the_buffer() {
        let frame = Bytes::from_static(b"1:ECHO:hello\n");
        let req = request(&frame);
        let owned = RequestLine::to_owned_in(&req, &frame);
        assert_eq!(owned, RequestBuf::new("1", "ECHO", "hello"));
        assert_eq!(owned.args.as_bytes().as_ptr(), frame[7..].as_ptr());
        assert_eq!(RequestLine::as_message(&owned), req);
        assert_eq!(<RequestLine as WireFormat>::to_owned_copy(&req), owned);

        let frame = Bytes::from_static(b"1:OK:hello\n");
        let resp = response(&frame);
        let owned = ResponseLine::to_owned_in(&resp, &frame);
        assert_eq!(owned.data.as_bytes().as_ptr(), frame[5..].as_ptr());
        assert_eq!(ResponseLine::as_message(&owned), resp);
        assert_eq!(owned.to_bytes().unwrap(), &frame[..]);
    }

    #[test]
    fn test_to_owned_in_copies_foreign_slices() {
        let frame = Bytes::from_static(b"unrelated");
        let owned = RequestLine::to_owned_in(
            &Request {
                id: "1",
                command: "ECHO",
                args: "x",
            },
            &frame,
        );
        assert_eq!(owned, RequestBuf::new("1", "ECHO", "x"));
    }

    #[test]
    fn test_text() {
        let text = Text::try_from(Bytes::from_static("héllo".as_bytes())).unwrap();
        assert_eq!(&*text, "héllo");
        assert_eq!(text, "héllo");
        assert_eq!(text.len(), 6);
        assert_eq!(alloc::format!("{text:?} {text}"), "\"héllo\" héllo");
        let err = Text::try_from(Bytes::from_static(b"h\xc3")).unwrap_err();
        assert!(matches!(err, Error::InvalidUtf8 { offset: 1, .. }));
        assert_eq!(
            Text::from(alloc::string::String::from("x")),
            Text::from("x")
        );
        assert!(Text::new().is_empty());
        assert_eq!(Bytes::from(Text::from("ab")), Bytes::from_static(b"ab"));
    }
}
