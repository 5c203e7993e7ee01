//! A growable output queue that the engine writes frames into in place,
//! and that can queue a payload by reference instead of copying it.
//!
//! The engine writes whole frames into a `&mut [u8]`, so the queue hands out
//! initialised spare room at its end and takes back how much was used. The
//! bytes stay initialised once allocated, so after a connection has warmed
//! up no frame costs an allocation or a memset. Its size is bounded by the
//! caller: a [`crate::link::Link`] stops reading while too much is queued.
//!
//! A large payload that is still in the read buffer is queued as a range
//! of that buffer ([`OutBuf::push_ref`]) after its header: the backend
//! writes header and payload with one vectored write ([`OutBuf::parts`]),
//! and copies only what the socket did not take before it reuses the read
//! buffer ([`OutBuf::settle`]).

/// Payloads queued by reference at once; a queue that holds this many
/// copies the next one.
pub const MAX_REFS: usize = 4;
/// Pieces of output at most: own bytes before, between and after the
/// references.
pub const MAX_PARTS: usize = 2 * MAX_REFS + 1;

/// The largest read-buffer offset, and the most own bytes queued, with
/// which a payload may still be queued by reference: a [`Ref`] holds them
/// in 32 bits (a queue holds one per connection, so its width is paid for
/// every connection; read buffers are tens of KiB). Past it, payloads are
/// copied ([`OutBuf::can_push_ref`] says no).
const REF_LIMIT: usize = u32::MAX as usize;

/// A payload queued by reference. Its fields are at most [`REF_LIMIT`]
/// ([`OutBuf::push_ref`] refuses anything else), so they fit in 32 bits.
#[derive(Clone, Copy, Debug, Default)]
struct Ref {
    /// Own bytes (the queue's) that go out before this payload, counted
    /// after the previous reference.
    own: u32,
    /// The payload: this range of the read buffer.
    start: u32,
    end: u32,
}

impl Ref {
    fn own(&self) -> usize {
        self.own as usize
    }

    fn range(&self) -> std::ops::Range<usize> {
        self.start as usize..self.end as usize
    }
}

/// Bytes waiting to be written to a transport, front to back.
#[derive(Debug, Default)]
pub struct OutBuf {
    buf: Vec<u8>,
    start: usize,
    end: usize,
    refs: [Ref; MAX_REFS],
    /// References in use, at most [`MAX_REFS`].
    nrefs: u8,
    /// Bytes queued by reference, in all.
    borrowed: usize,
}

impl OutBuf {
    /// An empty queue; it allocates on first use.
    pub const fn new() -> Self {
        OutBuf {
            buf: Vec::new(),
            start: 0,
            end: 0,
            refs: [Ref {
                own: 0,
                start: 0,
                end: 0,
            }; MAX_REFS],
            nrefs: 0,
            borrowed: 0,
        }
    }

    /// Bytes queued, payloads queued by reference included.
    pub fn len(&self) -> usize {
        self.end - self.start + self.borrowed
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.start == self.end && self.nrefs == 0
    }

    /// Whether some output is a reference to the read buffer (then write
    /// with [`OutBuf::parts`], not [`OutBuf::pending`]).
    pub fn has_refs(&self) -> bool {
        self.nrefs > 0
    }

