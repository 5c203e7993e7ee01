//! A rustls session driven over a non-blocking TCP socket, in the same
//! event loop as plain connections (no thread, no blocking `StreamOwned`).
//!
//! It offers the socket's own contract to [`crate::link::Link`]: `read`
//! gives plaintext or `WouldBlock`, `write` takes plaintext or says
//! `WouldBlock`. Underneath, every read pulls records off the socket
//! (`read_tls`), decrypts them (`process_new_packets`) and sends what the
//! handshake answers (`write_tls`); every write encrypts into rustls's
//! record queue and sends it. The queue holds at most one write's worth
//! of records: while it is not empty (`wants_write`) writes say
//! `WouldBlock`, so backpressure reaches the link's own output queue.
//!
//! rustls asks its reader for at most 4 KiB at a time, so a 16 KiB record
//! read straight from the socket costs five `recv` calls. Reads go through
//! a read-ahead buffer instead, one per thread ([`READ_AHEAD`]): one `recv`
//! of up to 64 KiB, then rustls's 4 KiB pieces from memory. What rustls has
//! not taken when `read` returns moves to the stream's own `unread`, so the
//! shared buffer is empty between calls and an idle connection holds none.
//! A `read` hands on the plaintext of every record already read ahead
//! (as much as the caller's buffer takes), not one record's: the
//! connection's frames are then parsed, answered and written in one pass
//! per `recv`, and the read-ahead seldom has a rest to move.
//!
//! Why not rustls's unbuffered API (`UnbufferedServerConnection`)? In the
//! rustls this builds with (0.23), it would spare the copy into rustls's
//! record buffer and that buffer's zeroing, but it still copies each
//! record's plaintext into a fresh `Vec`, and its `encrypt` takes one
//! slice (no gathering of a header and a payload) and copies the records
//! it made into the caller's buffer: one copy less on reading, one or two
//! more on writing. Its in-place decryption is only in rustls's next
//! major version.
//!
//! The socket is a type parameter ([`Socket`]) only so that tests can run
//! a session over a transport that moves one byte at a time; the program
//! uses `mio`'s [`TcpStream`].

use std::cell::RefCell;
use std::io::{self, IoSlice, Read, Write};
use std::net::{Shutdown, SocketAddr};

use mio::net::TcpStream;
use rustls::Connection;

use super::explain::TlsFailure;

/// What a [`TlsStream`] needs of the socket under it: non-blocking reads
/// and writes (`WouldBlock` when they cannot move), and ending its stream.
pub trait Socket: Read + Write {
    /// Sends end-of-stream to the peer but keeps reading.
    fn shutdown_write(&mut self) -> io::Result<()>;
    /// Who is at the other end, when known.
    fn peer_addr(&self) -> Option<SocketAddr>;
}

impl Socket for TcpStream {
    fn shutdown_write(&mut self) -> io::Result<()> {
        self.shutdown(Shutdown::Write)
    }

    fn peer_addr(&self) -> Option<SocketAddr> {
        TcpStream::peer_addr(self).ok()
    }
}

/// One TLS session over one socket, either role.
#[derive(Debug)]
pub struct TlsStream<S = TcpStream> {
    sock: S,
    conn: Connection,
    /// Who is at the other end (for log lines).
    peer: Option<SocketAddr>,
    /// The peer's TCP stream ended without a TLS close_notify.
    truncated: bool,
    /// Our close_notify is queued; shut down TCP once it is written.
    shutdown_pending: bool,
    /// The first byte the peer sent: tells plain text from a TLS record.
    first_byte: Option<u8>,
    /// Bytes read from the socket that rustls has not taken yet (the
    /// read-ahead's rest when `read` returned); empty, without memory,
    /// most of the time.
    unread: ReadAhead,
    /// A failure found after some plaintext was read: said by the next read.
    failed: Option<io::Error>,
    /// The last `recv` filled less than the read-ahead: the socket was
    /// empty then.
    recv_short: bool,
    /// The last [`TlsStream::read`] handed on everything read from the
    /// socket, and the socket was empty (see [`TlsStream::read_drained`]).
    drained: bool,
}

/// The most one `recv` takes for rustls: a few full records.
const READ_AHEAD_LEN: usize = 64 * 1024;

thread_local! {
    /// The read-ahead buffer of every [`TlsStream`] on this thread: filled
    /// from one socket at a time and always emptied before `read` returns.
    static READ_AHEAD: RefCell<ReadAhead> = RefCell::new(ReadAhead::default());
}

/// Bytes read ahead from the socket: `buf[start..end]` is not handed on yet.
#[derive(Debug, Default)]
struct ReadAhead {
    buf: Vec<u8>,
    start: usize,
    end: usize,
}

impl ReadAhead {
    /// Hands on up to `out.len()` of the bytes not handed on yet.
    fn take(&mut self, out: &mut [u8]) -> usize {
        let n = out.len().min(self.end - self.start);
        out[..n].copy_from_slice(&self.buf[self.start..self.start + n]);
        self.start += n;
        n
    }
}

