//! The client side's way in: resolve, connect, queue the upgrade request;
//! and the way out: one line saying why a connection failed.

use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use websock_core::{Config, State};

use crate::link::{Failure, Link};
use crate::transport::Transport;
use crate::url::WsUrl;

/// How long a TCP connect may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Connects to `url` and returns a client link with its upgrade request
/// queued. Errors are one line for people.
pub fn connect(url: &WsUrl, config: Config, now: u64) -> Result<Link, String> {
    let addrs: Vec<_> = (url.host.as_str(), url.port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve '{}': {e}", url.host))?
        .collect();
    let mut last_error = format!("'{}' resolves to no address", url.host);
    let mut connected = None;
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT) {
            Ok(s) => {
                connected = Some(s);
                break;
            }
            Err(e) => last_error = format!("cannot connect to {addr}: {e}"),
        }
    }
    let stream = connected.ok_or(last_error)?;
    let setup = |e: std::io::Error| format!("cannot set up the socket: {e}");
    stream.set_nodelay(true).map_err(setup)?;
    stream.set_nonblocking(true).map_err(setup)?;
    let mut entropy = [0u8; 32];
    getrandom::fill(&mut entropy).map_err(|e| format!("no randomness from the OS: {e}"))?;
    let transport = Transport::Plain(mio::net::TcpStream::from_std(stream));
    Link::client(
        transport,
        config,
        now,
        entropy,
        &url.host_header(),
        &url.resource,
    )
    .map_err(|e| format!("cannot write the upgrade request: {e}"))
}

/// Why a finished client link did not end with a clean closing handshake,
/// or `None` if it did.
pub fn explain(url: &WsUrl, link: &Link) -> Option<String> {
    let clean = link.closure().is_some_and(|c| c.clean);
    if clean {
        return None;
    }
    Some(match link.failure() {
        Some(Failure::Handshake {
            error,
            status_line: Some(line),
        }) => format!("handshake rejected by {url}: {line} ({error})"),
        Some(Failure::Handshake {
            error,
            status_line: None,
        }) => format!("handshake with {url} failed: {error}"),
        Some(Failure::Protocol(v)) => format!("the server broke the protocol: {v}"),
        Some(Failure::TimedOut(State::AwaitingResponse)) => {
            format!("{url} did not answer the opening handshake in time")
        }
        Some(Failure::TimedOut(_)) => "the closing handshake timed out".to_string(),
        Some(Failure::Io(e)) => format!("connection to {url} failed: {e}"),
        Some(Failure::Engine(e)) => format!("internal error: {e}"),
        None if !link.was_open() => {
            format!("{url} closed the connection during the opening handshake")
        }
        None => "the connection was lost without a closing handshake".to_string(),
    })
}
