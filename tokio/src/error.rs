//! Errors.

use std::fmt;
use std::io;

/// What can go wrong.
#[derive(Debug)]
pub enum Error {
    /// The transport failed.
    Io(io::Error),
    /// The engine refused something: the peer broke the protocol (the
    /// connection is failed with the right close code), or the handshake
    /// failed.
    Ws(websock_core::Error),
    /// The transport ended before the closing handshake.
    ConnectionReset,
    /// The connection is closed; nothing more can be sent.
    AlreadyClosed,
    /// A URL that is not `ws://` or `wss://` with a host.
    Url(String),
    /// TLS setup (a host name that is not a valid server name).
    Tls(String),
    /// The TLS handshake failed: for example the server's certificate is
    /// not signed by a trusted authority
    /// (`InvalidCertificate(CertificateError::UnknownIssuer)`) or is not
    /// valid for the host name (`NotValidForName`), or the server sent an
    /// alert.
    TlsHandshake(tokio_rustls::rustls::Error),
    /// The opening or closing handshake took longer than its timeout.
    Timeout,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io(e) => write!(f, "transport error: {e}"),
            Error::Ws(e) => write!(f, "{e}"),
            Error::ConnectionReset => f.write_str("connection closed without a closing handshake"),
            Error::AlreadyClosed => f.write_str("the connection is closed"),
            Error::Url(u) => write!(f, "bad URL: {u}"),
            Error::Tls(e) => write!(f, "TLS: {e}"),
            Error::TlsHandshake(e) => write!(f, "TLS handshake failed: {e}"),
            Error::Timeout => f.write_str("timed out"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io(e) => Some(e),
            Error::Ws(e) => Some(e),
            Error::TlsHandshake(e) => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Self {
        Error::Io(e)
    }
}

impl From<websock_core::Error> for Error {
    fn from(e: websock_core::Error) -> Self {
        Error::Ws(e)
    }
}
