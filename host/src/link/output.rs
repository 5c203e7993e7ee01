//! The output queue as a backend sees it: what to write, what was written,
//! and the memory behind it, which may be lent by the event loop and is
//! freed once drained, so that idle connections hold none.

use websock_core::frame::MAX_CONTROL_FRAME;

use super::{Link, NEVER, RETAIN, TRIM_MS};
use crate::outbuf::{OutBuf, MAX_PARTS};

impl Link {
    /// The bytes waiting to be written, oldest first, when nothing is
    /// queued by reference ([`Link::has_borrowed`]; else write
    /// [`Link::output_parts`]).
    pub fn output(&self) -> &[u8] {
        self.out.pending()
    }

    /// Whether some output is a payload still in the read buffer last
    /// handed to [`Link::received_borrowing`].
    pub fn has_borrowed(&self) -> bool {
        self.out.has_refs()
    }

    /// The output in order as pieces for a vectored write, `read` being
    /// the buffer last handed to [`Link::received_borrowing`] (the pieces
    /// and how many are used).
    pub fn output_parts<'a>(&'a self, read: &'a [u8]) -> ([&'a [u8]; MAX_PARTS], usize) {
        self.out.parts(read)
    }

    /// Copies what is queued by reference out of `read` (the buffer last
    /// handed to [`Link::received_borrowing`]) before the backend reuses
    /// it; nothing to do when everything was written.
    #[inline]
    pub fn settle(&mut self, read: &[u8]) {
        self.out.settle(read);
    }

    /// Queues output in the loop's shared buffer `spare` when the link has
    /// none of its own; [`Link::return_spare`] takes it back once written.
    pub fn borrow_spare(&mut self, spare: &mut Vec<u8>) {
        self.out.borrow_spare(spare);
    }

    /// Gives the output memory back to the loop once everything is
    /// written (a link with output waiting keeps it).
    pub fn return_spare(&mut self, spare: &mut Vec<u8>) {
        // The trim timer stays: clearing it here would move the link in
        // the loop's timer set on every message; it finds nothing to free.
        self.out.return_spare(spare);
    }

    /// Bytes waiting to be written.
    pub fn output_len(&self) -> usize {
        self.out.len()
    }

    /// Bytes allocated for output (0 for an idle connection).
    pub fn output_capacity(&self) -> usize {
        self.out.capacity()
    }

    /// Hands every queued byte at once, with the memory holding it, to
    /// `to` (which holds nothing), for a backend that writes from it in
    /// the background (see [`OutBuf::hand_over`]); queueing goes on in
    /// `to`'s old memory. Report the bytes as the transport's own in
    /// [`Link::step`] until written.
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    pub fn hand_output(&mut self, to: &mut OutBuf) {
        self.elsewhere += self.out.len();
        self.out.hand_over(to);
    }

    /// The transport took `n` bytes of [`Link::output`].
    #[inline]
    pub fn written(&mut self, n: usize) {
        self.out.consume(n);
        if n > 0 {
            self.last_write = self.now;
        }
        if self.out.is_empty() {
            self.out.release_if_larger(RETAIN);
            if self.out.capacity() > 0 && self.trim_at == NEVER {
                self.trim_at = self.now.saturating_add(TRIM_MS);
            }
        }
        if n > 0 && self.stalled_since != NEVER {
            self.stalled_since = self.now;
        }
    }

    /// The transport took `n` bytes of output handed over by
    /// [`Link::hand_output`] (progress, for the write timeout).
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    pub fn written_elsewhere(&mut self, n: usize) {
        self.elsewhere = self.elsewhere.saturating_sub(n);
        if self.elsewhere == 0 && self.out.is_empty() {
            // Nothing waits any more ([`Link::step`] would say so too).
            self.stalled_since = NEVER;
        } else if n > 0 && self.stalled_since != NEVER {
            self.stalled_since = self.now;
        }
    }

    /// Moves the engine's close frame, if it owes one, into the output
    /// queue.
    pub(super) fn poll_output(&mut self) {
        if self.engine.has_output() {
            let n = self.engine.poll_output(self.out.spare(MAX_CONTROL_FRAME));
            self.out.commit(n);
        }
    }
}
