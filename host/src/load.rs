//! `websock load URL`: many connections against an echo server at once,
//! checked, not only counted. Every connection opens and stays open while
//! the rest open; then each sends its messages (a few in flight) and checks
//! that every one comes back exactly once, byte for byte, in order. A
//! second group of connections, on a thread of its own, measures round
//! trips meanwhile. With `--server-pid` it reads the server's memory from
//! /proc before, with every connection idle, while busy, and at its peak.
//!
//! Source addresses are spread over 127.0.0.2 and up, so that tens of
//! thousands of connections to one loopback port never run out of
//! ephemeral ports. Exits non-zero on any lost, extra, changed or
//! reordered message and on any connection that did not close cleanly.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, Socket, Type};
use websock_core::{CloseCode, Config, DataKind, Event, State};

use crate::clock::Clock;
use crate::dial::CONNECT_TIMEOUT;
use crate::link::{Handler, Link, Target, Tx};
use crate::reactor::Reactor;
use crate::transport::Transport;
use crate::url::WsUrl;

/// What `websock load` was asked to do.
#[derive(Clone, Debug)]
pub struct Options {
    /// The echo server (ws:// only: the point is connection count).
    pub url: String,
    /// Connections held open at once, each sending `messages`.
    pub connections: usize,
    /// Messages each connection sends.
    pub messages: usize,
    /// Payload bytes per message (at least 8: connection and sequence).
    pub size: usize,
    /// Messages in flight per connection.
    pub depth: usize,
    /// Connections of the latency group.
    pub latency_connections: usize,
    /// Source addresses to spread over (127.0.0.2 and up).
    pub sources: u8,
    /// The server's process, for its memory figures.
    pub server_pid: Option<u32>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            url: String::new(),
            connections: 1000,
            messages: 10,
            size: 64,
            depth: 2,
            latency_connections: 20,
            sources: 4,
            server_pid: None,
        }
    }
}

/// Connections opened between turns of the event loop: few enough that
/// the server's accept queue never overflows (an overflow costs a SYN
/// retry, a second).
const BATCH: usize = 200;
/// How long a phase may take before the run counts as stalled.
const PHASE_LIMIT: Duration = Duration::from_secs(120);
/// How long the connections stay idle before the last memory figure.
const IDLE_AGAIN: Duration = Duration::from_secs(2);
/// Gap between two round trips of one latency connection.
const LATENCY_GAP: Duration = Duration::from_millis(5);

/// The payload of message `seq` of connection `conn`: both numbers first,
/// then bytes that differ per connection and message, so that a message
/// delivered to the wrong connection, twice, or changed is caught.
fn payload(conn: u32, seq: u32, size: usize) -> Vec<u8> {
    let mut p = Vec::with_capacity(size);
    p.extend_from_slice(&conn.to_be_bytes());
    p.extend_from_slice(&seq.to_be_bytes());
    let seed = conn.wrapping_mul(2_654_435_761).wrapping_add(seq);
    p.extend((0..size.saturating_sub(8)).map(|i| (seed.wrapping_add(i as u32 * 7) >> 3) as u8));
    p.truncate(size.max(8));
    p
}

/// One load connection: sends its messages, checks their echoes.
#[derive(Debug)]
struct Checker {
    conn: u32,
    size: usize,
    total: u32,
    depth: u32,
    /// Messages sent so far (also the next sequence number).
    sent: u32,
    /// Echoes received and checked.
    echoed: u32,
    /// The echo being gathered.
    current: Vec<u8>,
    /// The first thing that went wrong.
    error: Option<String>,
    /// Send only once told to (the idle phase sends nothing).
    go: bool,
    /// Round trip of each echo (latency group only).
    timed: Option<Timing>,
}

#[derive(Debug, Default)]
struct Timing {
    sent_at: Option<Instant>,
    rtts: Vec<Duration>,
}

impl Checker {
    fn new(conn: u32, size: usize, total: u32, depth: u32) -> Checker {
        Checker {
            conn,
            size,
            total,
            depth,
            sent: 0,
            echoed: 0,
            current: Vec::new(),
            error: None,
            go: false,
            timed: None,
        }
    }

    fn fill(&mut self, tx: &mut Tx<'_>) {
        while self.go && self.sent < self.total && self.sent - self.echoed < self.depth {
            let p = payload(self.conn, self.sent, self.size);
            if let Err(e) = tx.send(DataKind::Binary, &p, true) {
                self.error.get_or_insert(format!("send failed: {e}"));
                return;
            }
            if let Some(t) = &mut self.timed {
                t.sent_at = Some(Instant::now());
            }
            self.sent += 1;
        }
    }

