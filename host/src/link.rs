//! One WebSocket connection's protocol and policy, with no I/O: the part
//! every I/O backend shares (today the epoll one in [`crate::reactor`]).
//!
//! A [`Link`] takes what the transport read ([`Link::received`]), feeds the
//! engine, hands every event to a [`Handler`], and queues what the handler
//! and the engine write in an [`OutBuf`] for the backend to write
//! ([`Link::output`], [`Link::written`]). It decides what the backend does
//! next ([`Link::step`]): read, wait for the queue to drain (backpressure:
//! no reading while too many bytes wait to be written, see
//! [`DEFAULT_HIGH_WATER`]), or close the way the engine asks: flush, shut
//! down the write side, then read and discard until the peer closes too or
//! [`LINGER_MS`] passes, so that our last frame is never lost to a reset.
//! Timeouts come in as "now" ([`Link::tick`], [`Link::deadline`]).
//!
//! Policy lives here too, so that every backend enforces the same: output
//! that makes no progress for [`Link::with_write_timeout`] drops the
//! connection (a peer that stopped reading cannot hold memory for ever);
//! a connection silent for half of [`Link::with_idle_timeout`] is pinged
//! and one silent for all of it is closed (a half-open connection does not
//! live for ever); and [`Link::go_away`] closes with 1001 once the message
//! in progress each way is complete, so that a shutdown cuts no message.
//!
//! The read buffer is lent by the backend (one per event loop, so idle
//! connections hold none), and so may the output buffer be
//! ([`Link::borrow_spare`]). A large payload echoed from the read buffer
//! can be queued by reference instead of copied
//! ([`Link::received_borrowing`]): the backend writes frame header and
//! payload in one vectored write.

use std::cell::Cell;
use std::io;

use websock_core::frame::{apply_mask, taken_whole, MAX_CONTROL_FRAME, MAX_HEADER_LEN};
use websock_core::{
    Accept, CloseCode, Closure, Config, Connection, DataKind, Error, Event, HandshakeError,
    Received, Role, State, Transport as Wanted, Violation,
};

use crate::outbuf::{OutBuf, MAX_PARTS};

/// Bytes read per call: large reads mean few syscalls for big messages,
/// and a 64 KiB message arrives whole with its header (14 bytes at most),
/// so that it is echoed in one frame straight from the read buffer.
pub const READ_SIZE: usize = 68 * 1024;
/// Payloads at least this long go out from the read buffer by reference
/// (header and payload in one vectored write, no copy); shorter ones cost
/// less to copy than to describe.
pub const BORROW_MIN: usize = 4096;
/// Room in front of a payload gathered for [`Tx::send_gathered`]: the
/// longest frame header.
pub const GATHER_ROOM: usize = MAX_HEADER_LEN;
/// By default, stop reading while this much output is queued, and resume
/// once it drains. Each read adds at most about [`READ_SIZE`] of output (an
/// echo is never longer than what it echoes), so the queue stays under
/// this plus one read.
///
/// Why so much: some peers write a whole message before they read anything
/// (Autobahn's runner kosoku does, up to 16 MiB). A streaming echo of such a
/// message cannot drain until the peer has finished writing, so stopping
/// earlier deadlocks both sides; the kernel's socket buffers hold a few MiB
/// of it, the rest waits here. A peer that reads as it writes never gets
/// near this, and the memory is released once drained (see [`RETAIN`]).
pub const DEFAULT_HIGH_WATER: usize = 16 << 20;
/// An output queue that grew past this is freed once it drains, so only a
/// connection with a backlog right now holds a large buffer.
const RETAIN: usize = 256 * 1024;
/// An output buffer left from a burst is freed after this long with
/// nothing written, so that idle connections hold none (a busy one keeps
/// its buffer: no allocation per message).
pub const TRIM_MS: u64 = 1_000;
/// How long to wait for the peer's end of stream after shutting down ours.
pub const LINGER_MS: u64 = 2_000;
/// Room an HTTP handshake message needs in the output (the engine asks for
/// 320 bytes plus the subprotocol, added where there is one).
const HANDSHAKE_ROOM: usize = 512;
/// By default, drop a connection whose output has waited this long with
/// not one byte written (nginx's `send_timeout` has the same meaning).
pub const DEFAULT_WRITE_TIMEOUT_MS: u64 = 30_000;
/// Where a compressed message inflates to, allocated only on connections
/// that negotiated permessage-deflate. An echo sends each inflated chunk
/// back as one fragment, so larger chunks compress better on the way out.
const INFLATE_SIZE: usize = 32 * 1024;

/// Where a client's upgrade request goes, and what it adds.
#[derive(Clone, Copy, Debug)]
pub struct Target<'a> {
    /// The Host header.
    pub host: &'a str,
    /// The request target, e.g. `/chat?room=1`.
    pub resource: &'a str,
    /// Extra header lines, each ending in CRLF (may be empty).
    pub headers: &'a str,
}

/// What an application does with a connection's events.
pub trait Handler {
    /// The opening handshake completed.
    fn opened(&mut self, _tx: &mut Tx<'_>) {}
    /// Something arrived; `tx` sends on the same connection.
    fn event(&mut self, event: Event<'_>, tx: &mut Tx<'_>);
}

/// Sends on a connection, from inside a [`Handler`] or from its owner.
pub struct Tx<'a> {
    engine: &'a mut Connection,
    out: &'a mut OutBuf,
    /// A fragmented message is going out (so a shutdown waits for its end).
    sending: &'a mut bool,
    /// The read buffer payloads may be queued by reference from, as its
    /// address and length (see [`Link::received_borrowing`]).
    window: Option<(usize, usize)>,
}

