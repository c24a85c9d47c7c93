//! The request/response reference server's replies at the edges of the
//! grammar (spec reqres §4, §6): a final `\r` in the data, and a reply
//! that would be longer than the receiver's line limit.
mod support;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use wireforms::reqres::{Limits, Response, DEFAULT_MAX_LINE_LEN};
use wireforms::transport::reference;
use wireforms::transport::server::ServerOptions;
use wireforms::Status;

use support::{bounded, start};

/// Sends `requests`, half-closes, and returns every byte the server sent
/// until it closed.
async fn exchange(addr: std::net::SocketAddr, requests: &[u8]) -> Vec<u8> {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(requests).await.unwrap();
    s.shutdown().await.unwrap();
    let mut out = Vec::new();
    bounded("server close", s.read_to_end(&mut out))
        .await
        .unwrap();
    out
}

/// The responses in `bytes`, parsed with the default limit.
fn responses(bytes: &[u8]) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let Status::Complete(r, len) = Response::parse(&bytes[at..], &Limits::default()).unwrap()
        else {
            panic!("a cut response at {at}");
        };
        out.push((r.id.into(), r.status.into(), r.data.into()));
        at += len;
    }
    out
}

#[tokio::test]
async fn a_final_carriage_return_is_an_err_status_not_dropped() {
    let server = start(reference::request(
        Default::default(),
        ServerOptions::default(),
    ))
    .await;
    let got = exchange(
        server.local_addr,
        b"1:ECHO:x\r\r\n2:REVERSE:\rab\n3:ECHO:crlf\r\n4:UPPER:\r\r\n",
    )
    .await;
    // Data ending with CR cannot be carried by a line (the receiver strips
    // it with the line ending, spec reqres §4.1, §5.5): said so, not dropped.
    let parsed = responses(&got);
    let err = |id: &str| {
        (
            id.to_owned(),
            "ERR".to_owned(),
            "reply ends with CR".to_owned(),
        )
    };
    assert_eq!(
        parsed,
        [
            err("1"),
            err("2"),
            ("3".into(), "OK".into(), "crlf".into()),
            err("4"),
        ],
        "{:?}",
        String::from_utf8_lossy(&got)
    );
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_reply_over_the_line_limit_is_an_err_status() {
    let server = start(reference::request(
        Default::default(),
        ServerOptions::default(),
    ))
    .await;
    // 65,535 bytes with its LF: accepted; its upper case (Ɐ is 3 bytes in
    // UTF-8, ɐ is 2) would be a 98,295-byte line.
    let mut request = b"1:UPPER:".to_vec();
    request.extend_from_slice("ɐ".repeat(32_763).as_bytes());
    request.push(b'\n');
    assert_eq!(request.len(), DEFAULT_MAX_LINE_LEN - 1);
    request.extend_from_slice(b"2:ECHO:still here\n");
    let got = exchange(server.local_addr, &request).await;
    assert!(got.len() < 100, "{} bytes sent", got.len());
    assert_eq!(
        got,
        b"1:ERR:reply too long\n2:OK:still here\n".to_vec(),
        "{:?}",
        String::from_utf8_lossy(&got)
    );
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_reply_that_cannot_fit_in_any_form_closes_the_connection() {
    let server = start(reference::request(
        Default::default(),
        ServerOptions::default(),
    ))
    .await;
    // An ID so long that `ID:ERR:reply too long\n` is over the limit too.
    let mut request = "a".repeat(65_532).into_bytes();
    request.extend_from_slice(b"::\n");
    assert_eq!(request.len(), DEFAULT_MAX_LINE_LEN - 1);
    let got = exchange(server.local_addr, &request).await;
    assert!(
        got.is_empty(),
        "{} bytes sent, the first line {} bytes",
        got.len(),
        got.iter()
            .position(|&b| b == b'\n')
            .map_or(got.len(), |i| i + 1)
    );
    let stats = server.shutdown().await.unwrap();
    assert_eq!(stats.unanswerable, 1);
    assert_eq!(stats.messages, 1);
}
