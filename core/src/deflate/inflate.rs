//! A DEFLATE (RFC 1951) decoder that needs no allocator: its history lives
//! in a window the caller owns, of `2^bits` bytes for a peer limited to
//! `bits` (RFC 7692 section 7.1.2.2), and its tables are a few hundred bytes
//! inline. It stops and resumes at any byte of input and any byte of
//! output, so a receiver can feed a compressed frame as it arrives and
//! drain it into a buffer of any size.
//!
//! Short codes decode with one look-up in a table (literal/length codes
//! up to 10 bits, distances up to 9), longer ones canonically, one bit at
//! a time (the method of RFC 1951 section 3.2.2 read backwards), which
//! keeps the tables at about 4 KiB. While there is room for the longest
//! match and a word of input, symbols decode from a 64-bit buffer refilled
//! a word at a time. Output goes to the caller's buffer only, and matches
//! are copied within it in chunks; the window takes the last `2^bits`
//! bytes of each call's output when the call ends. A stream that refers
//! further back than the window holds is rejected rather than read wrong.

/// The stream is not valid DEFLATE, or refers past the window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InflateError;

/// Smallest and largest window the permessage-deflate parameters allow
/// (8 is declined in negotiation, see the module above).
pub const MIN_WINDOW_BITS: u8 = 9;
/// See [`MIN_WINDOW_BITS`].
pub const MAX_WINDOW_BITS: u8 = 15;

/// Longest code (section 3.2.7).
const MAX_BITS: usize = 15;
/// Literal/length and distance alphabets, and the code length alphabet
/// (section 3.2.5, 3.2.7).
const LITLEN_CODES: usize = 288;
const DIST_CODES: usize = 32;
const CLEN_CODES: usize = 19;

/// Section 3.2.5: base length and extra bits of length codes 257..285.
pub(super) const LEN_BASE: [u16; 29] = [
    3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131,
    163, 195, 227, 258,
];
pub(super) const LEN_EXTRA: [u8; 29] = [
    0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
];
/// Section 3.2.5: base distance and extra bits of distance codes 0..29.
pub(super) const DIST_BASE: [u16; 30] = [
    1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537,
    2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577,
];
pub(super) const DIST_EXTRA: [u8; 30] = [
    0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13,
    13,
];
/// Section 3.2.7: the order code length code lengths are sent in.
const CLEN_ORDER: [u8; CLEN_CODES] = [
    16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15,
];

/// Literal/length codes this long or shorter (nearly all of them)
/// decode with one look-up in a table of `2^LITLEN_FAST` entries;
/// distance codes up to `DIST_FAST` bits.
const LITLEN_FAST: usize = 10;
const DIST_FAST: usize = 9;
const LITLEN_TABLE: usize = 1 << LITLEN_FAST;
const DIST_TABLE: usize = 1 << DIST_FAST;

/// The word-at-a-time decoder runs while this much output room (the
/// longest match, section 3.2.5, and the 32 bytes its chunked copy may
/// write past a match) and this much input are left.
const FAST_OUT: usize = 258 + 32;
const FAST_IN: usize = 8;

/// A canonical Huffman code: how many codes of each length, the symbols in
/// code order, and a table of `T` entries indexed by the next
/// `log2(T)` input bits giving `symbol << 4 | length` for the short codes
/// (0: longer code).
#[derive(Clone, Copy, Debug)]
struct Huffman<const N: usize, const T: usize> {
    counts: [u16; MAX_BITS + 1],
    symbols: [u16; N],
    fast: [u16; T],
}

impl<const N: usize, const T: usize> Huffman<N, T> {
    /// Codes up to this long are in `fast`.
    const FAST_BITS: u32 = T.trailing_zeros();
    /// Where a `fast` entry keeps its symbol's extra bit count: above the
    /// symbol (9 bits for literal/length codes, 5 for distances).
    const EXTRA_SHIFT: u32 = if N > 32 { 13 } else { 9 };
    const SYMBOL_MASK: u16 = (1 << (Self::EXTRA_SHIFT - 4)) - 1;

    const fn empty() -> Self {
        Huffman {
            counts: [0; MAX_BITS + 1],
            symbols: [0; N],
            fast: [0; T],
        }
    }

