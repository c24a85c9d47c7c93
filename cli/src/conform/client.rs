//! The client engine: plays the server side of a case against a client
//! program (`conform --client`), and judges what the client put on the
//! wire, whether it exited in time, and (with `--shim`) what it delivered
//! to its caller (`spec/harness.md` §9).
//!
//! Each case starts the client once, with the server's address in
//! `WIREFORMS_ADDR` (and `{addr}` in the command replaced by it), accepts
//! its connection, and answers as the case's [`Behaviour`] says.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::process::Stdio;
use std::time::Duration;

use bytes::BytesMut;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::TcpListener;
use tokio::process::Command;
use tokio::time::{sleep, timeout, timeout_at, Instant};
use wireforms::mux::Mux;
use wireforms::reqres::RequestLine;
use wireforms::{Encode, Status, WireFormat};

use super::messages::{filler, message, preview};
use super::report::Evidence;
use super::script::{Kept, RECEIVED_KEPT_MAX};
use crate::formats::Format;

/// How the server answers in a client case.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Behaviour {
    /// At once, correctly.
    Correct,
    /// Correctly, one byte at a time (the first 256 bytes of each reply).
    Bytewise,
    /// Correctly, after a pause a third of the client's timeout long.
    Late,
    /// Correctly, the answers to a batch of requests in reverse order.
    OutOfOrder,
    /// Correctly, each answer after a response with an ID nobody asked for.
    Unsolicited,
    /// Correctly, the replies of a batch cut into small frames, the
    /// channels' frames interleaved.
    Interleaved,
    /// Each reply 70,000 bytes long: split into two frames.
    Split,
    /// Reads everything, answers nothing, never closes.
    Silent,
    /// A malformed response line.
    Malformed,
    /// A response line longer than the client's limit (65,536), no `\n`.
    OverLimit,
    /// Half of the first reply, then a close.
    CloseMid,
}

impl Behaviour {
    /// The client must give up (report errors, exit) rather than get answers.
    pub fn gives_up(self) -> bool {
        matches!(
            self,
            Behaviour::Silent | Behaviour::Malformed | Behaviour::OverLimit | Behaviour::CloseMid
        )
    }

    fn describe(self) -> &'static str {
        match self {
            Behaviour::Correct => "a correct server",
            Behaviour::Bytewise => "a server writing one byte at a time",
            Behaviour::Late => "a late server",
            Behaviour::OutOfOrder => "a server answering out of order",
            Behaviour::Unsolicited => "a server sending responses nobody asked for",
            Behaviour::Interleaved => "a server interleaving channels",
            Behaviour::Split => "a server splitting long replies",
            Behaviour::Silent => "a silent server",
            Behaviour::Malformed => "a server sending a malformed reply",
            Behaviour::OverLimit => "a server sending an over-limit line",
            Behaviour::CloseMid => "a server closing mid-message",
        }
    }
}

/// Bytes of the long reply (`Split`) and of the long mux send: past 65,535.
pub const LONG_LEN: usize = 70_000;
/// `Bytewise` writes this many bytes of each reply one at a time.
const BYTEWISE_MAX: usize = 256;
/// Shim output kept per case, in bytes.
const SHIM_OUTPUT_MAX: usize = 16 << 20;
/// One shim output line is held up to this many bytes (a data event of
/// a whole 64 KiB frame's payload is about 130 KiB).
const SHIM_LINE_MAX: usize = 1 << 20;
/// Mux: bytes the server sent that are kept (over all channels) to judge
/// what the shim delivered.
const GAVE_KEPT_MAX: usize = 2 * LONG_LEN;
/// A pause this long without bytes from the client ends a batch.
const LULL: Duration = Duration::from_millis(100);

/// One client case.
pub struct ClientCase {
    /// `request` or `mux`.
    pub format: Format,
    /// How the server answers.
    pub behaviour: Behaviour,
}

/// The client under test.
pub struct ClientTestee {
    /// The program.
    pub program: OsString,
    /// Its arguments; `{addr}` is replaced by the server's address.
    pub args: Vec<String>,
    /// It speaks the shim protocol.
    pub shim: bool,
    /// It must exit within this, from its start.
    pub bound: Duration,
    /// How long it should wait for a silent server (`WIREFORMS_TIMEOUT_MS`).
    pub give_up: Duration,
}

