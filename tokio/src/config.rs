//! Limits, buffers, compression and timeouts.

use std::time::Duration;

pub use websock_core::deflate::Options as DeflateOptions;

/// How a WebSocket behaves. `Config::default()` is sensible for servers and
/// clients alike.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    /// The largest message accepted (after inflating); a larger one fails
    /// the connection with 1009. Default 64 MiB.
    pub max_message_size: usize,
    /// The read buffer: the most read from the transport at once (at least
    /// 1 KiB). Default 16 KiB. A connection starts with 1 KiB and takes
    /// this size once a read fills that, so idle connections and small
    /// messages hold little.
    pub read_buffer_size: usize,
    /// Backpressure: once this many bytes wait to be written, the sink is
    /// not ready and reading stops until the peer takes some. Default
    /// 128 KiB. A message larger than this is still accepted whole, so
    /// output stays below this plus one message.
    pub write_buffer_limit: usize,
    /// permessage-deflate (RFC 7692): `Some` to accept offers (server) or
    /// make one (client). Default `None`.
    pub deflate: Option<DeflateOptions>,
    /// How long the opening handshake may take. Default 10 s.
    pub handshake_timeout: Duration,
    /// How long to wait for the peer's close frame after sending ours, and
    /// (client) for the server to close TCP after the closing handshake.
    /// Default 5 s.
    pub close_timeout: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_message_size: 64 << 20,
            read_buffer_size: 16 << 10,
            write_buffer_limit: 128 << 10,
            deflate: None,
            handshake_timeout: Duration::from_secs(10),
            close_timeout: Duration::from_secs(5),
        }
    }
}

impl Config {
    /// Turns permessage-deflate on with default options.
    pub fn with_deflate(mut self) -> Self {
        self.deflate = Some(DeflateOptions::new());
        self
    }

    /// The read buffer's full size.
    pub(crate) fn read_buffer_limit(&self) -> usize {
        self.read_buffer_size.max(1024)
    }

    /// The engine's configuration.
    pub(crate) fn engine(&self) -> websock_core::Config {
        let mut c = websock_core::Config::new();
        c.max_message_size = self.max_message_size as u64;
        c.max_handshake_len = c.max_handshake_len.min(self.read_buffer_limit());
        c.handshake_timeout_ms = self.handshake_timeout.as_millis() as u64;
        c.close_timeout_ms = self.close_timeout.as_millis() as u64;
        c.deflate = self.deflate;
        c
    }
}