    /// The queued bytes, oldest first, when nothing is queued by
    /// reference (else the queue's own bytes only).
    pub fn pending(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    /// Queues bytes `start..end` of the read buffer after what is queued
    /// now; false (nothing queued) when [`OutBuf::can_push_ref`] says no.
    /// Until it is written or [`OutBuf::settle`]d, the read buffer must
    /// stay as it is.
    pub fn push_ref(&mut self, start: usize, end: usize) -> bool {
        if start >= end {
            return true;
        }
        if !self.can_push_ref(end) {
            return false;
        }
        let n = usize::from(self.nrefs);
        let before: usize = self.refs[..n].iter().map(Ref::own).sum();
        // In range: `can_push_ref` bounds `end`, and the own bytes queued
        // (of which this reference's are a part).
        self.refs[n] = Ref {
            own: ((self.end - self.start) - before) as u32,
            start: start as u32,
            end: end as u32,
        };
        self.nrefs += 1;
        self.borrowed += end - start;
        true
    }

    /// Whether [`OutBuf::push_ref`] would take one more reference ending
    /// at `end` in the read buffer: fewer than [`MAX_REFS`] are queued,
    /// and the offsets fit a reference.
    pub fn can_push_ref(&self, end: usize) -> bool {
        usize::from(self.nrefs) < MAX_REFS && end <= REF_LIMIT && self.end - self.start <= REF_LIMIT
    }

    /// The queued output in order, as pieces for a vectored write: own
    /// bytes and ranges of `read`, the buffer the references point into.
    /// Returns the pieces and how many of them are used (none is empty).
    pub fn parts<'a>(&'a self, read: &'a [u8]) -> ([&'a [u8]; MAX_PARTS], usize) {
        let mut parts: [&[u8]; MAX_PARTS] = [&[]; MAX_PARTS];
        let mut n = 0;
        let mut own = self.start;
        for r in &self.refs[..usize::from(self.nrefs)] {
            if r.own > 0 {
                parts[n] = &self.buf[own..own + r.own()];
                n += 1;
                own += r.own();
            }
            parts[n] = &read[r.range()];
            n += 1;
        }
        if own < self.end {
            parts[n] = &self.buf[own..self.end];
            n += 1;
        }
        (parts, n)
    }

    /// Copies the payloads queued by reference into the queue itself, in
    /// place in the order, so that `read` may be reused: for output the
    /// transport did not take at once.
    #[inline]
    pub fn settle(&mut self, read: &[u8]) {
        // Called before every read: the common case (nothing borrowed)
        // stays a compare at the caller.
        if self.nrefs > 0 {
            self.settle_refs(read);
        }
    }

    #[cold]
    #[inline(never)]
    fn settle_refs(&mut self, read: &[u8]) {
        let len = self.len();
        let mut copy = Vec::with_capacity(len.max(256).next_power_of_two());
        let (parts, n) = self.parts(read);
        for part in &parts[..n] {
            copy.extend_from_slice(part);
        }
        copy.resize(copy.capacity(), 0);
        *self = OutBuf {
            buf: copy,
            start: 0,
            end: len,
            ..OutBuf::new()
        };
    }

    /// Drops `n` bytes from the front (they were written).
    #[inline]
    pub fn consume(&mut self, n: usize) {
        // The common case, everything written at once: rewind in place.
        if self.nrefs == 0 && n >= self.end - self.start {
            self.start = 0;
            self.end = 0;
            return;
        }
        self.consume_parts(n);
    }

    #[inline(never)]
    fn consume_parts(&mut self, mut n: usize) {
        while n > 0 && self.nrefs > 0 {
            let own = self.refs[0].own().min(n);
            self.consume_own(own);
            // No more than it held.
            self.refs[0].own -= own as u32;
            n -= own;
            if n == 0 {
                break;
            }
            let r = &mut self.refs[0];
            let took = r.range().len().min(n);
            // No more than its range.
            r.start += took as u32;
            n -= took;
            self.borrowed -= took;
            if r.start == r.end {
                self.refs.copy_within(1..usize::from(self.nrefs), 0);
                self.nrefs -= 1;
            }
        }
        self.consume_own(n);
    }

    fn consume_own(&mut self, n: usize) {
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
    #[inline]
    pub fn spare(&mut self, min: usize) -> &mut [u8] {
        // Inlined for the common case, room already there (every frame
        // sent asks: the call cost more than the compare).
        if self.buf.len() - self.end < min {
            self.make_room(min);
        }
        &mut self.buf[self.end..]
    }

    #[cold]
    #[inline(never)]
    fn make_room(&mut self, min: usize) {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.buf.len() - self.end < min {
            // Doubling keeps growth amortised, but a first frame gets
            // what it needs, not the next power of two: every byte here
            // is touched (zeroed), and a 64 KiB echo would otherwise make
            // 128 KiB resident.
            let want = (self.end + min)
                .max(2 * self.buf.len())
                .max(256)
                .next_multiple_of(256);
            self.buf.resize(want, 0);
        }
    }

    /// Makes `buf[start..]` the queued output and `buf` the queue's memory,
    /// when nothing is queued (else false, and nothing changes): a payload
    /// gathered with room for its frame header in front goes out from
    /// where it was gathered instead of being copied in. `buf` gets the
    /// queue's old memory (room, not data).
    pub fn adopt(&mut self, buf: &mut Vec<u8>, start: usize) -> bool {
        if !self.is_empty() || start > buf.len() {
            return false;
        }
        std::mem::swap(&mut self.buf, buf);
        self.start = start;
        self.end = self.buf.len();
        true
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

    /// Hands everything queued over to `to`, with the memory holding it,
    /// for a backend that writes from it while the link goes on queueing
    /// (io_uring holds the bytes until the kernel is done with them).
    /// `to` must hold nothing (it is [`OutBuf::release`]d once written);
    /// its memory, if any, becomes this queue's room. Only the fields in
    /// use move: a move of the whole queue (its references included)
    /// cost a small echo two copies of 150 bytes.
    pub fn hand_over(&mut self, to: &mut OutBuf) {
        debug_assert!(to.is_empty(), "handed over onto queued output");
        std::mem::swap(&mut self.buf, &mut to.buf);
        to.start = self.start;
        to.end = self.end;
        to.nrefs = self.nrefs;
        to.borrowed = self.borrowed;
        if self.nrefs > 0 {
            to.refs = self.refs;
        }
        self.start = 0;
        self.end = 0;
        self.nrefs = 0;
        self.borrowed = 0;
    }

    /// Empties the queue and hands over its memory, for reuse once
    /// everything is written (the queue keeps none).
    pub fn release(&mut self) -> Vec<u8> {
        self.start = 0;
        self.end = 0;
        self.nrefs = 0;
        self.borrowed = 0;
        std::mem::take(&mut self.buf)
    }

    /// Starts using `spare`, a loop's shared buffer, when this queue has
    /// no memory of its own: between bursts a connection then holds none.
    pub fn borrow_spare(&mut self, spare: &mut Vec<u8>) {
        if self.buf.is_empty() && self.is_empty() {
            std::mem::swap(&mut self.buf, spare);
        }
    }

    /// Once everything is written, hands the memory back to the loop (or
    /// frees it, when the loop has a buffer already); a queue still
    /// holding output keeps it.
    pub fn return_spare(&mut self, spare: &mut Vec<u8>) {
        if !self.is_empty() || self.buf.is_empty() {
            return;
        }
        if spare.is_empty() {
            std::mem::swap(&mut self.buf, spare);
        } else {
            *self = OutBuf::new();
        }
    }

    /// Bytes allocated, for accounting.
    pub fn capacity(&self) -> usize {
        self.buf.len()
    }
}

#[cfg(test)]
mod tests {
    use super::{OutBuf, MAX_REFS};

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
    fn hand_over_moves_the_queued_range_and_references_and_swaps_the_memory() {
        let mut q = OutBuf::new();
        push(&mut q, b"abcdef");
        q.consume(2);
        let mut to = OutBuf::new();
        to.borrow_spare(&mut vec![9; 300]);
        q.hand_over(&mut to);
        assert_eq!(to.pending(), b"cdef");
        assert!(q.is_empty());
        assert_eq!(q.capacity(), 300, "the receiver's room is reused");
        push(&mut q, b"gh");
        assert_eq!(q.pending(), b"gh");
        // References go along, pointing into the same read buffer.
        let read = b"0123456789";
        assert!(q.push_ref(3, 7));
        push(&mut q, b"!");
        let mut to = OutBuf::new();
        q.hand_over(&mut to);
        assert!(q.is_empty() && !q.has_refs());
        assert_eq!((to.len(), flat(&to, read)), (7, b"gh3456!".to_vec()));
    }

    /// The queue's output as one byte string, by reference or not.
    fn flat(q: &OutBuf, read: &[u8]) -> Vec<u8> {
        let (parts, n) = q.parts(read);
        assert!(parts[..n].iter().all(|p| !p.is_empty()), "no empty piece");
        parts[..n].concat()
    }

    /// Headers, references and a control frame queued in between come out
    /// in the order queued, whatever the sizes of the writes, and settling
    /// at any point keeps the rest exactly.
    #[test]
    fn references_go_out_in_order_through_any_partial_writes() {
        let read: Vec<u8> = (0..100u8).collect();
        let build = || {
            let mut q = OutBuf::new();
            push(&mut q, b"H1");
            assert!(q.push_ref(0, 5));
            push(&mut q, b"PONG");
            push(&mut q, b"H2");
            assert!(q.push_ref(10, 20));
            assert!(q.push_ref(20, 20), "an empty range queues nothing");
            assert!(q.push_ref(30, 32));
            push(&mut q, b"CLOSE");
            q
        };
        let mut want = b"H1".to_vec();
        want.extend_from_slice(&read[0..5]);
        want.extend_from_slice(b"PONGH2");
        want.extend_from_slice(&read[10..20]);
        want.extend_from_slice(&read[30..32]);
        want.extend_from_slice(b"CLOSE");
        let q = build();
        assert_eq!(q.len(), want.len());
        assert_eq!(flat(&q, &read), want);
        for step in 1..=7 {
            for settle_at in [None, Some(3), Some(9), Some(17)] {
                let mut q = build();
                let mut sent = Vec::new();
                while !q.is_empty() {
                    if Some(sent.len()) >= settle_at && q.has_refs() {
                        q.settle(&read);
                        assert!(!q.has_refs());
                        // The read buffer may change from now on.
                        assert_eq!(q.pending(), &want[sent.len()..]);
                    }
                    let rest = flat(&q, &read);
                    assert_eq!(rest, &want[sent.len()..]);
                    let n = step.min(rest.len());
                    sent.extend_from_slice(&rest[..n]);
                    q.consume(n);
                    assert_eq!(q.len(), want.len() - sent.len());
                }
                assert_eq!(sent, want, "writes of {step}, settled at {settle_at:?}");
            }
        }
    }

    #[test]
    fn a_full_set_of_references_refuses_the_next() {
        let mut q = OutBuf::new();
        for i in 0..MAX_REFS {
            assert!(q.can_push_ref(i + 1));
            assert!(q.push_ref(i, i + 1));
        }
        assert!(!q.can_push_ref(60));
        assert!(!q.push_ref(50, 60));
        assert_eq!(q.len(), MAX_REFS);
    }

    /// A reference holds its offsets in 32 bits: one ending past that is
    /// refused (the payload is copied instead), and nothing is queued.
    #[test]
    fn a_reference_past_32_bits_is_refused() {
        let mut q = OutBuf::new();
        let limit = u32::MAX as usize;
        assert!(q.can_push_ref(limit));
        assert!(!q.can_push_ref(limit + 1));
        assert!(!q.push_ref(limit - 10, limit + 1));
        assert_eq!(q.len(), 0);
        assert!(q.push_ref(limit - 10, limit));
        assert_eq!(q.len(), 10);
    }

    #[test]
    fn the_loop_spare_is_lent_while_output_waits_only() {
        let mut spare = vec![0u8; 4096];
        let mut q = OutBuf::new();
        q.borrow_spare(&mut spare);
        assert_eq!((q.capacity(), spare.len()), (4096, 0));
        push(&mut q, b"abc");
        q.return_spare(&mut spare);
        assert_eq!(q.capacity(), 4096, "kept while output waits");
        q.consume(3);
        q.return_spare(&mut spare);
        assert_eq!((q.capacity(), spare.len()), (0, 4096));
        // A queue with memory of its own gives it up when the loop has
        // one already.
        push(&mut q, b"x");
        q.consume(1);
        q.return_spare(&mut spare);
        assert_eq!((q.capacity(), spare.len()), (0, 4096));
    }

    #[test]
    fn adopt_takes_over_a_gathered_buffer_only_when_nothing_is_queued() {
        let mut q = OutBuf::new();
        push(&mut q, b"old");
        let mut gathered = b"..HEADpayload".to_vec();
        let at = gathered.as_ptr() as usize;
        assert!(!q.adopt(&mut gathered, 2), "output waits: refused");
        assert_eq!(gathered, b"..HEADpayload", "refused: unchanged");
        assert_eq!(q.pending(), b"old");
        q.consume(3);
        assert!(q.adopt(&mut gathered, 2));
        assert_eq!(q.pending(), b"HEADpayload");
        assert_eq!(q.pending().as_ptr() as usize, at + 2, "not copied");
        assert!(gathered.capacity() > 0, "the old memory comes back");
        // Queueing goes on after the adopted bytes.
        push(&mut q, b"PONG");
        assert_eq!(q.pending(), b"HEADpayloadPONG");
        let mut short = vec![0; 4];
        q.consume(q.len());
        assert!(!q.adopt(&mut short, 5), "a start past the end is refused");
    }

    #[test]
    fn commit_never_claims_more_than_the_room() {
        let mut q = OutBuf::new();
        let room = q.spare(10).len();
        q.commit(room + 1000);
        assert_eq!(q.len(), room);
    }
}
