//! One WebSocket used from two tasks at once: a [`ReadHalf`] that receives
//! while a [`WriteHalf`] sends, sharing the engine without allocation.
//!
//! ```
//! use embassy_sync::blocking_mutex::raw::NoopRawMutex;
//! use websock_core::embedded_io_async::{Read, Write};
//! use websock_core::io::{IoError, Message};
//! use websock_core::io_async::{ReadHalf, WebSocket, WriteHalf};
//!
//! /// One task's work: answer messages until the peer closes.
//! async fn receive<R: Read, W: Write<Error = R::Error>>(
//!     mut rx: ReadHalf<'_, '_, NoopRawMutex, R, W>,
//! ) -> Result<(), IoError<R::Error>> {
//!     let mut msg = [0u8; 512];
//!     loop {
//!         if let Message::Close { .. } = rx.read_message(&mut msg).await? {
//!             return Ok(());
//!         }
//!     }
//! }
//!
//! /// The other's: send readings whenever it has one.
//! async fn report<W: Write>(mut tx: WriteHalf<'_, '_, NoopRawMutex, W>) -> Result<(), IoError<W::Error>> {
//!     tx.send_text("21.5 C").await
//! }
//!
//! /// A transport that splits into a read side and a write side.
//! async fn run<R: Read, W: Write<Error = R::Error>>(ws: WebSocket<'_, (R, W)>)
//! where
//!     (R, W): Read + Write,
//! {
//!     let mut split = ws.split::<NoopRawMutex, R, W>(|pair| pair);
//!     let (rx, tx) = split.halves();
//!     // Run both at once (`join` of embassy-futures, or two tasks).
//!     let (_receiving, _reporting) = (receive(rx), report(tx));
//! }
//! ```
//!
//! # What is held while awaiting
//!
//! - **The engine** sits in a blocking mutex (`embassy_sync::blocking_mutex`)
//!   that is locked only for one synchronous engine call (decoding what is
//!   buffered, encoding one frame): it is **never held across an await**, so
//!   neither half can stall the other on it.
//! - **The writer** (the transport's write side and the output half of the
//!   buffer) sits in an async mutex (`embassy_sync::mutex::Mutex`). The
//!   [`WriteHalf`] holds it across the writes of one whole message (all its
//!   fragments, so no other frame splits it except control frames); the
//!   [`ReadHalf`] holds it across the writes of the replies the engine owes
//!   (a pong, the close reply).
//! - **The reader** (the transport's read side and the input half) belongs
//!   to the [`ReadHalf`] alone; it holds no lock while it waits for input.
//!
//! Pongs are never lost or delayed behind a long message: the writer writes
//! whatever the engine owes before each fragment and after the last one,
//! and the reader writes it itself when the writer is idle. When a second
//! ping arrives before the first pong went out, the engine takes no more
//! input until it has (fixed memory means backpressure): the reader waits
//! for the writer's next fragment boundary, or for the writer to be free.
//!
//! `M` is the raw mutex: `NoopRawMutex` when both halves run on one
//! executor (the usual embassy setup), `CriticalSectionRawMutex` across
//! executors or threads. The halves borrow the [`Split`]: keep it in a
//! `StaticCell` to hand `'static` halves to two embassy tasks.

use core::cell::RefCell;
use core::future::{poll_fn, Future};
use core::pin::pin;
use core::task::Poll;

use embassy_sync::blocking_mutex::raw::RawMutex;
use embassy_sync::blocking_mutex::Mutex as Blocking;
use embassy_sync::mutex::Mutex;
use embassy_sync::signal::Signal;
use embedded_io_async::{Read, Write};

use super::{finish, Assembled, Chunk, Got, Next, Rx, Tx, WebSocket};
use crate::close::CloseCode;
use crate::connection::{Connection, DataKind};
use crate::frame::MAX_CONTROL_FRAME;
use crate::io::{IoError, Message};