    /// Builds the code from each symbol's length (0: unused). Rejects an
    /// over-subscribed set; an incomplete one is allowed (a single distance
    /// code is legal, section 3.2.7) and its unused codes fail to decode.
    fn build(&mut self, lengths: &[u8], extra: &[u8], first: usize) -> Result<(), InflateError> {
        self.counts = [0; MAX_BITS + 1];
        for &l in lengths {
            self.counts[usize::from(l)] += 1;
        }
        self.counts[0] = 0;
        let mut left: i32 = 1;
        for len in 1..=MAX_BITS {
            left = (left << 1) - i32::from(self.counts[len]);
            if left < 0 {
                return Err(InflateError);
            }
        }
        let mut offsets = [0u16; MAX_BITS + 2];
        for len in 1..=MAX_BITS {
            offsets[len + 1] = offsets[len] + self.counts[len];
        }
        for (symbol, &l) in lengths.iter().enumerate() {
            if l != 0 {
                let slot = &mut offsets[usize::from(l)];
                self.symbols[usize::from(*slot)] = symbol as u16;
                *slot += 1;
            }
        }
        // Section 3.2.2: the first code of each length, then each symbol's
        // code in order; short ones fill every table slot they prefix.
        self.fast = [0; T];
        let mut next = [0u32; MAX_BITS + 1];
        let mut code = 0u32;
        for (slot, &count) in next.iter_mut().skip(1).zip(&self.counts) {
            code = (code + u32::from(count)) << 1;
            *slot = code;
        }
        for (symbol, &l) in lengths.iter().enumerate() {
            let len = u32::from(l);
            if l == 0 || len > Self::FAST_BITS {
                continue;
            }
            let c = next[usize::from(l)];
            next[usize::from(l)] += 1;
            // The symbol's extra bits ride along, so the fast decoder
            // knows how many bits follow without another look-up.
            let more = extra.get(symbol.wrapping_sub(first)).copied().unwrap_or(0);
            // Codes go in most significant bit first (section 3.1.1).
            let mut i = (c.reverse_bits() >> (32 - len)) as usize;
            while i < T {
                self.fast[i] =
                    u16::from(more) << Self::EXTRA_SHIFT | (symbol as u16) << 4 | l as u16;
                i += 1 << len;
            }
        }
        Ok(())
    }
}

/// Bits taken from the input, least significant first (section 3.1.1).
#[derive(Clone, Copy, Debug, Default)]
struct Bits {
    buf: u64,
    count: u32,
}

impl Bits {
    /// Takes input bytes while there is room. Returns the bytes taken.
    fn fill(&mut self, input: &[u8]) -> usize {
        let mut used = 0;
        while self.count <= 56 && used < input.len() {
            self.buf |= u64::from(input[used]) << self.count;
            self.count += 8;
            used += 1;
        }
        used
    }

    fn peek(&self, n: u32) -> Option<u32> {
        (self.count >= n).then(|| (self.buf & ((1u64 << n) - 1)) as u32)
    }

    fn drop_bits(&mut self, n: u32) {
        self.buf >>= n;
        self.count -= n;
    }

    /// Takes `n` bits that are known to be there (the word-at-a-time
    /// decoder's budget, see [`Inflater::fast_codes`]).
    fn take_held(&mut self, n: u32) -> u32 {
        let v = (self.buf & ((1u64 << n) - 1)) as u32;
        self.drop_bits(n);
        v
    }

    fn take(&mut self, n: u32) -> Option<u32> {
        let v = self.peek(n)?;
        self.drop_bits(n);
        Some(v)
    }

    /// Decodes one symbol, or `Ok(None)` when more input is needed (no bit
    /// is used then).
    fn decode<const N: usize, const T: usize>(
        &mut self,
        h: &Huffman<N, T>,
    ) -> Result<Option<u16>, InflateError> {
        let entry = h.fast[self.buf as usize & (T - 1)];
        let len = u32::from(entry & 15);
        if entry != 0 && len <= self.count {
            self.drop_bits(len);
            return Ok(Some(entry >> 4 & Huffman::<N, T>::SYMBOL_MASK));
        }
        let (mut code, mut first, mut index) = (0i32, 0i32, 0i32);
        for len in 1..=MAX_BITS {
            if self.count < len as u32 {
                return Ok(None);
            }
            code |= ((self.buf >> (len - 1)) & 1) as i32;
            let count = i32::from(h.counts[len]);
            if code - first < count {
                self.drop_bits(len as u32);
                return Ok(Some(h.symbols[(index + code - first) as usize]));
            }
            index += count;
            first = (first + count) << 1;
            code <<= 1;
        }
        Err(InflateError)
    }
}

/// Where the decoder is within the stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    /// Expecting a block header (BFINAL, BTYPE).
    Header,
    /// A stored block: expecting LEN and NLEN.
    StoredLen,
    /// A stored block: this many bytes left to copy.
    Stored(u16),
    /// A dynamic block: expecting HLIT, HDIST, HCLEN.
    DynCounts,
    /// Reading code length code lengths: this many read so far.
    DynClen(u8),
    /// Reading literal/length and distance code lengths: this many so far.
    DynLengths(u16),
    /// Decoding symbols of a compressed block.
    Codes,
    /// A length symbol's extra bits are next.
    LenExtra(u16),
    /// A distance symbol and its extra bits are next, for this length.
    Dist(u16),
    /// Copying a match: bytes left, distance.
    Copy(u16, u16),
    /// The final block has ended; later input is ignored until
    /// [`Inflater::end_message`].
    End,
}

type LitLen = Huffman<LITLEN_CODES, LITLEN_TABLE>;
type Dist = Huffman<DIST_CODES, DIST_TABLE>;

