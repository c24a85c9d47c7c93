//! From a captured frame to its TCP segment or UDP datagram: the link
//! layer (Ethernet, Linux cooked SLL and SLL2, BSD loopback/null, raw IP),
//! IPv4 or IPv6, then TCP or UDP, through etherparse.

use std::net::{IpAddr, SocketAddr};

use etherparse::{EtherType, NetSlice, SlicedPacket, TransportSlice};

/// Link types read (the pcap LINKTYPE_ values).
pub mod linktype {
    /// BSD loopback: a 4-byte address family in the writer's byte order.
    pub const NULL: u16 = 0;
    /// Ethernet II.
    pub const ETHERNET: u16 = 1;
    /// Raw IPv4 or IPv6, no link header.
    pub const RAW: u16 = 101;
    /// OpenBSD loopback: a 4-byte address family, big-endian.
    pub const LOOP: u16 = 108;
    /// Linux cooked capture v1 (`tcpdump -i any`).
    pub const LINUX_SLL: u16 = 113;
    /// Linux cooked capture v2 (`tcpdump -i any` since libpcap 1.10).
    pub const LINUX_SLL2: u16 = 276;
}

/// Length of a Linux cooked v2 header; the protocol is its first 2 bytes.
const SLL2_HEADER_LEN: usize = 20;
/// Length of the BSD loopback family field.
const NULL_HEADER_LEN: usize = 4;

/// A transport packet's contents.
#[derive(Clone, Copy, Debug)]
pub enum Transport<'a> {
    /// A TCP segment.
    Tcp {
        /// Sequence number.
        seq: u32,
        /// Acknowledgement number, when ACK is set.
        ack: Option<u32>,
        /// SYN flag.
        syn: bool,
        /// FIN flag.
        fin: bool,
        /// RST flag.
        rst: bool,
        /// Payload.
        payload: &'a [u8],
    },
    /// A UDP datagram's payload.
    Udp(&'a [u8]),
}

/// One TCP or UDP packet of a capture.
#[derive(Clone, Copy, Debug)]
pub struct Packet<'a> {
    /// Sender.
    pub src: SocketAddr,
    /// Receiver.
    pub dst: SocketAddr,
    /// What it carries.
    pub transport: Transport<'a>,
}

/// Why a frame was not a TCP or UDP packet we can read.
#[derive(Debug, PartialEq, Eq)]
pub enum Skip {
    /// A link type this reader does not know.
    LinkType(u16),
    /// Not IP, not TCP or UDP, a fragment, or too short to say.
    NotTcpUdp,
}

