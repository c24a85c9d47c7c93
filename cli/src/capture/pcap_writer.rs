//! Writing classic pcap files (nanosecond timestamps), through
//! pcap-parser's serializer: `decode --live --write FILE` saves what it saw.

use std::io::Write;

use anyhow::{anyhow, Result};
use pcap_parser::{LegacyPcapBlock, Linktype, PcapHeader, ToVec};

use super::file::Timestamp;

/// The pcap magic number for nanosecond timestamps.
const NANOSECOND_MAGIC: u32 = 0xa1b2_3c4d;

/// The snap length written in the header: the most a frame may hold.
pub const SNAP_LEN: u32 = 262_144;

/// A pcap file being written.
pub struct PcapWriter<W: Write> {
    out: W,
}

impl<W: Write> PcapWriter<W> {
    /// Writes the file header for frames of link type `link`.
    ///
    /// # Errors
    /// The writer's error.
    pub fn new(mut out: W, link: u16) -> Result<Self> {
        let mut header = PcapHeader {
            magic_number: NANOSECOND_MAGIC,
            snaplen: SNAP_LEN,
            network: Linktype(i32::from(link)),
            ..PcapHeader::new()
        };
        let bytes = header
            .to_vec()
            .map_err(|e| anyhow!("cannot encode the pcap header: {e:?}"))?;
        out.write_all(&bytes)
            .map_err(|e| anyhow!("cannot write the capture: {e}"))?;
        Ok(PcapWriter { out })
    }

    /// Appends one frame captured at `time` (cut to [`SNAP_LEN`] bytes).
    ///
    /// # Errors
    /// The writer's error.
    pub fn write(&mut self, time: Timestamp, frame: &[u8]) -> Result<()> {
        let kept = &frame[..frame.len().min(SNAP_LEN as usize)];
        let block = LegacyPcapBlock {
            // pcap's 32-bit seconds run out in 2106.
            ts_sec: u32::try_from(time.secs).unwrap_or(u32::MAX),
            ts_usec: time.nanos,
            caplen: kept.len() as u32,
            origlen: u32::try_from(frame.len()).unwrap_or(u32::MAX),
            data: kept,
        };
        let bytes = block
            .to_vec_raw()
            .map_err(|e| anyhow!("cannot encode a pcap record: {e:?}"))?;
        self.out
            .write_all(&bytes)
            .map_err(|e| anyhow!("cannot write the capture: {e}"))
    }

    /// Flushes and hands back the writer.
    ///
    /// # Errors
    /// The writer's error.
    pub fn finish(mut self) -> Result<W> {
        self.out
            .flush()
            .map_err(|e| anyhow!("cannot write the capture: {e}"))?;
        Ok(self.out)
    }
}

#[cfg(test)]
mod tests {
    use super::super::file::CaptureReader;
    use super::*;

    #[test]
    fn what_is_written_reads_back_with_its_timestamps() {
        let mut w = PcapWriter::new(Vec::new(), 1).expect("header");
        let t1 = Timestamp {
            secs: 1_700_000_000,
            nanos: 123_456_789,
        };
        w.write(t1, b"first").expect("write");
        w.write(Timestamp::default(), b"").expect("write");
        let bytes = w.finish().expect("finish");
        let mut r = CaptureReader::new(std::io::Cursor::new(bytes)).expect("open");
        let mut seen = Vec::new();
        while r
            .next_frame(&mut |f| {
                seen.push((f.number, f.time, f.link, f.data.to_vec()));
                Ok(())
            })
            .expect("read")
        {}
        assert_eq!(
            seen,
            vec![
                (1, t1, 1, b"first".to_vec()),
                (2, Timestamp::default(), 1, Vec::new())
            ]
        );
    }
}
