//! The opening handshake (RFC 6455 section 4): the server parses and checks
//! the client's upgrade request and writes the 101 response or an HTTP
//! error; the client writes the request and checks the 101.
//!
//! Parsing is zero-copy over the caller's buffer with `httparse` and a fixed
//! array of [`MAX_HEADERS`] headers on the stack; nothing is stored.

use core::fmt;

use base64ct::{Base64, Encoding};

/// The most header lines a request or response may have.
pub const MAX_HEADERS: usize = 32;

/// The GUID appended to the key before hashing (section 1.3).
const GUID: &[u8] = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// A base64 `Sec-WebSocket-Key` (16 random bytes, 24 characters).
pub type Key = [u8; 24];

/// A base64 `Sec-WebSocket-Accept` value (20-byte SHA-1, 28 characters).
pub type AcceptKey = [u8; 28];

/// Why a handshake failed. On the server side each maps to the HTTP error
/// response that [`write_rejection`] writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HandshakeError {
    /// Not parseable as HTTP/1.1.
    Malformed,
    /// The header block is larger than the buffer allows (431).
    TooLarge,
    /// More than [`MAX_HEADERS`] header lines (431).
    TooManyHeaders,
    /// A method other than GET (405, section 4.2.1 item 1).
    NotGet,
    /// HTTP/1.0 or older (section 4.2.1 item 1 asks for HTTP/1.1 or higher).
    OldHttpVersion,
    /// No Host header (section 4.2.1 item 2).
    MissingHost,
    /// No `Upgrade: websocket` (426, section 4.2.1 item 3).
    NotUpgrade,
    /// No `upgrade` token in Connection (section 4.2.1 item 4).
    MissingConnectionUpgrade,
    /// Sec-WebSocket-Key missing, or not base64 of 16 bytes (item 5).
    BadKey,
    /// Sec-WebSocket-Version missing or not 13 (426, item 6).
    UnsupportedVersion,
    /// Client: the server answered with this status instead of 101.
    Status(u16),
    /// Client: Sec-WebSocket-Accept missing or wrong (section 4.2.2 item 5.4).
    BadAccept,
    /// Client: the server chose a subprotocol that was not offered.
    UnexpectedProtocol,
    /// Client: the server answered with an extension that was not offered,
    /// or with parameters we cannot accept.
    UnexpectedExtension,
}

impl HandshakeError {
    /// The HTTP status a server answers this error with.
    pub fn http_status(self) -> (u16, &'static str) {
        match self {
            HandshakeError::TooLarge | HandshakeError::TooManyHeaders => {
                (431, "Request Header Fields Too Large")
            }
            HandshakeError::NotGet => (405, "Method Not Allowed"),
            HandshakeError::NotUpgrade | HandshakeError::UnsupportedVersion => {
                (426, "Upgrade Required")
            }
            _ => (400, "Bad Request"),
        }
    }

    /// A one-line explanation for people.
    pub fn reason(self) -> &'static str {
        match self {
            HandshakeError::Malformed => "malformed HTTP request",
            HandshakeError::TooLarge => "header block too large",
            HandshakeError::TooManyHeaders => "too many header lines",
            HandshakeError::NotGet => "the WebSocket handshake must use GET",
            HandshakeError::OldHttpVersion => "the WebSocket handshake needs HTTP/1.1",
            HandshakeError::MissingHost => "missing Host header",
            HandshakeError::NotUpgrade => "missing 'Upgrade: websocket'",
            HandshakeError::MissingConnectionUpgrade => "missing 'Connection: Upgrade'",
            HandshakeError::BadKey => "missing or malformed Sec-WebSocket-Key",
            HandshakeError::UnsupportedVersion => "unsupported Sec-WebSocket-Version (need 13)",
            HandshakeError::Status(_) => "server did not switch protocols",
            HandshakeError::BadAccept => "missing or wrong Sec-WebSocket-Accept",
            HandshakeError::UnexpectedProtocol => "server chose a subprotocol that was not offered",
            HandshakeError::UnexpectedExtension => {
                "server answered with an extension or parameters that were not offered"
            }
        }
    }
}

impl fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HandshakeError::Status(code) => write!(f, "{} (HTTP {code})", self.reason()),
            _ => f.write_str(self.reason()),
        }
    }
}