impl ClientTestee {
    /// From a command line (split at whitespace, no shell).
    pub fn from_command(command: &str, shim: bool, bound: Duration, give_up: Duration) -> Self {
        let mut words = command.split_whitespace();
        ClientTestee {
            program: words.next().unwrap_or("").into(),
            args: words.map(str::to_string).collect(),
            shim,
            bound,
            give_up,
        }
    }
}

/// What the server side saw and did.
#[derive(Default)]
struct Served {
    faults: Vec<String>,
    /// Bounded like everything here: the client under test is the peer.
    received: Kept,
    sent: Kept,
    /// Request/response: the data answered to each request's args.
    answers: BTreeMap<String, String>,
    /// Mux: bytes the client sent, per channel; kept only up to what it
    /// was given to send there (more is wrong whatever it is).
    got: BTreeMap<u16, Kept>,
    /// Mux: bytes the server sent, per channel; [`GAVE_KEPT_MAX`] kept
    /// over all channels.
    gave: BTreeMap<u16, Kept>,
    gave_kept: usize,
    connected: bool,
}

/// The shim operations of a case, and what they should send.
fn operations(format: Format) -> Vec<Value> {
    if format == Format::Request {
        let commands = ["ECHO", "UPPER", "REVERSE"];
        (1..=5)
            .map(|i| {
                json!({"op": "call", "tag": format!("c{i}"), "command": commands[i % 3],
                       "args": format!("call {i} straße")})
            })
            .collect()
    } else {
        vec![
            json!({"op": "send", "channel": 1, "payload": crate::hex::encode(b"one")}),
            json!({"op": "send", "channel": 2, "payload": crate::hex::encode(b"two")}),
            json!({"op": "send", "channel": 3, "payload": crate::hex::encode(&filler(LONG_LEN))}),
            json!({"op": "send", "channel": 1, "payload": crate::hex::encode(b"one again")}),
        ]
    }
}

/// Mux: bytes the operations send, per channel.
fn to_send(ops: &[Value]) -> BTreeMap<u16, Vec<u8>> {
    let mut out: BTreeMap<u16, Vec<u8>> = BTreeMap::new();
    for op in ops {
        if let (Some(c), Some(p)) = (op["channel"].as_u64(), op["payload"].as_str()) {
            out.entry(c as u16)
                .or_default()
                .extend(crate::hex::decode(p.as_bytes()).unwrap_or_default());
        }
    }
    out
}

