//! A small DEFLATE compressor whose memory follows its window: greedy
//! LZ77 over hash chains, coded with the fixed Huffman codes (RFC 1951
//! section 3.2.6), so there is no block buffer and no tree to build. It
//! costs `2^bits` bytes of history twice over, `2^bits` chain links and at
//! most 8192 hash heads: about 3 KiB at 9 bits and
//! 80 KiB at 14 (its largest window), against zlib-rs's fixed 200 KiB of
//! tables. Symbols go out 32 bits at a time, a match's codes in one piece.
//!
//! The ratio is what fixed codes give (zlib's level 1 makes the same kind of
//! blocks); for the best ratio use zlib-rs ([`super::Memory::Large`]).

use alloc::boxed::Box;
use alloc::vec;

/// The largest window the compressor uses: positions in its doubled
/// buffer must fit a `u16`. A compressor may always use less than the
/// agreed window (RFC 7692 section 7.1.2.1 sets a maximum).
const MAX_BITS: u8 = 14;
const MIN_MATCH: usize = 3;
/// Windows up to this many bits search 3-byte prefixes, larger ones 4-byte
/// prefixes. With fixed codes a 3-byte match saves bits only from up to
/// about 4 KiB back (7 + 5 bits and up to 10 extra against 24 to 27 for
/// its literals; zlib drops them further back too): in a larger window,
/// chains of 3-byte prefixes cost search time for matches that barely pay.
const SHORT_PREFIX_BITS: u8 = 12;
const MAX_MATCH: usize = 258;

// Section 3.2.5's length and distance tables, shared with the inflater.
use super::inflate::{DIST_BASE, DIST_EXTRA, LEN_BASE, LEN_EXTRA};

/// Reverses the low `len` bits: Huffman codes go out most significant
/// bit first into a stream packed least significant first (section 3.1.1).
const fn reverse(code: u16, len: u8) -> u16 {
    let mut r = 0;
    let mut i = 0;
    while i < len {
        r |= ((code >> i) & 1) << (len - 1 - i);
        i += 1;
    }
    r
}

/// The fixed literal/length code of `symbol` (section 3.2.6): (bits, length).
const fn fixed_code(symbol: u16) -> (u16, u8) {
    match symbol {
        0..=143 => (reverse(0x30 + symbol, 8), 8),
        144..=255 => (reverse(0x190 + symbol - 144, 9), 9),
        256..=279 => (reverse(symbol - 256, 7), 7),
        _ => (reverse(0xc0 + symbol - 280, 8), 8),
    }
}

/// The fixed 5-bit distance codes (section 3.2.6), reversed for output.
const DIST_CODE: [u8; 30] = {
    let mut t = [0u8; 30];
    let mut d = 0;
    while d < 30 {
        t[d] = reverse(d as u16, 5) as u8;
        d += 1;
    }
    t
};

/// Candidates a match search tries, and the length that ends it, by level
/// (0: no matching).
const CHAIN: [u16; 10] = [0, 4, 8, 8, 16, 32, 32, 64, 128, 128];
const NICE: [usize; 10] = [0, 16, 32, 32, 64, 128, 128, 258, 258, 258];

const FIXED: [(u16, u8); 288] = {
    let mut t = [(0u16, 0u8); 288];
    let mut s = 0;
    while s < 288 {
        t[s] = fixed_code(s as u16);
        s += 1;
    }
    t
};

/// The length code index (0..29) of each match length 3..=258, by
/// `length - 3`.
const LEN_CODE: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut code = 0;
    let mut len = 3;
    while len <= 258 {
        while code + 1 < LEN_BASE.len() && LEN_BASE[code + 1] as usize <= len {
            code += 1;
        }
        t[len - 3] = code as u8;
        len += 1;
    }
    t
};

fn len_code(len: usize) -> usize {
    usize::from(LEN_CODE[(len - MIN_MATCH) & 0xff])
}

