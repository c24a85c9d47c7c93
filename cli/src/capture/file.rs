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
    offset: u64,
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
                            self.interfaces.push(Interface {
                                link: idb.linktype.0 as u16,
                                resolution: idb.ts_resolution().unwrap_or(1_000_000),
                                offset: u64::try_from(idb.ts_offset()).unwrap_or(0),
                            });
                            None
                        }
                        PcapBlockOwned::NG(Block::EnhancedPacket(epb)) => {
                            let Some(iface) = self.interfaces.get(epb.if_id as usize).copied()
                            else {
                                bail!("a packet names interface {} that the capture does not describe", epb.if_id);
                            };
                            let (secs, frac) = epb.decode_ts(iface.offset, iface.resolution);
                            let nanos = u128::from(frac) * 1_000_000_000
                                / u128::from(iface.resolution.max(1));
                            // The block's data is padded to 4 bytes.
                            let len = (epb.caplen as usize).min(epb.data.len());
                            Some((
                                Timestamp {
                                    secs: u64::from(secs),
                                    nanos: u32::try_from(nanos).unwrap_or(0).min(999_999_999),
                                },
                                iface.link,
                                &epb.data[..len],
                            ))
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