/// A resumable DEFLATE decoder writing its history into a caller window.
#[derive(Clone, Debug)]
pub struct Inflater {
    step: Step,
    last_block: bool,
    /// The tables hold the fixed codes, so a fixed block needs no build
    /// (a compressor at a low level sends one block after another).
    fixed: bool,
    bits: Bits,
    /// Next write position in the window.
    pos: usize,
    /// How much of the window holds history (a distance may not exceed it).
    filled: usize,
    litlen: LitLen,
    dist: Dist,
    /// Dynamic header in progress: HLIT, HDIST, HCLEN, and lengths so far.
    hlit: u16,
    hdist: u8,
    hclen: u8,
    lengths: [u8; LITLEN_CODES + DIST_CODES],
}

impl Default for Inflater {
    fn default() -> Self {
        Self::new()
    }
}

impl Inflater {
    /// A decoder at the start of a stream, with empty history.
    pub const fn new() -> Self {
        Inflater {
            step: Step::Header,
            last_block: false,
            fixed: false,
            bits: Bits { buf: 0, count: 0 },
            pos: 0,
            filled: 0,
            litlen: Huffman::empty(),
            dist: Huffman::empty(),
            hlit: 0,
            hdist: 0,
            hclen: 0,
            lengths: [0; LITLEN_CODES + DIST_CODES],
        }
    }

    /// The window size for a peer limited to `bits`: `2^bits` bytes.
    pub const fn window_len(bits: u8) -> usize {
        1 << bits
    }

    /// A message has ended (its tail fed, its output drained). If the
    /// stream ended with a final block, the next message starts a new one
    /// with no history; `keep_history` false drops it anyway (the peer
    /// agreed to reset its compressor, RFC 7692 section 7.1.1).
    pub fn end_message(&mut self, keep_history: bool) {
        if self.step == Step::End || !keep_history {
            self.restart();
        }
    }

    /// [`Inflater::new`] in place: a 4 KiB temporary would cost as much
    /// stack in every caller that inlines this. The tables need no reset,
    /// as each block's header builds them before they are used.
    fn restart(&mut self) {
        self.step = Step::Header;
        self.last_block = false;
        self.bits = Bits::default();
        self.pos = 0;
        self.filled = 0;
    }

    /// Inflates `input` into `out`, keeping history in `window`, whose
    /// length must be a power of two from `2^9` to `2^15` and the same on
    /// every call. Returns (input bytes used, bytes written). It stops when
    /// `out` is full or `input` is used up (bits of a partial symbol are
    /// kept); give the rest of the input again with more room. Bytes of
    /// `out` past those written may have been changed (matches are copied
    /// in chunks).
    pub fn inflate(
        &mut self,
        window: &mut [u8],
        input: &[u8],
        out: &mut [u8],
    ) -> Result<(usize, usize), InflateError> {
        let size = window.len();
        if !size.is_power_of_two()
            || size < Self::window_len(MIN_WINDOW_BITS)
            || size > Self::window_len(MAX_WINDOW_BITS)
        {
            return Err(InflateError);
        }
        let result = self.run(window, input, out);
        if let Ok((_, wrote)) = result {
            self.remember(window, &out[..wrote]);
        }
        result
    }

