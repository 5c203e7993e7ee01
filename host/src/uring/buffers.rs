//! The provided buffer ring: the receive buffers the kernel picks from,
//! one set per loop, and which of them it is offered at a time.

use std::alloc::{self, Layout};
use std::io;
use std::sync::atomic::{AtomicU16, Ordering};

use io_uring::types;

/// Buffers in the provided ring, and the size of each. Receives take a
/// whole buffer each, but the kernel touches only the bytes it writes, and
/// only the buffers the ring offers it (see [`WINDOW`]), so small messages
/// keep little of this resident. (68 KiB buffers, so that a
/// 64 KiB message arrives whole, made the ring 17 MB resident with two
/// workers under stuck peers: host/tests/faults.rs bounds it.) 16 KiB and
/// a little: a 16 KiB message arrives whole with its header (14 bytes at
/// most), so that it goes back from its buffer with no copy; at exactly
/// 16 KiB its last bytes came in a second buffer and the echo gathered and
/// copied it twice.
pub(super) const BUFFERS: u16 = 128;
const BUFFER_SIZE: usize = 16 * 1024 + 64;
const _: () = assert!(BUFFER_SIZE >= 16 * 1024 + websock_core::frame::MAX_HEADER_LEN);
/// Buffers the ring offers the kernel at a time, refilled after each batch
/// of completions with the buffers given back last. The kernel takes a
/// ring's entries in order, so with all 128 offered it went round every
/// one: at 1,000 connections each buffer's first page was resident at
/// 20 B and all 2 MB at 16 KiB. One turn took at most 41 buffers with 100
/// or 1,000 connections of 20 B to 16 KiB (Linux 6.18). Offering fewer than a turn takes costs far
/// more than it saves: a receive that finds none ends with "no buffers"
/// and is armed again, where it finds none again while others take the
/// few; with 16 or 32 offered, 1,000 connections of 20 B spent twice the
/// CPU per message in such retries. So half the ring, and all of it while
/// receives find none (64 KiB messages take up to 128 in a turn).
const WINDOW: u16 = BUFFERS / 2;
/// Batches of completions in which no receive found the ring empty,
/// after which the window shrinks back to [`WINDOW`].
const CALM: u16 = 4096;
/// The provided buffer group's id.
pub(super) const GROUP: u16 = 0;

/// The provided buffer ring: up to `BUFFERS` entries the kernel picks
/// receive buffers from, the buffers themselves, and those not offered.
pub(super) struct Buffers {
    pub(super) ring: *mut types::BufRingEntry,
    ring_layout: Layout,
    data: *mut u8,
    data_layout: Layout,
    tail: u16,
    /// Entries published that the kernel has not taken yet.
    offered: u16,
    /// How many to keep offered: [`WINDOW`], or the whole ring while
    /// receives find it empty.
    window: u16,
    /// A receive found the ring empty since the last publish.
    dry: bool,
    /// Publishes since a receive last found the ring empty.
    calm: u16,
    /// Buffers given back and not offered again yet, the last given back
    /// on top: offered first, as its memory is resident already.
    free: Vec<u16>,
}

impl Buffers {
    pub(super) fn new() -> io::Result<Buffers> {
        let oom = || io::Error::from(io::ErrorKind::OutOfMemory);
        let ring_layout = Layout::from_size_align(
            usize::from(BUFFERS) * std::mem::size_of::<types::BufRingEntry>(),
            4096,
        )
        .map_err(|_| oom())?;
        // Small alignment on purpose: the allocator then gets the memory
        // zeroed by the system (calloc, untouched pages), where a larger
        // one is zeroed by hand, which would make every page resident.
        let data_layout =
            Layout::from_size_align(usize::from(BUFFERS) * BUFFER_SIZE, 16).map_err(|_| oom())?;
        // SAFETY: both layouts have a non-zero size.
        let ring = unsafe { alloc::alloc_zeroed(ring_layout) } as *mut types::BufRingEntry;
        if ring.is_null() {
            return Err(oom());
        }
        // SAFETY: as above; zeroed memory is untouched until the kernel
        // writes into it, so unused buffers cost no resident memory.
        let data = unsafe { alloc::alloc_zeroed(data_layout) };
        if data.is_null() {
            // SAFETY: allocated just above with this layout.
            unsafe { alloc::dealloc(ring as *mut u8, ring_layout) };
            return Err(oom());
        }
        let mut buffers = Buffers {
            ring,
            ring_layout,
            data,
            data_layout,
            tail: 0,
            offered: 0,
            window: WINDOW,
            dry: false,
            calm: 0,
            // Buffer 0 on top: the first ones used are at the start.
            free: (0..BUFFERS).rev().collect(),
        };
        buffers.publish();
        Ok(buffers)
    }

    /// Takes buffer `bid` back: offered to the kernel again by a later
    /// [`Buffers::publish`], before those given back earlier.
    pub(super) fn give_back(&mut self, bid: u16) {
        self.free.push(bid);
    }

    /// Counts a buffer the kernel took (a completion carried it).
    pub(super) fn taken(&mut self) {
        self.offered = self.offered.saturating_sub(1);
    }

