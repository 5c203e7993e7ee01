//! Reassembly of whole messages from the engine's streamed chunks.
//!
//! The engine hands out a message as chunks of the caller's input buffer
//! and has already enforced the size limit (1009) and, for text, UTF-8
//! validity. JavaScript wants whole messages, so the chunks are gathered
//! here; a message that arrives in one chunk is passed through uncopied.

use websock_core::DataKind;

/// Past this capacity the buffer is released after each message, so that
/// one large message does not pin its memory for the connection's life.
const RETAINED_CAPACITY: usize = 64 << 10;

/// The data message being received.
#[derive(Debug, Default)]
pub struct Reassembly {
    bytes: Vec<u8>,
}

impl Reassembly {
    /// An empty buffer.
    pub fn new() -> Self {
        Reassembly::default()
    }

    /// Adds one chunk. When `last` ends the message, returns the whole of
    /// it and hands it to `deliver`; the buffer is empty again afterwards.
    pub fn push(
        &mut self,
        kind: DataKind,
        chunk: &[u8],
        last: bool,
        deliver: impl FnOnce(DataKind, &[u8]),
    ) {
        if !last {
            self.bytes.extend_from_slice(chunk);
            return;
        }
        if self.bytes.is_empty() {
            deliver(kind, chunk);
            return;
        }
        self.bytes.extend_from_slice(chunk);
        deliver(kind, &self.bytes);
        if self.bytes.capacity() > RETAINED_CAPACITY {
            self.bytes = Vec::new();
        } else {
            self.bytes.clear();
        }
    }

    /// Bytes gathered so far of an unfinished message.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Whether no message is in progress (or it has no bytes yet).
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_chunk_is_delivered_as_is() {
        let mut r = Reassembly::new();
        let mut got = None;
        r.push(DataKind::Text, b"hello", true, |k, b| {
            got = Some((k, b.to_vec()))
        });
        assert_eq!(got, Some((DataKind::Text, b"hello".to_vec())));
        assert!(r.is_empty());
    }

    #[test]
    fn chunks_are_joined_and_the_buffer_reset() {
        let mut r = Reassembly::new();
        let mut got = Vec::new();
        r.push(DataKind::Binary, b"ab", false, |_, _| panic!("too early"));
        r.push(DataKind::Binary, b"", false, |_, _| panic!("too early"));
        assert_eq!(r.len(), 2);
        r.push(DataKind::Binary, b"cd", true, |k, b| {
            got.push((k, b.to_vec()))
        });
        r.push(DataKind::Text, b"x", true, |k, b| got.push((k, b.to_vec())));
        assert_eq!(
            got,
            vec![
                (DataKind::Binary, b"abcd".to_vec()),
                (DataKind::Text, b"x".to_vec())
            ]
        );
    }

    #[test]
    fn a_large_buffer_is_released() {
        let mut r = Reassembly::new();
        let big = vec![7u8; RETAINED_CAPACITY + 1];
        r.push(DataKind::Binary, &big, false, |_, _| {});
        r.push(DataKind::Binary, b"!", true, |_, b| {
            assert_eq!(b.len(), big.len() + 1)
        });
        assert_eq!(r.bytes.capacity(), 0);
    }
}