    /// [`Inflater::inflate`]'s work: reads history from `window` as it
    /// was when the call began (this call's output is history too, read
    /// from `out`), and returns (input bytes used, bytes written).
    fn run(
        &mut self,
        window: &[u8],
        input: &[u8],
        out: &mut [u8],
    ) -> Result<(usize, usize), InflateError> {
        let size = window.len();
        let mut used = 0;
        let mut wrote = 0;
        loop {
            used += self.bits.fill(&input[used..]);
            match self.step {
                Step::End => {
                    // Section 7.2.3.4 of RFC 7692: what follows a final
                    // block within the message (its tail) carries nothing.
                    self.bits = Bits::default();
                    return Ok((input.len(), wrote));
                }
                Step::Header => {
                    let Some(h) = self.bits.take(3) else {
                        return Ok((used, wrote));
                    };
                    self.last_block = h & 1 == 1;
                    self.step = match h >> 1 {
                        0 => Step::StoredLen,
                        1 => {
                            self.fixed_tables();
                            Step::Codes
                        }
                        2 => Step::DynCounts,
                        _ => return Err(InflateError),
                    };
                }
                Step::StoredLen => {
                    // Section 3.2.4: skip to a byte boundary, then LEN and
                    // its complement.
                    let skip = self.bits.count % 8;
                    if self.bits.count < skip + 32 {
                        return Ok((used, wrote));
                    }
                    self.bits.drop_bits(skip);
                    let v = self.bits.take(32).unwrap_or(0);
                    let (len, nlen) = (v & 0xffff, v >> 16);
                    if len != !nlen & 0xffff {
                        return Err(InflateError);
                    }
                    self.step = Step::Stored(len as u16);
                }
                Step::Stored(0) => self.end_block(),
                Step::Stored(left) => {
                    if wrote == out.len() {
                        return Ok((used, wrote));
                    }
                    // Whole bytes still in the bit buffer come first.
                    if let Some(b) = self.bits.take(8) {
                        out[wrote] = b as u8;
                        wrote += 1;
                        self.step = Step::Stored(left - 1);
                        continue;
                    }
                    let n = usize::from(left)
                        .min(out.len() - wrote)
                        .min(input.len() - used);
                    if n == 0 {
                        return Ok((used, wrote));
                    }
                    out[wrote..wrote + n].copy_from_slice(&input[used..used + n]);
                    used += n;
                    wrote += n;
                    self.step = Step::Stored(left - n as u16);
                }
                Step::DynCounts => {
                    let Some(v) = self.bits.take(14) else {
                        return Ok((used, wrote));
                    };
                    self.hlit = (v & 0x1f) as u16 + 257;
                    self.hdist = ((v >> 5) & 0x1f) as u8 + 1;
                    self.hclen = (v >> 10) as u8 + 4;
                    if self.hlit > 286 || self.hdist > 30 {
                        return Err(InflateError);
                    }
                    self.lengths = [0; LITLEN_CODES + DIST_CODES];
                    self.step = Step::DynClen(0);
                }
                Step::DynClen(i) if i == self.hclen => {
                    let mut clen = [0u8; CLEN_CODES];
                    for (k, &sym) in CLEN_ORDER.iter().enumerate() {
                        clen[usize::from(sym)] = self.lengths[k];
                    }
                    // The code length code is kept in the distance table's
                    // place until the real one is read.
                    self.fixed = false;
                    self.dist.build(&clen, &[], 0)?;
                    self.lengths = [0; LITLEN_CODES + DIST_CODES];
                    self.step = Step::DynLengths(0);
                }
                Step::DynClen(i) => {
                    let Some(v) = self.bits.take(3) else {
                        return Ok((used, wrote));
                    };
                    self.lengths[usize::from(i)] = v as u8;
                    self.step = Step::DynClen(i + 1);
                }
                Step::DynLengths(i) => {
                    let total = self.hlit + u16::from(self.hdist);
                    if i == total {
                        self.dynamic_tables()?;
                        self.step = Step::Codes;
                        continue;
                    }
                    // A symbol and its extra bits (at most 7 + 7) are taken
                    // together, so a repeat never stops half read.
                    let saved = self.bits;
                    let Some(sym) = self.bits.decode(&self.dist)? else {
                        return Ok((used, wrote));
                    };
                    let (extra, base, value) = match sym {
                        0..=15 => {
                            self.lengths[usize::from(i)] = sym as u8;
                            self.step = Step::DynLengths(i + 1);
                            continue;
                        }
                        16 => {
                            if i == 0 {
                                return Err(InflateError);
                            }
                            (2, 3, self.lengths[usize::from(i) - 1])
                        }
                        17 => (3, 3, 0),
                        _ => (7, 11, 0),
                    };
                    let Some(n) = self.bits.take(extra) else {
                        self.bits = saved;
                        return Ok((used, wrote));
                    };
                    let end = i + base + n as u16;
                    if end > total {
                        return Err(InflateError);
                    }
                    self.lengths[usize::from(i)..usize::from(end)].fill(value);
                    self.step = Step::DynLengths(end);
                }
                Step::Codes => {
                    if out.len() - wrote >= FAST_OUT && input.len() - used >= FAST_IN {
                        self.fast_codes(window, input, out, &mut used, &mut wrote)?;
                        continue;
                    }
                    // A literal needs room; a length is copied in steps.
                    if wrote == out.len() {
                        return Ok((used, wrote));
                    }
                    let Some(sym) = self.bits.decode(&self.litlen)? else {
                        return Ok((used, wrote));
                    };
                    match sym {
                        0..=255 => {
                            out[wrote] = sym as u8;
                            wrote += 1;
                        }
                        256 => self.end_block(),
                        257..=285 => self.step = Step::LenExtra(sym - 257),
                        _ => return Err(InflateError),
                    }
                }
                Step::LenExtra(code) => {
                    let c = usize::from(code);
                    let Some(e) = self.bits.take(u32::from(LEN_EXTRA[c])) else {
                        return Ok((used, wrote));
                    };
                    self.step = Step::Dist(LEN_BASE[c] + e as u16);
                }
                Step::Dist(len) => {
                    let saved = self.bits;
                    let Some(sym) = self.bits.decode(&self.dist)? else {
                        return Ok((used, wrote));
                    };
                    let c = usize::from(sym);
                    if c >= DIST_BASE.len() {
                        return Err(InflateError);
                    }
                    let Some(e) = self.bits.take(u32::from(DIST_EXTRA[c])) else {
                        self.bits = saved;
                        return Ok((used, wrote));
                    };
                    let dist = usize::from(DIST_BASE[c]) + e as usize;
                    // Further back than the history we hold: a corrupt
                    // stream, or a peer over its agreed window.
                    if dist > self.history(size, wrote) {
                        return Err(InflateError);
                    }
                    self.step = Step::Copy(len, dist as u16);
                }
                Step::Copy(left, dist) => {
                    let n = usize::from(left).min(out.len() - wrote);
                    if n == 0 {
                        return Ok((used, wrote));
                    }
                    self.copy_match(window, out, wrote, n, usize::from(dist));
                    wrote += n;
                    let left = left - n as u16;
                    self.step = if left == 0 {
                        Step::Codes
                    } else {
                        Step::Copy(left, dist)
                    };
                }
            }
        }
    }

