//! `websock serve`: the echo server. One worker thread per core, each with
//! its own event loop and its own listening socket on the same address
//! (SO_REUSEPORT: the kernel spreads connections over the workers), and no
//! thread per connection. ws:// and wss:// listeners share the workers:
//! a TLS connection is one more link in the same event loop.

mod worker;

use std::io::Write;
use std::net::{SocketAddr, TcpListener, ToSocketAddrs};
use std::sync::Arc;
use std::thread;

use rustls::ServerConfig;
use socket2::{Domain, Protocol, Socket, Type};
use websock_core::Config;

use crate::clock::Clock;
use crate::link::{DEFAULT_HIGH_WATER, DEFAULT_WRITE_TIMEOUT_MS};
use crate::tls::server::{self as tls_server, Identity, SELF_SIGNED_NAMES};

/// What `websock serve` was asked to do.
#[derive(Clone, Debug)]
pub struct Options {
    /// Where to listen for ws://; `None` when switched off.
    pub ws: Option<String>,
    /// Where to listen for wss://; `None` when switched off.
    pub wss: Option<String>,
    /// The wss:// certificate.
    pub identity: Identity,
    /// Worker threads; `None` for one per core.
    pub workers: Option<usize>,
    /// Limits and timeouts for every connection.
    pub config: Config,
    /// Queued output per connection that stops reading from it.
    pub max_pending_output: usize,
    /// Subprotocols spoken; the first one a client offers is chosen.
    pub protocols: Vec<String>,
    /// No warnings about peers on stderr.
    pub quiet: bool,
    /// Serve the built-in page to browsers.
    pub page: bool,
    /// Drop a connection whose output waits this long unwritten (0: never).
    pub write_timeout_ms: u64,
    /// Ping a connection quiet for half of this, close one silent for all
    /// of it (0: never).
    pub idle_timeout_ms: u64,
}

/// The idle timeout `websock serve` starts with: two minutes, as common
/// servers use; a live peer answers the ping sent after one.
pub const DEFAULT_IDLE_TIMEOUT_MS: u64 = 120_000;

impl Default for Options {
    fn default() -> Self {
        Options {
            ws: Some("127.0.0.1:8888".to_string()),
            wss: Some("127.0.0.1:8889".to_string()),
            identity: Identity::SelfSigned,
            workers: None,
            config: crate::cli::default_config(),
            max_pending_output: DEFAULT_HIGH_WATER,
            protocols: Vec::new(),
            quiet: false,
            page: true,
            write_timeout_ms: DEFAULT_WRITE_TIMEOUT_MS,
            idle_timeout_ms: DEFAULT_IDLE_TIMEOUT_MS,
        }
    }
}

/// The kind of a listening socket: what its connections speak.
#[derive(Clone, Debug)]
pub enum ListenerKind {
    /// WebSocket over plain TCP.
    Plain,
    /// WebSocket over TLS, with this configuration.
    Tls(Arc<ServerConfig>),
}

/// One listening socket handed to a worker.
#[derive(Debug)]
pub struct Listener {
    /// The bound, non-blocking socket.
    pub socket: TcpListener,
    /// What its connections speak.
    pub kind: ListenerKind,
}

