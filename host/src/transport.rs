//! The byte stream under a WebSocket: plain TCP (ws://) or a TLS session
//! over TCP (wss://). The event loop and the connection logic never name
//! the socket type; they see plaintext in, plaintext out, and whether the
//! transport still holds bytes of its own to write.

use std::io::{self, Read, Write};
use std::net::Shutdown;

use mio::event::Source;
use mio::{Interest, Registry, Token};

use crate::tls::stream::{Socket, TlsStream};

/// A non-blocking transport registered with a `mio` poll.
#[derive(Debug)]
pub enum Transport {
    /// ws:// over TCP.
    Plain(mio::net::TcpStream),
    /// wss://: rustls over TCP (boxed: a session is a few KiB, a plain
    /// connection should not pay for it).
    Tls(Box<TlsStream>),
}

/// What the event loop ([`crate::reactor::drive_at`]) needs of a byte stream:
/// plaintext in and out without blocking, and the transport's own queue.
pub trait Wire {
    /// Reads what is available; `WouldBlock` when nothing is, `Ok(0)` at
    /// the end of the peer's stream.
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize>;

    /// Writes what fits; `WouldBlock` when nothing does.
    fn write(&mut self, buf: &[u8]) -> io::Result<usize>;

    /// Writes what fits of `bufs`, in order, in one call: a gathering
    /// write over TCP; over TLS, records encrypted from where the buffers
    /// are. So output queued by reference to the read buffer (a frame's
    /// header and its payload still there) goes out without a copy.
    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize>;

    /// Whether the transport may queue bytes of its own (TLS records), so
    /// that [`Wire::flush`] is due even with no output from the link.
    fn queues(&self) -> bool {
        true
    }

    /// Writes what the transport queued itself (TLS records written by a
    /// read, or left over by a write); `Ok(true)` once nothing is left.
    fn flush(&mut self) -> io::Result<bool>;

    /// Whether the transport holds bytes of its own still to write.
    fn has_pending(&self) -> bool;

    /// Whether the last read, when it filled less than its buffer, found
    /// the stream empty: always for a plain socket (the kernel copies
    /// while data is queued); over TLS when that read's last `recv` was
    /// short and all it brought was handed on
    /// ([`TlsStream::read_drained`]).
    fn short_read_drains(&self) -> bool;

    /// Sends end-of-stream to the peer but keeps reading, so that closing
    /// later does not discard (and reset over) bytes still in flight. Over
    /// TLS a close_notify goes first.
    fn shutdown_write(&mut self) -> io::Result<()>;
}

impl Wire for Transport {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Transport::Plain(s) => s.read(buf),
            Transport::Tls(s) => s.read(buf),
        }
    }

    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Transport::Plain(s) => s.write(buf),
            Transport::Tls(s) => s.write(buf),
        }
    }

    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        match self {
            Transport::Plain(s) => s.write_vectored(bufs),
            Transport::Tls(s) => s.write_vectored(bufs),
        }
    }

    fn queues(&self) -> bool {
        matches!(self, Transport::Tls(_))
    }

    fn flush(&mut self) -> io::Result<bool> {
        match self {
            Transport::Plain(_) => Ok(true),
            Transport::Tls(s) => s.send_records(),
        }
    }

    fn has_pending(&self) -> bool {
        match self {
            Transport::Plain(_) => false,
            Transport::Tls(s) => s.has_pending(),
        }
    }

    fn short_read_drains(&self) -> bool {
        match self {
            Transport::Plain(_) => true,
            Transport::Tls(s) => s.read_drained(),
        }
    }

    fn shutdown_write(&mut self) -> io::Result<()> {
        match self {
            Transport::Plain(s) => s.shutdown(Shutdown::Write),
            Transport::Tls(s) => s.shutdown_write(),
        }
    }
}

impl<S: Socket> Wire for TlsStream<S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        TlsStream::read(self, buf)
    }

    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        TlsStream::write(self, buf)
    }

    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        TlsStream::write_vectored(self, bufs)
    }

    fn flush(&mut self) -> io::Result<bool> {
        self.send_records()
    }

    fn has_pending(&self) -> bool {
        TlsStream::has_pending(self)
    }

    fn short_read_drains(&self) -> bool {
        self.read_drained()
    }

    fn shutdown_write(&mut self) -> io::Result<()> {
        TlsStream::shutdown_write(self)
    }
}

impl Transport {
    /// The TLS session, for wss://.
    pub fn tls(&self) -> Option<&TlsStream> {
        match self {
            Transport::Plain(_) => None,
            Transport::Tls(s) => Some(s),
        }
    }

    fn source(&mut self) -> &mut mio::net::TcpStream {
        match self {
            Transport::Plain(s) => s,
            Transport::Tls(s) => s.socket_mut(),
        }
    }
}

impl Source for Transport {
    fn register(
        &mut self,
        registry: &Registry,
        token: Token,
        interests: Interest,
    ) -> io::Result<()> {
        self.source().register(registry, token, interests)
    }

    fn reregister(
        &mut self,
        registry: &Registry,
        token: Token,
        interests: Interest,
    ) -> io::Result<()> {
        self.source().reregister(registry, token, interests)
    }

    fn deregister(&mut self, registry: &Registry) -> io::Result<()> {
        self.source().deregister(registry)
    }
}
