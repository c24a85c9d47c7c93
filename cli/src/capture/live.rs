//! Live capture: an `AF_PACKET` raw socket (through socket2, no libpcap)
//! with a classic BPF program attached in the kernel, so only the chosen
//! interface's TCP and UDP packets to or from the chosen ports reach us.
//! Frames then take the same path as a capture file's.
//!
//! Linux only. Needs root or `CAP_NET_RAW`.

use std::io::{self, Read};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, bail, Context as _, Result};

use super::file::{Frame, Timestamp};
use super::layers::linktype;
use super::pcap_writer::{PcapWriter, SNAP_LEN};

/// What to capture.
pub struct LiveArgs<'a> {
    /// Interface name.
    pub interface: &'a str,
    /// TCP and UDP ports kept (either end).
    pub ports: &'a [u16],
    /// Stop after this many frames.
    pub packets: Option<u64>,
    /// Stop after this long.
    pub duration: Option<Duration>,
    /// Save the frames here.
    pub write: Option<&'a Path>,
}

/// How often the receive loop looks at the clock when no frame comes.
const POLL: Duration = Duration::from_millis(100);

/// The socket's receive queue, asked of the kernel (capped by
/// `net.core.rmem_max` unless root).
const RECV_BUFFER: usize = 8 << 20;

/// Most ports one filter program compares (jump offsets are 8-bit).
pub const MAX_PORTS: usize = 32;

/// Classic BPF, as `linux/filter.h` and `linux/bpf_common.h` define it.
mod bpf {
    pub const LD: u16 = 0x00;
    pub const LDX: u16 = 0x01;
    pub const JMP: u16 = 0x05;
    pub const RET: u16 = 0x06;
    pub const W: u16 = 0x00;
    pub const H: u16 = 0x08;
    pub const B: u16 = 0x10;
    pub const ABS: u16 = 0x20;
    pub const IND: u16 = 0x40;
    pub const MSH: u16 = 0xa0;
    pub const JA: u16 = 0x00;
    pub const JEQ: u16 = 0x10;
    pub const JSET: u16 = 0x40;
    /// Ancillary loads: `SKF_AD_OFF` (-4096) plus the field.
    pub const AD_PKTTYPE: u32 = 0xffff_f000 + 4;
    pub const AD_IFINDEX: u32 = 0xffff_f000 + 8;
    /// `PACKET_OUTGOING`: loopback shows each packet twice, once so.
    pub const PACKET_OUTGOING: u32 = 4;
}

/// Where a jump goes: the next instruction, a label, or the verdicts.
#[derive(Clone, Copy, PartialEq, Eq)]
enum To {
    Next,
    Label(u8),
    Accept,
    Drop,
}

enum Insn {
    Stmt(u16, u32),
    Jump(u16, u32, To, To),
    Label(u8),
}

const IPV4: u8 = 1;
const IPV4_TRANSPORT: u8 = 2;
const IPV6: u8 = 3;
const IPV6_TRANSPORT: u8 = 4;

