//! Incremental, fail-fast UTF-8 validation of text messages (RFC 6455
//! section 8.1: an endpoint that receives invalid UTF-8 fails the
//! connection with 1007).
//!
//! A text message arrives in pieces that may split a character anywhere.
//! The validator keeps the (at most three) bytes of an unfinished character
//! and rejects a piece at its first byte that cannot begin or continue valid
//! UTF-8, so a bad message is refused at once rather than at its end.

// Where the target has vector registers, simdutf8 checks the bulk of a
// piece (with `std`, choosing its routine at run time); elsewhere it only
// wraps core's validator, whose tables and word-at-a-time loops cost about
// 860 bytes of a wasm32 module, and a byte-at-a-time automaton of our own
// (below) is a fraction of that. The automaton also carries an unfinished
// character between pieces everywhere, in one byte of state.
#[cfg(any(
    target_arch = "x86",
    target_arch = "x86_64",
    target_arch = "aarch64",
    all(target_arch = "wasm32", target_feature = "simd128")
))]
use simdutf8::compat::from_utf8;

/// Whether `bytes` are complete, valid UTF-8.
pub fn is_valid(bytes: &[u8]) -> bool {
    let mut v = Validator::new();
    v.feed(bytes).is_ok() && v.finish().is_ok()
}

/// Validation state carried between the pieces of one text message.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Validator {
    /// The unfinished character at the end of the last piece: how many
    /// continuation bytes it still needs (the two low bits), and which
    /// range the next one must fall in (the bits above: see [`step`]).
    state: u8,
}

/// A piece contained a byte that can never be valid UTF-8 here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InvalidUtf8;

impl Validator {
    /// A validator at the start of a message.
    pub const fn new() -> Self {
        Validator { state: 0 }
    }

    /// Validates the next piece of the message.
    // Inlined into the receive loop where the vector validator does the
    // work, as core's call was before (out of line: about 9 more
    // instructions per frame, measured with callgrind on the decode
    // benchmark's 20-byte frames).
    #[cfg_attr(
        any(
            target_arch = "x86",
            target_arch = "x86_64",
            target_arch = "aarch64",
            all(target_arch = "wasm32", target_feature = "simd128")
        ),
        inline(always)
    )]
    pub fn feed(&mut self, piece: &[u8]) -> Result<(), InvalidUtf8> {
        #[cfg(any(
            target_arch = "x86",
            target_arch = "x86_64",
            target_arch = "aarch64",
            all(target_arch = "wasm32", target_feature = "simd128")
        ))]
        let piece = {
            // Finish the carried character byte by byte, then the rest at
            // vector speed; an unfinished character at its end goes to
            // the automaton again (error_len() is None only then).
            let mut piece = piece;
            while self.state != 0 {
                let Some((first, rest)) = piece.split_first_chunk::<1>() else {
                    return Ok(());
                };
                self.feed_bytes(first)?;
                piece = rest;
            }
            match from_utf8(piece) {
                Ok(_) => return Ok(()),
                Err(e) if e.error_len().is_none() => {
                    piece.get(e.valid_up_to()..).unwrap_or_default()
                }
                Err(_) => return Err(InvalidUtf8),
            }
        };
        self.feed_bytes(piece)
    }

    /// Validates a piece byte by byte: all of it where there is no vector
    /// validator, else the carried character's end and an unfinished tail.
    fn feed_bytes(&mut self, piece: &[u8]) -> Result<(), InvalidUtf8> {
        for &b in piece {
            self.state = step(self.state, b).ok_or(InvalidUtf8)?;
        }
        Ok(())
    }

    /// Checks that the message ended on a character boundary, and resets
    /// the validator for the next message.
    pub fn finish(&mut self) -> Result<(), InvalidUtf8> {
        let complete = self.state == 0;
        *self = Validator::new();
        if complete {
            Ok(())
        } else {
            Err(InvalidUtf8)
        }
    }
}

