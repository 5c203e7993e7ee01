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
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Instant;

use bytes::Bytes;
use futures_core::Stream;
use futures_sink::Sink;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::Sleep;
use websock_core::{Connection, State};

use crate::config::Config;
use crate::error::Error;
use crate::message::{CloseFrame, Message};

mod close;
mod handshake;
mod read;
mod write;

#[cfg(test)]
mod tests;

pub(crate) use close::spawn_closer;

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