/// The distance code of `dist` (1..=32768): the position of its highest
/// bit, refined by the next one (section 3.2.5's table, computed).
fn dist_code(dist: usize) -> usize {
    let d = dist - 1;
    if d < 4 {
        return d;
    }
    let top = usize::BITS as usize - 1 - d.leading_zeros() as usize;
    2 * top + ((d >> (top - 1)) & 1)
}

/// How many leading bytes of `a` and `b` agree, eight at a time.
fn common(a: &[u8], b: &[u8]) -> usize {
    let n = a.len().min(b.len());
    let mut i = 0;
    while i + 8 <= n {
        let x = u64::from_le_bytes(a[i..i + 8].try_into().unwrap_or([0; 8]));
        let y = u64::from_le_bytes(b[i..i + 8].try_into().unwrap_or([0; 8]));
        if x != y {
            return i + ((x ^ y).trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while i < n && a[i] == b[i] {
        i += 1;
    }
    i
}

/// A match of `len` bytes `dist` back as its bits: the length's fixed
/// code and extra bits, then the distance's 5-bit code and extra bits
/// (section 3.2.5), at most 31 bits in all; (bits, count).
fn match_bits(len: usize, dist: usize) -> (u32, u32) {
    let lc = len_code(len);
    let (code, code_len) = FIXED[257 + lc];
    let dc = dist_code(dist);
    let mut value = u32::from(code);
    let mut n = u32::from(code_len);
    value |= ((len - usize::from(LEN_BASE[lc])) as u32) << n;
    n += u32::from(LEN_EXTRA[lc]);
    value |= u32::from(DIST_CODE[dc]) << n;
    n += 5;
    value |= ((dist - usize::from(DIST_BASE[dc])) as u32) << n;
    n += u32::from(DIST_EXTRA[dc]);
    (value, n)
}

/// What a match search may look at and how far it goes.
struct Search {
    /// The most bytes a match may take (at least `prefix`).
    limit: usize,
    /// The oldest position the peer's window still holds.
    oldest: usize,
    /// How many candidates to try.
    chain: u16,
    /// A match this long ends the search.
    nice: usize,
    /// The shortest match worth taking.
    prefix: usize,
}

/// The longest match for position `p` among the chain that starts at
/// `cand` (a position + 1, 0 for none): (length, distance), or length 0.
fn longest(buf: &[u8], prev: &[u16], p: usize, mut cand: usize, s: Search) -> (usize, usize) {
    let Search {
        limit,
        oldest,
        chain,
        nice,
        prefix,
    } = s;
    let Some(here) = buf.get(p..p + limit) else {
        return (0, 0);
    };
    let nice = nice.min(limit);
    let span = p - oldest;
    let wmask = prev.len().wrapping_sub(1);
    let (mut best, mut dist) = (0, 0);
    let mut steps = chain;
    while steps > 0 {
        // The candidate is `d` bytes back; a chain ends at 0 (none) or at
        // a position the window no longer holds, both outside 1..=span.
        let d = (p + 1).wrapping_sub(cand);
        if d.wrapping_sub(1) >= span {
            break;
        }
        let c = p - d;
        let Some(there) = buf.get(c..c + limit) else {
            break;
        };
        // Only a candidate that agrees at `best` can be longer.
        if there.get(best) == here.get(best) {
            let n = common(there, here);
            if n > best {
                (best, dist) = (n, d);
                if n >= nice {
                    break;
                }
            }
        }
        cand = usize::from(prev.get(c & wmask).copied().unwrap_or(0));
        steps -= 1;
    }
    if best < prefix {
        (0, 0)
    } else {
        (best, dist)
    }
}

/// Bits for the output, least significant first.
struct Writer<'a> {
    out: &'a mut [u8],
    len: usize,
    acc: u64,
    count: u32,
}

impl Writer<'_> {
    /// Appends the low `n` bits of `value` (`n` at most 32); whole words
    /// go out as they fill.
    fn bits(&mut self, value: u32, n: u32) {
        self.acc |= u64::from(value) << self.count;
        self.count += n;
        if self.count >= 32 {
            self.put(&(self.acc as u32).to_le_bytes());
            self.acc >>= 32;
            self.count -= 32;
        }
    }

    /// Writes whole bytes, counting those that do not fit (the caller
    /// sees the total and reports `out` too small).
    fn put(&mut self, bytes: &[u8]) {
        let end = self.len + bytes.len();
        if let Some(dst) = self.out.get_mut(self.len..end) {
            dst.copy_from_slice(bytes);
        }
        self.len = end;
    }

    fn symbol(&mut self, s: usize) {
        let (code, n) = FIXED[s];
        self.bits(u32::from(code), u32::from(n));
    }

    /// Pads to a byte boundary with zero bits and writes out what is left.
    fn finish(&mut self) {
        let bytes = self.count.div_ceil(8) as usize;
        self.put(&self.acc.to_le_bytes()[..bytes]);
        self.acc = 0;
        self.count = 0;
    }
}

/// `input` as stored blocks and a sync flush. Each call starts on a byte
/// boundary (the last one ended with a sync flush), so a block's 3 header
/// bits and their padding are one zero byte, then LEN and NLEN.
fn store(input: &[u8], out: &mut [u8]) -> Option<usize> {
    let mut len = 0;
    for chunk in input.chunks(0xffff) {
        let n = chunk.len() as u16;
        let block = out.get_mut(len..len + 5 + chunk.len())?;
        block[0] = 0;
        block[1..3].copy_from_slice(&n.to_le_bytes());
        block[3..5].copy_from_slice(&(!n).to_le_bytes());
        block[5..].copy_from_slice(chunk);
        len += block.len();
    }
    out.get_mut(len..len + 5)?
        .copy_from_slice(&[0, 0, 0, 0xff, 0xff]);
    Some(len + 5)
}

/// The compressor's state: history, hash heads and chains.
pub struct Lean {
    /// History and input, `2 * window` bytes; `end` is where input goes.
    buf: Box<[u8]>,
    end: usize,
    window: usize,
    /// Position + 1 of the latest 3-byte prefix with each hash (0: none).
    head: Box<[u16]>,
    /// Position + 1 of the previous one with the same hash, per position
    /// modulo the window.
    prev: Box<[u16]>,
    hash_bits: u32,
    /// The prefix searched for: 3 or 4 bytes (the shortest match taken).
    prefix: usize,
    /// The prefix's bits in a 4-byte load.
    prefix_mask: u32,
    /// How many candidates a match search tries (from the level).
    chain: u16,
    /// A match this long ends the search (from the level).
    nice: usize,
}

impl Lean {
    /// A compressor for a window of up to `2^bits` bytes at `level` (0:
    /// no matching at all, 9: longest searches).
    pub fn new(bits: u8, level: u8) -> Self {
        let bits = bits.clamp(9, MAX_BITS);
        let window = 1usize << bits;
        // Up to 8192 heads (16 KiB), so chains of a 16 KiB window hold
        // two positions on average: with 4096, searches on binary data
        // walked twice as far for the same matches.
        let hash_bits = u32::from(bits).min(13);
        Lean {
            buf: vec![0u8; 2 * window].into_boxed_slice(),
            end: 0,
            window,
            head: vec![0u16; 1 << hash_bits].into_boxed_slice(),
            prev: vec![0u16; window].into_boxed_slice(),
            hash_bits,
            prefix: if bits <= SHORT_PREFIX_BITS { 3 } else { 4 },
            prefix_mask: if bits <= SHORT_PREFIX_BITS {
                0x00ff_ffff
            } else {
                u32::MAX
            },
            chain: CHAIN[usize::from(level.min(9))],
            nice: NICE[usize::from(level.min(9))],
        }
    }

    /// Moves the upper half of the buffer down, so input has room.
    fn slide(&mut self) {
        let w = self.window;
        self.buf.copy_within(w.., 0);
        self.end -= w;
        let w16 = w as u16;
        // Two loops, not one chained iterator, so each vectorises.
        for v in self.head.iter_mut() {
            *v = v.saturating_sub(w16);
        }
        for v in self.prev.iter_mut() {
            *v = v.saturating_sub(w16);
        }
    }

    /// Codes `buf[start..end]` (the new input; what is before it is
    /// history) as literals and matches, greedily, filing every position
    /// in the hash chains. The tables and settings are copied into locals
    /// first, so the loop keeps them in registers.
    fn code(&mut self, start: usize, w: &mut Writer<'_>) {
        let end = self.end;
        let window = self.window;
        let prefix = self.prefix;
        let prefix_mask = self.prefix_mask;
        let shift = 32 - self.hash_bits;
        let chain = self.chain;
        let nice_level = self.nice;
        let buf: &[u8] = &self.buf[..end];
        let head: &mut [u16] = &mut self.head;
        let prev: &mut [u16] = &mut self.prev;
        let wmask = window - 1;
        // The hash of the prefix at `q`, which has at least a prefix ahead:
        // one 4-byte load, a 3-byte prefix masks off the fourth.
        let hash = |q: usize| -> usize {
            let v = match buf.get(q..q + 4) {
                Some(&[a, b, c, d]) => u32::from_le_bytes([a, b, c, d]) & prefix_mask,
                _ => match buf.get(q..q + 3) {
                    Some(&[a, b, c]) => u32::from_le_bytes([a, b, c, 0]),
                    _ => 0,
                },
            };
            (v.wrapping_mul(0x9E37_79B1) >> shift) as usize
        };
        let mut p = start;
        while p < end {
            let avail = end - p;
            if avail < prefix {
                w.symbol(usize::from(buf[p]));
                p += 1;
                continue;
            }
            let h = hash(p);
            let cand = head[h];
            let (len, dist) = longest(
                buf,
                prev,
                p,
                usize::from(cand),
                Search {
                    limit: avail.min(MAX_MATCH),
                    oldest: p.saturating_sub(window),
                    chain,
                    nice: nice_level,
                    prefix,
                },
            );
            // Makes `p` the latest position with its hash.
            prev[p & wmask] = cand;
            head[h] = (p + 1) as u16;
            if len == 0 {
                w.symbol(usize::from(buf[p]));
                p += 1;
                continue;
            }
            let (value, n) = match_bits(len, dist);
            w.bits(value, n);
            let last = (p + len).min(end - (prefix - 1));
            for q in p + 1..last {
                let h = hash(q);
                prev[q & wmask] = head[h];
                head[h] = (q + 1) as u16;
            }
            p += len;
        }
    }

    /// Compresses `input` as one fixed-code block, or as stored blocks
    /// when those are smaller, and ends with a sync flush (an empty stored
    /// block), so the output ends on `TAIL`.
    /// Returns the bytes written, or `None` if `out` is too small (at
    /// most `len + len / 8 + 16` bytes are needed).
    pub fn compress(&mut self, input: &[u8], out: &mut [u8]) -> Option<usize> {
        let mut w = Writer {
            out,
            len: 0,
            acc: 0,
            count: 0,
        };
        if !input.is_empty() {
            // BFINAL 0, BTYPE 01.
            w.bits(0b010, 3);
        }
        let mut rest = input;
        while !rest.is_empty() {
            if self.end == self.buf.len() {
                self.slide();
            }
            let n = rest.len().min(self.buf.len() - self.end);
            let start = self.end;
            self.buf[start..start + n].copy_from_slice(&rest[..n]);
            self.end += n;
            rest = &rest[n..];
            self.code(start, &mut w);
        }
        if !input.is_empty() {
            w.symbol(256);
        }
        // Sync flush: an empty stored block, LEN 0 and NLEN 0xffff.
        w.bits(0, 3);
        w.finish();
        w.put(&[0, 0, 0xff, 0xff]);
        // Data the fixed codes made larger (noise, or compressed already)
        // goes in stored blocks instead (section 3.2.4), 5 bytes for every
        // 65,535; the history kept above is the same either way.
        let stored = input.len() + 5 * input.len().div_ceil(0xffff) + 5;
        if w.len > stored {
            return store(input, w.out);
        }
        (w.len <= w.out.len()).then_some(w.len)
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use std::vec::Vec;

    use super::super::inflate::Inflater;
    use super::*;

    fn round_trip(bits: u8, level: u8, messages: &[&[u8]]) -> usize {
        let mut c = Lean::new(bits, level);
        let mut window = vec![0u8; 1 << bits];
        let mut inflater = Inflater::new();
        let mut total = 0;
        for m in messages {
            let mut out = vec![0u8; m.len() + m.len() / 8 + 16];
            let n = c.compress(m, &mut out).unwrap();
            assert_eq!(&out[n - 4..n], &[0, 0, 0xff, 0xff]);
            total += n;
            let mut plain = vec![0u8; m.len() + 1];
            let (used, wrote) = inflater
                .inflate(&mut window, &out[..n], &mut plain)
                .unwrap();
            assert_eq!((used, &plain[..wrote]), (n, *m));
            inflater.end_message(true);
        }
        total
    }

    #[test]
    fn round_trips_and_compresses() {
        let text: Vec<u8> = b"the quick brown fox jumps over the lazy dog; "
            .iter()
            .cycle()
            .take(20_000)
            .copied()
            .collect();
        for bits in 9..=15 {
            for level in [0, 1, 6, 9] {
                let n = round_trip(bits, level, &[&text, b"", &text[..100], b"x"]);
                if level > 0 {
                    assert!(n < text.len() / 10, "bits {bits} level {level}: {n}");
                }
            }
        }
    }

    #[test]
    fn every_length_and_distance_code_round_trips() {
        let mut data = Vec::new();
        let mut seed = 1u32;
        for len in 3..=258usize {
            for dist in [1usize, 2, 5, 100, 511, 4000] {
                for _ in 0..dist {
                    seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
                    data.push((seed >> 24) as u8);
                }
                let from = data.len() - dist;
                for i in 0..len {
                    data.push(data[from + i]);
                }
            }
        }
        round_trip(15, 9, &[&data]);
        round_trip(9, 9, &[&data[..30_000], &data[30_000..60_000]]);
    }

    /// Noise goes in stored blocks, at most 5 bytes over its size per
    /// block and flush, and stays history: sent again, it is a few matches.
    #[test]
    fn noise_is_stored_and_kept_as_history() {
        let mut seed = 1u32;
        let noise: Vec<u8> = (0..3000)
            .map(|_| {
                seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
                (seed >> 24) as u8
            })
            .collect();
        for bits in [9, 12, 15] {
            let mut c = Lean::new(bits, 6);
            let mut out = vec![0u8; noise.len() + noise.len() / 8 + 16];
            let n = c.compress(&noise, &mut out).unwrap();
            assert_eq!(n, noise.len() + 10, "bits {bits}");
            assert_eq!(out[0] & 0b111, 0, "a stored block");
        }
        let n = round_trip(15, 6, &[&noise, &noise]);
        assert!(n < noise.len() + 10 + 100, "{n}");
    }

    #[test]
    fn code_tables_match_the_rfc_bases() {
        for len in MIN_MATCH..=MAX_MATCH {
            let slow = LEN_BASE
                .iter()
                .rposition(|&b| usize::from(b) <= len)
                .unwrap();
            assert_eq!(len_code(len), slow, "length {len}");
        }
        for dist in 1..=32768usize {
            let slow = DIST_BASE
                .iter()
                .rposition(|&b| usize::from(b) <= dist)
                .unwrap();
            assert_eq!(dist_code(dist), slow, "distance {dist}");
        }
        assert_eq!(common(b"abcdefghijk", b"abcdefghiXk"), 9);
        assert_eq!(common(b"abc", b"abd"), 2);
    }

    #[test]
    fn fixed_codes_are_rfc_1951s() {
        // Section 3.2.6: literal 0 is 00110000, 144 is 110010000, 256 is
        // 0000000, 280 is 11000000 (sent most significant bit first).
        assert_eq!(FIXED[0], (reverse(0b0011_0000, 8), 8));
        assert_eq!(FIXED[144], (reverse(0b1_1001_0000, 9), 9));
        assert_eq!(FIXED[256], (0, 7));
        assert_eq!(FIXED[280], (reverse(0b1100_0000, 8), 8));
    }
}
