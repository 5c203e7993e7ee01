//! One connection as a JavaScript host needs it: the engine plus growable
//! input and output buffers and message reassembly, in plain Rust so that it
//! is tested natively; the `js` module only translates to JS values.
//!
//! The engine works in caller buffers and streams; here the buffers are
//! `Vec`s owned by the session, so a host can hand over whatever the socket
//! gave it and later take everything there is to write in one piece.

#[cfg(feature = "deflate")]
use websock_core::deflate;
use websock_core::handshake::Request;
use websock_core::{
    Accept, Closure, Config, Connection, DataKind, Error, Event, State, Transport,
    MAX_CONTROL_FRAME,
};

use crate::message::Reassembly;
use crate::output::{Output, RETAINED};

/// Room for a 101 response or an HTTP error, before the subprotocol name
/// (the engine asks for 256 plus the longest name).
const HANDSHAKE_ROOM: usize = 512;

/// Where compressed messages inflate, a chunk at a time, on their way into
/// reassembly. Larger means fewer engine calls per message; only sessions
/// with compression in force allocate it.
#[cfg(feature = "deflate")]
const SCRATCH: usize = 32 << 10;

/// How a session is set up.
#[derive(Clone, Debug, Default)]
pub struct Settings {
    /// The engine's limits and timeouts, and (with the `deflate` feature)
    /// `config.deflate`: the permessage-deflate (RFC 7692) offer a client
    /// makes, or the limits within which a server accepts one. Messages
    /// come out of the engine already inflated, so nothing else changes.
    pub config: Config,
    /// Subprotocols: those the server speaks, or those the client offers,
    /// preferred first.
    pub protocols: Vec<String>,
}

