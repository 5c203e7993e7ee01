//! The WebSocket: the engine driven straight from `poll_*` calls, as a
//! `Stream` of messages and a `Sink` for them.
//!
//! Reading: bytes are read into the read buffer, unmasked there by the
//! engine, and copied once into the message (or inflated into it); the
//! rest of a large uncompressed frame, once its header is in, is read
//! straight into the message and unmasked there (no copy). Owed
//! replies (pong, close reply) go into the write buffer as the engine
//! produces them and are written while reading, so a stream that is only
//! read still answers pings.
//!
//! Writing: `start_send` encodes a frame into the write buffer, or for a
//! data message of [`NO_COPY_FROM`] bytes or more only its header: the
//! payload is written from the message itself (a vectored write of header
//! and payload where the stream supports it), so a large message is not
//! copied and the write buffer stays small. `poll_flush` writes it all.
//! `poll_ready` is pending while more than the configured limit waits to be
//! written, and reading stops at the same point, so a peer that does not
//! read slows us instead of growing memory.

use std::collections::VecDeque;
use std::future::Future;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Instant;

use bytes::{Buf, BufMut, Bytes};
use futures_core::Stream;
use futures_sink::Sink;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};
use tokio::time::Sleep;
use websock_core::frame::{apply_mask, MAX_HEADER_LEN};
use websock_core::{
    Accept, CloseCode, Connection, DataKind, Event, State, Transport, MAX_CONTROL_FRAME,
};

use crate::config::Config;
use crate::error::Error;
use crate::message::{CloseFrame, Message, Utf8Bytes};

/// The read buffer a connection starts with: room for an upgrade request
/// or response, and for small messages without growing.
const FIRST_READ_BUFFER: usize = 1024;
/// An output buffer that grew past this (a large message, or a backlog)
/// is freed once written, as the host's is; smaller ones are kept, so
/// that a busy connection does not allocate per message.
const RETAIN_OUTPUT: usize = 256 * 1024;
/// Data messages from this size on are written from the message itself,
/// after a header encoded alone; smaller ones are copied into the write
/// buffer with their header, where one plain write is cheaper than the
/// bookkeeping of a vectored one.
pub(crate) const NO_COPY_FROM: usize = 4096;
/// The read buffer goes back to [`FIRST_READ_BUFFER`] when a read finds
/// nothing after at least this many bytes came since the last such read:
/// after a large message, not between small ones, where giving it back
/// and growing it again for every message would cost more than it saves.
const SHRINK_AFTER: usize = 4096;
/// When this much or more of a data frame's payload is still to come, it
/// is read straight into the message instead of through the read buffer.
const DIRECT_FROM: usize = 4096;
/// The most a message's buffer is grown ahead of its payload's arrival on
/// the word of a frame header: a peer that announces a large frame and
/// sends it slowly makes us hold about what it sent, not what it announced.
const RESERVE_AHEAD: u64 = 1 << 20;
/// The most slices one vectored write gathers.
const MAX_SLICES: usize = 16;

/// A payload written from the message that carried it: it goes out once
/// `tx` has been written up to `at`.
struct Payload {
    at: usize,
    bytes: Bytes,
}

/// A WebSocket over a stream `S`: a [`Stream`] of received messages and a
/// [`Sink`] of messages to send. [`WebSocket::split`] gives two halves for
/// two tasks.
///
/// Dropping it before the closing handshake is done finishes the handshake
/// in a task of its own (close code 1001, bounded by the close timeout),
/// when a tokio runtime is running.
pub struct WebSocket<S> {
    inner: Option<Inner<S>>,
    /// Finishes the closing handshake of a dropped socket (made where the
    /// stream is known to be `Send + 'static`).
    closer: fn(Inner<S>),
}