/// The transport's write side with the output half of the buffer.
struct Writer<'b, W> {
    io: W,
    tx: Tx<'b>,
}

/// The connection, and the pong the reader took a ping for while the
/// writer may be busy: it waits here for the writer (or the reader, when
/// the writer is free). One at most: while it waits, the next ping stays
/// unread (fixed memory means backpressure).
struct Shared {
    conn: Connection,
    pong: [u8; MAX_CONTROL_FRAME],
    pong_len: usize,
}

/// The engine in its blocking mutex, and a signal that owed replies went
/// out (a reader the engine holds back waits for it).
struct Engine<M: RawMutex> {
    shared: Blocking<M, RefCell<Shared>>,
    replied: Signal<M, ()>,
}

impl<M: RawMutex> Engine<M> {
    /// Runs one synchronous engine call. The `RefCell` cannot be borrowed
    /// twice: `f` gets no access to the mutex and cannot await.
    fn with<X>(&self, f: impl FnOnce(&mut Connection) -> X) -> X {
        self.shared.lock(|s| f(&mut s.borrow_mut().conn))
    }

    /// Feeds the reader's input to the engine, a pong going to the slot
    /// above if it is free.
    fn step(&self, rx: &mut Rx<'_>) -> Result<Next, crate::Error> {
        self.shared.lock(|s| {
            let s = &mut *s.borrow_mut();
            let free = s.pong_len == 0;
            let out: &mut [u8] = if free { &mut s.pong } else { &mut [] };
            let (next, written) = rx.step(&mut s.conn, out)?;
            s.pong_len += written;
            Ok(next)
        })
    }

    /// Queues into `tx` (drained) the pong waiting here, else the close
    /// frame the engine owes; true if any.
    fn poll(&self, tx: &mut Tx<'_>) -> bool {
        self.shared.lock(|s| {
            let s = &mut *s.borrow_mut();
            if s.pong_len > 0 {
                let pong = &s.pong[..s.pong_len];
                tx.buf[..pong.len()].copy_from_slice(pong);
                tx.end = core::mem::take(&mut s.pong_len);
                return true;
            }
            tx.poll_engine(&mut s.conn)
        })
    }
}

/// A WebSocket split for two tasks; see the [module docs](self). Made by
/// [`WebSocket::split`]; [`Split::halves`] lends the two halves.
pub struct Split<'b, M: RawMutex, R, W> {
    engine: Engine<M>,
    writer: Mutex<M, Writer<'b, W>>,
    io: R,
    rx: Rx<'b>,
}

impl<'b, T: Read + Write> WebSocket<'b, T> {
    /// Splits the WebSocket for two tasks: `halves` splits the transport
    /// into its read and write sides (e.g. `|s| s.split()` for an
    /// embassy-net socket). Input already buffered is kept.
    pub fn split<M: RawMutex, R: Read, W: Write<Error = R::Error>>(
        self,
        halves: impl FnOnce(T) -> (R, W),
    ) -> Split<'b, M, R, W> {
        let (r, w) = halves(self.io);
        Split {
            engine: Engine {
                shared: Blocking::new(RefCell::new(Shared {
                    conn: self.conn,
                    pong: [0; MAX_CONTROL_FRAME],
                    pong_len: 0,
                })),
                replied: Signal::new(),
            },
            writer: Mutex::new(Writer { io: w, tx: self.tx }),
            io: r,
            rx: self.rx,
        }
    }
}

impl<'b, M: RawMutex, R: Read, W: Write<Error = R::Error>> Split<'b, M, R, W> {
    /// The two halves, borrowing this split.
    pub fn halves(&mut self) -> (ReadHalf<'_, 'b, M, R, W>, WriteHalf<'_, 'b, M, W>) {
        let Split {
            engine,
            writer,
            io,
            rx,
        } = self;
        (
            ReadHalf {
                engine,
                writer,
                io,
                rx,
            },
            WriteHalf { engine, writer },
        )
    }

