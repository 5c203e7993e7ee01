//! The byte stream under a WebSocket: plain TCP (ws://) or a TLS session
//! over TCP (wss://). The event loop and the connection logic never name
//! the socket type; they see plaintext in, plaintext out, and whether the
//! transport still holds bytes of its own to write.

use std::io::{self, Read, Write};
use std::net::Shutdown;

use mio::event::Source;
use mio::{Interest, Registry, Token};

use crate::tls::stream::TlsStream;

/// A non-blocking transport registered with a `mio` poll.
#[derive(Debug)]
pub enum Transport {
    /// ws:// over TCP.
    Plain(mio::net::TcpStream),
    /// wss://: rustls over TCP (boxed: a session is a few KiB, a plain
    /// connection should not pay for it).
    Tls(Box<TlsStream>),
}

impl Transport {
    /// Reads what is available; `WouldBlock` when nothing is, `Ok(0)` at
    /// the end of the peer's stream.
    pub fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Transport::Plain(s) => s.read(buf),
            Transport::Tls(s) => s.read(buf),
        }
    }

    /// Writes what fits; `WouldBlock` when nothing does.
    pub fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Transport::Plain(s) => s.write(buf),
            Transport::Tls(s) => s.write(buf),
        }
    }

    /// Writes what the transport queued itself (TLS records written by a
    /// read, or left over by a write); `Ok(true)` once nothing is left.
    pub fn flush(&mut self) -> io::Result<bool> {
        match self {
            Transport::Plain(_) => Ok(true),
            Transport::Tls(s) => s.send_records(),
        }
    }

    /// Whether the transport holds bytes of its own still to write.
    pub fn has_pending(&self) -> bool {
        match self {
            Transport::Plain(_) => false,
            Transport::Tls(s) => s.has_pending(),
        }
    }

    /// Sends end-of-stream to the peer but keeps reading, so that closing
    /// later does not discard (and reset over) bytes still in flight. Over
    /// TLS a close_notify goes first.
    pub fn shutdown_write(&mut self) -> io::Result<()> {
        match self {
            Transport::Plain(s) => s.shutdown(Shutdown::Write),
            Transport::Tls(s) => s.shutdown_write(),
        }
    }

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
