//! Close codes and close frame payloads (RFC 6455 sections 5.5.1 and 7.4).

use crate::error::Violation;
use crate::frame::MAX_CONTROL_PAYLOAD;
use crate::utf8;

/// A close status code (RFC 6455 section 7.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CloseCode(pub u16);

impl CloseCode {
    /// 1000: the purpose of the connection was fulfilled.
    pub const NORMAL: CloseCode = CloseCode(1000);
    /// 1001: the endpoint is going away (server shutdown, page left).
    pub const GOING_AWAY: CloseCode = CloseCode(1001);
    /// 1002: the peer broke the protocol.
    pub const PROTOCOL_ERROR: CloseCode = CloseCode(1002);
    /// 1003: a data type the endpoint cannot accept.
    pub const UNSUPPORTED: CloseCode = CloseCode(1003);
    /// 1005: reported locally when a close frame carried no code; never sent.
    pub const NO_STATUS: CloseCode = CloseCode(1005);
    /// 1006: reported locally when the transport closed without a close
    /// frame; never sent.
    pub const ABNORMAL: CloseCode = CloseCode(1006);
    /// 1007: message data not consistent with its type (bad UTF-8).
    pub const INVALID_DATA: CloseCode = CloseCode(1007);
    /// 1008: a message violates the endpoint's policy.
    pub const POLICY: CloseCode = CloseCode(1008);
    /// 1009: a message too big to process.
    pub const TOO_BIG: CloseCode = CloseCode(1009);
    /// 1010: the client expected an extension the server did not agree to.
    pub const MANDATORY_EXTENSION: CloseCode = CloseCode(1010);
    /// 1011: the server met an unexpected condition.
    pub const INTERNAL_ERROR: CloseCode = CloseCode(1011);

    /// Whether this code may appear in a close frame on the wire
    /// (section 7.4.1 and 7.4.2, plus the IANA registry's 1012-1014).
    /// 1004-1006 and 1015 are reserved and never sent; 1016-2999 are for
    /// future RFCs; 3000-4999 belong to libraries and applications.
    pub fn is_valid_on_wire(self) -> bool {
        matches!(self.0, 1000..=1003 | 1007..=1014 | 3000..=4999)
    }
}

/// The longest close reason: a control payload less the two code bytes.
pub const MAX_REASON: usize = MAX_CONTROL_PAYLOAD - 2;

/// Parses a close frame's payload (section 5.5.1): empty, or a valid code
/// followed by a UTF-8 reason. An empty payload reports 1005.
pub fn parse_payload(payload: &[u8]) -> Result<(CloseCode, &[u8]), Violation> {
    match payload {
        [] => Ok((CloseCode::NO_STATUS, payload)),
        [_] => Err(Violation::CloseLength),
        [hi, lo, reason @ ..] => {
            let code = CloseCode(u16::from_be_bytes([*hi, *lo]));
            if !code.is_valid_on_wire() {
                return Err(Violation::CloseCode);
            }
            if !utf8::is_valid(reason) {
                return Err(Violation::InvalidUtf8);
            }
            Ok((code, reason))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_codes_follow_section_7_4() {
        for ok in [
            1000, 1001, 1002, 1003, 1007, 1011, 1012, 1014, 3000, 3999, 4000, 4999,
        ] {
            assert!(CloseCode(ok).is_valid_on_wire(), "{ok}");
        }
        for bad in [
            0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535,
        ] {
            assert!(!CloseCode(bad).is_valid_on_wire(), "{bad}");
        }
    }

    #[test]
    fn payloads() {
        assert_eq!(parse_payload(&[]), Ok((CloseCode::NO_STATUS, &[][..])));
        assert_eq!(parse_payload(&[3]), Err(Violation::CloseLength));
        assert_eq!(
            parse_payload(&[3, 232, b'o', b'k']),
            Ok((CloseCode(1000), &b"ok"[..]))
        );
        assert_eq!(parse_payload(&[3, 237]), Err(Violation::CloseCode));
        assert_eq!(parse_payload(&[3, 232, 0xFF]), Err(Violation::InvalidUtf8));
    }
}
