//! One worker: an event loop that accepts on its listeners and echoes on
//! its connections until a stop signal, then closes them with 1001 between
//! messages ([`Link::go_away`]), within the close timeout. TLS
//! connections that fail (bad handshakes, timeouts, a missing close_notify)
//! are logged on stderr (see [`crate::log`]: timestamped, floods
//! summarised).

use std::io;
#[cfg(not(target_os = "linux"))]
use std::io::Read;
#[cfg(not(target_os = "linux"))]
use std::os::unix::net::UnixStream as StdUnixStream;
use std::sync::Arc;
use std::time::Duration;

use mio::net::TcpListener;
#[cfg(not(target_os = "linux"))]
use mio::net::UnixStream;
use mio::{Interest, Token};
use rustls::ServerConnection;
use websock_core::Config;

use super::{Listener, ListenerKind};
use crate::clock::Clock;
use crate::echo::Echo;
use crate::link::{Failure, Link};
use crate::log;
use crate::reactor::Reactor;
use crate::tls::explain::TlsFailure;
use crate::tls::stream::TlsStream;
use crate::transport::Transport;
#[cfg(target_os = "linux")]
use crate::uring::Ring;

/// The io_uring loop for plain connections, where the worker has one.
#[cfg(target_os = "linux")]
type Uring = Option<Ring<Echo>>;
/// No io_uring off Linux: every connection is on the epoll loop.
#[cfg(not(target_os = "linux"))]
type Uring = Option<std::convert::Infallible>;

/// The stop pipe's token; listeners follow it.
const STOP: Token = Token(0);
/// How soon to retry accepting after an error such as running out of file
/// descriptors (the listener's readiness edge is not repeated).
const ACCEPT_RETRY_MS: u64 = 100;

/// What every connection of a worker is held to.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// The engine's limits and timeouts.
    pub config: Config,
    /// Queued output that stops reading (backpressure).
    pub high_water: usize,
    /// Subprotocols spoken.
    pub protocols: &'static [&'static str],
    /// Serve the built-in page to browsers.
    pub page: bool,
    /// Output waiting this long unwritten drops the connection (0: never).
    pub write_timeout_ms: u64,
    /// Ping after half of this in silence, close after all of it (0: never).
    pub idle_timeout_ms: u64,
    /// Serve plain connections from an io_uring loop (Linux).
    pub io_uring: bool,
}

/// How a worker learns that SIGINT or SIGTERM came.
#[cfg(target_os = "linux")]
pub type Stop = Arc<std::os::fd::OwnedFd>;
/// How a worker learns that SIGINT or SIGTERM came.
#[cfg(not(target_os = "linux"))]
pub type Stop = UnixStream;

/// Linux: SIGINT and SIGTERM are blocked in every thread (call this before
/// starting the workers: threads inherit the mask) and reported by one
/// signalfd that every worker's poll watches; it stays readable once one
/// came, as nothing reads it. No handler has to run: a worker waiting in
/// `io_uring_enter` is woken by the kernel alone (the ring watches the
/// epoll descriptor). Under valgrind a handler could not run while a
/// thread waited there (the other threads wait for that one's turn), and
/// a stopped server went on until some connection came.
#[cfg(target_os = "linux")]
pub fn stop_signals(workers: usize) -> io::Result<Vec<Stop>> {
    use std::os::fd::{FromRawFd, OwnedFd};
    // SAFETY: plain calls on a signal set we own; the descriptor returned
    // is new and owned by nobody else.
    let fd = unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::sigaddset(&mut set, libc::SIGTERM);
        let r = libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        if r != 0 {
            return Err(io::Error::from_raw_os_error(r));
        }
        let fd = libc::signalfd(-1, &set, libc::SFD_NONBLOCK | libc::SFD_CLOEXEC);
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        OwnedFd::from_raw_fd(fd)
    };
    let fd = Arc::new(fd);
    Ok(vec![fd; workers])
}

/// Elsewhere: one pipe per worker that SIGINT and SIGTERM write a byte
/// into, so that each worker's poll wakes up (signal-hook's pipe pattern).
#[cfg(not(target_os = "linux"))]
pub fn stop_signals(workers: usize) -> io::Result<Vec<Stop>> {
    let mut readers = Vec::with_capacity(workers);
    for _ in 0..workers {
        let (reader, writer) = StdUnixStream::pair()?;
        reader.set_nonblocking(true)?;
        writer.set_nonblocking(true)?;
        for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
            signal_hook::low_level::pipe::register(signal, writer.try_clone()?)?;
        }
        readers.push(UnixStream::from_std(reader));
    }
    Ok(readers)
}

