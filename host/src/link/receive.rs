//! Input: what the transport read, its end of stream and its failure, and
//! the data frames read once open (RFC 6455 section 5), fed to the engine
//! with its events passed to the [`Handler`]. A frame header or control
//! frame cut off by the end of a read is kept for the next one, the engine
//! taking those only whole.

use std::cell::Cell;
use std::io;

use websock_core::frame::{taken_whole, MAX_CONTROL_FRAME};
use websock_core::{Error, Event, Received, State};

use super::{Failure, Handler, Link, Phase, Tx, INFLATE_SIZE, LINGER_MS};

impl Link {
    /// Whether input stopped partway: a message whose last part has not
    /// come, or the start of a frame header or of the handshake kept for
    /// the next read. Its rest is usually already on the way (a 64 KiB
    /// message crosses loopback as two segments), so a backend reads
    /// again rather than wait for the next readiness event while holding
    /// the gathered part.
    pub fn mid_message(&self) -> bool {
        self.receiving || !self.unread.is_empty()
    }

    /// How many payload bytes of the data frame being received are still
    /// to come, for a backend that treats large frames apart (io_uring
    /// hands their connections to the epoll loop): 0 between frames, in
    /// control frames, with permessage-deflate in force (compressed bytes
    /// are inflated elsewhere), and once the link is not open.
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    pub fn gather_want(&self) -> usize {
        // Asked after every receive: between frames (the common case with
        // small messages) one look at the engine answers.
        let remaining = self.engine.frame_remaining();
        if remaining == 0
            || self.phase != Phase::Open
            || self.abort
            || !matches!(self.engine.state(), State::Open | State::CloseSent)
            || self.engine.compression_active()
        {
            return 0;
        }
        usize::try_from(remaining).unwrap_or(usize::MAX)
    }

    /// Like [`Link::received`], but a large payload the handler sends back
    /// from `data` may be queued by reference to it rather than copied:
    /// until it is written ([`Link::output_parts`]) or
    /// [`Link::settle`]d, `data` must stay as it is.
    pub fn received_borrowing<H: Handler>(&mut self, data: &mut [u8], handler: &mut H) {
        let window = Some((data.as_ptr() as usize, data.len()));
        self.receive(data, handler, window);
    }

    /// Handles bytes the transport read (discarded while draining after
    /// our shutdown).
    #[inline]
    pub fn received<H: Handler>(&mut self, data: &mut [u8], handler: &mut H) {
        self.receive(data, handler, None);
    }

    /// [`Link::received`], `window` being the read buffer payloads may be
    /// queued by reference from, as its address and length (passed down,
    /// not kept: the link is kept per connection, the window only for the
    /// call).
    #[inline(always)]
    fn receive<H: Handler>(
        &mut self,
        data: &mut [u8],
        handler: &mut H,
        window: Option<(usize, usize)>,
    ) {
        if !data.is_empty() {
            self.last_input = self.now;
            self.ping_sent = false;
        }
        match self.phase {
            Phase::Handshake => self.handshake_input(data, handler, window),
            Phase::Open => self.frames(data, handler, window),
            Phase::Draining | Phase::Flushing | Phase::Closing | Phase::Done => {}
        }
    }

    /// The peer ended its stream.
    pub fn end_of_stream(&mut self, now: u64) {
        if self.phase == Phase::Draining {
            return self.finish();
        }
        self.closure = Some(self.engine.transport_closed());
        // The peer may still read what we queued (it only shut its side);
        // [`Link::step`] closes once it is written.
        self.phase = Phase::Flushing;
        self.until = now.saturating_add(LINGER_MS);
    }

    /// The transport failed: the link is done.
    pub fn io_failure(&mut self, e: io::Error) {
        // While draining after our shutdown, an error is how some peers
        // end: the closing handshake already said how it went.
        // So is one writing what our late shutdown queued: the peer had
        // ended its stream already.
        if !matches!(self.phase, Phase::Draining | Phase::Closing) {
            self.fail(Failure::Io(e));
        }
        self.finish();
    }

    pub(super) fn finish(&mut self) {
        if self.closure.is_none() {
            self.closure = Some(self.engine.transport_closed());
        }
        self.phase = Phase::Done;
    }

    /// Feeds frames to the engine until `data` is used up, passing events
    /// to the handler and queueing the engine's own replies after each. A
    /// frame header or control frame cut off at the end of `data` is kept
    /// for the next read.
    pub(super) fn frames<H: Handler>(
        &mut self,
        data: &mut [u8],
        handler: &mut H,
        window: Option<(usize, usize)>,
    ) {
        let mut from = 0;
        if !self.unread.is_empty() {
            let mut piece = std::mem::take(&mut self.unread);
            from = complete_piece(&mut piece, data);
            let took = self.frames_by_kind(&mut piece, handler, window);
            if took < piece.len() {
                // Still not whole, so `data` is used up; should any of it
                // be left, it waits too, in order.
                piece.drain(..took);
                piece.extend_from_slice(data.get(from..).unwrap_or_default());
                self.unread = piece;
                return;
            }
            piece.clear();
            self.unread = piece;
        }
        let Some(rest) = data.get_mut(from..) else {
            return;
        };
        let took = self.frames_by_kind(rest, handler, window);
        if let Some(left) = rest.get(took..).filter(|l| !l.is_empty()) {
            self.unread.extend_from_slice(left);
        }
    }

