//! Reading capture files, pcap and pcapng, through pcap-parser's streaming
//! reader: one bounded buffer whatever the file's size.

use std::io::Read;

use anyhow::{anyhow, bail, Result};
use pcap_parser::pcapng::Block;
use pcap_parser::traits::PcapReaderIterator;
use pcap_parser::{PcapBlockOwned, PcapError};

/// The reader's buffer: the largest block it can hold. Captures are cut
/// at a snap length of 262,144 bytes by tcpdump and dumpcap.
const BUFFER_LEN: usize = 1 << 20;

/// The most interfaces one pcapng section may describe. dumpcap writes one
/// per capturing interface; a file describing more is refused, so that a
/// flood of interface blocks cannot grow memory with the file's size.
pub const MAX_INTERFACES: usize = 4096;

/// A capture timestamp, from the Unix epoch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timestamp {
    /// Seconds.
    pub secs: u64,
    /// Nanoseconds within the second.
    pub nanos: u32,
}

impl std::fmt::Display for Timestamp {
    /// `SECONDS.NANOSECONDS`, as tshark's `frame.time_epoch`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{:09}", self.secs, self.nanos)
    }
}

/// One captured frame.
#[derive(Clone, Copy, Debug)]
pub struct Frame<'a> {
    /// 1-based number of the frame in the capture, as Wireshark counts.
    pub number: u64,
    /// When it was captured.
    pub time: Timestamp,
    /// Its link type (LINKTYPE_ value).
    pub link: u16,
    /// The captured bytes.
    pub data: &'a [u8],
}

/// What pcapng says of one interface.
#[derive(Clone, Copy)]
struct Interface {
    link: u16,
    /// Timestamp units per second.
    resolution: u64,
    /// Seconds added to every timestamp (`if_tsoffset`, may be negative).
    offset: i64,
}

/// A capture file being read.
pub struct CaptureReader {
    reader: Box<dyn PcapReaderIterator + Send>,
    /// Legacy pcap: the link type and whether timestamps are nanoseconds.
    legacy: Option<(u16, bool)>,
    interfaces: Vec<Interface>,
    number: u64,
}

fn pcap_error(e: &PcapError<&[u8]>) -> anyhow::Error {
    match e {
        PcapError::BufferTooSmall => {
            anyhow!("a capture block is larger than {BUFFER_LEN} bytes")
        }
        PcapError::HeaderNotRecognized => anyhow!("not a pcap or pcapng file"),
        PcapError::Incomplete(_) | PcapError::UnexpectedEof => {
            anyhow!("the capture ends inside a block")
        }
        other => anyhow!("cannot read the capture: {other:?}"),
    }
}

/// A pcapng packet's time: `ts` units of `iface.resolution` plus
/// `iface.offset` seconds; `None` when that is before the epoch or past
/// `u64` seconds. Computed here rather than by pcap-parser's `decode_ts`,
/// whose addition of the offset is unchecked and whose seconds are cut to
/// 32 bits.
fn pcapng_time(ts_high: u32, ts_low: u32, iface: Interface) -> Option<Timestamp> {
    let ts = (u64::from(ts_high) << 32) | u64::from(ts_low);
    let resolution = iface.resolution.max(1);
    let secs = (ts / resolution).checked_add_signed(iface.offset)?;
    let nanos = u128::from(ts % resolution) * 1_000_000_000 / u128::from(resolution);
    Some(Timestamp {
        secs,
        // Below 10^9 because the remainder is below the resolution.
        nanos: u32::try_from(nanos).unwrap_or(999_999_999),
    })
}

impl CaptureReader {
    /// Starts reading `input`.
    ///
    /// # Errors
    /// Not a pcap or pcapng file, or unreadable.
    pub fn new(input: impl Read + Send + 'static) -> Result<Self> {
        let reader = pcap_parser::create_reader(BUFFER_LEN, input).map_err(|e| match e {
            PcapError::Eof => anyhow!("the capture is empty"),
            other => pcap_error(&other),
        })?;
        Ok(CaptureReader {
            reader,
            legacy: None,
            interfaces: Vec::new(),
            number: 0,
        })
    }