impl ClientCase {
    /// Runs the case; `Err` names every fault seen.
    pub async fn run(&self, t: &ClientTestee, evidence: &mut Evidence) -> Result<(), String> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| format!("cannot listen: {e}"))?;
        let addr = listener
            .local_addr()
            .map_err(|e| format!("cannot listen: {e}"))?
            .to_string();
        let start = Instant::now();
        let deadline = start + t.bound;
        let args: Vec<String> = t.args.iter().map(|a| a.replace("{addr}", &addr)).collect();
        let mut child = Command::new(&t.program)
            .args(&args)
            .env("WIREFORMS_ADDR", &addr)
            .env("WIREFORMS_TIMEOUT_MS", t.give_up.as_millis().to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", t.program.to_string_lossy()))?;
        let ops = if t.shim {
            operations(self.format)
        } else {
            Vec::new()
        };
        // The operations, then the end of input (a wire-level client gets
        // only the end). Written aside: a client that does not read its
        // input is judged on the rest.
        let stdin = child.stdin.take();
        let mut text = String::new();
        if t.shim {
            for op in &ops {
                text.push_str(&op.to_string());
                text.push('\n');
            }
            text.push_str("{\"op\":\"end\"}\n");
        }
        let feeder = tokio::spawn(async move {
            if let Some(mut input) = stdin {
                let _ = input.write_all(text.as_bytes()).await;
                let _ = input.flush().await;
            }
        });
        let stdout = child.stdout.take();
        let events = tokio::spawn(async move {
            match stdout {
                Some(out) => shim_lines(out, SHIM_LINE_MAX, SHIM_OUTPUT_MAX).await,
                None => Default::default(),
            }
        });
        let stderr = child.stderr.take();
        let errors = tokio::spawn(async move {
            let mut text = Vec::new();
            if let Some(mut e) = stderr {
                let _ = (&mut e).take(64 * 1024).read_to_end(&mut text).await;
            }
            String::from_utf8_lossy(&text).into_owned()
        });
        let expected = to_send(&ops);
        let give_up = t.give_up;
        let (format, behaviour) = (self.format, self.behaviour);
        let server = tokio::spawn(async move {
            serve(listener, format, behaviour, deadline, give_up, &expected).await
        });

        let mut faults = Vec::new();
        let status = match timeout_at(deadline, child.wait()).await {
            Ok(Ok(status)) => Some(status),
            Ok(Err(e)) => {
                faults.push(format!("cannot wait for the client: {e}"));
                None
            }
            Err(_) => {
                let _ = child.kill().await;
                faults.push(format!(
                    "the client did not exit within {:?} against {} (it hangs instead of giving up)",
                    t.bound,
                    behaviour.describe()
                ));
                None
            }
        };
        feeder.abort();
        let served = match timeout(Duration::from_secs(2), server).await {
            Ok(Ok(s)) => s,
            _ => Served::default(),
        };
        let (lines, cut): (Vec<String>, Vec<String>) = timeout(Duration::from_secs(2), events)
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or_default();
        let stderr = timeout(Duration::from_secs(2), errors)
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or_default();
        evidence.sent = served.sent.bytes.clone();
        evidence.received = served.received.bytes.clone();
        evidence.sent_decoded = super::formats::describe(format, &served.sent.bytes, true);
        evidence.sent_decoded.push_str(&not_kept(&served.sent));
        evidence.received_decoded = super::formats::describe(format, &served.received.bytes, false);
        evidence
            .received_decoded
            .push_str(&not_kept(&served.received));
        if t.shim {
            evidence.received_decoded.push_str("\nshim events:\n");
            for l in lines.iter().take(200) {
                evidence.received_decoded.push_str(l);
                evidence.received_decoded.push('\n');
            }
            if lines.len() > 200 {
                evidence
                    .received_decoded
                    .push_str(&format!("({} more)\n", lines.len() - 200));
            }
        }

        if !served.connected && faults.is_empty() {
            faults.push("the client never connected".into());
        }
        faults.extend(served.faults.iter().cloned());
        faults.extend(cut);
        if let Some(status) = status {
            if !behaviour.gives_up() && !status.success() {
                let last = stderr.lines().last().unwrap_or("").trim().to_string();
                faults.push(format!(
                    "the client exited with {status} against {}{}",
                    behaviour.describe(),
                    if last.is_empty() {
                        String::new()
                    } else {
                        format!(" ({last})")
                    }
                ));
            }
        }
        if t.shim && status.is_some() {
            judge_events(format, behaviour, &ops, &served, &lines, &mut faults);
        }
        if t.shim && format == Format::Mux && !behaviour.gives_up() {
            for (channel, want) in to_send(&ops) {
                let empty = Kept::default();
                let got = served.got.get(&channel).unwrap_or(&empty);
                // At most `want.len()` bytes are kept: all of them when the
                // count is right, so the bytes are judged whole then.
                let seen = got.seen;
                if seen < want.len() as u64 && want.starts_with(&got.bytes) {
                    faults.push(format!(
                        "channel {channel}: the client sent {seen} of the {} bytes it was given \
                         (the payload was truncated, not split into frames)",
                        want.len()
                    ));
                } else if seen != want.len() as u64 || got.bytes != want.as_slice() {
                    faults.push(format!(
                        "channel {channel}: the client sent {seen} bytes, {}{} \
                         (expected the {} bytes it was given)",
                        preview(&got.bytes),
                        not_kept(got),
                        want.len()
                    ));
                }
            }
        }
        if faults.is_empty() {
            return Ok(());
        }
        // Each fault once, with how often it was seen.
        let mut seen: Vec<(String, usize)> = Vec::new();
        for f in faults {
            match seen.iter_mut().find(|(s, _)| *s == f) {
                Some((_, n)) => *n += 1,
                None => seen.push((f, 1)),
            }
        }
        Err(seen
            .into_iter()
            .map(|(f, n)| if n > 1 { format!("{f} ({n} times)") } else { f })
            .collect::<Vec<_>>()
            .join("; "))
    }
}

