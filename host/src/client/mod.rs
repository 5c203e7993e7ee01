//! `websock client URL`: a terminal client. Lines from stdin go out as text
//! messages (with `--binary`, stdin's bytes as binary messages); messages
//! received are printed one per line. At end of input it keeps receiving
//! until the server has been quiet for `--linger` milliseconds, so replies
//! to the last lines are not lost, then closes with 1000 and waits for the
//! closing handshake. Ctrl-C closes with 1000 at once; a second Ctrl-C
//! exits without waiting. The exit status says how it ended ([`exit`]).

mod input;
mod print;

use std::io::{IsTerminal, Read};
use std::os::unix::net::UnixStream as StdUnixStream;
use std::process::ExitCode;
use std::sync::mpsc::TryRecvError;
use std::sync::Arc;
use std::time::Duration;

use mio::net::UnixStream;
use mio::{Interest, Token, Waker};
use websock_core::{CloseCode, Config, DataKind, State};

use crate::clock::Clock;
use crate::dial::{self, Dialer};
use crate::link::{Failure, Link, Tx};
use crate::reactor::{Reactor, Slot};
use crate::tls::client::ClientOptions;
use crate::transport::Transport;
use crate::url::WsUrl;
use input::{Input, Typed};
use print::{Printer, Style};

/// The client's exit statuses (also in `websock client --help`).
pub mod exit {
    /// The closing handshake completed (whoever started it).
    pub const CLEAN: u8 = 0;
    /// Could not start: bad URL, no connection, no TLS configuration.
    pub const ERROR: u8 = 1;
    /// The opening handshake failed (HTTP refusal, TLS, bad 101).
    pub const HANDSHAKE: u8 = 3;
    /// The connection ended without a closing handshake, or the server
    /// broke the protocol.
    pub const UNCLEAN: u8 = 4;
    /// A handshake (opening, TLS or closing) timed out.
    pub const TIMEOUT: u8 = 5;
    /// The closing handshake completed, but the server started it with a
    /// code that reports a failure: anything but 1000 (normal), 1001
    /// (going away) or no code (RFC 6455 section 7.4.1), e.g. 1011.
    pub const SERVER_ERROR: u8 = 6;
    /// A second Ctrl-C: exited without waiting (128 + SIGINT).
    pub const INTERRUPTED: u8 = 130;
}

/// By default, after end of input, close once the server has been quiet
/// this long: replies to the last lines usually come within a round trip,
/// far less than this even on a loaded machine.
pub const DEFAULT_LINGER_MS: u64 = 500;

/// What `websock client` was asked to do.
#[derive(Debug)]
pub struct Options {
    /// The server.
    pub url: String,
    /// Timeouts and what to offer.
    pub config: Config,
    /// Whom to trust for wss://.
    pub tls: ClientOptions,
    /// After end of input, close once nothing arrived for this long.
    pub linger_ms: u64,
    /// Close as soon as input ends.
    pub exit_on_eof: bool,
    /// Subprotocols to offer, preferred first.
    pub protocols: Vec<String>,
    /// Extra header lines for the upgrade request, each ending in CRLF.
    pub headers: String,
    /// stdin bytes as binary messages; payloads printed raw.
    pub binary: bool,
    /// Send a ping this often.
    pub ping_interval_ms: Option<u64>,
    /// Read `/ping`, `/close` in typed lines (default: when stdin is a
    /// terminal).
    pub slash: Option<bool>,
    /// Print pings and pongs received.
    pub show_ping_pong: bool,
}

impl Options {
    /// The defaults for `url`.
    pub fn new(url: String, config: Config) -> Options {
        Options {
            url,
            config,
            tls: ClientOptions::default(),
            linger_ms: DEFAULT_LINGER_MS,
            exit_on_eof: false,
            protocols: Vec::new(),
            headers: String::new(),
            binary: false,
            ping_interval_ms: None,
            slash: None,
            show_ping_pong: false,
        }
    }
}

/// Token of the waker the stdin thread rings.
const WAKE: Token = Token(0);
/// Token of the SIGINT pipe.
const SIGNAL: Token = Token(1);

/// Runs the client and says how it ended: one line on stderr for anything
/// but a clean close, and the exit status.
pub fn main(options: &Options) -> ExitCode {
    match run(options) {
        Ok(()) => ExitCode::from(exit::CLEAN),
        Err((code, message)) => {
            if !message.is_empty() {
                eprintln!("websock: {message}");
            }
            ExitCode::from(code)
        }
    }
}

type Outcome = Result<(), (u8, String)>;

fn fail(message: String) -> (u8, String) {
    (exit::ERROR, message)
}

