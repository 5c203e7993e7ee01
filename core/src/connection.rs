//! The connection: a sans-I/O state machine for one WebSocket, either role.
//!
//! # Buffer contracts
//!
//! - **Input.** [`Connection::receive`] takes the bytes the transport gave
//!   you as `&mut [u8]` and returns how many it consumed plus at most one
//!   [`Event`]. Data events are slices of *your* buffer, unmasked in place:
//!   nothing is copied. Bytes past `consumed` were not looked at; present
//!   them again (with more appended) on the next call. `consumed` is less
//!   than the input only when an event is returned, or when the engine holds
//!   back because an automatic reply is still waiting to be written (see
//!   below): call again after handling the event or draining output.
//! - **Output.** Frames the application sends are written by
//!   [`Connection::send`], [`Connection::ping`] and [`Connection::close`]
//!   straight into a buffer you provide, whole or not at all. The engine's
//!   own replies (pong, the close reply, the close that fails the
//!   connection) wait inside it until [`Connection::poll_output`] writes
//!   them; give it at least [`MAX_CONTROL_FRAME`](crate::MAX_CONTROL_FRAME) bytes and it always makes
//!   progress. Call it after every `receive`.
//! - **Backpressure.** The engine holds one pending pong. If another ping
//!   arrives before that pong has been written, `receive` stops consuming
//!   and returns no event until `poll_output` has run: replies are never
//!   dropped or overwritten, and memory stays fixed.
//! - **Transport.** [`Connection::transport`] says when to close the
//!   transport (section 7.1.1: the server closes TCP first after the closing
//!   handshake; a client waits for that, up to the close timeout).
//! - **Time.** The engine never reads a clock. Pass "now" (milliseconds from
//!   any fixed origin) to the constructor and to [`Connection::tick`];
//!   [`Connection::deadline`] says when to call `tick` next.

use crate::close::{self, CloseCode, MAX_REASON};
use crate::error::{Error, Violation};
use crate::frame::{
    apply_mask, decode_header, encode_header, header_len, Decoded, Header, Opcode,
    MAX_CONTROL_PAYLOAD, MAX_HEADER_LEN,
};
use crate::handshake::{self, HandshakeError, Key, Request, Response};
use crate::utf8;

#[cfg(feature = "deflate")]
use crate::deflate::{self, Codec};

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
    #[cfg(feature = "deflate")]
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
            #[cfg(feature = "deflate")]
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

/// The payload of a control frame, copied out of the input (at most 125
/// bytes), so that it can outlive the buffer it came in.
#[derive(Clone, Copy)]
pub struct ControlPayload {
    bytes: [u8; MAX_CONTROL_PAYLOAD],
    len: u8,
}

impl ControlPayload {
    const EMPTY: ControlPayload = ControlPayload {
        bytes: [0; MAX_CONTROL_PAYLOAD],
        len: 0,
    };

    /// Copies up to 125 bytes; `None` if `bytes` is longer.
    pub fn new(bytes: &[u8]) -> Option<Self> {
        let mut p = ControlPayload::EMPTY;
        p.bytes.get_mut(..bytes.len())?.copy_from_slice(bytes);
        p.len = bytes.len() as u8;
        Some(p)
    }

    /// The payload bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len as usize]
    }
}

impl core::fmt::Debug for ControlPayload {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_list().entries(self.as_bytes()).finish()
    }
}

impl PartialEq for ControlPayload {
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes()
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
    /// A ping; the engine has queued the pong.
    Ping(ControlPayload),
    /// A pong.
    Pong(ControlPayload),
    /// The peer's close frame. 1005 when it carried no code. The engine has
    /// queued the reply, unless this answers a close we sent.
    Close {
        /// The peer's code.
        code: CloseCode,
        /// The reason, valid UTF-8 (checked).
        reason: ControlPayload,
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

/// The frame being received.
#[derive(Clone, Copy, Debug)]
struct Incoming {
    opcode: Opcode,
    fin: bool,
    mask: Option<[u8; 4]>,
    /// Payload bytes still to come.
    remaining: u64,
    /// Payload bytes already seen (the masking offset).
    offset: u64,
}

/// The close frame the engine must send itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct CloseOut {
    code: Option<CloseCode>,
    reason: &'static str,
}

/// A small PRNG for client masking keys (xorshift128+), seeded by the caller.
/// Masks must be unpredictable to the application's peers (section 10.3);
/// they need not be cryptographic, but the seed must be fresh entropy.
#[derive(Clone, Copy, Debug)]
struct MaskRng(u64, u64);

impl MaskRng {
    fn new(seed: [u8; 16]) -> Self {
        let mut a = [0u8; 8];
        let mut b = [0u8; 8];
        a.copy_from_slice(&seed[..8]);
        b.copy_from_slice(&seed[8..]);
        // xorshift must not start from all zeros.
        MaskRng(u64::from_le_bytes(a) | 1, u64::from_le_bytes(b))
    }