fn judge_events(
    format: Format,
    behaviour: Behaviour,
    ops: &[Value],
    served: &Served,
    lines: &[String],
    faults: &mut Vec<String>,
) {
    let mut events = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        match serde_json::from_str::<Value>(l) {
            Ok(v) if v.is_object() => events.push(v),
            _ => {
                faults.push(format!(
                    "shim output line {} is not a JSON object: {:?}",
                    i + 1,
                    l.chars().take(80).collect::<String>()
                ));
                return;
            }
        }
    }
    if events.last().and_then(|e| e["event"].as_str()) != Some("done") {
        faults.push("the shim did not end with {\"event\":\"done\"}".into());
    }
    if format == Format::Request {
        for op in ops {
            let tag = op["tag"].as_str().unwrap_or("");
            let mine: Vec<&Value> = events.iter().filter(|e| e["tag"] == tag).collect();
            let [event] = mine.as_slice() else {
                faults.push(format!(
                    "call {tag}: {} events (expected exactly one: a response or an error)",
                    mine.len()
                ));
                continue;
            };
            let kind = event["event"].as_str().unwrap_or("");
            if behaviour.gives_up() {
                if kind != "error" {
                    faults.push(format!(
                        "call {tag}: {kind} against {} (expected an error)",
                        behaviour.describe()
                    ));
                }
                continue;
            }
            let args = op["args"].as_str().unwrap_or("");
            let want = served.answers.get(args);
            match (kind, want) {
                ("response", Some(want)) if event["data"].as_str() == Some(want) => {}
                ("response", Some(want)) => faults.push(format!(
                    "call {tag}: delivered data {} (expected {want:?}, the answer to its own request)",
                    event["data"]
                )),
                (_, None) => faults.push(format!("call {tag}: its request never reached the server")),
                (other, _) => faults.push(format!(
                    "call {tag}: {other} {} (expected its response)",
                    event["message"]
                )),
            }
        }
        return;
    }
    // Mux: each channel's payloads, in order, are what the server sent on it.
    let mut delivered: BTreeMap<u16, Vec<u8>> = BTreeMap::new();
    for e in events.iter().filter(|e| e["event"] == "data") {
        let channel = e["channel"].as_u64().unwrap_or(u64::MAX) as u16;
        let payload =
            crate::hex::decode(e["payload"].as_str().unwrap_or("").as_bytes()).unwrap_or_default();
        delivered.entry(channel).or_default().extend(payload);
    }
    let channels: BTreeSet<u16> = delivered
        .keys()
        .chain(served.gave.keys())
        .copied()
        .collect();
    let empty = Kept::default();
    for c in channels {
        let got = delivered.get(&c).map_or(&[][..], Vec::as_slice);
        let gave = served.gave.get(&c).unwrap_or(&empty);
        // The kept head is compared byte for byte, the rest by count.
        let want = gave.bytes.as_slice();
        let head = got.len().min(want.len());
        let count = got.len() as u64;
        let ok = got[..head] == want[..head]
            && if behaviour.gives_up() {
                count <= gave.seen
            } else {
                count == gave.seen
            };
        if !ok {
            let at = got.iter().zip(want).position(|(a, b)| a != b);
            faults.push(match at {
                Some(i) => format!(
                    "channel {c}: delivered byte {i} as 0x{:02x} (expected 0x{:02x}: payloads out of order or mixed up)",
                    got[i], want[i]
                ),
                None => format!(
                    "channel {c}: delivered {} bytes (the server sent {}{})",
                    got.len(),
                    gave.seen,
                    if gave.dropped() > 0 {
                        format!("; only the first {} were kept and compared", want.len())
                    } else {
                        String::new()
                    }
                ),
            });
        }
    }
    if behaviour.gives_up() && !events.iter().any(|e| e["event"] == "error") {
        faults.push(format!(
            "no error reported against {} (expected one)",
            behaviour.describe()
        ));
    }
}