impl Tx<'_> {
    /// Queues a message or a fragment of one (`last == false`).
    pub fn send(&mut self, kind: DataKind, payload: &[u8], last: bool) -> Result<(), Error> {
        if let Some((start, end)) = self.borrowable(payload) {
            let room = self.out.spare(MAX_HEADER_LEN);
            let (n, _) = self.engine.send_header(kind, payload.len(), last, room)?;
            self.out.commit(n);
            self.out.push_ref(start, end);
            *self.sending = !last;
            return Ok(());
        }
        // With permessage-deflate in force a frame may be a little longer
        // than its payload; the engine knows by how much.
        let room = self.out.spare(self.engine.max_frame_len(payload.len()));
        let n = self.engine.send(kind, payload, last, room)?;
        self.out.commit(n);
        *self.sending = !last;
        Ok(())
    }

    /// Queues a message or a fragment of one whose payload the caller
    /// gathered in `buf` after [`GATHER_ROOM`] bytes of room (their
    /// contents do not matter). When no output is queued and the payload
    /// goes out as it is (no permessage-deflate), the frame header is
    /// written into that room and `buf` becomes the output queue's memory:
    /// the payload is not copied a second time, and `buf` gets the queue's
    /// old memory (room, not data). Otherwise like [`Tx::send`] with the
    /// payload.
    pub fn send_gathered(
        &mut self,
        kind: DataKind,
        buf: &mut Vec<u8>,
        last: bool,
    ) -> Result<(), Error> {
        let Some(payload_len) = buf.len().checked_sub(GATHER_ROOM) else {
            return Err(Error::BufferTooSmall {
                needed: GATHER_ROOM,
            });
        };
        if !self.out.is_empty() || self.engine.compression_active() {
            return self.send(kind, &buf[GATHER_ROOM..], last);
        }
        let mut head = [0u8; MAX_HEADER_LEN];
        let (n, key) = self
            .engine
            .send_header(kind, payload_len, last, &mut head)?;
        let start = GATHER_ROOM - n;
        buf[start..GATHER_ROOM].copy_from_slice(&head[..n]);
        if let Some(key) = key {
            // A client masks what it sends (section 5.3); the buffer is
            // the caller's to change.
            apply_mask(&mut buf[GATHER_ROOM..], key, 0);
        }
        let adopted = self.out.adopt(buf, start);
        debug_assert!(adopted, "the queue was empty");
        *self.sending = !last;
        Ok(())
    }

    /// Where `payload` lies in the read buffer, when it may go out from
    /// there: large, uncompressed, and from a server (a client would have
    /// to mask it in place, section 5.3, and the handler's view is shared).
    fn borrowable(&self, payload: &[u8]) -> Option<(usize, usize)> {
        if payload.len() < BORROW_MIN {
            return None;
        }
        let (base, len) = self.window?;
        if self.engine.role() != Role::Server || self.engine.compression_active() {
            return None;
        }
        let start = (payload.as_ptr() as usize).checked_sub(base)?;
        let end = start + payload.len();
        (end <= len && self.out.can_push_ref(end)).then_some((start, end))
    }

    /// Sends a ping (section 5.5.2); `payload` is at most 125 bytes.
    pub fn ping(&mut self, payload: &[u8]) -> Result<(), Error> {
        let room = self.out.spare(MAX_CONTROL_FRAME);
        let n = self.engine.ping(payload, room)?;
        self.out.commit(n);
        Ok(())
    }

    /// Starts the closing handshake.
    pub fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), Error> {
        let room = self.out.spare(MAX_CONTROL_FRAME);
        let n = self.engine.close(code, reason, room)?;
        self.out.commit(n);
        Ok(())
    }
}

/// Why a connection ended other than by a clean closing handshake.
#[derive(Debug)]
pub enum Failure {
    /// The opening handshake failed. `status_line` is the server's first
    /// response line, when we are the client and it sent one.
    Handshake {
        /// The engine's verdict.
        error: HandshakeError,
        /// For example `HTTP/1.1 404 Not Found`.
        status_line: Option<String>,
    },
    /// The peer broke the protocol; the engine sent a close frame saying so.
    Protocol(Violation),
    /// A deadline passed in the given state: the opening or closing
    /// handshake, the idle timeout (in `Open`), or a shutdown's grace time.
    TimedOut(State),
    /// Output waited longer than the write timeout with nothing written:
    /// the peer stopped reading.
    WriteStalled,
    /// The transport failed.
    Io(io::Error),
    /// The engine refused a call the link made; a bug, reported not hidden.
    Engine(Error),
}

/// Where a link is. The deadlines of the closing phases are in
/// [`Link::until`] (a byte here, not a time in every variant: the link is
/// kept per connection).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Waiting for the upgrade request (server) or the 101 (client).
    Handshake,
    /// Frames flow.
    Open,
    /// Our write side is shut; discarding input until the peer's end of
    /// stream or the deadline.
    Draining,
    /// The peer ended its stream; writing what is left (until the
    /// deadline, in case it does not read either), then done.
    Flushing,
    /// Everything is written and our write side shut after the peer's;
    /// waiting (until the deadline) for the transport to write what the
    /// shutdown queued itself (a TLS close_notify), which dropping the
    /// transport would lose.
    Closing,
    /// Finished: the owner drops the link, which closes the socket.
    Done,
}

/// "No such time", for the times a link may have none of (a sentinel, not
/// an `Option`: half the size, and the earliest of several is a plain
/// minimum).
const NEVER: u64 = u64::MAX;

/// What a link rarely holds, boxed only once it does (a connection with
/// no subprotocols to speak that ends without failing never allocates
/// it): kept out of [`Link`], whose size every connection pays.
#[derive(Debug, Default)]
struct Rare {
    failure: Option<Failure>,
    /// Subprotocols we speak (server) or offer (client), preferred first.
    protocols: &'static [&'static str],
    /// The subprotocol agreed in the opening handshake.
    protocol: Option<&'static str>,
    /// Client: the server's Sec-WebSocket-Extensions answer.
    extensions: Option<Box<str>>,
    /// The close reason [`Link::go_away`] was given.
    going_away: Option<&'static str>,
}

