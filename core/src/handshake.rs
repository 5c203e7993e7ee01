//! The opening handshake (RFC 6455 section 4): the server parses and checks
//! the client's upgrade request and writes the 101 response or an HTTP
//! error; the client writes the request and checks the 101.
//!
//! Parsing is zero-copy over the caller's buffer: a line-by-line scan that
//! checks the HTTP/1.1 syntax of the whole header block (RFC 9112 sections
//! 3, 4 and 5) and then reads the fields it needs straight from the block,
//! with no table of headers on the stack; nothing is stored.

use core::fmt;

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
        let (line, _) = self.rejection();
        let (code, phrase) = line.split_at_checked(4).unwrap_or_default();
        let code = code
            .bytes()
            .take(3)
            .fold(0, |n, d| n * 10 + u16::from(d.wrapping_sub(b'0')));
        (code, phrase)
    }

    /// What a server's rejection starts with: the status code and phrase
    /// (three digits, a space, the phrase), and the header lines this
    /// status calls for (section 4.2.2 and 4.4: what to upgrade to, for
    /// 426; RFC 9110 section 15.5.6: Allow, for 405). One source for
    /// [`HandshakeError::http_status`] and [`write_rejection`], as text
    /// ready to copy: no number to format.
    fn rejection(self) -> (&'static str, &'static [u8]) {
        match self {
            HandshakeError::TooLarge | HandshakeError::TooManyHeaders => {
                ("431 Request Header Fields Too Large", b"")
            }
            HandshakeError::NotGet => ("405 Method Not Allowed", b"Allow: GET\r\n"),
            HandshakeError::NotUpgrade => ("426 Upgrade Required", UPGRADE_HEADERS),
            HandshakeError::UnsupportedVersion => ("426 Upgrade Required", VERSION_HEADER),
            _ => ("400 Bad Request", b""),
        }
    }

    /// A one-line explanation for people.
    pub fn reason(self) -> &'static str {
        let i = self.index();
        match RESPONSE_REASONS.get(i.wrapping_sub(REQUEST_ERRORS)) {
            Some(r) => r,
            None => REQUEST_REASONS[i.min(REQUEST_ERRORS)],
        }
    }

    /// The position of the reason: the request's errors, then the
    /// response's. Through tables, as `Violation::reason`: less code than
    /// a match that returns each string.
    fn index(self) -> usize {
        match self {
            HandshakeError::Malformed => 0,
            HandshakeError::TooLarge => 1,
            HandshakeError::TooManyHeaders => 2,
            HandshakeError::NotGet => 3,
            HandshakeError::OldHttpVersion => 4,
            HandshakeError::MissingHost => 5,
            HandshakeError::NotUpgrade => 6,
            HandshakeError::MissingConnectionUpgrade => 7,
            HandshakeError::BadKey => 8,
            HandshakeError::UnsupportedVersion => 9,
            HandshakeError::Status(_) => 10,
            HandshakeError::BadAccept => 11,
            HandshakeError::UnexpectedProtocol => 12,
            HandshakeError::UnexpectedExtension => 13,
        }
    }
}

/// How many of the errors are a request's: the only ones a server
/// rejects, and the first in `index`'s order.
const REQUEST_ERRORS: usize = 10;

/// [`HandshakeError::reason`] for the errors of a request, by the index
/// `index` gives, then what a rejection says for any other error: a
/// response's error has no request to reject. Their reasons are in a table
/// of their own, so that a server's image, which never reads them, does
/// not carry their text.
const REQUEST_REASONS: [&str; REQUEST_ERRORS + 1] = [
    "malformed HTTP request",
    "header block too large",
    "too many headers",
    "method must be GET",
    "HTTP/1.1 required",
    "missing Host header",
    "missing 'Upgrade: websocket'",
    "missing 'Connection: Upgrade'",
    "bad Sec-WebSocket-Key",
    "Sec-WebSocket-Version must be 13",
    "Bad Request",
];

