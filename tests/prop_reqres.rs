//! Property tests for the ID request/response lines (`src/reqres`).

use bytes::Bytes;
use proptest::prelude::*;
use wireforms::reqres::{
    split_line, Limits, Request, RequestBuf, RequestLine, Response, ResponseLine,
};
use wireforms::{Encode, ErrorKind, Needed, Status, WireFormat};

/// An ID, command or status the serializer accepts.
fn token() -> impl Strategy<Value = String> {
    "[^:\r\n]{0,8}"
}

/// Args or data the serializer accepts: no LF, no final CR.
fn rest_of_line() -> impl Strategy<Value = String> {
    "[^\n]{0,24}".prop_map(|s| s.trim_end_matches('\r').to_owned())
}

fn request() -> impl Strategy<Value = RequestBuf> {
    (token(), token(), rest_of_line())
        .prop_map(|(id, command, args)| RequestBuf::new(id, command, args))
}

/// Bytes that are often line syntax.
fn line_byte() -> impl Strategy<Value = u8> {
    prop_oneof![
        3 => any::<u8>(),
        2 => b'a'..=b'z',
        1 => Just(b':'),
        1 => Just(b'\n'),
        1 => Just(b'\r'),
    ]
}

/// One line of a stream: canonical, or with a CRLF ending.
fn stream_line() -> impl Strategy<Value = (RequestBuf, bool)> {
    (request(), any::<bool>())
}

