//! Received events packed into bytes, for hosts that read them straight
//! from the module's memory: one buffer per `receive` instead of one JS
//! object, string and `Uint8Array` per event, each made by a call across
//! the wasm boundary.
//!
//! Layout (little-endian): a header of [`HEADER`] bytes, the `u32` offset
//! where the events end and the `u32` [`Flags`](FLAG_BUFFERED); then each
//! event, [`EVENT`] bytes: a `u8` kind, three zero bytes, a `u32` close
//! code (0 unless the kind is [`CLOSE`]), a `u32` payload length and the
//! `u32` address of the payload in the module's memory (a message, a ping
//! or pong's data, a close reason; empty for [`ERROR`]).
//!
//! Payloads are not copied in: they stay where the engine left them (the
//! received bytes, unmasked in place, or the reassembled message), which
//! holds until the next call into the connection or the staged I/O, so
//! the host copies each one once, straight into the value it hands on.

use websock_core::Error;

use crate::session::Received;

/// Bytes before the first event.
pub const HEADER: usize = 8;
/// Bytes of an event.
pub const EVENT: usize = 16;

/// A whole text message (UTF-8, checked by the engine).
pub const TEXT: u8 = 1;
/// A whole binary message.
pub const BINARY: u8 = 2;
/// A ping; the pong is already in the output.
pub const PING: u8 = 3;
/// A pong.
pub const PONG: u8 = 4;
/// The peer's close frame: its code, and its reason as the payload.
pub const CLOSE: u8 = 5;
/// The peer broke the protocol; the host asks for the error separately.
pub const ERROR: u8 = 6;

/// Header flag: received bytes wait for another receive call.
pub const FLAG_BUFFERED: u32 = 1;

/// Past this capacity the buffer is released at the next [`begin`], so that
/// one large message does not pin its memory; below it, it is reused.
pub const RETAINED: usize = 1 << 20;

/// Empties `out` and leaves room for the header.
pub fn begin(out: &mut Vec<u8>) {
    if out.capacity() > RETAINED {
        *out = Vec::new();
    }
    out.clear();
    out.resize(HEADER, 0);
}

/// Appends one event. A failure's error is returned, for the host to
/// fetch as an object: it is rare, and carries more than numbers.
pub fn push(out: &mut Vec<u8>, received: Received<'_>) -> Option<Error> {
    let (kind, code, payload, failure) = match received {
        Received::Text(b) => (TEXT, 0, b, None),
        Received::Binary(b) => (BINARY, 0, b, None),
        Received::Ping(b) => (PING, 0, b, None),
        Received::Pong(b) => (PONG, 0, b, None),
        Received::Close { code, reason } => (CLOSE, code, reason.as_bytes(), None),
        Received::Failed(e) => (ERROR, 0, &[][..], Some(e)),
    };
    let mut event = [0; EVENT];
    event[0] = kind;
    event[4..8].copy_from_slice(&u32::from(code).to_le_bytes());
    event[8..12].copy_from_slice(&len32(payload.len()).to_le_bytes());
    event[12..].copy_from_slice(&address32(payload).to_le_bytes());
    out.extend_from_slice(&event);
    failure
}

/// Writes the header once the events are in.
pub fn finish(out: &mut [u8], flags: u32) {
    if out.len() < HEADER {
        return;
    }
    let end = len32(out.len()).to_le_bytes();
    out[..4].copy_from_slice(&end);
    out[4..HEADER].copy_from_slice(&flags.to_le_bytes());
}

/// Where `bytes` start, as the layout's `u32`: an address in the module's
/// 32-bit memory. Natively (in tests) the upper half is cut off.
fn address32(bytes: &[u8]) -> u32 {
    bytes.as_ptr() as usize as u32
}

/// A length as the layout's `u32`. The module's memory is 32-bit, so every
/// length in it fits; natively (in tests) larger ones saturate.
fn len32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use websock_core::Violation;

    fn u32_at(b: &[u8], at: usize) -> u32 {
        u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
    }

    #[test]
    fn events_follow_the_header_in_order() {
        let mut out = vec![9; 3];
        begin(&mut out);
        let (ping, binary, reason) = (b"p", b"abc", "bye");
        assert_eq!(push(&mut out, Received::Ping(ping)), None);
        assert_eq!(push(&mut out, Received::Binary(binary)), None);
        assert_eq!(push(&mut out, Received::Close { code: 1001, reason }), None);
        finish(&mut out, FLAG_BUFFERED);
        assert_eq!(u32_at(&out, 0) as usize, out.len());
        assert_eq!(u32_at(&out, 4), FLAG_BUFFERED);
        let mut at = HEADER;
        let mut seen = Vec::new();
        while at < out.len() {
            let (len, address) = (u32_at(&out, at + 8), u32_at(&out, at + 12));
            seen.push((out[at], u32_at(&out, at + 4), len, address));
            at += EVENT;
        }
        assert_eq!(
            seen,
            vec![
                (PING, 0, 1, address32(ping)),
                (BINARY, 0, 3, address32(binary)),
                (CLOSE, 1001, 3, address32(reason.as_bytes())),
            ]
        );
    }

    #[test]
    fn a_large_buffer_is_released_at_the_next_begin() {
        let mut out = Vec::new();
        begin(&mut out);
        for _ in 0..=RETAINED / EVENT {
            push(&mut out, Received::Binary(b""));
        }
        assert!(out.capacity() > RETAINED);
        begin(&mut out);
        assert!(out.capacity() <= RETAINED);
        assert_eq!(out, [0; HEADER]);
    }

    #[test]
    fn a_failure_is_an_empty_event_and_its_error_comes_back() {
        let mut out = Vec::new();
        begin(&mut out);
        let e = Error::Protocol(Violation::ReservedBits);
        assert_eq!(push(&mut out, Received::Failed(e)), Some(e));
        push(&mut out, Received::Text(b""));
        finish(&mut out, 0);
        assert_eq!(out.len(), HEADER + 2 * EVENT);
        assert_eq!((out[HEADER], out[HEADER + EVENT]), (ERROR, TEXT));
        assert_eq!(u32_at(&out, 4), 0);
    }
}
