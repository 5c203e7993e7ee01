//! Sending: [`Tx`], through which a handler, or the link's owner by
//! [`Link::with_tx`], queues frames (RFC 6455 section 5) in the output
//! queue. It borrows only the engine and the queue, not the whole link, so
//! that a handler can send while the link is feeding it events.

use websock_core::frame::{apply_mask, MAX_CONTROL_FRAME, MAX_HEADER_LEN};
use websock_core::{CloseCode, Connection, DataKind, Error, Role};

use super::{Link, BORROW_MIN, GATHER_ROOM};
use crate::outbuf::OutBuf;

// For the docs' links only.
#[cfg(doc)]
use super::Handler;

/// Sends on a connection, from inside a [`Handler`] or from its owner.
pub struct Tx<'a> {
    pub(super) engine: &'a mut Connection,
    pub(super) out: &'a mut OutBuf,
    /// A fragmented message is going out (so a shutdown waits for its end).
    pub(super) sending: &'a mut bool,
    /// The read buffer payloads may be queued by reference from, as its
    /// address and length (see [`Link::received_borrowing`]).
    pub(super) window: Option<(usize, usize)>,
}

impl Tx<'_> {
    /// Queues a message or a fragment of one (`last == false`).
    pub fn send(&mut self, kind: DataKind, payload: &[u8], last: bool) -> Result<(), Error> {
        if let Some((start, end)) = self.borrowable(payload) {
            let room = self.out.spare(MAX_HEADER_LEN);
            let (n, _) = self.engine.send_header(kind, payload.len(), last, room)?;
            self.out.commit(n);
            self.out.push_ref(start, end);
            *self.sending = !last;
            return Ok(());
        }
        // With permessage-deflate in force a frame may be a little longer
        // than its payload; the engine knows by how much.
        let room = self.out.spare(self.engine.max_frame_len(payload.len()));
        let n = self.engine.send(kind, payload, last, room)?;
        self.out.commit(n);
        *self.sending = !last;
        Ok(())
    }

    /// Queues a message or a fragment of one whose payload the caller
    /// gathered in `buf` after [`GATHER_ROOM`] bytes of room (their
    /// contents do not matter). When no output is queued and the payload
    /// goes out as it is (no permessage-deflate), the frame header is
    /// written into that room and `buf` becomes the output queue's memory:
    /// the payload is not copied a second time, and `buf` gets the queue's
    /// old memory (room, not data). Otherwise like [`Tx::send`] with the
    /// payload.
    pub fn send_gathered(
        &mut self,
        kind: DataKind,
        buf: &mut Vec<u8>,
        last: bool,
    ) -> Result<(), Error> {
        let Some(payload_len) = buf.len().checked_sub(GATHER_ROOM) else {
            return Err(Error::BufferTooSmall {
                needed: GATHER_ROOM,
            });
        };
        if !self.out.is_empty() || self.engine.compression_active() {
            return self.send(kind, &buf[GATHER_ROOM..], last);
        }
        let mut head = [0u8; MAX_HEADER_LEN];
        let (n, key) = self
            .engine
            .send_header(kind, payload_len, last, &mut head)?;
        let start = GATHER_ROOM - n;
        buf[start..GATHER_ROOM].copy_from_slice(&head[..n]);
        if let Some(key) = key {
            // A client masks what it sends (section 5.3); the buffer is
            // the caller's to change.
            apply_mask(&mut buf[GATHER_ROOM..], key, 0);
        }
        let adopted = self.out.adopt(buf, start);
        debug_assert!(adopted, "the queue was empty");
        *self.sending = !last;
        Ok(())
    }

    /// Where `payload` lies in the read buffer, when it may go out from
    /// there: large, uncompressed, and from a server (a client would have
    /// to mask it in place, section 5.3, and the handler's view is shared).
    fn borrowable(&self, payload: &[u8]) -> Option<(usize, usize)> {
        if payload.len() < BORROW_MIN {
            return None;
        }
        let (base, len) = self.window?;
        if self.engine.role() != Role::Server || self.engine.compression_active() {
            return None;
        }
        let start = (payload.as_ptr() as usize).checked_sub(base)?;
        let end = start + payload.len();
        (end <= len && self.out.can_push_ref(end)).then_some((start, end))
    }

    /// Sends a ping (section 5.5.2); `payload` is at most 125 bytes.
    pub fn ping(&mut self, payload: &[u8]) -> Result<(), Error> {
        let room = self.out.spare(MAX_CONTROL_FRAME);
        let n = self.engine.ping(payload, room)?;
        self.out.commit(n);
        Ok(())
    }

    /// Starts the closing handshake.
    pub fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), Error> {
        let room = self.out.spare(MAX_CONTROL_FRAME);
        let n = self.engine.close(code, reason, room)?;
        self.out.commit(n);
        Ok(())
    }
}

impl Link {
    /// Lets the owner send: `f` gets a [`Tx`]. Write what was queued
    /// afterwards.
    pub fn with_tx<R>(&mut self, now: u64, f: impl FnOnce(&mut Tx<'_>) -> R) -> R {
        self.tick(now);
        let r = f(&mut Tx {
            engine: &mut self.engine,
            out: &mut self.out,
            sending: &mut self.sending,
            window: None,
        });
        self.close_if_going_away();
        r
    }
}