/// The shim's output lines, at most `total_max` bytes of them, none held
/// past `line_max`; and findings naming what was cut.
async fn shim_lines<R: tokio::io::AsyncRead + Unpin>(
    out: R,
    line_max: usize,
    total_max: usize,
) -> (Vec<String>, Vec<String>) {
    let mut lines = Vec::new();
    let mut cut = Vec::new();
    let mut kept = 0usize;
    let mut rd = BufReader::new(out);
    let mut line = Vec::new();
    let mut number = 0usize;
    let mut full = false;
    loop {
        line.clear();
        // One byte past the cap tells a line over it from one at it.
        let capped = (&mut rd).take(line_max as u64 + 1);
        match { capped }.read_until(b'\n', &mut line).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        number += 1;
        let ended = line.last() == Some(&b'\n');
        if ended {
            line.pop();
            if line.last() == Some(&b'\r') {
                line.pop();
            }
        } else if line.len() > line_max {
            cut.push(format!(
                "shim output line {number} is longer than {line_max} bytes (the rest of it was discarded)"
            ));
            skip_line(&mut rd).await;
            continue;
        }
        if kept + line.len() > total_max {
            if !full {
                cut.push(format!(
                    "the shim wrote over {total_max} bytes (line {number} and later were discarded)"
                ));
                full = true;
            }
            continue;
        }
        kept += line.len();
        lines.push(String::from_utf8_lossy(&line).into_owned());
    }
    (lines, cut)
}

/// Reads to just past the next newline (or the end), holding nothing.
async fn skip_line<R: tokio::io::AsyncBufRead + Unpin>(rd: &mut R) {
    loop {
        let Ok(buf) = rd.fill_buf().await else { return };
        if buf.is_empty() {
            return;
        }
        match buf.iter().position(|&b| b == b'\n') {
            Some(i) => {
                rd.consume(i + 1);
                return;
            }
            None => {
                let n = buf.len();
                rd.consume(n);
            }
        }
    }
}

async fn write(wr: &mut OwnedWriteHalf, served: &mut Served, bytes: &[u8], bytewise: bool) {
    served.sent.push(bytes, RECEIVED_KEPT_MAX);
    let mut rest = bytes;
    if bytewise {
        // The head byte by byte (headers and short replies whole); a long
        // payload's rest at once, so the case stays quick.
        let (head, tail) = bytes.split_at(bytes.len().min(BYTEWISE_MAX));
        for b in head {
            if wr.write_all(std::slice::from_ref(b)).await.is_err() {
                return;
            }
            let _ = wr.flush().await;
        }
        rest = tail;
    }
    let _ = wr.write_all(rest).await;
}

impl Served {
    fn gave(&mut self, channel: u16, bytes: &[u8]) {
        let k = self.gave.entry(channel).or_default();
        let before = k.bytes.len();
        let room = GAVE_KEPT_MAX.saturating_sub(self.gave_kept);
        k.push(bytes, before + room);
        self.gave_kept += k.bytes.len() - before;
    }
}

/// Says how many bytes were seen but not kept, if any.
fn not_kept(k: &Kept) -> String {
    match k.dropped() {
        0 => String::new(),
        n => format!(" ({n} more bytes not kept)"),
    }
}

/// A pending reply: the bytes, and (mux) its channel and payload.
struct Reply {
    bytes: Vec<u8>,
    channel: u16,
    payload: Vec<u8>,
    /// Request/response: the request's ID and args, the answer's data.
    id: String,
    args: String,
    data: String,
}