/// What the backend does next for a link, after writing what it could of
/// [`Link::output`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// Read, and pass what arrives to [`Link::received`] (or the end of
    /// stream to [`Link::end_of_stream`]).
    Read,
    /// Nothing to do until the output drains: write [`Link::output`] when
    /// the transport takes more, then ask again.
    Wait,
    /// Shut down the transport's write side (over TLS a close_notify goes
    /// first), then ask again: the link reads and discards from now on
    /// (or, when the peer had ended its stream first, waits for the
    /// transport's own bytes to be written).
    ShutdownWrite,
    /// Drop the transport: the link is done.
    Done,
}

/// A WebSocket connection's state above its transport.
#[derive(Debug)]
pub struct Link {
    engine: Connection,
    out: OutBuf,
    /// Stop reading while this much output is queued.
    high_water: usize,
    /// Output handed to the backend by [`Link::hand_output`] and not yet
    /// reported written: it counts toward the high-water mark.
    elsewhere: usize,
    /// Input split across reads, kept for the next one. In the opening
    /// handshake: the handshake so far. Once open: the start of a frame
    /// header or control frame, which the engine takes only whole (at
    /// most `MAX_CONTROL_FRAME` bytes), the read buffer being the loop's,
    /// not ours. One buffer for both: the handshake's is dropped as it
    /// completes, before any frame is read.
    unread: Vec<u8>,
    phase: Phase,
    /// In [`Phase::Draining`], [`Phase::Flushing`] and [`Phase::Closing`]:
    /// when to give up and finish. In [`Phase::Open`]: when to drop the
    /// connection after [`Link::go_away`] ([`NEVER`] before it is
    /// called). [`NEVER`] in the other phases.
    until: u64,
    /// The opening handshake completed at some point.
    was_open: bool,
    /// Close the transport regardless of the engine (a failed call).
    abort: bool,
    closure: Option<Closure>,
    /// The failure, subprotocols, extensions and go-away reason, once any
    /// is set.
    rare: Option<Box<Rare>>,
    /// Server: answer a browser's plain GET with the built-in page.
    page: bool,
    /// Drop the connection after output waits this long unwritten (0: never).
    write_timeout_ms: u64,
    /// Ping after half of this with nothing received, close after all of it
    /// (0: never).
    idle_timeout_ms: u64,
    /// The latest "now" the link was given.
    now: u64,
    /// Since when output has been waiting with no byte written
    /// ([`NEVER`]: nothing waits).
    stalled_since: u64,
    /// When input last arrived (or the connection opened).
    last_input: u64,
    /// A keepalive ping went out and nothing has arrived since.
    ping_sent: bool,
    /// When to look at idleness next.
    idle_check: u64,
    /// A message is arriving in pieces (its last one has not come yet).
    receiving: bool,
    /// A fragmented message is going out.
    sending: bool,
    /// When output was last written.
    last_write: u64,
    /// When to look at freeing the drained output buffer ([`NEVER`]: no
    /// buffer to free).
    trim_at: u64,
}

impl Link {
    /// A server connection waiting for the upgrade request.
    pub fn server(config: Config, now: u64) -> Link {
        Link::new(Connection::server(config, now))
    }

