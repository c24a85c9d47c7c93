//! `decode --pcap`, `decode --live` and `wireforms dissector` on captures:
//! hand-built ones (split messages, several in a segment, reordering,
//! retransmission, loss, a capture that starts mid-connection) and real
//! loopback traffic between the crate's servers and clients captured with
//! tcpdump; tshark with the generated dissector must see the same messages
//! with the same field values, frame by frame.
//!
//! Tests that need tcpdump, tshark or root print one line and pass when
//! those are missing, and fail when `CI=true` (CI installs them).

mod support;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::{run, run_command};

/// One test's scratch directory, `wireforms-capture-<pid>-<test>` under the
/// temporary directory; removed when dropped, so also when the test fails
/// (the drop runs while its panic unwinds).
struct Scratch(PathBuf);

impl Scratch {
    fn new(test: &str) -> Scratch {
        let dir =
            std::env::temp_dir().join(format!("wireforms-capture-{}-{test}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn scratch_files_are_removed_when_a_test_passes_or_fails() {
    let passed = Scratch::new("guard-pass");
    let dir = passed.0.clone();
    std::fs::create_dir_all(passed.path("sub")).unwrap();
    std::fs::write(passed.path("sub/file"), b"x").unwrap();
    drop(passed);
    assert!(!dir.exists());
    let failed = std::panic::catch_unwind(|| {
        let s = Scratch::new("guard-fail");
        std::fs::write(s.path("file"), b"x").unwrap();
        assert!(s.0.exists());
        panic!("a failing test");
    });
    assert!(failed.is_err());
    assert!(!dir
        .with_file_name(format!(
            "wireforms-capture-{}-guard-fail",
            std::process::id()
        ))
        .exists());
}

/// Whether `tool` runs; when it does not, says so once and, under CI,
/// fails.
fn have(tool: &str, args: &[&str]) -> bool {
    let ok = Command::new(tool)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !ok {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{tool} is missing under CI (.ci/run installs it)"
        );
        eprintln!("skipped: {tool} is not installed");
    }
    ok
}

fn is_root() -> bool {
    let uid = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout)
        .unwrap_or_default();
    String::from_utf8_lossy(&uid).trim() == "0"
}

// ---- hand-built captures -------------------------------------------------

const CLIENT: [u8; 4] = [127, 0, 0, 1];
const SERVER: [u8; 4] = [127, 0, 0, 2];

/// A classic pcap file of Ethernet frames, written here so the test does not
/// depend on the code under test.
struct Pcap {
    bytes: Vec<u8>,
    usec: u32,
}

#[derive(Clone, Copy)]
enum Flags {
    Syn,
    SynAck,
    Ack,
    Fin,
}

impl Pcap {
    fn new() -> Self {
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
        bytes.extend_from_slice(&2u16.to_le_bytes());
        bytes.extend_from_slice(&4u16.to_le_bytes());
        bytes.extend_from_slice(&[0; 8]);
        bytes.extend_from_slice(&65535u32.to_le_bytes());
        bytes.extend_from_slice(&1u32.to_le_bytes());
        Pcap { bytes, usec: 0 }
    }

    /// One TCP segment; `to_server` picks the direction.
    fn tcp(
        &mut self,
        to_server: bool,
        port: u16,
        seq: u32,
        ack: u32,
        flags: Flags,
        payload: &[u8],
    ) {
        let (src, dst, sport, dport) = if to_server {
            (CLIENT, SERVER, 40000, port)
        } else {
            (SERVER, CLIENT, port, 40000)
        };
        let b = etherparse::PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
            .ipv4(src, dst, 64)
            .tcp(sport, dport, seq, 65535);
        let b = match flags {
            Flags::Syn => b.syn(),
            Flags::SynAck => b.syn().ack(ack),
            Flags::Ack => b.ack(ack).psh(),
            Flags::Fin => b.ack(ack).fin(),
        };
        let mut frame = Vec::new();
        b.write(&mut frame, payload).unwrap();
        self.push(&frame);
    }

    /// One UDP datagram between a client on `client_port` and the server
    /// on `port`.
    fn udp(&mut self, to_server: bool, client_port: u16, port: u16, payload: &[u8]) {
        let (src, dst, sport, dport) = if to_server {
            (CLIENT, SERVER, client_port, port)
        } else {
            (SERVER, CLIENT, port, client_port)
        };
        let b = etherparse::PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
            .ipv4(src, dst, 64)
            .udp(sport, dport);
        let mut frame = Vec::new();
        b.write(&mut frame, payload).unwrap();
        self.push(&frame);
    }

    /// A record: 1 ms after the last.
    fn push(&mut self, frame: &[u8]) {
        self.usec += 1000;
        self.bytes
            .extend_from_slice(&1_700_000_000u32.to_le_bytes());
        self.bytes.extend_from_slice(&self.usec.to_le_bytes());
        self.bytes
            .extend_from_slice(&(frame.len() as u32).to_le_bytes());
        self.bytes
            .extend_from_slice(&(frame.len() as u32).to_le_bytes());
        self.bytes.extend_from_slice(frame);
    }