async fn serve(
    listener: TcpListener,
    format: Format,
    behaviour: Behaviour,
    deadline: Instant,
    give_up: Duration,
    expected: &BTreeMap<u16, Vec<u8>>,
) -> Served {
    let mut served = Served::default();
    let Ok(Ok((stream, _))) = timeout_at(deadline, listener.accept()).await else {
        return served;
    };
    served.connected = true;
    let _ = stream.set_nodelay(true);
    let (mut rd, mut wr) = stream.into_split();
    let mut buf = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    let mut pending: BTreeSet<String> = BTreeSet::new();
    let mut batch: Vec<Reply> = Vec::new();
    let mut answered = 0usize;
    let mut closed_write = false;
    let mut late_done = false;
    loop {
        let wait = if batch.is_empty() {
            deadline
        } else {
            deadline.min(Instant::now() + LULL)
        };
        let n = match timeout_at(wait, rd.read(&mut chunk)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => n,
            Err(_) if Instant::now() >= deadline => break,
            Err(_) => {
                // A lull: answer the batch.
                let mut replies = std::mem::take(&mut batch);
                if behaviour == Behaviour::OutOfOrder {
                    replies.reverse();
                    for r in &replies {
                        pending.remove(&r.id);
                        record(&mut served, format, r);
                        write(&mut wr, &mut served, &r.bytes, false).await;
                    }
                } else {
                    interleave(&mut wr, &mut served, &replies).await;
                }
                if done(format, behaviour, expected, &served, &batch) && !closed_write {
                    let _ = wr.shutdown().await;
                    closed_write = true;
                }
                continue;
            }
        };
        served.received.push(&chunk[..n], RECEIVED_KEPT_MAX);
        buf.extend_from_slice(&chunk[..n]);
        let mut used = 0;
        let mut replies = Vec::new();
        loop {
            let rest = &buf[used..];
            if rest.is_empty() {
                break;
            }
            match parse_one(format, rest) {
                Ok(Some((len, msg))) => {
                    used += len;
                    replies.push(msg);
                }
                Ok(None) => break,
                Err(e) => {
                    served.faults.push(format!(
                        "the client sent an invalid {} message at offset {}: {e}",
                        format.name(),
                        served.received.seen - (buf.len() - used) as u64
                    ));
                    return served;
                }
            }
        }
        buf.drain(..used);
        for r in replies {
            if format == Format::Request {
                if !pending.insert(r.id.clone()) {
                    served.faults.push(format!(
                        "the client reused ID {:?} while a request with it was pending (spec reqres §10)",
                        r.id
                    ));
                }
            } else {
                let max = expected.get(&r.channel).map_or(0, Vec::len);
                served
                    .got
                    .entry(r.channel)
                    .or_default()
                    .push(&r.payload, max);
            }
            match behaviour {
                Behaviour::Silent => {}
                Behaviour::OutOfOrder | Behaviour::Interleaved => batch.push(r),
                Behaviour::Malformed => {
                    write(&mut wr, &mut served, b"this is not a response\n", false).await;
                }
                Behaviour::OverLimit => {
                    write(&mut wr, &mut served, &filler(LONG_LEN), false).await;
                }
                Behaviour::CloseMid => {
                    let half = r.bytes.len() / 2;
                    write(&mut wr, &mut served, &r.bytes[..half.max(1)], false).await;
                    sleep(Duration::from_millis(20)).await;
                    return served;
                }
                _ => {
                    if behaviour == Behaviour::Late && !late_done {
                        sleep(give_up / 3).await;
                        late_done = true;
                    }
                    if behaviour == Behaviour::Unsolicited {
                        let stray = format!("unsolicited-{answered}:OK:nobody asked\n");
                        write(&mut wr, &mut served, stray.as_bytes(), false).await;
                    }
                    let r = if behaviour == Behaviour::Split {
                        long_reply(r)
                    } else {
                        r
                    };
                    pending.remove(&r.id);
                    record(&mut served, format, &r);
                    write(
                        &mut wr,
                        &mut served,
                        &r.bytes,
                        behaviour == Behaviour::Bytewise,
                    )
                    .await;
                }
            }
            answered += 1;
        }
        // Shim mux cases end when everything given has arrived and been
        // answered: the server closes, so the client's streams end.
        if !closed_write && done(format, behaviour, expected, &served, &batch) {
            let _ = wr.shutdown().await;
            closed_write = true;
        }
    }
    served
}

