//! The byte stream under a WebSocket. Only plain TCP today; the enum is
//! where a TLS session will go, so the event loop and the connection logic
//! never name the socket type.

use std::io::{self, Read, Write};
use std::net::Shutdown;

use mio::event::Source;
use mio::{Interest, Registry, Token};

/// A non-blocking transport registered with a `mio` poll.
#[derive(Debug)]
pub enum Transport {
    /// ws:// over TCP.
    Plain(mio::net::TcpStream),
}

impl Transport {
    /// Reads what is available; `WouldBlock` when nothing is.
    pub fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Transport::Plain(s) => s.read(buf),
        }
    }

    /// Writes what fits; `WouldBlock` when nothing does.
    pub fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Transport::Plain(s) => s.write(buf),
        }
    }

    /// Sends end-of-stream to the peer but keeps reading, so that closing
    /// later does not discard (and reset over) bytes still in flight.
    pub fn shutdown_write(&mut self) -> io::Result<()> {
        match self {
            Transport::Plain(s) => s.shutdown(Shutdown::Write),
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
        match self {
            Transport::Plain(s) => s.register(registry, token, interests),
        }
    }

    fn reregister(
        &mut self,
        registry: &Registry,
        token: Token,
        interests: Interest,
    ) -> io::Result<()> {
        match self {
            Transport::Plain(s) => s.reregister(registry, token, interests),
        }
    }

    fn deregister(&mut self, registry: &Registry) -> io::Result<()> {
        match self {
            Transport::Plain(s) => s.deregister(registry),
        }
    }
}