/// Watches `stop` from `reactor` under [`STOP`].
#[cfg(target_os = "linux")]
fn watch_stop(reactor: &Reactor<Echo>, stop: &mut Stop, on: bool) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let fd = stop.as_raw_fd();
    let mut source = mio::unix::SourceFd(&fd);
    if on {
        reactor
            .registry()
            .register(&mut source, STOP, Interest::READABLE)
    } else {
        reactor.registry().deregister(&mut source)
    }
}

/// Watches `stop` from `reactor` under [`STOP`] (and drains the pipe when
/// it stops watching).
#[cfg(not(target_os = "linux"))]
fn watch_stop(reactor: &Reactor<Echo>, stop: &mut Stop, on: bool) -> io::Result<()> {
    if on {
        return reactor.registry().register(stop, STOP, Interest::READABLE);
    }
    let mut byte = [0u8; 64];
    while matches!(stop.read(&mut byte), Ok(n) if n > 0) {}
    reactor.registry().deregister(stop)
}

/// Runs one worker until it is told to stop and its connections are gone.
pub fn run(
    listeners: Vec<Listener>,
    limits: Limits,
    clock: Clock,
    mut stop: Stop,
) -> io::Result<()> {
    let mut reactor = Reactor::<Echo>::new(clock)?;
    let mut uring: Uring = None;
    #[cfg(target_os = "linux")]
    if limits.io_uring {
        // The start line said io_uring after a probe; a worker that
        // cannot have one after all says so and serves with epoll.
        match Ring::new(clock) {
            Ok(ring) => uring = Some(ring),
            Err(e) => log::trouble(format_args!(
                "io_uring refused ({e}); this worker uses epoll"
            )),
        }
    }
    let mut sockets: Vec<(TcpListener, ListenerKind)> = listeners
        .into_iter()
        .map(|l| (TcpListener::from_std(l.socket), l.kind))
        .collect();
    for (i, (socket, _)) in sockets.iter_mut().enumerate() {
        reactor
            .registry()
            .register(socket, Token(1 + i), Interest::READABLE)?;
    }
    watch_stop(&reactor, &mut stop, true)?;
    let mut stopping: Option<u64> = None;
    let mut accept_retry: Option<u64> = None;
    loop {
        // The clock is read here only when the worker itself has something
        // due (stopping, retrying accept): most wake-ups are for
        // connections' messages, and the loops read the clock for those.
        let wake_at = [stopping, accept_retry].into_iter().flatten().min();
        let cap = wake_at.map(|at| Duration::from_millis(at.saturating_sub(reactor.now())));
        // A pending summary of peer warnings is printed on time.
        let cap = match (cap, log::next_flush()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let fired = match uring.as_mut() {
            #[cfg(target_os = "linux")]
            Some(ring) => ring.turn(&mut reactor, cap)?,
            #[cfg(not(target_os = "linux"))]
            Some(never) => match *never {},
            None => reactor.turn(cap)?,
        };
        log::flush_due();
        // Dropping finished links closes their sockets.
        reactor
            .drain_finished()
            .for_each(|slot| log_tls(&slot.link, &slot.transport));
        if fired == 0 && stopping.is_none() && accept_retry.is_none() {
            continue;
        }
        let now = reactor.now();
        if fired & 1 != 0 && stopping.is_none() {
            // Left unread (other workers watch it too), and not watched
            // any more: it stays readable.
            watch_stop(&reactor, &mut stop, false)?;
            // Every connection gets the close timeout to finish the message
            // in progress each way, then the closing handshake (1001); the
            // worker ends when they are gone or that time has passed.
            let grace = limits.config.close_timeout_ms;
            stopping = Some(now.saturating_add(grace));
            for (mut socket, _) in sockets.drain(..) {
                let _ = reactor.registry().deregister(&mut socket);
            }
            for key in reactor.keys() {
                reactor.with_link(key, |link, _| {
                    link.go_away(now, grace, "server shutting down");
                });
            }
            #[cfg(target_os = "linux")]
            if let Some(ring) = uring.as_mut() {
                for key in ring.keys() {
                    ring.with_link(key, |link, _| {
                        link.go_away(now, grace, "server shutting down");
                    })?;
                }
            }
            reactor
                .drain_finished()
                .for_each(|slot| log_tls(&slot.link, &slot.transport));
        }
        let retry_due = accept_retry.is_some_and(|at| now >= at);
        if retry_due {
            accept_retry = None;
        }
        for (i, (socket, kind)) in sockets.iter().enumerate() {
            if retry_due || fired & (1 << (1 + i)) != 0 {
                if let Err(e) = accept_all(socket, kind, &mut reactor, &mut uring, limits) {
                    log::trouble(format_args!("accept failed: {e}"));
                    accept_retry = Some(now + ACCEPT_RETRY_MS);
                }
            }
        }
        // A connection whose first bytes came with it may have finished
        // already (a plain-text request on the TLS port): close it now,
        // not at the next wake-up.
        reactor
            .drain_finished()
            .for_each(|slot| log_tls(&slot.link, &slot.transport));
        if let Some(until) = stopping {
            let uring_empty = match uring.as_ref() {
                #[cfg(target_os = "linux")]
                Some(ring) => ring.is_empty(),
                #[cfg(not(target_os = "linux"))]
                Some(never) => match *never {},
                None => true,
            };
            if (reactor.is_empty() && uring_empty) || now >= until {
                return Ok(());
            }
        }
    }
}

/// Accepts every pending connection; an error is returned only for what
/// may go away with time (e.g. too many open files).
fn accept_all(
    socket: &TcpListener,
    kind: &ListenerKind,
    reactor: &mut Reactor<Echo>,
    uring: &mut Uring,
    limits: Limits,
) -> io::Result<()> {
    loop {
        match socket.accept() {
            Ok((stream, _)) => {
                // Echoes are small writes that must leave at once.
                let _ = stream.set_nodelay(true);
                let transport = match kind {
                    ListenerKind::Plain => Transport::Plain(stream),
                    ListenerKind::Tls(config) => match ServerConnection::new(Arc::clone(config)) {
                        Ok(conn) => Transport::Tls(Box::new(TlsStream::new(stream, conn))),
                        Err(e) => {
                            log::trouble(format_args!("cannot start TLS on a new connection: {e}"));
                            continue;
                        }
                    },
                };
                let link = Link::server(limits.config, reactor.now())
                    .with_high_water(limits.high_water)
                    .with_protocols(limits.protocols)
                    .with_page(limits.page)
                    .with_write_timeout(limits.write_timeout_ms)
                    .with_idle_timeout(limits.idle_timeout_ms);
                #[cfg(target_os = "linux")]
                let (link, transport) = match (transport, uring.as_mut()) {
                    (Transport::Plain(stream), Some(ring)) => {
                        if let Err(e) = ring.insert(link, stream.into(), Echo::default()) {
                            log::trouble(format_args!("cannot watch a new connection: {e}"));
                        }
                        continue;
                    }
                    other => (link, other.0),
                };
                #[cfg(not(target_os = "linux"))]
                let _ = &uring;
                if let Err(e) = reactor.insert(link, transport, Echo::default()) {
                    log::trouble(format_args!("cannot watch a new connection: {e}"));
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::Interrupted | io::ErrorKind::ConnectionAborted
                ) => {}
            Err(e) => return Err(e),
        }
    }
}

/// Logs how a finished TLS connection went wrong, if it did as far as TLS
/// is concerned (the WebSocket layer's own failures are the peer's
/// business and go unlogged, as before).
fn log_tls(link: &Link, transport: &Transport) {
    let Some(tls) = transport.tls() else {
        return;
    };
    let Some(what) = tls_trouble(link, tls) else {
        return;
    };
    match tls.peer() {
        Some(peer) => log::peer(format_args!("wss peer {peer}: {what}")),
        None => log::peer(format_args!("wss peer: {what}")),
    }
}

/// What went wrong with a TLS connection, in words; `None` if nothing did.
fn tls_trouble(link: &Link, tls: &TlsStream) -> Option<String> {
    match link.failure() {
        Some(Failure::Io(e)) => {
            if let Some(failure) = TlsFailure::find(e) {
                return Some(match failure.plain_text {
                    true => format!("{failure} (a ws:// or http:// client on the wss:// port?)"),
                    false => failure.to_string(),
                });
            }
            if tls.is_handshaking() {
                return Some(format!("connection failed during the TLS handshake: {e}"));
            }
        }
        Some(Failure::TimedOut(_)) if tls.is_handshaking() => {
            return Some("TLS handshake timed out".to_string())
        }
        _ => {}
    }
    if tls.is_handshaking() {
        return Some("closed the connection during the TLS handshake".to_string());
    }
    if tls.truncated() {
        return Some("ended its TCP stream without a TLS close_notify".to_string());
    }
    None
}