/// Shim mux cases: everything given has arrived and been answered.
fn done(
    format: Format,
    behaviour: Behaviour,
    expected: &BTreeMap<u16, Vec<u8>>,
    served: &Served,
    batch: &[Reply],
) -> bool {
    format == Format::Mux
        && !expected.is_empty()
        && batch.is_empty()
        && behaviour != Behaviour::Silent
        && expected
            .iter()
            .all(|(c, want)| served.got.get(c).map_or(0, |k| k.seen) >= want.len() as u64)
}

fn record(served: &mut Served, format: Format, r: &Reply) {
    if format == Format::Request {
        served.answers.insert(r.args.clone(), r.data.clone());
    } else {
        served.gave(r.channel, &r.payload);
    }
}

/// The batch's replies cut into 7-byte frames, the channels taking turns.
async fn interleave(wr: &mut OwnedWriteHalf, served: &mut Served, replies: &[Reply]) {
    let mut pieces: Vec<Vec<(u16, &[u8])>> = replies
        .iter()
        .map(|r| r.payload.chunks(7).map(|c| (r.channel, c)).collect())
        .collect();
    let mut out = Vec::new();
    let longest = pieces.iter().map(Vec::len).max().unwrap_or(0);
    for i in 0..longest {
        for p in pieces.iter_mut() {
            if let Some((c, bytes)) = p.get(i) {
                out.extend(message(Format::Mux, *c, bytes));
                served.gave(*c, bytes);
            }
        }
    }
    write(wr, served, &out, false).await;
}

/// A 70,000-byte reply for `r`'s channel, as two frames.
fn long_reply(r: Reply) -> Reply {
    let mut payload = r.payload.clone();
    payload.extend(filler(LONG_LEN.saturating_sub(payload.len())));
    let mut bytes = Vec::new();
    for c in payload.chunks(usize::from(u16::MAX)) {
        bytes.extend(message(Format::Mux, r.channel, c));
    }
    Reply {
        bytes,
        payload,
        ..r
    }
}

/// Parses one client message and builds the reference reply to it.
fn parse_one(format: Format, bytes: &[u8]) -> Result<Option<(usize, Reply)>, String> {
    if format == Format::Request {
        let limits = Default::default();
        return match RequestLine::parse(bytes, &limits) {
            Ok(Status::Complete(req, len)) => {
                // The reference reply, with no line limit.
                let request = wireforms::reqres::RequestBuf::from(req);
                let unlimited = wireforms::reqres::Limits::new(usize::MAX);
                let reply = <RequestLine as wireforms::reference::ReferenceServer>::replies(
                    request, &unlimited,
                )
                .map_err(|e| e.to_string())?
                .into_iter()
                .next()
                .ok_or("the reference server gives no reply")?;
                let mut out = BytesMut::new();
                reply.encode(&mut out).map_err(|e| e.to_string())?;
                Ok(Some((
                    len,
                    Reply {
                        bytes: out.to_vec(),
                        channel: 0,
                        payload: Vec::new(),
                        id: req.id.to_string(),
                        args: req.args.to_string(),
                        data: reply.data.to_string(),
                    },
                )))
            }
            Ok(Status::Incomplete(_)) => Ok(None),
            Err(e) => Err(e.to_string()),
        };
    }
    let limits = Default::default();
    match Mux::parse(bytes, &limits) {
        Ok(Status::Complete(frame, len)) => {
            // The echo of the frame, on its channel.
            let payload = frame.payload.to_vec();
            Ok(Some((
                len,
                Reply {
                    bytes: message(Format::Mux, frame.channel.0, &payload),
                    channel: frame.channel.0,
                    payload,
                    id: String::new(),
                    args: String::new(),
                    data: String::new(),
                },
            )))
        }
        Ok(Status::Incomplete(_)) => Ok(None),
        Err(e) => Err(e.to_string()),
    }
}

