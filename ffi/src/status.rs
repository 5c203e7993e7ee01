//! Status codes: every way a call can fail has its own value, so C code
//! never needs a second call to learn what went wrong.

use core::ffi::{c_char, c_int, CStr};

use websock_core::{Error, HandshakeError, Violation};

/// The result of a call. `WEBSOCK_STATUS_OK` is 0; `WEBSOCK_STATUS_INCOMPLETE`
/// (1) is not an error. Values from 10 are mistakes of the caller, from 100
/// rules of RFC 6455 the peer broke (the engine has queued a close frame
/// with the matching code), from 200 opening handshakes that failed.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Success.
    Ok = 0,
    /// The handshake is not complete yet: call again with more bytes.
    Incomplete = 1,

    /// A pointer that must not be NULL was NULL (a buffer pointer may be
    /// NULL only when its length is 0).
    NullPointer = 10,
    /// A length larger than the address space allows, buffers that overlap
    /// each other or the connection, or too many subprotocols.
    InvalidArgument = 11,
    /// A string argument (host, path, subprotocol, close reason) is not UTF-8.
    NotUtf8 = 12,
    /// The connection memory is not aligned to `websock_conn_align()`.
    Misaligned = 13,
    /// The connection memory is smaller than `websock_conn_size()`.
    ConnTooSmall = 14,
    /// The connection was never initialised (or was initialised by an
    /// incompatible version of the library).
    NotInitialized = 15,
    /// The output buffer is too small; nothing was written. For the send,
    /// close and handshake calls, the `written` out-parameter holds the
    /// size needed. From the receive calls: a compressing connection was
    /// given no scratch buffer.
    BufferTooSmall = 16,
    /// The call does not fit the connection's state (sending before the
    /// handshake or after close, accepting twice, ...).
    InvalidState = 17,
    /// A ping or pong payload over 125 bytes, or a close reason over 123.
    ControlTooLong = 18,
    /// A close code that may not be sent on the wire (RFC 6455 section 7.4).
    InvalidCloseCode = 19,
    /// The entropy for a client is not `WEBSOCK_ENTROPY_LEN` bytes.
    BadEntropy = 20,
    /// The library was built without what the call asks for
    /// (permessage-deflate without the `deflate` feature).
    Unsupported = 21,
    /// A `websock_config` field is out of range (a deflate level over 9,
    /// window bits outside 9 to 15).
    InvalidConfig = 22,

    /// The peer used a reserved opcode (close code 1002).
    ReservedOpcode = 100,
    /// The peer set a reserved bit no extension owns (1002).
    ReservedBits = 101,
    /// A 64-bit payload length with its top bit set (1002).
    LengthOverflow = 102,
    /// A client sent an unmasked frame (1002).
    UnmaskedFrame = 103,
    /// A server sent a masked frame (1002).
    MaskedFrame = 104,
    /// A fragmented control frame (1002).
    FragmentedControl = 105,
    /// A control frame with more than 125 bytes of payload (1002).
    ControlFrameTooLong = 106,
    /// A continuation frame with no message in progress (1002).
    UnexpectedContinuation = 107,
    /// A new message started inside a fragmented one (1002).
    ExpectedContinuation = 108,
    /// Text or a close reason that is not UTF-8 (1007).
    InvalidUtf8 = 109,
    /// A close frame with a one-byte payload (1002).
    CloseLength = 110,
    /// A close code that may not appear on the wire (1002).
    CloseCode = 111,
    /// A message over the configured `max_message_size` (1009).
    MessageTooBig = 112,
    /// The peer did not complete the closing handshake in time.
    CloseTimeout = 113,
    /// A compressed message that does not inflate (1007).
    Compression = 114,

    /// The handshake is not parseable HTTP/1.1.
    HandshakeMalformed = 200,
    /// The header block exceeds `max_handshake_len` (server answers 431).
    HandshakeTooLarge = 201,
    /// Too many header lines (server answers 431).
    HandshakeTooManyHeaders = 202,
    /// A method other than GET (server answers 405).
    HandshakeNotGet = 203,
    /// HTTP/1.0 or older.
    HandshakeOldHttpVersion = 204,
    /// No Host header.
    HandshakeMissingHost = 205,
    /// No `Upgrade: websocket` (server answers 426).
    HandshakeNotUpgrade = 206,
    /// No `upgrade` token in the Connection header.
    HandshakeMissingConnectionUpgrade = 207,
    /// Sec-WebSocket-Key missing or not base64 of 16 bytes.
    HandshakeBadKey = 208,
    /// Sec-WebSocket-Version missing or not 13 (server answers 426).
    HandshakeUnsupportedVersion = 209,
    /// Client: the server answered with another status than 101; the
    /// status is in `websock_response.http_status`.
    HandshakeStatus = 210,
    /// Client: Sec-WebSocket-Accept missing or wrong.
    HandshakeBadAccept = 211,
    /// Client: the server chose a subprotocol that was not offered.
    HandshakeUnexpectedProtocol = 212,
    /// Client: the server answered with an extension that was not offered.
    HandshakeUnexpectedExtension = 213,
}