    /// How far back a distance may reach after `wrote` bytes of this
    /// call: the history held before it and this call's output, within
    /// the window (a peer over its agreed window is refused, not read
    /// wrong).
    fn history(&self, size: usize, wrote: usize) -> usize {
        (self.filled + wrote).min(size)
    }

    /// Writes `n` bytes at `out[at..]` copied from `dist` bytes back, which
    /// [`Inflater::history`] allowed. Bytes before this call come from the
    /// window as it was when the call began; the rest from `out`, in chunks
    /// (a distance shorter than the length repeats what it copies).
    fn copy_match(&self, window: &[u8], out: &mut [u8], mut at: usize, mut n: usize, dist: usize) {
        if dist > at {
            // Masked on use, so a caller that changes windows gets wrong
            // output at worst, never a panic.
            let mask = window.len() - 1;
            let k = (dist - at).min(n);
            let mut from = self.pos.wrapping_sub(dist - at) & mask;
            for b in &mut out[at..at + k] {
                *b = window[from];
                from = (from + 1) & mask;
            }
            at += k;
            n -= k;
            if n == 0 {
                return;
            }
        }
        let start = at - dist;
        if dist >= n {
            out.copy_within(start..start + n, at);
        } else if dist == 1 {
            let b = out[start];
            out[at..at + n].fill(b);
        } else {
            // out[start..at] repeats with period `dist`, so each copy may
            // take all of it: dist, 2 * dist, 4 * dist bytes.
            let end = at + n;
            while at < end {
                let k = (at - start).min(end - at);
                out.copy_within(start..start + k, at);
                at += k;
            }
        }
    }

    /// This call's output becomes history: its last window's worth goes
    /// into the window where the ring continues.
    fn remember(&mut self, window: &mut [u8], out: &[u8]) {
        let size = window.len();
        let mask = size - 1;
        let tail = &out[out.len().saturating_sub(size)..];
        let p = self.pos.wrapping_add(out.len() - tail.len()) & mask;
        let first = (size - p).min(tail.len());
        window[p..p + first].copy_from_slice(&tail[..first]);
        window[..tail.len() - first].copy_from_slice(&tail[first..]);
        self.pos = self.pos.wrapping_add(out.len()) & mask;
        self.filled = (self.filled + out.len()).min(size);
    }

