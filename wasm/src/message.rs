//! Reassembly of whole messages from the engine's streamed chunks.
//!
//! The engine hands out a message as chunks of the caller's input buffer
//! and has already enforced the size limit (1009) and, for text, UTF-8
//! validity. JavaScript wants whole messages, so the chunks are gathered
//! here; a message that arrives in one chunk is passed through uncopied.
//! A gathered message stays where it is until the next chunk comes, so
//! that a host may read it from the module's memory after the call that
//! delivered it (the Node adapter copies payloads straight from there).

use websock_core::DataKind;

use crate::output::RETAINED;

/// The data message being received.
#[derive(Debug, Default)]
pub struct Reassembly {
    bytes: Vec<u8>,
    /// Whether `bytes` holds a message already delivered, kept until the
    /// next chunk.
    delivered: bool,
}

impl Reassembly {
    /// An empty buffer.
    pub fn new() -> Self {
        Reassembly::default()
    }

    /// Adds one chunk. When `last` ends the message, hands the whole of it
    /// to `deliver`; its bytes stay as they are until the next call.
    pub fn push(
        &mut self,
        kind: DataKind,
        chunk: &[u8],
        last: bool,
        deliver: impl FnOnce(DataKind, &[u8]),
    ) {
        if self.delivered {
            self.reset();
        }
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
        self.delivered = true;
    }

    /// Forgets the delivered message, releasing a large buffer.
    fn reset(&mut self) {
        if self.bytes.capacity() > RETAINED {
            self.bytes = Vec::new();
        } else {
            self.bytes.clear();
        }
        self.delivered = false;
    }

    /// Bytes gathered so far of an unfinished message.
    pub fn len(&self) -> usize {
        if self.delivered {
            0
        } else {
            self.bytes.len()
        }
    }

    /// Whether no message is in progress (or it has no bytes yet).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
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
        let big = vec![7u8; RETAINED + 1];
        r.push(DataKind::Binary, &big, false, |_, _| {});
        r.push(DataKind::Binary, b"!", true, |_, b| {
            assert_eq!(b.len(), big.len() + 1)
        });
        assert!(r.is_empty());
        r.push(DataKind::Binary, b"?", true, |_, _| {});
        assert_eq!(r.bytes.capacity(), 0);
    }

    #[test]
    fn a_gathered_message_stays_until_the_next_chunk() {
        let mut r = Reassembly::new();
        let mut at = None;
        r.push(DataKind::Text, b"ab", false, |_, _| {});
        r.push(DataKind::Text, b"cd", true, |_, b| at = Some(b.as_ptr()));
        assert_eq!(
            (r.bytes.as_ptr(), r.bytes.as_slice()),
            (at.unwrap(), &b"abcd"[..])
        );
        assert!(r.is_empty());
        r.push(DataKind::Text, b"e", false, |_, _| {});
        assert_eq!(r.bytes, b"e");
    }
}
