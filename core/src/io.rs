//! A blocking WebSocket over any `embedded-io` transport, with caller
//! buffers: the convenience layer for embedded users and simple programs.
//!
//! ```
//! use websock_core::embedded_io::{Read, Write};
//! use websock_core::io::{IoError, Message, WebSocket};
//! use websock_core::Config;
//!
//! /// Echoes messages of up to 1 KiB on one connection of any TCP stack.
//! fn echo<T: Read + Write>(socket: T) -> Result<(), IoError<T::Error>> {
//!     let mut buf = [0u8; 4096];
//!     let mut ws = WebSocket::accept(socket, &mut buf, Config::new())?;
//!     let mut msg = [0u8; 1024];
//!     loop {
//!         match ws.read_message(&mut msg)? {
//!             Message::Text(t) => ws.send_text(t)?,
//!             Message::Binary(b) => ws.send_binary(b)?,
//!             Message::Close { .. } => return Ok(()),
//!         }
//!     }
//! }
//! ```
//!
//! Pings are answered and close frames replied to inside `read_message`.
//! Messages are reassembled into the caller's message buffer; one that does
//! not fit closes the connection with 1009. Outgoing messages larger than
//! the output buffer are sent as fragments. There is no clock here: bound
//! waits with the transport's own timeouts.

use core::fmt;

use embedded_io::{Read, Write};

use crate::close::CloseCode;
use crate::connection::{Accept, Config, Connection, DataKind, Event, Received};
use crate::error::Error;
use crate::frame::MAX_HEADER_LEN;
use crate::handshake::HandshakeError;

/// A whole message from [`WebSocket::read_message`], borrowing the caller's
/// message buffer.
#[derive(Debug, PartialEq)]
pub enum Message<'m> {
    /// A text message (UTF-8 checked by the engine).
    Text(&'m str),
    /// A binary message.
    Binary(&'m [u8]),
    /// The peer closed; the reply has been sent.
    Close {
        /// The peer's code (1005 if none).
        code: CloseCode,
        /// The peer's reason (valid UTF-8), copied into the message
        /// buffer: as much of it as fits there.
        reason: &'m [u8],
    },
}

/// What can go wrong in the blocking adapter.
#[derive(Debug, PartialEq)]
pub enum IoError<E> {
    /// The transport failed.
    Io(E),
    /// The transport ended before the WebSocket closed.
    UnexpectedEof,
    /// The engine refused something (protocol error, handshake, state).
    Ws(Error),
    /// A message did not fit the message buffer; the connection was closed
    /// with 1009.
    MessageTooBig,
}

impl<E: fmt::Debug> fmt::Display for IoError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IoError::Io(e) => write!(f, "transport error: {e:?}"),
            IoError::UnexpectedEof => f.write_str("transport closed unexpectedly"),
            IoError::Ws(e) => write!(f, "{e}"),
            IoError::MessageTooBig => f.write_str("message larger than the message buffer"),
        }
    }
}

impl<E> From<Error> for IoError<E> {
    fn from(e: Error) -> Self {
        IoError::Ws(e)
    }
}

/// One WebSocket over a blocking transport `T`.
pub struct WebSocket<'b, T> {
    io: T,
    conn: Connection,
    rx: &'b mut [u8],
    rx_start: usize,
    rx_end: usize,
    tx: &'b mut [u8],
}

/// The smallest buffer the adapter accepts: room for a handshake and for
/// control frames both ways.
pub const MIN_BUFFER: usize = 1024;

impl<'b, T: Read + Write> WebSocket<'b, T> {
    fn new(io: T, conn: Connection, buf: &'b mut [u8]) -> Result<Self, IoError<T::Error>> {
        if buf.len() < MIN_BUFFER {
            return Err(IoError::Ws(Error::BufferTooSmall { needed: MIN_BUFFER }));
        }
        let (rx, tx) = buf.split_at_mut(buf.len() / 2);
        Ok(WebSocket {
            io,
            conn,
            rx,
            rx_start: 0,
            rx_end: 0,
            tx,
        })
    }

    /// Server: reads the client's upgrade request and answers it. A bad
    /// request gets its HTTP error response before the error is returned.
    /// `buf` is split in halves for input and output; the input half bounds
    /// the request size.
    pub fn accept(io: T, buf: &'b mut [u8], mut config: Config) -> Result<Self, IoError<T::Error>> {
        let half = buf.len() / 2;
        config.max_handshake_len = config.max_handshake_len.min(half);
        let mut ws = WebSocket::new(io, Connection::server(config, 0), buf)?;
        loop {
            ws.fill()?;
            let input = &ws.rx[ws.rx_start..ws.rx_end];
            match ws.conn.accept(input, &[], ws.tx)? {
                Accept::Incomplete => continue,
                Accept::Accepted { request, written } => {
                    ws.rx_start += request.len;
                    ws.write_tx(written)?;
                    return Ok(ws);
                }
                Accept::Rejected { error, written } => {
                    ws.write_tx(written)?;
                    return Err(IoError::Ws(Error::Handshake(error)));
                }
            }
        }
    }

