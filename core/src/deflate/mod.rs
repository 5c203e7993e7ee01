//! permessage-deflate (RFC 7692): negotiation of its parameters in the
//! opening handshake, and the per-connection compressor and decompressor.
//!
//! Negotiation is plain parsing and needs nothing. With the `inflate`
//! feature alone there is also [`inflate::Inflater`], which needs no
//! allocator: it keeps its history in a window the caller owns, and a
//! connection receives compressed messages with it when the caller lends an
//! [`inflate::Window`] ([`Memory::Caller`], the only kind without `deflate`;
//! such a connection sends uncompressed, which RFC 7692 section 6 allows
//! message by message). With
//! `deflate`, `Codec` compresses and inflates with zlib-rs, which
//! allocates its window and hash tables on the heap. Window sizes are
//! honoured for real: a peer that asks for a 9-bit window gets a compressor
//! with a 512-byte window. zlib cannot make raw streams with an 8-bit window,
//! so offers that demand one are declined (section 7.1.2.1 lets a server
//! decline any offer it cannot honour).

use core::fmt;

use crate::handshake::HandshakeError;

#[cfg(feature = "deflate")]
mod codec;
pub mod inflate;
#[cfg(feature = "deflate")]
mod lean;

pub use inflate::Window;

#[cfg(feature = "deflate")]
pub use codec::{Codec, CorruptData};

/// The extension's registered name (section 7).
const NAME: &[u8] = b"permessage-deflate";

/// Bytes every compressed message ends with before they are stripped
/// (section 7.2.1), and that the receiver appends back (section 7.2.2).
pub const TAIL: [u8; 4] = [0x00, 0x00, 0xFF, 0xFF];

/// The longest extension header value this module writes.
pub const MAX_HEADER_VALUE: usize = 160;

/// What this endpoint is willing to agree to. For a server these are limits
/// applied to whatever the client offers; for a client they make the offer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Options {
    /// zlib compression level, 0 (store) to 9 (smallest).
    pub level: u8,
    /// Server: reset our compressor after every message even if the client
    /// did not ask. Client: ask the server to reset its compressor.
    pub server_no_context_takeover: bool,
    /// Server: ask the client to reset its compressor. Client: reset ours
    /// after every message, and say so in the offer.
    pub client_no_context_takeover: bool,
    /// Server: the largest window our compressor uses (9 to 15). Client:
    /// below 15, ask the server for at most this window.
    pub server_max_window_bits: u8,
    /// Server: below 15, tell a client that allows it to use at most this
    /// window. Client: the largest window our compressor uses; the offer
    /// always carries `client_max_window_bits` so the server may lower it.
    pub client_max_window_bits: u8,
    /// What the codec spends memory on (the operator's knob).
    pub memory: Memory,
}

/// How a connection's compressor and inflater spend memory. Heap per
/// server connection after a message each way is measured for each by
/// `examples/deflate_report.rs` and held to `core/deflate-heap.budget`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Memory {
    /// zlib-rs both ways: the best ratio, the fastest at low levels,
    /// about 300-420 KiB per connection with context takeover (fixed-size
    /// tables). The default with the `deflate` feature.
    #[cfg(feature = "deflate")]
    Large,
    /// A fixed-code compressor whose tables follow its window (capped at
    /// 14 bits) and the allocator-free inflater with a `2^bits` window:
    /// about 8 KiB at 9 bits and 116 KiB at 15, a larger ratio; about as
    /// fast as `Large` at level 6, slower to compress at level 1.
    #[cfg(feature = "deflate")]
    Small,
    /// No heap, no compressor: the caller lends the inflater and its window
    /// ([`inflate::Window`]) on each
    /// [`Connection::receive_inflating`](crate::Connection::receive_inflating),
    /// and messages are sent uncompressed. Negotiation asks the peer for a
    /// window the caller's holds, and declines an offer that gives a server
    /// no say (section 7.1.2.2). The only kind, and so the default, without
    /// the `deflate` feature.
    Caller,
}

impl Memory {
    #[cfg(feature = "deflate")]
    const DEFAULT: Memory = Memory::Large;
    #[cfg(not(feature = "deflate"))]
    const DEFAULT: Memory = Memory::Caller;
}

impl Default for Memory {
    fn default() -> Self {
        Memory::DEFAULT
    }
}

