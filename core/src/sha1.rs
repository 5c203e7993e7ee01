//! SHA-1 (RFC 3174), only for `Sec-WebSocket-Accept` (RFC 6455 section
//! 4.2.2): one 60-byte input per handshake, where SHA-1's weaknesses do not
//! matter (section 10.8 of RFC 6455 does not rely on them). Written as a
//! loop, byte by byte, because code size matters here and speed does not:
//! an unrolled implementation costs about 3 KB of flash on a Cortex-M.

/// A running SHA-1 hash.
pub(crate) struct Sha1 {
    h: [u32; 5],
    block: [u8; 64],
    /// Bytes hashed so far. `usize`, not the RFC's 64 bits: the handshake
    /// hashes 60 bytes, and 32-bit targets are spared 64-bit arithmetic
    /// on every byte.
    len: usize,
}

impl Sha1 {
    pub(crate) fn new() -> Self {
        Sha1 {
            h: [
                0x6745_2301,
                0xefcd_ab89,
                0x98ba_dcfe,
                0x1032_5476,
                0xc3d2_e1f0,
            ],
            block: [0; 64],
            len: 0,
        }
    }

    pub(crate) fn update(&mut self, data: &[u8]) {
        for &b in data {
            self.push(b);
        }
    }

    /// Hashes one byte: every byte, data and padding, goes through here.
    fn push(&mut self, b: u8) {
        self.block[self.len % 64] = b;
        self.len = self.len.wrapping_add(1);
        if self.len % 64 == 0 {
            compress(&mut self.h, &self.block);
        }
    }

    /// Pads (a 1 bit, zeros, the length in bits: RFC 3174 section 4) and
    /// returns the digest.
    pub(crate) fn digest(&mut self) -> [u8; 20] {
        let bits = (self.len as u64).wrapping_mul(8);
        self.push(0x80);
        while self.len % 64 != 56 {
            self.push(0);
        }
        self.update(&bits.to_be_bytes());
        let mut out = [0u8; 20];
        for (o, h) in out.chunks_exact_mut(4).zip(&self.h) {
            o.copy_from_slice(&h.to_be_bytes());
        }
        out
    }
}

/// The rounds' constants (RFC 3174 section 5).
const K: [u32; 4] = [0x5a82_7999, 0x6ed9_eba1, 0x8f1b_bcdc, 0xca62_c1d6];

/// One 64-byte block (RFC 3174 section 6.2, with the 16-word circular
/// schedule of its method 2, section 6.2).
fn compress(h: &mut [u32; 5], block: &[u8; 64]) {
    // The block's words, read as the rounds reach them, then the schedule
    // in the same 16 words: one loop, no separate pass to load them.
    let mut w = [0u32; 16];
    let [mut a, mut b, mut c, mut d, mut e] = *h;
    for i in 0..80 {
        let s = i & 15;
        w[s] = match block.get(4 * i..4 * i + 4) {
            Some(&[b0, b1, b2, b3]) => u32::from_be_bytes([b0, b1, b2, b3]),
            _ => (w[(s + 13) & 15] ^ w[(s + 8) & 15] ^ w[(s + 2) & 15] ^ w[s]).rotate_left(1),
        };
        // The four rounds' functions (section 5), Ch and Maj in their
        // forms with one operation less; the constant from a table.
        let f = match i / 20 {
            0 => d ^ (b & (c ^ d)),
            2 => (b & c) | (d & (b | c)),
            _ => b ^ c ^ d,
        };
        let k = K[i / 20];
        let t = a
            .rotate_left(5)
            .wrapping_add(f)
            .wrapping_add(e)
            .wrapping_add(k)
            .wrapping_add(w[s]);
        e = d;
        d = c;
        c = b.rotate_left(30);
        b = a;
        a = t;
    }
    // Written out: zipped with an array, the five went through an array
    // iterator's out-of-line `next` (a stack frame and a call per word).
    let [h0, h1, h2, h3, h4] = h;
    *h0 = h0.wrapping_add(a);
    *h1 = h1.wrapping_add(b);
    *h2 = h2.wrapping_add(c);
    *h3 = h3.wrapping_add(d);
    *h4 = h4.wrapping_add(e);
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::vec::Vec;

    fn hex(d: [u8; 20]) -> std::string::String {
        d.iter().map(|b| std::format!("{b:02x}")).collect()
    }

    fn sha1(data: &[u8]) -> [u8; 20] {
        let mut s = Sha1::new();
        s.update(data);
        s.digest()
    }

    /// RFC 3174 section 7.3's four tests.
    #[test]
    fn rfc3174_vectors() {
        assert_eq!(
            hex(sha1(b"abc")),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        assert_eq!(
            hex(sha1(
                b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"
            )),
            "84983e441c3bd26ebaae4aa1f95129e5e54670f1"
        );
        let mut s = Sha1::new();
        for _ in 0..1_000_000 / 100 {
            s.update(&[b'a'; 100]);
        }
        assert_eq!(hex(s.digest()), "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
        let mut s = Sha1::new();
        for _ in 0..10 {
            s.update(b"0123456701234567012345670123456701234567012345670123456701234567");
        }
        assert_eq!(hex(s.digest()), "dea356a2cddd90c7a7ecedc5ebb563934f460452");
    }

    /// Every length across the padding boundaries, split in two updates,
    /// against an independent implementation.
    #[test]
    fn agrees_with_sha1_smol() {
        let data: Vec<u8> = (0..300u32).map(|i| (i * 7 + 3) as u8).collect();
        for len in 0..data.len() {
            let expected = sha1_smol::Sha1::from(&data[..len]).digest().bytes();
            let mut s = Sha1::new();
            s.update(&data[..len / 3]);
            s.update(&data[len / 3..len]);
            assert_eq!(s.digest(), expected, "length {len}");
        }
    }
}
