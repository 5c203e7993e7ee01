//! `websock serve`: the echo server. One worker thread per core, each with
//! its own event loop and its own listening socket on the same address
//! (SO_REUSEPORT: the kernel spreads connections over the workers), and no
//! thread per connection.

mod worker;

use std::io::Write;
use std::net::{SocketAddr, TcpListener, ToSocketAddrs};
use std::thread;

use socket2::{Domain, Protocol, Socket, Type};
use websock_core::Config;

use crate::clock::Clock;
use crate::link::DEFAULT_HIGH_WATER;

/// What `websock serve` was asked to do.
#[derive(Clone, Debug)]
pub struct Options {
    /// Where to listen for ws://; `None` when switched off.
    pub ws: Option<String>,
    /// Worker threads; `None` for one per core.
    pub workers: Option<usize>,
    /// Limits and timeouts for every connection.
    pub config: Config,
    /// Queued output per connection that stops reading from it.
    pub max_pending_output: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            ws: Some("127.0.0.1:8888".to_string()),
            workers: None,
            config: Config::new(),
            max_pending_output: DEFAULT_HIGH_WATER,
        }
    }
}

/// The kind of a listening socket: what its connections speak. Only plain
/// ws:// exists today; wss:// will be a second kind in the same loop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListenerKind {
    /// WebSocket over plain TCP.
    Plain,
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
    let Some(ws) = &options.ws else {
        return Err("nothing to serve: every listener is switched off".into());
    };
    let addr = resolve(ws)?;
    let workers = options
        .workers
        .unwrap_or_else(|| thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    // Port 0 asks the system for a port; the other workers then bind the
    // one it chose.
    let first = bind(addr)?;
    let local = first
        .local_addr()
        .map_err(|e| format!("cannot read the bound address: {e}"))?;
    let mut per_worker = vec![vec![Listener {
        socket: first,
        kind: ListenerKind::Plain,
    }]];
    for _ in 1..workers {
        per_worker.push(vec![Listener {
            socket: bind(local)?,
            kind: ListenerKind::Plain,
        }]);
    }
    let clock = Clock::new();
    let stops = worker::stop_pipes(workers).map_err(|e| format!("cannot handle signals: {e}"))?;
    println!("websock: serving ws://{local} ({workers} workers)");
    let _ = std::io::stdout().flush();
    let handles: Vec<_> = per_worker
        .into_iter()
        .zip(stops)
        .enumerate()
        .map(|(i, (listeners, stop))| {
            let limits = worker::Limits {
                config: options.config,
                high_water: options.max_pending_output,
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
    result
}

fn resolve(spec: &str) -> Result<SocketAddr, String> {
    spec.to_socket_addrs()
        .map_err(|e| format!("bad listen address '{spec}': {e}"))?
        .next()
        .ok_or_else(|| format!("bad listen address '{spec}': it resolves to nothing"))
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