    /// Decodes symbols of a compressed block while `out` has room for the
    /// longest match and `input` a word to refill from: the bit buffer is
    /// topped up a word at a time to at least 56 bits, enough for a
    /// length, a distance and their extra bits (15 + 5 + 15 + 13), so no
    /// symbol stops half read. Stops at the block's end or when either
    /// runs short, for the byte-at-a-time steps to go on.
    fn fast_codes(
        &mut self,
        window: &[u8],
        input: &[u8],
        out: &mut [u8],
        used: &mut usize,
        wrote: &mut usize,
    ) -> Result<(), InflateError> {
        let size = window.len();
        let mut bits = self.bits;
        let (mut u, mut w) = (*used, *wrote);
        let result = loop {
            let Some(word) = input.get(u..u + FAST_IN) else {
                break Ok(());
            };
            let Some(room) = out.get_mut(w..w + FAST_OUT) else {
                break Ok(());
            };
            // Bits above `count` are the next input bytes already, so
            // or-ing the word in again at `count` changes none of them.
            // (The byte-at-a-time fill may leave 64.)
            if bits.count < 56 {
                bits.buf |= u64::from_le_bytes(word.try_into().unwrap_or([0; 8])) << bits.count;
                let k = (63 - bits.count) / 8;
                u += k as usize;
                bits.count += 8 * k;
            }
            // Up to two literals per refill (15 bits each at most), each
            // from the table when its code is short: an entry from 1 to
            // 255 << 4 | 15 is a literal.
            let entry = self.litlen.fast[bits.buf as usize & (LITLEN_TABLE - 1)];
            if entry.wrapping_sub(1) < 256 << 4 {
                bits.drop_bits(u32::from(entry & 15));
                room[0] = (entry >> 4) as u8;
                w += 1;
                let entry = self.litlen.fast[bits.buf as usize & (LITLEN_TABLE - 1)];
                if entry.wrapping_sub(1) < 256 << 4 {
                    bits.drop_bits(u32::from(entry & 15));
                    room[1] = (entry >> 4) as u8;
                    w += 1;
                    let entry = self.litlen.fast[bits.buf as usize & (LITLEN_TABLE - 1)];
                    if entry.wrapping_sub(1) < 256 << 4 {
                        bits.drop_bits(u32::from(entry & 15));
                        room[2] = (entry >> 4) as u8;
                        w += 1;
                    }
                }
                continue;
            }
            // A length: its code and extra bits go in one step when the
            // table has it (the entry carries the extra bit count).
            let (sym, more) = if entry != 0 {
                let code = u32::from(entry & 15);
                let sym = entry >> 4 & LitLen::SYMBOL_MASK;
                let more = u32::from(entry >> LitLen::EXTRA_SHIFT);
                let value = (bits.buf >> code) as u32 & ((1 << more) - 1);
                bits.drop_bits(code + more);
                (sym, value)
            } else {
                match bits.decode(&self.litlen)? {
                    Some(sym) => {
                        let more = LEN_EXTRA.get(usize::from(sym).wrapping_sub(257));
                        (sym, bits.take_held(u32::from(more.copied().unwrap_or(0))))
                    }
                    None => break Err(InflateError),
                }
            };
            if sym < 256 {
                room[0] = sym as u8;
                w += 1;
                continue;
            }
            if sym == 256 {
                self.end_block();
                break Ok(());
            }
            let Some(&base) = LEN_BASE.get(usize::from(sym - 257)) else {
                break Err(InflateError);
            };
            let len = usize::from(base) + more as usize;
            let entry = self.dist.fast[bits.buf as usize & (DIST_TABLE - 1)];
            let (d, more) = if entry != 0 {
                let code = u32::from(entry & 15);
                let d = entry >> 4 & Dist::SYMBOL_MASK;
                let more = u32::from(entry >> Dist::EXTRA_SHIFT);
                let value = (bits.buf >> code) as u32 & ((1 << more) - 1);
                bits.drop_bits(code + more);
                (d, value)
            } else {
                match bits.decode(&self.dist)? {
                    Some(d) => {
                        let more = DIST_EXTRA.get(usize::from(d));
                        (d, bits.take_held(u32::from(more.copied().unwrap_or(0))))
                    }
                    None => break Err(InflateError),
                }
            };
            let Some(&base) = DIST_BASE.get(usize::from(d)) else {
                break Err(InflateError);
            };
            let dist = usize::from(base) + more as usize;
            if dist > self.history(size, w) {
                break Err(InflateError);
            }
            // Matches copy in chunks whose sources were written before they
            // are read (the distance is at least a chunk), and may write up
            // to 31 bytes past their end, which later symbols overwrite
            // (FAST_OUT leaves room). Short ones, most of them, take a fixed
            // number of chunks: a loop's exit would be mispredicted as often
            // as not.
            if dist >= 16 && dist <= w && len <= 32 {
                let from = w - dist;
                let chunk: [u8; 16] = out[from..from + 16].try_into().unwrap_or([0; 16]);
                out[w..w + 16].copy_from_slice(&chunk);
                let chunk: [u8; 16] = out[from + 16..from + 32].try_into().unwrap_or([0; 16]);
                out[w + 16..w + 32].copy_from_slice(&chunk);
                w += len;
            } else if dist >= 8 && dist <= w {
                let mut from = w - dist;
                let end = w + len;
                let chunk: [u8; 8] = out[from..from + 8].try_into().unwrap_or([0; 8]);
                out[w..w + 8].copy_from_slice(&chunk);
                let chunk: [u8; 8] = out[from + 8..from + 16].try_into().unwrap_or([0; 8]);
                out[w + 8..w + 16].copy_from_slice(&chunk);
                from += 16;
                w += 16;
                while w < end {
                    let chunk: [u8; 8] = out[from..from + 8].try_into().unwrap_or([0; 8]);
                    out[w..w + 8].copy_from_slice(&chunk);
                    from += 8;
                    w += 8;
                }
                w = end;
            } else {
                self.copy_match(window, out, w, len, dist);
                w += len;
            }
        };
        // Only whole bits below `count` stay, as the byte-at-a-time steps
        // expect.
        bits.buf &= 1u64.checked_shl(bits.count).map_or(u64::MAX, |m| m - 1);
        self.bits = bits;
        (*used, *wrote) = (u, w);
        result
    }

    fn end_block(&mut self) {
        self.step = if self.last_block {
            Step::End
        } else {
            Step::Header
        };
    }

    /// Section 3.2.6: the fixed codes.
    fn fixed_tables(&mut self) {
        if self.fixed {
            return;
        }
        self.fixed = true;
        let mut l = [0u8; LITLEN_CODES];
        l[..144].fill(8);
        l[144..256].fill(9);
        l[256..280].fill(7);
        l[280..].fill(8);
        // Both sets are complete, so building cannot fail.
        let _ = self.litlen.build(&l, &LEN_EXTRA, 257);
        let _ = self.dist.build(&[5; 30], &DIST_EXTRA, 0);
    }

    fn dynamic_tables(&mut self) -> Result<(), InflateError> {
        let hlit = usize::from(self.hlit);
        let hdist = usize::from(self.hdist);
        // A block without an end-of-block code could never end.
        if self.lengths[256] == 0 {
            return Err(InflateError);
        }
        self.litlen.build(&self.lengths[..hlit], &LEN_EXTRA, 257)?;
        self.dist
            .build(&self.lengths[hlit..hlit + hdist], &DIST_EXTRA, 0)?;
        Ok(())
    }
}