/// The most Sec-WebSocket-Extensions header lines kept from a request;
/// further lines are ignored (each line may hold several offers).
pub const MAX_EXTENSION_HEADERS: usize = 4;

/// The request's Sec-WebSocket-Extensions values, in order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExtensionHeaders<'a> {
    values: [&'a [u8]; MAX_EXTENSION_HEADERS],
    len: usize,
}

impl<'a> ExtensionHeaders<'a> {
    fn push(&mut self, value: &'a [u8]) {
        if let Some(slot) = self.values.get_mut(self.len) {
            *slot = value;
            self.len += 1;
        }
    }

    /// The header values, in the order they came.
    pub fn iter(&self) -> impl Iterator<Item = &'a [u8]> + '_ {
        self.values[..self.len].iter().copied()
    }
}

/// A checked upgrade request, borrowing the caller's buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Request<'a> {
    /// Bytes of the request, header block included; what follows is frames.
    pub len: usize,
    /// The request target, e.g. `/chat?room=1`.
    pub path: &'a str,
    /// The Host header.
    pub host: &'a [u8],
    /// The Origin header, if any (section 4.2.1 item 7).
    pub origin: Option<&'a [u8]>,
    /// The client's key.
    pub key: Key,
    /// Index into the server's subprotocol list of the one chosen: the first
    /// of the server's list that the client offered (section 4.2.2).
    pub protocol: Option<usize>,
    /// The extensions the client offered (section 9.1), for negotiation.
    pub extensions: ExtensionHeaders<'a>,
}

/// Parses and checks a client's upgrade request at the start of `input`
/// (section 4.2.1). `Ok(None)`: the header block is not complete yet; call
/// again with more bytes. `max_len` bounds the header block: an incomplete
/// request that already fills it is [`HandshakeError::TooLarge`].
pub fn parse_request<'a>(
    input: &'a [u8],
    protocols: &[&str],
    max_len: usize,
) -> Result<Option<Request<'a>>, HandshakeError> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    let Some(len) = header_block(req.parse(input), input.len(), max_len)? else {
        return Ok(None);
    };
    if req.method != Some("GET") {
        return Err(HandshakeError::NotGet);
    }
    if req.version != Some(1) {
        return Err(HandshakeError::OldHttpVersion);
    }
    let path = req.path.unwrap_or("/");
    let (mut host, mut origin, mut key) = (None, None, None);
    let (mut upgrade, mut connection, mut version) = (false, false, false);
    let mut chosen: Option<usize> = None;
    let mut extensions = ExtensionHeaders::default();
    for h in req.headers.iter() {
        let name = h.name;
        let value = trim(h.value);
        if name.eq_ignore_ascii_case("host") {
            host = Some(value);
        } else if name.eq_ignore_ascii_case("origin") {
            origin = Some(value);
        } else if name.eq_ignore_ascii_case("upgrade") {
            upgrade |= has_token(value, b"websocket");
        } else if name.eq_ignore_ascii_case("connection") {
            connection |= has_token(value, b"upgrade");
        } else if name.eq_ignore_ascii_case("sec-websocket-version") {
            version |= has_token(value, b"13");
        } else if name.eq_ignore_ascii_case("sec-websocket-key") {
            if key.is_some() {
                return Err(HandshakeError::BadKey);
            }
            key = Some(check_key(value)?);
        } else if name.eq_ignore_ascii_case("sec-websocket-extensions") {
            extensions.push(value);
        } else if name.eq_ignore_ascii_case("sec-websocket-protocol") {
            // The header may repeat; prefer the server's order.
            for (i, p) in protocols.iter().enumerate() {
                if has_token_exact(value, p.as_bytes()) && chosen.is_none_or(|c| i < c) {
                    chosen = Some(i);
                }
            }
        }
    }
    if !upgrade {
        return Err(HandshakeError::NotUpgrade);
    }
    if !connection {
        return Err(HandshakeError::MissingConnectionUpgrade);
    }
    if !version {
        return Err(HandshakeError::UnsupportedVersion);
    }
    let key = key.ok_or(HandshakeError::BadKey)?;
    let host = host.ok_or(HandshakeError::MissingHost)?;
    Ok(Some(Request {
        len,
        path,
        host,
        origin,
        key,
        protocol: chosen,
        extensions,
    }))
}

