//! Frame codec: header decoding and encoding, and masking (RFC 6455 section 5).
//!
//! Everything here is pure: it knows the wire format and nothing about
//! connection state. The rules that need state (fragmentation, masking
//! direction, size limits) live in [`crate::connection`].

use crate::error::Violation;

/// The longest possible frame header: 2 fixed bytes, 8 bytes of extended
/// length and 4 bytes of masking key (RFC 6455 section 5.2).
pub const MAX_HEADER_LEN: usize = 14;

/// The largest payload of a control frame (RFC 6455 section 5.5).
pub const MAX_CONTROL_PAYLOAD: usize = 125;

/// The largest complete control frame on the wire: a masked header plus
/// the largest control payload.
pub const MAX_CONTROL_FRAME: usize = 6 + MAX_CONTROL_PAYLOAD;

/// A frame opcode (RFC 6455 section 5.2, table in section 11.8). Each
/// variant's discriminant is its four bits on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Opcode {
    /// 0x0: continues a fragmented message.
    Continuation = 0x0,
    /// 0x1: starts a text message.
    Text = 0x1,
    /// 0x2: starts a binary message.
    Binary = 0x2,
    /// 0x8: the closing handshake.
    Close = 0x8,
    /// 0x9: a ping; the peer must answer with a pong.
    Ping = 0x9,
    /// 0xA: a pong.
    Pong = 0xA,
}

impl Opcode {
    /// Decodes the low four bits of a frame's first byte; reserved opcodes
    /// (0x3-0x7, 0xB-0xF) are a protocol error (RFC 6455 section 5.2).
    pub fn from_bits(bits: u8) -> Result<Self, Violation> {
        Ok(match bits & 0x0F {
            0x0 => Opcode::Continuation,
            0x1 => Opcode::Text,
            0x2 => Opcode::Binary,
            0x8 => Opcode::Close,
            0x9 => Opcode::Ping,
            0xA => Opcode::Pong,
            _ => return Err(Violation::ReservedOpcode),
        })
    }

    /// The opcode's four bits on the wire (its discriminant: no table).
    pub fn bits(self) -> u8 {
        self as u8
    }

    /// Control frames are those with the high opcode bit set (section 5.5).
    pub fn is_control(self) -> bool {
        self.bits() & 0x8 != 0
    }
}

/// A decoded frame header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// FIN: this frame ends its message.
    pub fin: bool,
    /// RSV1, RSV2, RSV3 as the three low bits (RSV1 = 0b100).
    pub rsv: u8,
    /// The frame's opcode.
    pub opcode: Opcode,
    /// The masking key, when the frame is masked.
    pub mask: Option<[u8; 4]>,
    /// Payload length in bytes.
    pub len: u64,
}

/// The result of trying to decode a header from a byte slice.
#[derive(Debug, PartialEq, Eq)]
pub enum Decoded {
    /// The header is complete and used this many bytes.
    Complete(Header, usize),
    /// At least this many bytes in total are needed to decide.
    Incomplete(usize),
}

/// Decodes a frame header from the start of `bytes` (RFC 6455 section 5.2).
///
/// Only rules that the header alone decides are checked here: reserved
/// opcodes, and a 64-bit length with its most significant bit set. Control
/// frame limits, reserved bits and masking direction are the connection's
/// call, because an extension may own RSV bits and the role decides masking.
pub fn decode_header(bytes: &[u8]) -> Result<Decoded, Violation> {
    // Slice patterns throughout: the lengths are checked once, and no
    // indexing is left to check again (or to panic).
    let [b0, b1, rest @ ..] = bytes else {
        return Ok(Decoded::Incomplete(2));
    };
    let opcode = Opcode::from_bits(*b0)?;
    let masked = b1 & 0x80 != 0;
    let len_bytes = match b1 & 0x7F {
        126 => 2,
        127 => 8,
        _ => 0,
    };
    let total = 2 + len_bytes + if masked { 4 } else { 0 };
    let Some((ext, key)) = rest
        .get(..total - 2)
        .and_then(|r| r.split_at_checked(len_bytes))
    else {
        return Ok(Decoded::Incomplete(total));
    };
    // The extended length is big-endian (two bytes or eight), else the
    // seven bits are the length.
    let len = if ext.is_empty() {
        u64::from(b1 & 0x7F)
    } else {
        ext.iter().fold(0, |n, &b| n << 8 | u64::from(b))
    };
    // Section 5.2: "the most significant bit MUST be 0".
    if len >> 63 != 0 {
        return Err(Violation::LengthOverflow);
    }
    // Four bytes of key when masked, none otherwise.
    let mask = <[u8; 4]>::try_from(key).ok();
    let header = Header {
        fin: b0 & 0x80 != 0,
        rsv: (b0 >> 4) & 0x07,
        opcode,
        mask,
        len,
    };
    Ok(Decoded::Complete(header, total))
}