/// The memory a receiver without an allocator lends its connection for
/// permessage-deflate: the inflater's state (about 4 KiB) and a history
/// window of `N` bytes, a power of two from 512 (2^9) to 32 KiB (2^15),
/// checked when the program is compiled. Plain data: put it in a static,
/// a struct field or on the stack. One per connection, for the
/// connection's whole life, since the peer's messages refer back into
/// earlier ones (RFC 7692 section 7.2.2): pass the same one to every
/// [`Connection::receive_inflating`](crate::Connection::receive_inflating)
/// of that connection, and a fresh one (or [`Window::reset`]) to the next.
#[derive(Clone)]
pub struct Window<const N: usize> {
    inflater: Inflater,
    history: [u8; N],
}

impl<const N: usize> Window<N> {
    const VALID: () = assert!(
        N.is_power_of_two()
            && N >= Inflater::window_len(MIN_WINDOW_BITS)
            && N <= Inflater::window_len(MAX_WINDOW_BITS),
        "a window is a power of two from 512 to 32768 bytes"
    );

    /// The largest window a peer's compressor may use for this to hold its
    /// history: the value to negotiate (see
    /// [`Options::receive_only`](super::Options::receive_only)).
    pub const BITS: u8 = N.trailing_zeros() as u8;

    /// Empty history.
    pub const fn new() -> Self {
        #[allow(clippy::let_unit_value)]
        let () = Self::VALID;
        Window {
            inflater: Inflater::new(),
            history: [0; N],
        }
    }

    /// [`Inflater::inflate`] with this window.
    pub fn inflate(
        &mut self,
        input: &[u8],
        out: &mut [u8],
    ) -> Result<(usize, usize), InflateError> {
        self.inflater.inflate(&mut self.history, input, out)
    }

    /// [`Inflater::end_message`].
    pub fn end_message(&mut self, keep_history: bool) {
        self.inflater.end_message(keep_history);
    }

    /// Forgets all history, for a new connection.
    pub fn reset(&mut self) {
        self.inflater.restart();
    }

    /// This window for one call, its size no longer in its type.
    pub(crate) fn lend(&mut self) -> Lent<'_> {
        Lent {
            inflater: &mut self.inflater,
            history: &mut self.history,
        }
    }
}

impl<const N: usize> Default for Window<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> core::fmt::Debug for Window<N> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Window")
            .field("bits", &Self::BITS)
            .finish_non_exhaustive()
    }
}

/// A [`Window`] lent to a connection for one call; the connection's code
/// does not depend on `N`.
pub(crate) struct Lent<'a> {
    inflater: &'a mut Inflater,
    history: &'a mut [u8],
}