/// Reads `frame` of link type `link`.
///
/// # Errors
/// [`Skip`] for a frame that is not a whole TCP or UDP packet.
pub fn parse(link: u16, frame: &[u8]) -> Result<Packet<'_>, Skip> {
    let sliced = match link {
        linktype::ETHERNET => SlicedPacket::from_ethernet(frame),
        linktype::LINUX_SLL => SlicedPacket::from_linux_sll(frame),
        linktype::LINUX_SLL2 => {
            let proto = frame.get(..2).ok_or(Skip::NotTcpUdp)?;
            let rest = frame.get(SLL2_HEADER_LEN..).ok_or(Skip::NotTcpUdp)?;
            SlicedPacket::from_ether_type(EtherType(u16::from_be_bytes([proto[0], proto[1]])), rest)
        }
        // The family's byte order varies by writer; the IP header's version
        // says what follows, so the family is not needed.
        linktype::NULL | linktype::LOOP => {
            SlicedPacket::from_ip(frame.get(NULL_HEADER_LEN..).ok_or(Skip::NotTcpUdp)?)
        }
        linktype::RAW => SlicedPacket::from_ip(frame),
        other => return Err(Skip::LinkType(other)),
    }
    .map_err(|_| Skip::NotTcpUdp)?;
    let (src_ip, dst_ip, fragmented): (IpAddr, IpAddr, bool) = match &sliced.net {
        Some(NetSlice::Ipv4(ip)) => (
            ip.header().source_addr().into(),
            ip.header().destination_addr().into(),
            ip.is_payload_fragmented(),
        ),
        Some(NetSlice::Ipv6(ip)) => (
            ip.header().source_addr().into(),
            ip.header().destination_addr().into(),
            ip.is_payload_fragmented(),
        ),
        None => return Err(Skip::NotTcpUdp),
    };
    if fragmented {
        return Err(Skip::NotTcpUdp);
    }
    let (sport, dport, transport) = match sliced.transport {
        Some(TransportSlice::Tcp(tcp)) => (
            tcp.source_port(),
            tcp.destination_port(),
            Transport::Tcp {
                seq: tcp.sequence_number(),
                ack: tcp.ack().then(|| tcp.acknowledgment_number()),
                syn: tcp.syn(),
                fin: tcp.fin(),
                rst: tcp.rst(),
                payload: tcp.payload(),
            },
        ),
        Some(TransportSlice::Udp(udp)) => (
            udp.source_port(),
            udp.destination_port(),
            Transport::Udp(udp.payload()),
        ),
        _ => return Err(Skip::NotTcpUdp),
    };
    Ok(Packet {
        src: SocketAddr::new(src_ip, sport),
        dst: SocketAddr::new(dst_ip, dport),
        transport,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::PacketBuilder;

    fn tcp_over_ipv4(payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        PacketBuilder::ipv4([127, 0, 0, 1], [127, 0, 0, 2], 64)
            .tcp(40000, 9000, 1234, 65535)
            .syn()
            .write(&mut out, payload)
            .expect("write");
        out
    }

    fn check(p: Packet<'_>) {
        assert_eq!(p.src, "127.0.0.1:40000".parse().expect("addr"));
        assert_eq!(p.dst, "127.0.0.2:9000".parse().expect("addr"));
        match p.transport {
            Transport::Tcp {
                seq, syn, payload, ..
            } => {
                assert_eq!((seq, syn, payload), (1234, true, &b"hi"[..]));
            }
            Transport::Udp(_) => panic!("not udp"),
        }
    }

    #[test]
    fn every_link_type_reaches_the_same_segment() {
        let ip = tcp_over_ipv4(b"hi");
        let mut eth = vec![0; 12];
        eth.extend_from_slice(&[0x08, 0x00]);
        eth.extend_from_slice(&ip);
        check(parse(linktype::ETHERNET, &eth).expect("ethernet"));
        let mut null = 2u32.to_le_bytes().to_vec();
        null.extend_from_slice(&ip);
        check(parse(linktype::NULL, &null).expect("null"));
        check(parse(linktype::RAW, &ip).expect("raw"));
        // SLL: packet type, ARPHRD, address length, 8 address bytes, protocol.
        let mut sll = vec![0, 0, 0, 1, 0, 6, 0, 0, 0, 0, 0, 0, 0, 0, 0x08, 0x00];
        sll.extend_from_slice(&ip);
        check(parse(linktype::LINUX_SLL, &sll).expect("sll"));
        // SLL2: protocol, reserved, ifindex, ARPHRD, type, addr len, 8 address bytes.
        let mut sll2 = vec![0x08, 0x00, 0, 0, 0, 0, 0, 1, 0x03, 0x04, 0, 6];
        sll2.extend_from_slice(&[0; 8]);
        sll2.extend_from_slice(&ip);
        check(parse(linktype::LINUX_SLL2, &sll2).expect("sll2"));
    }

    #[test]
    fn ipv6_udp() {
        let mut out = Vec::new();
        PacketBuilder::ipv6([0; 16], [0; 16], 64)
            .udp(1, 2)
            .write(&mut out, b"x")
            .expect("write");
        let p = parse(linktype::RAW, &out).expect("udp");
        assert!(matches!(p.transport, Transport::Udp(b"x")));
        assert_eq!(p.dst.port(), 2);
    }

    #[test]
    fn unknown_link_and_short_frames_are_skipped_not_fatal() {
        assert_eq!(parse(999, b"").unwrap_err(), Skip::LinkType(999));
        assert_eq!(
            parse(linktype::ETHERNET, b"\0\0").unwrap_err(),
            Skip::NotTcpUdp
        );
        assert_eq!(
            parse(linktype::LINUX_SLL2, b"\x08").unwrap_err(),
            Skip::NotTcpUdp
        );
        let ip = tcp_over_ipv4(b"hi");
        assert_eq!(
            parse(linktype::RAW, &ip[..ip.len() - 10]).unwrap_err(),
            Skip::NotTcpUdp
        );
    }
}