/// Computes `Sec-WebSocket-Accept` for a key (section 4.2.2 item 5.4):
/// base64(SHA-1(key + GUID)).
pub fn accept_key(key: &[u8]) -> AcceptKey {
    let mut sha = crate::sha1::Sha1::new();
    sha.update(key);
    sha.update(GUID);
    let digest = sha.digest();
    let mut out = [0u8; 28];
    // 20 bytes always encode to exactly 28 characters.
    let _ = Base64::encode(&digest, &mut out);
    out
}

/// Makes a `Sec-WebSocket-Key` from 16 random bytes (section 4.1 item 7).
/// The caller supplies the randomness: the engine has no source of its own.
pub fn client_key(random: [u8; 16]) -> Key {
    let mut out = [0u8; 24];
    // 16 bytes always encode to exactly 24 characters.
    let _ = Base64::encode(&random, &mut out);
    out
}

/// Writes the 101 response for an accepted request (section 4.2.2 item 5).
/// `Err(needed)`: `out` is shorter than the response, whose length is
/// `needed`; nothing useful was written.
pub fn write_response(
    key: &Key,
    protocol: Option<&str>,
    extensions: Option<&[u8]>,
    out: &mut [u8],
) -> Result<usize, usize> {
    let mut w = Writer::new(out);
    w.put(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n");
    w.put(b"Sec-WebSocket-Accept: ");
    w.put(&accept_key(key));
    w.put(b"\r\n");
    if let Some(p) = protocol {
        w.put(b"Sec-WebSocket-Protocol: ");
        w.put(p.as_bytes());
        w.put(b"\r\n");
    }
    if let Some(e) = extensions {
        w.put(b"Sec-WebSocket-Extensions: ");
        w.put(e);
        w.put(b"\r\n");
    }
    w.put(b"\r\n");
    w.finish()
}

/// Writes the HTTP error response for a rejected request: status, reason
/// as a plain-text body, `Connection: close`, and for 426 the headers that
/// tell the client what to upgrade to (section 4.2.2 and 4.4).
pub fn write_rejection(error: HandshakeError, out: &mut [u8]) -> Option<usize> {
    let (status, phrase) = error.http_status();
    let reason = error.reason().as_bytes();
    let mut w = Writer::new(out);
    w.put(b"HTTP/1.1 ");
    w.put_u32(status as u32);
    w.put(b" ");
    w.put(phrase.as_bytes());
    w.put(b"\r\nContent-Type: text/plain\r\nConnection: close\r\n");
    match error {
        HandshakeError::UnsupportedVersion => w.put(b"Sec-WebSocket-Version: 13\r\n"),
        HandshakeError::NotUpgrade => w.put(b"Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"),
        HandshakeError::NotGet => w.put(b"Allow: GET\r\n"),
        _ => {}
    }
    w.put(b"Content-Length: ");
    w.put_u32(reason.len() as u32 + 1);
    w.put(b"\r\n\r\n");
    w.put(reason);
    w.put(b"\n");
    w.finish().ok()
}

/// Writes a client's upgrade request (section 4.1). `host` is the Host
/// header's value (with the port when it is not the default), `path` the
/// request target, `extensions` a Sec-WebSocket-Extensions offer.
/// `Err(needed)`: `out` is shorter than the request, whose length is
/// `needed`.
pub fn write_request(
    host: &str,
    path: &str,
    key: &Key,
    protocols: &[&str],
    extensions: Option<&[u8]>,
    out: &mut [u8],
) -> Result<usize, usize> {
    let mut w = Writer::new(out);
    w.put(b"GET ");
    w.put(if path.is_empty() {
        b"/"
    } else {
        path.as_bytes()
    });
    w.put(b" HTTP/1.1\r\nHost: ");
    w.put(host.as_bytes());
    w.put(b"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ");
    w.put(key);
    w.put(b"\r\nSec-WebSocket-Version: 13\r\n");
    for (i, p) in protocols.iter().enumerate() {
        w.put(if i == 0 {
            b"Sec-WebSocket-Protocol: "
        } else {
            b", "
        });
        w.put(p.as_bytes());
        if i + 1 == protocols.len() {
            w.put(b"\r\n");
        }
    }
    if let Some(e) = extensions {
        w.put(b"Sec-WebSocket-Extensions: ");
        w.put(e);
        w.put(b"\r\n");
    }
    w.put(b"\r\n");
    w.finish()
}

/// A checked 101 response, borrowing the caller's buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Response<'a> {
    /// Bytes of the response; what follows is frames.
    pub len: usize,
    /// Index into the offered subprotocols of the one the server chose.
    pub protocol: Option<usize>,
    /// The Sec-WebSocket-Extensions value, for an extension layer to check.
    pub extensions: Option<&'a [u8]>,
}