    fn save(&self, dir: &Scratch, name: &str) -> PathBuf {
        let path = dir.path(name);
        std::fs::write(&path, &self.bytes).unwrap();
        path
    }
}

fn typed(t: u8, payload: &[u8]) -> Vec<u8> {
    let mut m = (payload.len() as u32).to_be_bytes().to_vec();
    m.push(t);
    m.extend_from_slice(payload);
    m
}

/// The ISNs wrap: the client's stream crosses 2^32.
const CISN: u32 = u32::MAX - 8;
const SISN: u32 = 5000;

/// typed on port 7001: a message split over three segments, two messages
/// in one segment, a segment before the one it follows, a retransmission,
/// an overlapping resend, replies, FIN.
fn typed_capture(dir: &Scratch) -> (PathBuf, Vec<Vec<u8>>) {
    let port = 7001;
    let m1 = typed(1, b"split across three segments");
    let m2 = typed(2, b"two");
    let m3 = typed(3, b"in one segment");
    let m4 = typed(4, b"after a reordering");
    let m5 = typed(5, b"last");
    let mut p = Pcap::new();
    let c = |n: usize| CISN.wrapping_add(1).wrapping_add(n as u32);
    p.tcp(true, port, CISN, 0, Flags::Syn, b"");
    p.tcp(false, port, SISN, c(0), Flags::SynAck, b"");
    let mut stream = Vec::new();
    for m in [&m1, &m2, &m3, &m4, &m5] {
        stream.extend_from_slice(m);
    }
    let a = 10; // inside m1
    let b = 20;
    let e1 = m1.len();
    let e3 = e1 + m2.len() + m3.len();
    let mid4 = e3 + 7;
    let e4 = e3 + m4.len();
    p.tcp(true, port, c(0), SISN + 1, Flags::Ack, &stream[..a]);
    p.tcp(true, port, c(a), SISN + 1, Flags::Ack, &stream[a..b]);
    p.tcp(true, port, c(a), SISN + 1, Flags::Ack, &stream[a..b]); // retransmission
    p.tcp(true, port, c(b), SISN + 1, Flags::Ack, &stream[b..e1]);
    p.tcp(true, port, c(e1), SISN + 1, Flags::Ack, &stream[e1..e3]); // m2 + m3
    p.tcp(true, port, c(mid4), SISN + 1, Flags::Ack, &stream[mid4..e4]); // ahead
    p.tcp(true, port, c(e3), SISN + 1, Flags::Ack, &stream[e3..mid4]); // fills
    p.tcp(
        true,
        port,
        c(e3 + 2),
        SISN + 1,
        Flags::Ack,
        &stream[e3 + 2..],
    ); // overlap + m5
    let reply = typed(2, b"reply");
    p.tcp(false, port, SISN + 1, c(stream.len()), Flags::Ack, &reply);
    p.tcp(
        true,
        port,
        c(stream.len()),
        SISN + 1 + reply.len() as u32,
        Flags::Fin,
        b"",
    );
    p.tcp(
        false,
        port,
        SISN + 1 + reply.len() as u32,
        c(stream.len() + 1),
        Flags::Fin,
        b"",
    );
    let messages = vec![m1, m2, m3, m4, m5, reply];
    (p.save(dir, "typed.pcap"), messages)
}

/// Request lines on port 7002 with a segment lost: the line it cut is gone,
/// decoding resumes after the next `\n` (reqres/7.3).
fn lossy_lines_capture(dir: &Scratch) -> PathBuf {
    let port = 7002;
    let mut p = Pcap::new();
    let c = |n: usize| 100u32 + 1 + n as u32;
    p.tcp(true, port, 100, 0, Flags::Syn, b"");
    p.tcp(false, port, SISN, c(0), Flags::SynAck, b"");
    let text = b"1:ECHO:one\n2:ECHO:two is long\n3:ECHO:three\n";
    p.tcp(true, port, c(0), SISN + 1, Flags::Ack, &text[..15]); // "1:ECHO:one\n2:EC"
                                                                // text[15..25] lost
    p.tcp(true, port, c(25), SISN + 1, Flags::Ack, &text[25..]); // "long\n3:ECHO:three\n"
                                                                 // The server acknowledges everything: the hole is known lost at once.
    p.tcp(
        false,
        port,
        SISN + 1,
        c(text.len()),
        Flags::Ack,
        b"1:OK:one\n3:OK:three\n",
    );
    p.save(dir, "lines.pcap")
}

/// Magic on port 7003, the capture joining mid-packet: the reader skips to
/// the next magic number (magic/7.3).
fn mid_stream_magic_capture(dir: &Scratch) -> PathBuf {
    let port = 7003;
    let mut packet = vec![0xde, 0xad, 0xbe, 0xef, 1, 9, 0, 3];
    packet.extend_from_slice(b"abc");
    let mut p = Pcap::new();
    let mut bytes = b"tail of an earlier packet".to_vec();
    bytes.extend_from_slice(&packet);
    bytes.extend_from_slice(&packet);
    p.tcp(true, port, 777, 1, Flags::Ack, &bytes[..30]);
    p.tcp(true, port, 777 + 30, 1, Flags::Ack, &bytes[30..]);
    p.save(dir, "magic.pcap")
}

fn magic(t: u8, payload: &[u8]) -> Vec<u8> {
    let mut m = vec![0xde, 0xad, 0xbe, 0xef, 1, t];
    m.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    m.extend_from_slice(payload);
    m
}

const MAGIC_UDP: u16 = 7101;
const LINES_UDP: u16 = 7102;
const TYPED_UDP: u16 = 7103;
const UDP_PORTS: [&str; 3] = ["7101:magic", "7102:request", "7103:typed"];

/// Datagrams of the three datagram formats: good ones, and each error a
/// receiver finds in one (each spec's §7.2: one message per datagram, the
/// lines' final `\n` optional). Returns the capture, the errors expected
/// in order, and the messages expected.
fn udp_capture(dir: &Scratch) -> (PathBuf, Vec<&'static str>, usize) {
    let mut p = Pcap::new();
    let c = 40000;
    p.udp(true, c, MAGIC_UDP, &magic(1, b"hi"));
    p.udp(false, c, MAGIC_UDP, &magic(2, b"hi"));
    p.udp(true, c, MAGIC_UDP, &magic(3, b""));
    let mut trailing = magic(4, b"ok");
    trailing.extend_from_slice(b"xx");
    p.udp(true, c, MAGIC_UDP, &trailing);
    p.udp(true, c, MAGIC_UDP, b"\xca\xfe\xba\xbe\x01\x01\x00\x00");
    let mut version_2 = magic(1, b"v");
    version_2[4] = 2;
    p.udp(true, c, MAGIC_UDP, &version_2);
    p.udp(true, c, MAGIC_UDP, &magic(1, b"cut")[..9]);
    let lines: [&[u8]; 12] = [
        b"1:ECHO:hi\n",
        b"2:UPPER:no line ending",
        b"3:ECHO:crlf\r\n",
        "4:ECHO:café\n".as_bytes(),
        b"5:ECHO:\xff\n",             // never UTF-8
        b"6:ECHO:\xed\xa0\x80\n",     // a surrogate
        b"7:ECHO:\xe2\x82\n",         // cut short
        b"8:ECHO:\xf4\x90\x80\x80\n", // past U+10FFFF
        b"9:ECHO:\xc0\xaf\n",         // overlong
        b"no separators\n",
        b"10:ECHO:a\n11:ECHO:b\n",
        b"12::\n",
    ];
    for line in lines {
        p.udp(true, c, LINES_UDP, line);
    }
    p.udp(false, c, LINES_UDP, b"1:OK:hi\n");
    p.udp(false, c, LINES_UDP, "4:OK:CAFÉ".as_bytes());
    p.udp(true, c, TYPED_UDP, &typed(1, b"datagram"));
    let mut extra = typed(2, b"x");
    extra.push(0);
    p.udp(true, c, TYPED_UDP, &extra);
    p.udp(true, c, TYPED_UDP, b"");
    let errors = vec![
        "trailing_bytes",
        "bad_magic",
        "bad_version",
        "incomplete",
        "invalid_utf8",
        "invalid_utf8",
        "invalid_utf8",
        "invalid_utf8",
        "invalid_utf8",
        "malformed",
        "trailing_bytes",
        "trailing_bytes",
        "incomplete",
    ];
    (p.save(dir, "udp.pcap"), errors, 3 + 7 + 1)
}

fn decode_json(pcap: &Path, ports: &[&str]) -> (Vec<Value>, i32, String) {
    let mut args = vec!["decode", "--json", "--pcap", pcap.to_str().unwrap()];
    for p in ports {
        args.push("--port");
        args.push(p);
    }
    let out = run(&args, b"");
    let lines = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (
        lines,
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn events<'a>(lines: &'a [Value], event: &str) -> Vec<&'a Value> {
    lines.iter().filter(|l| l["event"] == event).collect()
}

#[test]
fn reordered_retransmitted_split_and_packed_segments_decode_once_each() {
    let dir = Scratch::new("reordered");
    let (pcap, messages) = typed_capture(&dir);
    let (lines, code, stderr) = decode_json(&pcap, &["7001:typed"]);
    assert_eq!(code, 0, "{stderr}");
    let got: Vec<_> = events(&lines, "message");
    assert_eq!(got.len(), messages.len(), "{lines:#?}");
    for (line, raw) in got.iter().zip(&messages) {
        assert_eq!(line["type"], u64::from(raw[4]));
        assert_eq!(line["payload"], hex(&raw[5..]));
        assert_eq!(line["stream"], 0);
    }
    // m2 and m3 complete in the same frame (the 7th); m1 in the 6th.
    assert_eq!(got[0]["frame"], 6);
    assert_eq!(got[1]["frame"], 7);
    assert_eq!(got[2]["frame"], 7);
    assert_eq!(got[0]["src"], "127.0.0.1:40000");
    assert_eq!(got[5]["src"], "127.0.0.2:7001");
    assert!(events(&lines, "gap").is_empty() && events(&lines, "error").is_empty());
}

#[test]
fn a_lost_segment_is_reported_and_lines_resume_after_the_next_line_ending() {
    let dir = Scratch::new("lossy");
    let pcap = lossy_lines_capture(&dir);
    let (lines, code, stderr) = decode_json(&pcap, &["7002:request"]);
    assert_eq!(code, 0, "a gap is not a wire error: {stderr}");
    let msgs = events(&lines, "message");
    let ids: Vec<_> = msgs
        .iter()
        .map(|m| (m["format"].clone(), m["id"].clone()))
        .collect();
    assert_eq!(
        ids,
        [
            ("request", "1"),
            ("request", "3"),
            ("response", "1"),
            ("response", "3")
        ]
        .map(|(f, i)| (Value::from(f), Value::from(i)))
    );
    let gaps = events(&lines, "gap");
    assert_eq!(gaps.len(), 1, "{lines:#?}");
    // The partial line "2:EC" (4 bytes, at 11) and the 10 lost bytes.
    assert_eq!(
        (gaps[0]["offset"].clone(), gaps[0]["len"].clone()),
        (11.into(), 14.into())
    );
    let skipped = events(&lines, "skipped");
    assert_eq!(skipped.len(), 1);
    assert_eq!(skipped[0]["len"], "long\n".len());
}

#[test]
fn a_capture_joining_mid_packet_resynchronises_on_the_magic() {
    let dir = Scratch::new("mid-packet");
    let pcap = mid_stream_magic_capture(&dir);
    let (lines, code, _) = decode_json(&pcap, &["7003:magic"]);
    assert_eq!(code, 0);
    let skipped = events(&lines, "skipped");
    assert_eq!(skipped.len(), 1);
    assert_eq!(skipped[0]["len"], "tail of an earlier packet".len());
    let msgs = events(&lines, "message");
    assert_eq!(msgs.len(), 2);
    assert!(msgs
        .iter()
        .all(|m| m["type"] == 9 && m["payload"] == "616263"));
}

#[test]
fn a_bad_stream_is_reported_and_the_others_go_on() {
    let dir = Scratch::new("bad-stream");
    let mut p = Pcap::new();
    // Connection 1 on 7001: a typed header claiming 4 GiB.
    p.tcp(true, 7001, 10, 1, Flags::Ack, &[0xff, 0xff, 0xff, 0xff, 1]);
    // Connection 2 (other client port, via the server side) is fine.
    p.tcp(false, 7001, 20, 1, Flags::Ack, &typed(1, b"fine"));
    let pcap = p.save(&dir, "bad.pcap");
    let (lines, code, _) = decode_json(&pcap, &["7001:typed"]);
    assert_eq!(code, 1);
    let errors = events(&lines, "error");
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0]["error"], "too_large");
    assert_eq!(events(&lines, "message").len(), 1);
}

