//! An async WebSocket over any `embedded-io-async` transport (an embassy-net
//! socket, or a tokio stream through `embedded-io-adapters`), with caller
//! buffers and no allocation: the async twin of [`crate::io`].
//!
//! ```
//! use websock_core::embedded_io_async::{Read, Write};
//! use websock_core::io::{IoError, Message};
//! use websock_core::io_async::WebSocket;
//! use websock_core::Config;
//!
//! /// Echoes messages of up to 1 KiB on one connection of any TCP stack.
//! async fn echo<T: Read + Write>(socket: T) -> Result<(), IoError<T::Error>> {
//!     let mut buf = [0u8; 4096];
//!     let mut ws = WebSocket::accept(socket, &mut buf, Config::new()).await?;
//!     let mut msg = [0u8; 1024];
//!     loop {
//!         match ws.read_message(&mut msg).await? {
//!             Message::Text(t) => ws.send_text(t).await?,
//!             Message::Binary(b) => ws.send_binary(b).await?,
//!             Message::Close { .. } => return Ok(()),
//!         }
//!     }
//! }
//! ```
//!
//! The contracts are those of [`crate::io`]: `buf` is split in halves for
//! input and output; pings are answered and close frames replied to while
//! reading (the replies are written before the read returns); whole
//! messages are reassembled into the caller's message buffer, and one that
//! does not fit closes the connection with 1009; outgoing messages larger
//! than the output half go out as fragments. [`WebSocket::read`] streams a
//! message of any size through the input half instead. No clock: bound
//! waits with the transport's timeouts or a `select` against a timer.
//!
//! # Cancellation
//!
//! Reads are cancel-safe: dropping a [`WebSocket::read`] or
//! [`WebSocket::read_message`] future loses no bytes. Input is consumed
//! only between awaits, and a message that `read_message` was reassembling
//! stays in the message buffer: the next call, given the same buffer,
//! continues it. Output that a dropped future had begun to write stays in
//! the output half and is written first by the next call that writes. A
//! dropped `send_*` that had sent part of a fragmented message leaves that
//! message unfinished: close the connection.
//!
//! # Two tasks
//!
//! [`WebSocket::split`] shares the engine between a [`ReadHalf`] and a
//! [`WriteHalf`] without allocation; see the [`split`] module for what each
//! holds while it awaits.

use embedded_io_async::{Read, Write};

use crate::close::CloseCode;
use crate::connection::{Accept, Config, Connection, DataKind, Event, Received};
use crate::error::Error;
use crate::frame::{MAX_CONTROL_FRAME, MAX_HEADER_LEN};
use crate::handshake::HandshakeError;
use crate::io::{IoError, Message, MIN_BUFFER};

pub mod split;

pub use split::{ReadHalf, Split, WriteHalf};

/// A piece of a message from [`WebSocket::read`], borrowing the input half.
#[derive(Debug, PartialEq)]
pub enum Chunk<'a> {
    /// Bytes of a text or binary message, in order; `last` ends it. Text
    /// chunks may split a UTF-8 character; the message so far is valid.
    Data {
        /// Text or binary.
        kind: DataKind,
        /// The bytes.
        bytes: &'a [u8],
        /// This chunk ends the message.
        last: bool,
    },
    /// The peer closed; the reply has been sent.
    Close {
        /// The peer's code (1005 if none).
        code: CloseCode,
        /// The peer's reason (valid UTF-8), in the input half.
        reason: &'a [u8],
    },
}

/// The input half of the buffer: `start..end` is read but not consumed.
struct Rx<'b> {
    buf: &'b mut [u8],
    start: usize,
    end: usize,
    /// Bytes of the message `read_message` is reassembling, kept here so
    /// that a dropped read loses nothing.
    partial: usize,
    /// That message's kind.
    kind: DataKind,
}

/// The output half of the buffer: `start..end` is a frame (or frames) not
/// yet fully written.
struct Tx<'b> {
    buf: &'b mut [u8],
    start: usize,
    end: usize,
}

/// What reading must do next, as ranges of the input (no borrow of it, so
/// that the async callers can loop and await).
enum Next {
    /// Data at `range` of the input half.
    Data {
        kind: DataKind,
        range: core::ops::Range<usize>,
        last: bool,
    },
    /// The peer's close (its reason at `reason` of the input): write the
    /// reply, then report it.
    Close {
        code: CloseCode,
        reason: core::ops::Range<usize>,
    },
    /// A pong or the close reply is owed: write it. `stalled`: the engine
    /// may take no more input until it is written.
    Flush { stalled: bool },
    /// The engine needs more input.
    Fill,
}

