//! The connection: a sans-I/O state machine for one WebSocket, either role.
//!
//! # Buffer contracts
//!
//! - **Input.** [`Connection::receive`] takes the bytes the transport gave
//!   you as `&mut [u8]` and returns a [`Received`]: how many it consumed,
//!   how many it wrote to `out`, and at most one [`Event`]. Events are
//!   slices of *your* buffer, unmasked in place: nothing is copied, and
//!   the engine keeps no copy of anything the peer sent. Bytes past
//!   `consumed` were not used; present them again (with more appended) on
//!   the next call. A frame header, and a control frame (header and
//!   payload, at most [`MAX_CONTROL_FRAME`](crate::MAX_CONTROL_FRAME)
//!   bytes), are taken only once they are whole in the input, so keep room
//!   for that many bytes after whatever is left unconsumed. `consumed` is
//!   less than the input when an event is returned, when such a piece is
//!   not whole yet, or when `out` has no room for a pong (below): call
//!   again after handling the event, reading more, or draining output.
//! - **Output.** Frames the application sends are written by
//!   [`Connection::send`], [`Connection::ping`] and [`Connection::close`]
//!   straight into a buffer you provide, whole or not at all. The engine's
//!   close frames (the reply to the peer's, the one that fails the
//!   connection) wait inside it until [`Connection::poll_output`] writes
//!   them; give it at least [`MAX_CONTROL_FRAME`](crate::MAX_CONTROL_FRAME)
//!   bytes and it always makes progress. Call it after every `receive`.
//! - **Compressed input.** With permessage-deflate in force, inflated
//!   data goes to a scratch buffer the caller passes with each call
//!   ([`Connection::receive_with`]). A connection with no inflater of its
//!   own (the `inflate` feature alone, or `deflate::Memory::Caller`) also
//!   borrows the inflater's state and history from the caller on every
//!   call (`Connection::receive_inflating`), so its size does not grow by
//!   the window: about 4 KiB plus `2^bits` bytes, in a `deflate::Window`
//!   the caller keeps for the connection's life. A compressed message's
//!   last event comes after its input is used up (the inflater finishes on
//!   the implied tail, RFC 7692 section 7.2.2): after an event, call again,
//!   with no new input if there is none, until a call returns no event.
//! - **Backpressure.** A ping is answered in the same `receive` call: the
//!   pong (section 5.5.2) is written into the `out` buffer the call takes,
//!   straight from the ping's payload in your input. When `out` has no room
//!   for it, the ping stays unconsumed and the call returns no event, so a
//!   reply is never dropped and the engine needs no buffer to hold it:
//!   give `out` at least [`MAX_CONTROL_FRAME`](crate::MAX_CONTROL_FRAME)
//!   bytes and every call makes progress.
//! - **Transport.** [`Connection::transport`] says when to close the
//!   transport (section 7.1.1: the server closes TCP first after the closing
//!   handshake; a client waits for that, up to the close timeout).
//! - **Time.** The engine never reads a clock. Pass "now" (milliseconds from
//!   any fixed origin) to the constructor and to [`Connection::tick`];
//!   [`Connection::deadline`] says when to call `tick` next.
//!
//! # Where the rules live
//!
//! One file per concern, as RFC 6455 splits its sections: `opening`
//! (section 4), `receive` (5 and 6.2), `send` (5.3, 5.4, 6.1), `closing`
//! (5.5.1 and 7), `timers`, and `compression` (the glue to
//! permessage-deflate, RFC 7692). This file holds the public types and the
//! state they share.

use crate::close::{self, CloseCode, MAX_REASON};
use crate::error::{Error, Violation};
#[cfg(any(test, feature = "deflate"))]
use crate::frame::MAX_HEADER_LEN;
use crate::frame::{
    apply_mask, decode_header, encode_header, header_len, Decoded, Header, Opcode,
    MAX_CONTROL_PAYLOAD,
};
use crate::handshake::{self, HandshakeError, Request, Response};
use crate::utf8;

#[cfg(feature = "inflate")]
use crate::deflate::inflate::Lent;
#[cfg(feature = "deflate")]
use crate::deflate::Codec;
#[cfg(feature = "inflate")]
use crate::deflate::{self, Memory, Window};

use closing::CloseOut;
#[cfg(feature = "inflate")]
use compression::Inflating;
use opening::KEY_LEN;
use receive::Incoming;
pub use receive::Received;
use send::MaskRng;