/// Parses and checks the server's answer to our request (section 4.2.2
/// and 4.1's client requirements). `Ok(None)`: incomplete.
/// `extensions_offered`: whether the request offered any extension; if not,
/// any extension in the answer fails the handshake.
pub fn parse_response<'a>(
    input: &'a [u8],
    key: &Key,
    protocols: &[&str],
    extensions_offered: bool,
    max_len: usize,
) -> Result<Option<Response<'a>>, HandshakeError> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut res = httparse::Response::new(&mut headers);
    let Some(len) = header_block(res.parse(input), input.len(), max_len)? else {
        return Ok(None);
    };
    match res.code {
        Some(101) => {}
        Some(code) => return Err(HandshakeError::Status(code)),
        None => return Err(HandshakeError::Malformed),
    }
    let expected = accept_key(key);
    let (mut upgrade, mut connection, mut accepted) = (false, false, false);
    let mut protocol = None;
    let mut extensions = None;
    for h in res.headers.iter() {
        let value = trim(h.value);
        if h.name.eq_ignore_ascii_case("upgrade") {
            upgrade |= has_token(value, b"websocket");
        } else if h.name.eq_ignore_ascii_case("connection") {
            connection |= has_token(value, b"upgrade");
        } else if h.name.eq_ignore_ascii_case("sec-websocket-accept") {
            accepted = value == expected;
        } else if h.name.eq_ignore_ascii_case("sec-websocket-protocol") {
            let i = protocols.iter().position(|p| p.as_bytes() == value);
            protocol = Some(i.ok_or(HandshakeError::UnexpectedProtocol)?);
        } else if h.name.eq_ignore_ascii_case("sec-websocket-extensions") {
            if !extensions_offered {
                return Err(HandshakeError::UnexpectedExtension);
            }
            extensions = Some(value);
        }
    }
    if !upgrade {
        return Err(HandshakeError::NotUpgrade);
    }
    if !connection {
        return Err(HandshakeError::MissingConnectionUpgrade);
    }
    if !accepted {
        return Err(HandshakeError::BadAccept);
    }
    Ok(Some(Response {
        len,
        protocol,
        extensions,
    }))
}

/// What httparse made of a header block: its length when complete, `None`
/// while incomplete, and the size limit applied either way.
fn header_block(
    parsed: httparse::Result<usize>,
    have: usize,
    max_len: usize,
) -> Result<Option<usize>, HandshakeError> {
    match parsed {
        Ok(httparse::Status::Complete(n)) if n <= max_len => Ok(Some(n)),
        Ok(httparse::Status::Complete(_)) => Err(HandshakeError::TooLarge),
        Ok(httparse::Status::Partial) if have >= max_len => Err(HandshakeError::TooLarge),
        Ok(httparse::Status::Partial) => Ok(None),
        Err(httparse::Error::TooManyHeaders) => Err(HandshakeError::TooManyHeaders),
        Err(_) => Err(HandshakeError::Malformed),
    }
}

/// A key must be base64 that decodes to exactly 16 bytes (section 4.1 item
/// 7). Checked by its characters rather than decoded: 16 bytes are 22
/// characters of the standard alphabet then "==", and the 22nd carries only
/// 2 bits of data, so its 4 low bits must be zero (canonical encoding, as a
/// strict decoder demands): one of `A`, `Q`, `g`, `w`.
fn check_key(value: &[u8]) -> Result<Key, HandshakeError> {
    let key: Key = value.try_into().map_err(|_| HandshakeError::BadKey)?;
    let data_ok = key[..21]
        .iter()
        .all(|&c| c.is_ascii_alphanumeric() || c == b'+' || c == b'/');
    if data_ok && matches!(key[21], b'A' | b'Q' | b'g' | b'w') && key[22..] == *b"==" {
        Ok(key)
    } else {
        Err(HandshakeError::BadKey)
    }
}

