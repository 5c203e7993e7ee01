//! A growable output queue that the engine writes frames into in place.
//!
//! The engine writes whole frames into a `&mut [u8]`, so the queue hands out
//! initialised spare room at its end and takes back how much was used. The
//! bytes stay initialised once allocated, so after a connection has warmed
//! up no frame costs an allocation or a memset. Its size is bounded by the
//! caller: a [`crate::link::Link`] stops reading while too much is queued.

/// Bytes waiting to be written to a transport, front to back.
#[derive(Debug, Default)]
pub struct OutBuf {
    buf: Vec<u8>,
    start: usize,
    end: usize,
}

impl OutBuf {
    /// An empty queue; it allocates on first use.
    pub const fn new() -> Self {
        OutBuf {
            buf: Vec::new(),
            start: 0,
            end: 0,
        }
    }

    /// Bytes queued.
    pub fn len(&self) -> usize {
        self.end - self.start
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }

    /// The queued bytes, oldest first.
    pub fn pending(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    /// Drops `n` bytes from the front (they were written).
    pub fn consume(&mut self, n: usize) {
        self.start = (self.start + n).min(self.end);
        if self.start == self.end {
            // Rewinding when empty keeps the common case (everything
            // written at once) from ever needing to move bytes.
            self.start = 0;
            self.end = 0;
        }
    }

    /// Room for at least `min` more bytes at the end; fill some of it and
    /// [`OutBuf::commit`] how much.
    pub fn spare(&mut self, min: usize) -> &mut [u8] {
        if self.buf.len() - self.end < min {
            if self.start > 0 {
                self.buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            }
            if self.buf.len() - self.end < min {
                let want = (self.end + min).max(256).next_power_of_two();
                self.buf.resize(want, 0);
            }
        }
        &mut self.buf[self.end..]
    }

    /// Marks `n` bytes of the spare room as queued.
    pub fn commit(&mut self, n: usize) {
        self.end = (self.end + n).min(self.buf.len());
    }

    /// Frees the memory if nothing is queued and more than `limit` bytes
    /// are allocated (a backlog that has drained).
    pub fn release_if_larger(&mut self, limit: usize) {
        if self.is_empty() && self.buf.len() > limit {
            *self = OutBuf::new();
        }
    }

    /// Hands the queue's memory over whole, for a backend that writes
    /// from it while the link goes on queueing (io_uring holds the bytes
    /// until the kernel is done with them): returns the buffer and the
    /// range of it that is queued, and starts over in `replacement` (its
    /// contents are room, not data).
    pub fn take(&mut self, replacement: Vec<u8>) -> (Vec<u8>, usize, usize) {
        let old = std::mem::replace(
            self,
            OutBuf {
                buf: replacement,
                start: 0,
                end: 0,
            },
        );
        (old.buf, old.start, old.end)
    }

    /// Bytes allocated, for accounting.
    pub fn capacity(&self) -> usize {
        self.buf.len()
    }
}

#[cfg(test)]
mod tests {
    use super::OutBuf;

    fn push(q: &mut OutBuf, bytes: &[u8]) {
        q.spare(bytes.len())[..bytes.len()].copy_from_slice(bytes);
        q.commit(bytes.len());
    }

    #[test]
    fn queues_in_order_and_rewinds_when_drained() {
        let mut q = OutBuf::new();
        push(&mut q, b"hello ");
        push(&mut q, b"world");
        assert_eq!(q.pending(), b"hello world");
        q.consume(6);
        assert_eq!(q.pending(), b"world");
        q.consume(5);
        assert!(q.is_empty());
        push(&mut q, b"again");
        assert_eq!(q.pending(), b"again");
    }

    #[test]
    fn compacts_before_growing() {
        let mut q = OutBuf::new();
        push(&mut q, &[1; 200]);
        let cap = q.capacity();
        q.consume(150);
        // 50 queued; asking for room that fits after moving them to the
        // front must not allocate.
        let room = q.spare(cap - 50).len();
        assert!(room >= cap - 50);
        assert_eq!(q.capacity(), cap);
        assert_eq!(q.pending(), &[1; 50][..]);
    }

    #[test]
    fn a_drained_backlog_is_released_but_a_small_buffer_kept() {
        let mut q = OutBuf::new();
        push(&mut q, &[0; 100]);
        q.release_if_larger(1000);
        assert_eq!(q.len(), 100, "queued bytes are never dropped");
        q.consume(100);
        q.release_if_larger(1000);
        assert!(q.capacity() > 0, "small buffers are kept for reuse");
        push(&mut q, &[0; 5000]);
        q.consume(5000);
        q.release_if_larger(1000);
        assert_eq!(q.capacity(), 0);
    }

    #[test]
    fn take_hands_over_the_queued_range_and_starts_over_in_the_replacement() {
        let mut q = OutBuf::new();
        push(&mut q, b"abcdef");
        q.consume(2);
        let (buf, start, end) = q.take(vec![9; 300]);
        assert_eq!(&buf[start..end], b"cdef");
        assert!(q.is_empty());
        assert_eq!(q.capacity(), 300, "the replacement's room is reused");
        push(&mut q, b"gh");
        assert_eq!(q.pending(), b"gh");
    }

    #[test]
    fn commit_never_claims_more_than_the_room() {
        let mut q = OutBuf::new();
        let room = q.spare(10).len();
        q.commit(room + 1000);
        assert_eq!(q.len(), room);
    }
}