impl Options {
    /// Level 6, context takeover both ways, 15-bit windows: the best ratio.
    pub const fn new() -> Self {
        Options {
            level: 6,
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            server_max_window_bits: 15,
            client_max_window_bits: 15,
            memory: Memory::DEFAULT,
        }
    }

    /// Receiving only, into a caller's [`inflate::Window`] of `2^bits`
    /// bytes ([`Memory::Caller`], see there): either role asks the peer's
    /// compressor for a window of at most `bits` (9 to 15), a server with
    /// `client_max_window_bits` (section 7.1.2.2), a client with
    /// `server_max_window_bits` (7.1.2.1).
    pub const fn receive_only(bits: u8) -> Self {
        Options {
            server_max_window_bits: bits,
            client_max_window_bits: bits,
            memory: Memory::Caller,
            ..Options::new()
        }
    }
}

impl Default for Options {
    fn default() -> Self {
        Options::new()
    }
}

/// The parameters in force on one connection, seen from this endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Agreed {
    /// Our compressor resets after each message.
    pub local_no_context_takeover: bool,
    /// The response carried the peer's `*_no_context_takeover`, so the
    /// peer's compressor resets after each message and our inflater's
    /// window need not outlive a message. Only the response binds: a
    /// client's `client_no_context_takeover` in its offer is a hint (RFC
    /// 7692 section 7.1.1.2), and some clients send it and keep their
    /// context, so a server sets this only when it answers with it.
    pub remote_no_context_takeover: bool,
    /// Our compressor's window (9 to 15).
    pub local_window_bits: u8,
    /// The largest window the peer's compressor may use (our inflater's).
    pub remote_window_bits: u8,
    /// Our compression level.
    pub level: u8,
    /// Which codec spends how much memory.
    pub memory: Memory,
}

/// The parameters of one offer or response, as parsed (section 7.1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Params {
    server_no_context_takeover: bool,
    client_no_context_takeover: bool,
    server_max_window_bits: Option<u8>,
    /// `Some(None)`: present without a value (only valid in an offer).
    client_max_window_bits: Option<Option<u8>>,
}

/// Splits a header value into its comma-separated elements, honouring
/// quoted strings (RFC 7230 section 3.2.6).
fn split_list(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = Some(value);
    core::iter::from_fn(move || {
        let v = rest?;
        let mut quoted = false;
        for (i, &b) in v.iter().enumerate() {
            match b {
                b'"' => quoted = !quoted,
                b',' if !quoted => {
                    rest = Some(&v[i + 1..]);
                    return Some(&v[..i]);
                }
                _ => {}
            }
        }
        rest = None;
        Some(v)
    })
}

/// Parses one extension element. `None`: not permessage-deflate.
/// `Some(Err)`: permessage-deflate with parameters that break section 7.1
/// (unknown, repeated, or a bad value), which must not be accepted.
fn parse_element(element: &[u8]) -> Option<Result<Params, ()>> {
    let mut parts = element.split(|&b| b == b';');
    let name = parts.next()?.trim_ascii();
    if !name.eq_ignore_ascii_case(NAME) {
        return None;
    }
    let mut p = Params::default();
    for part in parts {
        let (key, value) = match part.iter().position(|&b| b == b'=') {
            Some(i) => (
                part[..i].trim_ascii(),
                Some(unquote(part[i + 1..].trim_ascii())),
            ),
            None => (part.trim_ascii(), None),
        };
        let ok = if key.eq_ignore_ascii_case(b"server_no_context_takeover") {
            value.is_none() && !core::mem::replace(&mut p.server_no_context_takeover, true)
        } else if key.eq_ignore_ascii_case(b"client_no_context_takeover") {
            value.is_none() && !core::mem::replace(&mut p.client_no_context_takeover, true)
        } else if key.eq_ignore_ascii_case(b"server_max_window_bits") {
            // Section 7.1.2.1: a value is required.
            match value.and_then(window_bits) {
                Some(bits) if p.server_max_window_bits.is_none() => {
                    p.server_max_window_bits = Some(bits);
                    true
                }
                _ => false,
            }
        } else if key.eq_ignore_ascii_case(b"client_max_window_bits") {
            // Section 7.1.2.2: the value is optional in an offer.
            let bits = match value {
                None => Some(None),
                Some(v) => window_bits(v).map(Some),
            };
            match bits {
                Some(b) if p.client_max_window_bits.is_none() => {
                    p.client_max_window_bits = Some(b);
                    true
                }
                _ => false,
            }
        } else {
            false
        };
        if !ok {
            return Some(Err(()));
        }
    }
    Some(Ok(p))
}

