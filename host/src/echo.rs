//! The echo application: every data chunk goes straight back as a fragment
//! of the same kind, so a message of any size streams through fixed buffers.

use websock_core::Event;

use crate::link::{Handler, Tx};

/// Echoes text and binary messages, chunk by chunk.
#[derive(Debug, Default)]
pub struct Echo;

impl Handler for Echo {
    fn event(&mut self, event: Event<'_>, tx: &mut Tx<'_>) {
        if let Event::Data { kind, chunk, last } = event {
            // Sending fails only once we have sent or answered a close:
            // the rest of the peer's message is then not echoed, as the
            // RFC wants (no data after Close).
            let _ = tx.send(kind, chunk, last);
        }
    }
}