#[cfg(test)]
mod test {
    use super::*;

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(f)
    }

    /// A client streaming ~4 MiB of valid frames, reading the echoes.
    fn serve_a_streaming_client() -> (Served, u64) {
        block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let frames: Vec<u8> = (1..=8u16)
                .flat_map(|c| message(Format::Mux, c, &[0x55; 60_000]))
                .collect();
            let total = 8 * frames.len() as u64;
            let client = tokio::spawn(async move {
                let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
                let (mut rd, mut wr) = stream.into_split();
                let drain = tokio::spawn(async move {
                    let mut b = vec![0u8; 64 * 1024];
                    while matches!(rd.read(&mut b).await, Ok(n) if n > 0) {}
                });
                for _ in 0..8 {
                    wr.write_all(&frames).await.unwrap();
                }
                let _ = wr.shutdown().await;
                let _ = drain.await;
            });
            let expected = BTreeMap::from([(1u16, b"one".to_vec())]);
            let deadline = Instant::now() + Duration::from_secs(20);
            let served = serve(
                listener,
                Format::Mux,
                Behaviour::Correct,
                deadline,
                Duration::from_secs(1),
                &expected,
            )
            .await;
            client.await.unwrap();
            (served, total)
        })
    }

    #[test]
    fn a_long_shim_line_is_a_finding_and_not_held() {
        let mut out = b"{\"event\":\"a\"}\n".to_vec();
        out.extend([b'x'; 100]);
        out.extend(b"\n{\"event\":\"done\"}\n");
        let (lines, cut) = block_on(shim_lines(&out[..], 32, 1 << 20));
        assert_eq!(lines, ["{\"event\":\"a\"}", "{\"event\":\"done\"}"]);
        assert_eq!(cut.len(), 1, "{cut:?}");
        assert!(
            cut[0].contains("line 2") && cut[0].contains("32 bytes"),
            "{cut:?}"
        );
        // A line with no end at all: read to the end, never held.
        let (lines, cut) = block_on(shim_lines(&[b'y'; 10_000][..], 32, 1 << 20));
        assert!(lines.is_empty());
        assert_eq!(cut.len(), 1, "{cut:?}");
        // Past the total, a finding too.
        let (lines, cut) = block_on(shim_lines(&b"aaaa\nbbbb\ncccc\n"[..], 32, 9));
        assert_eq!(lines, ["aaaa", "bbbb"]);
        assert!(cut[0].contains("9 bytes"), "{cut:?}");
    }

    #[test]
    fn a_streaming_client_is_held_in_bounded_bytes() {
        let (served, total) = serve_a_streaming_client();
        assert!(served.faults.is_empty(), "{:?}", served.faults);
        assert!(served.received.bytes.len() <= RECEIVED_KEPT_MAX);
        assert_eq!(served.received.seen, total);
        assert!(served.sent.bytes.len() <= RECEIVED_KEPT_MAX);
        assert!(served.sent.seen > RECEIVED_KEPT_MAX as u64);
        let got: usize = served.got.values().map(|k| k.bytes.len()).sum();
        assert_eq!(got, 3, "only what channel 1 was given is kept");
        assert_eq!(served.got[&1].seen, 8 * 60_000);
        let gave: usize = served.gave.values().map(|k| k.bytes.len()).sum();
        assert_eq!(gave, GAVE_KEPT_MAX, "over all channels");
        assert_eq!(served.gave[&2].seen, 8 * 60_000);
        assert!(total > 4 * RECEIVED_KEPT_MAX as u64);
        assert!(not_kept(&served.received).contains("more bytes not kept"));
    }

    #[test]
    fn request_answers_are_recorded() {
        let (len, r) = parse_one(Format::Request, b"7:UPPER:abc\n")
            .unwrap()
            .unwrap();
        assert_eq!(len, 12);
        assert_eq!(r.bytes, b"7:OK:ABC\n");
        assert_eq!(r.id, "7");
        let long = long_reply(Reply {
            bytes: Vec::new(),
            channel: 3,
            payload: b"x".to_vec(),
            id: String::new(),
            args: String::new(),
            data: String::new(),
        });
        assert_eq!(long.payload.len(), LONG_LEN);
        assert_eq!(long.bytes.len(), LONG_LEN + 8);
    }
}