/// Binds, prints where it listens, and serves until SIGINT or SIGTERM.
pub fn run(options: &Options) -> Result<(), String> {
    let mut wanted = Vec::new();
    if let Some(ws) = &options.ws {
        wanted.push(("ws", resolve(ws)?, ListenerKind::Plain));
    }
    // Made before binding, so that a bad certificate binds nothing. The
    // generated certificate's file lives as long as the server.
    let tls = match &options.wss {
        Some(wss) => {
            let tls = tls_server::configure(&options.identity)?;
            let kind = ListenerKind::Tls(Arc::clone(&tls.config));
            wanted.push(("wss", resolve(wss)?, kind));
            Some(tls)
        }
        None => None,
    };
    if wanted.is_empty() {
        return Err("nothing to serve: every listener is switched off".into());
    }
    let workers = options
        .workers
        .unwrap_or_else(|| thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    let mut per_worker: Vec<Vec<Listener>> = (0..workers).map(|_| Vec::new()).collect();
    let mut serving = Vec::new();
    for (scheme, addr, kind) in wanted {
        refuse_if_taken(addr)?;
        // Port 0 asks the system for a port; the other workers then bind
        // the one it chose.
        let first = bind(addr)?;
        let local = first
            .local_addr()
            .map_err(|e| format!("cannot read the bound address: {e}"))?;
        serving.push(format!("{scheme}://{local}"));
        let mut socket = Some(first);
        for listeners in &mut per_worker {
            let socket = match socket.take() {
                Some(s) => s,
                None => bind(local)?,
            };
            listeners.push(Listener {
                socket,
                kind: kind.clone(),
            });
        }
    }
    crate::log::set_quiet(options.quiet);
    // Leaked once: every connection borrows the list for its handshake.
    let protocols: &'static [&'static str] = Vec::leak(
        options
            .protocols
            .iter()
            .map(|p| &*String::leak(p.clone()))
            .collect(),
    );
    let (io_uring, io) = choose_io();
    let clock = Clock::new();
    let stops = worker::stop_signals(workers).map_err(|e| format!("cannot handle signals: {e}"))?;
    let written = tls.as_ref().and_then(|t| t.written.as_ref());
    let certificate = match (written, &options.identity) {
        _ if tls.is_none() => String::new(),
        (Some(w), _) => format!(
            "; self-signed certificate for {} written to {}",
            SELF_SIGNED_NAMES.join(", "),
            w.path.display()
        ),
        (None, Identity::Files { cert, .. }) => format!("; certificate from {}", cert.display()),
        (None, Identity::SelfSigned) => String::new(),
    };
    let mut start = format!(
        "websock: serving {} ({workers} workers, {io}){certificate}\n",
        serving.join(" and ")
    );
    // What a newcomer does next, on a second line (scripts read the first).
    if let (Some(ws), true) = (
        serving.iter().find(|s| s.starts_with("ws://")),
        options.page,
    ) {
        let http = ws.replacen("ws://", "http://", 1);
        start.push_str(&format!(
            "websock: open {http}/ in a browser, or run: websock client {ws}/\n"
        ));
    }
    // One write, errors ignored: a reader that takes the first line and
    // closes the pipe must not stop the server.
    let _ = std::io::stdout().write_all(start.as_bytes());
    let _ = std::io::stdout().flush();
    let handles: Vec<_> = per_worker
        .into_iter()
        .zip(stops)
        .enumerate()
        .map(|(i, (listeners, stop))| {
            let limits = worker::Limits {
                config: options.config,
                high_water: options.max_pending_output,
                protocols,
                page: options.page,
                write_timeout_ms: options.write_timeout_ms,
                idle_timeout_ms: options.idle_timeout_ms,
                io_uring,
            };
            thread::Builder::new()
                .name(format!("worker-{i}"))
                .spawn(move || worker::run(listeners, limits, clock, stop))
        })
        .collect::<Result<_, _>>()
        .map_err(|e| format!("cannot start a worker thread: {e}"))?;
    let mut result = Ok(());
    for h in handles {
        match h.join() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => result = Err(format!("worker failed: {e}")),
            Err(_) => result = Err("a worker thread panicked".to_string()),
        }
    }
    crate::log::flush_all();
    // Removes the generated certificate's file.
    drop(tls);
    result
}

/// Chooses the workers' I/O backend once, at start: io_uring for plain
/// connections where the kernel allows it (TLS connections stay on epoll
/// either way), else epoll. `WEBSOCK_IO=epoll` asks for epoll (the tests
/// use it to prove the fallback). Returns the choice and how to say it on
/// the start line.
fn choose_io() -> (bool, String) {
    if std::env::var_os("WEBSOCK_IO").is_some_and(|v| v == "epoll") {
        return (false, "epoll: io_uring off by WEBSOCK_IO=epoll".to_string());
    }
    #[cfg(target_os = "linux")]
    return match crate::uring::probe() {
        Ok(()) => (true, "io_uring".to_string()),
        Err(e) => (false, format!("epoll: io_uring refused: {e}")),
    };
    #[cfg(not(target_os = "linux"))]
    (false, "epoll".to_string())
}

fn resolve(spec: &str) -> Result<SocketAddr, String> {
    spec.to_socket_addrs()
        .map_err(|e| format!("bad listen address '{spec}': {e}"))?
        .next()
        .ok_or_else(|| format!("bad listen address '{spec}': it resolves to nothing"))
}

/// Fails with one clear line when another socket already listens on
/// `addr`. Our own listeners share their port through SO_REUSEPORT, which
/// would let a second server (of the same user) bind it too and silently
/// take half of the connections; a probe bound without SO_REUSEPORT is
/// refused by the kernel while any listener holds the address.
fn refuse_if_taken(addr: SocketAddr) -> Result<(), String> {
    if addr.port() == 0 {
        return Ok(()); // the system picks a free port
    }
    let probe = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    // SO_REUSEADDR only skips connections in TIME_WAIT, never a listener.
    let _ = probe.set_reuse_address(true);
    match probe.bind(&addr.into()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => Err(format!(
            "cannot listen on {addr}: another process is already listening there \
             (another websock serve?); pick another port with --ws/--wss"
        )),
        Err(e) => Err(format!("cannot listen on {addr}: {e}")),
    }
}

fn bind(addr: SocketAddr) -> Result<TcpListener, String> {
    let fail = |e: std::io::Error| format!("cannot listen on {addr}: {e}");
    let socket =
        Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP)).map_err(fail)?;
    socket.set_reuse_address(true).map_err(fail)?;
    socket.set_reuse_port(true).map_err(fail)?;
    socket.set_nonblocking(true).map_err(fail)?;
    socket.bind(&addr.into()).map_err(fail)?;
    socket.listen(1024).map_err(fail)?;
    Ok(socket.into())
}