fn unquote(v: &[u8]) -> &[u8] {
    match v {
        [b'"', inner @ .., b'"'] => inner,
        _ => v,
    }
}

/// A window size parameter: 8 to 15, decimal, no leading zero (7.1.2).
fn window_bits(v: &[u8]) -> Option<u8> {
    match v {
        [d @ b'8'..=b'9'] => Some(d - b'0'),
        [b'1', d @ b'0'..=b'5'] => Some(10 + d - b'0'),
        _ => None,
    }
}

/// Appends to a fixed buffer.
struct Text {
    buf: [u8; MAX_HEADER_VALUE],
    len: usize,
}

impl Text {
    fn new() -> Self {
        let mut t = Text {
            buf: [0; MAX_HEADER_VALUE],
            len: 0,
        };
        t.put(NAME);
        t
    }

    fn put(&mut self, bytes: &[u8]) {
        // The longest value written is well under the buffer's size.
        let end = (self.len + bytes.len()).min(MAX_HEADER_VALUE);
        self.buf[self.len..end].copy_from_slice(&bytes[..end - self.len]);
        self.len = end;
    }

    fn param(&mut self, name: &[u8], bits: Option<u8>) {
        self.put(b"; ");
        self.put(name);
        if let Some(b) = bits {
            self.put(b"=");
            if b >= 10 {
                self.put(b"1");
            }
            self.put(&[b'0' + b % 10]);
        }
    }
}

/// An extension header value written by [`negotiate`] or [`offer`].
pub struct HeaderValue(Text);

impl HeaderValue {
    /// The value's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0.buf[..self.0.len]
    }
}

impl fmt::Debug for HeaderValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(core::str::from_utf8(self.as_bytes()).unwrap_or("?"))
    }
}

/// Server: picks the first acceptable permessage-deflate offer among the
/// request's Sec-WebSocket-Extensions values (section 5.1, 7.1) and returns
/// the parameters and the response value. `None`: decline (no extension).
pub fn negotiate<'a>(
    headers: impl IntoIterator<Item = &'a [u8]>,
    options: &Options,
) -> Option<(Agreed, HeaderValue)> {
    // The caller's window is a hard limit on the client's compressor, and
    // without a compressor of ours any limit on it is kept by not using it.
    let lent = options.memory == Memory::Caller;
    let server_limit = if lent {
        15
    } else {
        options.server_max_window_bits.clamp(9, 15)
    };
    for header in headers {
        for element in split_list(header) {
            let Some(Ok(offer)) = parse_element(element) else {
                continue;
            };
            let mut text = Text::new();
            // Our compressor: the client's limit, if any, within ours. zlib
            // cannot honour a limit of 8, so such an offer is declined.
            let local_window = match offer.server_max_window_bits {
                Some(8) if !lent => continue,
                Some(asked) => asked.min(server_limit),
                None => server_limit,
            };
            let local_reset =
                offer.server_no_context_takeover || options.server_no_context_takeover;
            if local_reset {
                text.param(b"server_no_context_takeover", None);
            }
            if local_window < 15 || offer.server_max_window_bits.is_some() {
                text.param(b"server_max_window_bits", Some(local_window));
            }
            if options.client_no_context_takeover {
                text.param(b"client_no_context_takeover", None);
            }
            // The client's compressor: we may lower it only if it said so
            // (section 7.1.2.2). A caller's window smaller than 32 KiB
            // cannot take a client that did not, so its offer is declined.
            let wanted = options.client_max_window_bits.clamp(9, 15);
            let mut remote_window = 15;
            if let Some(hint) = offer.client_max_window_bits {
                let bits = hint.map_or(wanted, |h| h.min(wanted));
                if bits < 15 {
                    text.param(b"client_max_window_bits", Some(bits));
                    remote_window = bits.max(9);
                }
            } else if lent && wanted < 15 {
                continue;
            }
            let agreed = Agreed {
                local_no_context_takeover: local_reset,
                remote_no_context_takeover: options.client_no_context_takeover,
                local_window_bits: local_window,
                remote_window_bits: remote_window,
                level: options.level.min(9),
                memory: options.memory,
            };
            return Some((agreed, HeaderValue(text)));
        }
    }
    None
}