fn trim(v: &[u8]) -> &[u8] {
    v.trim_ascii()
}

/// Whether a comma-separated header value holds `token`, ignoring case.
fn has_token(value: &[u8], token: &[u8]) -> bool {
    value
        .split(|&b| b == b',')
        .any(|t| trim(t).eq_ignore_ascii_case(token))
}

/// Like [`has_token`] but case-sensitive, as subprotocol names are.
fn has_token_exact(value: &[u8], token: &[u8]) -> bool {
    value.split(|&b| b == b',').any(|t| trim(t) == token)
}

/// Appends to a fixed buffer; `None` once it is full.
struct Writer<'a> {
    out: &'a mut [u8],
    /// Bytes put so far, whether they fitted or not.
    len: usize,
    /// Some bytes did not fit.
    short: bool,
}

impl<'a> Writer<'a> {
    fn new(out: &'a mut [u8]) -> Self {
        Writer {
            out,
            len: 0,
            short: false,
        }
    }

    /// Appends `bytes`, or, past the end of `out`, only counts them, so
    /// that a caller whose buffer was too small learns the size it needs.
    fn put(&mut self, bytes: &[u8]) {
        let end = self.len.saturating_add(bytes.len());
        match self.out.get_mut(self.len..end) {
            Some(to) => to.copy_from_slice(bytes),
            None => self.short = true,
        }
        self.len = end;
    }