    /// A receive found no buffer offered.
    pub(super) fn ran_dry(&mut self) {
        self.dry = true;
    }

    /// Offers the kernel the buffers given back, the last given back
    /// first, until `window` are offered.
    pub(super) fn publish(&mut self) {
        if self.dry {
            (self.window, self.dry, self.calm) = (BUFFERS, false, 0);
        } else if self.window > WINDOW {
            self.calm += 1;
            if self.calm == CALM {
                (self.window, self.calm) = (WINDOW, 0);
            }
        }
        let before = self.tail;
        while self.offered < self.window {
            let Some(bid) = self.free.pop() else { break };
            let index = usize::from(self.tail & (BUFFERS - 1));
            // SAFETY: index < BUFFERS, inside the ring's allocation; the
            // kernel reads entries only between its head and our
            // published tail, and at most `BUFFERS` are offered, so this
            // one is not between them.
            let entry = unsafe { &mut *self.ring.add(index) };
            // SAFETY: bid < BUFFERS, inside the data allocation.
            entry.set_addr(unsafe { self.data.add(usize::from(bid) * BUFFER_SIZE) } as u64);
            entry.set_len(BUFFER_SIZE as u32);
            entry.set_bid(bid);
            self.tail = self.tail.wrapping_add(1);
            self.offered += 1;
        }
        if self.tail == before {
            return;
        }
        // SAFETY: the ring is page aligned and its first entry
        // initialised; the tail field is a u16 the kernel reads
        // atomically, so we write it as one with release order (the
        // entries before it must be visible first).
        unsafe {
            let tail = types::BufRingEntry::tail(self.ring) as *const AtomicU16;
            (*tail).store(self.tail, Ordering::Release);
        }
    }

    /// The bytes the kernel received into buffer `bid`.
    ///
    /// # Safety
    /// `bid` came from a completion and has not been given back yet (the
    /// kernel does not write it until then), and `len` is that
    /// completion's length.
    pub(super) unsafe fn get(&mut self, bid: u16, len: usize) -> &mut [u8] {
        let len = len.min(BUFFER_SIZE);
        std::slice::from_raw_parts_mut(self.data.add(usize::from(bid % BUFFERS) * BUFFER_SIZE), len)
    }

    /// The whole of buffer `bid`, held by a send.
    ///
    /// # Safety
    /// `bid` came from a completion and has not been given back yet.
    pub(super) unsafe fn held(&self, bid: u16) -> &[u8] {
        std::slice::from_raw_parts(
            self.data.add(usize::from(bid % BUFFERS) * BUFFER_SIZE),
            BUFFER_SIZE,
        )
    }
}

impl Drop for Buffers {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with these layouts; the ring that
        // used them was dropped first (field order in `Ring`).
        unsafe {
            alloc::dealloc(self.ring as *mut u8, self.ring_layout);
            alloc::dealloc(self.data, self.data_layout);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Buffers, BUFFERS, CALM, WINDOW};

    /// The buffer ids the ring offers, in the order the kernel takes them.
    fn offered(buffers: &Buffers, from: u16) -> Vec<u16> {
        (from..buffers.tail)
            .map(|i| {
                // SAFETY: the index is within the ring's BUFFERS entries.
                let entry = unsafe { &*buffers.ring.add(usize::from(i & (BUFFERS - 1))) };
                entry.bid()
            })
            .collect()
    }

    /// The ring offers half its buffers, refills with the ones given back
    /// last first (so that few are ever touched), offers all of them once
    /// a receive finds none, and half again after a calm spell.
    #[test]
    fn the_ring_offers_a_window_of_buffers_given_back_last_first() {
        let mut buffers = Buffers::new().expect("buffers");
        assert_eq!(offered(&buffers, 0), (0..WINDOW).collect::<Vec<_>>());
        // The kernel takes three; they come back in the order 2, 0, 1.
        for _ in 0..3 {
            buffers.taken();
        }
        for bid in [2, 0, 1] {
            buffers.give_back(bid);
        }
        let tail = buffers.tail;
        buffers.publish();
        assert_eq!(
            offered(&buffers, tail),
            [1, 0, 2],
            "the last given back first"
        );
        assert_eq!(buffers.offered, WINDOW);
        // Nothing taken: nothing more is offered.
        let tail = buffers.tail;
        buffers.publish();
        assert_eq!(buffers.tail, tail);

        buffers.ran_dry();
        buffers.publish();
        assert_eq!(buffers.offered, BUFFERS, "the whole ring once one ran dry");
        assert_eq!(offered(&buffers, tail).len(), usize::from(BUFFERS - WINDOW));
        assert!(buffers.free.is_empty());

        // The kernel takes them all and they come back; a calm spell later
        // only half are offered again.
        for bid in 0..BUFFERS {
            buffers.taken();
            buffers.give_back(bid);
        }
        for _ in 0..CALM {
            buffers.publish();
        }
        assert_eq!(buffers.window, WINDOW);
        for bid in 0..WINDOW {
            buffers.taken();
            buffers.give_back(bid);
        }
        buffers.publish();
        assert_eq!(buffers.offered, WINDOW, "half again after the calm spell");
    }
}
