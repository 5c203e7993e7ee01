//! The client side's way in: resolve, connect, start TLS for wss://,
//! queue the upgrade request; and the way out: one line saying why a
//! connection failed.

use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection};
use websock_core::{Config, State};

use crate::link::{Failure, Link, Target};
use crate::tls::client::{self as tls_client, ClientOptions};
use crate::tls::explain::TlsFailure;
use crate::tls::stream::TlsStream;
use crate::transport::Transport;
use crate::url::WsUrl;

/// How long a TCP connect may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How a command reaches its server: the TLS configuration for wss://,
/// made once (trust stores are read once, `--insecure` warns once) and
/// shared by every connection.
#[derive(Clone, Debug)]
pub struct Dialer {
    tls: Option<Arc<ClientConfig>>,
}

impl Dialer {
    /// A dialer for `url`'s scheme; TLS options matter only for wss://.
    pub fn new(url: &WsUrl, options: &ClientOptions) -> Result<Dialer, String> {
        let tls = match url.secure {
            true => Some(tls_client::configure(options)?),
            false => None,
        };
        Ok(Dialer { tls })
    }

    /// Connects to `url` and returns a client link with its upgrade
    /// request queued and its transport (for wss://, with the TLS handshake
    /// started). Errors are one line for people.
    pub fn connect(
        &self,
        url: &WsUrl,
        config: Config,
        now: u64,
    ) -> Result<(Link, Transport), String> {
        self.connect_with(url, config, now, &[], "")
    }

    /// [`Dialer::connect`], offering `protocols` and adding `headers`
    /// (header lines, each ending in CRLF) to the upgrade request.
    pub fn connect_with(
        &self,
        url: &WsUrl,
        config: Config,
        now: u64,
        protocols: &'static [&'static str],
        headers: &str,
    ) -> Result<(Link, Transport), String> {
        let stream = tcp_connect(url)?;
        let transport = match (&self.tls, url.secure) {
            (Some(tls), true) => {
                // The name is checked against the certificate and sent as
                // SNI (rustls sends none for an IP address, as RFC 6066 says).
                let name = ServerName::try_from(url.host.clone())
                    .map_err(|e| format!("'{}' cannot be checked by TLS: {e}", url.host))?;
                let conn = ClientConnection::new(Arc::clone(tls), name)
                    .map_err(|e| format!("cannot start TLS: {e}"))?;
                Transport::Tls(Box::new(TlsStream::new(stream, conn)))
            }
            (None, true) => return Err(format!("{url}: no TLS configuration (a bug)")),
            (_, false) => Transport::Plain(stream),
        };
        let mut entropy = [0u8; 32];
        getrandom::fill(&mut entropy).map_err(|e| format!("no randomness from the OS: {e}"))?;
        let target = Target {
            host: &url.host_header(),
            resource: &url.resource,
            headers,
        };
        let link = Link::client(config, now, entropy, &target, protocols)
            .map_err(|e| format!("cannot write the upgrade request: {e}"))?;
        Ok((link, transport))
    }
}

/// Resolves and connects (blocking, bounded by [`CONNECT_TIMEOUT`]) and
/// returns the socket ready for the event loop.
fn tcp_connect(url: &WsUrl) -> Result<mio::net::TcpStream, String> {
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
    Ok(mio::net::TcpStream::from_std(stream))
}

/// Why a finished client link did not end with a clean closing handshake,
/// or `None` if it did.
pub fn explain(url: &WsUrl, link: &Link, transport: &Transport) -> Option<String> {
    let clean = link.closure().is_some_and(|c| c.clean);
    if clean {
        return None;
    }
    let tls = transport.tls();
    let tls_handshaking = tls.is_some_and(|t| t.is_handshaking());
    if let Some(Failure::Io(e)) = link.failure() {
        if let Some(failure) = TlsFailure::find(e) {
            return Some(if failure.plain_text {
                format!("TLS handshake with {url} failed: the server answered in plain text (is it a ws:// server?)")
            } else {
                format!("{url}: {failure}")
            });
        }
    }
    if tls_handshaking {
        match link.failure() {
            Some(Failure::TimedOut(_)) => {
                return Some(format!("{url} did not complete the TLS handshake in time"))
            }
            None => {
                return Some(format!(
                    "{url} closed the connection during the TLS handshake"
                ))
            }
            _ => {}
        }
    }
    let truncated = match tls.is_some_and(|t| t.truncated()) {
        true => " (and without a TLS close_notify)",
        false => "",
    };
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
        Some(Failure::TimedOut(State::Open)) => {
            format!("{url} sent nothing for the idle timeout, not even a pong")
        }
        Some(Failure::TimedOut(_)) => "the closing handshake timed out".to_string(),
        Some(Failure::WriteStalled) => {
            format!("{url} stopped reading: output waited past the write timeout")
        }
        Some(Failure::Io(e)) => format!("connection to {url} failed: {e}"),
        Some(Failure::Engine(e)) => format!("internal error: {e}"),
        None if !link.was_open() => {
            format!("{url} closed the connection during the opening handshake")
        }
        None => format!("the connection was lost without a closing handshake{truncated}"),
    })
}