/// [`HandshakeError::reason`] for the errors of a response (a client's),
/// from index `REQUEST_ERRORS` on.
const RESPONSE_REASONS: [&str; 4] = [
    "server did not switch protocols",
    "missing or wrong Sec-WebSocket-Accept",
    "server chose a subprotocol that was not offered",
    "server answered with an extension or parameters that were not offered",
];

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
    /// The request target, e.g. `/chat?room=1`: visible ASCII (checked),
    /// so `core::str::from_utf8` of it always succeeds. Bytes, as `host`
    /// and `origin` are, rather than a `&str`: making one takes a UTF-8
    /// validator that a server image would link for this alone (about 600
    /// bytes of a wasm32 module, 280 of Cortex-M code).
    pub path: &'a [u8],
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
    let Some((len, mut lines)) = header_block(input, max_len, |l| request_line(l).is_some())?
    else {
        return Ok(None);
    };
    let (method, path, version) = lines
        .next_line()
        .and_then(request_line)
        .ok_or(HandshakeError::Malformed)?;
    if method != b"GET" {
        return Err(HandshakeError::NotGet);
    }
    if version != b"HTTP/1.1" {
        return Err(HandshakeError::OldHttpVersion);
    }
    let (mut host, mut origin, mut key) = (None, None, None);
    let (mut upgrade, mut connection, mut version) = (false, false, false);
    let mut chosen: Option<usize> = None;
    let mut extensions = ExtensionHeaders::default();
    while let Some((name, value)) = lines.next_line().and_then(field) {
        if name.eq_ignore_ascii_case(b"Host") {
            host = Some(value);
        } else if name.eq_ignore_ascii_case(b"Origin") {
            origin = Some(value);
        } else if name.eq_ignore_ascii_case(b"Upgrade") {
            upgrade |= has_token(value, b"websocket");
        } else if name.eq_ignore_ascii_case(b"Connection") {
            connection |= has_token(value, b"Upgrade");
        } else if name.eq_ignore_ascii_case(b"Sec-WebSocket-Version") {
            version |= has_token(value, b"13");
        } else if name.eq_ignore_ascii_case(b"Sec-WebSocket-Key") {
            if key.is_some() {
                return Err(HandshakeError::BadKey);
            }
            key = Some(check_key(value)?);
        } else if name.eq_ignore_ascii_case(b"Sec-WebSocket-Extensions") {
            extensions.push(value);
        } else if name.eq_ignore_ascii_case(b"Sec-WebSocket-Protocol") {
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
    crate::base64::encode(&sha.digest())
}

/// Makes a `Sec-WebSocket-Key` from 16 random bytes (section 4.1 item 7).
/// The caller supplies the randomness: the engine has no source of its own.
pub fn client_key(random: [u8; 16]) -> Key {
    crate::base64::encode(&random)
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
    let (status, headers) = error.rejection();
    // The request's errors only (see REQUEST_REASONS).
    let reason = REQUEST_REASONS[error.index().min(REQUEST_ERRORS)].as_bytes();
    // The body: the reason and a newline, of two digits' length (checked
    // when this compiles, below).
    let len = reason.len() + 1;
    let mut w = Writer::new(out);
    w.put(b"HTTP/1.1 ");
    w.put(status.as_bytes());
    w.put(b"\r\nContent-Type: text/plain\r\nConnection: close\r\n");
    w.put(headers);
    w.put(b"Content-Length: ");
    w.put(&[b'0' + (len / 10 % 10) as u8, b'0' + (len % 10) as u8]);
    w.put(b"\r\n\r\n");
    w.put(reason);
    w.put(b"\n");
    w.finish().ok()
}

/// What a 426 adds: the protocol to upgrade to and the version (section
/// 4.2.2); the version alone when that was what was missing.
const UPGRADE_HEADERS: &[u8] = b"Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n";
const VERSION_HEADER: &[u8] = UPGRADE_HEADERS.split_at(20).1;

// Every rejection body (a reason and a newline) has a two-digit length,
// as `write_rejection` writes it.
const _: () = {
    let mut i = 0;
    while i < REQUEST_REASONS.len() {
        let len = REQUEST_REASONS[i].len() + 1;
        assert!(len >= 10 && len <= 99);
        i += 1;
    }
};

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
    let Some((len, mut lines)) = header_block(input, max_len, |l| status_line(l).is_some())? else {
        return Ok(None);
    };
    match lines.next_line().and_then(status_line) {
        Some(101) => {}
        Some(code) => return Err(HandshakeError::Status(code)),
        None => return Err(HandshakeError::Malformed),
    }
    let expected = accept_key(key);
    let (mut upgrade, mut connection, mut accepted) = (false, false, false);
    let mut protocol = None;
    let mut extensions = None;
    while let Some((name, value)) = lines.next_line().and_then(field) {
        if name.eq_ignore_ascii_case(b"Upgrade") {
            upgrade |= has_token(value, b"websocket");
        } else if name.eq_ignore_ascii_case(b"Connection") {
            connection |= has_token(value, b"Upgrade");
        } else if name.eq_ignore_ascii_case(b"Sec-WebSocket-Accept") {
            accepted = value == expected;
        } else if name.eq_ignore_ascii_case(b"Sec-WebSocket-Protocol") {
            let i = protocols.iter().position(|p| p.as_bytes() == value);
            protocol = Some(i.ok_or(HandshakeError::UnexpectedProtocol)?);
        } else if name.eq_ignore_ascii_case(b"Sec-WebSocket-Extensions") {
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

/// The lines of a header block, each without its line ending: CRLF, or a
/// bare LF, which RFC 9112 section 2.2 lets a recipient accept.
struct Lines<'a>(&'a [u8]);

impl<'a> Lines<'a> {
    /// The next complete line; `None` when no line end is left.
    fn next_line(&mut self) -> Option<&'a [u8]> {
        let (line, rest) = split_at_byte(self.0, b'\n')?;
        self.0 = rest;
        Some(without_cr(line))
    }
}

/// `line` without a CR at its end: a slice pattern, less code than
/// `strip_suffix`'s general comparison.
fn without_cr(line: &[u8]) -> &[u8] {
    match line {
        [rest @ .., b'\r'] => rest,
        _ => line,
    }
}

/// Finds the header block at the start of `input` and checks its syntax:
/// a first line that `first_line` accepts, at most [`MAX_HEADERS`] fields
/// (see [`field`]), then an empty line. Returns the block's length and its
/// lines, or `None` while it is incomplete. `max_len` bounds the block,
/// complete or not. A line is checked as soon as it is complete, and bytes
/// no line may hold are refused at once, so that a peer that does not
/// speak HTTP is refused without waiting for more.
fn header_block(
    input: &[u8],
    max_len: usize,
    first_line: impl Fn(&[u8]) -> bool,
) -> Result<Option<(usize, Lines<'_>)>, HandshakeError> {
    let mut lines = Lines(input);
    // Lines seen: the first line, then fields.
    let mut seen = 0;
    loop {
        let line = match lines.next_line() {
            Some(line) => line,
            None => {
                let tail = without_cr(lines.0);
                if !tail.iter().all(|&b| is_text(b)) {
                    return Err(HandshakeError::Malformed);
                }
                if input.len() >= max_len {
                    return Err(HandshakeError::TooLarge);
                }
                return Ok(None);
            }
        };
        if seen == 0 {
            if !first_line(line) {
                return Err(HandshakeError::Malformed);
            }
        } else if line.is_empty() {
            let len = input.len() - lines.0.len();
            if len > max_len {
                return Err(HandshakeError::TooLarge);
            }
            // The caller reads the fields again up to the empty line.
            return Ok(Some((len, Lines(input))));
        } else if seen > MAX_HEADERS {
            return Err(HandshakeError::TooManyHeaders);
        } else if field(line).is_none() {
            return Err(HandshakeError::Malformed);
        }
        seen += 1;
    }
}

/// A byte that may appear in a header line: visible ASCII, space, tab, and
/// obs-text (RFC 9110 section 5.5); no other control characters.
fn is_text(b: u8) -> bool {
    b == b'\t' || !b.is_ascii_control()
}

/// A token character (RFC 9110 section 5.6.2): methods and field names.
fn is_tchar(b: u8) -> bool {
    TCHAR
        .get(usize::from(b / 32))
        .is_some_and(|w| w >> (b % 32) & 1 != 0)
}

/// The token characters, a bit per ASCII code: letters, digits and
/// ``!#$%&'*+-.^_`|~``. A table of 16 bytes is smaller than the code that
/// searches a list of the punctuation.
const TCHAR: [u32; 4] = {
    let mut bits = [0u32; 4];
    let mut b = 0u8;
    while b < 128 {
        let punctuation = matches!(
            b,
            b'!' | b'#'
                | b'$'
                | b'%'
                | b'&'
                | b'\''
                | b'*'
                | b'+'
                | b'-'
                | b'.'
                | b'^'
                | b'_'
                | b'`'
                | b'|'
                | b'~'
        );
        if b.is_ascii_alphanumeric() || punctuation {
            bits[(b / 32) as usize] |= 1 << (b % 32);
        }
        b += 1;
    }
    bits
};

fn is_token(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(|&b| is_tchar(b))
}

/// Splits at the first `sep`, dropping it.
fn split_at_byte(s: &[u8], sep: u8) -> Option<(&[u8], &[u8])> {
    let i = s.iter().position(|&b| b == sep)?;
    let (head, tail) = s.split_at(i);
    Some((head, tail.get(1..).unwrap_or_default()))
}

/// HTTP/1.1 or HTTP/1.0: the versions a handshake can meet (an older one is
/// refused by the caller, RFC 6455 section 4.2.1 item 1).
fn is_http1(version: &[u8]) -> bool {
    // As one 64-bit number with the last digit's low bit set: "HTTP/1.1".
    <[u8; 8]>::try_from(version).is_ok_and(|v| u64::from_be_bytes(v) | 1 == HTTP_1_1)
}

/// "HTTP/1.1" as a big-endian number.
const HTTP_1_1: u64 = u64::from_be_bytes(*b"HTTP/1.1");

/// A request line (RFC 9112 section 3): method, target and version, one
/// space apart; the target visible ASCII.
fn request_line(line: &[u8]) -> Option<(&[u8], &[u8], &[u8])> {
    let (method, rest) = split_at_byte(line, b' ')?;
    let (target, version) = split_at_byte(rest, b' ')?;
    let target_ok = !target.is_empty() && target.iter().all(|b| b.is_ascii_graphic());
    (is_token(method) && target_ok && is_http1(version)).then_some((method, target, version))
}

/// A status line (RFC 9112 section 4): version, a three-digit status, and
/// an optional reason phrase; returns the status.
fn status_line(line: &[u8]) -> Option<u16> {
    let (version, rest) = split_at_byte(line, b' ')?;
    let (code, reason) = rest.split_at_checked(3)?;
    let reason_ok = reason.first().is_none_or(|&b| b == b' ') && reason.iter().all(|&b| is_text(b));
    if !is_http1(version) || !reason_ok {
        return None;
    }
    code.iter().try_fold(0u16, |n, &d| {
        d.is_ascii_digit().then(|| n * 10 + u16::from(d - b'0'))
    })
}

/// A header field line (RFC 9112 section 5): a token, a colon with no space
/// before it, and a value of text bytes; returns the name and the value
/// without surrounding whitespace.
fn field(line: &[u8]) -> Option<(&[u8], &[u8])> {
    let (name, value) = split_at_byte(line, b':')?;
    (is_token(name) && value.iter().all(|&b| is_text(b))).then(|| (name, trim(value)))
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

/// A value without the optional whitespace (spaces and tabs, RFC 9110
/// section 5.6.3) around it: the only whitespace a checked line can hold
/// (no CR, LF or other control byte passes `is_text`), so this is
/// `trim_ascii` in fewer bytes of code.
fn trim(mut v: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = v {
        v = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = v {
        v = rest;
    }
    v
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

    // The reason table follows the match's indices: each error its own.
    #[test]
    fn every_error_has_its_reason() {
        let pairs = [
            (HandshakeError::Malformed, "malformed HTTP request"),
            (HandshakeError::TooLarge, "header block too large"),
            (HandshakeError::TooManyHeaders, "too many headers"),
            (HandshakeError::NotGet, "method must be GET"),
            (HandshakeError::OldHttpVersion, "HTTP/1.1 required"),
            (HandshakeError::MissingHost, "missing Host header"),
            (HandshakeError::NotUpgrade, "missing 'Upgrade: websocket'"),
            (
                HandshakeError::MissingConnectionUpgrade,
                "missing 'Connection: Upgrade'",
            ),
            (HandshakeError::BadKey, "bad Sec-WebSocket-Key"),
            (
                HandshakeError::UnsupportedVersion,
                "Sec-WebSocket-Version must be 13",
            ),
            (
                HandshakeError::Status(404),
                "server did not switch protocols",
            ),
            (
                HandshakeError::BadAccept,
                "missing or wrong Sec-WebSocket-Accept",
            ),
            (
                HandshakeError::UnexpectedProtocol,
                "server chose a subprotocol that was not offered",
            ),
            (
                HandshakeError::UnexpectedExtension,
                "server answered with an extension or parameters that were not offered",
            ),
        ];
        assert_eq!(pairs.len(), REQUEST_ERRORS + RESPONSE_REASONS.len());
        for (e, reason) in pairs {
            assert_eq!(e.reason(), reason, "{e:?}");
        }
    }

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
        assert_eq!(req.path, b"/chat");
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
        use base64ct::{Base64, Encoding};
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
    fn header_syntax_is_http_1_1() {
        use HandshakeError::*;
        // Bare LF line ends are accepted (RFC 9112 section 2.2).
        let text = core::str::from_utf8(RFC_REQUEST)
            .unwrap()
            .replace("\r\n", "\n");
        let req = parse_request(text.as_bytes(), &[], 4096).unwrap().unwrap();
        assert_eq!(
            (req.len, req.host),
            (text.len(), &b"server.example.com"[..])
        );
        // Whitespace before the colon, an empty name, a name that is not a
        // token, a control character in a value, a folded line, a stray CR.
        assert_eq!(replace("Origin:", "Origin :"), Err(Malformed));
        assert_eq!(replace("Origin", ""), Err(Malformed));
        assert_eq!(replace("Origin", "Ori(gin"), Err(Malformed));
        assert_eq!(
            replace("example.com\r\nSec", "exa\x01mple.com\r\nSec"),
            Err(Malformed)
        );
        assert_eq!(replace("\r\nOrigin", "\r\n more\r\nOrigin"), Err(Malformed));
        assert_eq!(replace("Origin", "\rOrigin"), Err(Malformed));
        // The request line: one space apart, a token method, HTTP/1.x.
        assert_eq!(replace("GET /chat", "GET  /chat"), Err(Malformed));
        assert_eq!(
            replace("HTTP/1.1\r\nHost", "HTTP/2.0\r\nHost"),
            Err(Malformed)
        );
        assert_eq!(
            replace("HTTP/1.1\r\nHost", "HTTP/1.1 \r\nHost"),
            Err(Malformed)
        );
        assert_eq!(replace("GET", "G\"T"), Err(Malformed));
        // Values keep obs-text and inner whitespace; the ends are trimmed.
        assert!(replace("http://example.com", " \t\u{e9}x y\t").is_ok());
    }

    #[test]
    fn header_lines_are_counted_and_sized() {
        let head = b"GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
            Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n";
        let mut buf = [0u8; 1024];
        buf[..head.len()].copy_from_slice(head);
        let mut n = head.len();
        // Five fields, then filler up to MAX_HEADERS and one more.
        for fields in 6..=MAX_HEADERS + 1 {
            n += 6;
            buf[n - 6..n].copy_from_slice(b"X: 1\r\n");
            let end = n + 2;
            buf[n..end].copy_from_slice(b"\r\n");
            let parsed = parse_request(&buf[..end], &[], 4096);
            if fields <= MAX_HEADERS {
                assert_eq!(parsed.map(|r| r.map(|r| r.len)), Ok(Some(end)), "{fields}");
            } else {
                assert_eq!(parsed, Err(HandshakeError::TooManyHeaders), "{fields}");
            }
        }
        // The size limit holds for a complete block and an incomplete one.
        let full = RFC_REQUEST.len();
        assert!(parse_request(RFC_REQUEST, &[], full).is_ok());
        assert_eq!(
            parse_request(RFC_REQUEST, &[], full - 1),
            Err(HandshakeError::TooLarge)
        );
        assert_eq!(
            parse_request(&RFC_REQUEST[..40], &[], 40),
            Err(HandshakeError::TooLarge)
        );
    }

    #[test]
    fn non_http_is_refused_before_the_block_ends() {
        // A TLS ClientHello's first bytes, and a NUL in a header line that
        // has not ended yet: no need to wait for more.
        assert_eq!(
            parse_request(&[0x16, 0x03, 0x01, 0x02, 0x00], &[], 4096),
            Err(HandshakeError::Malformed)
        );
        assert_eq!(
            parse_request(b"GET / HTTP/1.1\r\nHost: a\0", &[], 4096),
            Err(HandshakeError::Malformed)
        );
        // Every prefix of a good request is merely incomplete.
        for k in 0..RFC_REQUEST.len() {
            assert_eq!(parse_request(&RFC_REQUEST[..k], &[], 4096), Ok(None), "{k}");
        }
    }

    #[test]
    fn token_characters_are_rfc_9110s() {
        for b in 0..=255u8 {
            let tchar = b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
            assert_eq!(is_tchar(b), tchar, "{b:#x}");
        }
    }

    #[test]
    fn status_lines() {
        assert_eq!(status_line(b"HTTP/1.1 101 Switching Protocols"), Some(101));
        assert_eq!(status_line(b"HTTP/1.0 404"), Some(404));
        assert_eq!(status_line(b"HTTP/1.1 200 "), Some(200));
        for bad in [
            &b"HTTP/1.1 10"[..],
            b"HTTP/1.1 1010",
            b"HTTP/1.1 1x1 OK",
            b"HTTP/2 101 OK",
            b"HTTP/1.1  101 OK",
            b"HTTP/1.1 101 O\x01K",
        ] {
            assert_eq!(status_line(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn http_statuses() {
        use HandshakeError::*;
        for (e, status) in [
            (Malformed, (400, "Bad Request")),
            (TooLarge, (431, "Request Header Fields Too Large")),
            (TooManyHeaders, (431, "Request Header Fields Too Large")),
            (NotGet, (405, "Method Not Allowed")),
            (OldHttpVersion, (400, "Bad Request")),
            (MissingHost, (400, "Bad Request")),
            (NotUpgrade, (426, "Upgrade Required")),
            (MissingConnectionUpgrade, (400, "Bad Request")),
            (BadKey, (400, "Bad Request")),
            (UnsupportedVersion, (426, "Upgrade Required")),
            (BadAccept, (400, "Bad Request")),
        ] {
            assert_eq!(e.http_status(), status, "{e:?}");
            let mut out = [0u8; 512];
            let n = write_rejection(e, &mut out).unwrap();
            let text = core::str::from_utf8(&out[..n]).unwrap();
            let (code, rest) = text["HTTP/1.1 ".len()..].split_once(' ').unwrap();
            assert_eq!(code.parse::<u16>().unwrap(), status.0, "{e:?}");
            assert!(rest.starts_with(status.1) && rest[status.1.len()..].starts_with("\r\n"));
        }
        let mut out = [0u8; 512];
        let n = write_rejection(NotUpgrade, &mut out).unwrap();
        let text = core::str::from_utf8(&out[..n]).unwrap();
        assert!(text.contains("\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"));
        let n = write_rejection(NotGet, &mut out).unwrap();
        assert!(out[..n].windows(12).any(|w| w == b"Allow: GET\r\n"));
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
        // The body is the reason; a response's error (no server rejects
        // with one) gets the status phrase instead.
        let n = write_rejection(HandshakeError::BadKey, &mut out).unwrap();
        assert!(out[..n].ends_with(b"\r\n\r\nbad Sec-WebSocket-Key\n"));
        let n = write_rejection(HandshakeError::BadAccept, &mut out).unwrap();
        assert!(out[..n].ends_with(b"Content-Length: 12\r\n\r\nBad Request\n"));
    }

    #[test]
    fn client_request_and_response_round_trip() {
        let key = client_key([7; 16]);
        let mut out = [0u8; 512];
        let n = write_request("localhost:8888", "/x", &key, &["chat"], None, &mut out).unwrap();
        let req = parse_request(&out[..n], &["chat"], 4096).unwrap().unwrap();
        assert_eq!((req.path, req.protocol), (&b"/x"[..], Some(0)));
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