    /// Client: sends the upgrade request for `path` on `host` and checks the
    /// answer. `entropy` must be fresh random bytes (see
    /// [`Connection::client`]).
    pub fn connect(
        io: T,
        buf: &'b mut [u8],
        host: &str,
        path: &str,
        entropy: [u8; 32],
        config: Config,
    ) -> Result<Self, IoError<T::Error>> {
        let mut ws = WebSocket::new(io, Connection::client(config, 0, entropy), buf)?;
        let n = ws.conn.write_request(host, path, &[], ws.tx)?;
        ws.write_tx(n)?;
        loop {
            ws.fill()?;
            let input = &ws.rx[ws.rx_start..ws.rx_end];
            if let Some(response) = ws.conn.read_response(input, &[])? {
                ws.rx_start += response.len;
                return Ok(ws);
            }
        }
    }

    /// The engine, for what the adapter does not wrap.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// Gives the transport back.
    pub fn into_inner(self) -> T {
        self.io
    }

    /// Reads the next whole message into `msg`. Control frames are handled
    /// on the way; a close is returned as [`Message::Close`] after the reply
    /// has been written.
    pub fn read_message<'m>(
        &mut self,
        msg: &'m mut [u8],
    ) -> Result<Message<'m>, IoError<T::Error>> {
        let mut len = 0;
        let mut kind = DataKind::Binary;
        loop {
            if self.rx_start == self.rx_end {
                self.fill()?;
            }
            let input = &mut self.rx[self.rx_start..self.rx_end];
            let Received {
                consumed,
                written,
                event,
            } = match self.conn.receive(input, self.tx) {
                Ok(r) => r,
                Err(e) => {
                    self.flush_engine()?;
                    return Err(IoError::Ws(e));
                }
            };
            self.rx_start += consumed;
            let stalled = consumed == 0 && event.is_none();
            let done = match event {
                Some(Event::Data {
                    kind: k,
                    chunk,
                    last,
                }) => {
                    kind = k;
                    let Some(dst) = msg.get_mut(len..len + chunk.len()) else {
                        let n = self
                            .conn
                            .close(CloseCode::TOO_BIG, "message too big", self.tx)?;
                        self.write_tx(n)?;
                        return Err(IoError::MessageTooBig);
                    };
                    dst.copy_from_slice(chunk);
                    len += chunk.len();
                    last
                }
                Some(Event::Close { code, reason }) => {
                    let keep = reason.len().min(msg.len());
                    msg[..keep].copy_from_slice(&reason[..keep]);
                    self.flush_engine()?;
                    let reason = &msg[..keep];
                    return Ok(Message::Close { code, reason });
                }
                Some(Event::Ping(_)) | Some(Event::Pong(_)) | None => false,
            };
            if written > 0 {
                // The pong for a ping taken just now.
                self.write_tx(written)?;
            }
            self.flush_engine()?;
            if done {
                let bytes = &msg[..len];
                return Ok(match kind {
                    // The engine validated the text as it arrived.
                    DataKind::Text => {
                        Message::Text(core::str::from_utf8(bytes).unwrap_or_default())
                    }
                    DataKind::Binary => Message::Binary(bytes),
                });
            }
            if stalled {
                // Nothing consumed and nothing to say: the engine waits for
                // the rest of a frame header or of a control frame.
                self.fill()?;
            }
        }
    }

    /// Sends a text message, in fragments if it is larger than the output
    /// buffer.
    pub fn send_text(&mut self, text: &str) -> Result<(), IoError<T::Error>> {
        self.send(DataKind::Text, text.as_bytes())
    }

    /// Sends a binary message, in fragments if needed.
    pub fn send_binary(&mut self, bytes: &[u8]) -> Result<(), IoError<T::Error>> {
        self.send(DataKind::Binary, bytes)
    }

    fn send(&mut self, kind: DataKind, mut bytes: &[u8]) -> Result<(), IoError<T::Error>> {
        self.flush_engine()?;
        let room = self.tx.len() - MAX_HEADER_LEN;
        loop {
            let take = bytes.len().min(room);
            let last = take == bytes.len();
            let n = self.conn.send(kind, &bytes[..take], last, self.tx)?;
            self.write_tx(n)?;
            bytes = &bytes[take..];
            if last {
                return Ok(());
            }
        }
    }

    /// Sends a ping.
    pub fn ping(&mut self, payload: &[u8]) -> Result<(), IoError<T::Error>> {
        let n = self.conn.ping(payload, self.tx)?;
        self.write_tx(n)
    }

    /// Closes: sends a close frame, then reads (discarding data) until the
    /// peer's close arrives or the transport ends.
    pub fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), IoError<T::Error>> {
        let n = self.conn.close(code, reason, self.tx)?;
        self.write_tx(n)?;
        let mut sink = [0u8; 0];
        loop {
            match self.read_message(&mut sink) {
                Ok(Message::Close { .. }) | Err(IoError::UnexpectedEof) => return Ok(()),
                Ok(_) | Err(IoError::MessageTooBig) => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Reads more input, compacting the buffer first.
    fn fill(&mut self) -> Result<(), IoError<T::Error>> {
        if self.rx_start > 0 {
            self.rx.copy_within(self.rx_start..self.rx_end, 0);
            self.rx_end -= self.rx_start;
            self.rx_start = 0;
        }
        if self.rx_end == self.rx.len() {
            // Cannot happen for frames (the engine waits for at most a
            // control frame, and the input half holds far more); for a
            // handshake the size limit answers first.
            return Err(IoError::Ws(Error::Handshake(HandshakeError::TooLarge)));
        }
        match self.io.read(&mut self.rx[self.rx_end..]) {
            Ok(0) => {
                self.conn.transport_closed();
                Err(IoError::UnexpectedEof)
            }
            Ok(n) => {
                self.rx_end += n;
                Ok(())
            }
            Err(e) => Err(IoError::Io(e)),
        }
    }

    fn write_tx(&mut self, n: usize) -> Result<(), IoError<T::Error>> {
        self.io.write_all(&self.tx[..n]).map_err(IoError::Io)?;
        self.io.flush().map_err(IoError::Io)
    }

    /// Writes the engine's automatic replies.
    fn flush_engine(&mut self) -> Result<(), IoError<T::Error>> {
        loop {
            let n = self.conn.poll_output(self.tx);
            if n == 0 {
                return Ok(());
            }
            self.write_tx(n)?;
        }
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use std::net::{TcpListener, TcpStream};
    use std::vec;

    use super::*;

    /// embedded-io over a std socket: what an embedded user's TCP stack is.
    struct Socket(TcpStream);

    impl embedded_io::ErrorType for Socket {
        type Error = std::io::Error;
    }

    impl Read for Socket {
        fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
            std::io::Read::read(&mut self.0, buf)
        }
    }

    impl Write for Socket {
        fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
            std::io::Write::write(&mut self.0, buf)
        }
        fn flush(&mut self) -> Result<(), Self::Error> {
            Ok(())
        }
    }

    #[test]
    fn echo_over_a_real_socket_with_fragmented_large_messages() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = std::thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            stream
                .set_read_timeout(Some(std::time::Duration::from_secs(10)))
                .unwrap();
            let mut buf = [0u8; 2048];
            let mut ws = WebSocket::accept(Socket(stream), &mut buf, Config::new()).unwrap();
            let mut msg = vec![0u8; 10_000];
            loop {
                match ws.read_message(&mut msg).unwrap() {
                    Message::Text(t) => {
                        let t = std::string::String::from(t);
                        ws.send_text(&t).unwrap()
                    }
                    Message::Binary(b) => {
                        let b = b.to_vec();
                        ws.send_binary(&b).unwrap()
                    }
                    Message::Close { code, .. } => return code,
                }
            }
        });
        let stream = TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(std::time::Duration::from_secs(10)))
            .unwrap();
        let mut buf = [0u8; 2048];
        let mut ws = WebSocket::connect(
            Socket(stream),
            &mut buf,
            "127.0.0.1",
            "/",
            [5; 32],
            Config::new(),
        )
        .unwrap();
        let mut msg = vec![0u8; 10_000];
        ws.send_text("héllo").unwrap();
        assert_eq!(ws.read_message(&mut msg).unwrap(), Message::Text("héllo"));
        // Bigger than the 1 KiB output half: goes out in fragments.
        let big: std::vec::Vec<u8> = (0..5000u32).map(|i| i as u8).collect();
        ws.send_binary(&big).unwrap();
        assert_eq!(
            ws.read_message(&mut msg).unwrap(),
            Message::Binary(&big[..])
        );
        // Too big for a small message buffer: closed with 1009.
        ws.send_binary(&big).unwrap();
        let mut small = [0u8; 100];
        assert!(matches!(
            ws.read_message(&mut small),
            Err(IoError::MessageTooBig)
        ));
        assert_eq!(server.join().unwrap(), CloseCode::TOO_BIG);
    }

    #[test]
    fn bad_request_gets_http_error() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let client = std::thread::spawn(move || {
            let mut s = TcpStream::connect(addr).unwrap();
            std::io::Write::write_all(&mut s, b"POST / HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
            let mut answer = std::string::String::new();
            std::io::Read::read_to_string(&mut s, &mut answer).unwrap();
            answer
        });
        let (stream, _) = listener.accept().unwrap();
        let mut buf = [0u8; 2048];
        let err = WebSocket::accept(Socket(stream), &mut buf, Config::new()).err();
        assert!(matches!(
            err,
            Some(IoError::Ws(Error::Handshake(HandshakeError::NotGet)))
        ));
        assert!(client
            .join()
            .unwrap()
            .starts_with("HTTP/1.1 405 Method Not Allowed\r\n"));
    }
}