/// Which end of the connection this engine is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Masks every frame it sends; expects unmasked frames (section 5.1).
    Client,
    /// Expects masked frames; sends unmasked ones.
    Server,
}

/// Limits and timeouts. All times are milliseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    /// The largest message accepted; a longer one fails the connection with
    /// 1009 as soon as a frame header announces it (section 7.4.1).
    pub max_message_size: u64,
    /// The largest handshake header block; a larger one gets 431 (server)
    /// or fails the handshake (client).
    pub max_handshake_len: usize,
    /// How long the opening handshake may take.
    pub handshake_timeout_ms: u64,
    /// How long to wait for the peer's close frame after sending ours, and
    /// (client) for the server to close the transport after the closing
    /// handshake.
    pub close_timeout_ms: u64,
    /// permessage-deflate: `Some` to accept offers (server) or make one
    /// (client) within these limits; `None` (the default) to go without.
    /// With the `inflate` feature alone, see
    /// [`deflate::Options::receive_only`].
    #[cfg(feature = "inflate")]
    pub deflate: Option<deflate::Options>,
}

impl Config {
    /// 64 MiB messages, an 8 KiB handshake, 10 s handshake and 5 s close
    /// timeouts.
    pub const fn new() -> Self {
        Config {
            max_message_size: 64 << 20,
            max_handshake_len: 8192,
            handshake_timeout_ms: 10_000,
            close_timeout_ms: 5_000,
            #[cfg(feature = "inflate")]
            deflate: None,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config::new()
    }
}

/// The two kinds of data message (section 5.6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DataKind {
    /// UTF-8 text; validated by the engine as it arrives.
    Text,
    /// Arbitrary bytes.
    Binary,
}

impl DataKind {
    fn opcode(self) -> Opcode {
        match self {
            DataKind::Text => Opcode::Text,
            DataKind::Binary => Opcode::Binary,
        }
    }
}

/// Something the peer sent.
#[derive(Debug, PartialEq)]
pub enum Event<'a> {
    /// A piece of a text or binary message, in order. `last` marks the end
    /// of the message. Text pieces may split a UTF-8 character, but the
    /// message so far is known to be a valid UTF-8 prefix.
    Data {
        /// Text or binary, from the message's first frame.
        kind: DataKind,
        /// The bytes, unmasked, in the caller's input buffer.
        chunk: &'a [u8],
        /// This piece ends the message.
        last: bool,
    },
    /// A ping's payload, unmasked in the caller's input. The pong went
    /// into `out` in the same call, unless our close frame has gone out.
    Ping(&'a [u8]),
    /// A pong's payload, unmasked in the caller's input.
    Pong(&'a [u8]),
    /// The peer's close frame. 1005 when it carried no code. The engine has
    /// queued the reply, unless this answers a close we sent.
    Close {
        /// The peer's code.
        code: CloseCode,
        /// The reason, in the caller's input; valid UTF-8 (checked).
        reason: &'a [u8],
    },
}

/// What to do with the transport.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    /// Keep reading and writing.
    Open,
    /// Write any output you still hold, then close the transport. To make
    /// sure the peer reads a close frame, shut down the write side and read
    /// (discarding) until end of stream or a short timeout before closing,
    /// rather than closing with unread input (which resets TCP).
    Close,
}

/// A coarse view of the connection's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// Server: waiting for the client's upgrade request.
    AwaitingRequest,
    /// Client: waiting for the server's 101.
    AwaitingResponse,
    /// Messages flow both ways.
    Open,
    /// We sent a close frame and wait for the peer's.
    CloseSent,
    /// The peer sent a close frame; our reply is queued.
    CloseReceived,
    /// Both close frames have been exchanged.
    Closed,
    /// The connection failed (protocol error, rejected handshake, timeout).
    Failed,
}

/// How the connection ended, from [`Connection::transport_closed`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Closure {
    /// Both close frames were exchanged before the transport closed.
    pub clean: bool,
    /// The peer's close code, or 1006 when the transport closed first.
    pub code: CloseCode,
}

