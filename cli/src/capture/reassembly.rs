//! TCP stream reassembly for one direction of a connection, sans-IO.
//!
//! Segments go in as the capture shows them (any order, repeated,
//! overlapping); the byte stream comes out in order, once, through
//! [`Delivery`] events. No clocks, no sockets: the caller decides when a
//! capture has ended ([`Reassembler::finish`]) and passes on what the
//! other direction acknowledges ([`Reassembler::acknowledged`]).
//!
//! Sequence numbers are compared as signed 32-bit distances from the next
//! expected byte (RFC 793 §3.3 arithmetic), so a stream may wrap past
//! 2^32. Bytes are counted from the start of the capture as `u64` stream
//! offsets.
//!
//! Bytes that arrive ahead of a hole wait in a store bounded in memory,
//! bookkeeping included ([`MAX_PENDING_BYTES`], [`PIECE_OVERHEAD`]). A hole becomes a [`Delivery::Gap`] (the bytes
//! were lost to the capture) when the peer acknowledges past it, when the
//! store is full, at FIN or RST with bytes still waiting, and at the end
//! of the capture.

use std::collections::BTreeMap;

/// Out-of-order memory held per direction while waiting for a hole to fill,
/// the bytes plus [`PIECE_OVERHEAD`] per stored piece. A peer's window is
/// usually smaller; past this the hole is declared lost. Each segment is
/// stored before the bound is enforced, so the store can pass it by one
/// segment until that segment has been taken in.
pub const MAX_PENDING_BYTES: usize = 256 * 1024;

/// What one stored piece costs beyond its bytes, counted against
/// [`MAX_PENDING_BYTES`]: its map entry (a `u64` key and a `Vec`, 32 bytes,
/// in B-tree nodes that may be half empty: up to about 75 bytes) and its
/// heap allocation's header and rounding (up to 32 bytes with glibc). So
/// 1-byte pieces behind 1-byte holes cannot hold 60 times the bound.
pub const PIECE_OVERHEAD: usize = 128;

/// A segment further ahead than this (2^30 bytes) is not of this stream
/// (or is from before a wrap): it is dropped, as a receiver's window check
/// would drop it.
const MAX_AHEAD: i64 = 1 << 30;

/// One TCP segment of this direction, as captured.
#[derive(Clone, Copy, Debug)]
pub struct Segment<'a> {
    /// Sequence number of the first byte (of the SYN, when `syn`).
    pub seq: u32,
    /// The SYN flag: the sequence number is the initial one.
    pub syn: bool,
    /// The FIN flag: the stream ends after this segment's bytes.
    pub fin: bool,
    /// The RST flag: the connection is gone.
    pub rst: bool,
    /// The segment's payload.
    pub payload: &'a [u8],
}

/// What the reassembler hands on.
#[derive(Debug, PartialEq, Eq)]
pub enum Delivery<'a> {
    /// The next bytes of the stream, starting at `offset`.
    Data {
        /// Stream offset of the first byte.
        offset: u64,
        /// The bytes.
        bytes: &'a [u8],
    },
    /// `len` bytes at `offset` were not captured and never will be.
    Gap {
        /// Stream offset of the first missing byte.
        offset: u64,
        /// Number of missing bytes.
        len: u64,
    },
    /// The stream ended: FIN reached in order, or RST.
    End {
        /// Whether a reset ended it.
        reset: bool,
    },
}

/// Counters for the report.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Segments whose bytes had all been delivered already.
    pub retransmitted: u64,
    /// Segments that arrived ahead of a hole.
    pub out_of_order: u64,
    /// Bytes received twice (overlaps and retransmissions).
    pub duplicate_bytes: u64,
    /// Bytes declared lost.
    pub lost_bytes: u64,
}

