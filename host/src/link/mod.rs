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

mod handshake;
mod output;
mod receive;
mod timers;
mod tx;

pub use tx::Tx;

use std::io;

use websock_core::frame::MAX_HEADER_LEN;
use websock_core::{
    Closure, Config, Connection, Error, Event, HandshakeError, State, Transport as Wanted,
    Violation,
};

use crate::outbuf::OutBuf;

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
}

#[cfg(test)]
pub(crate) mod trickle_tests;
