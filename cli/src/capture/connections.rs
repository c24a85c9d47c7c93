//! The table of connections a capture shows: which packets belong to which
//! connection and direction, each direction's reassembler and decoder, UDP
//! datagrams one by one, and a bound on how many connections are tracked.

use std::collections::HashMap;
use std::io::Write;
use std::net::SocketAddr;

use anyhow::Result;
use wireforms::transport::udp::parse_datagram;
use wireforms::WireFormat;

use crate::formats::{with_format, CliFormat, Format, LimitArgs};

use super::direction::Direction;
use super::file::Frame;
use super::layers::{self, Packet, Transport};
use super::output::{Context, Output};
use super::reassembly::{Delivery, Reassembler, Segment};

/// Connections tracked at once by default. With two directions each
/// holding at most one message at the limit plus [`MAX_PENDING_BYTES`]
/// out of order, this bounds a capture's memory (see `docs/capture.md`).
///
/// [`MAX_PENDING_BYTES`]: super::reassembly::MAX_PENDING_BYTES
pub const DEFAULT_MAX_CONNECTIONS: usize = 256;

/// A transport, as `--port P/tcp` or `P/udp` names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Proto {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
}

/// One `--port` value: a server port, the transport it is on (both when
/// `None`) and its format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PortRule {
    /// The server's port.
    pub port: u16,
    /// TCP or UDP only, or both.
    pub transport: Option<Proto>,
    /// The format spoken there.
    pub format: Format,
}

/// Which ports carry which format.
#[derive(Clone, Debug, Default)]
pub struct PortMap(pub Vec<PortRule>);

impl PortMap {
    fn format_of(&self, port: u16, transport: Proto) -> Option<Format> {
        self.0
            .iter()
            .find(|r| r.port == port && r.transport.is_none_or(|t| t == transport))
            .map(|r| r.format)
    }

    /// The server's side of a packet `src → dst`, if either port is ours:
    /// (server, format). When both are (a client's ephemeral port can be
    /// another server's), the destination is taken; TCP's SYN and known
    /// UDP flows correct that (see [`Table::frame`]).
    fn server_of(
        &self,
        src: SocketAddr,
        dst: SocketAddr,
        transport: Proto,
    ) -> Option<(SocketAddr, Format)> {
        if let Some(f) = self.format_of(dst.port(), transport) {
            return Some((dst, f));
        }
        self.format_of(src.port(), transport).map(|f| (src, f))
    }

    /// The ports, each once, for the kernel filter.
    pub fn ports(&self) -> Vec<u16> {
        let mut ports: Vec<u16> = self.0.iter().map(|r| r.port).collect();
        ports.sort_unstable();
        ports.dedup();
        ports
    }
}

/// The format of one direction: the line formats answer requests with
/// responses.
fn direction_format(server_format: Format, to_server: bool) -> Format {
    match server_format {
        Format::Request | Format::Response if to_server => Format::Request,
        Format::Request | Format::Response => Format::Response,
        other => other,
    }
}

struct Half {
    reassembler: Reassembler,
    decoder: Option<Direction>,
    format: Format,
}

struct Connection {
    stream: u64,
    client: SocketAddr,
    server: SocketAddr,
    /// 0: client to server; 1: server to client.
    halves: [Half; 2],
    last_frame: u64,
}

/// Figures for the summary and the memory bound.
#[derive(Clone, Copy, Debug, Default)]
pub struct TableStats {
    /// Frames read.
    pub frames: u64,
    /// Frames not TCP or UDP on a selected port.
    pub ignored_frames: u64,
    /// TCP connections seen.
    pub connections: u64,
    /// Most connections tracked at once.
    pub peak_connections: usize,
    /// Connections dropped from the table to stay within the bound.
    pub evicted: u64,
    /// Most bytes held at once by decoders and reassemblers, summed.
    pub peak_held: usize,
    /// Segments seen again, or overlapping.
    pub retransmitted: u64,
    /// Segments that arrived out of order.
    pub out_of_order: u64,
}

/// All connections of a capture.
pub struct Table<W: Write> {
    ports: PortMap,
    limits: LimitArgs,
    max_connections: usize,
    connections: HashMap<(SocketAddr, SocketAddr), Connection>,
    next_stream: u64,
    udp_streams: HashMap<(SocketAddr, SocketAddr), u64>,
    next_udp_stream: u64,
    /// The printer.
    pub out: Output<W>,
    /// The figures.
    pub stats: TableStats,
}

impl<W: Write> Table<W> {
    /// An empty table.
    pub fn new(ports: PortMap, limits: LimitArgs, max_connections: usize, out: Output<W>) -> Self {
        Table {
            ports,
            limits,
            max_connections: max_connections.max(1),
            connections: HashMap::new(),
            next_stream: 0,
            udp_streams: HashMap::new(),
            next_udp_stream: 0,
            out,
            stats: TableStats::default(),
        }
    }