    /// [`Link::frames`] on one piece of input; returns the bytes the
    /// engine took.
    #[inline(always)]
    fn frames_by_kind<H: Handler>(
        &mut self,
        data: &mut [u8],
        handler: &mut H,
        window: Option<(usize, usize)>,
    ) -> usize {
        // Only compressed messages inflate into scratch.
        if !self.engine.compression_active() {
            return self.frames_into(data, handler, window, &mut [], false);
        }
        self.frames_inflating(data, handler, window)
    }

    /// [`Link::frames_by_kind`] with permessage-deflate in force (out of
    /// line: the uncompressed path, inlined, is the common one).
    #[inline(never)]
    fn frames_inflating<H: Handler>(
        &mut self,
        data: &mut [u8],
        handler: &mut H,
        window: Option<(usize, usize)>,
    ) -> usize {
        // One buffer per thread (so per worker): a connection holds none of
        // its own between reads, which matters with thousands of them.
        thread_local! {
            static SCRATCH: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
        }
        let mut scratch = SCRATCH.take();
        if scratch.is_empty() {
            scratch = vec![0; INFLATE_SIZE];
        }
        let took = self.frames_into(data, handler, window, &mut scratch, true);
        SCRATCH.set(scratch);
        took
    }

    /// `window`: as for [`Link::receive`]. `inflating`: permessage-deflate
    /// is in force. Returns the bytes the engine took: fewer than all only
    /// when the rest is the start of a frame header or control frame.
    fn frames_into<H: Handler>(
        &mut self,
        data: &mut [u8],
        handler: &mut H,
        window: Option<(usize, usize)>,
        scratch: &mut [u8],
        inflating: bool,
    ) -> usize {
        let mut pos = 0;
        // A ping's pong goes straight into the output queue, which is
        // asked for room only once the engine has stopped at a ping for
        // want of it: asking on every call cost an echo of 20 B about
        // twenty instructions (and could grow an empty queue for nothing).
        let mut room = false;
        // Called once more after the input is used up when inflating: a
        // compressed message's last chunk inflates from the tail the
        // engine appends itself (RFC 7692 section 7.2.2), with no new
        // input. Without compression nothing comes of no input, and that
        // call cost about a fifth of an echo of 20 B.
        loop {
            let out: &mut [u8] = if room {
                self.out.spare(MAX_CONTROL_FRAME)
            } else {
                &mut []
            };
            let (used, had_event) = match self.engine.receive_with(&mut data[pos..], scratch, out) {
                Ok(Received {
                    consumed: used,
                    written,
                    event,
                }) => {
                    self.out.commit(written);
                    let had_event = event.is_some();
                    if let Some(event) = event {
                        if let Event::Data { last, .. } = event {
                            self.receiving = !last;
                        }
                        handler.event(
                            event,
                            &mut Tx {
                                engine: &mut self.engine,
                                out: &mut self.out,
                                sending: &mut self.sending,
                                window,
                            },
                        );
                        self.close_if_going_away();
                    }
                    (used, had_event)
                }
                Err(e) => {
                    if let Error::Protocol(v) = e {
                        self.fail(Failure::Protocol(v));
                    }
                    // The engine ignores input from now on; its close frame
                    // is queued below.
                    self.poll_output();
                    return data.len();
                }
            };
            pos += used;
            self.poll_output();
            if pos >= data.len() && (!had_event || !inflating) {
                return pos;
            }
            if used == 0 && !had_event {
                if !room {
                    // Maybe a ping whose pong needs room: try again with
                    // it (else the same answer comes back).
                    room = true;
                    continue;
                }
                // The start of a header or control frame: more must come.
                return pos;
            }
        }
    }
}

/// Moves from `data` into `piece` (the start of a frame header or control
/// frame) the bytes that piece still needs (`frame::taken_whole`), and no
/// more: a data frame's payload stays in `data`, where a handler may borrow
/// it. Returns how many were moved.
fn complete_piece(piece: &mut Vec<u8>, data: &[u8]) -> usize {
    let mut moved = 0;
    loop {
        let take = taken_whole(piece)
            .saturating_sub(piece.len())
            .min(data.len() - moved);
        if take == 0 {
            return moved;
        }
        piece.extend_from_slice(&data[moved..moved + take]);
        moved += take;
    }
}