/// A data chunk or close, as [`Next`] has them.
enum Got {
    Data {
        kind: DataKind,
        range: core::ops::Range<usize>,
        last: bool,
    },
    Close {
        code: CloseCode,
        reason: core::ops::Range<usize>,
    },
}

/// Where reassembling a message stands.
enum Assembled {
    More,
    /// The whole message is the first `len` bytes of the message buffer.
    Done(usize),
    /// The peer closed; as much of its reason as fits is the first `len`
    /// bytes of the message buffer.
    Close {
        code: CloseCode,
        len: usize,
    },
    /// It does not fit: close with 1009.
    TooBig,
}

impl<'b> Rx<'b> {
    /// Adds a chunk to the message in `msg` (progress kept here).
    fn message(&mut self, got: Got, msg: &mut [u8]) -> Assembled {
        match got {
            Got::Data { kind, range, last } => {
                self.kind = kind;
                let chunk = &self.buf[range];
                let Some(dst) = msg.get_mut(self.partial..self.partial + chunk.len()) else {
                    self.partial = 0;
                    return Assembled::TooBig;
                };
                dst.copy_from_slice(chunk);
                self.partial += chunk.len();
                if last {
                    Assembled::Done(core::mem::take(&mut self.partial))
                } else {
                    Assembled::More
                }
            }
            Got::Close { code, reason } => {
                self.partial = 0;
                let reason = &self.buf[reason];
                let len = reason.len().min(msg.len());
                msg[..len].copy_from_slice(&reason[..len]);
                Assembled::Close { code, len }
            }
        }
    }

    fn new(buf: &'b mut [u8]) -> Self {
        Rx {
            buf,
            start: 0,
            end: 0,
            partial: 0,
            kind: DataKind::Binary,
        }
    }

    fn buffered(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    /// Feeds the engine what is buffered, with `out` for the pong of a
    /// ping taken now (the bytes written there come back with the step).
    /// Synchronous, so that no await splits a step: that is what makes
    /// reads cancel-safe.
    fn step(&mut self, conn: &mut Connection, out: &mut [u8]) -> Result<(Next, usize), Error> {
        loop {
            let base = self.buf.as_ptr() as usize;
            let Received {
                consumed,
                written,
                event,
            } = conn.receive(&mut self.buf[self.start..self.end], out)?;
            self.start += consumed;
            if written > 0 {
                return Ok((Next::Flush { stalled: false }, written));
            }
            // Without deflate, chunks and reasons are slices of the input.
            let range = |bytes: &[u8]| {
                let at = bytes.as_ptr() as usize - base;
                at..at + bytes.len()
            };
            let next = match event {
                Some(Event::Data { kind, chunk, last }) => Next::Data {
                    kind,
                    range: range(chunk),
                    last,
                },
                Some(Event::Close { code, reason }) => Next::Close {
                    code,
                    reason: range(reason),
                },
                Some(Event::Ping(_)) | Some(Event::Pong(_)) => continue,
                None if consumed > 0 => continue,
                // A ping waits for room for its pong.
                None if out.len() < MAX_CONTROL_FRAME || conn.has_output() => {
                    Next::Flush { stalled: true }
                }
                None => Next::Fill,
            };
            return Ok((next, 0));
        }
    }

    /// Reads more input, compacting first. `Ok(false)` at end of stream.
    /// Cancel-safe: nothing changes until the read returns.
    async fn fill<R: Read>(&mut self, io: &mut R) -> Result<bool, IoError<R::Error>> {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.end == self.buf.len() {
            // Frames never get here (the engine waits for at most a
            // control frame, and a half holds far more); a handshake's
            // size limit answers first.
            return Err(IoError::Ws(Error::Handshake(HandshakeError::TooLarge)));
        }
        match io.read(&mut self.buf[self.end..]).await {
            Ok(0) => Ok(false),
            Ok(n) => {
                self.end += n;
                Ok(true)
            }
            Err(e) => Err(IoError::Io(e)),
        }
    }
}

impl<'b> Tx<'b> {
    fn new(buf: &'b mut [u8]) -> Self {
        Tx {
            buf,
            start: 0,
            end: 0,
        }
    }