    fn next(&mut self) -> [u8; 4] {
        let (mut s1, s0) = (self.0, self.1);
        self.0 = s0;
        s1 ^= s1 << 23;
        self.1 = s1 ^ s0 ^ (s1 >> 17) ^ (s0 >> 26);
        let v = self.1.wrapping_add(s0);
        ((v >> 32) as u32).to_le_bytes()
    }
}

/// One WebSocket connection's protocol state. Plain data, no allocation
/// (with permessage-deflate in force, plus zlib's state on the heap):
/// `size_of::<Connection>()` is all it costs.
#[derive(Debug)]
pub struct Connection {
    role: Role,
    config: Config,
    state: State,
    now: u64,
    deadline: Option<u64>,
    /// The engine wants the transport closed once its output is written.
    drop_transport: bool,
    /// Client: the key we sent, to check the accept value.
    key: Key,
    request_sent: bool,
    rng: MaskRng,

    /// A frame header split across reads.
    header: [u8; MAX_HEADER_LEN],
    header_len: u8,
    frame: Option<Incoming>,
    /// The data message in progress and its length so far.
    message: Option<DataKind>,
    message_len: u64,
    utf8: utf8::Validator,
    /// A control frame's payload, gathered across reads.
    control: ControlPayload,
    /// A complete ping waiting for the previous pong to be written.
    ping_held: bool,

    pong: Option<ControlPayload>,
    close_out: Option<CloseOut>,
    /// An outgoing fragmented message is in progress.
    sending: bool,
    peer_close: Option<CloseCode>,
    #[cfg(feature = "deflate")]
    inflate: Inflating,
}

/// permessage-deflate state of one connection.
#[cfg(feature = "deflate")]
#[derive(Debug, Default)]
struct Inflating {
    codec: Option<Codec>,
    /// The incoming message is compressed.
    active: bool,
    /// Its last frame is in; the 4-byte tail is being fed (section 7.2.2).
    finishing: bool,
    /// How much of the tail has been fed.
    tail: u8,
    /// Inflated bytes of the incoming message, for the size limit.
    len: u64,
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
            deadline: now.checked_add(config.handshake_timeout_ms),
            drop_transport: false,
            key: [0; 24],
            request_sent: false,
            rng: MaskRng::new(seed),
            header: [0; MAX_HEADER_LEN],
            header_len: 0,
            frame: None,
            message: None,
            message_len: 0,
            utf8: utf8::Validator::new(),
            control: ControlPayload::EMPTY,
            ping_held: false,
            pong: None,
            close_out: None,
            sending: false,
            peer_close: None,
            #[cfg(feature = "deflate")]
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
        let mut random = [0u8; 16];
        random.copy_from_slice(&entropy[..16]);
        conn.key = handshake::client_key(random);
        conn
    }

    /// This connection's role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The current state.
    pub fn state(&self) -> State {
        self.state
    }

    /// The configuration in force.
    pub fn config(&self) -> &Config {
        &self.config
    }

    // ----- opening handshake (section 4) -----