pub(crate) struct Inner<S> {
    io: S,
    conn: Connection,
    config: Config,
    /// "Now" for the engine is milliseconds since this.
    origin: Instant,
    /// Input: `rx[rx_start..]` waits for the engine. Its capacity starts
    /// at [`FIRST_READ_BUFFER`] and takes the configured size once a read
    /// fills it (at once, not by doubling: each step would leave a freed
    /// block behind, which the allocator keeps), and goes back to the
    /// first size when a read finds nothing, nothing is left over and a
    /// large message came before (see [`SHRINK_AFTER`]): an idle
    /// connection keeps a small one after large messages. Reads go to the
    /// spare capacity, which is never zeroed.
    rx: Vec<u8>,
    rx_start: usize,
    /// Bytes read since a read last found nothing.
    burst: usize,
    /// The last read filled the read buffer: give it its full size before
    /// the next (unless that one goes straight into the message).
    full_read: bool,
    /// Bytes read straight into the end of `msg` that the engine has not
    /// seen yet (still masked).
    unfed: usize,
    /// Where compressed messages inflate to.
    scratch: Vec<u8>,
    /// The data message being received.
    msg: Vec<u8>,
    /// Output: `tx[tx_start..tx_end]` waits to be written, with the
    /// payloads of `payloads` spliced in at their offsets. The vector grows
    /// to the largest copied frame so far plus the backlog, and is freed
    /// once written when that passed [`RETAIN_OUTPUT`].
    tx: Vec<u8>,
    tx_start: usize,
    tx_end: usize,
    /// Payloads written without a copy, in order; their `at` lie within
    /// `tx_start..=tx_end` and never decrease.
    payloads: VecDeque<Payload>,
    /// The bytes `payloads` still hold.
    payload_bytes: usize,
    timer: Option<Pin<Box<Sleep>>>,
    /// Bounds the wait for the peer's last bytes after we shut down.
    drain: Option<Pin<Box<Sleep>>>,
    /// End of stream, or the transport was closed: nothing more to read.
    eof: bool,
    /// The write side has been shut down.
    shut: bool,
    /// The stream has ended (`None` given).
    done: bool,
    /// An error has been returned for this connection's end.
    reported: bool,
    /// A deadline of the engine passed (handshake or close timeout).
    timed_out: bool,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Inner<S> {
    pub(crate) fn new(io: S, conn: Connection, config: Config, origin: Instant) -> Self {
        Inner {
            io,
            conn,
            config,
            origin,
            rx: Vec::with_capacity(FIRST_READ_BUFFER.min(config.read_buffer_limit())),
            rx_start: 0,
            burst: 0,
            full_read: false,
            unfed: 0,
            scratch: Vec::new(),
            msg: Vec::new(),
            tx: Vec::new(),
            tx_start: 0,
            tx_end: 0,
            payloads: VecDeque::new(),
            payload_bytes: 0,
            timer: None,
            drain: None,
            eof: false,
            shut: false,
            done: false,
            reported: false,
            timed_out: false,
        }
    }

    /// Reads more of a handshake; an error at end of stream.
    async fn fill_handshake(&mut self) -> Result<(), Error> {
        match std::future::poll_fn(|cx| self.poll_fill(cx)).await {
            Ok(true) => Ok(()),
            Ok(false) => Err(Error::ConnectionReset),
            Err(e) => Err(Error::Io(e)),
        }
    }

    async fn write_all(&mut self) -> Result<(), Error> {
        std::future::poll_fn(|cx| self.poll_flush_out(cx)).await?;
        Ok(())
    }

    /// Server: reads the upgrade request and answers it (a bad request
    /// gets its HTTP error before the error is returned).
    pub(crate) async fn accept(&mut self) -> Result<(), Error> {
        loop {
            self.fill_handshake().await?;
            self.reserve(1024);
            let end = self.tx_end;
            let input = &self.rx[self.rx_start..];
            match self.conn.accept(input, &[], &mut self.tx[end..])? {
                Accept::Incomplete => continue,
                Accept::Accepted { request, written } => {
                    self.rx_start += request.len;
                    self.tx_end += written;
                    return self.write_all().await;
                }
                Accept::Rejected { error, written } => {
                    self.tx_end += written;
                    self.write_all().await?;
                    let _ =
                        std::future::poll_fn(|cx| Pin::new(&mut self.io).poll_shutdown(cx)).await;
                    return Err(Error::Ws(error.into()));
                }
            }
        }
    }

    /// Client: sends the upgrade request and checks the response.
    pub(crate) async fn connect(&mut self, host: &str, path: &str) -> Result<(), Error> {
        self.reserve(4096);
        let end = self.tx_end;
        let n = self
            .conn
            .write_request(host, path, &[], &mut self.tx[end..])?;
        self.tx_end += n;
        self.write_all().await?;
        loop {
            self.fill_handshake().await?;
            let input = &self.rx[self.rx_start..];
            if let Some(response) = self.conn.read_response(input, &[])? {
                self.rx_start += response.len;
                return Ok(());
            }
        }
    }

    fn now(&self) -> u64 {
        self.origin.elapsed().as_millis() as u64
    }

    /// Gives the engine the time, so that the deadlines it sets count from
    /// now and those that passed fire.
    fn tick(&mut self) {
        let state = self.conn.state();
        self.conn.tick(self.now());
        if self.conn.state() == State::Failed && state != State::Failed {
            self.timed_out = true;
        }
    }

    /// Ticks the engine only when its clock matters: while a deadline is
    /// set or outside the open state (handshakes). In the open state with
    /// no deadline nothing reads the engine's clock, so the data path reads
    /// no clock; what arms a deadline (our close, a peer's close) ticks
    /// first so that it counts from now.
    #[inline(always)]
    fn tick_if_timed(&mut self) {
        if self.conn.state() != State::Open || self.conn.deadline().is_some() {
            self.tick();
        }
    }

    fn pending_out(&self) -> usize {
        self.tx_end - self.tx_start + self.payload_bytes
    }

    /// Makes room for `n` more bytes of output at `tx_end`.
    fn reserve(&mut self, n: usize) {
        if self.tx_start == self.tx_end && self.payloads.is_empty() {
            self.tx_start = 0;
            self.tx_end = 0;
        }
        let need = self.tx_end + n;
        if self.tx.len() < need {
            self.tx.resize(need, 0);
        }
    }

    /// Moves the engine's owed replies into the write buffer. Checked
    /// inline on every poll; the moving is out of line (rarely owed).
    #[inline(always)]
    fn queue_owed(&mut self) {
        if self.conn.has_output() {
            self.queue_owed_now();
        }
    }

    #[inline(never)]
    fn queue_owed_now(&mut self) {
        while self.conn.has_output() {
            self.reserve(MAX_CONTROL_FRAME * 2);
            let end = self.tx_end;
            let n = self.conn.poll_output(&mut self.tx[end..]);
            self.tx_end += n;
            if n == 0 {
                break;
            }
        }
    }

    /// Writes buffered output until done or the transport pushes back.
    /// Nothing to write is answered inline, without a call: the reading
    /// loop asks on every step.
    #[inline(always)]
    pub(crate) fn poll_write_out(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.tx_start == self.tx_end
            && self.payloads.is_empty()
            && self.tx.len() <= RETAIN_OUTPUT
        {
            return Poll::Ready(Ok(()));
        }
        self.poll_write_some(cx)
    }

    #[inline(never)]
    fn poll_write_some(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            if self.payloads.is_empty() {
                // Only copied frames: one plain write.
                if self.tx_start == self.tx_end {
                    break;
                }
                let n = ready!(
                    Pin::new(&mut self.io).poll_write(cx, &self.tx[self.tx_start..self.tx_end])
                )?;
                if n == 0 {
                    return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
                }
                self.tx_start += n;
                continue;
            }
            let n = if self.io.is_write_vectored() {
                let mut slices = [IoSlice::new(&[]); MAX_SLICES];
                let k = gather(
                    &self.tx[..self.tx_end],
                    self.tx_start,
                    &self.payloads,
                    &mut slices,
                );
                ready!(Pin::new(&mut self.io).poll_write_vectored(cx, &slices[..k]))?
            } else {
                // Two writes: what precedes the payload, then the payload.
                let upto = self.payloads.front().map_or(self.tx_end, |p| p.at);
                let first = match self.payloads.front() {
                    Some(p) if self.tx_start == upto => &p.bytes[..],
                    _ => &self.tx[self.tx_start..upto],
                };
                ready!(Pin::new(&mut self.io).poll_write(cx, first))?
            };
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.consume(n);
        }
        self.tx_start = 0;
        self.tx_end = 0;
        if self.tx.len() > RETAIN_OUTPUT {
            // One large message does not hold its size for ever.
            self.tx = Vec::new();
        }
        Poll::Ready(Ok(()))
    }