    /// Writes what is pending, then flushes the transport. Cancel-safe:
    /// progress is recorded after each write.
    async fn drain<W: Write>(&mut self, io: &mut W) -> Result<(), IoError<W::Error>> {
        while self.start < self.end {
            match io.write(&self.buf[self.start..self.end]).await {
                Ok(0) => return Err(IoError::UnexpectedEof),
                Ok(n) => self.start += n,
                Err(e) => return Err(IoError::Io(e)),
            }
        }
        self.start = 0;
        self.end = 0;
        io.flush().await.map_err(IoError::Io)
    }

    /// Queues the engine's owed close frame; true if any. Call with the
    /// output half drained.
    fn poll_engine(&mut self, conn: &mut Connection) -> bool {
        self.end = conn.poll_output(self.buf);
        self.end > 0
    }

    /// Room for payload in one frame.
    fn room(&self) -> usize {
        self.buf.len() - MAX_HEADER_LEN
    }
}

/// A whole message, typed.
fn finish(kind: DataKind, msg: &[u8]) -> Message<'_> {
    match kind {
        // The engine validated the text as it arrived.
        DataKind::Text => Message::Text(core::str::from_utf8(msg).unwrap_or_default()),
        DataKind::Binary => Message::Binary(msg),
    }
}

/// Checks the buffer and splits it in halves for input and output.
fn halves(buf: &mut [u8]) -> Result<(Rx<'_>, Tx<'_>), Error> {
    if buf.len() < MIN_BUFFER {
        return Err(Error::BufferTooSmall { needed: MIN_BUFFER });
    }
    let (rx, tx) = buf.split_at_mut(buf.len() / 2);
    Ok((Rx::new(rx), Tx::new(tx)))
}

/// One WebSocket over an async transport `T`.
pub struct WebSocket<'b, T> {
    io: T,
    conn: Connection,
    rx: Rx<'b>,
    tx: Tx<'b>,
}

impl<'b, T: Read + Write> WebSocket<'b, T> {
    /// Server: reads the client's upgrade request and answers it. A bad
    /// request gets its HTTP error response before the error is returned.
    /// `buf` is split in halves for input and output; the input half bounds
    /// the request size.
    pub async fn accept(
        mut io: T,
        buf: &'b mut [u8],
        mut config: Config,
    ) -> Result<Self, IoError<T::Error>> {
        config.max_handshake_len = config.max_handshake_len.min(buf.len() / 2);
        let mut conn = Connection::server(config, 0);
        let (mut rx, mut tx) = halves(buf)?;
        loop {
            if !rx.fill(&mut io).await? {
                return Err(IoError::UnexpectedEof);
            }
            match conn.accept(rx.buffered(), &[], tx.buf)? {
                Accept::Incomplete => continue,
                Accept::Accepted { request, written } => {
                    rx.start += request.len;
                    tx.end = written;
                    tx.drain(&mut io).await?;
                    return Ok(WebSocket::open(io, conn, rx, tx));
                }
                Accept::Rejected { error, written } => {
                    tx.end = written;
                    tx.drain(&mut io).await?;
                    return Err(IoError::Ws(Error::Handshake(error)));
                }
            }
        }
    }

    /// Client: sends the upgrade request for `path` on `host` and checks the
    /// answer. `entropy` must be fresh random bytes (see
    /// [`Connection::client`]).
    pub async fn connect(
        mut io: T,
        buf: &'b mut [u8],
        host: &str,
        path: &str,
        entropy: [u8; 32],
        config: Config,
    ) -> Result<Self, IoError<T::Error>> {
        let mut conn = Connection::client(config, 0, entropy);
        let (mut rx, mut tx) = halves(buf)?;
        tx.end = conn.write_request(host, path, &[], tx.buf)?;
        tx.drain(&mut io).await?;
        loop {
            if !rx.fill(&mut io).await? {
                return Err(IoError::UnexpectedEof);
            }
            if let Some(response) = conn.read_response(rx.buffered(), &[])? {
                rx.start += response.len;
                return Ok(WebSocket::open(io, conn, rx, tx));
            }
        }
    }

    fn open(io: T, conn: Connection, rx: Rx<'b>, tx: Tx<'b>) -> Self {
        WebSocket { io, conn, rx, tx }
    }

    /// The engine, for what the adapter does not wrap.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// Gives the transport back.
    pub fn into_inner(self) -> T {
        self.io
    }