/// The filter program: frames of interface `ifindex` (not the outgoing
/// copies on loopback), Ethernet-framed IPv4 (unfragmented) or IPv6 (no
/// extension headers), TCP or UDP, with either port in `ports`.
///
/// # Errors
/// More than [`MAX_PORTS`] ports.
pub fn filter_program(
    ifindex: u32,
    loopback: bool,
    ports: &[u16],
) -> Result<Vec<libc::sock_filter>> {
    use bpf::*;
    if ports.len() > MAX_PORTS {
        bail!("at most {MAX_PORTS} ports can be captured live");
    }
    let mut p = vec![
        Insn::Stmt(LD | W | ABS, AD_IFINDEX),
        Insn::Jump(JMP | JEQ, ifindex, To::Next, To::Drop),
    ];
    if loopback {
        p.push(Insn::Stmt(LD | W | ABS, AD_PKTTYPE));
        p.push(Insn::Jump(JMP | JEQ, PACKET_OUTGOING, To::Drop, To::Next));
    }
    // Ethernet type, then each IP version's protocol and ports.
    p.push(Insn::Stmt(LD | H | ABS, 12));
    p.push(Insn::Jump(JMP | JEQ, 0x0800, To::Label(IPV4), To::Next));
    p.push(Insn::Jump(JMP | JEQ, 0x86dd, To::Label(IPV6), To::Drop));
    let ports_at = |p: &mut Vec<Insn>, load: Insn| {
        p.push(load);
        for port in ports {
            p.push(Insn::Jump(
                JMP | JEQ,
                u32::from(*port),
                To::Accept,
                To::Next,
            ));
        }
    };
    p.push(Insn::Label(IPV4));
    p.push(Insn::Stmt(LD | B | ABS, 14 + 9));
    p.push(Insn::Jump(
        JMP | JEQ,
        6,
        To::Label(IPV4_TRANSPORT),
        To::Next,
    ));
    p.push(Insn::Jump(
        JMP | JEQ,
        17,
        To::Label(IPV4_TRANSPORT),
        To::Drop,
    ));
    p.push(Insn::Label(IPV4_TRANSPORT));
    // A fragment past the first has no ports.
    p.push(Insn::Stmt(LD | H | ABS, 14 + 6));
    p.push(Insn::Jump(JMP | JSET, 0x1fff, To::Drop, To::Next));
    p.push(Insn::Stmt(LDX | B | MSH, 14));
    ports_at(&mut p, Insn::Stmt(LD | H | IND, 14));
    ports_at(&mut p, Insn::Stmt(LD | H | IND, 16));
    p.push(Insn::Jump(JMP | JA, 0, To::Drop, To::Drop));
    p.push(Insn::Label(IPV6));
    p.push(Insn::Stmt(LD | B | ABS, 14 + 6));
    p.push(Insn::Jump(
        JMP | JEQ,
        6,
        To::Label(IPV6_TRANSPORT),
        To::Next,
    ));
    p.push(Insn::Jump(
        JMP | JEQ,
        17,
        To::Label(IPV6_TRANSPORT),
        To::Drop,
    ));
    p.push(Insn::Label(IPV6_TRANSPORT));
    ports_at(&mut p, Insn::Stmt(LD | H | ABS, 14 + 40));
    ports_at(&mut p, Insn::Stmt(LD | H | ABS, 14 + 42));
    assemble(&p)
}

/// Resolves labels into relative jumps; the program ends with the drop
/// and accept returns.
fn assemble(program: &[Insn]) -> Result<Vec<libc::sock_filter>> {
    use bpf::*;
    // Index of each real instruction and label.
    let mut labels = std::collections::HashMap::new();
    let mut n = 0usize;
    for insn in program {
        match insn {
            Insn::Label(l) => {
                labels.insert(*l, n);
            }
            _ => n += 1,
        }
    }
    let drop_at = n;
    let accept_at = n + 1;
    let mut out = Vec::with_capacity(n + 2);
    for insn in program {
        let at = out.len();
        let target = |to: To| -> Result<u8> {
            let dest = match to {
                To::Next => at + 1,
                To::Label(l) => *labels.get(&l).ok_or_else(|| anyhow!("no label {l}"))?,
                To::Accept => accept_at,
                To::Drop => drop_at,
            };
            u8::try_from(dest - at - 1).map_err(|_| anyhow!("filter program too long"))
        };
        match insn {
            Insn::Label(_) => {}
            Insn::Stmt(code, k) => out.push(libc::sock_filter {
                code: *code,
                jt: 0,
                jf: 0,
                k: *k,
            }),
            Insn::Jump(code, k, jt, jf) if *code == JMP | JA => {
                // `ja` jumps by k.
                let dest = target(*jt)?;
                let _ = jf;
                out.push(libc::sock_filter {
                    code: *code,
                    jt: 0,
                    jf: 0,
                    k: u32::from(dest) + k,
                });
            }
            Insn::Jump(code, k, jt, jf) => out.push(libc::sock_filter {
                code: *code,
                jt: target(*jt)?,
                jf: target(*jf)?,
                k: *k,
            }),
        }
    }
    out.push(libc::sock_filter {
        code: RET,
        jt: 0,
        jf: 0,
        k: 0,
    });
    out.push(libc::sock_filter {
        code: RET,
        jt: 0,
        jf: 0,
        k: SNAP_LEN,
    });
    Ok(out)
}

/// A number from `/sys/class/net/IFACE/NAME`.
fn sys_net(interface: &str, name: &str) -> Result<u32> {
    if interface.contains('/') || interface.is_empty() {
        bail!("{interface:?} is not an interface name");
    }
    let path = format!("/sys/class/net/{interface}/{name}");
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("no interface {interface:?} (cannot read {path})"))?;
    text.trim()
        .parse()
        .with_context(|| format!("unexpected contents of {path}"))
}

/// ARPHRD_ETHER and ARPHRD_LOOPBACK: both framed as Ethernet on a raw
/// packet socket.
const ARPHRD_ETHER: u32 = 1;
const ARPHRD_LOOPBACK: u32 = 772;

