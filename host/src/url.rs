//! `ws://` and `wss://` URLs (RFC 6455 section 3): scheme, host, port,
//! resource name.
//! Hand-rolled because a WebSocket URL needs a tenth of what a general URL
//! parser does (no relative references, no IDNA: a host name goes to the
//! resolver as written).

use std::fmt;

/// A parsed `ws[s]://host[:port][/path][?query]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WsUrl {
    /// `wss://`: the WebSocket runs over TLS.
    pub secure: bool,
    /// Host name or IP address, without the brackets of an IPv6 literal.
    pub host: String,
    /// The port; 80 (ws) or 443 (wss) when the URL names none.
    pub port: u16,
    /// Path and query, at least "/".
    pub resource: String,
}

/// Why a string is not a usable WebSocket URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UrlError {
    /// No `scheme://` at the start.
    NoScheme,
    /// A scheme other than ws or wss.
    Scheme(String),
    /// Nothing between `ws://` and the path.
    MissingHost,
    /// `user@host` (not allowed in WebSocket URLs).
    Userinfo,
    /// A port that is not a number from 1 to 65535.
    BadPort(String),
    /// An unclosed `[` around an IPv6 address.
    BadIpv6,
    /// A `#fragment` (section 3: must not be used).
    Fragment,
    /// Spaces or control characters.
    BadCharacter,
}

impl fmt::Display for UrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UrlError::NoScheme => {
                f.write_str("not a URL (expected ws://host[:port][/path] or wss://...)")
            }
            UrlError::Scheme(s) => write!(f, "unsupported scheme '{s}' (expected ws:// or wss://)"),
            UrlError::MissingHost => f.write_str("missing host"),
            UrlError::Userinfo => f.write_str("user information is not allowed in a WebSocket URL"),
            UrlError::BadPort(p) => write!(f, "bad port '{p}'"),
            UrlError::BadIpv6 => f.write_str("unterminated IPv6 address (missing ']')"),
            UrlError::Fragment => f.write_str("a WebSocket URL may not have a #fragment"),
            UrlError::BadCharacter => f.write_str("spaces and control characters are not allowed"),
        }
    }
}

impl std::error::Error for UrlError {}

impl WsUrl {
    /// Parses a `ws://` or `wss://` URL.
    pub fn parse(s: &str) -> Result<WsUrl, UrlError> {
        if s.bytes().any(|b| b <= b' ' || b == 0x7f) {
            return Err(UrlError::BadCharacter);
        }
        let (scheme, rest) = s.split_once("://").ok_or(UrlError::NoScheme)?;
        let secure = if scheme.eq_ignore_ascii_case("wss") {
            true
        } else if scheme.eq_ignore_ascii_case("ws") {
            false
        } else {
            return Err(UrlError::Scheme(scheme.to_string()));
        };
        if rest.contains('#') {
            return Err(UrlError::Fragment);
        }
        let split = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, resource) = rest.split_at(split);
        if authority.contains('@') {
            return Err(UrlError::Userinfo);
        }
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (host, after) = v6.split_once(']').ok_or(UrlError::BadIpv6)?;
            match after {
                "" => (host, None),
                _ => match after.strip_prefix(':') {
                    Some(port) => (host, Some(port)),
                    None => return Err(UrlError::BadPort(after.to_string())),
                },
            }
        } else {
            match authority.split_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (authority, None),
            }
        };
        if host.is_empty() {
            return Err(UrlError::MissingHost);
        }
        let default_port = if secure { 443 } else { 80 };
        let port = match port {
            None => default_port,
            Some(p) => match p.parse::<u16>() {
                Ok(n) if n > 0 && p.bytes().all(|b| b.is_ascii_digit()) => n,
                _ => return Err(UrlError::BadPort(p.to_string())),
            },
        };
        let resource = match resource.strip_prefix('?') {
            Some(_) => format!("/{resource}"),
            None if resource.is_empty() => "/".to_string(),
            None => resource.to_string(),
        };
        Ok(WsUrl {
            secure,
            host: host.to_string(),
            port,
            resource,
        })
    }

    /// The Host header's value: the port only when it is not the
    /// scheme's default, IPv6 literals in brackets (RFC 7230 section 5.4).
    pub fn host_header(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        if self.port == if self.secure { 443 } else { 80 } {
            host
        } else {
            format!("{host}:{}", self.port)
        }
    }

    /// The same server with another resource name.
    pub fn with_resource(&self, resource: &str) -> WsUrl {
        WsUrl {
            resource: resource.to_string(),
            ..self.clone()
        }
    }
}

