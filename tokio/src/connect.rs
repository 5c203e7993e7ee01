//! Clients: `ws://` and `wss://` URLs, TCP, TLS.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::pki_types::ServerName;
use tokio_rustls::rustls::{ClientConfig, RootCertStore};
use tokio_rustls::TlsConnector;

use crate::error::Error;

/// A parsed `ws[s]://host[:port][/path][?query]` (RFC 6455 section 3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Url {
    pub secure: bool,
    /// Without the brackets of an IPv6 literal.
    pub host: String,
    pub port: u16,
    /// The Host header: `host[:port]`, the port only when not the default.
    pub authority: String,
    /// Path and query, at least "/".
    pub resource: String,
}

impl Url {
    pub(crate) fn parse(s: &str) -> Result<Url, Error> {
        let bad = |why: &str| Error::Url(format!("{s}: {why}"));
        if s.bytes().any(|b| b <= b' ' || b == 0x7f) {
            return Err(bad("spaces or control characters"));
        }
        let (scheme, rest) = s.split_once("://").ok_or_else(|| bad("no scheme"))?;
        let secure = match scheme.to_ascii_lowercase().as_str() {
            "ws" => false,
            "wss" => true,
            _ => return Err(bad("the scheme must be ws or wss")),
        };
        if rest.contains('#') {
            return Err(bad("a fragment is not allowed (section 3)"));
        }
        let split = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, resource) = rest.split_at(split);
        if authority.contains('@') {
            return Err(bad("user information is not allowed"));
        }
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (h, after) = v6.split_once(']').ok_or_else(|| bad("unclosed '['"))?;
            (h, after.strip_prefix(':'))
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (authority, None),
            }
        };
        if host.is_empty() {
            return Err(bad("no host"));
        }
        let default = if secure { 443 } else { 80 };
        let port = match port {
            None => default,
            Some(p) => p
                .parse::<u16>()
                .ok()
                .filter(|&p| p > 0)
                .ok_or_else(|| bad("bad port"))?,
        };
        let mut resource = resource.to_owned();
        if !resource.starts_with('/') {
            resource.insert(0, '/');
        }
        Ok(Url {
            secure,
            host: host.to_owned(),
            port,
            authority: authority.to_owned(),
            resource,
        })
    }
}

/// A client's transport: plain TCP, or TLS over it for `wss://`.
#[allow(clippy::large_enum_variant)]
pub enum MaybeTlsStream {
    /// `ws://`.
    Plain(TcpStream),
    /// `wss://`.
    Tls(TlsStream<TcpStream>),
}

impl AsyncRead for MaybeTlsStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MaybeTlsStream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            MaybeTlsStream::Tls(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for MaybeTlsStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            MaybeTlsStream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            MaybeTlsStream::Tls(s) => Pin::new(s).poll_write(cx, buf),
        }
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MaybeTlsStream::Plain(s) => Pin::new(s).poll_flush(cx),
            MaybeTlsStream::Tls(s) => Pin::new(s).poll_flush(cx),
        }
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MaybeTlsStream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            MaybeTlsStream::Tls(s) => Pin::new(s).poll_shutdown(cx),
        }
    }
}

/// The system's trust store, or Mozilla's roots where it is empty.
fn tls_config() -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
    if roots.is_empty() {
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    }
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map(|b| b.with_root_certificates(roots).with_no_client_auth());
    Arc::new(config.unwrap_or_else(|_| unreachable_config()))
}

/// ring's default provider supports the default versions; this only
/// satisfies the type checker without a panic path.
fn unreachable_config() -> ClientConfig {
    ClientConfig::builder_with_protocol_versions(&[&tokio_rustls::rustls::version::TLS13])
        .with_root_certificates(RootCertStore::empty())
        .with_no_client_auth()
}

/// TCP to the URL's host, then TLS for `wss://` with `tls` (the system's
/// roots when `None`).
pub(crate) async fn dial(
    url: &Url,
    tls: Option<Arc<ClientConfig>>,
) -> Result<MaybeTlsStream, Error> {
    let tcp = TcpStream::connect((url.host.as_str(), url.port)).await?;
    let _ = tcp.set_nodelay(true);
    if !url.secure {
        return Ok(MaybeTlsStream::Plain(tcp));
    }
    let name = ServerName::try_from(url.host.clone()).map_err(|e| Error::Tls(e.to_string()))?;
    let connector = TlsConnector::from(tls.unwrap_or_else(tls_config));
    match connector.connect(name, tcp).await {
        Ok(stream) => Ok(MaybeTlsStream::Tls(stream)),
        Err(e) => Err(handshake_error(e)),
    }
}

/// tokio-rustls reports rustls's verdict inside an `io::Error`; it comes
/// out typed, so that a caller can tell an untrusted certificate from a
/// network failure.
fn handshake_error(e: io::Error) -> Error {
    match e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<tokio_rustls::rustls::Error>())
    {
        Some(tls) => Error::TlsHandshake(tls.clone()),
        None => Error::Io(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let u = Url::parse("wss://example.com/chat?x=1").unwrap();
        assert_eq!(
            (u.secure, u.host.as_str(), u.port, u.resource.as_str()),
            (true, "example.com", 443, "/chat?x=1")
        );
        let u = Url::parse("ws://[::1]:9001").unwrap();
        assert_eq!(
            (
                u.host.as_str(),
                u.port,
                u.resource.as_str(),
                u.authority.as_str()
            ),
            ("::1", 9001, "/", "[::1]:9001")
        );
        let u = Url::parse("ws://h?q").unwrap();
        assert_eq!(u.resource, "/?q");
        for bad in [
            "http://x/",
            "ws://",
            "ws://u@h/",
            "ws://h:0/",
            "ws://h:x/",
            "ws://h/#f",
            "ws://[::1/",
            "ws://h /",
        ] {
            assert!(Url::parse(bad).is_err(), "{bad}");
        }
    }
}