/// Every status, for [`websock_status_str`]'s lookup and for tests.
const ALL: [Status; 44] = [
    Status::Ok,
    Status::Incomplete,
    Status::NullPointer,
    Status::InvalidArgument,
    Status::NotUtf8,
    Status::Misaligned,
    Status::ConnTooSmall,
    Status::NotInitialized,
    Status::BufferTooSmall,
    Status::InvalidState,
    Status::ControlTooLong,
    Status::InvalidCloseCode,
    Status::BadEntropy,
    Status::Unsupported,
    Status::InvalidConfig,
    Status::ReservedOpcode,
    Status::ReservedBits,
    Status::LengthOverflow,
    Status::UnmaskedFrame,
    Status::MaskedFrame,
    Status::FragmentedControl,
    Status::ControlFrameTooLong,
    Status::UnexpectedContinuation,
    Status::ExpectedContinuation,
    Status::InvalidUtf8,
    Status::CloseLength,
    Status::CloseCode,
    Status::MessageTooBig,
    Status::CloseTimeout,
    Status::Compression,
    Status::HandshakeMalformed,
    Status::HandshakeTooLarge,
    Status::HandshakeTooManyHeaders,
    Status::HandshakeNotGet,
    Status::HandshakeOldHttpVersion,
    Status::HandshakeMissingHost,
    Status::HandshakeNotUpgrade,
    Status::HandshakeMissingConnectionUpgrade,
    Status::HandshakeBadKey,
    Status::HandshakeUnsupportedVersion,
    Status::HandshakeStatus,
    Status::HandshakeBadAccept,
    Status::HandshakeUnexpectedProtocol,
    Status::HandshakeUnexpectedExtension,
];

impl Status {
    /// A NUL-terminated English description.
    pub fn message(self) -> &'static CStr {
        match self {
            Status::Ok => c"ok",
            Status::Incomplete => c"incomplete: more input needed",
            Status::NullPointer => c"NULL pointer argument",
            Status::InvalidArgument => c"invalid argument (length or overlapping buffers)",
            Status::NotUtf8 => c"string argument is not UTF-8",
            Status::Misaligned => c"connection memory is misaligned",
            Status::ConnTooSmall => c"connection memory is too small",
            Status::NotInitialized => c"connection is not initialised",
            Status::BufferTooSmall => c"output buffer too small",
            Status::InvalidState => c"not allowed in the connection's current state",
            Status::ControlTooLong => c"control frame payload too long",
            Status::InvalidCloseCode => c"close code may not be sent",
            Status::BadEntropy => c"client entropy must be 32 bytes",
            Status::Unsupported => c"not supported by this build of the library",
            Status::InvalidConfig => c"configuration value out of range",
            Status::ReservedOpcode => c"peer used a reserved opcode",
            Status::ReservedBits => c"peer set reserved bits",
            Status::LengthOverflow => c"peer's length has its top bit set",
            Status::UnmaskedFrame => c"unmasked client frame",
            Status::MaskedFrame => c"masked server frame",
            Status::FragmentedControl => c"peer fragmented a control frame",
            Status::ControlFrameTooLong => c"peer's control payload over 125 bytes",
            Status::UnexpectedContinuation => c"unexpected continuation",
            Status::ExpectedContinuation => c"expected a continuation",
            Status::InvalidUtf8 => c"peer sent invalid UTF-8",
            Status::CloseLength => c"one-byte close payload",
            Status::CloseCode => c"peer sent an invalid close code",
            Status::MessageTooBig => c"message too big",
            Status::CloseTimeout => c"close timed out",
            Status::Compression => c"corrupt compressed data",
            Status::HandshakeMalformed => c"handshake: malformed HTTP",
            Status::HandshakeTooLarge => c"handshake: header block too large",
            Status::HandshakeTooManyHeaders => c"handshake: too many headers",
            Status::HandshakeNotGet => c"handshake: method is not GET",
            Status::HandshakeOldHttpVersion => c"handshake: HTTP version below 1.1",
            Status::HandshakeMissingHost => c"handshake: missing Host header",
            Status::HandshakeNotUpgrade => c"handshake: missing 'Upgrade: websocket'",
            Status::HandshakeMissingConnectionUpgrade => {
                c"handshake: missing 'Connection: Upgrade'"
            }
            Status::HandshakeBadKey => c"handshake: bad Sec-WebSocket-Key",
            Status::HandshakeUnsupportedVersion => c"handshake: Sec-WebSocket-Version must be 13",
            Status::HandshakeStatus => c"handshake: server did not switch protocols",
            Status::HandshakeBadAccept => c"handshake: missing or wrong Sec-WebSocket-Accept",
            Status::HandshakeUnexpectedProtocol => {
                c"handshake: server chose a subprotocol that was not offered"
            }
            Status::HandshakeUnexpectedExtension => {
                c"handshake: server answered with an extension that was not offered"
            }
        }
    }
}