    fn done(&self) -> bool {
        self.echoed == self.total
    }
}

impl Handler for Checker {
    fn event(&mut self, event: Event<'_>, tx: &mut Tx<'_>) {
        match event {
            Event::Data { chunk, last, kind } => {
                self.current.extend_from_slice(chunk);
                if !last {
                    return;
                }
                let got = std::mem::take(&mut self.current);
                if self.echoed >= self.sent {
                    self.error.get_or_insert(format!(
                        "connection {}: an echo nothing was sent for",
                        self.conn
                    ));
                } else if kind != DataKind::Binary
                    || got != payload(self.conn, self.echoed, self.size)
                {
                    self.error.get_or_insert(format!(
                        "connection {}: echo {} differs from what was sent ({} bytes back)",
                        self.conn,
                        self.echoed,
                        got.len()
                    ));
                }
                self.echoed += 1;
                if let Some(t) = &mut self.timed {
                    if let Some(at) = t.sent_at.take() {
                        t.rtts.push(at.elapsed());
                    }
                } else {
                    self.fill(tx);
                }
            }
            Event::Close { code, .. } if code != CloseCode::NORMAL => {
                self.error.get_or_insert(format!(
                    "connection {}: server closed with {}",
                    self.conn, code.0
                ));
            }
            _ => {}
        }
    }
}