    /// The engine's state now.
    pub fn state(&self) -> crate::State {
        self.engine.with(|c| c.state())
    }
}

/// Writes pending output, then what the engine owes, holding the writer.
async fn flush_owed<M: RawMutex, W: Write>(
    engine: &Engine<M>,
    w: &mut Writer<'_, W>,
) -> Result<(), IoError<W::Error>> {
    let mut wrote = false;
    loop {
        w.tx.drain(&mut w.io).await?;
        if wrote {
            engine.replied.signal(());
        }
        if !engine.poll(&mut w.tx) {
            return Ok(());
        }
        wrote = true;
    }
}

/// The receiving half; see the [module docs](self).
pub struct ReadHalf<'s, 'b, M: RawMutex, R, W> {
    engine: &'s Engine<M>,
    writer: &'s Mutex<M, Writer<'b, W>>,
    io: &'s mut R,
    rx: &'s mut Rx<'b>,
}

impl<M: RawMutex, R: Read, W: Write<Error = R::Error>> ReadHalf<'_, '_, M, R, W> {
    /// Reads the next piece of a message or the peer's close, as
    /// [`WebSocket::read`]. Holds no lock while waiting for input.
    /// Cancel-safe.
    pub async fn read(&mut self) -> Result<Chunk<'_>, IoError<R::Error>> {
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

    async fn next(&mut self) -> Result<Got, IoError<R::Error>> {
        loop {
            let next = match self.engine.step(self.rx) {
                Ok(next) => next,
                Err(e) => {
                    flush_owed(self.engine, &mut *self.writer.lock().await).await?;
                    return Err(IoError::Ws(e));
                }
            };
            match next {
                Next::Data { kind, range, last } => return Ok(Got::Data { kind, range, last }),
                Next::Close { code, reason } => {
                    flush_owed(self.engine, &mut *self.writer.lock().await).await?;
                    return Ok(Got::Close { code, reason });
                }
                Next::Flush { stalled } => self.flush(stalled).await?,
                Next::Fill => {
                    if !self.rx.fill(self.io).await? {
                        self.engine.with(|c| c.transport_closed());
                        return Err(IoError::UnexpectedEof);
                    }
                }
            }
        }
    }

    /// Writes what the engine owes, if the writer is free. When it is busy
    /// the writer writes it at its next fragment; a reader the engine holds
    /// back (`stalled`) waits for that, or for the writer to be free.
    async fn flush(&mut self, stalled: bool) -> Result<(), IoError<R::Error>> {
        self.engine.replied.reset();
        let w = match self.writer.try_lock() {
            Ok(w) => Some(w),
            Err(_) if !stalled => None,
            Err(_) => {
                let mut lock = pin!(self.writer.lock());
                let mut replied = pin!(self.engine.replied.wait());
                poll_fn(|cx| match lock.as_mut().poll(cx) {
                    Poll::Ready(w) => Poll::Ready(Some(w)),
                    Poll::Pending => replied.as_mut().poll(cx).map(|()| None),
                })
                .await
            }
        };
        match w {
            Some(mut w) => flush_owed(self.engine, &mut w).await,
            None => Ok(()),
        }
    }

    /// Reads the next whole message into `msg`, as
    /// [`WebSocket::read_message`] (cancel-safe on the same terms).
    pub async fn read_message<'m>(
        &mut self,
        msg: &'m mut [u8],
    ) -> Result<Message<'m>, IoError<R::Error>> {
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
                    let mut w = self.writer.lock().await;
                    close_frame(self.engine, &mut w, CloseCode::TOO_BIG, "message too big").await?;
                    return Err(IoError::MessageTooBig);
                }
            }
        }
    }

    /// Closes from the reading side: sends a close frame (after any
    /// message the writer is sending), then reads, discarding data, until
    /// the peer's close arrives or the transport ends.
    pub async fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), IoError<R::Error>> {
        {
            let mut w = self.writer.lock().await;
            close_frame(self.engine, &mut w, code, reason).await?;
        }
        loop {
            match self.read().await {
                Ok(Chunk::Close { .. }) | Err(IoError::UnexpectedEof) => return Ok(()),
                Ok(Chunk::Data { .. }) => {}
                Err(e) => return Err(e),
            }
        }
    }
}