/// One byte of UTF-8 (RFC 3629 section 4's syntax): the state after `b`,
/// or `None` if `b` cannot come next. A state is the number of
/// continuation bytes still needed (0 to 3, the two low bits) and, above
/// them, which of the four 16-value quarters of 80-BF the next one may be
/// in (a bit each): all four after most lead bytes, but A0-BF after E0 (no
/// overlong), 80-9F after ED (no surrogate), 90-BF after F0 (no overlong)
/// and 80-8F after F4 (nothing above U+10FFFF). Computed rather than
/// looked up: no table to carry.
fn step(state: u8, b: u8) -> Option<u8> {
    if state == 0 {
        let need = match b {
            0x00..=0x7F => return Some(0),
            0xC2..=0xDF => 1,
            0xE0..=0xEF => 2,
            0xF0..=0xF4 => 3,
            _ => return None,
        };
        let quarters: u8 = match b {
            0xE0 => 0b1100,
            0xED => 0b0011,
            0xF0 => 0b1110,
            0xF4 => 0b0001,
            _ => 0b1111,
        };
        return Some(need | quarters << 2);
    }
    let allowed = b & 0xC0 == 0x80 && state >> (2 + (b >> 4 & 3)) & 1 != 0;
    let need = (state & 3) - 1;
    allowed.then_some(if need == 0 { 0 } else { need | 0b1111 << 2 })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed_split(bytes: &[u8], at: &[usize]) -> Result<(), InvalidUtf8> {
        let mut v = Validator::new();
        let mut start = 0;
        for &end in at.iter().chain(core::iter::once(&bytes.len())) {
            v.feed(&bytes[start..end])?;
            start = end;
        }
        v.finish()
    }

    #[test]
    fn valid_text_split_everywhere() {
        let text = "κόσμε-€-𝄞-ab".as_bytes();
        for i in 0..=text.len() {
            for j in i..=text.len() {
                assert_eq!(feed_split(text, &[i, j]), Ok(()), "split {i} {j}");
            }
        }
    }

    #[test]
    fn fails_at_first_bad_byte_not_at_end() {
        // 0xF4 0x90 is above U+10FFFF: reject on the piece holding 0x90,
        // before the message ends.
        let mut v = Validator::new();
        assert_eq!(v.feed(&[b'a', 0xF4]), Ok(()));
        assert_eq!(v.feed(&[0x90]), Err(InvalidUtf8));
        let mut v = Validator::new();
        assert_eq!(v.feed(&[0xCE, 0xBA, 0xED, 0xA0]), Err(InvalidUtf8)); // surrogate
        let mut v = Validator::new();
        assert_eq!(v.feed(&[0xC0]), Err(InvalidUtf8)); // overlong lead
    }

    /// Every sequence of up to four bytes drawn from the values at each
    /// range's edges, whole and split at every point, agrees with core's
    /// validator: the automaton accepts exactly UTF-8.
    #[test]
    fn agrees_with_core_on_every_edge() {
        let edges: &[u8] = &[
            0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF, 0xE0,
            0xE1, 0xEC, 0xED, 0xEE, 0xEF, 0xF0, 0xF1, 0xF3, 0xF4, 0xF5, 0xFF,
        ];
        let n = edges.len();
        for len in 0..=4u32 {
            for mut k in 0..n.pow(len) {
                let mut bytes = [0u8; 4];
                for b in &mut bytes[..len as usize] {
                    *b = edges[k % n];
                    k /= n;
                }
                let bytes = &bytes[..len as usize];
                let want = core::str::from_utf8(bytes).is_ok();
                assert_eq!(is_valid(bytes), want, "{bytes:x?}");
                for at in 0..=bytes.len() {
                    assert_eq!(feed_split(bytes, &[at]).is_ok(), want, "{bytes:x?} at {at}");
                    // The byte-at-a-time path alone, as targets without a
                    // vector validator run it.
                    let mut v = Validator::new();
                    let bytewise = v.feed_bytes(&bytes[..at]).is_ok()
                        && v.feed_bytes(&bytes[at..]).is_ok()
                        && v.finish().is_ok();
                    assert_eq!(bytewise, want, "{bytes:x?} at {at}, byte by byte");
                }
            }
        }
    }

    #[test]
    fn unfinished_character_at_end_is_invalid() {
        assert_eq!(feed_split(&[b'a', 0xE2, 0x82], &[]), Err(InvalidUtf8));
        assert_eq!(feed_split(&[0xE2, 0x82, 0xAC], &[1, 2]), Ok(()));
    }
}
