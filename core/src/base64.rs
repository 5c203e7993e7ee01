//! Base64 encoding (RFC 4648 section 4: the standard alphabet, padded),
//! only for the opening handshake's two values: 16 random bytes make the
//! `Sec-WebSocket-Key`, a 20-byte SHA-1 the `Sec-WebSocket-Accept` (RFC
//! 6455 sections 4.1 and 4.2.2). The engine never decodes base64: a key is
//! checked by its characters (`handshake::check_key`). A few lines of our
//! own rather than a general-purpose crate, because on a microcontroller
//! the crate's constant-time encoder cost more flash than the rest of the
//! handshake; nothing secret is encoded, so constant time buys nothing.

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Encodes `bytes` into `N` characters; `N` must be `4 * ceil(len / 3)`
/// (24 for a key, 28 for an accept value).
pub(crate) fn encode<const N: usize>(bytes: &[u8]) -> [u8; N] {
    // Zeros, not '=', to start: a fill with another byte links a memset
    // of its own on a Cortex-M (about 180 bytes), and every character is
    // written below anyway.
    let mut out = [0u8; N];
    // Character i is the six bits from bit 6i of the input (bits past the
    // end are zero); once no input bit is left, '='. One loop over the
    // characters, with the two bytes that hold a character's bits read
    // as one big-endian 16-bit number: less code than groups of three.
    for (i, c) in out.iter_mut().enumerate() {
        let bit = i * 6;
        *c = if bit < bytes.len() * 8 {
            let byte = |k| u16::from(bytes.get(k).copied().unwrap_or(0));
            let pair = byte(bit / 8) << 8 | byte(bit / 8 + 1);
            ALPHABET[usize::from(pair >> (10 - bit % 8) & 63)]
        } else {
            b'='
        };
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 4648 section 10's test vectors, each padded to its own length.
    #[test]
    fn rfc4648_vectors() {
        assert_eq!(&encode::<0>(b""), b"");
        assert_eq!(&encode::<4>(b"f"), b"Zg==");
        assert_eq!(&encode::<4>(b"fo"), b"Zm8=");
        assert_eq!(&encode::<4>(b"foo"), b"Zm9v");
        assert_eq!(&encode::<8>(b"foob"), b"Zm9vYg==");
        assert_eq!(&encode::<8>(b"fooba"), b"Zm9vYmE=");
        assert_eq!(&encode::<8>(b"foobar"), b"Zm9vYmFy");
    }

    // RFC 6455 section 4.1's example key and every byte value in every
    // position of the handshake's two sizes, against an independent
    // encoder.
    #[test]
    fn agrees_with_base64ct() {
        use base64ct::{Base64, Encoding};
        assert_eq!(
            &encode::<24>(b"the sample nonce"),
            b"dGhlIHNhbXBsZSBub25jZQ=="
        );
        for i in 0..20 {
            for b in 0..=255u8 {
                let mut bytes = [0x5au8; 20];
                bytes[i] = b;
                let mut want = [0u8; 28];
                Base64::encode(&bytes, &mut want).unwrap();
                assert_eq!(encode::<28>(&bytes), want);
                if i < 16 {
                    let mut want = [0u8; 24];
                    Base64::encode(&bytes[..16], &mut want).unwrap();
                    assert_eq!(encode::<24>(&bytes[..16]), want);
                }
            }
        }
    }
}
