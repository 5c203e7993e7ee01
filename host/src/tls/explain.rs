//! TLS failures in words: one line a person can act on, for the client's
//! error message and the server's log.

use std::fmt;
use std::io;

use rustls::{AlertDescription, CertificateError, Error};

/// A TLS error as the transport reports it, inside an [`io::Error`] (so
/// that the link's I/O path carries it unchanged).
#[derive(Debug)]
pub struct TlsFailure {
    /// What rustls said.
    pub error: Error,
    /// The peer's first byte was a letter: it spoke plain text (HTTP, or a
    /// ws:// upgrade), not TLS.
    pub plain_text: bool,
    /// The failure came before the handshake completed.
    pub handshaking: bool,
}

impl fmt::Display for TlsFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.plain_text {
            return f.write_str("the peer spoke plain text, not TLS");
        }
        let stage = if self.handshaking {
            "TLS handshake failed"
        } else {
            "TLS failed"
        };
        write!(f, "{stage}: {}", describe(&self.error))
    }
}

impl std::error::Error for TlsFailure {}

impl TlsFailure {
    /// The TLS failure inside an I/O error, if that is what it holds.
    pub fn find(e: &io::Error) -> Option<&TlsFailure> {
        e.get_ref()?.downcast_ref::<TlsFailure>()
    }
}

/// rustls's error, reworded where its own text names an enum variant.
fn describe(error: &Error) -> String {
    match error {
        Error::InvalidCertificate(e) => certificate(e),
        Error::AlertReceived(alert) => format!("the peer refused: {}", alert_words(*alert)),
        Error::NoApplicationProtocol => "no common ALPN protocol (we speak http/1.1)".to_string(),
        other => other.to_string(),
    }
}

fn certificate(e: &CertificateError) -> String {
    match e {
        CertificateError::UnknownIssuer => "the server's certificate is not signed by a trusted \
            CA (for a private CA, pass --ca FILE)"
            .to_string(),
        CertificateError::Expired => "the server's certificate has expired".to_string(),
        CertificateError::NotValidYet => "the server's certificate is not valid yet".to_string(),
        CertificateError::NotValidForName => {
            "the server's certificate is not valid for this host name".to_string()
        }
        CertificateError::BadSignature => "the server's certificate has a bad signature".into(),
        CertificateError::Revoked => "the server's certificate is revoked".to_string(),
        // The variants with context say it well themselves (names, times).
        other => format!("the server's {other}"),
    }
}

/// A peer's alert in words (the ones a misconfiguration produces).
fn alert_words(alert: AlertDescription) -> String {
    match alert {
        AlertDescription::UnknownCA => "it does not trust our certificate (unknown CA)".into(),
        AlertDescription::BadCertificate => "it rejected our certificate".into(),
        AlertDescription::CertificateExpired => "it says a certificate has expired".into(),
        AlertDescription::HandshakeFailure => "no common TLS parameters".into(),
        AlertDescription::ProtocolVersion => "no common TLS version".into(),
        AlertDescription::NoApplicationProtocol => "no common ALPN protocol".into(),
        AlertDescription::UnrecognisedName => "it does not serve this host name (SNI)".into(),
        other => format!("alert {other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::TlsFailure;
    use rustls::{AlertDescription, CertificateError, Error};

    fn line(error: Error, plain_text: bool) -> String {
        TlsFailure {
            error,
            plain_text,
            handshaking: true,
        }
        .to_string()
    }

    #[test]
    fn untrusted_and_expired_certificates_read_as_such() {
        let s = line(
            Error::InvalidCertificate(CertificateError::UnknownIssuer),
            false,
        );
        assert!(s.starts_with("TLS handshake failed: "), "{s}");
        assert!(
            s.contains("not signed by a trusted CA") && s.contains("--ca"),
            "{s}"
        );
        let s = line(Error::InvalidCertificate(CertificateError::Expired), false);
        assert!(s.contains("expired"), "{s}");
    }

    #[test]
    fn plain_text_peers_are_named() {
        let s = line(Error::General("x".into()), true);
        assert_eq!(s, "the peer spoke plain text, not TLS");
    }

    #[test]
    fn alerts_are_words_not_variant_names() {
        let s = line(Error::AlertReceived(AlertDescription::UnknownCA), false);
        assert!(s.contains("does not trust our certificate"), "{s}");
    }

    #[test]
    fn found_inside_an_io_error() {
        let failure = TlsFailure {
            error: Error::DecryptError,
            plain_text: false,
            handshaking: false,
        };
        let e = std::io::Error::new(std::io::ErrorKind::InvalidData, failure);
        assert!(TlsFailure::find(&e).is_some());
        assert!(TlsFailure::find(&std::io::ErrorKind::Other.into()).is_none());
    }
}