/// The number of header bytes [`encode_header`] writes for these values.
pub fn header_len(len: u64, masked: bool) -> usize {
    let ext = match len {
        0..=125 => 0,
        126..=0xFFFF => 2,
        _ => 8,
    };
    2 + ext + if masked { 4 } else { 0 }
}

/// Writes a frame header using the shortest length encoding (section 5.2)
/// and returns its length, or `None` when `out` is too short.
pub fn encode_header(header: &Header, out: &mut [u8]) -> Option<usize> {
    // Split by length, as `decode_header` reads: no index to check again.
    let n = header_len(header.len, header.mask.is_some());
    let ([b0, b1], rest) = out.get_mut(..n)?.split_first_chunk_mut::<2>()?;
    let (ext, key) = match header.mask {
        Some(mask) => {
            let (ext, key) = rest.split_last_chunk_mut::<4>()?;
            *key = mask;
            (ext, 0x80)
        }
        None => (rest, 0),
    };
    *b0 = (header.fin as u8) << 7 | (header.rsv & 0x07) << 4 | header.opcode.bits();
    *b1 = key
        | match ext.len() {
            0 => header.len as u8,
            2 => 126,
            _ => 127,
        };
    // The extended length, big-endian (section 5.2): two bytes or eight.
    match ext {
        [hi, lo] => [*hi, *lo] = (header.len as u16).to_be_bytes(),
        _ => {
            if let Ok(ext) = <&mut [u8; 8]>::try_from(ext) {
                *ext = header.len.to_be_bytes();
            }
        }
    }
    Some(n)
}

/// How many bytes from the start of `bytes` a connection takes only all at
/// once: a frame header, and for a control frame its payload too (at most
/// [`MAX_CONTROL_FRAME`]). While the header itself is incomplete, the
/// least it can be: call again with more. A header the connection refuses
/// counts as what is there (it fails the connection as it is).
///
/// For a caller whose read buffer is not its own: keep that many bytes of
/// a piece cut off by the end of a read, and complete it from the next.
pub fn taken_whole(bytes: &[u8]) -> usize {
    match decode_header(bytes) {
        Ok(Decoded::Incomplete(need)) => need,
        Ok(Decoded::Complete(h, len)) if h.opcode.is_control() => {
            len + h.len.min(MAX_CONTROL_PAYLOAD as u64) as usize
        }
        Ok(Decoded::Complete(_, len)) => len,
        Err(_) => bytes.len(),
    }
}

/// XORs `buf` with the masking key (RFC 6455 section 5.3), where `offset` is
/// the position of `buf[0]` within the frame's payload. Masking and
/// unmasking are the same operation.
///
/// The key is rotated to `offset` once. Where the target has vector
/// registers, blocks of 128 bytes go first, each XORed with the key
/// repeated into an array, which LLVM turns into vector loads, XORs and
/// stores; then, and everywhere else, eight bytes at a time as a `u64`;
/// the last few one by one.
pub fn apply_mask(buf: &mut [u8], key: [u8; 4], offset: usize) {
    // The key rotated to `offset` as one word, and repeated into a second
    // (byte by byte, the rotation and the repeat cost about thirty
    // instructions, a third of masking a 20-byte payload).
    let rotated = u32::from_le_bytes(key).rotate_right(8 * (offset % 4) as u32);
    let word = u64::from(rotated) | (u64::from(rotated) << 32);
    // The block length is a multiple of 4, so the key's phase is the same
    // after the blocks as before them.
    #[cfg(any(
        target_feature = "sse2",
        target_feature = "neon",
        target_feature = "simd128"
    ))]
    let buf = mask_blocks(buf, rotated.to_le_bytes());
    let mut chunks = buf.chunks_exact_mut(8);
    for chunk in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(chunk);
        chunk.copy_from_slice(&(u64::from_le_bytes(w) ^ word).to_le_bytes());
    }
    // Fewer than eight left: the word's bytes are the key's, in phase.
    for (b, m) in chunks.into_remainder().iter_mut().zip(word.to_le_bytes()) {
        *b ^= m;
    }
}

