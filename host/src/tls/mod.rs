//! TLS for wss://, with rustls and its `ring` provider. The engine never
//! sees it: a TLS session is one more kind of [`crate::transport::Transport`].
//!
//! - [`stream`]: a rustls session driven over a non-blocking socket;
//! - [`server`]: the server's configuration (PEM files, or a self-signed
//!   certificate made at start);
//! - [`client`]: the client's configuration (system roots, `--ca`,
//!   `--insecure`);
//! - [`explain`]: TLS errors in one line.

pub mod client;
pub mod explain;
pub mod server;
pub mod stream;

#[cfg(test)]
mod trickle_tests;

use std::sync::Arc;

use rustls::crypto::CryptoProvider;

/// What ALPN offers and accepts: the WebSocket handshake is HTTP/1.1.
pub const ALPN_HTTP_1_1: &[u8] = b"http/1.1";

/// The one crypto provider both sides use.
fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}