    /// Decimal digits. `u32` is plenty for statuses and short bodies, and
    /// spares 32-bit targets the 64-bit division routines.
    fn put_u32(&mut self, mut n: u32) {
        let mut digits = [0u8; 10];
        let mut i = digits.len();
        loop {
            i -= 1;
            digits[i] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        self.put(&digits[i..])
    }

    /// The length written, or `Err` with the length `out` needed.
    fn finish(self) -> Result<usize, usize> {
        if self.short {
            Err(self.len)
        } else {
            Ok(self.len)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RFC_REQUEST: &[u8] = b"GET /chat HTTP/1.1\r\nHost: server.example.com\r\n\
        Upgrade: websocket\r\nConnection: Upgrade\r\n\
        Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
        Origin: http://example.com\r\nSec-WebSocket-Protocol: chat, superchat\r\n\
        Sec-WebSocket-Version: 13\r\n\r\n";

    // RFC 6455 section 1.3's worked example.
    #[test]
    fn rfc_accept_key() {
        assert_eq!(
            &accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="),
            b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    #[test]
    fn rfc_request_accepted_with_server_preference() {
        let req = parse_request(RFC_REQUEST, &["superchat", "chat"], 4096)
            .unwrap()
            .unwrap();
        assert_eq!(req.len, RFC_REQUEST.len());
        assert_eq!(req.path, "/chat");
        assert_eq!(req.protocol, Some(0));
        assert_eq!(req.origin, Some(&b"http://example.com"[..]));
        let mut out = [0u8; 256];
        let n = write_response(&req.key, Some("superchat"), None, &mut out).unwrap();
        let text = core::str::from_utf8(&out[..n]).unwrap();
        assert!(text.starts_with("HTTP/1.1 101 Switching Protocols\r\n"));
        assert!(text.contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
        assert!(text.ends_with("Sec-WebSocket-Protocol: superchat\r\n\r\n"));
    }

    #[test]
    fn incomplete_until_blank_line_then_too_large() {
        let part = &RFC_REQUEST[..RFC_REQUEST.len() - 2];
        assert_eq!(parse_request(part, &[], 4096), Ok(None));
        assert_eq!(parse_request(part, &[], 64), Err(HandshakeError::TooLarge));
    }

    fn replace(from: &str, to: &str) -> Result<Option<usize>, HandshakeError> {
        let text = core::str::from_utf8(RFC_REQUEST).unwrap();
        let mut buf = [0u8; 512];
        let mut n = 0;
        let (a, b) = text.split_once(from).unwrap();
        for part in [a, to, b] {
            buf[n..n + part.len()].copy_from_slice(part.as_bytes());
            n += part.len();
        }
        parse_request(&buf[..n], &[], 4096).map(|r| r.map(|r| r.len))
    }

    #[test]
    fn bad_requests_get_the_right_error() {
        use HandshakeError::*;
        assert_eq!(replace("GET", "POST"), Err(NotGet));
        assert_eq!(replace("HTTP/1.1", "HTTP/1.0"), Err(OldHttpVersion));
        assert_eq!(
            replace("Version: 13", "Version: 8"),
            Err(UnsupportedVersion)
        );
        assert_eq!(replace("dGhlIHNhbXBsZSBub25jZQ==", "short"), Err(BadKey));
        assert_eq!(
            replace("dGhlIHNhbXBsZSBub25jZQ==", "!!!!!!!!!!!!!!!!!!!!!!!!"),
            Err(BadKey)
        );
        assert_eq!(
            replace("Upgrade: websocket", "Upgrade: h2c"),
            Err(NotUpgrade)
        );
        assert_eq!(
            replace("Connection: Upgrade", "Connection: keep-alive"),
            Err(MissingConnectionUpgrade)
        );
        assert_eq!(
            replace("Host: server.example.com\r\n", ""),
            Err(MissingHost)
        );
        assert_eq!(replace("GET /chat", "GET /\x01chat"), Err(Malformed));
        assert!(replace("Connection: Upgrade", "Connection: keep-alive, Upgrade").is_ok());
    }

    #[test]
    fn key_check_agrees_with_a_strict_decoder() {
        // Every byte value at every position of a few valid keys: the
        // character check accepts exactly what base64ct's decoder decodes
        // to 16 bytes.
        for base in [
            *b"dGhlIHNhbXBsZSBub25jZQ==",
            *b"AAAAAAAAAAAAAAAAAAAAAA==",
            *b"/+9zZ0Aa//++++///////w==",
        ] {
            for i in 0..24 {
                for c in 0..=255u8 {
                    let mut key = base;
                    key[i] = c;
                    let mut raw = [0u8; 18];
                    let strict = matches!(Base64::decode(key, &mut raw), Ok(d) if d.len() == 16);
                    assert_eq!(check_key(&key).is_ok(), strict, "{:?}", key);
                }
            }
        }
    }

    #[test]
    fn rejection_responses() {
        let mut out = [0u8; 512];
        let n = write_rejection(HandshakeError::UnsupportedVersion, &mut out).unwrap();
        let text = core::str::from_utf8(&out[..n]).unwrap();
        assert!(text.starts_with("HTTP/1.1 426 Upgrade Required\r\n"));
        assert!(text.contains("Sec-WebSocket-Version: 13\r\n"));
        let n = write_rejection(HandshakeError::TooLarge, &mut out).unwrap();
        assert!(out[..n].starts_with(b"HTTP/1.1 431 "));
        assert_eq!(
            write_rejection(HandshakeError::TooLarge, &mut out[..10]),
            None
        );
    }

    #[test]
    fn client_request_and_response_round_trip() {
        let key = client_key([7; 16]);
        let mut out = [0u8; 512];
        let n = write_request("localhost:8888", "/x", &key, &["chat"], None, &mut out).unwrap();
        let req = parse_request(&out[..n], &["chat"], 4096).unwrap().unwrap();
        assert_eq!((req.path, req.protocol), ("/x", Some(0)));
        let mut resp = [0u8; 512];
        let m = write_response(&req.key, Some("chat"), None, &mut resp).unwrap();
        let r = parse_response(&resp[..m], &key, &["chat"], false, 4096)
            .unwrap()
            .unwrap();
        assert_eq!((r.len, r.protocol), (m, Some(0)));
        let other = client_key([8; 16]);
        assert_eq!(
            parse_response(&resp[..m], &other, &["chat"], false, 4096),
            Err(HandshakeError::BadAccept)
        );
        assert_eq!(
            parse_response(&resp[..m], &key, &[], false, 4096),
            Err(HandshakeError::UnexpectedProtocol)
        );
        let not_found = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
        assert_eq!(
            parse_response(not_found, &key, &[], false, 4096),
            Err(HandshakeError::Status(404))
        );
    }
}