fn run(o: &Options) -> Outcome {
    let url = WsUrl::parse(&o.url).map_err(|e| fail(format!("bad URL '{}': {e}", o.url)))?;
    let dialer = Dialer::new(&url, &o.tls).map_err(fail)?;
    let mut reactor =
        Reactor::new(Clock::new()).map_err(|e| fail(format!("cannot create a poll: {e}")))?;
    let waker = Waker::new(reactor.registry(), WAKE)
        .map_err(|e| fail(format!("cannot create a waker: {e}")))?;
    let mut signals =
        sigint_pipe(&reactor).map_err(|e| fail(format!("cannot handle Ctrl-C: {e}")))?;
    let protocols: &'static [&'static str] = Vec::leak(
        o.protocols
            .iter()
            .map(|p| &*String::leak(p.clone()))
            .collect(),
    );
    let (link, transport) = dialer
        .connect_with(&url, o.config, reactor.now(), protocols, &o.headers)
        .map_err(fail)?;
    let tty = std::io::stdout().is_terminal();
    let typing = std::io::stdin().is_terminal();
    let printer = Printer::new(Style {
        tty: tty && !o.binary,
        prompt: tty && typing && !o.binary,
        raw: o.binary,
        control: o.show_ping_pong,
    });
    let key = reactor
        .insert(link, transport, printer)
        .map_err(|e| fail(format!("cannot watch the connection: {e}")))?;
    // The loop keeps a reference too: when the stdin thread ends, dropping
    // the last one would close the waker's descriptor, and epoll forgets a
    // closed descriptor's pending event, losing the final wake-up.
    let waker = Arc::new(waker);
    let input = input::read_stdin(Arc::clone(&waker), o.binary);
    let slash = !o.binary && o.slash.unwrap_or(typing);
    let mut s = Session::default();
    loop {
        if let Some(slot) = reactor.drain_finished().next() {
            return s.outcome(&url, &slot);
        }
        let now = reactor.now();
        let Some(slot) = reactor.get_mut(key) else {
            continue; // finished during the last call; reported above
        };
        let open = slot.link.state() == State::Open;
        if open && s.opened_at.is_none() {
            s.opened_at = Some(now);
            s.next_ping = o.ping_interval_ms.map(|i| now + i);
            if tty {
                slot.handler.note(&connected_line(&url, &slot.link));
            }
        }
        if slot.handler.events != s.events {
            s.events = slot.handler.events;
            s.last_event = now;
        }
        // Ctrl-C: close; a second one (or one before the handshake
        // completed) exits at once.
        if s.signals > 0 {
            s.interrupts += std::mem::take(&mut s.signals);
            if s.interrupts > 1 || !open {
                return Err((exit::INTERRUPTED, "interrupted".into()));
            }
            if !s.we_closed {
                if tty {
                    eprintln!("\rwebsock: closing (Ctrl-C again to quit at once)");
                }
                s.close(&mut reactor, key, CloseCode::NORMAL, "");
            }
        }
        // Lines typed before the handshake completes wait in the channel.
        while open && !s.we_closed && s.eof_at.is_none() {
            match input.try_recv() {
                Ok(Input::Line(line)) => {
                    let typed = match slash {
                        true => input::parse(&line),
                        false => Typed::Text(&line),
                    };
                    match typed {
                        Typed::Text(text) => {
                            send(&mut reactor, key, DataKind::Text, text.as_bytes())
                        }
                        Typed::Ping(text) => {
                            reactor.with_tx(key, |tx, _| tx.ping(text.as_bytes()));
                        }
                        Typed::Close(code, reason) => s.close(&mut reactor, key, code, reason),
                        Typed::Bad(why) => eprintln!("websock: {why}"),
                    }
                }
                Ok(Input::Bytes(bytes)) => send(&mut reactor, key, DataKind::Binary, &bytes),
                Ok(Input::End) | Err(TryRecvError::Disconnected) => {
                    s.eof_at = Some(now);
                    if o.exit_on_eof {
                        s.close(&mut reactor, key, CloseCode::NORMAL, "");
                    }
                }
                Err(TryRecvError::Empty) => break,
            }
        }
        // After end of input: close once the server has been quiet.
        let mut due = Vec::new();
        if let (Some(eof), false) = (s.eof_at, s.we_closed) {
            let quiet_from = eof.max(s.last_event);
            let at = quiet_from.saturating_add(o.linger_ms);
            if now >= at {
                s.close(&mut reactor, key, CloseCode::NORMAL, "");
            } else {
                due.push(at);
            }
        }
        if let (Some(at), Some(every), true) =
            (s.next_ping, o.ping_interval_ms, open && !s.we_closed)
        {
            if now >= at {
                reactor.with_tx(key, |tx, _| tx.ping(b""));
                s.next_ping = Some(now + every);
            }
            due.extend(s.next_ping);
        }
        if reactor.is_empty() {
            continue; // finished during a send; reported above
        }
        let cap = due
            .into_iter()
            .min()
            .map(|at| Duration::from_millis(at.saturating_sub(reactor.now())));
        let fired = reactor
            .turn(cap)
            .map_err(|e| fail(format!("poll failed: {e}")))?;
        if fired & (1 << SIGNAL.0) != 0 {
            let mut bytes = [0u8; 16];
            // One byte per signal: two quick Ctrl-Cs are two.
            while let Ok(n @ 1..) = signals.read(&mut bytes) {
                s.signals += n as u32;
            }
        }
    }
}