impl<S: Socket> TlsStream<S> {
    /// Wraps a connected socket and a fresh rustls session.
    pub fn new(sock: S, conn: impl Into<Connection>) -> TlsStream<S> {
        let peer = sock.peer_addr();
        TlsStream {
            sock,
            conn: conn.into(),
            peer,
            truncated: false,
            shutdown_pending: false,
            first_byte: None,
            unread: ReadAhead::default(),
            failed: None,
            recv_short: false,
            drained: false,
        }
    }

    /// The socket, to register with a poll.
    pub fn socket_mut(&mut self) -> &mut S {
        &mut self.sock
    }

    /// The peer's address, when the socket knew it.
    pub fn peer(&self) -> Option<SocketAddr> {
        self.peer
    }

    /// Whether the TLS handshake is still going on.
    pub fn is_handshaking(&self) -> bool {
        self.conn.is_handshaking()
    }

    /// Whether the peer ended its TCP stream without a close_notify (a
    /// truncation as far as TLS can tell).
    pub fn truncated(&self) -> bool {
        self.truncated
    }

    /// Whether the last [`TlsStream::read`], which gave less than its
    /// buffer's worth, left nothing behind: its last `recv` found the
    /// socket empty, rustls has no plaintext or whole record left, and no
    /// bytes read ahead wait. Then, as after a short read of a plain
    /// socket, whatever arrives later raises a new edge-triggered event,
    /// and the read that would only say "would block" can be skipped (a
    /// `recv` for every second 1 KiB echo).
    pub fn read_drained(&self) -> bool {
        self.drained
    }

    /// Reads plaintext; `Ok(0)` at the end of the peer's stream, whether it
    /// sent a close_notify or not ([`TlsStream::truncated`] tells which);
    /// `WouldBlock` once the socket has nothing more.
    pub fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        READ_AHEAD.with(|ahead| {
            let mut ahead = ahead.borrow_mut();
            let result = self.read_through(buf, &mut ahead);
            // The next stream on this thread finds the buffer empty; what
            // this one read ahead waits in its own `unread`.
            if ahead.start < ahead.end {
                // The read-ahead is only refilled once `unread` is empty.
                self.unread.buf = ahead.buf[ahead.start..ahead.end].to_vec();
                self.unread.start = 0;
                self.unread.end = self.unread.buf.len();
            }
            ahead.start = 0;
            ahead.end = 0;
            result
        })
    }

    /// [`TlsStream::read`] with the thread's read-ahead buffer: fills `buf`
    /// with the plaintext of every record already read from the socket
    /// before it returns, and reads the socket again only when it has
    /// nothing to give. So one `recv` of several records is one `read` of
    /// their plaintext (not one per record), and a read-ahead's rest is
    /// only left over when `buf` is full.
    fn read_through(&mut self, buf: &mut [u8], ahead: &mut ReadAhead) -> io::Result<usize> {
        self.drained = false;
        if let Some(e) = self.failed.take() {
            return Err(e);
        }
        let mut filled = 0;
        loop {
            if filled == buf.len() {
                return Ok(filled);
            }
            match self.conn.reader().read(&mut buf[filled..]) {
                // End of the peer's stream after a close_notify: said once
                // what came before it is handed on.
                Ok(0) => return Ok(filled),
                Ok(n) => {
                    filled += n;
                    continue;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                    if filled > 0 {
                        return Ok(filled);
                    }
                    // Reported, not passed on as data: the WebSocket closing
                    // handshake says whether anything was cut off.
                    self.truncated = true;
                    return Ok(0);
                }
                Err(e) if filled > 0 => {
                    self.failed = Some(e);
                    return Ok(filled);
                }
                Err(e) => return Err(e),
            }
            let read_ahead = self.unread.start < self.unread.end || ahead.start < ahead.end;
            if filled > 0 && !read_ahead {
                // Only the socket could give more: the plaintext goes now.
                // (rustls said "would block": it holds no plaintext, and
                // every whole record it was given is decrypted.)
                self.drained = self.recv_short;
                return Ok(filled);
            }
            let mut source = Recording {
                sock: &mut self.sock,
                recv_short: &mut self.recv_short,
                first_byte: &mut self.first_byte,
                unread: &mut self.unread,
                ahead: &mut *ahead,
            };
            match self.conn.read_tls(&mut source) {
                // End of stream: the reader reports it on the next pass.
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                // With plaintext in hand the socket is not read (only
                // bytes already read are taken), so an error here is
                // rustls's about those bytes: it comes again on the next
                // read, after this plaintext.
                Err(_) if filled > 0 => return Ok(filled),
                Err(e) => return Err(e),
            }
            if let Err(error) = self.conn.process_new_packets() {
                let plain_text = self.first_byte.is_some_and(looks_like_plain_text);
                if plain_text && matches!(self.conn, Connection::Server(_)) {
                    self.answer_plain_text();
                } else {
                    // rustls queued an alert saying why; it goes out if it can.
                    let _ = self.send_records();
                }
                let failure = TlsFailure {
                    error,
                    plain_text,
                    handshaking: self.conn.is_handshaking(),
                };
                let e = io::Error::new(io::ErrorKind::InvalidData, failure);
                if filled > 0 {
                    // What came before the bad record is the peer's; the
                    // failure is said by the next read.
                    self.failed = Some(e);
                    return Ok(filled);
                }
                return Err(e);
            }
            // The handshake's answers (or a key update) leave now if the
            // socket takes them; the rest goes with the next flush. A write
            // error shows again there, so a peer that sent its last bytes
            // and left still has them read first.
            let _ = self.send_records();
        }
    }

    /// Takes plaintext to send; `WouldBlock` while records from earlier
    /// writes still wait for the socket.
    pub fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_vectored(&[IoSlice::new(buf)])
    }

    /// [`TlsStream::write`] of several buffers in order: rustls encrypts
    /// them into records straight from where they are (a frame's header
    /// and its payload still in the read buffer), so they need not be
    /// gathered into one buffer first.
    pub fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        if !self.send_records()? {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        // Before the handshake completes rustls keeps this as plaintext
        // and sends it once the keys are there (a client's upgrade request).
        let n = self.conn.writer().write_vectored(bufs)?;
        self.send_records()?;
        if n == 0 && bufs.iter().any(|b| !b.is_empty()) {
            // rustls's buffer is full (only before the handshake ends); the
            // handshake's progress comes with the next readiness event.
            return Err(io::ErrorKind::WouldBlock.into());
        }
        Ok(n)
    }

    /// Writes queued records; `Ok(true)` once none are left.
    pub fn send_records(&mut self) -> io::Result<bool> {
        while self.conn.wants_write() {
            match self.conn.write_tls(&mut self.sock) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        if std::mem::take(&mut self.shutdown_pending) {
            self.sock.shutdown_write()?;
        }
        Ok(true)
    }

    /// Whether records wait to be written.
    pub fn has_pending(&self) -> bool {
        self.conn.wants_write() || self.shutdown_pending
    }

    /// Sends close_notify, then ends the TCP stream once it is written
    /// (now, or from a later [`TlsStream::send_records`]).
    pub fn shutdown_write(&mut self) -> io::Result<()> {
        self.conn.send_close_notify();
        self.shutdown_pending = true;
        self.send_records().map(drop)
    }

    /// After a plain-text request on a TLS port: a plain-text answer
    /// instead of the TLS alert the client could not read (what a browser
    /// user sees when typing http:// for https://). Best effort.
    fn answer_plain_text(&mut self) {
        const RESPONSE: &[u8] = b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\
            Content-Type: text/plain\r\nContent-Length: 50\r\n\r\n\
            This port speaks TLS: use a wss:// or https:// URL";
        let _ = self.sock.write(RESPONSE);
        let _ = self.sock.shutdown_write();
    }
}