    /// Reads the next piece of a message, of any size up to the input half,
    /// or the peer's close. Control frames are handled on the way, their
    /// replies written before this returns. Cancel-safe.
    pub async fn read(&mut self) -> Result<Chunk<'_>, IoError<T::Error>> {
        Ok(match self.next().await? {
            Got::Data { kind, range, last } => Chunk::Data {
                kind,
                bytes: &self.rx.buf[range],
                last,
            },
            Got::Close { code, reason } => Chunk::Close {
                code,
                reason: &self.rx.buf[reason],
            },
        })
    }

    async fn next(&mut self) -> Result<Got, IoError<T::Error>> {
        loop {
            // Output a dropped call left behind goes first; then the output
            // half is free for a pong.
            self.tx.drain(&mut self.io).await?;
            let next = match self.rx.step(&mut self.conn, self.tx.buf) {
                Ok((next, written)) => {
                    self.tx.end = written;
                    next
                }
                Err(e) => {
                    self.flush_engine().await?;
                    return Err(IoError::Ws(e));
                }
            };
            match next {
                Next::Data { kind, range, last } => return Ok(Got::Data { kind, range, last }),
                Next::Close { code, reason } => {
                    self.flush_engine().await?;
                    return Ok(Got::Close { code, reason });
                }
                Next::Flush { .. } => self.flush_engine().await?,
                Next::Fill => {
                    if !self.rx.fill(&mut self.io).await? {
                        self.conn.transport_closed();
                        return Err(IoError::UnexpectedEof);
                    }
                }
            }
        }
    }

    /// Reads the next whole message into `msg`. Control frames are handled
    /// on the way; a close is returned as [`Message::Close`] after the reply
    /// has been written. Cancel-safe when the next call gets the same `msg`:
    /// the part of a message already read stays there.
    pub async fn read_message<'m>(
        &mut self,
        msg: &'m mut [u8],
    ) -> Result<Message<'m>, IoError<T::Error>> {
        loop {
            let got = self.next().await?;
            match self.rx.message(got, msg) {
                Assembled::More => {}
                Assembled::Done(len) => return Ok(finish(self.rx.kind, &msg[..len])),
                Assembled::Close { code, len } => {
                    let reason = &msg[..len];
                    return Ok(Message::Close { code, reason });
                }
                Assembled::TooBig => {
                    self.close_frame(CloseCode::TOO_BIG, "message too big")
                        .await?;
                    return Err(IoError::MessageTooBig);
                }
            }
        }
    }

    /// Sends a text message, in fragments if it is larger than the output
    /// half.
    pub async fn send_text(&mut self, text: &str) -> Result<(), IoError<T::Error>> {
        self.send(DataKind::Text, text.as_bytes()).await
    }

    /// Sends a binary message, in fragments if needed.
    pub async fn send_binary(&mut self, bytes: &[u8]) -> Result<(), IoError<T::Error>> {
        self.send(DataKind::Binary, bytes).await
    }

    /// Sends a message, owed replies first and between fragments.
    pub async fn send(
        &mut self,
        kind: DataKind,
        mut bytes: &[u8],
    ) -> Result<(), IoError<T::Error>> {
        let room = self.tx.room();
        loop {
            self.flush_engine().await?;
            let take = bytes.len().min(room);
            let last = take == bytes.len();
            self.tx.end = self.conn.send(kind, &bytes[..take], last, self.tx.buf)?;
            self.tx.drain(&mut self.io).await?;
            bytes = &bytes[take..];
            if last {
                return Ok(());
            }
        }
    }

    /// Sends a ping (at most 125 bytes).
    pub async fn ping(&mut self, payload: &[u8]) -> Result<(), IoError<T::Error>> {
        self.flush_engine().await?;
        self.tx.end = self.conn.ping(payload, self.tx.buf)?;
        self.tx.drain(&mut self.io).await
    }

    /// Closes: sends a close frame, then reads (discarding data) until the
    /// peer's close arrives or the transport ends.
    pub async fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), IoError<T::Error>> {
        self.close_frame(code, reason).await?;
        loop {
            match self.read().await {
                Ok(Chunk::Close { .. }) | Err(IoError::UnexpectedEof) => return Ok(()),
                Ok(Chunk::Data { .. }) => {}
                Err(e) => return Err(e),
            }
        }
    }

    async fn close_frame(
        &mut self,
        code: CloseCode,
        reason: &str,
    ) -> Result<(), IoError<T::Error>> {
        self.flush_engine().await?;
        self.tx.end = self.conn.close(code, reason, self.tx.buf)?;
        self.tx.drain(&mut self.io).await
    }

    /// Writes pending output, then the engine's owed replies.
    async fn flush_engine(&mut self) -> Result<(), IoError<T::Error>> {
        loop {
            self.tx.drain(&mut self.io).await?;
            if !self.tx.poll_engine(&mut self.conn) {
                return Ok(());
            }
        }
    }
}