#[test]
fn each_datagram_is_one_message_or_one_error() {
    let dir = Scratch::new("udp");
    let (pcap, errors, messages) = udp_capture(&dir);
    let (lines, code, stderr) = decode_json(&pcap, &UDP_PORTS);
    assert_eq!(code, 1, "wire errors: {stderr}");
    let kinds: Vec<_> = events(&lines, "error")
        .iter()
        .map(|e| e["error"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(kinds, errors);
    let msgs = events(&lines, "message");
    assert_eq!(msgs.len(), messages, "{msgs:#?}");
    assert!(msgs.iter().all(|m| m["transport"] == "udp"));
    let formats: Vec<_> = msgs.iter().map(|m| m["format"].as_str().unwrap()).collect();
    assert_eq!(
        formats,
        [
            "magic", "magic", "magic", "request", "request", "request", "request", "request",
            "response", "response", "typed"
        ]
    );
}

#[test]
fn tshark_sees_the_datagrams_and_their_errors_as_decode_does() {
    if !have("tshark", &["--version"]) {
        return;
    }
    let dir = Scratch::new("tshark-udp");
    let (pcap, _, _) = udp_capture(&dir);
    let (mut lines, _, _) = decode_json(&pcap, &UDP_PORTS);
    // Wireshark passes no empty UDP payload to a dissector: the last
    // datagram's error (incomplete) is decode's alone.
    let last = lines.iter().rposition(|l| l["event"] == "error").unwrap();
    assert_eq!(lines.remove(last)["error"], "incomplete");
    compare_with_tshark(
        &dir,
        &pcap,
        &UDP_PORTS,
        &lines,
        Compare {
            udp: true,
            errors: true,
        },
    );
}

#[test]
fn a_udp_client_on_another_servers_port_is_still_the_client() {
    // The request client's port is the magic server's: its replies go to
    // port 7101, yet they are responses (the flow started from the client).
    let dir = Scratch::new("udp-ports");
    let mut p = Pcap::new();
    p.udp(true, MAGIC_UDP, LINES_UDP, b"1:ECHO:hi\n");
    p.udp(false, MAGIC_UDP, LINES_UDP, b"1:OK:hi\n");
    // A TCP server of that number does not make a UDP port a server's.
    p.udp(true, 7001, TYPED_UDP, &typed(1, b"t"));
    p.udp(false, 7001, TYPED_UDP, &typed(2, b"t"));
    let pcap = p.save(&dir, "ports.pcap");
    for ports in [
        &["7101:magic", "7102:request", "7103:typed", "7001:frame"][..],
        &[
            "7101/udp:magic",
            "7102/udp:request",
            "7103/udp:typed",
            "7001/tcp:frame",
        ],
    ] {
        let (lines, code, stderr) = decode_json(&pcap, ports);
        assert_eq!(code, 0, "{ports:?}: {stderr} {lines:#?}");
        let formats: Vec<_> = events(&lines, "message")
            .iter()
            .map(|m| m["format"].as_str().unwrap().to_string())
            .collect();
        // Untagged, 7001 is frame's on UDP too: the flow decides.
        assert_eq!(
            formats,
            ["request", "response", "typed", "typed"],
            "{ports:?}"
        );
    }
    let out = run(
        &[
            "decode",
            "--pcap",
            pcap.to_str().unwrap(),
            "--port",
            "7101/sctp:magic",
        ],
        b"",
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown transport \"sctp\""));
}

#[test]
fn without_a_port_or_a_format_it_says_which_is_missing() {
    let dir = Scratch::new("no-port");
    let (pcap, _) = typed_capture(&dir);
    let out = run(&["decode", "--pcap", pcap.to_str().unwrap()], b"");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--port P"));
    let out = run(
        &["decode", "--pcap", pcap.to_str().unwrap(), "--port", "7001"],
        b"",
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("which format?"));
    let out = run(
        &["decode", "--pcap", "/nonexistent.pcap", "--port", "1:typed"],
        b"",
    );
    assert_eq!(out.status.code(), Some(1));
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

// ---- real traffic ----------------------------------------------------------

/// A `wireforms serve` on an ephemeral loopback port; killed when dropped.
struct Server {
    child: Child,
    addr: String,
}

impl Server {
    fn start(format: &str) -> Server {
        let mut child = support::bin()
            .args(["serve", "--format", format, "--listen", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        Server {
            child,
            addr: line.trim().to_string(),
        }
    }

    fn port(&self) -> u16 {
        self.addr.rsplit(':').next().unwrap().parse().unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The messages each client sends: small ones, and one large enough to
/// span several loopback segments.
fn traffic(format: &str) -> Vec<String> {
    let big = "ab".repeat(100_000);
    match format {
        "typed" => vec![
            r#"{"type":1,"payload":"68656c6c6f"}"#.into(),
            format!(r#"{{"type":7,"payload":"{big}"}}"#),
            r#"{"type":3,"payload":""}"#.into(),
        ],
        "magic" => vec![
            r#"{"version":1,"type":1,"payload":"6869"}"#.into(),
            format!(
                r#"{{"version":1,"type":2,"payload":"{}"}}"#,
                "cd".repeat(60_000)
            ),
        ],
        "frame" => vec![
            r#"{"payload":"6869"}"#.into(),
            format!(r#"{{"payload":"{big}"}}"#),
        ],
        "mux" => vec![
            r#"{"channel":1,"payload":"6869"}"#.into(),
            format!(r#"{{"channel":9,"payload":"{}"}}"#, "ef".repeat(65_535)),
        ],
        _ => vec![
            "1:ECHO:hello".into(),
            "2:UPPER:capture".into(),
            format!("3:ECHO:{}", "x".repeat(30_000)),
        ],
    }
}

const FORMATS: [&str; 5] = ["typed", "magic", "frame", "mux", "request"];

/// Runs each format's server and client once over loopback.
fn talk(servers: &[Server]) -> usize {
    let mut sent = 0;
    for (format, server) in FORMATS.iter().zip(servers) {
        let messages = traffic(format);
        sent += messages.len();
        let mut cmd = support::bin();
        cmd.args([
            "send",
            "--format",
            format,
            "--target",
            &server.addr,
            "--json",
        ]);
        let out = run_command(cmd, (messages.join("\n") + "\n").as_bytes());
        assert!(
            out.status.success(),
            "{format}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    sent
}

fn port_args(servers: &[Server]) -> Vec<String> {
    FORMATS
        .iter()
        .zip(servers)
        .map(|(f, s)| format!("{}:{f}", s.port()))
        .collect()
}

/// tcpdump on loopback for the servers' ports, while the clients talk.
fn tcpdump_capture(dir: &Scratch, servers: &[Server]) -> (PathBuf, usize) {
    let path = dir.path("real.pcap");
    let filter: Vec<String> = servers
        .iter()
        .map(|s| format!("port {}", s.port()))
        .collect();
    let mut dump = Command::new("tcpdump")
        .args([
            "-i",
            "lo",
            "-U",
            "--immediate-mode",
            "-B",
            "16384",
            "-n",
            "-s",
            "0",
            "-w",
        ])
        .arg(&path)
        .arg(filter.join(" or "))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // tcpdump says "listening on lo" once its filter is in place.
    let mut line = String::new();
    let mut err = BufReader::new(dump.stderr.take().unwrap());
    err.read_line(&mut line).unwrap();
    assert!(line.contains("listening"), "tcpdump: {line}");
    let sent = talk(servers);
    std::thread::sleep(Duration::from_millis(1000));
    let _ = Command::new("kill")
        .args(["-INT", &dump.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(10);
    while dump.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "tcpdump did not stop");
        std::thread::sleep(Duration::from_millis(20));
    }
    (path, sent)
}

fn check_real_decode(lines: &[Value], sent: usize, servers: &[Server]) {
    let msgs = events(lines, "message");
    assert!(
        events(lines, "error").is_empty(),
        "{:#?}",
        events(lines, "error")
    );
    assert!(events(lines, "gap").is_empty());
    // Every message sent, once each, and at least one reply each (a mux
    // echo of a full frame is two frames).
    let to_server = |m: &&&Value| {
        let dst = m["dst"].as_str().unwrap_or_default();
        servers.iter().any(|s| s.addr == dst)
    };
    let requests: Vec<_> = msgs.iter().filter(to_server).collect();
    assert_eq!(requests.len(), sent, "{requests:#?}");
    assert!(msgs.len() - requests.len() >= sent);
    for format in ["typed", "magic", "frame", "mux", "request", "response"] {
        assert!(
            msgs.iter().any(|m| m["format"] == format),
            "no {format} message"
        );
    }
    let big = msgs
        .iter()
        .find(|m| m["format"] == "typed" && m["type"] == 7)
        .expect("the large typed message");
    assert_eq!(big["size"], 100_005);
}

#[test]
fn real_loopback_traffic_of_every_format_decodes_with_no_error_and_tshark_agrees() {
    if !is_root() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI runs as root"
        );
        eprintln!("skipped: capturing needs root");
        return;
    }
    if !have("tcpdump", &["--version"]) {
        return;
    }
    let dir = Scratch::new("real");
    let servers: Vec<Server> = FORMATS.iter().map(|f| Server::start(f)).collect();
    let (pcap, sent) = tcpdump_capture(&dir, &servers);
    let ports = port_args(&servers);
    let port_refs: Vec<&str> = ports.iter().map(String::as_str).collect();
    let (lines, code, stderr) = decode_json(&pcap, &port_refs);
    assert_eq!(code, 0, "{stderr}");
    check_real_decode(&lines, sent, &servers);
    if have("tshark", &["--version"]) {
        compare_with_tshark(&dir, &pcap, &port_refs, &lines, TCP);
    }
}

/// The one-minute check of docs/capture.md, for two seconds: clients of
/// all five formats over TCP and the three datagram formats over UDP,
/// connecting again and again; every message and reply decoded once.
#[test]
fn a_few_seconds_of_mixed_traffic_decode_once_each_with_no_error() {
    if !is_root() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI runs as root"
        );
        eprintln!("skipped: capturing needs root");
        return;
    }
    if !have("tcpdump", &["--version"]) {
        return;
    }
    let dir = Scratch::new("mixed");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tools/capture_minute.sh");
    let mut cmd = Command::new("bash");
    cmd.arg(script)
        .args([
            "--seconds",
            "2",
            "--bin",
            env!("CARGO_BIN_EXE_wireforms"),
            "--dir",
        ])
        .arg(dir.path("run"));
    let out = run_command(cmd, b"");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("OK: every message sent and every reply decoded once"),
        "{stdout}"
    );
    // Every client ran: eight rows, none with zero messages.
    let rows: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("-udp ") || FORMATS.iter().any(|f| l.starts_with(&format!("{f} "))))
        .collect();
    assert_eq!(rows.len(), 8, "{stderr}");
    for row in rows {
        let sent: u64 = row.split_whitespace().nth(2).unwrap().parse().unwrap();
        assert!(sent > 0, "{row}");
    }
}

#[test]
fn tshark_sees_the_hand_built_captures_as_decode_does() {
    if !have("tshark", &["--version"]) {
        return;
    }
    let dir = Scratch::new("tshark-hand-built");
    let (typed, _) = typed_capture(&dir);
    let (lines, _, _) = decode_json(&typed, &["7001:typed"]);
    compare_with_tshark(&dir, &typed, &["7001:typed"], &lines, TCP);
    let magic = mid_stream_magic_capture(&dir);
    let (lines, _, _) = decode_json(&magic, &["7003:magic"]);
    compare_with_tshark(&dir, &magic, &["7003:magic"], &lines, TCP);
}

// ---- tshark ----------------------------------------------------------------

/// The messages of each frame, as field name → value, the way both tools
/// can say them: payloads in hex, lengths left out (implied by the payload);
/// with [`Compare::errors`], each error as `error` → its kind too.
type PerFrame = BTreeMap<u64, Vec<BTreeMap<String, String>>>;

/// What a comparison with tshark covers.
#[derive(Clone, Copy)]
struct Compare {
    /// The ports are UDP ports (else TCP).
    udp: bool,
    /// Errors too, frame by frame. Over TCP the two differ by design after
    /// an error: tshark goes on with the next segment, decode stops the
    /// direction (or, for magic, reports the bytes it skipped).
    errors: bool,
}

const TCP: Compare = Compare {
    udp: false,
    errors: false,
};

fn from_decode(lines: &[Value], errors: bool) -> PerFrame {
    let mut out = PerFrame::new();
    if errors {
        for e in events(lines, "error") {
            let kind = e["error"].as_str().unwrap().to_string();
            out.entry(e["frame"].as_u64().unwrap())
                .or_default()
                .push(BTreeMap::from([("error".to_string(), kind)]));
        }
    }
    for m in events(lines, "message") {
        let mut fields = BTreeMap::new();
        for (k, v) in m.as_object().unwrap() {
            let skip = [
                "event",
                "time",
                "frame",
                "transport",
                "stream",
                "src",
                "dst",
                "format",
                "offset",
                "size",
            ];
            if skip.contains(&k.as_str()) {
                continue;
            }
            let v = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            fields.insert(k.clone(), v);
        }
        out.entry(m["frame"].as_u64().unwrap())
            .or_default()
            .push(fields);
    }
    out
}

fn from_tshark(json: &Value, errors: bool) -> PerFrame {
    let mut out = PerFrame::new();
    for packet in json.as_array().unwrap() {
        let layers = &packet["_source"]["layers"];
        let frame: u64 = layers["frame"]["frame.number"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        for (name, layer) in layers.as_object().unwrap() {
            let Some(prefix) = name.strip_prefix("wireforms_") else {
                continue;
            };
            let list = match layer {
                Value::Array(v) => v.clone(),
                one => vec![one.clone()],
            };
            for msg in list {
                if !msg.is_object() {
                    continue;
                }
                // An error's tree (expert info) is not a message.
                if let Some(expert) = msg.get("_ws.expert") {
                    if errors {
                        let field = format!("wireforms_{prefix}.");
                        let kind = expert
                            .as_object()
                            .unwrap()
                            .keys()
                            .find_map(|k| k.strip_prefix(&field))
                            .unwrap_or_else(|| panic!("an expert without a kind: {expert}"));
                        out.entry(frame)
                            .or_default()
                            .push(BTreeMap::from([("error".to_string(), kind.to_string())]));
                    }
                    continue;
                }
                let mut fields = BTreeMap::new();
                let mut has_payload = false;
                for (k, v) in msg.as_object().unwrap() {
                    let field = k.strip_prefix(&format!("wireforms_{prefix}.")).unwrap_or(k);
                    let v = v.as_str().unwrap_or_default().to_string();
                    match field {
                        "length" | "magic" | "direction" => {}
                        "payload" => {
                            has_payload = true;
                            fields.insert("payload".into(), v.replace(':', ""));
                        }
                        other => {
                            fields.insert(other.into(), v);
                        }
                    }
                }
                if prefix != "reqres" && !has_payload {
                    fields.insert("payload".into(), String::new());
                }
                out.entry(frame).or_default().push(fields);
            }
        }
    }
    out
}

fn compare_with_tshark(dir: &Scratch, pcap: &Path, ports: &[&str], lines: &[Value], how: Compare) {
    let lua = dir.path("wireforms.lua");
    let out = run(&["dissector"], b"");
    std::fs::write(&lua, out.stdout).unwrap();
    // A fresh configuration directory: no user preferences, and as root
    // Wireshark reads Lua only when its configuration allows it (Debian's
    // tshark runs -X lua_script as root, the setting is kept explicit).
    let config = dir.path("wireshark-config");
    std::fs::create_dir_all(&config).unwrap();
    let mut cmd = Command::new("tshark");
    cmd.env("WIRESHARK_CONFIG_DIR", &config)
        .env("HOME", &config)
        .arg("-X")
        .arg(format!("lua_script:{}", lua.display()))
        .args([
            "-o",
            "tcp.reassemble_out_of_order:TRUE",
            "-o",
            "tcp.analyze_sequence_numbers:TRUE",
        ]);
    for p in ports {
        let (port, format) = p.split_once(':').unwrap();
        let prefix = if format == "request" || format == "response" {
            "reqres"
        } else {
            format
        };
        let transport = if how.udp { "udp" } else { "tcp" };
        cmd.args(["-o", &format!("wireforms_{prefix}.{transport}_port:{port}")]);
    }
    cmd.arg("-r")
        .arg(pcap)
        .args(["-T", "json", "--no-duplicate-keys"]);
    let out = run_command(cmd, b"");
    assert!(
        out.status.success(),
        "tshark: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let theirs = from_tshark(&json, how.errors);
    let ours = from_decode(lines, how.errors);
    assert!(!ours.is_empty());
    assert_eq!(
        theirs, ours,
        "tshark (left) and decode --pcap (right) differ"
    );
}

// ---- live ------------------------------------------------------------------

#[test]
fn live_capture_on_loopback_sees_every_message_once() {
    if !is_root() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI runs as root"
        );
        eprintln!("skipped: live capture needs root");
        return;
    }
    let dir = Scratch::new("live");
    let servers: Vec<Server> = FORMATS.iter().map(|f| Server::start(f)).collect();
    let saved = dir.path("live.pcap");
    let mut cmd = support::bin();
    cmd.args([
        "decode",
        "--json",
        "--live",
        "lo",
        "--duration",
        "6s",
        "--packets",
        "5000",
        "--write",
    ])
    .arg(&saved);
    for p in port_args(&servers) {
        cmd.args(["--port", &p]);
    }
    let child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The socket is open within a moment; traffic before it would be missed.
    std::thread::sleep(Duration::from_millis(700));
    let sent = talk(&servers);
    let out = support::wait_bounded(child, Duration::from_secs(30));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    check_real_decode(&lines, sent, &servers);
    // What it saved decodes the same.
    let ports = port_args(&servers);
    let port_refs: Vec<&str> = ports.iter().map(String::as_str).collect();
    let (again, code, _) = decode_json(&saved, &port_refs);
    assert_eq!(code, 0);
    assert_eq!(from_decode(&again, true), from_decode(&lines, true));
}

#[test]
fn live_capture_without_privilege_says_so_in_one_line() {
    let ci = std::env::var("CI").as_deref() == Ok("true");
    if !is_root() {
        assert!(!ci, "CI runs as root");
        eprintln!("skipped: dropping privilege needs root");
        return;
    }
    if !have("setpriv", &["--version"]) {
        return;
    }
    let mut cmd = Command::new("setpriv");
    cmd.args([
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        "--inh-caps=-all",
        "--bounding-set=-all",
    ])
    .arg(env!("CARGO_BIN_EXE_wireforms"))
    .args([
        "decode",
        "--live",
        "lo",
        "--port",
        "1:typed",
        "--duration",
        "1s",
    ]);
    let out = run_command(cmd, b"");
    let stderr = String::from_utf8_lossy(&out.stderr);
    if stderr.contains("Permission denied") && stderr.contains("setpriv") {
        assert!(
            !ci,
            "under CI the binary must be reachable as nobody: {stderr}"
        );
        eprintln!("skipped: the binary is not reachable as nobody");
        return;
    }
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("permission denied") && stderr.contains("CAP_NET_RAW"),
        "{stderr}"
    );
}

#[test]
fn an_endless_live_capture_stops_cleanly_on_sigint() {
    if !is_root() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI runs as root"
        );
        eprintln!("skipped: live capture needs root");
        return;
    }
    let dir = Scratch::new("live-sigint");
    let saved = dir.path("endless.pcap");
    let child = Command::new(env!("CARGO_BIN_EXE_wireforms"))
        .args(["decode", "--live", "lo", "--port", "1:typed", "--write"])
        .arg(&saved)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Time for the socket and the signal handlers to be set up.
    std::thread::sleep(std::time::Duration::from_millis(700));
    let killed = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stdout.contains("capture: ") || stderr.contains("capture: "),
        "no summary: {stdout} {stderr}"
    );
    // The saved file is whole: it reads back with no error.
    let (_, code, err) = decode_json(&saved, &["1:typed"]);
    assert_eq!(code, 0, "{err}");
}