/// Whether `name` may be a subprotocol: an HTTP token (RFC 7230 section
/// 3.2.6), so that it cannot break the header it is written into.
pub fn valid_protocol_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// What the peer sent, as the host sees it: whole messages.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Received<'a> {
    /// A whole text message. The engine has checked that it is UTF-8.
    Text(&'a [u8]),
    /// A whole binary message.
    Binary(&'a [u8]),
    /// A ping; the pong is already in the output.
    Ping(&'a [u8]),
    /// A pong.
    Pong(&'a [u8]),
    /// The peer's close frame (1005 when it had no code); the reply, if one
    /// is due, is already in the output.
    Close {
        /// The peer's close code.
        code: u16,
        /// The peer's reason.
        reason: &'a str,
    },
    /// The peer broke the protocol: the failing close frame is in the
    /// output, later input is ignored, and the transport should close.
    Failed(Error),
}

/// A client's accepted upgrade request, owned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Accepted {
    /// The request target.
    pub path: String,
    /// The Host header.
    pub host: String,
    /// The Origin header, if any.
    pub origin: Option<String>,
    /// The subprotocol chosen, from the server's list.
    pub protocol: Option<String>,
    /// The Sec-WebSocket-Extensions value of the 101 response, when an
    /// extension (permessage-deflate) was agreed.
    pub extensions: Option<String>,
}

/// A server's accepted 101 response, owned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Opened {
    /// The subprotocol the server chose, from the client's offer.
    pub protocol: Option<String>,
    /// The server's Sec-WebSocket-Extensions value, when it accepted our
    /// permessage-deflate offer.
    pub extensions: Option<String>,
}

/// One WebSocket connection with its buffers.
#[derive(Debug)]
pub struct Session {
    conn: Connection,
    protocols: Vec<String>,
    /// Received bytes; those from `consumed` on are not processed yet.
    input: Vec<u8>,
    consumed: usize,
    /// Bytes for the transport, until the host takes them.
    output: Output,
    message: Reassembly,
    /// The extensions agreed in the opening handshake, as on the wire.
    extensions: Option<String>,
    /// Inflated data, once compression is in force (always empty without
    /// the `deflate` feature).
    scratch: Vec<u8>,
}

impl Session {
    fn new(conn: Connection, settings: Settings) -> Self {
        Session {
            conn,
            protocols: settings.protocols,
            input: Vec::new(),
            consumed: 0,
            output: Output::new(),
            message: Reassembly::new(),
            extensions: None,
            scratch: Vec::new(),
        }
    }

    /// A server session waiting for the upgrade request; `now` (ms) starts
    /// the handshake timeout.
    pub fn server(settings: Settings, now: u64) -> Self {
        Session::new(Connection::server(settings.config, now), settings)
    }

    /// A client session; `entropy` must be fresh random bytes (key and
    /// masking seed).
    pub fn client(settings: Settings, now: u64, entropy: [u8; 32]) -> Self {
        Session::new(Connection::client(settings.config, now, entropy), settings)
    }

    /// The engine's state.
    pub fn state(&self) -> State {
        self.conn.state()
    }

    /// Whether permessage-deflate is in force.
    pub fn compression_active(&self) -> bool {
        self.conn.compression_active()
    }

    /// The extensions agreed in the opening handshake (the
    /// Sec-WebSocket-Extensions value of the 101), if any.
    pub fn extensions(&self) -> Option<&str> {
        self.extensions.as_deref()
    }

    /// Server: feeds bytes of the upgrade request. `Ok(None)` until it is
    /// complete; then the 101 is in the output and bytes after the request
    /// wait for [`Session::receive`]. A bad request is an
    /// `Error::Handshake` with the HTTP error already in the output.
    pub fn accept(&mut self, bytes: &[u8]) -> Result<Option<Accepted>, Error> {
        if self.conn.state() != State::AwaitingRequest {
            return Err(Error::InvalidState);
        }
        self.input.extend_from_slice(bytes);
        let names = self
            .protocols
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>();
        let room = HANDSHAKE_ROOM + names.iter().map(|p| p.len()).max().unwrap_or(0);
        let result = self
            .conn
            .accept(&self.input, &names, self.output.room(room));
        let (written, outcome) = match result {
            Ok(Accept::Incomplete) => (0, Ok(None)),
            Ok(Accept::Accepted { request, written }) => {
                let accepted = Accepted {
                    extensions: agreed_extensions(&self.conn, &request),
                    path: String::from_utf8_lossy(request.path).into_owned(),
                    host: String::from_utf8_lossy(request.host).into_owned(),
                    origin: request
                        .origin
                        .map(|o| String::from_utf8_lossy(o).into_owned()),
                    protocol: pick(&names, request.protocol),
                };
                (written, Ok(Some((accepted, request.len))))
            }
            Ok(Accept::Rejected { error, written }) => (written, Err(Error::Handshake(error))),
            Err(e) => (0, Err(e)),
        };
        self.output.commit(written);
        match outcome {
            Ok(Some((accepted, len))) => {
                self.input.drain(..len);
                self.extensions.clone_from(&accepted.extensions);
                Ok(Some(accepted))
            }
            Ok(None) => Ok(None),
            Err(e) => {
                self.input = Vec::new();
                Err(e)
            }
        }
    }

    /// Client: writes the upgrade request for `host` (with `:port` unless
    /// it is the scheme's default) and `path` into the output.
    pub fn write_request(&mut self, host: &str, path: &str) -> Result<(), Error> {
        let names = self
            .protocols
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>();
        let room = HANDSHAKE_ROOM
            + host.len()
            + path.len()
            + names.iter().map(|p| p.len() + 2).sum::<usize>();
        let result = self
            .conn
            .write_request(host, path, &names, self.output.room(room));
        self.output.commit(result.as_ref().copied().unwrap_or(0));
        result.map(drop)
    }

    /// Client: feeds bytes of the server's response. `Ok(None)` until it is
    /// complete; bytes after the 101 wait for [`Session::receive`]. A
    /// refusal (another status, a wrong accept key, ...) is an
    /// `Error::Handshake`, and the transport should close.
    pub fn read_response(&mut self, bytes: &[u8]) -> Result<Option<Opened>, Error> {
        if self.conn.state() != State::AwaitingResponse {
            return Err(Error::InvalidState);
        }
        self.input.extend_from_slice(bytes);
        let names = self
            .protocols
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>();
        match self.conn.read_response(&self.input, &names) {
            Ok(None) => Ok(None),
            Ok(Some(response)) => {
                // The engine fails the handshake on extensions it did not
                // offer or cannot honour, so any left are in force.
                let extensions = response
                    .extensions
                    .filter(|_| self.conn.compression_active())
                    .map(|v| String::from_utf8_lossy(v).into_owned());
                let opened = Opened {
                    protocol: pick(&names, response.protocol),
                    extensions,
                };
                let len = response.len;
                self.input.drain(..len);
                self.extensions.clone_from(&opened.extensions);
                Ok(Some(opened))
            }
            Err(e) => {
                self.input = Vec::new();
                Err(e)
            }
        }
    }

    /// Feeds bytes from the transport (empty to go on with bytes already
    /// buffered) and hands what they carry to `sink`, in order: control
    /// frames, failures, and at most one whole data message (compressed
    /// ones already inflated), after which it stops. Stopping there lets
    /// the host answer a message before the engine reads on: a broken
    /// frame right behind it would fail the connection, and a close frame
    /// would have its reply written, either of which ends the right to
    /// send. Call again with no bytes until nothing comes; see
    /// [`Session::has_buffered_input`]. The engine's replies (pong, close
    /// reply, failing close) are in the output when this returns. The only
    /// error is `InvalidState` before the handshake completes.
    pub fn receive(&mut self, bytes: Vec<u8>, sink: impl FnMut(Received<'_>)) -> Result<(), Error> {
        self.check_open_for_data()?;
        if self.consumed == self.input.len() {
            // The common case: nothing left over, so take the bytes as they
            // are instead of copying them.
            self.input = bytes;
            self.consumed = 0;
        } else if !bytes.is_empty() {
            self.input.drain(..self.consumed);
            self.consumed = 0;
            self.input.extend_from_slice(&bytes);
        }
        self.pump_buffered(sink);
        Ok(())
    }

    /// [`Session::receive`] for bytes in a buffer the host reuses (a
    /// staging area in the module's memory): when nothing is left over from
    /// earlier reads they are processed where they are, and only what the
    /// engine did not consume is copied into the session. Same events, same
    /// stopping rule, same error.
    pub fn receive_in_place(
        &mut self,
        bytes: &mut [u8],
        sink: impl FnMut(Received<'_>),
    ) -> Result<(), Error> {
        self.check_open_for_data()?;
        if self.consumed < self.input.len() || bytes.is_empty() {
            if !bytes.is_empty() {
                self.input.drain(..self.consumed);
                self.consumed = 0;
                self.input.extend_from_slice(bytes);
            }
            self.pump_buffered(sink);
            return Ok(());
        }
        self.prepare_scratch();
        let used = pump(
            &mut self.conn,
            bytes,
            &mut self.output,
            &mut self.message,
            &mut self.scratch,
            sink,
        );
        if self.input.capacity() > RETAINED {
            self.input = Vec::new();
        }
        self.input.clear();
        self.input.extend_from_slice(&bytes[used..]);
        self.consumed = 0;
        Ok(())
    }

    /// The one error `receive` has: no data phase before the handshake.
    fn check_open_for_data(&self) -> Result<(), Error> {
        if matches!(
            self.conn.state(),
            State::AwaitingRequest | State::AwaitingResponse
        ) {
            return Err(Error::InvalidState);
        }
        Ok(())
    }

    /// Allocates the inflate scratch once compression is in force.
    fn prepare_scratch(&mut self) {
        #[cfg(feature = "deflate")]
        if self.conn.compression_active() && self.scratch.is_empty() {
            self.scratch = vec![0; SCRATCH];
        }
    }

    /// Processes the session's own unconsumed input.
    fn pump_buffered(&mut self, sink: impl FnMut(Received<'_>)) {
        self.prepare_scratch();
        let input = &mut self.input[self.consumed..];
        let used = pump(
            &mut self.conn,
            input,
            &mut self.output,
            &mut self.message,
            &mut self.scratch,
            sink,
        );
        self.consumed += used;
    }

    /// Whether received bytes wait for another [`Session::receive`] call
    /// (which may still find only part of a frame in them).
    pub fn has_buffered_input(&self) -> bool {
        self.consumed < self.input.len()
    }

    /// Writes one frame through `write`, given `room` bytes at the end of
    /// the output; nothing is left behind when it fails.
    fn write(
        &mut self,
        room: usize,
        write: impl FnOnce(&mut Connection, &mut [u8]) -> Result<usize, Error>,
    ) -> Result<(), Error> {
        flush_replies(&mut self.conn, &mut self.output);
        let result = write(&mut self.conn, self.output.room(room));
        self.output.commit(result.as_ref().copied().unwrap_or(0));
        result.map(drop)
    }

    /// Sends a message, or a fragment of one when `last` is false (later
    /// calls continue it, whatever their `kind`).
    pub fn send(&mut self, kind: DataKind, payload: &[u8], last: bool) -> Result<(), Error> {
        let room = self.conn.max_frame_len(payload.len());
        self.write(room, |c, out| c.send(kind, payload, last, out))
    }

    /// Sends a ping of at most 125 bytes.
    pub fn ping(&mut self, payload: &[u8]) -> Result<(), Error> {
        self.write(MAX_CONTROL_FRAME, |c, out| c.ping(payload, out))
    }

    /// Sends an unsolicited pong of at most 125 bytes.
    pub fn pong(&mut self, payload: &[u8]) -> Result<(), Error> {
        self.write(MAX_CONTROL_FRAME, |c, out| c.pong(payload, out))
    }

    /// Starts the closing handshake.
    pub fn close(&mut self, code: u16, reason: &str) -> Result<(), Error> {
        self.write(MAX_CONTROL_FRAME, |c, out| {
            c.close(websock_core::CloseCode(code), reason, out)
        })
    }

    /// Bytes waiting to be written to the transport.
    pub fn output(&self) -> &[u8] {
        self.output.as_slice()
    }

    /// Moves the output into `taken`, whose earlier bytes are dropped, and
    /// gives its allocation to the session to fill next: a host that copies
    /// the bytes out at once writes with no allocation per message.
    pub fn swap_output(&mut self, taken: &mut Output) {
        taken.clear();
        core::mem::swap(&mut self.output, taken);
    }

    /// Forgets the output, once the host has taken a copy.
    pub fn clear_output(&mut self) {
        self.output.clear();
    }

    /// Whether the host should close the transport once it has written the
    /// output: after the closing handshake (server), a failure, a refused
    /// handshake, or a timeout.
    pub fn should_close(&self) -> bool {
        self.conn.transport() == Transport::Close
    }

    /// Tells the session the transport has closed, and how it ended.
    pub fn transport_closed(&mut self) -> Closure {
        self.input = Vec::new();
        self.consumed = 0;
        self.message = Reassembly::new();
        self.conn.transport_closed()
    }

    /// When [`Session::tick`] must next be called (ms), if ever.
    pub fn deadline(&self) -> Option<u64> {
        self.conn.deadline()
    }

    /// Advances the clock; a passed deadline makes [`Session::should_close`]
    /// true.
    pub fn tick(&mut self, now: u64) {
        self.conn.tick(now);
    }
}

/// Passes one engine event on, reassembling data into whole messages.
fn deliver(event: Event<'_>, message: &mut Reassembly, sink: &mut impl FnMut(Received<'_>)) {
    match event {
        Event::Data { kind, chunk, last } => message.push(kind, chunk, last, |kind, bytes| {
            sink(match kind {
                DataKind::Text => Received::Text(bytes),
                DataKind::Binary => Received::Binary(bytes),
            })
        }),
        Event::Ping(p) => sink(Received::Ping(p)),
        Event::Pong(p) => sink(Received::Pong(p)),
        Event::Close { code, reason } => sink(Received::Close {
            code: code.0,
            // The engine has checked the reason is UTF-8.
            reason: core::str::from_utf8(reason).unwrap_or_default(),
        }),
    }
}

/// The name at the engine's index into our subprotocol list.
fn pick(names: &[&str], index: Option<usize>) -> Option<String> {
    index.and_then(|i| names.get(i)).map(|p| (*p).to_owned())
}

/// The Sec-WebSocket-Extensions value a server's 101 carries. The engine
/// writes it into the response without handing it out, so it is worked
/// out again here, by the same pure function from the same inputs.
#[cfg(feature = "deflate")]
fn agreed_extensions(conn: &Connection, request: &Request<'_>) -> Option<String> {
    if !conn.compression_active() {
        return None;
    }
    let options = conn.config().deflate?;
    deflate::negotiate(request.extensions.iter(), &options)
        .map(|(_, value)| String::from_utf8_lossy(value.as_bytes()).into_owned())
}

/// Without the `deflate` feature no extension is ever agreed.
#[cfg(not(feature = "deflate"))]
fn agreed_extensions(_: &Connection, _: &Request<'_>) -> Option<String> {
    None
}

/// Runs the engine over `input` until it has delivered one whole data
/// message or can make no more progress (see [`Session::receive`]), and
/// returns how many bytes it consumed.
fn pump(
    conn: &mut Connection,
    input: &mut [u8],
    output: &mut Output,
    message: &mut Reassembly,
    #[cfg_attr(not(feature = "deflate"), allow(unused_variables))] scratch: &mut [u8],
    mut sink: impl FnMut(Received<'_>),
) -> usize {
    let mut pos = 0;
    let mut whole_message = false;
    loop {
        // Compressed messages inflate into scratch, the rest are read
        // in place; without compression in force scratch stays empty. A
        // ping's pong is written straight into the output's room (not
        // zeroed first: see `Output`).
        #[cfg(feature = "deflate")]
        let result = conn.receive_with(&mut input[pos..], scratch, output.room(MAX_CONTROL_FRAME));
        #[cfg(not(feature = "deflate"))]
        let result = conn.receive(&mut input[pos..], output.room(MAX_CONTROL_FRAME));
        let progressed = match result {
            Ok(websock_core::Received {
                consumed: used,
                written,
                event,
            }) => {
                output.commit(written);
                pos += used;
                let got = event.is_some();
                if let Some(event) = event {
                    deliver(event, message, &mut |r| {
                        whole_message |= matches!(r, Received::Text(_) | Received::Binary(_));
                        sink(r)
                    });
                }
                used > 0 || got
            }
            Err(e) => {
                // The engine has failed the connection and ignores
                // whatever follows. (Its other errors cannot happen
                // here: scratch is never empty when it is needed.)
                pos = input.len();
                sink(Received::Failed(e));
                false
            }
        };
        // After every call, as the engine asks.
        flush_replies(conn, output);
        if whole_message || !progressed {
            break;
        }
    }
    pos
}

/// Moves the engine's close frame, if it owes one, into the output.
fn flush_replies(conn: &mut Connection, output: &mut Output) {
    if !conn.has_output() {
        return;
    }
    let n = conn.poll_output(output.room(MAX_CONTROL_FRAME));
    output.commit(n);
}

#[cfg(test)]
mod tests;
