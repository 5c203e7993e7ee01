//! The machine-readable `code` of every error the JS classes raise, in one
//! table, so that the TypeScript union and the thrown values agree.

use websock_core::{Error, HandshakeError};

/// What kind of failure an error is; JS sees [`ErrorCode::as_str`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorCode {
    /// The peer broke RFC 6455; a close frame with `closeCode` is queued.
    Protocol,
    /// The opening handshake failed (`status`: the HTTP status sent or
    /// received).
    Handshake,
    /// The call does not fit the connection's state.
    InvalidState,
    /// A ping, pong or close payload too long (125 bytes; 123 for a reason).
    ControlTooLong,
    /// A close code that may not be sent on the wire.
    InvalidCloseCode,
    /// An argument or option of the wrong type or out of range.
    InvalidArgument,
    /// An option this build does not support (compression in a module
    /// built without the `deflate` feature).
    Unsupported,
    /// A bug in this layer: an output buffer was sized wrong.
    Internal,
}

impl ErrorCode {
    /// Every code, for the TypeScript declaration and its test.
    pub const ALL: [ErrorCode; 8] = [
        ErrorCode::Protocol,
        ErrorCode::Handshake,
        ErrorCode::InvalidState,
        ErrorCode::ControlTooLong,
        ErrorCode::InvalidCloseCode,
        ErrorCode::InvalidArgument,
        ErrorCode::Unsupported,
        ErrorCode::Internal,
    ];

    /// The string JS code matches on, in the style of Node's `err.code`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::Protocol => "ERR_WEBSOCK_PROTOCOL",
            ErrorCode::Handshake => "ERR_WEBSOCK_HANDSHAKE",
            ErrorCode::InvalidState => "ERR_WEBSOCK_INVALID_STATE",
            ErrorCode::ControlTooLong => "ERR_WEBSOCK_CONTROL_TOO_LONG",
            ErrorCode::InvalidCloseCode => "ERR_WEBSOCK_INVALID_CLOSE_CODE",
            ErrorCode::InvalidArgument => "ERR_WEBSOCK_INVALID_ARGUMENT",
            ErrorCode::Unsupported => "ERR_WEBSOCK_UNSUPPORTED",
            ErrorCode::Internal => "ERR_WEBSOCK_INTERNAL",
        }
    }

    /// The code for an engine error.
    pub fn of(error: &Error) -> Self {
        match error {
            Error::Protocol(_) => ErrorCode::Protocol,
            Error::Handshake(_) => ErrorCode::Handshake,
            Error::BufferTooSmall { .. } => ErrorCode::Internal,
            Error::InvalidState => ErrorCode::InvalidState,
            Error::ControlTooLong => ErrorCode::ControlTooLong,
            Error::InvalidCloseCode => ErrorCode::InvalidCloseCode,
        }
    }
}

/// The HTTP status that goes with a handshake error: the one a server
/// answered with, or the non-101 one a client received.
pub fn http_status(error: HandshakeError) -> u16 {
    match error {
        HandshakeError::Status(status) => status,
        other => other.http_status().0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use websock_core::Violation;

    #[test]
    fn codes_are_distinct_and_prefixed() {
        let mut seen: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen.len(), ErrorCode::ALL.len());
        assert!(seen.iter().all(|s| s.starts_with("ERR_WEBSOCK_")));
    }

    #[test]
    fn engine_errors_map_to_codes() {
        let protocol = Error::Protocol(Violation::ReservedBits);
        assert_eq!(ErrorCode::of(&protocol), ErrorCode::Protocol);
        assert_eq!(
            ErrorCode::of(&Error::BufferTooSmall { needed: 3 }),
            ErrorCode::Internal
        );
        assert_eq!(http_status(HandshakeError::Status(404)), 404);
        assert_eq!(http_status(HandshakeError::UnsupportedVersion), 426);
        assert_eq!(http_status(HandshakeError::BadKey), 400);
    }
}
