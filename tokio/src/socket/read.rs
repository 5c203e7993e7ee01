//! The receive side: reading the stream into the read buffer or straight
//! into the message, feeding the engine, and turning its events into
//! messages.

use std::future::Future;
use std::io;
use std::task::{ready, Context, Poll};

use bytes::{BufMut, Bytes};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};
use websock_core::{CloseCode, DataKind, Event, State, Transport, MAX_CONTROL_FRAME};

use super::{Inner, DIRECT_FROM, FIRST_READ_BUFFER, RESERVE_AHEAD, SHRINK_AFTER};
use crate::error::Error;
use crate::message::{CloseFrame, Message, Utf8Bytes};

impl<S: AsyncRead + AsyncWrite + Unpin> Inner<S> {
    /// Reads more input; `Ready(Ok(false))` at end of stream.
    #[inline(always)]
    pub(super) fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<bool>> {
        if self.rx_start > 0 {
            self.rx.drain(..self.rx_start);
            self.rx_start = 0;
        }
        if self.full_read {
            // More may be waiting: read more at once.
            self.full_read = false;
            self.grow_rx();
        }
        if self.rx.len() == self.rx.capacity() && !self.grow_rx() {
            // Only a handshake larger than the buffer gets here; the
            // engine's size limit answers first.
            return Poll::Ready(Err(io::ErrorKind::InvalidData.into()));
        }
        let space = self.rx.capacity() - self.rx.len();
        // Reads into the spare capacity; the future holds no state of its
        // own, so dropping it when pending loses nothing.
        let read = std::pin::pin!(self.io.read_buf(&mut self.rx)).poll(cx);
        let n = ready!(self.count_read(read))?;
        self.full_read = n == space;
        Poll::Ready(Ok(n > 0))
    }

