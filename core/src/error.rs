//! Errors are values: every way a peer or a caller can go wrong has a name.

use core::fmt;

use crate::close::CloseCode;
use crate::handshake::HandshakeError;

/// A rule of RFC 6455 that the peer broke. Each one fails the connection
/// with the close code [`Violation::close_code`] gives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Violation {
    /// An opcode the RFC reserves (section 5.2).
    ReservedOpcode,
    /// An RSV bit set that no negotiated extension owns (section 5.2).
    ReservedBits,
    /// A 64-bit payload length with its top bit set (section 5.2).
    LengthOverflow,
    /// A server received an unmasked frame (section 5.1).
    UnmaskedFrame,
    /// A client received a masked frame (section 5.1).
    MaskedFrame,
    /// A control frame with FIN clear (section 5.5).
    FragmentedControl,
    /// A control frame with more than 125 bytes of payload (section 5.5).
    ControlTooLong,
    /// A continuation frame with no message in progress (section 5.4).
    UnexpectedContinuation,
    /// A new text or binary frame while a message is in progress (section 5.4).
    ExpectedContinuation,
    /// Text that is not UTF-8, or a close reason that is not (section 8.1).
    InvalidUtf8,
    /// A close frame with a one-byte payload (section 5.5.1).
    CloseLength,
    /// A close code that may not be sent on the wire (section 7.4).
    CloseCode,
    /// A message longer than the configured limit (section 7.4.1, 1009).
    MessageTooBig,
    /// The peer did not complete the closing handshake in time.
    CloseTimeout,
    /// A compressed message that does not inflate (RFC 7692; 1007 as the
    /// message data is not what its type says).
    Compression,
}

impl Violation {
    /// The close code this violation fails the connection with (section 7.4.1).
    pub fn close_code(self) -> CloseCode {
        match self {
            Violation::InvalidUtf8 | Violation::Compression => CloseCode::INVALID_DATA,
            Violation::MessageTooBig => CloseCode::TOO_BIG,
            Violation::CloseTimeout => CloseCode::ABNORMAL,
            _ => CloseCode::PROTOCOL_ERROR,
        }
    }

    /// A short English description, also used as the close reason.
    pub fn reason(self) -> &'static str {
        // A table indexed by the variant (always in range) rather than a
        // `match`: at opt-level z a match compiles to a jump table with
        // code per arm (about 190 bytes on a Cortex-M), the table to one
        // load (120 bytes of data).
        REASONS[self as usize]
    }
}

/// [`Violation::reason`] for each variant, in declaration order.
const REASONS: [&str; 15] = [
    "reserved opcode",
    "reserved bits set",
    "length has its top bit set",
    "unmasked client frame",
    "masked server frame",
    "fragmented control frame",
    "control payload over 125 bytes",
    "unexpected continuation",
    "expected a continuation",
    "invalid UTF-8",
    "one-byte close payload",
    "invalid close code",
    "message too big",
    "close timed out",
    "corrupt compressed data",
];

// Each reason fits a close frame after its code, as `poll_output` sends it
// whole.
const _: () = {
    let mut i = 0;
    while i < REASONS.len() {
        assert!(REASONS[i].len() <= crate::close::MAX_REASON);
        i += 1;
    }
};

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (close code {})", self.reason(), self.close_code().0)
    }
}

/// Everything the engine's calls can return as an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// The peer broke the protocol. The engine has queued a close frame with
    /// the right code and will ask for the transport to be closed once it
    /// is written; further input is ignored.
    Protocol(Violation),
    /// The opening handshake failed; for a server, an HTTP error response is
    /// ready to be written.
    Handshake(HandshakeError),
    /// The output buffer is too small for the frame; nothing was written.
    BufferTooSmall {
        /// Bytes the frame needs.
        needed: usize,
    },
    /// The call does not fit the connection's state (sending before the
    /// handshake or after close, accepting twice, ...).
    InvalidState,
    /// A ping, pong or close payload over 125 bytes (close: reason over 123).
    ControlTooLong,
    /// The application asked to send a close code that is not valid on the
    /// wire (section 7.4).
    InvalidCloseCode,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Protocol(v) => write!(f, "protocol violation: {v}"),
            Error::Handshake(h) => write!(f, "handshake failed: {h}"),
            Error::BufferTooSmall { needed } => {
                write!(f, "output buffer too small: {needed} bytes needed")
            }
            Error::InvalidState => f.write_str("not allowed in the connection's current state"),
            Error::ControlTooLong => f.write_str("control frame payload too long"),
            Error::InvalidCloseCode => f.write_str("close code may not be sent"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for Error {}

impl From<Violation> for Error {
    fn from(v: Violation) -> Self {
        Error::Protocol(v)
    }
}

impl From<HandshakeError> for Error {
    fn from(h: HandshakeError) -> Self {
        Error::Handshake(h)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The table follows the declaration order: each variant gets its own
    // reason (a reordered enum would fail here).
    #[test]
    fn every_violation_has_its_reason() {
        let pairs = [
            (Violation::ReservedOpcode, "reserved opcode"),
            (Violation::ReservedBits, "reserved bits set"),
            (Violation::LengthOverflow, "length has its top bit set"),
            (Violation::UnmaskedFrame, "unmasked client frame"),
            (Violation::MaskedFrame, "masked server frame"),
            (Violation::FragmentedControl, "fragmented control frame"),
            (Violation::ControlTooLong, "control payload over 125 bytes"),
            (Violation::UnexpectedContinuation, "unexpected continuation"),
            (Violation::ExpectedContinuation, "expected a continuation"),
            (Violation::InvalidUtf8, "invalid UTF-8"),
            (Violation::CloseLength, "one-byte close payload"),
            (Violation::CloseCode, "invalid close code"),
            (Violation::MessageTooBig, "message too big"),
            (Violation::CloseTimeout, "close timed out"),
            (Violation::Compression, "corrupt compressed data"),
        ];
        assert_eq!(pairs.len(), REASONS.len());
        for (v, reason) in pairs {
            assert_eq!(v.reason(), reason, "{v:?}");
        }
    }
}
