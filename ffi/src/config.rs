//! Limits and timeouts, as a plain C struct.

/// Limits and timeouts for a connection. Start from
/// `websock_config_default()` and change the fields you care about; a
/// zeroed struct is valid but refuses every non-empty message.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    /// The largest message accepted, in bytes; a longer one fails the
    /// connection with close code 1009 as soon as a frame header announces
    /// it. Default 64 MiB.
    pub max_message_size: u64,
    /// The largest opening-handshake header block, in bytes. Default 8192.
    pub max_handshake_len: usize,
    /// Milliseconds the opening handshake may take. Default 10000.
    pub handshake_timeout_ms: u64,
    /// Milliseconds to wait for the peer's close frame after sending ours,
    /// and (client) for the server to close the transport afterwards.
    /// Default 5000.
    pub close_timeout_ms: u64,
}

impl From<websock_core::Config> for Config {
    fn from(c: websock_core::Config) -> Self {
        Config {
            max_message_size: c.max_message_size,
            max_handshake_len: c.max_handshake_len,
            handshake_timeout_ms: c.handshake_timeout_ms,
            close_timeout_ms: c.close_timeout_ms,
        }
    }
}

impl From<Config> for websock_core::Config {
    fn from(c: Config) -> Self {
        // Field by field over the defaults, so that settings core adds
        // later keep their defaults here until C can set them.
        let mut core = websock_core::Config::new();
        core.max_message_size = c.max_message_size;
        core.max_handshake_len = c.max_handshake_len;
        core.handshake_timeout_ms = c.handshake_timeout_ms;
        core.close_timeout_ms = c.close_timeout_ms;
        core
    }
}

/// The default configuration (the values documented on each field).
#[no_mangle]
pub extern "C" fn websock_config_default() -> Config {
    websock_core::Config::new().into()
}