    /// Drops the first `n` bytes of output, which have been written.
    fn consume(&mut self, mut n: usize) {
        while n > 0 {
            let upto = self.payloads.front().map_or(self.tx_end, |p| p.at);
            let from_tx = (upto - self.tx_start).min(n);
            self.tx_start += from_tx;
            n -= from_tx;
            let Some(p) = self.payloads.front_mut() else {
                break;
            };
            if n == 0 {
                break;
            }
            let from_payload = p.bytes.len().min(n);
            p.bytes.advance(from_payload);
            self.payload_bytes -= from_payload;
            n -= from_payload;
            if p.bytes.is_empty() {
                self.payloads.pop_front();
            }
        }
    }

    /// Output written and flushed.
    pub(crate) fn poll_flush_out(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.queue_owed();
        ready!(self.poll_write_out(cx))?;
        Pin::new(&mut self.io).poll_flush(cx)
    }

    /// Reads more input; `Ready(Ok(false))` at end of stream.
    #[inline(always)]
    fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<bool>> {
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

    /// Arms the timer for the engine's deadline and polls it; ticks the
    /// engine when it has passed. `Ready` when the engine's state moved.
    fn poll_deadline(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let Some(deadline) = self.conn.deadline() else {
            self.timer = None;
            return Poll::Pending;
        };
        let at = tokio::time::Instant::from_std(
            self.origin + std::time::Duration::from_millis(deadline),
        );
        match &mut self.timer {
            Some(t) if t.deadline() == at => {}
            _ => self.timer = Some(Box::pin(tokio::time::sleep_until(at))),
        }
        let Some(timer) = self.timer.as_mut() else {
            return Poll::Pending;
        };
        ready!(timer.as_mut().poll(cx));
        self.timer = None;
        self.tick();
        Poll::Ready(())
    }

    /// The engine wants the transport closed: write what is left, shut the
    /// write side down. `Ready` once done.
    fn poll_shutdown(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_flush_out(cx))?;
        if !self.shut {
            // A reset peer makes shutdown fail; the connection ends anyway.
            let _ = ready!(Pin::new(&mut self.io).poll_shutdown(cx));
            self.shut = true;
        }
        Poll::Ready(Ok(()))
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

    /// The engine is done with the transport, or the peer ended it: write
    /// what is owed, shut the write side down, let the peer's last bytes
    /// arrive (closing with unread input would reset TCP), end the stream.
    fn poll_end(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Message, Error>>> {
        let _ = ready!(self.poll_shutdown(cx));
        while !self.eof {
            self.rx_start = 0;
            self.rx.clear();
            match self.poll_fill(cx) {
                Poll::Ready(Ok(true)) => {}
                Poll::Ready(Ok(false)) | Poll::Ready(Err(_)) => self.eof = true,
                Poll::Pending => {
                    let limit = self.config.close_timeout;
                    let timer = self
                        .drain
                        .get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
                    ready!(timer.as_mut().poll(cx));
                    self.eof = true;
                }
            }
        }
        let closure = self.conn.transport_closed();
        self.finish();
        if closure.clean || self.reported {
            Poll::Ready(None)
        } else if self.timed_out {
            Poll::Ready(Some(Err(Error::Timeout)))
        } else {
            Poll::Ready(Some(Err(Error::ConnectionReset)))
        }
    }

    fn finish(&mut self) {
        self.unfed = 0;
        self.done = true;
        self.eof = true;
        self.timer = None;
        self.drain = None;
        self.msg = Vec::new();
    }

    /// Encodes a message into the write buffer.
    pub(crate) fn start_send(&mut self, item: Message) -> Result<(), Error> {
        if matches!(item, Message::Close(_)) {
            // Our close arms the closing handshake's deadline from now.
            self.tick();
        } else {
            self.tick_if_timed();
        }
        self.queue_owed();
        let r = match item {
            Message::Text(t) => self.send_data(DataKind::Text, t.into_bytes()),
            Message::Binary(b) => self.send_data(DataKind::Binary, b),
            Message::Ping(p) => self.encode(|c, out| c.ping(&p, out), p.len()),
            Message::Pong(p) => self.encode(|c, out| c.pong(&p, out), p.len()),
            Message::Close(frame) => {
                if self.conn.state() != State::Open {
                    // Closing already began; the engine replies by itself.
                    return Ok(());
                }
                let (code, reason) = match &frame {
                    Some(f) => (f.code, f.reason.as_str()),
                    None => (CloseCode::NORMAL, ""),
                };
                self.encode(|c, out| c.close(code, reason, out), reason.len())
            }
        };
        match r {
            Err(Error::Ws(websock_core::Error::InvalidState)) => Err(Error::AlreadyClosed),
            r => r,
        }
    }

    /// A data message: a large one is queued as it is after its header,
    /// others are encoded into the write buffer.
    fn send_data(&mut self, kind: DataKind, bytes: Bytes) -> Result<(), Error> {
        if bytes.len() < NO_COPY_FROM || self.conn.compression_active() {
            return self.encode(|c, out| c.send(kind, &bytes, true, out), bytes.len());
        }
        // A client masks every frame (section 5.3): in place when nothing
        // else shares the bytes, else while copying them.
        let mut unique = None;
        let bytes = if self.conn.role() == websock_core::Role::Client {
            match bytes.try_into_mut() {
                Ok(b) => {
                    unique = Some(b);
                    Bytes::new()
                }
                Err(b) => return self.encode(|c, out| c.send(kind, &b, true, out), b.len()),
            }
        } else {
            bytes
        };
        let len = unique.as_ref().map_or(bytes.len(), |b| b.len());
        self.reserve(MAX_HEADER_LEN);
        let end = self.tx_end;
        let (n, mask) =
            self.conn
                .send_header(kind, len, true, &mut self.tx[end..end + MAX_HEADER_LEN])?;
        self.tx_end += n;
        let bytes = match (unique, mask) {
            (Some(mut b), Some(key)) => {
                apply_mask(&mut b, key, 0);
                b.freeze()
            }
            (Some(b), None) => b.freeze(),
            (None, _) => bytes,
        };
        self.payload_bytes += bytes.len();
        self.payloads.push_back(Payload {
            at: self.tx_end,
            bytes,
        });
        Ok(())
    }

    fn encode(
        &mut self,
        f: impl FnOnce(&mut Connection, &mut [u8]) -> Result<usize, websock_core::Error>,
        len: usize,
    ) -> Result<(), Error> {
        let need = self.conn.max_frame_len(len).max(MAX_CONTROL_FRAME);
        self.reserve(need);
        let end = self.tx_end;
        let n = f(&mut self.conn, &mut self.tx[end..end + need])?;
        self.tx_end += n;
        Ok(())
    }

    pub(crate) fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        if self.pending_out() > self.config.write_buffer_limit {
            ready!(self.poll_write_out(cx))?;
        }
        Poll::Ready(Ok(()))
    }

    /// Sends our close (if the handshake has not begun), writes everything
    /// and, when the engine says so (a server once both closes crossed),
    /// shuts the write side down.
    pub(crate) fn poll_close(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        if self.conn.state() == State::Open {
            self.start_send(Message::Close(None))?;
        }
        ready!(self.poll_flush_out(cx))?;
        if self.conn.transport() == Transport::Close {
            ready!(self.poll_shutdown(cx))?;
        }
        Poll::Ready(Ok(()))
    }

    /// Whether the closing handshake still has work to do.
    fn unfinished(&self) -> bool {
        !self.done && (self.conn.state() != State::Closed || self.pending_out() > 0 || !self.shut)
    }
}

/// The output in order, `tx[start..]` with the payloads spliced in, as
/// slices for a vectored write; returns how many of `slices` it filled.
fn gather<'a>(
    tx: &'a [u8],
    start: usize,
    payloads: &'a VecDeque<Payload>,
    slices: &mut [IoSlice<'a>; MAX_SLICES],
) -> usize {
    let mut k = 0;
    let mut pos = start;
    for p in payloads {
        if k + 2 > MAX_SLICES {
            return k;
        }
        if pos < p.at {
            slices[k] = IoSlice::new(&tx[pos..p.at]);
            k += 1;
        }
        slices[k] = IoSlice::new(&p.bytes);
        k += 1;
        pos = p.at;
    }
    if pos < tx.len() && k < MAX_SLICES {
        slices[k] = IoSlice::new(&tx[pos..]);
        k += 1;
    }
    k
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

/// Drives a dropped socket's closing handshake to its end, bounded by the
/// close timeout.
pub(crate) async fn finish_dropped<S: AsyncRead + AsyncWrite + Unpin>(mut inner: Inner<S>) {
    let limit = inner.config.close_timeout;
    let _ = tokio::time::timeout(limit, async {
        if inner.conn.state() == State::Open {
            let _ = inner.start_send(Message::Close(Some(CloseFrame {
                code: CloseCode::GOING_AWAY,
                reason: Utf8Bytes::from_static(""),
            })));
        }
        std::future::poll_fn(|cx| loop {
            match ready!(inner.poll_next(cx)) {
                None | Some(Err(_)) => return Poll::Ready(()),
                Some(Ok(_)) => {}
            }
        })
        .await;
    })
    .await;
}

impl<S: AsyncRead + AsyncWrite + Unpin> WebSocket<S> {
    pub(crate) fn from_inner(inner: Inner<S>, closer: fn(Inner<S>)) -> Self {
        WebSocket {
            inner: Some(inner),
            closer,
        }
    }

    /// The engine, for what this type does not wrap.
    pub fn connection(&self) -> Option<&Connection> {
        self.inner.as_ref().map(|i| &i.conn)
    }

    /// Whether permessage-deflate is in force.
    pub fn compression(&self) -> bool {
        self.inner
            .as_ref()
            .is_some_and(|i| i.conn.compression_active())
    }

    /// The stream underneath.
    pub fn get_ref(&self) -> Option<&S> {
        self.inner.as_ref().map(|i| &i.io)
    }

    /// Splits into a sink and a stream half, for two tasks (the halves share
    /// the socket through a lock held only inside each `poll`).
    #[allow(clippy::type_complexity)]
    pub fn split(
        self,
    ) -> (
        futures_util::stream::SplitSink<Self, Message>,
        futures_util::stream::SplitStream<Self>,
    ) {
        futures_util::StreamExt::split(self)
    }

    /// Closes: sends a close frame with `frame` (1000 when `None`) and
    /// writes it. Read on to see the peer's close.
    pub async fn close(&mut self, frame: Option<CloseFrame>) -> Result<(), Error> {
        let Some(inner) = self.inner.as_mut() else {
            return Err(Error::AlreadyClosed);
        };
        if inner.conn.state() == State::Open {
            inner.start_send(Message::Close(frame))?;
        }
        std::future::poll_fn(|cx| inner.poll_close(cx)).await
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Stream for WebSocket<S> {
    type Item = Result<Message, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        match self.get_mut().inner.as_mut() {
            Some(inner) => inner.poll_next(cx),
            None => Poll::Ready(None),
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Sink<Message> for WebSocket<S> {
    type Error = Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        match self.get_mut().inner.as_mut() {
            Some(inner) => inner.poll_ready(cx),
            None => Poll::Ready(Err(Error::AlreadyClosed)),
        }
    }

    fn start_send(self: Pin<&mut Self>, item: Message) -> Result<(), Error> {
        match self.get_mut().inner.as_mut() {
            Some(inner) => inner.start_send(item),
            None => Err(Error::AlreadyClosed),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        match self.get_mut().inner.as_mut() {
            Some(inner) => inner.poll_flush_out(cx).map_err(Error::Io),
            None => Poll::Ready(Ok(())),
        }
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        match self.get_mut().inner.as_mut() {
            Some(inner) => inner.poll_close(cx),
            None => Poll::Ready(Ok(())),
        }
    }
}

impl<S> Drop for WebSocket<S> {
    fn drop(&mut self) {
        if let Some(inner) = self.inner.take() {
            (self.closer)(inner);
        }
    }
}

/// The closer for `Send + 'static` streams: a task finishes the handshake
/// when a runtime is there to run it.
pub(crate) fn spawn_closer<S>(inner: Inner<S>)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    if !inner.unfinished() {
        return;
    }
    if let Ok(handle) = tokio::runtime::Handle::try_current() {
        handle.spawn(finish_dropped(inner));
    }
}

#[cfg(test)]
mod tests {
    use std::pin::Pin;
    use std::task::{ready, Context, Poll};

    use futures_util::{SinkExt, StreamExt};
    use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};

    use super::FIRST_READ_BUFFER;
    use crate::{Config, Message};

    fn rx_len<S>(ws: &super::WebSocket<S>) -> usize {
        ws.inner.as_ref().map_or(0, |i| i.rx.capacity())
    }

    async fn idle<S: AsyncRead + AsyncWrite + Unpin>(ws: &mut super::WebSocket<S>) {
        let next = tokio::time::timeout(std::time::Duration::from_millis(20), ws.next());
        assert!(next.await.is_err(), "nothing to read");
    }

    #[tokio::test]
    async fn the_read_buffer_is_small_until_a_read_fills_it_and_again_when_idle() {
        let (a, b) = tokio::io::duplex(1 << 20);
        let (server, client) = tokio::join!(
            crate::accept(a),
            crate::client(b, "ws://127.0.0.1/", Config::default())
        );
        let (mut server, mut client) = (server.unwrap(), client.unwrap());
        assert_eq!(rx_len(&server), FIRST_READ_BUFFER);
        client.send(Message::text("small")).await.unwrap();
        assert_eq!(
            server.next().await.unwrap().unwrap(),
            Message::text("small")
        );
        assert_eq!(rx_len(&server), FIRST_READ_BUFFER);
        // A large frame: past its first read it goes straight into the
        // message, so the read buffer does not grow.
        let big = Message::binary(vec![7; 100_000]);
        client.send(big.clone()).await.unwrap();
        assert_eq!(server.next().await.unwrap().unwrap(), big);
        assert_eq!(rx_len(&server), FIRST_READ_BUFFER);
        // Nor for the next one: the first read of a large frame filled the
        // small buffer, which says nothing of a backlog.
        client.feed(big.clone()).await.unwrap();
        client.feed(big.clone()).await.unwrap();
        client.flush().await.unwrap();
        for _ in 0..2 {
            assert_eq!(server.next().await.unwrap().unwrap(), big);
            assert_eq!(rx_len(&server), FIRST_READ_BUFFER);
        }
        // Several medium messages at once fill it: it grows...
        let medium = Message::binary(vec![8; 3000]);
        for _ in 0..4 {
            client.feed(medium.clone()).await.unwrap();
        }
        client.flush().await.unwrap();
        for _ in 0..4 {
            assert_eq!(server.next().await.unwrap().unwrap(), medium);
        }
        assert_eq!(rx_len(&server), Config::default().read_buffer_size);
        // ... and goes back once a read finds nothing.
        idle(&mut server).await;
        assert_eq!(rx_len(&server), FIRST_READ_BUFFER);
        // Between messages too small to be worth it, it is kept: each
        // 2,000 byte message fills the small buffer, and giving the large
        // one back after each would only grow it again for the next.
        let medium = Message::binary(vec![9; 2000]);
        for _ in 0..2 {
            client.send(medium.clone()).await.unwrap();
            assert_eq!(server.next().await.unwrap().unwrap(), medium);
            idle(&mut server).await;
            assert_eq!(rx_len(&server), Config::default().read_buffer_size);
        }
    }

    #[tokio::test]
    async fn large_frames_read_into_the_message_in_small_pieces_arrive_whole() {
        let (a, b) = tokio::io::duplex(1 << 20);
        let a = Trickle {
            inner: a,
            limit: usize::MAX,
            read_limit: 997,
            vectored: true,
        };
        let (server, client) = tokio::join!(
            crate::accept(a),
            crate::client(b, "ws://127.0.0.1/", Config::default())
        );
        let (mut server, mut client) = (server.unwrap(), client.unwrap());
        // Multi-byte characters split across reads, binary, a ping between
        // two large frames and a small message after them, all at once.
        let text = Message::text("aé€😀".repeat(5_000));
        let binary = Message::binary((0..70_000u32).map(|i| (i % 253) as u8).collect::<Vec<_>>());
        let sent = [
            text.clone(),
            Message::Ping("p".into()),
            binary.clone(),
            Message::text("end"),
        ];
        for m in &sent {
            client.feed(m.clone()).await.unwrap();
        }
        client.flush().await.unwrap();
        for m in &sent {
            assert_eq!(&server.next().await.unwrap().unwrap(), m);
        }
        assert_eq!(rx_len(&server), FIRST_READ_BUFFER);
    }

    #[tokio::test]
    async fn invalid_utf8_in_a_frame_read_into_the_message_fails_with_1007() {
        let (a, mut b) = tokio::io::duplex(1 << 20);
        let a = Trickle {
            inner: a,
            limit: usize::MAX,
            read_limit: 997,
            vectored: true,
        };
        b.write_all(
            b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
              Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        )
        .await
        .unwrap();
        let mut server = crate::accept(a).await.unwrap();
        // A masked text frame (key 0: the payload as it is) of 20,000
        // bytes, not UTF-8 far past its first read.
        let mut payload = vec![b'x'; 20_000];
        payload[15_000] = 0xff;
        let mut frame = vec![
            0x81,
            0xfe,
            (20_000u16 >> 8) as u8,
            20_000u16 as u8,
            0,
            0,
            0,
            0,
        ];
        frame.extend_from_slice(&payload);
        b.write_all(&frame).await.unwrap();
        assert!(
            server.next().await.unwrap().is_err(),
            "invalid UTF-8 refused"
        );
        // The close frame goes out as the stream is read on.
        let drive = async { while server.next().await.is_some() {} };
        let expect = async {
            let mut seen = Vec::new();
            // Close, any length (the reason says why), code 1007.
            let close = |w: &[u8]| w[0] == 0x88 && w[2..] == [0x03, 0xef];
            while !seen.windows(4).any(close) {
                let mut chunk = [0u8; 256];
                let n = b.read(&mut chunk).await.unwrap();
                assert!(n > 0, "closed without 1007: {seen:?}");
                seen.extend_from_slice(&chunk[..n]);
            }
            drop(b);
        };
        tokio::time::timeout(std::time::Duration::from_secs(10), async {
            tokio::join!(drive, expect)
        })
        .await
        .expect("the close frame in time");
    }

    #[tokio::test]
    async fn a_large_frame_announced_is_not_reserved_before_it_arrives() {
        let (a, mut b) = tokio::io::duplex(1 << 20);
        b.write_all(
            b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
              Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        )
        .await
        .unwrap();
        let mut server = crate::accept(a).await.unwrap();
        // A binary frame announcing 50 MiB (masked, key 0), 100,000 bytes
        // of it sent.
        let mut frame = vec![0x82, 0xff];
        frame.extend_from_slice(&(50u64 << 20).to_be_bytes());
        frame.extend_from_slice(&[0; 4]);
        frame.extend_from_slice(&[1; 100_000]);
        b.write_all(&frame).await.unwrap();
        idle(&mut server).await;
        let held = server.inner.as_ref().unwrap().msg.capacity();
        assert!(held >= 100_000, "what arrived is kept: {held}");
        assert!(
            held <= 2 * super::RESERVE_AHEAD as usize,
            "not what was announced: {held}"
        );
    }

    fn tx_len<S>(ws: &super::WebSocket<S>) -> usize {
        ws.inner.as_ref().map_or(0, |i| i.tx.len())
    }

    #[tokio::test]
    async fn a_large_message_is_written_without_a_copy() {
        let (a, b) = tokio::io::duplex(1 << 16);
        let (server, client) = tokio::join!(
            crate::accept(a),
            crate::client(b, "ws://127.0.0.1/", Config::default())
        );
        let (mut server, mut client) = (server.unwrap(), client.unwrap());
        let before = tx_len(&server);
        assert!(before <= 4096, "after the handshake: {before}");
        // Server: the payload goes out from the message; the write buffer
        // holds only headers.
        for size in [100_000, super::RETAIN_OUTPUT + 1] {
            let m = Message::binary(vec![2; size]);
            let (sent, got) = tokio::join!(server.send(m.clone()), client.next());
            sent.unwrap();
            assert_eq!(got.unwrap().unwrap(), m);
            assert_eq!(tx_len(&server), before, "no copy of {size} bytes");
        }
        // Client, bytes nobody else holds: masked in place, not copied.
        let before = tx_len(&client);
        let text = "é".repeat(50_000);
        let (sent, got) = tokio::join!(client.send(Message::text(text.clone())), server.next());
        sent.unwrap();
        assert_eq!(got.unwrap().unwrap(), Message::text(text));
        assert_eq!(tx_len(&client), before, "masked in place");
        // Client, shared bytes: masking them in place would change the
        // caller's copy, so they are copied while masked.
        let shared = bytes::Bytes::from(vec![3u8; 100_000]);
        let kept = shared.clone();
        let (sent, got) = tokio::join!(client.send(Message::Binary(shared)), server.next());
        sent.unwrap();
        assert_eq!(got.unwrap().unwrap(), Message::Binary(kept.clone()));
        assert!(
            kept.iter().all(|&b| b == 3),
            "the caller's bytes are untouched"
        );
        let copied = tx_len(&client);
        assert!(copied > 100_000, "copied into the write buffer: {copied}");
        // A copy past RETAIN_OUTPUT is freed once written.
        let shared = bytes::Bytes::from(vec![4u8; super::RETAIN_OUTPUT + 1]);
        let (sent, got) = tokio::join!(client.send(Message::Binary(shared.clone())), server.next());
        sent.unwrap();
        assert_eq!(got.unwrap().unwrap(), Message::Binary(shared));
        assert_eq!(tx_len(&client), 0, "freed once written");
    }

    /// A stream that takes at most `limit` bytes per write, gathered across
    /// the slices of a vectored write when `vectored` says it does those.
    struct Trickle<S> {
        inner: S,
        limit: usize,
        /// The most one read returns.
        read_limit: usize,
        vectored: bool,
    }

    impl<S: AsyncRead + Unpin> AsyncRead for Trickle<S> {
        fn poll_read(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<std::io::Result<()>> {
            let mut tmp = vec![0; buf.remaining().min(self.read_limit)];
            let mut part = ReadBuf::new(&mut tmp);
            ready!(Pin::new(&mut self.inner).poll_read(cx, &mut part))?;
            buf.put_slice(part.filled());
            Poll::Ready(Ok(()))
        }
    }

    impl<S: AsyncWrite + Unpin> AsyncWrite for Trickle<S> {
        fn poll_write(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<std::io::Result<usize>> {
            let n = buf.len().min(self.limit);
            Pin::new(&mut self.inner).poll_write(cx, &buf[..n])
        }

        fn poll_write_vectored(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            bufs: &[std::io::IoSlice<'_>],
        ) -> Poll<std::io::Result<usize>> {
            assert!(
                self.vectored,
                "vectored write on a stream that said it has none"
            );
            let mut gathered = Vec::new();
            for b in bufs {
                let room = self.limit - gathered.len();
                gathered.extend_from_slice(&b[..b.len().min(room)]);
            }
            Pin::new(&mut self.inner).poll_write(cx, &gathered)
        }

        fn is_write_vectored(&self) -> bool {
            self.vectored
        }

        fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
            Pin::new(&mut self.inner).poll_flush(cx)
        }

        fn poll_shutdown(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
        ) -> Poll<std::io::Result<()>> {
            Pin::new(&mut self.inner).poll_shutdown(cx)
        }
    }

    #[tokio::test]
    async fn partial_writes_of_headers_and_payloads_resume_where_they_stopped() {
        for vectored in [true, false] {
            let (a, b) = tokio::io::duplex(1 << 20);
            let a = Trickle {
                inner: a,
                limit: 5,
                read_limit: usize::MAX,
                vectored,
            };
            let (server, client) = tokio::join!(
                crate::accept(a),
                crate::client(b, "ws://127.0.0.1/", Config::default())
            );
            let (mut server, mut client) = (server.unwrap(), client.unwrap());
            // Written from the messages and copied ones, interleaved, more
            // than one vectored write gathers, with a pong the engine owes
            // queued between them.
            let mut sent = Vec::new();
            for i in 0..12 {
                let size = if i % 3 == 2 {
                    7
                } else {
                    super::NO_COPY_FROM + i
                };
                let payload: Vec<u8> = (0..size).map(|j| (i * 31 + j) as u8).collect();
                sent.push(Message::binary(payload));
            }
            client.send(Message::Ping("p".into())).await.unwrap();
            assert_eq!(
                server.next().await.unwrap().unwrap(),
                Message::Ping("p".into())
            );
            for m in &sent {
                server.feed(m.clone()).await.unwrap();
            }
            let (flushed, got) = tokio::join!(server.flush(), async {
                let mut got = Vec::new();
                while got.len() < sent.len() + 1 {
                    got.push(client.next().await.unwrap().unwrap());
                }
                got
            });
            flushed.unwrap();
            assert_eq!(got[0], Message::Pong("p".into()), "vectored: {vectored}");
            assert_eq!(got[1..], sent[..], "vectored: {vectored}");
            let inner = server.inner.as_ref().unwrap();
            assert_eq!(inner.pending_out(), 0);
            assert!(inner.payloads.is_empty());
        }
    }

    #[tokio::test]
    async fn a_handshake_larger_than_the_first_buffer_is_read_whole() {
        let (a, mut b) = tokio::io::duplex(1 << 20);
        let request = format!(
            "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
             Cookie: {}\r\n\r\n",
            "c".repeat(3 * FIRST_READ_BUFFER)
        );
        b.write_all(request.as_bytes()).await.unwrap();
        let server = crate::accept(a).await.unwrap();
        let mut response = [0u8; 12];
        b.read_exact(&mut response).await.unwrap();
        assert_eq!(&response, b"HTTP/1.1 101");
        drop(server);
    }
}