/// One direction's reassembly state.
#[derive(Debug, Default)]
pub struct Reassembler {
    /// Sequence number of the next byte to deliver; `None` before the
    /// first segment.
    next_seq: Option<u32>,
    /// Stream offset of that byte.
    next_offset: u64,
    /// Whether the first segment seen was not a SYN.
    mid_stream: bool,
    /// Bytes ahead of a hole, by stream offset (not overlapping).
    pending: BTreeMap<u64, Vec<u8>>,
    pending_bytes: usize,
    /// Stream offset at which FIN ends the stream.
    fin_at: Option<u64>,
    ended: bool,
    stats: Stats,
}

impl Reassembler {
    /// A direction with nothing seen yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether the capture joined this direction after its SYN.
    pub fn mid_stream(&self) -> bool {
        self.mid_stream
    }

    /// Whether a segment has been seen.
    pub fn started(&self) -> bool {
        self.next_seq.is_some()
    }

    /// Whether the stream has ended (FIN delivered, or RST).
    pub fn ended(&self) -> bool {
        self.ended
    }

    /// The counters so far.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// Bytes held out of order now.
    #[cfg(test)]
    pub fn pending_bytes(&self) -> usize {
        self.pending_bytes
    }

    /// Memory held out of order now, as counted against
    /// [`MAX_PENDING_BYTES`]: the bytes plus [`PIECE_OVERHEAD`] per piece.
    pub fn held(&self) -> usize {
        self.pending_bytes + self.pending.len() * PIECE_OVERHEAD
    }

    /// Pieces (separately stored runs of bytes) held out of order now.
    #[cfg(test)]
    pub fn pending_pieces(&self) -> usize {
        self.pending.len()
    }