/// Runs the load and prints its figures; an error names what went wrong.
pub fn run(options: &Options) -> Result<(), String> {
    let url = WsUrl::parse(&options.url).map_err(|e| format!("bad URL '{}': {e}", options.url))?;
    if url.secure {
        return Err("load drives ws:// only".into());
    }
    let server = (url.host.as_str(), url.port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve '{}': {e}", url.host))?
        .find(SocketAddr::is_ipv4)
        .ok_or_else(|| format!("'{}' has no IPv4 address", url.host))?;
    let size = options.size.max(8);
    let rss = |what| options.server_pid.map(|pid| memory(pid, what)).transpose();
    let base = rss("VmRSS")?;

    let started = Instant::now();
    let mut reactor =
        Reactor::<Checker>::new(Clock::new()).map_err(|e| format!("cannot create a poll: {e}"))?;
    let n = options.connections;
    let total = u32::try_from(options.messages).map_err(|_| "too many messages")?;
    let depth = u32::try_from(options.depth.max(1)).unwrap_or(u32::MAX);
    let mut opened = 0;
    while opened < n {
        let batch = BATCH.min(n - opened);
        for i in opened..opened + batch {
            let (link, transport) = dial(&url, server, options.sources, i, reactor.now())?;
            let checker = Checker::new(i as u32, size, total, depth);
            reactor
                .insert(link, transport, checker)
                .map_err(|e| format!("cannot watch a connection: {e}"))?;
        }
        opened += batch;
        run_until(&mut reactor, "opening", |r| {
            r.slots().all(|s| s.link.state() != State::AwaitingResponse)
        })?;
    }
    let open_time = started.elapsed();
    let idle = rss("VmRSS")?;

    // The latency group starts once everything is open and measures while
    // the load runs.
    let stop = Arc::new(AtomicBool::new(false));
    let latency = {
        let (url, stop) = (url.clone(), Arc::clone(&stop));
        let (count, sources) = (options.latency_connections, options.sources);
        thread::spawn(move || measure_latency(&url, server, sources, n, count, size, &stop))
    };
    let busy_start = Instant::now();
    for key in reactor.keys() {
        reactor.with_tx(key, |tx, c| {
            c.go = true;
            c.fill(tx);
        });
    }
    let mut busy = idle;
    let mut last_sample = Instant::now();
    let outcome = run_until(&mut reactor, "exchanging", |r| {
        if last_sample.elapsed() >= Duration::from_millis(50) {
            last_sample = Instant::now();
            if let Ok(Some(now)) = rss("VmRSS") {
                busy = busy.max(Some(now));
            }
        }
        r.slots()
            .all(|s| s.handler.done() || s.handler.error.is_some())
    });
    let busy_time = busy_start.elapsed();
    stop.store(true, Ordering::Relaxed);
    let latency = latency
        .join()
        .map_err(|_| "the latency thread panicked".to_string())?;
    outcome?;
    let peak = rss("VmHWM")?;
    // Every echo is back: the connections are idle again, still open; the
    // server frees an idle connection's output buffer after a second.
    let quiet = Instant::now();
    while quiet.elapsed() < IDLE_AGAIN {
        reactor
            .turn(Some(Duration::from_millis(100)))
            .map_err(|e| format!("poll failed: {e}"))?;
    }
    let after = rss("VmRSS")?;
    let errors: Vec<String> = reactor
        .slots()
        .filter_map(|s| s.handler.error.clone())
        .collect();

    // Close every connection; each must end with a clean closing handshake.
    for key in reactor.keys() {
        reactor.with_tx(key, |tx, _| tx.close(CloseCode::NORMAL, ""));
    }
    let mut unclean = 0;
    let closing = Instant::now();
    while !reactor.is_empty() && closing.elapsed() < PHASE_LIMIT {
        reactor
            .turn(Some(Duration::from_millis(100)))
            .map_err(|e| format!("poll failed: {e}"))?;
        for slot in reactor.drain_finished() {
            if !slot.link.closure().is_some_and(|c| c.clean) {
                unclean += 1;
            }
        }
    }
    let left_open = reactor.slots().count();
    let echoed = u64::from(total) * n as u64;

    println!(
        "load: {n} connections open at once ({} source addresses) in {:.1} s; \
         {echoed} messages of {size} bytes, {} in flight per connection, echoed in {:.1} s",
        options.sources.max(1),
        open_time.as_secs_f64(),
        depth,
        busy_time.as_secs_f64(),
    );
    if let (Some(base), Some(idle), Some(busy), Some(peak), Some(after)) =
        (base, idle, busy, peak, after)
    {
        let per = |kib: u64| (kib.saturating_sub(base) as f64) * 1024.0 / n.max(1) as f64;
        println!(
            "load: server memory: {:.1} MiB before, {:.1} MiB idle ({:.0} B per connection), \
             {:.1} MiB busy ({:.0} B per connection), {:.1} MiB idle again 2 s after ({:.0} B per \
             connection), {:.1} MiB peak (VmHWM)",
            base as f64 / 1024.0,
            idle as f64 / 1024.0,
            per(idle),
            busy as f64 / 1024.0,
            per(busy),
            after as f64 / 1024.0,
            per(after),
            peak as f64 / 1024.0,
        );
    }
    let (mut rtts, latency_error) = latency;
    if !rtts.is_empty() {
        rtts.sort_unstable();
        let at = |q: f64| rtts[((rtts.len() - 1) as f64 * q).round() as usize];
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        println!(
            "load: latency under load ({} connections, {} round trips of {size} bytes): \
             p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            options.latency_connections,
            rtts.len(),
            ms(at(0.5)),
            ms(at(0.99)),
            ms(at(1.0)),
        );
    }
    let mut problems = errors;
    if let Some(e) = latency_error {
        problems.push(format!("latency group: {e}"));
    }
    if options.latency_connections > 0 && rtts.is_empty() {
        problems.push("the latency group measured nothing".into());
    }
    if unclean > 0 {
        problems.push(format!("{unclean} connections did not close cleanly"));
    }
    if left_open > 0 {
        problems.push(format!("{left_open} connections did not finish closing"));
    }
    match problems.first() {
        None => {
            println!("load: every message echoed exactly once, byte for byte; every connection closed cleanly");
            Ok(())
        }
        Some(first) => Err(format!("{} problems, the first: {first}", problems.len())),
    }
}

/// Connects the `i`th connection from its source address, blocking (a
/// loopback connect is quick), and queues its upgrade request.
fn dial(
    url: &WsUrl,
    server: SocketAddr,
    sources: u8,
    i: usize,
    now: u64,
) -> Result<(Link, Transport), String> {
    let source = Ipv4Addr::new(127, 0, 0, 2 + (i % usize::from(sources.max(1))) as u8);
    let fail = |e: std::io::Error| format!("connection {i} from {source} to {server}: {e}");
    let socket = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP)).map_err(fail)?;
    // Binding picks the port now, among those free on this source address
    // (half of the ephemeral range: Linux leaves the other half to connect).
    socket
        .bind(&SocketAddr::new(IpAddr::V4(source), 0).into())
        .map_err(fail)?;
    socket
        .connect_timeout(&server.into(), CONNECT_TIMEOUT)
        .map_err(fail)?;
    socket.set_tcp_nodelay(true).map_err(fail)?;
    socket.set_nonblocking(true).map_err(fail)?;
    let stream = mio::net::TcpStream::from_std(socket.into());
    let mut entropy = [0u8; 32];
    getrandom::fill(&mut entropy).map_err(|e| format!("no randomness from the OS: {e}"))?;
    let host = url.host_header();
    let target = Target {
        host: &host,
        resource: &url.resource,
        headers: "",
    };
    let link = Link::client(Config::new(), now, entropy, &target, &[])
        .map_err(|e| format!("cannot write the upgrade request: {e}"))?;
    Ok((link, Transport::Plain(stream)))
}

