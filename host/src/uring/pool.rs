//! Output buffers the loop lends to links and takes back: a connection
//! holds one only while its output waits for the socket.

use crate::link::Link;

/// Output buffers kept for reuse by the loop: at most this many bytes
/// (1 MiB) held while idle, none larger than `POOL_MAX_BUFFER`. (It was
/// 4 MiB while a 64 KiB echo was copied into a lent output buffer, which
/// then had to be large; now its frame goes out from the buffer it was
/// received into, and 4 MiB only kept the 64 KiB gathering buffers
/// released by sends: two workers' pools held 8 MB after twelve stuck
/// peers were dropped, past host/tests/faults.rs's bound. Callgrind,
/// 1,000 echoes of 64 KiB: 39.48 M Ir with 4 MiB, 39.41 M with 1 MiB.)
const POOL_BYTES: usize = 1 << 20;
const POOL_MAX_BUFFER: usize = 128 * 1024;

/// Output buffers for reuse: a link queues into one lent while it takes
/// input, and a send holds it until it completes; between messages a
/// connection holds none (with 20 B messages each echo used to allocate
/// and free one, as a pool of a few buffers ran dry with many
/// connections).
#[derive(Default)]
pub(super) struct Pool {
    buffers: Vec<Vec<u8>>,
    /// Their bytes, in all.
    bytes: usize,
}

impl Pool {
    /// A buffer, or an empty vector when none is left.
    pub(super) fn take(&mut self) -> Vec<u8> {
        let buf = self.buffers.pop().unwrap_or_default();
        self.bytes -= buf.len();
        buf
    }

    /// Keeps `buf` for reuse, or frees it when it is too large or the pool
    /// holds enough.
    pub(super) fn give(&mut self, buf: Vec<u8>) {
        if !buf.is_empty() && buf.len() <= POOL_MAX_BUFFER && self.bytes + buf.len() <= POOL_BYTES {
            self.bytes += buf.len();
            self.buffers.push(buf);
        }
    }

    /// Lends a buffer to `link` for its output, when it has none.
    pub(super) fn lend(&mut self, link: &mut Link) {
        if link.output_capacity() == 0 {
            link.borrow_spare(&mut self.take());
        }
    }

    /// Takes back the buffer of a link whose output is all written or
    /// handed to a send.
    pub(super) fn reclaim(&mut self, link: &mut Link) {
        let mut buf = Vec::new();
        link.return_spare(&mut buf);
        self.give(buf);
    }
}

#[cfg(test)]
mod tests {
    use super::{Pool, POOL_BYTES, POOL_MAX_BUFFER};

    /// The pool keeps any number of small buffers up to its byte bound
    /// (one per connection in flight, so that small echoes allocate
    /// nothing), and never a large one.
    #[test]
    fn the_pool_is_bounded_in_bytes_not_buffers() {
        let mut pool = Pool::default();
        for _ in 0..100 {
            pool.give(vec![0; 256]);
        }
        assert_eq!((pool.buffers.len(), pool.bytes), (100, 25_600));
        pool.give(vec![0; POOL_MAX_BUFFER + 1]);
        pool.give(Vec::new());
        assert_eq!(pool.buffers.len(), 100, "too large or empty: freed");
        while pool.bytes + POOL_MAX_BUFFER <= POOL_BYTES {
            pool.give(vec![0; POOL_MAX_BUFFER]);
        }
        let full = pool.bytes;
        pool.give(vec![0; POOL_MAX_BUFFER]);
        assert_eq!(pool.bytes, full, "past the bound: freed");
        assert!(pool.bytes <= POOL_BYTES);
        let taken = pool.take();
        assert_eq!(pool.bytes, full - taken.len());
        while !pool.buffers.is_empty() {
            pool.take();
        }
        assert_eq!(pool.bytes, 0);
        assert!(
            pool.take().is_empty(),
            "an empty pool gives an empty vector"
        );
    }
}