    /// Takes one segment; hands what it makes deliverable to `out`.
    pub fn segment(&mut self, seg: Segment<'_>, out: &mut dyn FnMut(Delivery<'_>)) {
        if self.ended {
            return;
        }
        let next_seq = match self.next_seq {
            Some(s) => s,
            None => {
                // The first byte is the one after the SYN; without a SYN
                // the capture started mid-connection, at this segment.
                let first = if seg.syn {
                    seg.seq.wrapping_add(1)
                } else {
                    self.mid_stream = true;
                    seg.seq
                };
                self.next_seq = Some(first);
                first
            }
        };
        // Data starts after the SYN's sequence number.
        let data_seq = if seg.syn {
            seg.seq.wrapping_add(1)
        } else {
            seg.seq
        };
        let ahead = i64::from(data_seq.wrapping_sub(next_seq) as i32);
        // Past this the segment is not of this stream (a RST still ends it).
        if ahead <= MAX_AHEAD {
            // `ahead` is at least -2^31, so the offset stays far from u64's
            // ends; bytes from before the capture's first one are clipped
            // by `insert`.
            let start = self.next_offset as i64 + ahead;
            let len = seg.payload.len() as i64;
            if seg.fin && start + len >= 0 {
                self.fin_at.get_or_insert((start + len) as u64);
            }
            if len > 0 {
                self.insert(start, seg.payload);
            }
        }
        if seg.rst {
            self.flush_all(out);
            self.ended = true;
            out(Delivery::End { reset: true });
            return;
        }
        self.drain(out);
    }

    /// The other direction acknowledged everything before `ack`: a hole
    /// before that was received by the peer but missed by the capture.
    pub fn acknowledged(&mut self, ack: u32, out: &mut dyn FnMut(Delivery<'_>)) {
        let Some(next_seq) = self.next_seq else {
            return;
        };
        let acked = i64::from(ack.wrapping_sub(next_seq) as i32);
        if acked <= 0 || acked > MAX_AHEAD || self.ended {
            return;
        }
        let acked_to = self.next_offset + acked as u64;
        // Skip only up to bytes we hold (or the acknowledged point).
        let hole_end = match self.pending.keys().next() {
            Some(&first) => first.min(acked_to),
            None => acked_to,
        };
        if hole_end > self.next_offset {
            self.skip_to(hole_end, out);
            self.drain(out);
        }
    }

    /// The capture ended: what waits behind a hole is delivered after a
    /// gap.
    pub fn finish(&mut self, out: &mut dyn FnMut(Delivery<'_>)) {
        if !self.ended {
            self.flush_all(out);
        }
    }

    /// Stores bytes at stream offset `start` (may be negative or behind
    /// the next offset: the old part is a duplicate), trimming overlaps
    /// with what is held.
    fn insert(&mut self, start: i64, bytes: &[u8]) {
        let end = start + bytes.len() as i64;
        let next = self.next_offset as i64;
        if end <= next {
            self.stats.retransmitted += 1;
            self.stats.duplicate_bytes += bytes.len() as u64;
            return;
        }
        let (mut start, mut bytes) = if start < next {
            let cut = (next - start) as usize;
            self.stats.duplicate_bytes += cut as u64;
            (self.next_offset, &bytes[cut..])
        } else {
            (start as u64, bytes)
        };
        if start > self.next_offset {
            self.stats.out_of_order += 1;
        }
        // Cut away what held segments already cover, keeping the first copy
        // (a receiver keeps what it got first).
        while !bytes.is_empty() {
            let end = start + bytes.len() as u64;
            // The held segment that starts at or before `start`, if it reaches it.
            let covering = self
                .pending
                .range(..=start)
                .next_back()
                .map(|(&s, v)| s + v.len() as u64)
                .filter(|&e| e > start);
            if let Some(held_end) = covering {
                let cut = (held_end.min(end) - start) as usize;
                self.stats.duplicate_bytes += cut as u64;
                start += cut as u64;
                bytes = &bytes[cut..];
                continue;
            }
            // The next held segment after `start`: keep up to it.
            let next_held = self.pending.range(start..).next().map(|(&s, _)| s);
            let take = match next_held {
                Some(s) if s < end => (s - start) as usize,
                _ => bytes.len(),
            };
            self.pending.insert(start, bytes[..take].to_vec());
            self.pending_bytes += take;
            start += take as u64;
            bytes = &bytes[take..];
        }
    }

    /// Delivers held bytes that are next in order; declares the first hole
    /// lost when the store is over its bound; ends at FIN.
    fn drain(&mut self, out: &mut dyn FnMut(Delivery<'_>)) {
        loop {
            while let Some(entry) = self.pending.first_entry() {
                if *entry.key() != self.next_offset {
                    break;
                }
                let bytes = entry.remove();
                self.pending_bytes -= bytes.len();
                out(Delivery::Data {
                    offset: self.next_offset,
                    bytes: &bytes,
                });
                self.advance(bytes.len() as u64);
            }
            if self.held() <= MAX_PENDING_BYTES {
                break;
            }
            if let Some(&first) = self.pending.keys().next() {
                self.skip_to(first, out);
            }
        }
        if self.fin_at.is_some_and(|f| self.next_offset >= f) && !self.ended {
            self.ended = true;
            out(Delivery::End { reset: false });
        }
    }

    /// Gives up on the bytes before stream offset `to`.
    fn skip_to(&mut self, to: u64, out: &mut dyn FnMut(Delivery<'_>)) {
        let len = to - self.next_offset;
        self.stats.lost_bytes += len;
        out(Delivery::Gap {
            offset: self.next_offset,
            len,
        });
        self.advance(len);
    }

    fn advance(&mut self, len: u64) {
        self.next_offset += len;
        // Sequence numbers are modulo 2^32: truncation is the wrap.
        self.next_seq = self.next_seq.map(|s| s.wrapping_add(len as u32));
    }

    /// Delivers everything held, with a gap before each hole, and a FIN
    /// hole after the last byte held.
    fn flush_all(&mut self, out: &mut dyn FnMut(Delivery<'_>)) {
        while let Some(&first) = self.pending.keys().next() {
            if first > self.next_offset {
                self.skip_to(first, out);
            }
            self.drain(out);
        }
        if let Some(fin) = self.fin_at {
            if fin > self.next_offset {
                self.skip_to(fin, out);
            }
            self.drain(out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What came out, flattened: bytes in order, gaps as `Gap`, the end.
    #[derive(Debug, Default, PartialEq, Eq)]
    struct Seen {
        bytes: Vec<u8>,
        gaps: Vec<(u64, u64)>,
        end: Option<bool>,
    }

    fn record(seen: &mut Seen) -> impl FnMut(Delivery<'_>) + '_ {
        move |d| match d {
            Delivery::Data { offset, bytes } => {
                let expected = seen.bytes.len() as u64 + seen.gaps.iter().map(|g| g.1).sum::<u64>();
                assert_eq!(offset, expected, "data delivered out of order");
                seen.bytes.extend_from_slice(bytes);
            }
            Delivery::Gap { offset, len } => seen.gaps.push((offset, len)),
            Delivery::End { reset } => {
                assert!(seen.end.is_none(), "ended twice");
                seen.end = Some(reset);
            }
        }
    }

    fn seg(seq: u32, payload: &[u8]) -> Segment<'_> {
        Segment {
            seq,
            syn: false,
            fin: false,
            rst: false,
            payload,
        }
    }

    fn syn(seq: u32) -> Segment<'static> {
        Segment {
            syn: true,
            ..seg(seq, b"")
        }
    }

    fn fin(seq: u32, payload: &[u8]) -> Segment<'_> {
        Segment {
            fin: true,
            ..seg(seq, payload)
        }
    }

    fn run(segments: &[Segment<'_>]) -> (Seen, Stats) {
        let mut r = Reassembler::new();
        let mut seen = Seen::default();
        {
            let mut out = record(&mut seen);
            for s in segments {
                r.segment(*s, &mut out);
            }
            r.finish(&mut out);
        }
        (seen, r.stats())
    }

    #[test]
    fn in_order_after_syn_then_fin() {
        let (seen, stats) = run(&[syn(100), seg(101, b"hel"), seg(104, b"lo"), fin(106, b"")]);
        assert_eq!(seen.bytes, b"hello");
        assert!(seen.gaps.is_empty());
        assert_eq!(seen.end, Some(false));
        assert_eq!(stats, Stats::default());
    }

    #[test]
    fn sequence_numbers_wrap_past_two_to_the_32() {
        let isn = u32::MAX - 2; // first data byte at MAX - 1
        let (seen, _) = run(&[
            syn(isn),
            seg(u32::MAX - 1, b"ab"),
            seg(0, b"cd"), // wrapped
            seg(2, b"ef"),
            fin(4, b""),
        ]);
        assert_eq!(seen.bytes, b"abcdef");
        assert_eq!(seen.end, Some(false));
        assert!(seen.gaps.is_empty());
    }

    #[test]
    fn out_of_order_across_the_wrap_waits_for_the_hole() {
        let isn = u32::MAX - 1;
        let (seen, stats) = run(&[syn(isn), seg(2, b"cd"), seg(u32::MAX, b"ab"), fin(4, b"")]);
        assert_eq!(seen.bytes, b"abcd");
        assert_eq!(stats.out_of_order, 1);
        assert_eq!(seen.end, Some(false));
    }

    #[test]
    fn retransmissions_are_delivered_once() {
        let (seen, stats) = run(&[
            syn(0),
            seg(1, b"abc"),
            seg(1, b"abc"),
            seg(4, b"def"),
            seg(1, b"abc"),
            seg(4, b"def"),
        ]);
        assert_eq!(seen.bytes, b"abcdef");
        assert_eq!(stats.retransmitted, 3);
        assert_eq!(stats.duplicate_bytes, 9);
    }

    #[test]
    fn overlapping_segments_keep_the_first_copy_of_each_byte() {
        // "abcdef" sent as [ab][bcd][?ef] with a repacketised overlap and a
        // later segment overlapping a held one at both ends.
        let (seen, _) = run(&[
            syn(0),
            seg(1, b"ab"),
            seg(2, b"bcd"),
            seg(6, b"f"),
            seg(3, b"cdeXY"), // covers c,d (delivered), e (new), f (held), Y (new)
            fin(8, b""),
        ]);
        assert_eq!(seen.bytes, b"abcdefY");
        assert!(seen.gaps.is_empty());
        assert_eq!(seen.end, Some(false));
    }

    #[test]
    fn overlap_into_held_bytes_from_both_sides() {
        // Held: [5..7) and [9..11); then one segment [4..12) fills all.
        let (seen, _) = run(&[
            syn(0),
            seg(1, b"abc"),
            seg(5, b"EF"),
            seg(9, b"IJ"),
            seg(4, b"dxxghxxk"),
        ]);
        assert_eq!(seen.bytes, b"abcdEFghIJk");
        assert!(seen.gaps.is_empty());
    }

    #[test]
    fn mid_connection_start_begins_at_the_first_segment() {
        let mut r = Reassembler::new();
        let mut seen = Seen::default();
        let mut out = record(&mut seen);
        r.segment(seg(5000, b"xyz"), &mut out);
        // An old retransmission from before the capture started.
        r.segment(seg(4990, b"0123456789xy"), &mut out);
        r.segment(seg(5003, b"!"), &mut out);
        drop(out);
        assert!(r.mid_stream());
        assert_eq!(seen.bytes, b"xyz!");
    }

    #[test]
    fn unfillable_gap_is_reported_at_the_end_of_the_capture() {
        let (seen, stats) = run(&[syn(0), seg(1, b"ab"), seg(6, b"fg")]);
        assert_eq!(seen.bytes, b"abfg");
        assert_eq!(seen.gaps, vec![(2, 3)]);
        assert_eq!(stats.lost_bytes, 3);
        assert_eq!(seen.end, None);
    }

    #[test]
    fn fin_after_a_hole_waits_for_the_hole_then_reports_it() {
        let (seen, _) = run(&[syn(0), seg(1, b"ab"), fin(5, b"ef")]);
        assert_eq!(seen.bytes, b"abef");
        assert_eq!(seen.gaps, vec![(2, 2)]);
        assert_eq!(seen.end, Some(false));
        // And a retransmission that fills it in time leaves no gap.
        let (seen, _) = run(&[syn(0), seg(1, b"ab"), fin(5, b"ef"), seg(3, b"cd")]);
        assert_eq!(seen.bytes, b"abcdef");
        assert!(seen.gaps.is_empty());
        assert_eq!(seen.end, Some(false));
    }

    #[test]
    fn fin_with_only_a_lost_tail_reports_the_tail() {
        // FIN at offset 4 with bytes [2..4) never captured.
        let (seen, _) = run(&[syn(0), seg(1, b"ab"), fin(5, b"")]);
        assert_eq!(seen.bytes, b"ab");
        assert_eq!(seen.gaps, vec![(2, 2)]);
        assert_eq!(seen.end, Some(false));
    }

    #[test]
    fn an_acknowledgement_past_a_hole_declares_it_lost_at_once() {
        let mut r = Reassembler::new();
        let mut seen = Seen::default();
        let mut out = record(&mut seen);
        r.segment(syn(0), &mut out);
        r.segment(seg(1, b"ab"), &mut out);
        r.segment(seg(6, b"fg"), &mut out);
        r.acknowledged(3, &mut out); // nothing missing before 3
        r.acknowledged(8, &mut out); // the peer got 3..6 too
        drop(out);
        assert_eq!(seen.bytes, b"abfg");
        assert_eq!(seen.gaps, vec![(2, 3)]);
        assert_eq!(r.pending_bytes(), 0);
    }

    #[test]
    fn rst_ends_the_stream_and_flushes_what_is_held() {
        let rst = Segment {
            rst: true,
            ..seg(9, b"")
        };
        let (seen, _) = run(&[syn(0), seg(1, b"ab"), seg(5, b"ef"), rst, seg(7, b"late")]);
        assert_eq!(seen.bytes, b"abef");
        assert_eq!(seen.gaps, vec![(2, 2)]);
        assert_eq!(seen.end, Some(true));
    }

    #[test]
    fn syn_retransmitted_and_syn_with_data() {
        let with_data = Segment {
            syn: true,
            ..seg(10, b"hi")
        };
        let (seen, _) = run(&[syn(10), with_data, seg(11, b"hi"), seg(13, b"!")]);
        assert_eq!(seen.bytes, b"hi!");
    }

    #[test]
    fn held_bytes_stay_bounded_and_the_hole_is_given_up() {
        let mut r = Reassembler::new();
        let mut seen = Seen::default();
        let chunk = vec![7u8; 1000];
        let mut out = record(&mut seen);
        r.segment(syn(0), &mut out);
        // Byte 1 never arrives; 400 KB arrive after it.
        let mut peak = 0;
        for i in 0..400u32 {
            r.segment(seg(2 + i * 1000, &chunk), &mut out);
            peak = peak.max(r.pending_bytes());
        }
        drop(out);
        assert!(peak <= MAX_PENDING_BYTES, "held {peak} bytes");
        assert_eq!(seen.gaps, vec![(0, 1)]);
        assert_eq!(seen.bytes.len() + r.pending_bytes(), 400_000);
    }

    #[test]
    fn one_byte_pieces_with_holes_are_bounded_in_memory_not_only_in_bytes() {
        let mut r = Reassembler::new();
        let mut seen = Seen::default();
        let mut out = record(&mut seen);
        r.segment(syn(0), &mut out);
        // Byte 0 never arrives; then one byte, one hole, one byte, ...
        let mut peak = 0;
        for i in 0..10_000u32 {
            r.segment(seg(3 + 2 * i, b"x"), &mut out);
            peak = peak.max(r.pending_pieces());
        }
        drop(out);
        let bound = MAX_PENDING_BYTES / (1 + PIECE_OVERHEAD);
        assert!(peak <= bound + 1, "held {peak} pieces, bound {bound}");
        assert!(r.held() <= MAX_PENDING_BYTES, "held {} bytes", r.held());
        // Every byte is delivered once or reported lost.
        assert_eq!(seen.bytes.len() + r.pending_bytes(), 10_000);
    }

    #[test]
    fn a_segment_absurdly_far_ahead_is_ignored() {
        let (seen, _) = run(&[syn(0), seg(1, b"ab"), seg(1 << 31, b"zz"), seg(3, b"c")]);
        assert_eq!(seen.bytes, b"abc");
        assert!(seen.gaps.is_empty());
    }

    /// Any permutation and duplication of a segmentation gives the stream.
    #[test]
    fn shuffled_duplicated_segments_give_the_stream_once() {
        let data: Vec<u8> = (0..2000u32).map(|i| (i * 7 % 251) as u8).collect();
        let isn = u32::MAX - 500; // the stream wraps too
        let mut state = 0x9e37_79b9_u32;
        let mut rand = move || {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state
        };
        for _ in 0..200 {
            let mut segs = Vec::new();
            let mut at = 0usize;
            while at < data.len() {
                let len = 1 + (rand() as usize % 90);
                let end = (at + len).min(data.len());
                // Some segments start a bit early (overlap).
                let from = at.saturating_sub(rand() as usize % 4);
                segs.push((from, end));
                at = end;
            }
            let copies: Vec<_> = segs.iter().filter(|_| rand() % 5 == 0).copied().collect();
            segs.extend(copies);
            for i in (1..segs.len()).rev() {
                let j = rand() as usize % (i + 1);
                // Keep reordering local, as a network does.
                if i - j < 8 {
                    segs.swap(i, j);
                }
            }
            let mut r = Reassembler::new();
            let mut seen = Seen::default();
            let mut out = record(&mut seen);
            r.segment(syn(isn), &mut out);
            for &(from, end) in &segs {
                let seq = isn.wrapping_add(1).wrapping_add(from as u32);
                r.segment(seg(seq, &data[from..end]), &mut out);
            }
            r.finish(&mut out);
            drop(out);
            assert_eq!(seen.bytes, data);
            assert!(seen.gaps.is_empty());
        }
    }
}