    /// A client connection with its upgrade request queued for `host` and
    /// `resource`; `entropy` must be fresh random bytes.
    ///
    /// `protocols` are offered in Sec-WebSocket-Protocol; `headers` are
    /// extra header lines, each ending in CRLF, added as they are (the
    /// caller checks them).
    pub fn client(
        config: Config,
        now: u64,
        entropy: [u8; 32],
        target: &Target<'_>,
        protocols: &'static [&'static str],
    ) -> Result<Link, Error> {
        let mut link =
            Link::new(Connection::client(config, now, entropy)).with_protocols(protocols);
        let names: usize = protocols.iter().map(|p| p.len() + 2).sum();
        let mut request =
            vec![0; HANDSHAKE_ROOM + target.host.len() + target.resource.len() + names];
        let n = link
            .engine
            .write_request(target.host, target.resource, protocols, &mut request)?;
        request.truncate(n);
        // The request ends with the empty line; extra headers go before it.
        if !target.headers.is_empty() && request.ends_with(b"\r\n\r\n") {
            request.truncate(n - 2);
            request.extend_from_slice(target.headers.as_bytes());
            request.extend_from_slice(b"\r\n");
        }
        link.out.spare(request.len())[..request.len()].copy_from_slice(&request);
        link.out.commit(request.len());
        Ok(link)
    }

    /// Server: the subprotocols we speak; the first one the client offers
    /// is chosen.
    pub fn with_protocols(mut self, protocols: &'static [&'static str]) -> Link {
        // None: nothing to remember (and no box to allocate).
        if !protocols.is_empty() || self.rare.is_some() {
            self.rare().protocols = protocols;
        }
        self
    }

    /// The subprotocols we speak or offer.
    fn protocols(&self) -> &'static [&'static str] {
        self.rare.as_ref().map_or(&[], |r| r.protocols)
    }

    /// The rarely set fields, allocated on first use.
    fn rare(&mut self) -> &mut Rare {
        self.rare.get_or_insert_with(Box::default)
    }

    /// Records why the connection failed, unless it already had.
    fn fail(&mut self, failure: Failure) {
        self.rare().failure.get_or_insert(failure);
    }

    /// Server: answer a browser's plain page request (GET without Upgrade,
    /// asking for HTML) with the built-in page instead of 426.
    pub fn with_page(mut self, on: bool) -> Link {
        self.page = on;
        self
    }

    /// The subprotocol agreed in the opening handshake, if any.
    pub fn protocol(&self) -> Option<&'static str> {
        self.rare.as_ref()?.protocol
    }

    /// Client: the extensions the server agreed to, as it wrote them.
    pub fn extensions(&self) -> Option<&str> {
        self.rare.as_ref()?.extensions.as_deref()
    }

    fn new(engine: Connection) -> Link {
        Link {
            engine,
            out: OutBuf::new(),
            high_water: DEFAULT_HIGH_WATER,
            elsewhere: 0,
            unread: Vec::new(),
            phase: Phase::Handshake,
            until: NEVER,
            was_open: false,
            abort: false,
            closure: None,
            rare: None,
            page: false,
            write_timeout_ms: DEFAULT_WRITE_TIMEOUT_MS,
            idle_timeout_ms: 0,
            now: 0,
            stalled_since: NEVER,
            last_input: 0,
            ping_sent: false,
            idle_check: 0,
            receiving: false,
            sending: false,
            last_write: 0,
            trim_at: NEVER,
        }
    }

    /// Sets how much queued output stops reading (backpressure); see
    /// [`DEFAULT_HIGH_WATER`] for what too little costs.
    pub fn with_high_water(mut self, bytes: usize) -> Link {
        self.high_water = bytes.max(1);
        self
    }

    /// Drops the connection when its output waits `ms` with not one byte
    /// written (0: never; default [`DEFAULT_WRITE_TIMEOUT_MS`]). Together
    /// with the high-water mark this bounds what a peer that stops reading
    /// costs: at most the mark in memory, for at most this long.
    pub fn with_write_timeout(mut self, ms: u64) -> Link {
        self.write_timeout_ms = ms;
        self
    }

    /// Once open, pings the peer after `ms / 2` with nothing received and
    /// closes (1001) after `ms` (0, the default: never). Any input counts,
    /// so a live peer's pong keeps the connection open while a half-open
    /// one is closed.
    pub fn with_idle_timeout(mut self, ms: u64) -> Link {
        self.idle_timeout_ms = ms;
        self
    }

    /// The engine's state.
    pub fn state(&self) -> State {
        self.engine.state()
    }

    /// Whether the link has finished and may be dropped.
    pub fn is_done(&self) -> bool {
        self.phase == Phase::Done
    }

    /// Whether the opening handshake completed (even if the connection has
    /// ended since).
    pub fn was_open(&self) -> bool {
        self.was_open
    }

    /// How the connection ended, once it has.
    pub fn closure(&self) -> Option<Closure> {
        self.closure
    }

    /// What went wrong, if anything did.
    pub fn failure(&self) -> Option<&Failure> {
        self.rare.as_ref()?.failure.as_ref()
    }

    /// When [`Link::tick`] must next be called.
    // Inlined: backends ask after every message, and the call's own cost
    // was about a third of the function's.
    #[inline(always)]
    pub fn deadline(&self) -> Option<u64> {
        match self.phase {
            Phase::Draining | Phase::Flushing | Phase::Closing => Some(self.until),
            Phase::Done => None,
            Phase::Handshake | Phase::Open => {
                // Backends ask on every message: minimum by hand, with
                // "none" as the largest time, costs a few instructions
                // where iterating over Options cost about a hundred.
                let at = self
                    .engine
                    .deadline()
                    .unwrap_or(NEVER)
                    .min(self.stall_deadline())
                    .min(self.idle_deadline())
                    .min(self.until)
                    .min(self.trim_at);
                (at != NEVER).then_some(at)
            }
        }
    }

    /// When a stall drops the connection ([`NEVER`]: not stalled, or no
    /// write timeout).
    fn stall_deadline(&self) -> u64 {
        if self.stalled_since == NEVER || self.write_timeout_ms == 0 {
            return NEVER;
        }
        self.stalled_since.saturating_add(self.write_timeout_ms)
    }

    /// When to look at idleness next ([`NEVER`]: not watched).
    fn idle_deadline(&self) -> u64 {
        let watching = self.idle_timeout_ms > 0
            && self.phase == Phase::Open
            && !self.abort
            && self.engine.state() == State::Open;
        if watching {
            self.idle_check
        } else {
            NEVER
        }
    }

    /// Advances time: fires the engine's deadlines and our linger deadline.
    /// Ask for the next [`Link::step`] afterwards.
    pub fn tick(&mut self, now: u64) {
        self.now = self.now.max(now);
        let now = self.now;
        let due = |at: Option<u64>| at.is_some_and(|at| now >= at);
        if !due(self.deadline()) && !due(self.engine.deadline()) {
            // Nothing is due (every deadline looked at below is one of
            // these): the engine only learns the time, which it needs for
            // the deadlines it sets later. The common case, on every
            // message.
            self.engine.tick(now);
            return;
        }
        let before = self.engine.state();
        self.engine.tick(now);
        if before != State::Failed && self.engine.state() == State::Failed {
            self.fail(Failure::TimedOut(before));
        }
        match self.phase {
            Phase::Draining | Phase::Flushing | Phase::Closing => {
                if now >= self.until {
                    self.finish();
                }
            }
            Phase::Done => {}
            Phase::Handshake | Phase::Open => {
                // NEVER is never reached (`go_away` keeps below it).
                if now >= self.until {
                    self.fail(Failure::TimedOut(self.engine.state()));
                    return self.finish();
                }
                if now >= self.stall_deadline() {
                    // No flushing or lingering: the peer reads nothing.
                    self.fail(Failure::WriteStalled);
                    return self.finish();
                }
                if now >= self.idle_deadline() {
                    self.keepalive(now);
                }
                if now >= self.trim_at {
                    self.trim(now);
                }
            }
        }
    }

    /// Advances the clock, for a backend that knows no deadline is due:
    /// its timer for the link, filed from [`Link::deadline`] after the
    /// link last ran, is later than `now`. [`Link::tick`]'s work in that
    /// case, without looking at every deadline.
    pub fn advance(&mut self, now: u64) {
        self.now = self.now.max(now);
        self.engine.tick(self.now);
    }

    /// The trim timer fired: free the output buffer if nothing was written
    /// for [`TRIM_MS`], else look again that long after the last write
    /// (one timer per second at most, however busy the connection).
    fn trim(&mut self, now: u64) {
        self.trim_at = NEVER;
        if !self.out.is_empty() {
            return; // armed again when it drains
        }
        let quiet_until = self.last_write.saturating_add(TRIM_MS);
        if now >= quiet_until {
            self.out = OutBuf::new();
        } else {
            self.trim_at = quiet_until;
        }
    }

    /// The idle timer fired: ping a quiet peer, close a silent one.
    fn keepalive(&mut self, now: u64) {
        let idle = self.idle_timeout_ms;
        let half = (idle / 2).max(1);
        let quiet = now.saturating_sub(self.last_input);
        if quiet >= idle {
            self.fail(Failure::TimedOut(State::Open));
            // Said for a peer that is still there; a half-open one never
            // reads it, and the link closes once it is handed to the
            // transport (or the write timeout passes).
            let room = self.out.spare(MAX_CONTROL_FRAME);
            if let Ok(n) = self
                .engine
                .close(CloseCode::GOING_AWAY, "idle timeout", room)
            {
                self.out.commit(n);
            }
            self.abort = true;
            return;
        }
        if quiet >= half && !self.ping_sent {
            let room = self.out.spare(MAX_CONTROL_FRAME);
            if let Ok(n) = self.engine.ping(&[], room) {
                self.out.commit(n);
            }
            self.ping_sent = true;
        }
        let wait = if self.ping_sent { idle } else { half };
        self.idle_check = self.last_input.saturating_add(wait);
    }

    /// Closes with 1001 (`reason`) as soon as no message is in progress
    /// either way, so that none is cut; drops the connection `grace_ms`
    /// from now whatever happens. A connection still in its opening
    /// handshake cannot close cleanly and is closed at once.
    pub fn go_away(&mut self, now: u64, grace_ms: u64, reason: &'static str) {
        self.tick(now);
        match self.phase {
            Phase::Handshake => self.abort = true,
            Phase::Open if self.until == NEVER => {
                // Below NEVER, which means "not going away".
                self.until = self.now.saturating_add(grace_ms).min(NEVER - 1);
                self.rare().going_away = Some(reason);
                self.close_if_going_away();
            }
            _ => {}
        }
    }

    /// Checked after every event: inlined, the common case (no shutdown
    /// under way) costs a compare instead of a call.
    #[inline(always)]
    fn close_if_going_away(&mut self) {
        // Set in the closing phases too (their deadline), where the
        // engine's state says no below.
        if self.until != NEVER {
            self.close_going_away();
        }
    }

    #[cold]
    #[inline(never)]
    fn close_going_away(&mut self) {
        let Some(reason) = self.rare.as_ref().and_then(|r| r.going_away) else {
            return;
        };
        if self.receiving || self.sending || self.engine.state() != State::Open {
            return;
        }
        let room = self.out.spare(MAX_CONTROL_FRAME);
        if let Ok(n) = self.engine.close(CloseCode::GOING_AWAY, reason, room) {
            self.out.commit(n);
        }
    }

    /// Lets the owner send: `f` gets a [`Tx`]. Write what was queued
    /// afterwards.
    pub fn with_tx<R>(&mut self, now: u64, f: impl FnOnce(&mut Tx<'_>) -> R) -> R {
        self.tick(now);
        let r = f(&mut Tx {
            engine: &mut self.engine,
            out: &mut self.out,
            sending: &mut self.sending,
            window: None,
        });
        self.close_if_going_away();
        r
    }

    /// The bytes waiting to be written, oldest first, when nothing is
    /// queued by reference ([`Link::has_borrowed`]; else write
    /// [`Link::output_parts`]).
    pub fn output(&self) -> &[u8] {
        self.out.pending()
    }

    /// Whether some output is a payload still in the read buffer last
    /// handed to [`Link::received_borrowing`].
    pub fn has_borrowed(&self) -> bool {
        self.out.has_refs()
    }

    /// The output in order as pieces for a vectored write, `read` being
    /// the buffer last handed to [`Link::received_borrowing`] (the pieces
    /// and how many are used).
    pub fn output_parts<'a>(&'a self, read: &'a [u8]) -> ([&'a [u8]; MAX_PARTS], usize) {
        self.out.parts(read)
    }

    /// Copies what is queued by reference out of `read` (the buffer last
    /// handed to [`Link::received_borrowing`]) before the backend reuses
    /// it; nothing to do when everything was written.
    #[inline]
    pub fn settle(&mut self, read: &[u8]) {
        self.out.settle(read);
    }

    /// Queues output in the loop's shared buffer `spare` when the link has
    /// none of its own; [`Link::return_spare`] takes it back once written.
    pub fn borrow_spare(&mut self, spare: &mut Vec<u8>) {
        self.out.borrow_spare(spare);
    }

    /// Gives the output memory back to the loop once everything is
    /// written (a link with output waiting keeps it).
    pub fn return_spare(&mut self, spare: &mut Vec<u8>) {
        // The trim timer stays: clearing it here would move the link in
        // the loop's timer set on every message; it finds nothing to free.
        self.out.return_spare(spare);
    }

    /// Bytes waiting to be written.
    pub fn output_len(&self) -> usize {
        self.out.len()
    }

    /// Bytes allocated for output (0 for an idle connection).
    pub fn output_capacity(&self) -> usize {
        self.out.capacity()
    }

    /// Hands every queued byte at once, with the memory holding it, to
    /// `to` (which holds nothing), for a backend that writes from it in
    /// the background (see [`OutBuf::hand_over`]); queueing goes on in
    /// `to`'s old memory. Report the bytes as the transport's own in
    /// [`Link::step`] until written.
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    pub fn hand_output(&mut self, to: &mut OutBuf) {
        self.elsewhere += self.out.len();
        self.out.hand_over(to);
    }

    /// The transport took `n` bytes of [`Link::output`].
    #[inline]
    pub fn written(&mut self, n: usize) {
        self.out.consume(n);
        if n > 0 {
            self.last_write = self.now;
        }
        if self.out.is_empty() {
            self.out.release_if_larger(RETAIN);
            if self.out.capacity() > 0 && self.trim_at == NEVER {
                self.trim_at = self.now.saturating_add(TRIM_MS);
            }
        }
        if n > 0 && self.stalled_since != NEVER {
            self.stalled_since = self.now;
        }
    }

    /// The transport took `n` bytes of output handed over by
    /// [`Link::hand_output`] (progress, for the write timeout).
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    pub fn written_elsewhere(&mut self, n: usize) {
        self.elsewhere = self.elsewhere.saturating_sub(n);
        if self.elsewhere == 0 && self.out.is_empty() {
            // Nothing waits any more ([`Link::step`] would say so too).
            self.stalled_since = NEVER;
        } else if n > 0 && self.stalled_since != NEVER {
            self.stalled_since = self.now;
        }
    }

    /// Whether input stopped partway: a message whose last part has not
    /// come, or the start of a frame header or of the handshake kept for
    /// the next read. Its rest is usually already on the way (a 64 KiB
    /// message crosses loopback as two segments), so a backend reads
    /// again rather than wait for the next readiness event while holding
    /// the gathered part.
    pub fn mid_message(&self) -> bool {
        self.receiving || !self.unread.is_empty()
    }

    /// Whether the link only waits for input, everything it queued being
    /// written: [`Link::step`] would say [`Step::Read`] and change
    /// nothing. A backend whose read is armed already may then leave the
    /// link be when a write completes.
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    pub fn only_reads(&self) -> bool {
        self.phase == Phase::Open
            && self.out.is_empty()
            && self.elsewhere == 0
            && self.stalled_since == NEVER
            && !self.abort
            && self.engine.transport() != Wanted::Close
    }

    /// What to do next. `transport_idle` says that the transport holds no
    /// bytes of its own still to write (TLS records; always true for plain
    /// TCP); together with an empty [`Link::output`] it means every byte is
    /// out.
    pub fn step(&mut self, now: u64, transport_idle: bool) -> Step {
        self.now = self.now.max(now);
        let all_written = self.out.is_empty() && transport_idle;
        if all_written {
            self.stalled_since = NEVER;
        } else if self.stalled_since == NEVER {
            self.stalled_since = self.now;
        }
        match self.phase {
            Phase::Done => Step::Done,
            Phase::Flushing if all_written => {
                // The same deadline.
                self.phase = Phase::Closing;
                Step::ShutdownWrite
            }
            Phase::Flushing => Step::Wait,
            Phase::Closing if transport_idle => {
                self.phase = Phase::Done;
                Step::Done
            }
            Phase::Closing => Step::Wait,
            Phase::Draining => Step::Read,
            Phase::Handshake | Phase::Open => {
                if self.abort || self.engine.transport() == Wanted::Close {
                    if !all_written {
                        return Step::Wait;
                    }
                    // An error from the shutdown means the peer is gone
                    // already; draining then ends at once with an error or
                    // end of stream.
                    self.phase = Phase::Draining;
                    self.until = now.saturating_add(LINGER_MS);
                    return Step::ShutdownWrite;
                }
                if self.out.len() + self.elsewhere >= self.high_water {
                    return Step::Wait; // backpressure
                }
                Step::Read
            }
        }
    }

    /// How many payload bytes of the data frame being received are still
    /// to come, for a backend that treats large frames apart (io_uring
    /// hands their connections to the epoll loop): 0 between frames, in
    /// control frames, with permessage-deflate in force (compressed bytes
    /// are inflated elsewhere), and once the link is not open.
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    pub fn gather_want(&self) -> usize {
        // Asked after every receive: between frames (the common case with
        // small messages) one look at the engine answers.
        let remaining = self.engine.frame_remaining();
        if remaining == 0
            || self.phase != Phase::Open
            || self.abort
            || !matches!(self.engine.state(), State::Open | State::CloseSent)
            || self.engine.compression_active()
        {
            return 0;
        }
        usize::try_from(remaining).unwrap_or(usize::MAX)
    }

    /// Like [`Link::received`], but a large payload the handler sends back
    /// from `data` may be queued by reference to it rather than copied:
    /// until it is written ([`Link::output_parts`]) or
    /// [`Link::settle`]d, `data` must stay as it is.
    pub fn received_borrowing<H: Handler>(&mut self, data: &mut [u8], handler: &mut H) {
        let window = Some((data.as_ptr() as usize, data.len()));
        self.receive(data, handler, window);
    }

    /// Handles bytes the transport read (discarded while draining after
    /// our shutdown).
    #[inline]
    pub fn received<H: Handler>(&mut self, data: &mut [u8], handler: &mut H) {
        self.receive(data, handler, None);
    }

    /// [`Link::received`], `window` being the read buffer payloads may be
    /// queued by reference from, as its address and length (passed down,
    /// not kept: the link is kept per connection, the window only for the
    /// call).
    #[inline(always)]
    fn receive<H: Handler>(
        &mut self,
        data: &mut [u8],
        handler: &mut H,
        window: Option<(usize, usize)>,
    ) {
        if !data.is_empty() {
            self.last_input = self.now;
            self.ping_sent = false;
        }
        match self.phase {
            Phase::Handshake => self.handshake_input(data, handler, window),
            Phase::Open => self.frames(data, handler, window),
            Phase::Draining | Phase::Flushing | Phase::Closing | Phase::Done => {}
        }
    }

    /// The peer ended its stream.
    pub fn end_of_stream(&mut self, now: u64) {
        if self.phase == Phase::Draining {
            return self.finish();
        }
        self.closure = Some(self.engine.transport_closed());
        // The peer may still read what we queued (it only shut its side);
        // [`Link::step`] closes once it is written.
        self.phase = Phase::Flushing;
        self.until = now.saturating_add(LINGER_MS);
    }

    /// The transport failed: the link is done.
    pub fn io_failure(&mut self, e: io::Error) {
        // While draining after our shutdown, an error is how some peers
        // end: the closing handshake already said how it went.
        // So is one writing what our late shutdown queued: the peer had
        // ended its stream already.
        if !matches!(self.phase, Phase::Draining | Phase::Closing) {
            self.fail(Failure::Io(e));
        }
        self.finish();
    }

    fn finish(&mut self) {
        if self.closure.is_none() {
            self.closure = Some(self.engine.transport_closed());
        }
        self.phase = Phase::Done;
    }

    fn handshake_input<H: Handler>(
        &mut self,
        data: &mut [u8],
        handler: &mut H,
        window: Option<(usize, usize)>,
    ) {
        // Parse straight from the read buffer unless an earlier read left
        // the start of the handshake behind.
        let stashed = !self.unread.is_empty();
        // Taken: whatever follows the handshake in it is frames, and a
        // frame cut short goes back into `unread`, which must be empty.
        let mut pending = std::mem::take(&mut self.unread);
        if stashed {
            pending.extend_from_slice(data);
        }
        let buf: &mut [u8] = if stashed { &mut pending } else { data };
        let outcome = match self.engine.role() {
            Role::Server => self.accept(buf),
            Role::Client => self.read_response(buf),
        };
        match outcome {
            Handshake::Incomplete => {
                if !stashed {
                    pending.extend_from_slice(data);
                }
                self.unread = pending;
            }
            Handshake::Open(len) => {
                self.phase = Phase::Open;
                self.was_open = true;
                self.last_input = self.now;
                self.idle_check = self.now.saturating_add((self.idle_timeout_ms / 2).max(1));
                handler.opened(&mut Tx {
                    engine: &mut self.engine,
                    out: &mut self.out,
                    sending: &mut self.sending,
                    window: None,
                });
                // Whatever followed the handshake in the same read is frames.
                match buf.get_mut(len..) {
                    Some(rest) => self.frames(rest, handler, window),
                    None => {
                        // The engine claimed more bytes than it was given.
                        self.rare().failure = Some(Failure::Engine(Error::InvalidState));
                        self.abort = true;
                    }
                }
            }
            Handshake::Refused => {}
        }
    }

    fn accept(&mut self, buf: &[u8]) -> Handshake {
        // The engine picks by our order; we pick the client's first choice
        // among ours, so the engine is given that one only.
        let chosen = match self.protocols() {
            [] => None,
            ours => crate::subprotocol::choose(buf, ours),
        };
        let offer = chosen.as_slice();
        let room = self.out.spare(HANDSHAKE_ROOM + chosen.map_or(0, str::len));
        match self.engine.accept(buf, offer, room) {
            Ok(Accept::Incomplete) => Handshake::Incomplete,
            Ok(Accept::Accepted { request, written }) => {
                self.out.commit(written);
                if let Some(agreed) = request.protocol.and_then(|i| offer.get(i).copied()) {
                    self.rare().protocol = Some(agreed);
                }
                Handshake::Open(request.len)
            }
            Ok(Accept::Rejected {
                error: HandshakeError::NotUpgrade,
                ..
            }) if self.page && crate::page::wanted(buf) => {
                let page = crate::page::response();
                self.out.spare(page.len())[..page.len()].copy_from_slice(&page);
                self.out.commit(page.len());
                Handshake::Refused
            }
            Ok(Accept::Rejected { error, written }) => {
                // The HTTP error response goes out before we close.
                self.out.commit(written);
                self.rare().failure = Some(Failure::Handshake {
                    error,
                    status_line: None,
                });
                Handshake::Refused
            }
            Err(e) => {
                self.rare().failure = Some(Failure::Engine(e));
                self.abort = true;
                Handshake::Refused
            }
        }
    }

    fn read_response(&mut self, buf: &[u8]) -> Handshake {
        let protocols = self.protocols();
        match self.engine.read_response(buf, protocols) {
            Ok(None) => Handshake::Incomplete,
            Ok(Some(response)) => {
                let protocol = response.protocol.and_then(|i| protocols.get(i).copied());
                let extensions = response
                    .extensions
                    .map(|e| String::from_utf8_lossy(e).into());
                if protocol.is_some() || extensions.is_some() {
                    let rare = self.rare();
                    rare.protocol = protocol;
                    rare.extensions = extensions;
                }
                Handshake::Open(response.len)
            }
            Err(Error::Handshake(error)) => {
                self.rare().failure = Some(Failure::Handshake {
                    error,
                    status_line: status_line(buf),
                });
                Handshake::Refused
            }
            Err(e) => {
                self.rare().failure = Some(Failure::Engine(e));
                self.abort = true;
                Handshake::Refused
            }
        }
    }

    /// Feeds frames to the engine until `data` is used up, passing events
    /// to the handler and queueing the engine's own replies after each. A
    /// frame header or control frame cut off at the end of `data` is kept
    /// for the next read.
    fn frames<H: Handler>(
        &mut self,
        data: &mut [u8],
        handler: &mut H,
        window: Option<(usize, usize)>,
    ) {
        let mut from = 0;
        if !self.unread.is_empty() {
            let mut piece = std::mem::take(&mut self.unread);
            from = complete_piece(&mut piece, data);
            let took = self.frames_by_kind(&mut piece, handler, window);
            if took < piece.len() {
                // Still not whole, so `data` is used up; should any of it
                // be left, it waits too, in order.
                piece.drain(..took);
                piece.extend_from_slice(data.get(from..).unwrap_or_default());
                self.unread = piece;
                return;
            }
            piece.clear();
            self.unread = piece;
        }
        let Some(rest) = data.get_mut(from..) else {
            return;
        };
        let took = self.frames_by_kind(rest, handler, window);
        if let Some(left) = rest.get(took..).filter(|l| !l.is_empty()) {
            self.unread.extend_from_slice(left);
        }
    }

    /// [`Link::frames`] on one piece of input; returns the bytes the
    /// engine took.
    #[inline(always)]
    fn frames_by_kind<H: Handler>(
        &mut self,
        data: &mut [u8],
        handler: &mut H,
        window: Option<(usize, usize)>,
    ) -> usize {
        // Only compressed messages inflate into scratch.
        if !self.engine.compression_active() {
            return self.frames_into(data, handler, window, &mut [], false);
        }
        self.frames_inflating(data, handler, window)
    }

    /// [`Link::frames_by_kind`] with permessage-deflate in force (out of
    /// line: the uncompressed path, inlined, is the common one).
    #[inline(never)]
    fn frames_inflating<H: Handler>(
        &mut self,
        data: &mut [u8],
        handler: &mut H,
        window: Option<(usize, usize)>,
    ) -> usize {
        // One buffer per thread (so per worker): a connection holds none of
        // its own between reads, which matters with thousands of them.
        thread_local! {
            static SCRATCH: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
        }
        let mut scratch = SCRATCH.take();
        if scratch.is_empty() {
            scratch = vec![0; INFLATE_SIZE];
        }
        let took = self.frames_into(data, handler, window, &mut scratch, true);
        SCRATCH.set(scratch);
        took
    }

    /// `window`: as for [`Link::receive`]. `inflating`: permessage-deflate
    /// is in force. Returns the bytes the engine took: fewer than all only
    /// when the rest is the start of a frame header or control frame.
    fn frames_into<H: Handler>(
        &mut self,
        data: &mut [u8],
        handler: &mut H,
        window: Option<(usize, usize)>,
        scratch: &mut [u8],
        inflating: bool,
    ) -> usize {
        let mut pos = 0;
        // A ping's pong goes straight into the output queue, which is
        // asked for room only once the engine has stopped at a ping for
        // want of it: asking on every call cost an echo of 20 B about
        // twenty instructions (and could grow an empty queue for nothing).
        let mut room = false;
        // Called once more after the input is used up when inflating: a
        // compressed message's last chunk inflates from the tail the
        // engine appends itself (RFC 7692 section 7.2.2), with no new
        // input. Without compression nothing comes of no input, and that
        // call cost about a fifth of an echo of 20 B.
        loop {
            let out: &mut [u8] = if room {
                self.out.spare(MAX_CONTROL_FRAME)
            } else {
                &mut []
            };
            let (used, had_event) = match self.engine.receive_with(&mut data[pos..], scratch, out) {
                Ok(Received {
                    consumed: used,
                    written,
                    event,
                }) => {
                    self.out.commit(written);
                    let had_event = event.is_some();
                    if let Some(event) = event {
                        if let Event::Data { last, .. } = event {
                            self.receiving = !last;
                        }
                        handler.event(
                            event,
                            &mut Tx {
                                engine: &mut self.engine,
                                out: &mut self.out,
                                sending: &mut self.sending,
                                window,
                            },
                        );
                        self.close_if_going_away();
                    }
                    (used, had_event)
                }
                Err(e) => {
                    if let Error::Protocol(v) = e {
                        self.fail(Failure::Protocol(v));
                    }
                    // The engine ignores input from now on; its close frame
                    // is queued below.
                    self.poll_output();
                    return data.len();
                }
            };
            pos += used;
            self.poll_output();
            if pos >= data.len() && (!had_event || !inflating) {
                return pos;
            }
            if used == 0 && !had_event {
                if !room {
                    // Maybe a ping whose pong needs room: try again with
                    // it (else the same answer comes back).
                    room = true;
                    continue;
                }
                // The start of a header or control frame: more must come.
                return pos;
            }
        }
    }

    /// Moves the engine's close frame, if it owes one, into the output
    /// queue.
    fn poll_output(&mut self) {
        if self.engine.has_output() {
            let n = self.engine.poll_output(self.out.spare(MAX_CONTROL_FRAME));
            self.out.commit(n);
        }
    }
}