    /// Hands the next frame to `each`; `Ok(false)` at the end.
    ///
    /// # Errors
    /// A damaged file, or an error from `each`.
    pub fn next_frame(&mut self, each: &mut dyn FnMut(Frame<'_>) -> Result<()>) -> Result<bool> {
        loop {
            match self.reader.next() {
                Ok((consumed, block)) => {
                    let frame = match block {
                        PcapBlockOwned::LegacyHeader(h) => {
                            self.legacy = Some((h.network.0 as u16, h.is_nanosecond_precision()));
                            None
                        }
                        PcapBlockOwned::Legacy(b) => {
                            let (link, nanosecond) = self.legacy.unwrap_or((1, false));
                            let nanos = if nanosecond {
                                b.ts_usec
                            } else {
                                b.ts_usec.saturating_mul(1000)
                            };
                            Some((
                                Timestamp {
                                    secs: u64::from(b.ts_sec),
                                    nanos: nanos.min(999_999_999),
                                },
                                link,
                                b.data,
                            ))
                        }
                        PcapBlockOwned::NG(Block::SectionHeader(_)) => {
                            // Interface ids are per section.
                            self.interfaces.clear();
                            None
                        }
                        PcapBlockOwned::NG(Block::InterfaceDescription(idb)) => {
                            if self.interfaces.len() >= MAX_INTERFACES {
                                bail!(
                                    "the capture describes more than {MAX_INTERFACES} interfaces in one section"
                                );
                            }
                            self.interfaces.push(Interface {
                                link: idb.linktype.0 as u16,
                                resolution: idb.ts_resolution().unwrap_or(1_000_000),
                                offset: idb.ts_offset(),
                            });
                            None
                        }
                        PcapBlockOwned::NG(Block::EnhancedPacket(epb)) => {
                            let Some(iface) = self.interfaces.get(epb.if_id as usize).copied()
                            else {
                                bail!("a packet names interface {} that the capture does not describe", epb.if_id);
                            };
                            let Some(time) = pcapng_time(epb.ts_high, epb.ts_low, iface) else {
                                bail!(
                                    "frame {}: its timestamp plus the interface's offset of {} s is outside 1970 to 2^64 s",
                                    self.number + 1,
                                    iface.offset
                                );
                            };
                            // The block's data is padded to 4 bytes.
                            let len = (epb.caplen as usize).min(epb.data.len());
                            Some((time, iface.link, &epb.data[..len]))
                        }
                        PcapBlockOwned::NG(Block::SimplePacket(spb)) => {
                            let link = self.interfaces.first().map_or(1, |i| i.link);
                            Some((Timestamp::default(), link, spb.data))
                        }
                        PcapBlockOwned::NG(_) => None,
                    };
                    let result = match frame {
                        Some((time, link, data)) => {
                            self.number += 1;
                            each(Frame {
                                number: self.number,
                                time,
                                link,
                                data,
                            })
                            .map(|()| true)
                        }
                        None => Ok(false),
                    };
                    self.reader.consume(consumed);
                    if result? {
                        return Ok(true);
                    }
                }
                Err(PcapError::Eof) => return Ok(false),
                Err(PcapError::Incomplete(_)) => {
                    if self.reader.reader_exhausted() {
                        bail!("the capture ends inside a block");
                    }
                    self.reader.refill().map_err(|e| pcap_error(&e))?;
                }
                Err(e) => return Err(pcap_error(&e)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A pcapng block: type, total length, body, total length again.
    fn block(kind: u32, body: &[u8]) -> Vec<u8> {
        let len = u32::try_from(12 + body.len()).unwrap();
        let mut b = kind.to_le_bytes().to_vec();
        b.extend_from_slice(&len.to_le_bytes());
        b.extend_from_slice(body);
        b.extend_from_slice(&len.to_le_bytes());
        b
    }

    fn section() -> Vec<u8> {
        let mut body = 0x1A2B_3C4Du32.to_le_bytes().to_vec();
        body.extend_from_slice(&[1, 0, 0, 0]); // version 1.0
        body.extend_from_slice(&(-1i64).to_le_bytes()); // section length unknown
        block(0x0A0D_0D0A, &body)
    }

    /// An Ethernet interface with `if_tsresol` and `if_tsoffset`.
    fn interface(tsresol: u8, tsoffset: i64) -> Vec<u8> {
        let mut body = vec![1, 0, 0, 0, 0, 0, 4, 0]; // link 1, reserved, snaplen
        body.extend_from_slice(&[9, 0, 1, 0, tsresol, 0, 0, 0]);
        body.extend_from_slice(&[14, 0, 8, 0]);
        body.extend_from_slice(&tsoffset.to_le_bytes());
        body.extend_from_slice(&[0, 0, 0, 0]); // opt_endofopt
        block(1, &body)
    }

    fn packet(ts: u64) -> Vec<u8> {
        let mut body = 0u32.to_le_bytes().to_vec(); // interface 0
        body.extend_from_slice(&u32::try_from(ts >> 32).unwrap().to_le_bytes());
        body.extend_from_slice(&u32::try_from(ts & 0xFFFF_FFFF).unwrap().to_le_bytes());
        body.extend_from_slice(&4u32.to_le_bytes());
        body.extend_from_slice(&4u32.to_le_bytes());
        body.extend_from_slice(&[1, 2, 3, 4]);
        block(6, &body)
    }

    /// The time of the first frame, or the reader's error.
    fn first_time(file: Vec<u8>) -> Result<Timestamp> {
        let mut reader = CaptureReader::new(std::io::Cursor::new(file))?;
        let mut time = None;
        reader.next_frame(&mut |frame| {
            time = Some(frame.time);
            Ok(())
        })?;
        time.ok_or_else(|| anyhow!("no frame"))
    }

    fn capture(tsresol: u8, tsoffset: i64, ts: u64) -> Vec<u8> {
        [section(), interface(tsresol, tsoffset), packet(ts)].concat()
    }

    #[test]
    fn a_timestamp_offset_past_u64_is_an_error_not_a_panic() {
        let err = first_time(capture(0, 1000, u64::MAX - 10)).unwrap_err();
        assert!(err.to_string().contains("frame 1: its timestamp"), "{err}");
    }

    #[test]
    fn a_negative_timestamp_offset_is_applied() {
        let time = first_time(capture(0, -100, 1000)).unwrap();
        assert_eq!(
            time,
            Timestamp {
                secs: 900,
                nanos: 0
            }
        );
        let err = first_time(capture(0, -1001, 1000)).unwrap_err();
        assert!(err.to_string().contains("offset of -1001 s"), "{err}");
    }

    #[test]
    fn seconds_past_32_bits_and_fractions_are_kept() {
        let time = first_time(capture(0, 5, 1 << 40)).unwrap();
        assert_eq!(
            time,
            Timestamp {
                secs: (1 << 40) + 5,
                nanos: 0
            }
        );
        // Nanosecond resolution: 1.5 s.
        let time = first_time(capture(9, 0, 1_500_000_000)).unwrap();
        assert_eq!(
            time,
            Timestamp {
                secs: 1,
                nanos: 500_000_000
            }
        );
    }

    #[test]
    fn a_flood_of_interface_blocks_is_refused() {
        let mut file = section();
        for _ in 0..5000 {
            file.extend_from_slice(&interface(6, 0));
        }
        file.extend_from_slice(&packet(0));
        let err = first_time(file).unwrap_err();
        assert!(
            err.to_string().contains("interfaces in one section"),
            "{err}"
        );
    }
}