/// Client: the Sec-WebSocket-Extensions offer for these options.
pub fn offer(options: &Options) -> HeaderValue {
    let mut text = Text::new();
    if options.server_no_context_takeover {
        text.param(b"server_no_context_takeover", None);
    }
    if options.server_max_window_bits < 15 {
        text.param(
            b"server_max_window_bits",
            Some(options.server_max_window_bits.clamp(9, 15)),
        );
    }
    if options.client_no_context_takeover {
        text.param(b"client_no_context_takeover", None);
    }
    let ours = options.client_max_window_bits.clamp(9, 15);
    text.param(b"client_max_window_bits", (ours < 15).then_some(ours));
    HeaderValue(text)
}

/// Client: checks the server's response to [`offer`] (section 7.1) and
/// returns the parameters in force.
pub fn accept_response(value: &[u8], options: &Options) -> Result<Agreed, HandshakeError> {
    let mut elements = split_list(value);
    let element = elements.next().ok_or(HandshakeError::UnexpectedExtension)?;
    if elements.next().is_some() {
        return Err(HandshakeError::UnexpectedExtension);
    }
    let p = match parse_element(element) {
        Some(Ok(p)) => p,
        _ => return Err(HandshakeError::UnexpectedExtension),
    };
    let lent = options.memory == Memory::Caller;
    let ours = options.client_max_window_bits.clamp(9, 15);
    let local_window = match p.client_max_window_bits {
        None => ours,
        // A response must carry a value, and zlib cannot go below 9 (with
        // no compressor of ours, a limit of 8 is kept by not compressing).
        Some(None) => return Err(HandshakeError::UnexpectedExtension),
        Some(Some(8)) if !lent => return Err(HandshakeError::UnexpectedExtension),
        Some(Some(bits)) if bits <= ours => bits,
        Some(Some(_)) => return Err(HandshakeError::UnexpectedExtension),
    };
    let asked = options.server_max_window_bits.clamp(9, 15);
    let remote_window = match p.server_max_window_bits {
        Some(bits) if bits > asked => return Err(HandshakeError::UnexpectedExtension),
        Some(bits) => bits.max(9),
        // Section 7.1.2.1: a server accepts our limit by answering with
        // one. Without it the server's window may be 32 KiB, more than a
        // caller's smaller window holds.
        None if lent && asked < 15 => return Err(HandshakeError::UnexpectedExtension),
        None => 15,
    };
    if options.server_no_context_takeover && !p.server_no_context_takeover {
        return Err(HandshakeError::UnexpectedExtension);
    }
    Ok(Agreed {
        local_no_context_takeover: p.client_no_context_takeover
            || options.client_no_context_takeover,
        remote_no_context_takeover: p.server_no_context_takeover,
        local_window_bits: local_window,
        remote_window_bits: remote_window,
        level: options.level.min(9),
        memory: options.memory,
    })
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;

    fn negotiated(offer: &str, options: &Options) -> Option<(Agreed, std::string::String)> {
        negotiate([offer.as_bytes()], options).map(|(a, v)| {
            (
                a,
                std::string::String::from_utf8(v.as_bytes().to_vec()).unwrap(),
            )
        })
    }

    #[test]
    fn server_honours_each_parameter() {
        let o = Options::new();
        let (a, v) = negotiated("permessage-deflate", &o).unwrap();
        assert_eq!(v, "permessage-deflate");
        assert_eq!((a.local_window_bits, a.remote_window_bits), (15, 15));
        let (a, v) = negotiated(
            "permessage-deflate; server_max_window_bits=9; client_max_window_bits",
            &o,
        )
        .unwrap();
        assert_eq!(v, "permessage-deflate; server_max_window_bits=9");
        assert_eq!(a.local_window_bits, 9);
        let (a, v) = negotiated("permessage-deflate; server_no_context_takeover", &o).unwrap();
        assert_eq!(v, "permessage-deflate; server_no_context_takeover");
        assert!(a.local_no_context_takeover);
        // The offer's hint does not bind the client (section 7.1.1.2)...
        let (a, v) = negotiated("permessage-deflate; client_no_context_takeover", &o).unwrap();
        assert_eq!(v, "permessage-deflate");
        assert!(!a.remote_no_context_takeover);
        // ...our response does.
        let reset = Options {
            client_no_context_takeover: true,
            ..Options::new()
        };
        let (a, v) = negotiated("permessage-deflate", &reset).unwrap();
        assert_eq!(v, "permessage-deflate; client_no_context_takeover");
        assert!(a.remote_no_context_takeover);
        let small = Options {
            client_max_window_bits: 10,
            ..Options::new()
        };
        let (a, v) = negotiated("permessage-deflate; client_max_window_bits", &small).unwrap();
        assert_eq!(v, "permessage-deflate; client_max_window_bits=10");
        assert_eq!(a.remote_window_bits, 10);
        // Without the client's permission the server may not limit it: it
        // takes a 15-bit window, or declines when it has only the caller's.
        let answer = negotiated("permessage-deflate", &small).map(|(_, v)| v);
        let expected = (small.memory != Memory::Caller).then(|| "permessage-deflate".into());
        assert_eq!(answer, expected);
    }

    #[test]
    fn server_declines_bad_offers_and_takes_the_next() {
        let o = Options::new();
        assert!(negotiated("x-webkit-deflate-frame", &o).is_none());
        // zlib cannot compress with a window of 8 bits (a server with no
        // compressor keeps that limit by sending uncompressed).
        let zlib = o.memory != Memory::Caller;
        assert_eq!(
            negotiated("permessage-deflate; server_max_window_bits=8", &o).is_none(),
            zlib
        );
        assert!(negotiated("permessage-deflate; server_max_window_bits", &o).is_none());
        assert!(negotiated("permessage-deflate; server_max_window_bits=16", &o).is_none());
        assert!(negotiated("permessage-deflate; foo", &o).is_none());
        assert!(negotiated(
            "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
            &o
        )
        .is_none());
        let (a, v) = negotiated(
            "permessage-deflate; server_max_window_bits=16, permessage-deflate; client_max_window_bits=\"12\"",
            &o,
        )
        .unwrap();
        // The client's hint of 12 is taken up, so our inflater needs no more.
        assert_eq!(v, "permessage-deflate; client_max_window_bits=12");
        assert_eq!(a.remote_window_bits, 12);
    }

    #[test]
    fn client_offer_and_response_checks() {
        let o = Options::new();
        assert_eq!(
            offer(&o).as_bytes(),
            b"permessage-deflate; client_max_window_bits"
        );
        let a = accept_response(b"permessage-deflate; client_max_window_bits=9", &o).unwrap();
        assert_eq!(a.local_window_bits, 9);
        let a = accept_response(b"permessage-deflate; client_no_context_takeover", &o).unwrap();
        assert!(a.local_no_context_takeover);
        assert_eq!(
            accept_response(b"permessage-deflate; client_max_window_bits=8", &o).is_err(),
            o.memory != Memory::Caller
        );
        assert!(accept_response(b"permessage-deflate; client_max_window_bits", &o).is_err());
        assert!(accept_response(b"permessage-deflate; bogus", &o).is_err());
        assert!(accept_response(b"permessage-deflate, permessage-deflate", &o).is_err());
        assert!(accept_response(b"x-other", &o).is_err());
    }

    /// A client that lends its window asks the server for one it holds
    /// (section 7.1.2.1) and fails a response that does not promise it.
    #[test]
    fn client_lending_its_window_holds_the_server_to_it() {
        let o = Options::receive_only(10);
        assert_eq!(
            offer(&o).as_bytes(),
            b"permessage-deflate; server_max_window_bits=10; client_max_window_bits=10"
        );
        let a = accept_response(b"permessage-deflate; server_max_window_bits=10", &o).unwrap();
        assert_eq!((a.remote_window_bits, a.memory), (10, Memory::Caller));
        let a = accept_response(b"permessage-deflate; server_max_window_bits=8", &o).unwrap();
        assert_eq!(a.remote_window_bits, 9);
        assert!(accept_response(b"permessage-deflate", &o).is_err());
        assert!(accept_response(b"permessage-deflate; server_max_window_bits=11", &o).is_err());
        // With no compressor, a limit of 8 on ours is kept by not using it.
        assert!(accept_response(
            b"permessage-deflate; server_max_window_bits=9; client_max_window_bits=8",
            &o
        )
        .is_ok());
        // A 32 KiB window takes a server that sets no limit.
        let a = accept_response(b"permessage-deflate", &Options::receive_only(15)).unwrap();
        assert_eq!(a.remote_window_bits, 15);
    }
}
