//! # websock-tokio
//!
//! WebSockets for tokio on the websock engine: a [`WebSocket`] is a
//! `futures` [`Stream`](futures_core::Stream) of [`Message`]s and a
//! [`Sink`](futures_sink::Sink) for them, with owned messages shaped like
//! tungstenite's, so a port from tokio-tungstenite is mostly renaming.
//!
//! ```no_run
//! use futures_util::{SinkExt, StreamExt};
//! use tokio::net::TcpListener;
//!
//! # async fn run() -> Result<(), websock_tokio::Error> {
//! let listener = TcpListener::bind("127.0.0.1:9001").await?;
//! loop {
//!     let (stream, _) = listener.accept().await?;
//!     tokio::spawn(async move {
//!         let mut ws = websock_tokio::accept(stream).await?;
//!         while let Some(msg) = ws.next().await {
//!             let msg = msg?;
//!             if msg.is_text() || msg.is_binary() {
//!                 ws.send(msg).await?;
//!             }
//!         }
//!         Ok::<_, websock_tokio::Error>(())
//!     });
//! }
//! # }
//! ```
//!
//! - Pings are answered and close frames replied to as they are read (the
//!   stream shows them too); the closing handshake is finished when the
//!   socket is closed ([`WebSocket::close`], `Sink::close`) or dropped.
//! - Backpressure: [`Config::write_buffer_limit`] bounds the output waiting
//!   for the peer; past it the sink is not ready and reading stops.
//! - permessage-deflate with [`Config::deflate`]; limits in [`Config`].
//! - [`connect()`] dials `ws://` and `wss://` (TLS with rustls and the
//!   system's roots).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod config;
mod connect;
mod error;
mod message;
mod socket;

use std::time::Instant;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::rustls::ClientConfig;

pub use config::{Config, DeflateOptions};
pub use connect::MaybeTlsStream;
pub use error::Error;
pub use message::{CloseFrame, Message, Utf8Bytes};
pub use socket::WebSocket;
/// The rustls that [`connect_with`] takes a configuration of and
/// [`Error::TlsHandshake`] reports errors of.
pub use tokio_rustls::rustls;
pub use websock_core::CloseCode;

use socket::Inner;

/// Accepts a WebSocket on `stream` (server side) with the default
/// [`Config`].
pub async fn accept<S>(stream: S) -> Result<WebSocket<S>, Error>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    accept_with(stream, Config::default()).await
}

/// Accepts a WebSocket on `stream` with `config`. A bad request gets an
/// HTTP error response before the error is returned.
pub async fn accept_with<S>(stream: S, config: Config) -> Result<WebSocket<S>, Error>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let origin = Instant::now();
    let conn = websock_core::Connection::server(config.engine(), 0);
    let mut inner = Inner::new(stream, conn, config, origin);
    tokio::time::timeout(config.handshake_timeout, inner.accept())
        .await
        .map_err(|_| Error::Timeout)??;
    Ok(WebSocket::from_inner(inner, socket::spawn_closer::<S>))
}

/// Connects to a `ws://` or `wss://` URL with the default [`Config`].
pub async fn connect(url: &str) -> Result<WebSocket<MaybeTlsStream>, Error> {
    connect_with(url, Config::default(), None).await
}

/// Connects to a URL with `config`, and for `wss://` with `tls` (the
/// system's roots, or Mozilla's, when `None`).
pub async fn connect_with(
    url: &str,
    config: Config,
    tls: Option<std::sync::Arc<ClientConfig>>,
) -> Result<WebSocket<MaybeTlsStream>, Error> {
    let parsed = connect::Url::parse(url)?;
    let stream = tokio::time::timeout(config.handshake_timeout, connect::dial(&parsed, tls))
        .await
        .map_err(|_| Error::Timeout)??;
    client(stream, url, config).await
}

/// The client handshake on a stream you opened yourself; `url` gives the
/// Host header and the resource.
pub async fn client<S>(stream: S, url: &str, config: Config) -> Result<WebSocket<S>, Error>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let parsed = connect::Url::parse(url)?;
    let origin = Instant::now();
    let mut entropy = [0u8; 32];
    getrandom::fill(&mut entropy).map_err(|e| Error::Io(std::io::Error::other(e.to_string())))?;
    let conn = websock_core::Connection::client(config.engine(), 0, entropy);
    let mut inner = Inner::new(stream, conn, config, origin);
    tokio::time::timeout(
        config.handshake_timeout,
        inner.connect(&parsed.authority, &parsed.resource),
    )
    .await
    .map_err(|_| Error::Timeout)??;
    Ok(WebSocket::from_inner(inner, socket::spawn_closer::<S>))
}