/// The bytes [`apply_mask`] XORs per step where the target has vector
/// registers (SSE2, NEON or wasm SIMD: 16 bytes each): eight vectors'
/// worth, as four runs of [`MASK_RUN`], so that the loop's own cost is
/// shared by eight loads, XORs and stores. (LLVM already made the
/// eight-byte loop alone into two vectors per step.) Microcontrollers
/// have no such registers, and there this loop would only add code.
#[cfg(any(
    target_feature = "sse2",
    target_feature = "neon",
    target_feature = "simd128"
))]
const MASK_BLOCK: usize = 4 * MASK_RUN;

/// What each run of a block is XORed with: the key repeated to this
/// length, two vectors, which LLVM builds in a register from the key (a
/// pattern as long as a block was built byte by byte, in memory).
#[cfg(any(
    target_feature = "sse2",
    target_feature = "neon",
    target_feature = "simd128"
))]
const MASK_RUN: usize = 32;

/// Masks the whole blocks of `buf` with the (rotated) key `k`; returns
/// the rest, shorter than a block.
#[cfg(any(
    target_feature = "sse2",
    target_feature = "neon",
    target_feature = "simd128"
))]
fn mask_blocks(buf: &mut [u8], k: [u8; 4]) -> &mut [u8] {
    let pattern: [u8; MASK_RUN] = core::array::from_fn(|i| k[i % 4]);
    let mut blocks = buf.chunks_exact_mut(MASK_BLOCK);
    for block in &mut blocks {
        // The four runs written out: a loop over them was left rolled
        // in the host's release build (a counter per run), which cost
        // more instructions than the eight-byte loop alone.
        let mut runs = block.chunks_exact_mut(MASK_RUN);
        if let (Some(a), Some(b), Some(c), Some(d)) =
            (runs.next(), runs.next(), runs.next(), runs.next())
        {
            mask_run(a, pattern);
            mask_run(b, pattern);
            mask_run(c, pattern);
            mask_run(d, pattern);
        }
    }
    blocks.into_remainder()
}