    /// Server: checks the upgrade request at the start of `input` and writes
    /// the 101 response or an HTTP error into `out` (at least 256 bytes plus
    /// the longest subprotocol name). `protocols` lists the subprotocols
    /// the server speaks, preferred first.
    pub fn accept<'a>(
        &mut self,
        input: &'a [u8],
        protocols: &[&str],
        out: &mut [u8],
    ) -> Result<Accept<'a>, Error> {
        if self.state != State::AwaitingRequest {
            return Err(Error::InvalidState);
        }
        match handshake::parse_request(input, protocols, self.config.max_handshake_len) {
            Ok(None) => Ok(Accept::Incomplete),
            Ok(Some(request)) => {
                let protocol = request.protocol.map(|i| protocols[i]);
                #[cfg(feature = "deflate")]
                let agreed = self
                    .config
                    .deflate
                    .and_then(|o| deflate::negotiate(request.extensions.iter(), &o));
                #[cfg(feature = "deflate")]
                let extensions = agreed.as_ref().map(|(_, value)| value.as_bytes());
                #[cfg(not(feature = "deflate"))]
                let extensions = None;
                let written = handshake::write_response(&request.key, protocol, extensions, out)
                    .map_err(|needed| Error::BufferTooSmall { needed })?;
                #[cfg(feature = "deflate")]
                if let Some((agreed, _)) = agreed {
                    self.inflate.codec = Some(Codec::new(agreed));
                }
                self.open();
                Ok(Accept::Accepted { request, written })
            }
            Err(error) => {
                let written = handshake::write_rejection(error, out).unwrap_or(0);
                self.state = State::Failed;
                self.drop_transport = true;
                self.deadline = None;
                Ok(Accept::Rejected { error, written })
            }
        }
    }

    /// Client: writes the upgrade request into `out`. `host` is the Host
    /// header (`name:port` when the port is not the scheme's default).
    pub fn write_request(
        &mut self,
        host: &str,
        path: &str,
        protocols: &[&str],
        out: &mut [u8],
    ) -> Result<usize, Error> {
        if self.state != State::AwaitingResponse || self.request_sent {
            return Err(Error::InvalidState);
        }
        #[cfg(feature = "deflate")]
        let offer = self.config.deflate.map(|o| deflate::offer(&o));
        #[cfg(feature = "deflate")]
        let extensions = offer.as_ref().map(|v| v.as_bytes());
        #[cfg(not(feature = "deflate"))]
        let extensions = None;
        let n = handshake::write_request(host, path, &self.key, protocols, extensions, out)
            .map_err(|needed| Error::BufferTooSmall { needed })?;
        self.request_sent = true;
        Ok(n)
    }

    /// Client: checks the server's response at the start of `input`.
    /// `Ok(None)`: incomplete. On success the connection is open, and bytes
    /// after `response.len` are already frames. `protocols` must be the
    /// list given to [`Connection::write_request`].
    pub fn read_response<'a>(
        &mut self,
        input: &'a [u8],
        protocols: &[&str],
    ) -> Result<Option<Response<'a>>, Error> {
        if self.state != State::AwaitingResponse || !self.request_sent {
            return Err(Error::InvalidState);
        }
        let max = self.config.max_handshake_len;
        #[cfg(feature = "deflate")]
        let offered = self.config.deflate.is_some();
        #[cfg(not(feature = "deflate"))]
        let offered = false;
        let parsed = handshake::parse_response(input, &self.key, protocols, offered, max);
        #[cfg(feature = "deflate")]
        let parsed = parsed.and_then(|r| match (r, self.config.deflate) {
            (Some(response), Some(options)) => {
                if let Some(value) = response.extensions {
                    let agreed = deflate::accept_response(value, &options)?;
                    self.inflate.codec = Some(Codec::new(agreed));
                }
                Ok(Some(response))
            }
            (r, _) => Ok(r),
        });
        match parsed {
            Ok(None) => Ok(None),
            Ok(Some(response)) => {
                self.open();
                Ok(Some(response))
            }
            Err(e) => {
                self.state = State::Failed;
                self.drop_transport = true;
                self.deadline = None;
                Err(Error::Handshake(e))
            }
        }
    }

    fn open(&mut self) {
        self.state = State::Open;
        self.deadline = None;
    }

    // ----- receiving (sections 5 and 6.2) -----

    /// Feeds bytes from the transport; see the module docs for the buffer
    /// contract. An `Err(Error::Protocol(_))` fails the connection: a close
    /// frame with the right code is queued for [`Connection::poll_output`]
    /// and later input is ignored.
    ///
    /// With permessage-deflate in force, compressed messages need somewhere
    /// to inflate to: use [`Connection::receive_with`]. This call then
    /// returns [`Error::BufferTooSmall`] and consumes nothing.
    pub fn receive<'a>(
        &mut self,
        input: &'a mut [u8],
    ) -> Result<(usize, Option<Event<'a>>), Error> {
        self.receive_with(input, &mut [])
    }

    /// [`Connection::receive`], with `scratch` for inflated data: chunks of
    /// compressed messages are slices of `scratch`, others of `input`. Any
    /// size of scratch works; larger means fewer, larger chunks.
    pub fn receive_with<'a>(
        &mut self,
        input: &'a mut [u8],
        scratch: &'a mut [u8],
    ) -> Result<(usize, Option<Event<'a>>), Error> {
        match self.state {
            State::Open | State::CloseSent => {}
            State::AwaitingRequest | State::AwaitingResponse => return Err(Error::InvalidState),
            // After a close frame or a failure nothing more is read
            // (section 5.5.1: no data after Close).
            _ => return Ok((input.len(), None)),
        }
        // Only compressed messages inflate into scratch; refuse before
        // touching any state, so that the same bytes can be given again.
        #[cfg(feature = "deflate")]
        if scratch.is_empty() && self.compression_active() {
            return Err(Error::BufferTooSmall { needed: 1 });
        }
        #[cfg(not(feature = "deflate"))]
        let _ = scratch;
        let mut pos = 0;
        loop {
            if self.ping_held {
                if self.pong.is_some() {
                    return Ok((pos, None));
                }
                self.ping_held = false;
                self.pong = Some(self.control);
                return Ok((pos, Some(Event::Ping(self.control))));
            }
            #[cfg(feature = "deflate")]
            if self.inflate.finishing {
                let kind = self.message.unwrap_or(DataKind::Binary);
                let (chunk, last) = self.inflate_tail(scratch)?;
                let scratch: &'a [u8] = scratch;
                return Ok((
                    pos,
                    Some(Event::Data {
                        kind,
                        chunk: &scratch[..chunk],
                        last,
                    }),
                ));
            }
            let frame = match self.frame {
                Some(f) => f,
                None => {
                    let (used, header) =
                        self.read_header(&input[pos..]).map_err(|v| self.fail(v))?;
                    pos += used;
                    match header {
                        None => return Ok((pos, None)),
                        Some(h) => self.start_frame(h).map_err(|v| self.fail(v))?,
                    }
                }
            };
            let available = (input.len() - pos) as u64;
            let n = frame.remaining.min(available) as usize;
            let start = pos;
            if let Some(key) = frame.mask {
                apply_mask(
                    &mut input[start..start + n],
                    key,
                    (frame.offset % 4) as usize,
                );
            }
            #[cfg(feature = "deflate")]
            let (n, inflated) = if self.inflate.active && !frame.opcode.is_control() {
                let (used, wrote) =
                    self.inflate_payload(&mut input[start..start + n], &frame, scratch)?;
                (used, Some(wrote))
            } else {
                (n, None)
            };
            pos += n;
            let remaining = frame.remaining - n as u64;
            self.frame = (remaining > 0).then_some(Incoming {
                remaining,
                offset: frame.offset + n as u64,
                ..frame
            });
            if frame.opcode.is_control() {
                let have = self.control.len as usize;
                self.control.bytes[have..have + n].copy_from_slice(&input[start..pos]);
                self.control.len += n as u8;
                if remaining > 0 {
                    return Ok((pos, None));
                }
                match self.end_control(frame.opcode).map_err(|v| self.fail(v))? {
                    Some(event) => return Ok((pos, Some(event))),
                    None => continue,
                }
            }
            let kind = self.message.unwrap_or(DataKind::Binary);
            #[cfg(feature = "deflate")]
            if let Some(wrote) = inflated {
                self.inflate.finishing = remaining == 0 && frame.fin;
                if wrote > 0 {
                    let scratch: &'a [u8] = scratch;
                    return Ok((
                        pos,
                        Some(Event::Data {
                            kind,
                            chunk: &scratch[..wrote],
                            last: false,
                        }),
                    ));
                }
                if n == 0 && !self.inflate.finishing {
                    return Ok((pos, None));
                }
                continue;
            }
            if kind == DataKind::Text && self.utf8.feed(&input[start..pos]).is_err() {
                return Err(self.fail(Violation::InvalidUtf8));
            }
            let last = remaining == 0 && frame.fin;
            if last {
                self.end_message(kind)?;
            }
            if n > 0 || last {
                let input: &'a [u8] = input;
                let chunk = &input[start..pos];
                return Ok((pos, Some(Event::Data { kind, chunk, last })));
            }
            if remaining > 0 {
                return Ok((pos, None));
            }
        }
    }

    /// A data message is complete: text must end on a character boundary.
    fn end_message(&mut self, kind: DataKind) -> Result<(), Error> {
        self.message = None;
        self.message_len = 0;
        if kind == DataKind::Text && self.utf8.finish().is_err() {
            return Err(self.fail(Violation::InvalidUtf8));
        }
        Ok(())
    }

    /// Inflates an unmasked piece of a compressed frame into `scratch`.
    /// What the inflater did not take is masked again, so that it can be
    /// presented again. Returns (payload bytes used, bytes inflated).
    #[cfg(feature = "deflate")]
    fn inflate_payload(
        &mut self,
        payload: &mut [u8],
        frame: &Incoming,
        scratch: &mut [u8],
    ) -> Result<(usize, usize), Error> {
        let Some(codec) = self.inflate.codec.as_mut() else {
            return Err(Error::InvalidState);
        };
        let result = if scratch.is_empty() && payload.is_empty() {
            Ok((0, 0))
        } else if scratch.is_empty() {
            Err(Error::BufferTooSmall { needed: 1 })
        } else {
            codec
                .decompress(payload, scratch)
                .map_err(|_| Error::Protocol(Violation::Compression))
        };
        let (used, wrote) = match result {
            Ok(r) => r,
            Err(e) => {
                if let Some(key) = frame.mask {
                    apply_mask(payload, key, (frame.offset % 4) as usize);
                }
                return match e {
                    Error::Protocol(v) => Err(self.fail(v)),
                    other => Err(other),
                };
            }
        };
        if let Some(key) = frame.mask {
            let offset = frame.offset + used as u64;
            apply_mask(&mut payload[used..], key, (offset % 4) as usize);
        }
        self.check_inflated(&scratch[..wrote])?;
        Ok((used, wrote))
    }

    /// Feeds the tail a compressed message implicitly ends with (RFC 7692
    /// section 7.2.2) and drains the inflater. Returns (bytes in scratch,
    /// message complete).
    #[cfg(feature = "deflate")]
    fn inflate_tail(&mut self, scratch: &mut [u8]) -> Result<(usize, bool), Error> {
        if scratch.is_empty() {
            return Err(Error::BufferTooSmall { needed: 1 });
        }
        let Some(codec) = self.inflate.codec.as_mut() else {
            return Err(Error::InvalidState);
        };
        let fed = self.inflate.tail as usize;
        let (used, wrote) = match codec.decompress(&deflate::TAIL[fed..], scratch) {
            Ok(r) => r,
            Err(_) => return Err(self.fail(Violation::Compression)),
        };
        self.inflate.tail += used as u8;
        let done = self.inflate.tail == 4 && wrote < scratch.len();
        self.check_inflated(&scratch[..wrote])?;
        if done {
            self.inflate.finishing = false;
            self.inflate.active = false;
            self.inflate.tail = 0;
            self.inflate.len = 0;
            self.end_message(self.message.unwrap_or(DataKind::Binary))?;
        } else if used == 0 && wrote == 0 {
            // Room to write and tail left, yet no progress: broken stream.
            return Err(self.fail(Violation::Compression));
        }
        Ok((wrote, done))
    }

    /// Rules for inflated data: UTF-8 for text, and the size limit counted
    /// as it inflates, so a small bomb cannot grow past it (RFC 7692
    /// section 8.1 leaves the limit to the implementation; 1009 here).
    #[cfg(feature = "deflate")]
    fn check_inflated(&mut self, chunk: &[u8]) -> Result<(), Error> {
        if self.message == Some(DataKind::Text) && self.utf8.feed(chunk).is_err() {
            return Err(self.fail(Violation::InvalidUtf8));
        }
        self.inflate.len += chunk.len() as u64;
        if self.inflate.len > self.config.max_message_size {
            return Err(self.fail(Violation::MessageTooBig));
        }
        Ok(())
    }

    /// Gathers a header, from `input` directly when it is all there, else
    /// through the 14-byte buffer. Returns the bytes used.
    fn read_header(&mut self, input: &[u8]) -> Result<(usize, Option<Header>), Violation> {
        if self.header_len == 0 {
            if let Decoded::Complete(h, n) = decode_header(input)? {
                return Ok((n, Some(h)));
            }
        }
        let mut used = 0;
        loop {
            let have = self.header_len as usize;
            let need = match decode_header(&self.header[..have])? {
                Decoded::Complete(h, _) => {
                    self.header_len = 0;
                    return Ok((used, Some(h)));
                }
                Decoded::Incomplete(need) => need,
            };
            let take = (need - have).min(input.len() - used);
            if take == 0 {
                return Ok((used, None));
            }
            self.header[have..have + take].copy_from_slice(&input[used..used + take]);
            self.header_len += take as u8;
            used += take;
        }
    }

    /// Applies the rules a frame header alone decides, given the state.
    fn start_frame(&mut self, h: Header) -> Result<Incoming, Violation> {
        // Section 5.2: RSV bits must be 0 unless an extension defines them.
        // permessage-deflate owns RSV1 on a message's first frame only
        // (RFC 7692 section 6): not on continuations or control frames.
        let compressed = self.compression_active()
            && h.rsv == 0b100
            && matches!(h.opcode, Opcode::Text | Opcode::Binary);
        if h.rsv != 0 && !compressed {
            return Err(Violation::ReservedBits);
        }
        // Section 5.1: clients mask, servers do not.
        match (self.role, h.mask.is_some()) {
            (Role::Server, false) => return Err(Violation::UnmaskedFrame),
            (Role::Client, true) => return Err(Violation::MaskedFrame),
            _ => {}
        }
        if h.opcode.is_control() {
            // Section 5.5: control frames are short and never fragmented.
            if !h.fin {
                return Err(Violation::FragmentedControl);
            }
            if h.len > MAX_CONTROL_PAYLOAD as u64 {
                return Err(Violation::ControlTooLong);
            }
            self.control.len = 0;
        } else {
            // Section 5.4: fragments of one message, not interleaved.
            match (h.opcode, self.message) {
                (Opcode::Continuation, None) => return Err(Violation::UnexpectedContinuation),
                (Opcode::Continuation, Some(_)) => {}
                (_, Some(_)) => return Err(Violation::ExpectedContinuation),
                (op, None) => {
                    self.message = Some(if op == Opcode::Text {
                        DataKind::Text
                    } else {
                        DataKind::Binary
                    });
                    #[cfg(feature = "deflate")]
                    {
                        self.inflate.active = compressed;
                    }
                }
            }
            // Section 7.4.1 (1009): refuse as soon as the length is known.
            let total = self.message_len.saturating_add(h.len);
            if total > self.config.max_message_size {
                return Err(Violation::MessageTooBig);
            }
            self.message_len = total;
        }
        let frame = Incoming {
            opcode: h.opcode,
            fin: h.fin,
            mask: h.mask,
            remaining: h.len,
            offset: 0,
        };
        self.frame = Some(frame);
        Ok(frame)
    }

    /// Acts on a complete control frame (sections 5.5.1 to 5.5.3).
    fn end_control(&mut self, opcode: Opcode) -> Result<Option<Event<'static>>, Violation> {
        let payload = self.control;
        match opcode {
            Opcode::Ping => {
                if self.state != State::Open {
                    // A pong after our close frame would be data after Close.
                    return Ok(Some(Event::Ping(payload)));
                }
                if self.pong.is_some() {
                    self.ping_held = true;
                    return Ok(None);
                }
                self.pong = Some(payload);
                Ok(Some(Event::Ping(payload)))
            }
            Opcode::Pong => Ok(Some(Event::Pong(payload))),
            _ => {
                let (code, reason) = close::parse_payload(payload.as_bytes())?;
                let reason = ControlPayload::new(reason).unwrap_or(ControlPayload::EMPTY);
                self.peer_close = Some(code);
                self.frame = None;
                if self.state == State::Open {
                    // Section 5.5.1: reply with a close frame, echoing the
                    // code; no code in, no code out.
                    let code = (code != CloseCode::NO_STATUS).then_some(code);
                    self.close_out = Some(CloseOut { code, reason: "" });
                    self.state = State::CloseReceived;
                } else {
                    self.closed();
                }
                Ok(Some(Event::Close { code, reason }))
            }
        }
    }

    /// Fails the connection (section 7.1.7): queue a close frame with the
    /// violation's code, stop reading, and ask for the transport to close.
    fn fail(&mut self, v: Violation) -> Error {
        if self.state == State::Open {
            self.close_out = Some(CloseOut {
                code: Some(v.close_code()),
                reason: v.reason(),
            });
        }
        self.state = State::Failed;
        self.drop_transport = true;
        self.deadline = None;
        Error::Protocol(v)
    }

    /// Both close frames are exchanged (section 7.1.1): the server closes
    /// the transport now; the client gives the server time to do it.
    fn closed(&mut self) {
        self.state = State::Closed;
        match self.role {
            Role::Server => {
                self.drop_transport = true;
                self.deadline = None;
            }
            Role::Client => self.deadline = self.now.checked_add(self.config.close_timeout_ms),
        }
    }

    // ----- output -----

    /// Whether the engine has replies waiting for [`Connection::poll_output`].
    pub fn has_output(&self) -> bool {
        self.pong.is_some() || self.close_out.is_some()
    }

    /// Writes the engine's queued replies (pong, then close) into `out` and
    /// returns the bytes written. Each frame is written whole or not at all;
    /// `out` of [`MAX_CONTROL_FRAME`](crate::MAX_CONTROL_FRAME) bytes or more always takes the next.
    pub fn poll_output(&mut self, out: &mut [u8]) -> usize {
        let mut n = 0;
        if let Some(pong) = self.pong {
            match self.write_frame(Opcode::Pong, true, pong.as_bytes(), &mut out[n..]) {
                Ok(k) => {
                    n += k;
                    self.pong = None;
                }
                Err(_) => return n,
            }
        }
        if let Some(c) = self.close_out {
            let mut body = [0u8; MAX_CONTROL_PAYLOAD];
            let len = close_body(c.code, c.reason.as_bytes(), &mut body);
            match self.write_frame(Opcode::Close, true, &body[..len], &mut out[n..]) {
                Ok(k) => {
                    n += k;
                    self.close_out = None;
                    if self.state == State::CloseReceived {
                        self.closed();
                    }
                }
                Err(_) => return n,
            }
        }
        n
    }

    /// Sends a message, or one fragment of it: `last == false` leaves the
    /// message open and later calls continue it (section 5.4). The frame is
    /// written whole into `out` or not at all. The engine does not check
    /// that text is UTF-8: a `&str` is, and a fragment may split a character.
    ///
    /// After the peer's close frame arrives, sending is still allowed until
    /// [`Connection::poll_output`] writes the close reply: section 5.5.1
    /// lets an endpoint finish what it is sending (an echo of the message
    /// that came just before the close, say) before it replies.
    pub fn send(
        &mut self,
        kind: DataKind,
        payload: &[u8],
        last: bool,
        out: &mut [u8],
    ) -> Result<usize, Error> {
        let reply_pending = self.state == State::CloseReceived && self.close_out.is_some();
        if self.state != State::Open && !reply_pending {
            return Err(Error::InvalidState);
        }
        let opcode = if self.sending {
            Opcode::Continuation
        } else {
            kind.opcode()
        };
        #[cfg(feature = "deflate")]
        if self.compression_active() {
            let n = self.write_compressed(opcode, last, payload, out)?;
            self.sending = !last;
            return Ok(n);
        }
        let n = self.write_frame(opcode, last, payload, out)?;
        self.sending = !last;
        Ok(n)
    }

    /// Whether permessage-deflate is in force on this connection.
    pub fn compression_active(&self) -> bool {
        #[cfg(feature = "deflate")]
        return self.inflate.codec.is_some();
        #[cfg(not(feature = "deflate"))]
        false
    }

    /// The output space [`Connection::send`] may need for a fragment of
    /// `payload_len` bytes: header, payload, and with compression in force
    /// the worst case of deflate.
    pub fn max_frame_len(&self, payload_len: usize) -> usize {
        #[cfg(feature = "deflate")]
        if self.compression_active() {
            return MAX_HEADER_LEN.saturating_add(Codec::bound(payload_len));
        }
        header_len(payload_len as u64, self.role == Role::Client).saturating_add(payload_len)
    }

    /// Compresses a fragment into a frame (RFC 7692 section 7.2.1): RSV1 on
    /// the message's first frame only. The payload is compressed behind
    /// room for the longest header, then moved up to its real header.
    #[cfg(feature = "deflate")]
    fn write_compressed(
        &mut self,
        opcode: Opcode,
        fin: bool,
        payload: &[u8],
        out: &mut [u8],
    ) -> Result<usize, Error> {
        let needed = self.max_frame_len(payload.len());
        if out.len() < needed {
            return Err(Error::BufferTooSmall { needed });
        }
        let Some(codec) = self.inflate.codec.as_mut() else {
            return Err(Error::InvalidState);
        };
        let len = codec
            .compress(payload, fin, &mut out[MAX_HEADER_LEN..needed])
            .map_err(|_| Error::BufferTooSmall { needed })?;
        let mask = (self.role == Role::Client).then(|| self.rng.next());
        let head = header_len(len as u64, mask.is_some());
        out.copy_within(MAX_HEADER_LEN..MAX_HEADER_LEN + len, head);
        let header = Header {
            fin,
            rsv: if opcode == Opcode::Continuation {
                0
            } else {
                0b100
            },
            opcode,
            mask,
            len: len as u64,
        };
        encode_header(&header, out).ok_or(Error::BufferTooSmall { needed })?;
        if let Some(key) = mask {
            apply_mask(&mut out[head..head + len], key, 0);
        }
        Ok(head + len)
    }

    /// Sends a ping (at most 125 bytes of payload).
    pub fn ping(&mut self, payload: &[u8], out: &mut [u8]) -> Result<usize, Error> {
        self.send_control(Opcode::Ping, payload, out)
    }

    /// Sends an unsolicited pong, e.g. as a heartbeat (section 5.5.3).
    pub fn pong(&mut self, payload: &[u8], out: &mut [u8]) -> Result<usize, Error> {
        self.send_control(Opcode::Pong, payload, out)
    }

    fn send_control(
        &mut self,
        opcode: Opcode,
        payload: &[u8],
        out: &mut [u8],
    ) -> Result<usize, Error> {
        if self.state != State::Open {
            return Err(Error::InvalidState);
        }
        if payload.len() > MAX_CONTROL_PAYLOAD {
            return Err(Error::ControlTooLong);
        }
        self.write_frame(opcode, true, payload, out)
    }

    /// Starts the closing handshake (section 7.1.2) with a code valid on the
    /// wire and a reason of at most 123 bytes. The connection then waits for
    /// the peer's close frame, up to the close timeout.
    pub fn close(&mut self, code: CloseCode, reason: &str, out: &mut [u8]) -> Result<usize, Error> {
        if self.state != State::Open {
            return Err(Error::InvalidState);
        }
        if !code.is_valid_on_wire() {
            return Err(Error::InvalidCloseCode);
        }
        if reason.len() > MAX_REASON {
            return Err(Error::ControlTooLong);
        }
        let mut body = [0u8; MAX_CONTROL_PAYLOAD];
        let len = close_body(Some(code), reason.as_bytes(), &mut body);
        let n = self.write_frame(Opcode::Close, true, &body[..len], out)?;
        self.state = State::CloseSent;
        self.deadline = self.now.checked_add(self.config.close_timeout_ms);
        Ok(n)
    }

    /// Writes one frame; clients mask with a fresh key (section 5.3).
    fn write_frame(
        &mut self,
        opcode: Opcode,
        fin: bool,
        payload: &[u8],
        out: &mut [u8],
    ) -> Result<usize, Error> {
        let mask = (self.role == Role::Client).then(|| self.rng.next());
        let len = payload.len() as u64;
        let head = header_len(len, mask.is_some());
        let needed = head + payload.len();
        if out.len() < needed {
            return Err(Error::BufferTooSmall { needed });
        }
        let header = Header {
            fin,
            rsv: 0,
            opcode,
            mask,
            len,
        };
        encode_header(&header, out).ok_or(Error::BufferTooSmall { needed })?;
        out[head..needed].copy_from_slice(payload);
        if let Some(key) = mask {
            apply_mask(&mut out[head..needed], key, 0);
        }
        Ok(needed)
    }

    // ----- transport and time -----

    /// What to do with the transport now.
    pub fn transport(&self) -> Transport {
        if self.drop_transport && !self.has_output() {
            Transport::Close
        } else {
            Transport::Open
        }
    }

    /// Tells the engine the transport has closed (end of stream or error),
    /// and learns how the connection ended. Later calls change nothing.
    pub fn transport_closed(&mut self) -> Closure {
        let clean = self.state == State::Closed;
        let code = match (clean, self.peer_close) {
            (true, Some(code)) => code,
            _ => CloseCode::ABNORMAL,
        };
        if !clean {
            self.state = State::Failed;
        }
        self.drop_transport = true;
        self.deadline = None;
        self.pong = None;
        self.close_out = None;
        Closure { clean, code }
    }

    /// The time at which [`Connection::tick`] must next be called, if any.
    pub fn deadline(&self) -> Option<u64> {
        self.deadline
    }

    /// Advances the engine's clock. When a deadline has passed (opening
    /// handshake, closing handshake, the server closing TCP), the connection
    /// gives up and [`Connection::transport`] says to close.
    pub fn tick(&mut self, now: u64) {
        self.now = self.now.max(now);
        match self.deadline {
            Some(d) if self.now >= d => {
                self.deadline = None;
                self.drop_transport = true;
                if self.state != State::Closed {
                    self.state = State::Failed;
                }
            }
            _ => {}
        }
    }
}

/// Lays out a close frame's payload: code then reason (section 5.5.1).
fn close_body(
    code: Option<CloseCode>,
    reason: &[u8],
    body: &mut [u8; MAX_CONTROL_PAYLOAD],
) -> usize {
    match code {
        None => 0,
        Some(code) => {
            body[..2].copy_from_slice(&code.0.to_be_bytes());
            let r = reason.len().min(MAX_REASON);
            body[2..2 + r].copy_from_slice(&reason[..r]);
            2 + r
        }
    }
}

#[cfg(test)]
mod tests;