async fn close_frame<M: RawMutex, W: Write>(
    engine: &Engine<M>,
    w: &mut Writer<'_, W>,
    code: CloseCode,
    reason: &str,
) -> Result<(), IoError<W::Error>> {
    flush_owed(engine, w).await?;
    w.tx.end = engine.with(|c| c.close(code, reason, w.tx.buf))?;
    w.tx.drain(&mut w.io).await
}

/// The sending half; see the [module docs](self). Clone it to send from
/// more tasks: each message goes out whole, never interleaved with another.
pub struct WriteHalf<'s, 'b, M: RawMutex, W> {
    engine: &'s Engine<M>,
    writer: &'s Mutex<M, Writer<'b, W>>,
}

impl<M: RawMutex, W> Clone for WriteHalf<'_, '_, M, W> {
    fn clone(&self) -> Self {
        WriteHalf {
            engine: self.engine,
            writer: self.writer,
        }
    }
}

impl<M: RawMutex, W: Write> WriteHalf<'_, '_, M, W> {
    /// Sends a text message, in fragments if it is larger than the output
    /// half.
    pub async fn send_text(&mut self, text: &str) -> Result<(), IoError<W::Error>> {
        self.send(DataKind::Text, text.as_bytes()).await
    }

    /// Sends a binary message, in fragments if needed.
    pub async fn send_binary(&mut self, bytes: &[u8]) -> Result<(), IoError<W::Error>> {
        self.send(DataKind::Binary, bytes).await
    }

    /// Sends a message, holding the writer for all its fragments and
    /// writing the engine's owed replies before each and after the last.
    /// Not cancel-safe past its first fragment (see the module docs of
    /// [`super`]).
    pub async fn send(
        &mut self,
        kind: DataKind,
        mut bytes: &[u8],
    ) -> Result<(), IoError<W::Error>> {
        let mut w = self.writer.lock().await;
        let room = w.tx.room();
        loop {
            flush_owed(self.engine, &mut w).await?;
            let take = bytes.len().min(room);
            let last = take == bytes.len();
            let w = &mut *w;
            w.tx.end = self
                .engine
                .with(|c| c.send(kind, &bytes[..take], last, w.tx.buf))?;
            w.tx.drain(&mut w.io).await?;
            bytes = &bytes[take..];
            if last {
                break;
            }
        }
        flush_owed(self.engine, &mut w).await
    }

    /// Sends a ping (at most 125 bytes).
    pub async fn ping(&mut self, payload: &[u8]) -> Result<(), IoError<W::Error>> {
        let mut w = self.writer.lock().await;
        flush_owed(self.engine, &mut w).await?;
        let w = &mut *w;
        w.tx.end = self.engine.with(|c| c.ping(payload, w.tx.buf))?;
        w.tx.drain(&mut w.io).await
    }

    /// Starts the closing handshake from the writing side: sends the close
    /// frame. The [`ReadHalf`] then reads the peer's close (it returns
    /// [`Message::Close`]). Fails with [`crate::Error::InvalidState`] when closing
    /// has already begun.
    pub async fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), IoError<W::Error>> {
        let mut w = self.writer.lock().await;
        close_frame(self.engine, &mut w, code, reason).await
    }

    /// Writes whatever the engine owes now.
    pub async fn flush(&mut self) -> Result<(), IoError<W::Error>> {
        let mut w = self.writer.lock().await;
        flush_owed(self.engine, &mut w).await
    }
}