fn now() -> Timestamp {
    let t = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    Timestamp {
        secs: t.as_secs(),
        nanos: t.subsec_nanos(),
    }
}

/// Captures until `--packets` frames or `--duration` (or forever), handing
/// each frame to `each`.
///
/// # Errors
/// No such interface, no privilege to capture, socket errors, `each`'s.
pub fn capture(args: &LiveArgs<'_>, each: &mut dyn FnMut(Frame<'_>) -> Result<()>) -> Result<()> {
    use socket2::{Domain, Protocol, Socket, Type};
    let ifindex = sys_net(args.interface, "ifindex")?;
    let kind = sys_net(args.interface, "type")?;
    if kind != ARPHRD_ETHER && kind != ARPHRD_LOOPBACK {
        bail!(
            "interface {} has link type {kind}; live capture reads Ethernet and loopback",
            args.interface
        );
    }
    // ETH_P_ALL, in network byte order as the socket call wants it.
    let all = i32::from((libc::ETH_P_ALL as u16).to_be());
    let socket =
        Socket::new(Domain::PACKET, Type::RAW, Some(Protocol::from(all))).map_err(|e| {
            if e.kind() == io::ErrorKind::PermissionDenied {
                anyhow!(
                "cannot capture on {}: permission denied (live capture needs root or CAP_NET_RAW)",
                args.interface
            )
            } else {
                anyhow!("cannot open a packet socket: {e}")
            }
        })?;
    let program = filter_program(ifindex, kind == ARPHRD_LOOPBACK, args.ports)?;
    socket
        .attach_filter(&program)
        .map_err(|e| anyhow!("cannot attach the port filter: {e}"))?;
    // Loopback bursts 64 KiB frames: a small queue would drop them.
    let _ = socket.set_recv_buffer_size(RECV_BUFFER);
    socket
        .set_read_timeout(Some(POLL))
        .map_err(|e| anyhow!("cannot set the socket timeout: {e}"))?;
    // Frames queued before the filter was attached may be of any kind:
    // `layers` and the port map skip those.
    let mut writer = match args.write {
        Some(path) => {
            let f = std::fs::File::create(path)
                .with_context(|| format!("cannot write {}", path.display()))?;
            Some(PcapWriter::new(io::BufWriter::new(f), linktype::ETHERNET)?)
        }
        None => None,
    };
    let deadline = args.duration.map(|d| Instant::now() + d);
    let stop = stop_on_signal()?;
    let mut buf = vec![0u8; SNAP_LEN as usize];
    let mut number = 0u64;
    let mut reader = &socket;
    loop {
        if args.packets.is_some_and(|n| number >= n)
            || deadline.is_some_and(|d| Instant::now() >= d)
            || stop.load(Ordering::Relaxed)
        {
            break;
        }
        let len = match reader.read(&mut buf) {
            Ok(n) => n,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock
                        | io::ErrorKind::TimedOut
                        | io::ErrorKind::Interrupted
                ) =>
            {
                continue
            }
            Err(e) => bail!("cannot read from the packet socket: {e}"),
        };
        number += 1;
        let time = now();
        if let Some(w) = writer.as_mut() {
            w.write(time, &buf[..len])?;
        }
        each(Frame {
            number,
            time,
            link: linktype::ETHERNET,
            data: &buf[..len],
        })?;
    }
    if let Some(w) = writer {
        w.finish()?;
    }
    Ok(())
}