/// Turns the loop until `done` says so; any connection that ends early,
/// or a phase longer than [`PHASE_LIMIT`], is an error.
fn run_until(
    reactor: &mut Reactor<Checker>,
    phase: &str,
    mut done: impl FnMut(&Reactor<Checker>) -> bool,
) -> Result<(), String> {
    let start = Instant::now();
    while !done(reactor) {
        if start.elapsed() > PHASE_LIMIT {
            return Err(format!("{phase}: no end after {PHASE_LIMIT:?}"));
        }
        reactor
            .turn(Some(Duration::from_millis(50)))
            .map_err(|e| format!("poll failed: {e}"))?;
        if let Some(slot) = reactor.drain_finished().next() {
            return Err(format!(
                "{phase}: connection {} ended early ({:?}, {:?})",
                slot.handler.conn,
                slot.link.closure(),
                slot.link.failure()
            ));
        }
    }
    Ok(())
}

/// The latency group: `count` connections, each sending one message, waiting
/// for its echo, pausing [`LATENCY_GAP`], until `stop`. Returns the round
/// trips and the first error.
fn measure_latency(
    url: &WsUrl,
    server: SocketAddr,
    sources: u8,
    first: usize,
    count: usize,
    size: usize,
    stop: &AtomicBool,
) -> (Vec<Duration>, Option<String>) {
    let mut rtts = Vec::new();
    let result = (|| -> Result<(), String> {
        let mut reactor = Reactor::<Checker>::new(Clock::new())
            .map_err(|e| format!("cannot create a poll: {e}"))?;
        for i in first..first + count {
            let (link, transport) = dial(url, server, sources, i, reactor.now())?;
            let mut checker = Checker::new(i as u32, size, u32::MAX, 1);
            checker.timed = Some(Timing::default());
            checker.go = true;
            reactor
                .insert(link, transport, checker)
                .map_err(|e| format!("cannot watch a connection: {e}"))?;
        }
        run_until(&mut reactor, "opening (latency)", |r| {
            r.slots().all(|s| s.link.state() != State::AwaitingResponse)
        })?;
        let mut last_send = vec![Instant::now(); reactor.keys().len()];
        while !stop.load(Ordering::Relaxed) {
            for (n, key) in reactor.keys().into_iter().enumerate() {
                let idle = reactor.get_mut(key).is_some_and(|s| {
                    s.handler.sent == s.handler.echoed && last_send[n].elapsed() >= LATENCY_GAP
                });
                if idle {
                    last_send[n] = Instant::now();
                    reactor.with_tx(key, |tx, c| {
                        c.total = c.sent + 1;
                        c.fill(tx);
                    });
                }
            }
            reactor
                .turn(Some(Duration::from_millis(1)))
                .map_err(|e| format!("poll failed: {e}"))?;
            if let Some(slot) = reactor.drain_finished().next() {
                return Err(format!(
                    "a latency connection ended early: {:?}",
                    slot.link.failure()
                ));
            }
        }
        for slot in reactor.slots() {
            if let Some(e) = &slot.handler.error {
                return Err(e.clone());
            }
        }
        for key in reactor.keys() {
            reactor.with_tx(key, |tx, _| tx.close(CloseCode::NORMAL, ""));
        }
        let closing = Instant::now();
        while !reactor.is_empty() && closing.elapsed() < Duration::from_secs(10) {
            reactor
                .turn(Some(Duration::from_millis(50)))
                .map_err(|e| format!("poll failed: {e}"))?;
            for slot in reactor.drain_finished() {
                if let Some(t) = slot.handler.timed {
                    rtts.extend(t.rtts);
                }
                if !slot.link.closure().is_some_and(|c| c.clean) {
                    return Err("a latency connection did not close cleanly".into());
                }
            }
        }
        Ok(())
    })();
    (rtts, result.err())
}

/// A figure of `/proc/PID/status` in KiB (`VmRSS`, `VmHWM`).
fn memory(pid: u32, what: &str) -> Result<u64, String> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .map_err(|e| format!("cannot read the server's /proc status: {e}"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(what)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| format!("no {what} in /proc/{pid}/status"))
}

#[cfg(test)]
mod tests {
    use super::payload;

    #[test]
    fn payloads_differ_by_connection_and_sequence() {
        assert_eq!(payload(1, 2, 64).len(), 64);
        assert_eq!(payload(1, 2, 3).len(), 8);
        assert_ne!(payload(1, 2, 64), payload(2, 1, 64));
        assert_ne!(payload(1, 2, 64)[8..], payload(1, 3, 64)[8..]);
    }
}