/// The outcome of [`Connection::accept`].
#[derive(Debug, PartialEq)]
pub enum Accept<'a> {
    /// The request is not complete yet; call again with more bytes.
    Incomplete,
    /// The connection is open. `written` bytes of 101 response are in the
    /// output buffer; `request.len` bytes of input were the request, and
    /// anything after them is already frames.
    Accepted {
        /// The checked request.
        request: Request<'a>,
        /// Bytes of response written.
        written: usize,
    },
    /// The request was refused. `written` bytes of HTTP error response are
    /// in the output buffer (0 if it did not fit); then close the transport.
    Rejected {
        /// Why.
        error: HandshakeError,
        /// Bytes of response written.
        written: usize,
    },
}

/// `Connection::deadline` when none is set. A deadline that far off (half
/// a billion years of milliseconds) would never come anyway, so the value
/// stands for "none" and the state does without `Option`'s 8 bytes.
const NO_DEADLINE: u64 = u64::MAX;

/// One WebSocket connection's protocol state. Plain data, no allocation
/// (with permessage-deflate in force, plus zlib's state on the heap):
/// `size_of::<Connection>()` is all it costs.
#[derive(Debug)]
pub struct Connection {
    role: Role,
    config: Config,
    state: State,
    now: u64,
    /// When `tick` must next run; [`NO_DEADLINE`] for none.
    deadline: u64,
    /// The engine wants the transport closed once its output is written.
    drop_transport: bool,
    /// Client: seeds the masking keys. (A server's is unused.)
    rng: MaskRng,

    /// The data frame being received.
    frame: Option<Incoming>,
    /// The data message in progress and its length so far.
    message: Option<DataKind>,
    message_len: u64,
    utf8: utf8::Validator,
    /// Client: the 16 random bytes of its key (section 4.1), raw (the
    /// base64 form is made when needed). All zeros in a server.
    key: [u8; KEY_LEN],
    /// Client: the request has gone out (its key is in force).
    request_sent: bool,
    close_out: Option<CloseOut>,
    /// An outgoing fragmented message is in progress.
    sending: bool,
    /// The code of the peer's close frame once it came (1005 for none in
    /// it); 1006 until then. `Closed` is only reached after it came.
    peer_close: CloseCode,
    #[cfg(feature = "inflate")]
    inflate: Inflating,
}

impl Connection {
    fn new(role: Role, config: Config, now: u64, seed: [u8; 16]) -> Self {
        Connection {
            role,
            config,
            state: match role {
                Role::Server => State::AwaitingRequest,
                Role::Client => State::AwaitingResponse,
            },
            now,
            deadline: now.saturating_add(config.handshake_timeout_ms),
            drop_transport: false,
            rng: MaskRng::new(seed),
            frame: None,
            message: None,
            message_len: 0,
            utf8: utf8::Validator::new(),
            key: [0; KEY_LEN],
            request_sent: false,
            close_out: None,
            sending: false,
            peer_close: CloseCode::ABNORMAL,
            #[cfg(feature = "inflate")]
            inflate: Inflating::default(),
        }
    }

    /// A server connection, waiting for the upgrade request; `now` starts
    /// the handshake timeout.
    pub fn server(config: Config, now: u64) -> Self {
        Connection::new(Role::Server, config, now, [0; 16])
    }

    /// A client connection. `entropy` must be fresh random bytes: the first
    /// 16 make the Sec-WebSocket-Key, the last 16 seed the masking keys.
    pub fn client(config: Config, now: u64, entropy: [u8; 32]) -> Self {
        let mut seed = [0u8; 16];
        seed.copy_from_slice(&entropy[16..]);
        let mut conn = Connection::new(Role::Client, config, now, seed);
        conn.key.copy_from_slice(&entropy[..KEY_LEN]);
        conn
    }

    /// This connection's role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// Payload bytes of the data frame being received that have not
    /// arrived yet: 0 between frames (compressed
    /// frames count compressed bytes). A caller that gathers a message can
    /// size its buffer once from this instead of growing it while the
    /// payload arrives.
    pub fn frame_remaining(&self) -> u64 {
        self.frame.map_or(0, |f| f.remaining)
    }

    /// The current state.
    pub fn state(&self) -> State {
        self.state
    }

    /// The configuration in force.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Whether permessage-deflate is in force on this connection.
    pub fn compression_active(&self) -> bool {
        #[cfg(feature = "inflate")]
        return self.inflate.agreed().is_some();
        #[cfg(not(feature = "inflate"))]
        false
    }
}

mod closing;
#[cfg(feature = "inflate")]
mod compression;
mod opening;
mod receive;
mod send;
#[cfg(test)]
mod tests;
mod timers;