impl From<Violation> for Status {
    fn from(v: Violation) -> Self {
        match v {
            Violation::ReservedOpcode => Status::ReservedOpcode,
            Violation::ReservedBits => Status::ReservedBits,
            Violation::LengthOverflow => Status::LengthOverflow,
            Violation::UnmaskedFrame => Status::UnmaskedFrame,
            Violation::MaskedFrame => Status::MaskedFrame,
            Violation::FragmentedControl => Status::FragmentedControl,
            Violation::ControlTooLong => Status::ControlFrameTooLong,
            Violation::UnexpectedContinuation => Status::UnexpectedContinuation,
            Violation::ExpectedContinuation => Status::ExpectedContinuation,
            Violation::InvalidUtf8 => Status::InvalidUtf8,
            Violation::CloseLength => Status::CloseLength,
            Violation::CloseCode => Status::CloseCode,
            Violation::MessageTooBig => Status::MessageTooBig,
            Violation::CloseTimeout => Status::CloseTimeout,
            Violation::Compression => Status::Compression,
        }
    }
}

impl From<HandshakeError> for Status {
    fn from(h: HandshakeError) -> Self {
        match h {
            HandshakeError::Malformed => Status::HandshakeMalformed,
            HandshakeError::TooLarge => Status::HandshakeTooLarge,
            HandshakeError::TooManyHeaders => Status::HandshakeTooManyHeaders,
            HandshakeError::NotGet => Status::HandshakeNotGet,
            HandshakeError::OldHttpVersion => Status::HandshakeOldHttpVersion,
            HandshakeError::MissingHost => Status::HandshakeMissingHost,
            HandshakeError::NotUpgrade => Status::HandshakeNotUpgrade,
            HandshakeError::MissingConnectionUpgrade => Status::HandshakeMissingConnectionUpgrade,
            HandshakeError::BadKey => Status::HandshakeBadKey,
            HandshakeError::UnsupportedVersion => Status::HandshakeUnsupportedVersion,
            HandshakeError::Status(_) => Status::HandshakeStatus,
            HandshakeError::BadAccept => Status::HandshakeBadAccept,
            HandshakeError::UnexpectedProtocol => Status::HandshakeUnexpectedProtocol,
            HandshakeError::UnexpectedExtension => Status::HandshakeUnexpectedExtension,
        }
    }
}

impl From<Error> for Status {
    fn from(e: Error) -> Self {
        match e {
            Error::Protocol(v) => v.into(),
            Error::Handshake(h) => h.into(),
            Error::BufferTooSmall { .. } => Status::BufferTooSmall,
            Error::InvalidState => Status::InvalidState,
            Error::ControlTooLong => Status::ControlTooLong,
            Error::InvalidCloseCode => Status::InvalidCloseCode,
        }
    }
}

/// Turns an internal result into the value C sees.
pub(crate) fn status(result: Result<Status, Status>) -> Status {
    match result {
        Ok(s) | Err(s) => s,
    }
}

/// A static, NUL-terminated English description of `status` (a
/// `websock_status` value; unknown values get "unknown status"). The string
/// is never freed and never changes.
#[no_mangle]
pub extern "C" fn websock_status_str(status: c_int) -> *const c_char {
    ALL.iter()
        .find(|s| **s as c_int == status)
        .map_or(c"unknown status", |s| s.message())
        .as_ptr()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_has_a_distinct_value_and_message() {
        let mut seen = [0 as c_int; ALL.len()];
        for (i, s) in ALL.iter().enumerate() {
            let v = *s as c_int;
            assert!(!seen[..i].contains(&v), "{s:?} reuses {v}");
            seen[i] = v;
            // SAFETY: websock_status_str returns a static NUL-terminated string.
            let text = unsafe { CStr::from_ptr(websock_status_str(v)) };
            assert_eq!(text, s.message());
            assert_ne!(text, c"unknown status");
        }
        // SAFETY: as above.
        let unknown = unsafe { CStr::from_ptr(websock_status_str(-7)) };
        assert_eq!(unknown, c"unknown status");
    }
}