fn parse_all(stream: &[u8], limits: &Limits) -> (Vec<RequestBuf>, Option<ErrorKind>, usize) {
    let mut out = Vec::new();
    let mut at = 0;
    loop {
        match Request::parse(&stream[at..], limits) {
            Ok(Status::Complete(req, len)) => {
                out.push(<RequestLine as WireFormat>::to_owned_copy(&req));
                at += len;
            }
            Ok(Status::Incomplete(_)) => return (out, None, at),
            Err(e) => return (out, Some(e.kind()), at),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn encode_then_parse_is_identity(req in request(), tail in proptest::collection::vec(any::<u8>(), 0..8)) {
        let mut bytes = req.to_bytes().unwrap().to_vec();
        prop_assert_eq!(bytes.len(), req.encoded_len());
        bytes.extend_from_slice(&tail);
        let status = Request::parse(&bytes, &Limits::default()).unwrap();
        prop_assert_eq!(status, Status::Complete(req.as_message(), req.encoded_len()));

        // The same fields as a response.
        let resp = Response { id: &req.id, status: &req.command, data: &req.args };
        let mut bytes = resp.to_bytes().unwrap().to_vec();
        prop_assert_eq!(bytes.len(), resp.encoded_len());
        bytes.extend_from_slice(&tail);
        let status = Response::parse(&bytes, &Limits::default()).unwrap();
        prop_assert_eq!(status, Status::Complete(resp, resp.encoded_len()));
    }

    #[test]
    fn parse_then_encode_is_identity(bytes in proptest::collection::vec(line_byte(), 0..48)) {
        let Ok(Status::Complete(req, len)) = Request::parse(&bytes, &Limits::default()) else {
            return Ok(());
        };
        let line = &bytes[..len];
        match req.to_bytes() {
            Ok(encoded) => {
                // A canonical line comes back byte for byte; a CRLF line
                // comes back with a bare LF.
                if line.ends_with(b"\r\n") {
                    prop_assert_eq!(&encoded[..len - 2], &line[..len - 2]);
                    prop_assert_eq!(encoded.len(), len - 1);
                } else {
                    prop_assert_eq!(&encoded[..], line);
                }
            }
            // Only what the receiver tolerates but a sender must not write.
            Err(e) => {
                prop_assert_eq!(e.kind(), ErrorKind::InvalidField);
                prop_assert!(req.id.contains('\r') || req.command.contains('\r') || req.args.ends_with('\r'));
            }
        }
    }

    #[test]
    fn canonical_lines_round_trip(req in request()) {
        let line = req.to_bytes().unwrap();
        let (parsed, len) = Request::parse(&line, &Limits::default()).unwrap().complete().unwrap();
        prop_assert_eq!(len, line.len());
        prop_assert_eq!(&parsed.to_bytes().unwrap()[..], &line[..]);
        // Zero-copy owned form over the same buffer.
        let frame = line.freeze();
        let parsed = Request::parse(&frame, &Limits::default()).unwrap().complete().unwrap().0;
        let owned = RequestLine::to_owned_in(&parsed, &frame);
        prop_assert_eq!(RequestLine::as_message(&owned), parsed);
    }

    #[test]
    fn incremental_equals_one_shot(
        lines in proptest::collection::vec(stream_line(), 0..6),
        garbage in proptest::collection::vec(line_byte(), 0..16),
        cuts in proptest::collection::vec(0usize..400, 0..8),
        max in prop_oneof![4usize..64, Just(wireforms::reqres::DEFAULT_MAX_LINE_LEN)],
    ) {
        let limits = Limits::new(max);
        let mut stream = Vec::new();
        for (req, crlf) in &lines {
            let mut line = req.to_bytes().unwrap().to_vec();
            if *crlf {
                line.insert(line.len() - 1, b'\r');
            }
            stream.extend_from_slice(&line);
        }
        stream.extend_from_slice(&garbage);
        let expected = parse_all(&stream, &limits);

        // Feed the stream in chunks, parsing whatever is buffered each time.
        let mut points: Vec<usize> = cuts.into_iter().map(|c| c.min(stream.len())).collect();
        points.push(stream.len());
        points.sort_unstable();
        let mut buffer = Vec::new();
        let mut got = Vec::new();
        let mut error = None;
        let mut consumed = 0;
        let mut fed = 0;
        'feed: for point in points {
            buffer.extend_from_slice(&stream[fed..point]);
            fed = point;
            loop {
                match Request::parse(&buffer, &limits) {
                    Ok(Status::Complete(req, len)) => {
                        got.push(<RequestLine as WireFormat>::to_owned_copy(&req));
                        buffer.drain(..len);
                        consumed += len;
                    }
                    Ok(Status::Incomplete(needed)) => {
                        prop_assert_eq!(needed, Needed::Unknown);
                        break;
                    }
                    Err(e) => {
                        error = Some(e.kind());
                        break 'feed;
                    }
                }
            }
        }
        prop_assert_eq!((got, error, consumed), expected);
    }

    #[test]
    fn split_line_resume_equals_restart(
        bytes in proptest::collection::vec(line_byte(), 0..48),
        cut in 0usize..48,
        max in 0usize..64,
    ) {
        let limits = Limits::new(max);
        let cut = cut.min(bytes.len());
        // Resuming is only meaningful after an Incomplete for the prefix.
        if let Ok(Status::Incomplete(_)) = split_line(&bytes[..cut], 0, &limits) {
            let fresh = split_line(&bytes, 0, &limits).map_err(|e| e.kind());
            let resumed = split_line(&bytes, cut, &limits).map_err(|e| e.kind());
            prop_assert_eq!(fresh, resumed);
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(
        bytes in proptest::collection::vec(line_byte(), 0..96),
        max in 0usize..80,
    ) {
        let limits = Limits::new(max);
        let window = &bytes[..bytes.len().min(max)];
        let lf = window.iter().position(|&b| b == b'\n');
        for status in [
            Request::parse(&bytes, &limits).map(|s| s.map(|_| ())),
            Response::parse(&bytes, &limits).map(|s| s.map(|_| ())),
            <ResponseLine as WireFormat>::parse(&bytes, &limits).map(|s| s.map(|_| ())),
        ] {
            match status {
                Ok(Status::Complete((), len)) => {
                    prop_assert_eq!(Some(len - 1), lf);
                    prop_assert!(len <= max && len <= bytes.len());
                }
                Ok(Status::Incomplete(needed)) => {
                    prop_assert_eq!(needed, Needed::Unknown);
                    prop_assert!(lf.is_none() && bytes.len() < max);
                }
                Err(e) => {
                    let kind = e.kind();
                    prop_assert!(matches!(
                        kind,
                        ErrorKind::LineTooLong | ErrorKind::InvalidUtf8 | ErrorKind::Malformed
                    ), "{}", e);
                    prop_assert_eq!(kind == ErrorKind::LineTooLong, lf.is_none() && bytes.len() >= max);
                    prop_assert!(e.section().is_some_and(|s| s.starts_with("reqres/5.")));
                    if let Some(offset) = e.offset() {
                        prop_assert!(offset <= lf.unwrap_or(0));
                    }
                }
            }
        }
        // The owned form of anything parsed, over the same buffer, shares it.
        let frame = Bytes::from(bytes);
        if let Ok(Status::Complete(resp, _)) = Response::parse(&frame, &limits) {
            let owned = ResponseLine::to_owned_in(&resp, &frame);
            prop_assert_eq!(ResponseLine::as_message(&owned), resp);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// The fuzz targets' input: any generated message either encodes and
    /// parses back, or is refused as a field the format cannot carry.
    #[test]
    fn arbitrary_messages_encode_or_are_refused(seed in proptest::collection::vec(any::<u8>(), 0..64)) {
        use arbitrary::{Arbitrary, Unstructured};
        let Ok(req) = RequestBuf::arbitrary(&mut Unstructured::new(&seed)) else {
            return Ok(());
        };
        match req.to_bytes() {
            Ok(line) => {
                let parsed = Request::parse(&line, &Limits::default()).unwrap();
                prop_assert_eq!(parsed, Status::Complete(req.as_message(), line.len()));
            }
            Err(e) => prop_assert_eq!(e.kind(), ErrorKind::InvalidField),
        }
    }
}