/// XORs one run with `pattern`; a fixed-length array, so that the XOR
/// has no bounds to check and vectorises (the conversion cannot fail:
/// exact chunks).
#[cfg(any(
    target_feature = "sse2",
    target_feature = "neon",
    target_feature = "simd128"
))]
#[inline(always)]
fn mask_run(run: &mut [u8], pattern: [u8; MASK_RUN]) {
    if let Ok(run) = <&mut [u8; MASK_RUN]>::try_from(run) {
        for (b, m) in run.iter_mut().zip(pattern) {
            *b ^= m;
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn taken_whole_is_a_header_or_a_whole_control_frame() {
        // Too little to know: the least a header can be.
        assert_eq!(taken_whole(&[]), 2);
        assert_eq!(taken_whole(&[0x82]), 2);
        assert_eq!(taken_whole(&[0x82, 0xFE]), 8);
        // A data frame: its header only (masked, 16-bit length).
        assert_eq!(taken_whole(&[0x82, 0xFE, 0x01, 0x00, 1, 2, 3, 4]), 8);
        // A masked ping of 5: header and payload.
        assert_eq!(taken_whole(&[0x89, 0x85, 1, 2, 3, 4]), 11);
        // An over-long control frame counts 125 of payload (then fails).
        assert_eq!(taken_whole(&[0x89, 0xFE, 0x01, 0x00, 1, 2, 3, 4]), 8 + 125);
        // A reserved opcode: what is there.
        assert_eq!(taken_whole(&[0x83, 0x80, 1]), 3);
    }

    use super::*;

    fn header(bytes: &[u8]) -> Header {
        match decode_header(bytes).unwrap() {
            Decoded::Complete(h, n) => {
                assert_eq!(n, header_len(h.len, h.mask.is_some()));
                h
            }
            other => panic!("incomplete: {other:?}"),
        }
    }

    // RFC 6455 section 5.7, the examples byte for byte.
    #[test]
    fn rfc_single_frame_unmasked_text() {
        let frame = [0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f];
        let h = header(&frame);
        assert!(h.fin && h.opcode == Opcode::Text && h.mask.is_none() && h.len == 5);
        assert_eq!(&frame[2..], b"Hello");
        let mut out = [0u8; 14];
        let n = encode_header(&h, &mut out).unwrap();
        assert_eq!(&out[..n], &frame[..2]);
    }

    #[test]
    fn rfc_single_frame_masked_text() {
        let mut frame = [
            0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
        ];
        let h = header(&frame);
        assert_eq!(h.mask, Some([0x37, 0xfa, 0x21, 0x3d]));
        apply_mask(&mut frame[6..], h.mask.unwrap(), 0);
        assert_eq!(&frame[6..], b"Hello");
    }

    #[test]
    fn rfc_fragmented_unmasked_text() {
        let first = header(&[0x01, 0x03, 0x48, 0x65, 0x6c]);
        assert!(!first.fin && first.opcode == Opcode::Text && first.len == 3);
        let second = header(&[0x80, 0x02, 0x6c, 0x6f]);
        assert!(second.fin && second.opcode == Opcode::Continuation && second.len == 2);
    }

    #[test]
    fn rfc_ping_and_pong() {
        let ping = header(&[0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]);
        assert!(ping.opcode == Opcode::Ping && ping.len == 5);
        let mut pong = [
            0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
        ];
        let h = header(&pong);
        assert_eq!(h.opcode, Opcode::Pong);
        apply_mask(&mut pong[6..], h.mask.unwrap(), 0);
        assert_eq!(&pong[6..], b"Hello");
    }

    #[test]
    fn rfc_256_bytes_and_64k_binary() {
        let h = header(&[0x82, 0x7E, 0x01, 0x00]);
        assert!(h.opcode == Opcode::Binary && h.len == 256);
        let h = header(&[0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0]);
        assert_eq!(h.len, 65536);
        let mut out = [0u8; 14];
        assert_eq!(encode_header(&h, &mut out), Some(10));
        assert_eq!(&out[..10], &[0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0]);
    }

    #[test]
    fn incomplete_headers_ask_for_exact_length() {
        assert_eq!(decode_header(&[]), Ok(Decoded::Incomplete(2)));
        assert_eq!(decode_header(&[0x82, 0xFF]), Ok(Decoded::Incomplete(14)));
        assert_eq!(decode_header(&[0x82, 0x7E, 1]), Ok(Decoded::Incomplete(4)));
    }

    #[test]
    fn every_prefix_of_a_header_asks_for_the_rest() {
        for len in [0u64, 125, 126, 0xFFFF, 0x1_0000, u64::MAX >> 1] {
            for mask in [None, Some([9, 8, 7, 6])] {
                let h = Header {
                    fin: true,
                    rsv: 0b010,
                    opcode: Opcode::Binary,
                    mask,
                    len,
                };
                let mut out = [0u8; 14];
                let n = encode_header(&h, &mut out).unwrap();
                for k in 0..n {
                    let want = if k < 2 { 2 } else { n };
                    assert_eq!(decode_header(&out[..k]), Ok(Decoded::Incomplete(want)));
                }
                assert_eq!(decode_header(&out[..n]), Ok(Decoded::Complete(h, n)));
                assert_eq!(decode_header(&out), Ok(Decoded::Complete(h, n)));
            }
        }
    }

    #[test]
    fn rejects_top_bit_length_and_reserved_opcodes() {
        let bytes = [0x82, 0x7F, 0x80, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(decode_header(&bytes), Err(Violation::LengthOverflow));
        for op in [3u8, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF] {
            assert_eq!(
                decode_header(&[0x80 | op, 0]),
                Err(Violation::ReservedOpcode)
            );
        }
    }

    #[test]
    fn mask_at_any_offset_matches_bytewise() {
        let key = [1, 2, 3, 250];
        for offset in 0..8 {
            for len in 0..40 {
                let mut fast: [u8; 40] = core::array::from_fn(|i| i as u8);
                let mut slow = fast;
                apply_mask(&mut fast[..len], key, offset);
                for (i, b) in slow[..len].iter_mut().enumerate() {
                    *b ^= key[(offset + i) % 4];
                }
                assert_eq!(fast, slow);
            }
        }
    }

    /// Lengths around whole numbers of blocks (one, several, with every
    /// tail length the word and byte loops take after them), at every
    /// offset and at unaligned starts in the buffer: the blocks must keep
    /// the key's phase, and nothing past `len` may change.
    #[test]
    fn mask_across_blocks_matches_bytewise() {
        const N: usize = 300;
        let key = [0x9d, 0x01, 0x7f, 0xe3];
        let lens = (0..=72).chain(120..=136).chain(250..=N - 8);
        for len in lens {
            for offset in 0..4 {
                for start in 0..8 {
                    let mut fast: [u8; N] = core::array::from_fn(|i| (i * 7) as u8);
                    let mut slow = fast;
                    apply_mask(&mut fast[start..start + len], key, offset);
                    for (i, b) in slow[start..start + len].iter_mut().enumerate() {
                        *b ^= key[(offset + i) % 4];
                    }
                    assert!(fast == slow, "len {len} offset {offset} start {start}");
                }
            }
        }
    }
}