    /// Books a read's outcome, wherever it read into: bytes add to the
    /// burst; a pending read means the burst is over.
    #[inline(always)]
    fn count_read(&mut self, read: Poll<io::Result<usize>>) -> Poll<io::Result<usize>> {
        match read {
            Poll::Ready(Ok(n)) => {
                self.burst = self.burst.saturating_add(n);
                Poll::Ready(Ok(n))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => {
                self.idle();
                Poll::Pending
            }
        }
    }

    /// A read found nothing.
    fn idle(&mut self) {
        if self.burst >= SHRINK_AFTER
            && self.rx_start == self.rx.len()
            && self.rx.capacity() > FIRST_READ_BUFFER
        {
            // Give back what a large message made us take.
            self.rx.clear();
            self.rx_start = 0;
            self.rx.shrink_to(FIRST_READ_BUFFER);
        }
        self.burst = 0;
    }

    /// How much of the frame is still to come, if the next read should go
    /// straight into the message: nothing is left over in the read buffer
    /// and an uncompressed data frame with at least [`DIRECT_FROM`] bytes
    /// still to come is being received.
    #[inline(always)]
    fn direct_rest(&self) -> Option<u64> {
        let rest = self.conn.frame_remaining();
        if rest < DIRECT_FROM as u64
            || self.rx_start < self.rx.len()
            || self.conn.compression_active()
            || !matches!(self.conn.state(), State::Open | State::CloseSent)
        {
            return None;
        }
        Some(rest)
    }

    /// Reads more input, into the message when [`Inner::direct_rest`]
    /// says so, else into the read buffer; `Ready(Ok(false))` at end of
    /// stream.
    #[inline(always)]
    fn poll_fill_next(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<bool>> {
        match self.direct_rest() {
            None => self.poll_fill(cx),
            Some(rest) => self.poll_fill_direct(cx, rest),
        }
    }

    /// Reads up to `rest` bytes straight into the message.
    #[inline(never)]
    fn poll_fill_direct(&mut self, cx: &mut Context<'_>, rest: u64) -> Poll<io::Result<bool>> {
        if self.msg.capacity() - self.msg.len() < DIRECT_FROM {
            self.msg.reserve(rest.min(RESERVE_AHEAD) as usize);
        }
        let room = self.msg.capacity() - self.msg.len();
        let mut room = (&mut self.msg).limit(rest.min(room as u64) as usize);
        let read = std::pin::pin!(self.io.read_buf(&mut room)).poll(cx);
        let n = ready!(self.count_read(read))?;
        self.unfed = n;
        // What filled the read buffer was this frame, not a backlog: the
        // next message's first read need not be larger.
        self.full_read = false;
        Poll::Ready(Ok(n > 0))
    }

    /// Gives the read buffer its configured size; false when it has it
    /// already.
    fn grow_rx(&mut self) -> bool {
        let limit = self.config.read_buffer_limit();
        if self.rx.capacity() >= limit {
            return false;
        }
        self.rx.reserve_exact(limit - self.rx.len());
        true
    }

    /// The next message, pings, pongs and closes included.
    pub(crate) fn poll_next(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Message, Error>>> {
        let r = self.poll_next_inner(cx);
        if let Poll::Ready(Some(Err(_))) = r {
            self.reported = true;
        }
        r
    }

    fn poll_next_inner(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Message, Error>>> {
        self.tick_if_timed();
        loop {
            if self.done {
                return Poll::Ready(None);
            }
            self.queue_owed();
            if let Poll::Ready(Err(e)) = self.poll_write_out(cx) {
                self.finish();
                return Poll::Ready(Some(Err(Error::Io(e))));
            }
            if self.conn.transport() == Transport::Close || self.eof {
                return self.poll_end(cx);
            }
            // Backpressure: a peer that does not read our replies is not
            // read either (the write above registered the wake-up).
            if self.pending_out() > self.config.write_buffer_limit {
                return Poll::Pending;
            }
            match self.step() {
                Err(e) => return Poll::Ready(Some(Err(e))),
                Ok(Some(m)) => return Poll::Ready(Some(Ok(m))),
                Ok(None) => {}
            }
            match self.poll_fill_next(cx) {
                Poll::Ready(Ok(true)) => {}
                Poll::Ready(Ok(false)) => {
                    self.eof = true;
                }
                Poll::Ready(Err(e)) => {
                    self.conn.transport_closed();
                    self.finish();
                    return Poll::Ready(Some(Err(Error::Io(e))));
                }
                Poll::Pending => {
                    ready!(self.poll_deadline(cx));
                }
            }
        }
    }

    /// Feeds the engine what is buffered: a message when one completes,
    /// `None` when it needs more input.
    fn step(&mut self) -> Result<Option<Message>, Error> {
        loop {
            if self.conn.compression_active() && self.scratch.is_empty() {
                self.scratch = vec![0; self.config.read_buffer_limit()];
            }
            // Bytes read straight into the message are given to the engine
            // where they are: the message's buffer stands in as the read
            // buffer for this call (one call site, so that the engine's
            // receive is inlined here), and is swapped back below.
            let direct = std::mem::take(&mut self.unfed);
            if direct > 0 {
                // Nothing was left over in the read buffer (direct_rest).
                self.rx.clear();
                self.rx_start = self.msg.len() - direct;
                std::mem::swap(&mut self.rx, &mut self.msg);
            }
            // Room for the pong of a ping taken in this call.
            self.reserve(MAX_CONTROL_FRAME);
            let end = self.tx_end;
            let input = &mut self.rx[self.rx_start..];
            let (used, event) =
                match self
                    .conn
                    .receive_with(input, &mut self.scratch, &mut self.tx[end..])
                {
                    Ok(r) => {
                        self.tx_end += r.written;
                        (r.consumed, r.event)
                    }
                    Err(e) => {
                        if direct > 0 {
                            std::mem::swap(&mut self.rx, &mut self.msg);
                            self.rx_start = 0;
                        }
                        self.msg = Vec::new();
                        self.queue_owed();
                        return Err(Error::Ws(e));
                    }
                };
            // Read straight into the message: the chunk should be the
            // bytes themselves, unmasked (and checked) in place.
            let mut in_place = None;
            let message = match event {
                Some(Event::Data { kind, chunk, last }) if direct > 0 => {
                    if used == direct && chunk.len() == direct {
                        in_place = Some((kind, last));
                    }
                    None
                }
                Some(Event::Data { kind, chunk, last }) => {
                    if !last {
                        // Room for the whole frame at once (up to
                        // RESERVE_AHEAD), not grown and copied step by
                        // step as it arrives.
                        let rest = self.conn.frame_remaining().min(RESERVE_AHEAD) as usize;
                        self.msg.reserve(chunk.len() + rest);
                        self.msg.extend_from_slice(chunk);
                        None
                    } else {
                        let bytes = if self.msg.is_empty() {
                            chunk.to_vec()
                        } else {
                            self.msg.extend_from_slice(chunk);
                            std::mem::take(&mut self.msg)
                        };
                        Some(data_message(kind, bytes))
                    }
                }
                Some(Event::Ping(p)) => Some(Message::Ping(Bytes::copy_from_slice(p))),
                Some(Event::Pong(p)) => Some(Message::Pong(Bytes::copy_from_slice(p))),
                Some(Event::Close { code, reason }) => {
                    // Owned before the input it borrows is touched again.
                    let frame = close_frame(code, reason);
                    // Our reply may arm the client's wait for TCP to close
                    // (section 7.1.1): from now, not from the last tick.
                    self.tick();
                    self.queue_owed();
                    Some(Message::Close(frame))
                }
                None if used == 0 => {
                    self.rx_start += used;
                    return Ok(None);
                }
                None => None,
            };
            if direct > 0 {
                match self.end_direct(used, in_place) {
                    None => continue,
                    message => return Ok(message),
                }
            }
            self.rx_start += used;
            if message.is_some() {
                return Ok(message);
            }
        }
    }

    /// After the engine saw bytes read straight into the message: the
    /// buffers swap back, and the message is returned when that was its
    /// end. Out of line: the common path of `step` stays small.
    #[inline(never)]
    fn end_direct(&mut self, used: usize, in_place: Option<(DataKind, bool)>) -> Option<Message> {
        std::mem::swap(&mut self.rx, &mut self.msg);
        let start = std::mem::take(&mut self.rx_start);
        match in_place {
            Some((kind, true)) => Some(data_message(kind, std::mem::take(&mut self.msg))),
            Some((_, false)) => None,
            None => {
                // Not taken as this frame's payload (direct_rest rules that
                // out; kept correct anyway): what the engine left goes back
                // to the read buffer, as if read there.
                self.rx.extend_from_slice(&self.msg[start + used..]);
                self.msg.truncate(start);
                None
            }
        }
    }
}

/// A received data message (text checked by the engine).
#[inline(always)]
fn data_message(kind: DataKind, bytes: Vec<u8>) -> Message {
    match kind {
        DataKind::Text => Message::Text(Utf8Bytes::from_checked(Bytes::from(bytes))),
        DataKind::Binary => Message::Binary(Bytes::from(bytes)),
    }
}

fn close_frame(code: CloseCode, reason: &[u8]) -> Option<CloseFrame> {
    if code == CloseCode::NO_STATUS {
        return None;
    }
    // The engine checked the reason is UTF-8.
    let reason = Utf8Bytes::from_checked(Bytes::copy_from_slice(reason));
    Some(CloseFrame { code, reason })
}
