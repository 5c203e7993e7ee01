//! Limits, timeouts and permessage-deflate settings, as a plain C struct.

use crate::status::Status;

/// Limits, timeouts and compression settings for a connection. Start from
/// `websock_config_default()` and change the fields you care about; a
/// zeroed struct is valid but refuses every non-empty message. Read during
/// the init call only.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    /// The largest message accepted, in bytes; a longer one fails the
    /// connection with close code 1009 as soon as a frame header (or, for a
    /// compressed message, inflating) shows it. Default 64 MiB.
    pub max_message_size: u64,
    /// The largest opening-handshake header block, in bytes. Default 8192.
    pub max_handshake_len: usize,
    /// Milliseconds the opening handshake may take. Default 10000.
    pub handshake_timeout_ms: u64,
    /// Milliseconds to wait for the peer's close frame after sending ours,
    /// and (client) for the server to close the transport afterwards.
    /// Default 5000.
    pub close_timeout_ms: u64,
    /// permessage-deflate (RFC 7692): true to accept a client's offer
    /// (server) or to make one (client), within the limits below. Needs a
    /// library built with its `deflate` feature (the default build is);
    /// otherwise the init functions answer `WEBSOCK_STATUS_UNSUPPORTED`.
    /// A connection that negotiated it holds heap memory: end it with
    /// `websock_conn_deinit`. Default false.
    pub deflate: bool,
    /// zlib compression level, 0 (store) to 9 (smallest). Default 6.
    pub deflate_level: u8,
    /// Server: reset our compressor after every message even if the client
    /// did not ask. Client: ask the server to reset its compressor.
    /// Default false.
    pub server_no_context_takeover: bool,
    /// Server: ask the client to reset its compressor. Client: reset ours
    /// after every message, and say so in the offer. Default false.
    pub client_no_context_takeover: bool,
    /// Server: the largest window (9 to 15 bits) our compressor uses.
    /// Client: below 15, ask the server for at most this window. Default 15.
    pub server_max_window_bits: u8,
    /// Server: below 15, tell a client that allows it to use at most this
    /// window. Client: the largest window our compressor uses. 9 to 15,
    /// default 15.
    pub client_max_window_bits: u8,
}

impl Config {
    /// The defaults, as documented on each field.
    pub const fn new() -> Self {
        let core = websock_core::Config::new();
        Config {
            max_message_size: core.max_message_size,
            max_handshake_len: core.max_handshake_len,
            handshake_timeout_ms: core.handshake_timeout_ms,
            close_timeout_ms: core.close_timeout_ms,
            deflate: false,
            deflate_level: 6,
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            server_max_window_bits: 15,
            client_max_window_bits: 15,
        }
    }

    /// The engine's configuration, or why this one cannot be.
    pub(crate) fn to_core(self) -> Result<websock_core::Config, Status> {
        let window = 9..=15;
        if self.deflate_level > 9
            || !window.contains(&self.server_max_window_bits)
            || !window.contains(&self.client_max_window_bits)
        {
            return Err(Status::InvalidConfig);
        }
        // Field by field over the defaults, so that settings core adds
        // later keep their defaults here until C can set them.
        let mut core = websock_core::Config::new();
        core.max_message_size = self.max_message_size;
        core.max_handshake_len = self.max_handshake_len;
        core.handshake_timeout_ms = self.handshake_timeout_ms;
        core.close_timeout_ms = self.close_timeout_ms;
        if self.deflate {
            #[cfg(feature = "deflate")]
            {
                core.deflate = Some(websock_core::deflate::Options {
                    level: self.deflate_level,
                    server_no_context_takeover: self.server_no_context_takeover,
                    client_no_context_takeover: self.client_no_context_takeover,
                    server_max_window_bits: self.server_max_window_bits,
                    client_max_window_bits: self.client_max_window_bits,
                    ..websock_core::deflate::Options::new()
                });
            }
            #[cfg(not(feature = "deflate"))]
            return Err(Status::Unsupported);
        }
        Ok(core)
    }
}

impl Default for Config {
    fn default() -> Self {
        Config::new()
    }
}

/// The default configuration (the values documented on each field).
#[no_mangle]
pub extern "C" fn websock_config_default() -> Config {
    Config::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_core_defaults() {
        assert_eq!(Config::new().to_core(), Ok(websock_core::Config::new()));
    }

    #[test]
    fn out_of_range_settings_are_refused() {
        let bad = [
            Config {
                deflate_level: 10,
                ..Config::new()
            },
            Config {
                server_max_window_bits: 8,
                ..Config::new()
            },
            Config {
                client_max_window_bits: 16,
                ..Config::new()
            },
        ];
        for c in bad {
            assert_eq!(c.to_core(), Err(Status::InvalidConfig));
        }
    }

    #[test]
    fn deflate_needs_the_feature() {
        let c = Config {
            deflate: true,
            ..Config::new()
        };
        #[cfg(feature = "deflate")]
        assert!(c.to_core().is_ok_and(|core| core.deflate.is_some()));
        #[cfg(not(feature = "deflate"))]
        assert_eq!(c.to_core(), Err(Status::Unsupported));
    }
}
