//! Bytes for the transport, in a buffer that is written into without being
//! zeroed first.
//!
//! The engine writes a frame into a `&mut [u8]` of the room it may need (a
//! whole frame's worth for a message). Growing a `Vec` to that room zeroes
//! it, a `memset` of the payload's size per message only for the engine to
//! overwrite it. Here the `Vec`'s length stays at the most room ever asked
//! for, and a separate count says how much of it is used: room is zeroed
//! once, when the buffer first grows, and reused after that as it is.

/// Past this size a session's buffers (this output, the input, a gathered
/// message) are released once emptied, so that one large message does not
/// pin its memory for the connection's life.
pub const RETAINED: usize = 64 << 10;

/// A growable output buffer whose spare room is reused without zeroing.
#[derive(Debug, Default)]
pub struct Output {
    /// Used bytes first, then spare room left from earlier writes.
    bytes: Vec<u8>,
    /// How many of `bytes` are output.
    used: usize,
}

impl Output {
    /// An empty buffer (allocates nothing).
    pub fn new() -> Self {
        Output::default()
    }

    /// The output bytes.
    pub fn as_slice(&self) -> &[u8] {
        &self.bytes[..self.used]
    }

    /// How many bytes are output.
    pub fn len(&self) -> usize {
        self.used
    }

    /// Whether there is no output.
    pub fn is_empty(&self) -> bool {
        self.used == 0
    }

    /// `n` bytes of room after the output, to write into and then
    /// [`Output::commit`]. They hold whatever was there before.
    pub fn room(&mut self, n: usize) -> &mut [u8] {
        let end = self.used.saturating_add(n);
        if self.bytes.len() < end {
            self.bytes.resize(end, 0);
        }
        &mut self.bytes[self.used..end]
    }

    /// Adds the first `n` bytes of the last [`Output::room`] to the output.
    pub fn commit(&mut self, n: usize) {
        self.used = self.used.saturating_add(n).min(self.bytes.len());
    }

    /// Appends `bytes`.
    pub fn extend(&mut self, bytes: &[u8]) {
        self.room(bytes.len()).copy_from_slice(bytes);
        self.commit(bytes.len());
    }

    /// Empties the output, releasing the memory past [`RETAINED`].
    pub fn clear(&mut self) {
        if self.bytes.len() > RETAINED {
            self.bytes = Vec::new();
        }
        self.used = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_is_committed_in_part_and_reused_unzeroed() {
        let mut out = Output::new();
        out.room(4).copy_from_slice(b"abcd");
        out.commit(2);
        assert_eq!(out.as_slice(), b"ab");
        // The room after the output still holds what was written there.
        assert_eq!(out.room(2), b"cd");
        out.extend(b"xyz");
        assert_eq!(out.as_slice(), b"abxyz");
        assert_eq!(out.len(), 5);
        out.clear();
        assert!(out.is_empty());
        assert_eq!(out.room(3), b"abx");
    }

    #[test]
    fn a_commit_never_passes_the_room() {
        let mut out = Output::new();
        out.room(2);
        out.commit(9);
        assert_eq!(out.len(), 2);
    }

    #[test]
    fn a_large_buffer_is_released_when_cleared() {
        let mut out = Output::new();
        out.extend(&vec![1; RETAINED + 1]);
        out.clear();
        assert_eq!(out.bytes.capacity(), 0);
        out.extend(b"ok");
        assert_eq!(out.as_slice(), b"ok");
    }
}