    /// Takes one captured frame.
    ///
    /// # Errors
    /// Output errors.
    pub fn frame(&mut self, frame: &Frame<'_>) -> Result<()> {
        self.stats.frames += 1;
        let Ok(packet) = layers::parse(frame.link, frame.data) else {
            self.stats.ignored_frames += 1;
            return Ok(());
        };
        let transport = match packet.transport {
            Transport::Udp(_) => Proto::Udp,
            Transport::Tcp { .. } => Proto::Tcp,
        };
        let Some((mut server, mut format)) =
            self.ports.server_of(packet.src, packet.dst, transport)
        else {
            self.stats.ignored_frames += 1;
            return Ok(());
        };
        // A reply on a UDP flow seen from its client first: the source is
        // the server even when the client's port is some server's too.
        if transport == Proto::Udp
            && server == packet.dst
            && self.udp_streams.contains_key(&(packet.dst, packet.src))
        {
            if let Some(f) = self.ports.format_of(packet.src.port(), Proto::Udp) {
                (server, format) = (packet.src, f);
            }
        }
        match packet.transport {
            Transport::Udp(payload) => self.datagram(frame, &packet, server, format, payload),
            Transport::Tcp { .. } => self.segment(frame, &packet, server, format),
        }
    }

    fn datagram(
        &mut self,
        frame: &Frame<'_>,
        packet: &Packet<'_>,
        server: SocketAddr,
        format: Format,
        payload: &[u8],
    ) -> Result<()> {
        let to_server = packet.dst == server;
        let client = if to_server { packet.src } else { packet.dst };
        let key = (client, server);
        if !self.udp_streams.contains_key(&key) && self.udp_streams.len() >= self.max_connections {
            // Datagrams keep no state: forgetting a flow only renumbers it.
            self.udp_streams.clear();
        }
        let next = &mut self.next_udp_stream;
        let stream = *self.udp_streams.entry(key).or_insert_with(|| {
            *next += 1;
            *next - 1
        });
        let ctx = Context {
            time: frame.time,
            frame: frame.number,
            transport: "udp",
            stream,
            src: packet.src,
            dst: packet.dst,
        };
        let format = direction_format(format, to_server);
        let limits = self.limits;
        let out = &mut self.out;
        with_format!(format, F => {
            let limits = F::limits(&limits)?;
            match parse_datagram::<F>(bytes::Bytes::copy_from_slice(payload), &limits) {
                Ok(owned) => out.message::<F>(&ctx, 0, &F::as_message(&owned), payload),
                Err(error) => out.error(&ctx, format, 0, error),
            }
        })
    }

    fn segment(
        &mut self,
        frame: &Frame<'_>,
        packet: &Packet<'_>,
        server: SocketAddr,
        format: Format,
    ) -> Result<()> {
        let Transport::Tcp {
            seq,
            ack,
            syn,
            fin,
            rst,
            payload,
        } = packet.transport
        else {
            return Ok(());
        };
        // A SYN without ACK names the client, whatever the ports say.
        let (client, server) = if syn && ack.is_none() {
            (packet.src, packet.dst)
        } else if packet.dst == server {
            (packet.src, server)
        } else {
            (packet.dst, server)
        };
        let key = if self.connections.contains_key(&(client, server)) {
            (client, server)
        } else if self.connections.contains_key(&(server, client)) {
            (server, client)
        } else {
            if payload.is_empty() && !syn {
                // A bare ACK, FIN or RST of a connection we do not track
                // says nothing worth a table slot.
                return Ok(());
            }
            self.open(client, server, format, frame.number)?;
            (client, server)
        };
        let Some(conn) = self.connections.get_mut(&key) else {
            return Ok(());
        };
        conn.last_frame = frame.number;
        let from_client = packet.src == conn.client;
        let (this, other) = if from_client { (0, 1) } else { (1, 0) };
        let ctx = Context {
            time: frame.time,
            frame: frame.number,
            transport: "tcp",
            stream: conn.stream,
            src: packet.src,
            dst: packet.dst,
        };
        let reverse = Context {
            src: packet.dst,
            dst: packet.src,
            ..ctx
        };
        let limits = self.limits;
        let out = &mut self.out;
        // What the other side acknowledges tells of bytes the capture missed.
        if let Some(ack) = ack {
            feed(
                &mut conn.halves[other],
                &reverse,
                limits,
                out,
                false,
                |r, sink| {
                    r.acknowledged(ack, sink);
                },
            )?;
        }
        let seg = Segment {
            seq,
            syn,
            fin,
            rst,
            payload,
        };
        feed(&mut conn.halves[this], &ctx, limits, out, syn, |r, sink| {
            r.segment(seg, sink);
        })?;
        if rst {
            // A reset ends both directions.
            feed(
                &mut conn.halves[other],
                &reverse,
                limits,
                out,
                false,
                |r, sink| {
                    r.segment(
                        Segment {
                            rst: true,
                            payload: &[],
                            syn: false,
                            fin: false,
                            seq: 0,
                        },
                        sink,
                    );
                },
            )?;
        }
        let held: usize = self.connections.values().map(held_bytes).sum();
        self.stats.peak_held = self.stats.peak_held.max(held);
        if let Some(conn) = self.connections.get(&key) {
            if conn.halves.iter().all(|h| h.reassembler.ended()) {
                self.close(key, &ctx)?;
            }
        }
        Ok(())
    }