/// Moves from `data` into `piece` (the start of a frame header or control
/// frame) the bytes that piece still needs (`frame::taken_whole`), and no
/// more: a data frame's payload stays in `data`, where a handler may borrow
/// it. Returns how many were moved.
fn complete_piece(piece: &mut Vec<u8>, data: &[u8]) -> usize {
    let mut moved = 0;
    loop {
        let take = taken_whole(piece)
            .saturating_sub(piece.len())
            .min(data.len() - moved);
        if take == 0 {
            return moved;
        }
        piece.extend_from_slice(&data[moved..moved + take]);
        moved += take;
    }
}

enum Handshake {
    Incomplete,
    /// Open; the handshake took this many bytes.
    Open(usize),
    Refused,
}

/// The first line of an HTTP response, for error messages.
fn status_line(buf: &[u8]) -> Option<String> {
    let end = buf.iter().position(|&b| b == b'\r' || b == b'\n')?;
    let line = String::from_utf8_lossy(&buf[..end.min(200)]).into_owned();
    (!line.is_empty()).then_some(line)
}

#[cfg(test)]
#[path = "link_tests.rs"]
pub(crate) mod trickle_tests;

#[cfg(test)]
mod tests {
    use super::status_line;

    #[test]
    fn status_line_is_the_first_line_only() {
        assert_eq!(
            status_line(b"HTTP/1.1 404 Not Found\r\nX: y\r\n\r\n").as_deref(),
            Some("HTTP/1.1 404 Not Found")
        );
        assert_eq!(status_line(b"HTTP/1.1 404 Not Fo"), None);
        assert_eq!(status_line(b"\r\n"), None);
    }
}
