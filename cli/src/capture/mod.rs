//! `decode --pcap FILE` and `decode --live IFACE`: the formats in captured
//! traffic.
//!
//! ```text
//! capture file (file.rs) ─┐
//!                         ├─ frames ─ layers.rs ─ TCP/UDP ─ connections.rs
//! AF_PACKET (live.rs) ────┘                                   │
//!            each TCP direction: reassembly.rs ─ bytes ─ direction.rs ─ output.rs
//!            each UDP datagram:  parse_datagram ──────────────────────── output.rs
//! ```
//!
//! Memory is bounded whatever the capture's size: the file is read through
//! one 1 MiB buffer; each TCP direction holds at most
//! [`reassembly::MAX_PENDING_BYTES`] out of order (per-piece bookkeeping
//! counted, plus the segment being taken in) and a decode buffer of one
//! message at the format's limit plus one segment, which can grow to twice
//! that in capacity and is given back once the message is parsed; at most `--max-connections`
//! connections are tracked (the least recently active is finished and
//! dropped to make room).

pub mod connections;
pub mod direction;
pub mod file;
pub mod layers;
pub mod live;
pub mod output;
pub mod pcap_writer;
pub mod reassembly;

use std::io::{self, Write};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context as _, Result};

use crate::decode::Style;
use crate::formats::{Format, LimitArgs};

use self::connections::{PortMap, PortRule, Proto, Table};
use self::output::Output;

/// Where the frames come from.
pub enum Source {
    /// A pcap or pcapng file.
    File(PathBuf),
    /// Live traffic on an interface.
    Live {
        /// The interface (`lo`, `eth0`).
        interface: String,
        /// Stop after this many frames.
        packets: Option<u64>,
        /// Stop after this long.
        duration: Option<Duration>,
        /// Save what was seen here, as pcap.
        write: Option<PathBuf>,
    },
}

/// Options of `decode --pcap` and `--live`.
pub struct CaptureArgs {
    /// The frames.
    pub source: Source,
    /// The format of `--port P` given without one.
    pub format: Option<Format>,
    /// `P` or `P:FORMAT`, one or more.
    pub ports: Vec<String>,
    /// Receiver limits.
    pub limits: LimitArgs,
    /// How to print.
    pub style: Style,
    /// Connections tracked at once.
    pub max_connections: usize,
}

/// Reads `--port` values: `9000` (with `--format`), `9000:typed`, and
/// either with a transport, `9000/udp:typed` (as `/etc/services` writes
/// it), when a port number is a TCP server of one format and a UDP server
/// of another, or to keep a client's port from being taken for a server's.
///
/// # Errors
/// A value that is none of these, or no port at all.
pub fn port_map(ports: &[String], format: Option<Format>) -> Result<PortMap> {
    let mut map = Vec::new();
    for spec in ports.iter().flat_map(|p| p.split(',')) {
        let (port, fmt) = match spec.split_once(':') {
            Some((p, f)) => (
                p,
                Some(Format::from_name(f).with_context(|| {
                    format!("--port {spec}: unknown format {f:?} (typed, magic, frame, mux, request, response)")
                })?),
            ),
            None => (spec, None),
        };
        let (port, transport) = match port.trim().split_once('/') {
            None => (port, None),
            Some((p, "tcp")) => (p, Some(Proto::Tcp)),
            Some((p, "udp")) => (p, Some(Proto::Udp)),
            Some((_, other)) => {
                bail!("--port {spec}: unknown transport {other:?} (tcp or udp)")
            }
        };
        let port: u16 = port
            .trim()
            .parse()
            .with_context(|| format!("--port {spec}: not a port number"))?;
        let Some(fmt) = fmt.or(format) else {
            bail!("--port {spec}: which format? Add --format F or write {port}:FORMAT");
        };
        map.push(PortRule {
            port,
            transport,
            format: fmt,
        });
    }
    if map.is_empty() {
        bail!("which traffic? Give the server port: --port P (with --format F) or --port P:FORMAT");
    }
    Ok(PortMap(map))
}

/// Runs `decode --pcap` or `--live`; returns the exit status (1 when any
/// stream held a wire error).
///
/// # Errors
/// Bad options, an unreadable capture, no capture privilege.
pub fn decode_capture(args: &CaptureArgs) -> Result<i32> {
    let ports = port_map(&args.ports, args.format)?;
    // Check the limits against every format now, not at the first packet.
    for rule in &ports.0 {
        direction::Direction::max_buffer(rule.format, &args.limits)?;
    }
    let stdout = io::stdout();
    let out = Output::new(
        io::BufWriter::with_capacity(64 * 1024, stdout.lock()),
        args.style,
    );
    let mut table = Table::new(ports.clone(), args.limits, args.max_connections, out);
    match &args.source {
        Source::File(path) => {
            let f = std::fs::File::open(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            let mut reader = file::CaptureReader::new(io::BufReader::new(f))
                .with_context(|| format!("cannot read {}", path.display()))?;
            while reader.next_frame(&mut |frame| table.frame(&frame))? {}
        }
        Source::Live {
            interface,
            packets,
            duration,
            write,
        } => {
            let ports = ports.ports();
            live::capture(
                &live::LiveArgs {
                    interface,
                    ports: &ports,
                    packets: *packets,
                    duration: *duration,
                    write: write.as_deref(),
                },
                &mut |frame| table.frame(&frame),
            )?;
        }
    }
    table.finish()?;
    let totals = table.out.totals;
    let s = table.stats;
    if args.style == Style::Count {
        let mut out = io::stdout().lock();
        writeln!(
            out,
            "{} messages, {} bytes, {} errors",
            totals.messages, totals.message_bytes, totals.errors
        )
        .map_err(crate::decode::output_error)?;
    }
    eprintln!(
        "capture: {} frames ({} not selected), {} TCP connections (at most {} at once, {} evicted), \
         {} messages, {} errors, {} bytes lost, {} skipped; at most {} bytes held",
        s.frames,
        s.ignored_frames,
        s.connections,
        s.peak_connections,
        s.evicted,
        totals.messages,
        totals.errors,
        totals.lost_bytes,
        totals.skipped_bytes,
        s.peak_held
    );
    Ok(i32::from(totals.errors > 0))
}
