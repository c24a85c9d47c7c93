//! A write buffer that copies small messages and shares large payloads.
//!
//! Headers and small payloads are coalesced into one contiguous buffer, so a
//! burst of small frames costs one syscall; a payload of
//! [`SHARE_FROM`] bytes or more is not copied at all: it goes to the socket
//! as its own slice of a vectored write, straight from the [`Bytes`] it
//! already lives in (for a reference server, the read buffer it arrived in).
//!
//! Every writer in the transport layer (the servers' reply path, the mux
//! session, the request/response client) batches through this type under one
//! bound, [`MAX_BATCH_LEN`]; [`write_queue`] is the writer loop of the two
//! sessions.

use std::collections::VecDeque;
use std::io::IoSlice;

use bytes::{Buf, Bytes, BytesMut};
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

use crate::wire::Encode;
use crate::Error;

/// Payloads at least this long are written without being copied; shorter
/// ones are cheaper to copy than to give their own I/O slice.
pub const SHARE_FROM: usize = 4 * 1024;

/// Bytes a writer gathers before it writes them: enough to coalesce a burst
/// of small messages into one system call, small enough that a peer that
/// pipelines without pause is answered as it goes and one that never reads
/// is cut by the write timeout after at most this much is buffered.
pub const MAX_BATCH_LEN: usize = 256 * 1024;

/// Messages waiting to be written, as a [`Buf`] of several segments.
#[derive(Debug, Default)]
pub struct WriteBatch {
    /// The segment being filled with headers and small payloads.
    open: BytesMut,
    /// Segments ready to write, in order.
    sealed: VecDeque<Bytes>,
    /// Bytes in `sealed`.
    sealed_len: usize,
}

impl WriteBatch {
    /// An empty batch.
    pub fn new() -> Self {
        WriteBatch::default()
    }

    /// Appends one encoded message.
    ///
    /// # Errors
    /// What the message's [`Encode::check`] reports; nothing is appended then.
    pub fn push<M: Encode>(&mut self, message: &M) -> Result<(), Error> {
        if let Some(payload) = message.encode_split(&mut self.open)? {
            if payload.len() >= SHARE_FROM {
                self.seal();
                self.sealed_len += payload.len();
                self.sealed.push_back(payload);
            } else {
                self.open.extend_from_slice(&payload);
            }
        }
        Ok(())
    }

    /// Bytes waiting to be written.
    pub fn len(&self) -> usize {
        self.sealed_len + self.open.len()
    }

    /// Whether nothing waits to be written.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the batch holds [`MAX_BATCH_LEN`] bytes or more and should be
    /// written before anything else is added.
    pub fn is_full(&self) -> bool {
        self.len() >= MAX_BATCH_LEN
    }

    fn seal(&mut self) {
        if !self.open.is_empty() {
            let segment = self.open.split().freeze();
            self.sealed_len += segment.len();
            self.sealed.push_back(segment);
        }
    }

    /// Writes everything (vectored where the writer supports it) and leaves
    /// the batch empty.
    ///
    /// # Errors
    /// The writer's I/O error.
    pub async fn write_to<W: AsyncWrite + Unpin>(&mut self, writer: &mut W) -> Result<(), Error> {
        self.seal();
        writer.write_all_buf(self).await?;
        Ok(())
    }
}

/// The writer loop of a session: waits for a message on `queue`, adds every
/// other one already waiting (up to [`MAX_BATCH_LEN`] bytes), writes the
/// batch, and calls `written` with the number of messages it carried.
/// Returns `Ok` once the queue is closed and empty (every sender gone) and
/// everything taken from it is written, or the first write error.
///
/// A message its own [`Encode::check`] refuses is not written; callers queue
/// only messages they checked, so `written` counts it out and the loop goes on.
///
/// # Errors
/// The writer's I/O error; messages not yet written are then dropped with
/// the queue.
pub async fn write_queue<M, W>(
    queue: &mut mpsc::Receiver<M>,
    writer: &mut W,
    mut written: impl FnMut(u64),
) -> Result<(), Error>
where
    M: Encode,
    W: AsyncWrite + Unpin,
{
    let mut batch = WriteBatch::new();
    while let Some(message) = queue.recv().await {
        let mut count = u64::from(batch.push(&message).is_ok());
        while !batch.is_full() {
            match queue.try_recv() {
                Ok(message) => count += u64::from(batch.push(&message).is_ok()),
                Err(_) => break,
            }
        }
        batch.write_to(writer).await?;
        writer.flush().await?;
        written(count);
    }
    Ok(())
}

impl Buf for WriteBatch {
    fn remaining(&self) -> usize {
        self.len()
    }

    fn chunk(&self) -> &[u8] {
        match self.sealed.front() {
            Some(segment) => segment,
            None => &self.open,
        }
    }

    fn advance(&mut self, mut cnt: usize) {
        while cnt > 0 {
            let Some(front) = self.sealed.front_mut() else {
                // Only the open segment is left.
                let n = cnt.min(self.open.len());
                self.open.advance(n);
                return;
            };
            let n = cnt.min(front.len());
            front.advance(n);
            self.sealed_len -= n;
            cnt -= n;
            if front.is_empty() {
                self.sealed.pop_front();
            }
        }
    }

    fn chunks_vectored<'a>(&'a self, dst: &mut [IoSlice<'a>]) -> usize {
        let mut n = 0;
        let segments = self
            .sealed
            .iter()
            .map(|s| &s[..])
            .chain(Some(&self.open[..]));
        for segment in segments.filter(|s| !s.is_empty()) {
            if n == dst.len() {
                break;
            }
            dst[n] = IoSlice::new(segment);
            n += 1;
        }
        n
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::frame::LengthFrameBuf;

    #[tokio::test]
    async fn small_frames_are_coalesced_and_large_payloads_shared() {
        let large = Bytes::from(vec![7u8; SHARE_FROM]);
        let mut batch = WriteBatch::new();
        batch.push(&LengthFrameBuf::new("ab")).unwrap();
        batch.push(&LengthFrameBuf::new(large.clone())).unwrap();
        batch.push(&LengthFrameBuf::new("c")).unwrap();
        // [hdr ab hdr] [large payload] [hdr c]
        let mut slices = [IoSlice::new(&[]); 8];
        assert_eq!(batch.chunks_vectored(&mut slices), 3);
        assert_eq!(
            slices[1].as_ptr(),
            large.as_ptr(),
            "the large payload is not copied"
        );
        let mut out = Vec::new();
        batch.write_to(&mut out).await.unwrap();
        let mut expected = b"\x00\x00\x00\x02ab\x00\x00\x10\x00".to_vec();
        expected.extend_from_slice(&large);
        expected.extend_from_slice(b"\x00\x00\x00\x01c");
        assert_eq!(out, expected);
        assert!(batch.is_empty());
    }
}
