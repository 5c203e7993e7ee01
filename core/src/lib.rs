//! # websock-core
//!
//! A WebSocket protocol engine (RFC 6455) that does no I/O and allocates
//! nothing: bytes from the transport go in, events and bytes for the
//! transport come out, all through buffers the caller owns. It runs the same
//! on a microcontroller's TCP stack, behind a C ABI, in WebAssembly, and in
//! a std server.
//!
//! - [`Connection`] is the state machine for one connection, client or
//!   server: opening handshake, frames, control replies, closing handshake,
//!   timeouts. Its module docs state the buffer contracts.
//! - [`frame`], [`handshake`], [`close`], [`utf8`] hold the RFC's rules,
//!   each in one place, usable on their own.
//! - [`io`] wraps a connection around any blocking `embedded-io`
//!   transport: `WebSocket::accept(socket, &mut buf)`.
//! - `io_async` (feature `async`) does the same over any
//!   `embedded-io-async` transport (embassy-net, or tokio through
//!   `embedded-io-adapters`), with split halves for two tasks.
//!
//! ```
//! use websock_core::{Connection, Config, Accept, Event, DataKind};
//!
//! let mut server = Connection::server(Config::new(), 0);
//! let request = b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\
//!     Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
//!     Sec-WebSocket-Version: 13\r\n\r\n";
//! let mut out = [0u8; 512];
//! let Ok(Accept::Accepted { written, .. }) = server.accept(request, &[], &mut out) else { panic!() };
//! assert!(out[..written].starts_with(b"HTTP/1.1 101"));
//!
//! // A masked "Hello" from the client (RFC 6455 section 5.7).
//! let mut frame = [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58];
//! let got = server.receive(&mut frame, &mut out).unwrap();
//! assert_eq!(got.consumed, 11);
//! assert_eq!(got.event, Some(Event::Data { kind: DataKind::Text, chunk: b"Hello", last: true }));
//!
//! // A masked ping: its pong goes into `out` in the same call.
//! let mut ping = [0x89, 0x82, 1, 2, 3, 4, b'h' ^ 1, b'i' ^ 2];
//! let got = server.receive(&mut ping, &mut out).unwrap();
//! assert_eq!(got.event, Some(Event::Ping(b"hi")));
//! assert_eq!(&out[..got.written], &[0x8A, 2, b'h', b'i']);
//! ```
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

#[cfg(feature = "deflate")]
extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

mod base64;
pub mod close;
pub mod connection;
#[cfg(feature = "inflate")]
pub mod deflate;
pub mod error;
pub mod frame;
pub mod handshake;
pub mod io;
#[cfg(feature = "async")]
pub mod io_async;
mod sha1;
pub mod utf8;

pub use embedded_io;
#[cfg(feature = "async")]
pub use embedded_io_async;

pub use close::CloseCode;
pub use connection::{
    Accept, Closure, Config, Connection, DataKind, Event, Received, Role, State, Transport,
};
pub use error::{Error, Violation};
pub use frame::MAX_CONTROL_FRAME;
pub use handshake::HandshakeError;
