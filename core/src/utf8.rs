//! Incremental, fail-fast UTF-8 validation of text messages (RFC 6455
//! section 8.1: an endpoint that receives invalid UTF-8 fails the
//! connection with 1007).
//!
//! A text message arrives in pieces that may split a character anywhere.
//! The validator keeps the (at most three) bytes of an unfinished character
//! and rejects a piece at its first byte that cannot begin or continue valid
//! UTF-8, so a bad message is refused at once rather than at its end.

// In wasm32 without SIMD, simdutf8 only wraps core's validator and
// converts its error: code for nothing (113 bytes of the module), so
// core's is called directly there. (On a Cortex-M, where simdutf8 does
// the same, its out-of-line wrapper makes less code than core's validator
// inlined into the callers, or called through a wrapper of ours.)
#[cfg(all(target_arch = "wasm32", not(target_feature = "simd128")))]
use core::str::from_utf8;
#[cfg(not(all(target_arch = "wasm32", not(target_feature = "simd128"))))]
use simdutf8::compat::from_utf8;

/// Whether `bytes` are complete, valid UTF-8.
pub fn is_valid(bytes: &[u8]) -> bool {
    from_utf8(bytes).is_ok()
}

/// Validation state carried between the pieces of one text message.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Validator {
    /// The unfinished character at the end of the last piece.
    partial: [u8; 4],
    /// How many bytes of `partial` are in use (0 to 3).
    len: u8,
}

/// A piece contained a byte that can never be valid UTF-8 here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InvalidUtf8;

impl Validator {
    /// A validator at the start of a message.
    pub const fn new() -> Self {
        Validator {
            partial: [0; 4],
            len: 0,
        }
    }

    /// Validates the next piece of the message.
    pub fn feed(&mut self, mut piece: &[u8]) -> Result<(), InvalidUtf8> {
        if self.len > 0 {
            // Complete the carried character with as many bytes as it needs.
            let need = char_len(self.partial[0]) - self.len as usize;
            let take = need.min(piece.len());
            let have = self.len as usize;
            self.partial[have..have + take].copy_from_slice(&piece[..take]);
            let joined = &self.partial[..have + take];
            match from_utf8(joined) {
                Ok(_) => self.len = 0,
                Err(e) if e.error_len().is_none() => {
                    // Still a valid prefix; the piece is used up.
                    self.len = joined.len() as u8;
                    return Ok(());
                }
                Err(_) => return Err(InvalidUtf8),
            }
            piece = &piece[take..];
        }
        match from_utf8(piece) {
            Ok(_) => Ok(()),
            // error_len() is None only when the tail is a valid prefix of a
            // character that the next piece may complete.
            Err(e) if e.error_len().is_none() => {
                let tail = &piece[e.valid_up_to()..];
                self.partial[..tail.len()].copy_from_slice(tail);
                self.len = tail.len() as u8;
                Ok(())
            }
            Err(_) => Err(InvalidUtf8),
        }
    }

    /// Checks that the message ended on a character boundary, and resets
    /// the validator for the next message.
    pub fn finish(&mut self) -> Result<(), InvalidUtf8> {
        let complete = self.len == 0;
        *self = Validator::new();
        if complete {
            Ok(())
        } else {
            Err(InvalidUtf8)
        }
    }
}

/// The length of the character a lead byte starts. Only called on bytes
/// that `from_utf8` accepted as the start of an unfinished character.
fn char_len(lead: u8) -> usize {
    match lead {
        0xF0..=0xFF => 4,
        0xE0..=0xEF => 3,
        _ => 2,
    }
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

    #[test]
    fn unfinished_character_at_end_is_invalid() {
        assert_eq!(feed_split(&[b'a', 0xE2, 0x82], &[]), Err(InvalidUtf8));
        assert_eq!(feed_split(&[0xE2, 0x82, 0xAC], &[1, 2]), Ok(()));
    }
}