    fn open(
        &mut self,
        client: SocketAddr,
        server: SocketAddr,
        format: Format,
        frame: u64,
    ) -> Result<()> {
        if self.connections.len() >= self.max_connections {
            let oldest = self
                .connections
                .iter()
                .min_by_key(|(_, c)| c.last_frame)
                .map(|(k, c)| (*k, c.stream));
            if let Some((key, _)) = oldest {
                self.stats.evicted += 1;
                self.finish_one(key)?;
            }
        }
        let half = |to_server| Half {
            reassembler: Reassembler::new(),
            decoder: None,
            format: direction_format(format, to_server),
        };
        self.connections.insert(
            (client, server),
            Connection {
                stream: self.next_stream,
                client,
                server,
                halves: [half(true), half(false)],
                last_frame: frame,
            },
        );
        self.next_stream += 1;
        self.stats.connections += 1;
        self.stats.peak_connections = self.stats.peak_connections.max(self.connections.len());
        Ok(())
    }

    fn close(&mut self, key: (SocketAddr, SocketAddr), _ctx: &Context) -> Result<()> {
        if let Some(conn) = self.connections.remove(&key) {
            self.count(&conn);
        }
        Ok(())
    }

    fn count(&mut self, conn: &Connection) {
        for h in &conn.halves {
            let s = h.reassembler.stats();
            self.stats.retransmitted += s.retransmitted;
            self.stats.out_of_order += s.out_of_order;
        }
    }

    /// Ends one connection as the capture ends: holes become gaps, an
    /// unfinished message is reported truncated.
    fn finish_one(&mut self, key: (SocketAddr, SocketAddr)) -> Result<()> {
        let Some(mut conn) = self.connections.remove(&key) else {
            return Ok(());
        };
        let limits = self.limits;
        for (i, half) in conn.halves.iter_mut().enumerate() {
            let (src, dst) = if i == 0 {
                (conn.client, conn.server)
            } else {
                (conn.server, conn.client)
            };
            let ctx = Context {
                time: Default::default(),
                frame: conn.last_frame,
                transport: "tcp",
                stream: conn.stream,
                src,
                dst,
            };
            feed(half, &ctx, limits, &mut self.out, false, |r, sink| {
                r.finish(sink)
            })?;
            if !half.reassembler.ended() {
                if let Some(d) = half.decoder.as_mut() {
                    d.end(&ctx, false, &mut self.out)?;
                }
            }
        }
        self.count(&conn);
        Ok(())
    }

    /// The capture ended: every connection still open is finished, in the
    /// order they appeared.
    ///
    /// # Errors
    /// Output errors.
    pub fn finish(&mut self) -> Result<()> {
        let mut keys: Vec<_> = self
            .connections
            .iter()
            .map(|(k, c)| (c.stream, *k))
            .collect();
        keys.sort();
        for (_, key) in keys {
            self.finish_one(key)?;
        }
        self.out.flush()
    }
}

fn held_bytes(c: &Connection) -> usize {
    c.halves
        .iter()
        .map(|h| h.reassembler.held() + h.decoder.as_ref().map_or(0, Direction::buffered))
        .sum()
}

/// Runs `step` on a half's reassembler and hands what it delivers to the
/// half's decoder (made at the first delivery, when it is known whether the
/// capture joined mid-connection).
fn feed<W: Write>(
    half: &mut Half,
    ctx: &Context,
    limits: LimitArgs,
    out: &mut Output<W>,
    syn: bool,
    step: impl FnOnce(&mut Reassembler, &mut dyn FnMut(Delivery<'_>)),
) -> Result<()> {
    let Half {
        reassembler,
        decoder,
        format,
    } = half;
    // Known before the first segment is taken: it starts the stream.
    let mid_stream = reassembler.mid_stream() || (!reassembler.started() && !syn);
    let mut failed = None;
    let mut sink = |d: Delivery<'_>| {
        if failed.is_some() {
            return;
        }
        let decoder = decoder.get_or_insert_with(|| Direction::new(*format, limits, mid_stream));
        let r = match d {
            Delivery::Data { offset, bytes } => decoder.data(ctx, offset, bytes, out),
            Delivery::Gap { offset, len } => decoder.gap(ctx, offset, len, out),
            Delivery::End { .. } => decoder.end(ctx, true, out),
        };
        if let Err(e) = r {
            failed = Some(e);
        }
    };
    step(reassembler, &mut sink);
    match failed {
        Some(e) => Err(e),
        None => Ok(()),
    }
}