impl Lent<'_> {
    pub(crate) fn bits(&self) -> u8 {
        self.history.len().trailing_zeros() as u8
    }

    pub(crate) fn inflate(
        &mut self,
        input: &[u8],
        out: &mut [u8],
    ) -> Result<(usize, usize), InflateError> {
        self.inflater.inflate(self.history, input, out)
    }

    pub(crate) fn end_message(&mut self, keep_history: bool) {
        self.inflater.end_message(keep_history);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Inflates one message with its tail appended, in one call.
    fn message(
        i: &mut Inflater,
        window: &mut [u8],
        payload: &[u8],
    ) -> Result<([u8; 64], usize), InflateError> {
        let mut wire = [0u8; 64];
        wire[..payload.len()].copy_from_slice(payload);
        wire[payload.len()..payload.len() + 4].copy_from_slice(&super::super::TAIL);
        let mut out = [0u8; 64];
        let (used, wrote) = i.inflate(window, &wire[..payload.len() + 4], &mut out)?;
        assert_eq!(used, payload.len() + 4);
        i.end_message(true);
        Ok((out, wrote))
    }

    /// RFC 7692 section 7.2.3.1 and 7.2.3.2: "Hello", then "Hello" again
    /// through the shared window.
    #[test]
    fn rfc_hello_twice() {
        let mut w = [0u8; 512];
        let mut i = Inflater::new();
        let (out, n) =
            message(&mut i, &mut w, &[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]).unwrap();
        assert_eq!(&out[..n], b"Hello");
        let (out, n) = message(&mut i, &mut w, &[0xf2, 0x00, 0x11, 0x00, 0x00]).unwrap();
        assert_eq!(&out[..n], b"Hello");
        // Without the history the second refers to nothing.
        let mut fresh = Inflater::new();
        assert_eq!(
            message(&mut fresh, &mut w, &[0xf2, 0x00, 0x11, 0x00, 0x00]).map(|r| r.1),
            Err(InflateError)
        );
    }

    /// RFC 7692 section 7.2.3.3 (a stored block) and 7.2.3.4 (BFINAL set:
    /// the next message starts a new stream, and the tail is ignored).
    #[test]
    fn rfc_stored_and_final_blocks() {
        let mut w = [0u8; 512];
        let mut i = Inflater::new();
        let stored = [
            0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00,
        ];
        let (out, n) = message(&mut i, &mut w, &stored).unwrap();
        assert_eq!(&out[..n], b"Hello");
        let (out, n) =
            message(&mut i, &mut w, &[0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]).unwrap();
        assert_eq!(&out[..n], b"Hello");
        assert_eq!(i.filled, 0, "a final block ends the history");
        let (out, n) =
            message(&mut i, &mut w, &[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]).unwrap();
        assert_eq!(&out[..n], b"Hello");
    }

    /// RFC 7692 section 7.2.3.5: two blocks in one message.
    #[test]
    fn rfc_two_blocks() {
        let mut w = [0u8; 512];
        let mut i = Inflater::new();
        let two = [
            0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff, 0xff, 0xca, 0xc9, 0xc9, 0x07, 0x00,
        ];
        let (out, n) = message(&mut i, &mut w, &two).unwrap();
        assert_eq!(&out[..n], b"Hello");
    }

    /// Fixed codes, then a dynamic block's, then fixed again: the tables
    /// kept for fixed blocks are rebuilt after a dynamic one.
    #[test]
    fn fixed_tables_come_back_after_a_dynamic_block() {
        // Python's zlib, Z_HUFFMAN_ONLY, raw 9-bit window, sync flush.
        let dynamic = [
            0x04, 0xc1, 0x31, 0x0d, 0x00, 0x00, 0x00, 0xc3, 0x20, 0xad, 0x3b, 0x70, 0x50, 0xff,
            0x19, 0x00, 0x24, 0xa9, 0x60, 0x08, 0x00, 0x02, 0x01, 0x00, 0x0d, 0x00, 0x00, 0x0a,
            0x00, 0x00, 0x00, 0x10, 0xc0, 0x01, 0x00, 0x00, 0xff, 0xff,
        ];
        let plain: &[u8] = b"eeeeeeeetetetettteeeeaeeeteeeeeeeeeeeeteeeeeteeeeeeeeeeeeeetaeeeeeeeeeeeeeeeeeeeetteeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeteeeeeeee";
        let hello = [
            0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00, 0x00, 0xff, 0xff,
        ];
        let mut w = [0u8; 512];
        let mut i = Inflater::new();
        let mut out = [0u8; 512];
        for (wire, expected) in [
            (&hello[..], &b"Hello"[..]),
            (&dynamic, plain),
            (&hello, b"Hello"),
        ] {
            let (used, wrote) = i.inflate(&mut w, wire, &mut out).unwrap();
            assert_eq!((used, &out[..wrote]), (wire.len(), expected));
            i.end_message(true);
        }
    }

    #[test]
    fn output_stops_and_resumes_at_any_byte() {
        let mut w = [0u8; 512];
        let mut i = Inflater::new();
        let wire = [
            0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00, 0x00, 0xff, 0xff,
        ];
        let mut got = [0u8; 8];
        let mut n = 0;
        let mut pos = 0;
        while pos < wire.len() || n < 5 {
            let mut one = [0u8; 1];
            let (used, wrote) = i
                .inflate(&mut w, &wire[pos..(pos + 1).min(wire.len())], &mut one)
                .unwrap();
            got[n..n + wrote].copy_from_slice(&one[..wrote]);
            pos += used;
            n += wrote;
        }
        assert_eq!(&got[..n], b"Hello");
    }

    #[test]
    fn broken_streams_are_errors() {
        let mut w = [0u8; 512];
        let out = &mut [0u8; 64];
        // BTYPE 11 is reserved (RFC 1951 section 3.2.3).
        assert_eq!(
            Inflater::new().inflate(&mut w, &[0x07], out),
            Err(InflateError)
        );
        // Stored block whose NLEN is not LEN's complement.
        assert_eq!(
            Inflater::new().inflate(&mut w, &[0x00, 0x05, 0x00, 0xfa, 0xfe], out),
            Err(InflateError)
        );
        // Fixed block: a match at distance 1 with nothing before it.
        // 0x03 = BFINAL 1, BTYPE 01; then length code 257 (0000001) and
        // distance code 0 (00000).
        assert_eq!(
            Inflater::new().inflate(&mut w, &[0x03, 0x02, 0x00], out),
            Err(InflateError)
        );
        // A window that is not a power of two in 2^9..2^15.
        assert_eq!(
            Inflater::new().inflate(&mut [0u8; 500], &[0x00], out),
            Err(InflateError)
        );
        assert_eq!(
            Inflater::new().inflate(&mut [0u8; 256], &[0x00], out),
            Err(InflateError)
        );
    }

    #[test]
    fn over_subscribed_codes_are_rejected() {
        let mut h = Dist::empty();
        assert_eq!(h.build(&[1, 1, 1], &[], 0), Err(InflateError));
        assert_eq!(h.build(&[1, 2, 2], &[], 0), Ok(()));
        assert_eq!(
            h.build(&[1], &[], 0),
            Ok(()),
            "one distance code is allowed"
        );
    }

    #[test]
    fn window_bits_follow_its_size() {
        assert_eq!(Window::<512>::BITS, 9);
        assert_eq!(Window::<4096>::new().lend().bits(), 12);
        assert_eq!(Window::<32768>::BITS, 15);
    }

    #[test]
    fn state_is_small() {
        assert!(
            core::mem::size_of::<Inflater>() <= 4160,
            "{}",
            core::mem::size_of::<Inflater>()
        );
    }
}