/// Plain-text protocols (HTTP, a ws:// upgrade) start with a letter; a TLS
/// record starts with a content type from 20 to 24.
fn looks_like_plain_text(byte: u8) -> bool {
    byte.is_ascii_alphabetic()
}

/// The socket as rustls reads it: first what an earlier `read` left
/// unread, then the read-ahead buffer, refilled by one `recv` when empty;
/// noting the first byte the peer sent.
struct Recording<'a, S> {
    sock: &'a mut S,
    recv_short: &'a mut bool,
    first_byte: &'a mut Option<u8>,
    unread: &'a mut ReadAhead,
    ahead: &'a mut ReadAhead,
}

impl<S: Read> Read for Recording<'_, S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.unread.start < self.unread.end {
            let n = self.unread.take(buf);
            if self.unread.start == self.unread.end {
                // Its memory goes back once it has been handed on.
                *self.unread = ReadAhead::default();
            }
            return Ok(n);
        }
        let ahead = &mut *self.ahead;
        if ahead.start == ahead.end {
            if ahead.buf.len() < READ_AHEAD_LEN {
                ahead.buf.resize(READ_AHEAD_LEN, 0);
            }
            let n = self.sock.read(&mut ahead.buf)?;
            *self.recv_short = n < ahead.buf.len();
            if self.first_byte.is_none() && n > 0 {
                *self.first_byte = Some(ahead.buf[0]);
            }
            ahead.start = 0;
            ahead.end = n;
        }
        Ok(ahead.take(buf))
    }
}

#[cfg(test)]
mod tests {
    use super::looks_like_plain_text;

    #[test]
    fn http_is_plain_text_and_tls_records_are_not() {
        for b in *b"GPHDOC" {
            assert!(looks_like_plain_text(b));
        }
        for b in 20..=24 {
            assert!(!looks_like_plain_text(b));
        }
    }
}