/// A flag set by SIGINT (Ctrl-C) or SIGTERM, so that a capture with no
/// `--packets` or `--duration` stops cleanly: the loop ends within one
/// poll, the `--write` file and the output are flushed whole and the
/// summary is printed. The handlers are in place when this returns.
fn stop_on_signal() -> Result<Arc<AtomicBool>> {
    use tokio::signal::unix::{signal, SignalKind};
    let stop = Arc::new(AtomicBool::new(false));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| anyhow!("cannot start the signal watcher: {e}"))?;
    let (mut interrupt, mut terminate) = {
        let _context = runtime.enter();
        let watch = |kind| signal(kind).map_err(|e| anyhow!("cannot watch for signals: {e}"));
        (
            watch(SignalKind::interrupt())?,
            watch(SignalKind::terminate())?,
        )
    };
    let flag = Arc::clone(&stop);
    std::thread::spawn(move || {
        runtime.block_on(async {
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
            }
        });
        flag.store(true, Ordering::Relaxed);
    });
    Ok(stop)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs the program over `frame` as the kernel would, for the parts
    /// used here (ancillary loads given).
    fn run(prog: &[libc::sock_filter], frame: &[u8], ifindex: u32, pkttype: u32) -> u32 {
        use bpf::*;
        let (mut a, mut x, mut pc) = (0u32, 0u32, 0usize);
        let byte = |i: usize| frame.get(i).copied().map(u32::from);
        loop {
            let i = &prog[pc];
            let class = i.code & 0x07;
            let size = i.code & 0x18;
            let mode = i.code & 0xe0;
            pc += 1;
            match class {
                c if c == RET => return i.k,
                c if c == LD => {
                    let at = match mode {
                        m if m == ABS => i.k as usize,
                        m if m == IND => (x + i.k) as usize,
                        _ => unreachable!(),
                    };
                    a = match (i.k, mode) {
                        (AD_IFINDEX, m) if m == ABS => ifindex,
                        (AD_PKTTYPE, m) if m == ABS => pkttype,
                        _ => {
                            let v = match size {
                                s if s == B => byte(at),
                                s if s == H => byte(at).zip(byte(at + 1)).map(|(h, l)| h << 8 | l),
                                _ => unreachable!(),
                            };
                            match v {
                                Some(v) => v,
                                None => return 0,
                            }
                        }
                    };
                }
                c if c == LDX => match byte(i.k as usize) {
                    Some(b) => x = 4 * (b & 0xf),
                    None => return 0,
                },
                c if c == JMP => {
                    let op = i.code & 0xf0;
                    if op == JA {
                        pc += i.k as usize;
                    } else {
                        let taken = if op == JEQ { a == i.k } else { a & i.k != 0 };
                        pc += usize::from(if taken { i.jt } else { i.jf });
                    }
                }
                _ => unreachable!(),
            }
        }
    }

    fn frame(v6: bool, udp: bool, sport: u16, dport: u16) -> Vec<u8> {
        let mut out = vec![0u8; 14];
        let builder = if v6 {
            out[12..14].copy_from_slice(&[0x86, 0xdd]);
            etherparse::PacketBuilder::ipv6([0; 16], [0; 16], 64)
        } else {
            out[12..14].copy_from_slice(&[0x08, 0x00]);
            etherparse::PacketBuilder::ipv4([127, 0, 0, 1], [127, 0, 0, 1], 64)
        };
        let mut ip = Vec::new();
        if udp {
            builder.udp(sport, dport).write(&mut ip, b"x").expect("udp");
        } else {
            builder
                .tcp(sport, dport, 1, 100)
                .write(&mut ip, b"x")
                .expect("tcp");
        }
        out.extend_from_slice(&ip);
        out
    }

    #[test]
    fn the_kernel_filter_keeps_our_ports_on_our_interface_only() {
        let prog = filter_program(1, true, &[9000, 9001]).expect("program");
        for v6 in [false, true] {
            for udp in [false, true] {
                assert_eq!(run(&prog, &frame(v6, udp, 40000, 9000), 1, 0), SNAP_LEN);
                assert_eq!(run(&prog, &frame(v6, udp, 9001, 40000), 1, 0), SNAP_LEN);
                assert_eq!(run(&prog, &frame(v6, udp, 40000, 9002), 1, 0), 0);
                // Another interface, and loopback's outgoing copy.
                assert_eq!(run(&prog, &frame(v6, udp, 40000, 9000), 2, 0), 0);
                assert_eq!(run(&prog, &frame(v6, udp, 40000, 9000), 1, 4), 0);
            }
        }
        // ARP is not IP.
        let mut arp = frame(false, false, 1, 9000);
        arp[12..14].copy_from_slice(&[0x08, 0x06]);
        assert_eq!(run(&prog, &arp, 1, 0), 0);
        // A later IPv4 fragment has no ports to read.
        let mut frag = frame(false, true, 40000, 9000);
        frag[14 + 7] = 1;
        assert_eq!(run(&prog, &frag, 1, 0), 0);
        // Off loopback, outgoing packets are kept.
        let prog = filter_program(3, false, &[9000]).expect("program");
        assert_eq!(
            run(&prog, &frame(false, false, 40000, 9000), 3, 4),
            SNAP_LEN
        );
    }

    #[test]
    fn too_many_ports_are_refused() {
        let ports: Vec<u16> = (1..=33).collect();
        assert!(filter_program(1, false, &ports).is_err());
        assert!(filter_program(1, false, &ports[..32]).is_ok());
    }
}