/// The client's progress through the session.
#[derive(Debug, Default)]
struct Session {
    opened_at: Option<u64>,
    /// When input ended.
    eof_at: Option<u64>,
    /// Events seen, and when the count last changed.
    events: u64,
    last_event: u64,
    next_ping: Option<u64>,
    we_closed: bool,
    /// SIGINTs not handled yet, and handled so far.
    signals: u32,
    interrupts: u32,
}

impl Session {
    fn close(&mut self, reactor: &mut Reactor<Printer>, key: usize, code: CloseCode, reason: &str) {
        reactor.with_tx(key, |tx, _| tx.close(code, reason));
        self.we_closed = true;
    }

    /// The exit status and line for a finished connection.
    fn outcome(&self, url: &WsUrl, slot: &Slot<Printer>) -> Outcome {
        if let Some(why) = dial::explain(url, &slot.link, &slot.transport) {
            return Err((status(&slot.link, &slot.transport), why));
        }
        let mut outcome = Ok(());
        if let (false, Some((code, reason))) = (self.we_closed, &slot.handler.peer_close) {
            let sep = if reason.is_empty() { "" } else { " " };
            let line = format!("the server closed the connection ({code}{sep}{reason})");
            // A script running the client should not take a server's
            // 1011 (internal error) for success.
            let fine = [
                CloseCode::NORMAL,
                CloseCode::GOING_AWAY,
                CloseCode::NO_STATUS,
            ]
            .map(|c| c.0);
            if fine.contains(code) {
                eprintln!("websock: {line}");
            } else {
                outcome = Err((exit::SERVER_ERROR, line));
            }
        }
        // The WebSocket closing handshake completed, so nothing was cut
        // off; the TLS layer's lapse is worth a word all the same.
        if slot.transport.tls().is_some_and(|t| t.truncated()) {
            eprintln!("websock: note: the server ended TCP without a TLS close_notify");
        }
        outcome
    }
}

/// The exit status for a connection that did not close cleanly.
fn status(link: &Link, transport: &Transport) -> u8 {
    let tls_handshaking = transport.tls().is_some_and(|t| t.is_handshaking());
    match link.failure() {
        Some(Failure::TimedOut(_)) => exit::TIMEOUT,
        Some(Failure::Handshake { .. }) => exit::HANDSHAKE,
        Some(Failure::Engine(_)) => exit::ERROR,
        _ if tls_handshaking || !link.was_open() => exit::HANDSHAKE,
        _ => exit::UNCLEAN,
    }
}

fn send(reactor: &mut Reactor<Printer>, key: usize, kind: DataKind, payload: &[u8]) {
    reactor.with_tx(key, |tx: &mut Tx<'_>, _| tx.send(kind, payload, true));
}

/// `connected to ws://…/ (subprotocol chat; permessage-deflate)`.
fn connected_line(url: &WsUrl, link: &Link) -> String {
    let mut what = Vec::new();
    if let Some(p) = link.protocol() {
        what.push(format!("subprotocol {p}"));
    }
    if let Some(e) = link.extensions() {
        what.push(e.to_string());
    }
    let what = match what.is_empty() {
        true => String::new(),
        false => format!(" ({})", what.join("; ")),
    };
    format!("connected to {url}{what}; Ctrl-D or Ctrl-C closes, /ping and /close CODE work too")
}

/// SIGINT writes a byte into a pipe the event loop watches (signal-hook's
/// pipe pattern), instead of killing the process: Ctrl-C then closes
/// cleanly.
fn sigint_pipe(reactor: &Reactor<Printer>) -> std::io::Result<UnixStream> {
    let (reader, writer) = StdUnixStream::pair()?;
    reader.set_nonblocking(true)?;
    writer.set_nonblocking(true)?;
    signal_hook::low_level::pipe::register(signal_hook::consts::SIGINT, writer)?;
    let mut reader = UnixStream::from_std(reader);
    reactor
        .registry()
        .register(&mut reader, SIGNAL, Interest::READABLE)?;
    Ok(reader)
}