impl fmt::Display for WsUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        let scheme = if self.secure { "wss" } else { "ws" };
        write!(f, "{scheme}://{host}:{}{}", self.port, self.resource)
    }
}

#[cfg(test)]
mod tests {
    use super::{UrlError, WsUrl};

    fn url(host: &str, port: u16, resource: &str) -> WsUrl {
        WsUrl {
            secure: false,
            host: host.into(),
            port,
            resource: resource.into(),
        }
    }

    #[test]
    fn parses_the_usual_shapes() {
        assert_eq!(
            WsUrl::parse("ws://example.com"),
            Ok(url("example.com", 80, "/"))
        );
        assert_eq!(WsUrl::parse("WS://h:9001/"), Ok(url("h", 9001, "/")));
        assert_eq!(
            WsUrl::parse("ws://127.0.0.1:8888/chat?room=1&x=y"),
            Ok(url("127.0.0.1", 8888, "/chat?room=1&x=y"))
        );
        assert_eq!(WsUrl::parse("ws://h?q=1"), Ok(url("h", 80, "/?q=1")));
        assert_eq!(
            WsUrl::parse("ws://[::1]:9000/p"),
            Ok(url("::1", 9000, "/p"))
        );
        assert_eq!(WsUrl::parse("ws://[::1]"), Ok(url("::1", 80, "/")));
    }

    #[test]
    fn host_header_omits_the_default_port_and_brackets_ipv6() {
        assert_eq!(url("h", 80, "/").host_header(), "h");
        assert_eq!(url("h", 81, "/").host_header(), "h:81");
        assert_eq!(url("::1", 9000, "/").host_header(), "[::1]:9000");
        let tls = |port| WsUrl {
            secure: true,
            ..url("h", port, "/")
        };
        assert_eq!(tls(443).host_header(), "h");
        assert_eq!(tls(80).host_header(), "h:80");
    }

    #[test]
    fn wss_is_ws_over_tls_on_443() {
        let u = WsUrl::parse("WSS://example.com/chat").unwrap();
        assert_eq!(
            u,
            WsUrl {
                secure: true,
                ..url("example.com", 443, "/chat")
            }
        );
        assert_eq!(u.to_string(), "wss://example.com:443/chat");
        assert_eq!(
            WsUrl::parse("wss://[::1]:8889").map(|u| (u.secure, u.port)),
            Ok((true, 8889))
        );
    }

    #[test]
    fn refuses_what_is_not_a_ws_url() {
        assert_eq!(WsUrl::parse("example.com"), Err(UrlError::NoScheme));
        assert_eq!(
            WsUrl::parse("http://h/"),
            Err(UrlError::Scheme("http".into()))
        );
        assert_eq!(WsUrl::parse("ws:///path"), Err(UrlError::MissingHost));
        assert_eq!(WsUrl::parse("ws://:80/"), Err(UrlError::MissingHost));
        assert_eq!(WsUrl::parse("ws://u:p@h/"), Err(UrlError::Userinfo));
        assert_eq!(
            WsUrl::parse("ws://h:0/"),
            Err(UrlError::BadPort("0".into()))
        );
        assert_eq!(
            WsUrl::parse("ws://h:70000/"),
            Err(UrlError::BadPort("70000".into()))
        );
        assert_eq!(
            WsUrl::parse("ws://h:+80/"),
            Err(UrlError::BadPort("+80".into()))
        );
        assert_eq!(WsUrl::parse("ws://h:/"), Err(UrlError::BadPort("".into())));
        assert_eq!(WsUrl::parse("ws://[::1/"), Err(UrlError::BadIpv6));
        assert_eq!(
            WsUrl::parse("ws://[::1]x/"),
            Err(UrlError::BadPort("x".into()))
        );
        assert_eq!(WsUrl::parse("ws://h/#top"), Err(UrlError::Fragment));
        assert_eq!(WsUrl::parse("ws://h/a b"), Err(UrlError::BadCharacter));
    }

    #[test]
    fn display_round_trips() {
        for s in [
            "ws://h:80/",
            "ws://[::1]:9000/p?q",
            "ws://a.b:1/x",
            "wss://h:443/",
        ] {
            let u = WsUrl::parse(s).unwrap();
            assert_eq!(WsUrl::parse(&u.to_string()), Ok(u));
        }
    }
}
