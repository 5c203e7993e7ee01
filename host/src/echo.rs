//! The echo application: every message goes back with the same kind and
//! content, streaming, so a message of any size passes through bounded
//! buffers.
//!
//! Pieces of a message are gathered into fragments of up to [`FRAGMENT`]
//! bytes before they go back. A message that arrives whole goes straight
//! back with no copy; one that arrives in many small pieces (small frames,
//! small reads, or chunks of a compressed message) goes back in few large
//! frames, which costs both peers far less per byte, and with
//! permessage-deflate compresses better too. The pieces are gathered
//! behind room for the frame header, and the fragment goes out from
//! there ([`Tx::send_gathered`]): one copy, not two.

use websock_core::{DataKind, Event};

use crate::link::{Handler, Tx, GATHER_ROOM};

/// The largest fragment the echo gathers before sending.
pub const FRAGMENT: usize = 64 * 1024;
/// A first piece at least this long starts a gathering with room for a
/// whole fragment.
const LARGE_PIECE: usize = 4096;

/// Echoes text and binary messages.
#[derive(Debug, Default)]
pub struct Echo {
    /// Pieces of the current message not sent yet (empty between messages).
    pending: Vec<u8>,
}

impl Handler for Echo {
    fn event(&mut self, event: Event<'_>, tx: &mut Tx<'_>) {
        let Event::Data { kind, chunk, last } = event else {
            return;
        };
        // Sending fails only once we have sent or answered a close: the
        // rest of the peer's message is then not echoed, as the RFC wants
        // (no data after Close).
        if self.pending.is_empty() && (last || chunk.len() >= FRAGMENT) {
            let _ = tx.send(kind, chunk, last);
            return;
        }
        if self.pending.is_empty() {
            if chunk.len() >= LARGE_PIECE {
                // A large message in pieces (io_uring's receive buffers
                // are 16 KiB): room for a whole fragment at once, so that
                // growing copies nothing again (16 -> 32 -> 64 KiB copied
                // 48 KiB more per 64 KiB message).
                self.pending.reserve_exact(GATHER_ROOM + FRAGMENT);
            }
            // Room for the frame header in front, so that the fragment
            // goes out from here and is not copied into the output too.
            self.pending.resize(GATHER_ROOM, 0);
        }
        self.pending.extend_from_slice(chunk);
        self.flush(kind, last, tx);
    }
}

impl Echo {
    /// Sends what is gathered once it ends the message or fills a
    /// fragment.
    fn flush(&mut self, kind: DataKind, last: bool, tx: &mut Tx<'_>) {
        if last || self.pending.len() - GATHER_ROOM >= FRAGMENT {
            // `pending` may come back as other memory (the output queue's
            // old buffer); either way it is room now.
            let _ = tx.send_gathered(kind, &mut self.pending, last);
            self.pending.clear();
        }
        if last {
            // Between messages an idle connection keeps no buffer.
            self.pending = Vec::new();
        }
    }
}
