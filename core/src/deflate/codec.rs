//! One connection's compressor and inflater, and when their state exists.
//!
//! [`Memory::Large`]: zlib-rs streams both ways. [`Memory::Small`]: the
//! fixed-code compressor of `lean` and the allocator-free inflater with a
//! `2^bits` window. Either side's state is made on first use. Without
//! context takeover (section 7.1.1) a side's state is dropped when its
//! message ends, so an idle connection holds no heap for it: the compressor
//! after each message we send when we agreed to reset, the inflater after
//! each message we receive when the peer's reset is part of the response.

use alloc::boxed::Box;
use alloc::vec;
use core::fmt;

use zlib_rs::{
    Deflate, DeflateConfig, DeflateFlush, Inflate, InflateFlush, Method, Status, Strategy,
};

use super::inflate::Inflater;
use super::lean::Lean;
use super::{Agreed, Memory, TAIL};

/// The compressed payload could not be inflated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CorruptData;

enum Compressor {
    Zlib(Deflate),
    Lean(Lean),
}

enum Decompressor {
    Zlib(Inflate),
    /// The inflater's tables and its window, on the heap so that a
    /// connection's inline size does not grow.
    Lean(Box<Inflater>, Box<[u8]>),
}

/// One connection's compressor and decompressor.
pub struct Codec {
    agreed: Agreed,
    /// `None` until a message is sent, and again after one without
    /// context takeover.
    deflate: Option<Compressor>,
    /// `None` until a message arrives, and again after one when the peer
    /// agreed to reset.
    inflate: Option<Decompressor>,
}

impl fmt::Debug for Codec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Codec")
            .field("agreed", &self.agreed)
            .finish_non_exhaustive()
    }
}

impl Codec {
    /// The codec for these parameters. Allocates nothing until used.
    pub fn new(agreed: Agreed) -> Self {
        Codec {
            agreed,
            deflate: None,
            inflate: None,
        }
    }

    /// The parameters in force.
    pub fn agreed(&self) -> &Agreed {
        &self.agreed
    }

    /// The most bytes [`Codec::compress`] can write for `len` input bytes.
    pub fn bound(len: usize) -> usize {
        // zlib-rs's conservative bound (its fast strategies may spend up
        // to 9 bits per byte, plus block overhead), plus the sync-flush
        // marker and bits left over from earlier calls.
        len.saturating_add(len.div_ceil(8))
            .saturating_add(len.div_ceil(64))
            .saturating_add(5 + 16)
    }

    /// Compresses one fragment of a message with a sync flush, so nothing
    /// stays buffered between fragments. On the last fragment the 4-byte
    /// tail is stripped (section 7.2.1) and, without context takeover, the
    /// compressor is dropped. `out` must hold [`Codec::bound`] bytes.
    pub fn compress(
        &mut self,
        input: &[u8],
        last: bool,
        out: &mut [u8],
    ) -> Result<usize, CorruptData> {
        let agreed = self.agreed;
        let mut n = match self.deflate.get_or_insert_with(|| new_deflate(&agreed)) {
            Compressor::Zlib(deflate) => {
                let (in0, out0) = (deflate.total_in(), deflate.total_out());
                let status = deflate.compress(input, out, DeflateFlush::SyncFlush);
                let used = (deflate.total_in() - in0) as usize;
                let n = (deflate.total_out() - out0) as usize;
                if status.is_err() || used != input.len() || n == out.len() {
                    // Only a too-small `out` gets here, which callers rule out.
                    return Err(CorruptData);
                }
                n
            }
            Compressor::Lean(lean) => lean.compress(input, out).ok_or(CorruptData)?,
        };
        if last {
            if n >= 4 && out[n - 4..n] == TAIL {
                n -= 4;
            } else if n == 0 {
                // Nothing new since the last flush, so zlib wrote nothing;
                // the receiver's appended tail still needs the header bits
                // of its empty stored block (RFC 7692 section 7.2.3.6).
                out[0] = 0x00;
                n = 1;
            }
            if agreed.local_no_context_takeover {
                self.deflate = None;
            }
        }
        Ok(n)
    }

    /// Inflates from `input` into `out`: returns (input used, bytes written).
    pub fn decompress(
        &mut self,
        input: &[u8],
        out: &mut [u8],
    ) -> Result<(usize, usize), CorruptData> {
        let agreed = self.agreed;
        match self.inflate.get_or_insert_with(|| new_inflate(&agreed)) {
            Decompressor::Zlib(inflate) => {
                let (in0, out0) = (inflate.total_in(), inflate.total_out());
                let status = inflate.decompress(input, out, InflateFlush::SyncFlush);
                let used = (inflate.total_in() - in0) as usize;
                let wrote = (inflate.total_out() - out0) as usize;
                match status {
                    Ok(Status::StreamEnd) => {
                        // The peer ended its stream with a final block
                        // (allowed without context takeover); start afresh
                        // for what follows.
                        self.inflate = None;
                        Ok((used, wrote))
                    }
                    Ok(_) => Ok((used, wrote)),
                    Err(_) => Err(CorruptData),
                }
            }
            Decompressor::Lean(inflater, window) => inflater
                .inflate(window, input, out)
                .map_err(|_| CorruptData),
        }
    }

    /// A received message has been inflated to its end (tail included).
    /// When the peer agreed to reset its compressor, nothing of this
    /// message's window is needed again, so the inflater is dropped.
    pub fn received(&mut self) {
        if self.agreed.remote_no_context_takeover {
            self.inflate = None;
        } else if let Some(Decompressor::Lean(inflater, _)) = self.inflate.as_mut() {
            inflater.end_message(true);
        }
    }
}

/// zlib's default memory level (8). A lower one would save little here
/// (zlib-rs's hash table has a fixed size; the level only sizes the block
/// buffer) and cost much: a block, with its own Huffman tables, every few
/// hundred symbols, slower and larger both ways.
const MEM_LEVEL: i32 = 8;

fn new_deflate(a: &Agreed) -> Compressor {
    let bits = a.local_window_bits.clamp(9, 15);
    match a.memory {
        Memory::Large => Compressor::Zlib(Deflate::new_with_config(DeflateConfig {
            level: i32::from(a.level.min(9)),
            method: Method::Deflated,
            window_bits: -i32::from(bits),
            mem_level: MEM_LEVEL,
            strategy: Strategy::Default,
        })),
        // A connection with `Caller` neither compresses nor inflates with
        // a codec; one used directly gets the small kind.
        Memory::Small | Memory::Caller => Compressor::Lean(Lean::new(bits, a.level)),
    }
}

fn new_inflate(a: &Agreed) -> Decompressor {
    let bits = a.remote_window_bits.clamp(9, 15);
    match a.memory {
        Memory::Large => Decompressor::Zlib(Inflate::new(false, bits)),
        Memory::Small | Memory::Caller => Decompressor::Lean(
            Box::default(),
            vec![0u8; Inflater::window_len(bits)].into_boxed_slice(),
        ),
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use std::vec;
    use std::vec::Vec;

    use super::*;

    fn agreed(bits: u8, reset: bool) -> Agreed {
        Agreed {
            local_no_context_takeover: reset,
            remote_no_context_takeover: reset,
            local_window_bits: bits,
            remote_window_bits: bits,
            level: 6,
            memory: Default::default(),
        }
    }

    /// RFC 7692 section 7.2.3.1: "Hello" as one compressed message.
    #[test]
    fn rfc_hello() {
        let mut c = Codec::new(agreed(15, false));
        let mut out = [0u8; 64];
        let n = c.compress(b"Hello", true, &mut out).unwrap();
        assert_eq!(&out[..n], &[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]);
        let mut plain = [0u8; 16];
        let mut wire = out[..n].to_vec();
        wire.extend_from_slice(&TAIL);
        assert_eq!(c.decompress(&wire, &mut plain).unwrap(), (wire.len(), 5));
        assert_eq!(&plain[..5], b"Hello");
    }

    /// RFC 7692 section 7.2.3.2: the second "Hello" refers back to the
    /// first through the shared window.
    #[test]
    fn rfc_shared_window() {
        let mut c = Codec::new(agreed(15, false));
        let mut out = [0u8; 64];
        let n = c.compress(b"Hello", true, &mut out).unwrap();
        assert_eq!(&out[..n], &[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]);
        let n = c.compress(b"Hello", true, &mut out).unwrap();
        assert_eq!(&out[..n], &[0xf2, 0x00, 0x11, 0x00, 0x00]);
        // And the receiver side of the same example.
        let mut d = Codec::new(agreed(15, false));
        let mut plain = [0u8; 16];
        for msg in [
            &[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00][..],
            &[0xf2, 0x00, 0x11, 0x00, 0x00][..],
        ] {
            let mut wire = msg.to_vec();
            wire.extend_from_slice(&TAIL);
            assert_eq!(d.decompress(&wire, &mut plain).unwrap().1, 5);
            assert_eq!(&plain[..5], b"Hello");
        }
    }

    /// RFC 7692 section 7.2.3.3: a message in a stored (uncompressed) block,
    /// and 7.2.3.4: one with a final block (BFINAL set).
    #[test]
    fn rfc_no_compression_and_bfinal_blocks() {
        let mut d = Codec::new(agreed(15, true));
        let mut plain = [0u8; 16];
        let stored = [
            0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00,
        ];
        let mut wire = stored.to_vec();
        wire.extend_from_slice(&TAIL);
        assert_eq!(d.decompress(&wire, &mut plain).unwrap().1, 5);
        assert_eq!(&plain[..5], b"Hello");
        let bfinal = [0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00];
        let (_, n) = d.decompress(&bfinal, &mut plain).unwrap();
        assert_eq!(&plain[..n], b"Hello");
    }

    #[test]
    fn no_context_takeover_resets_the_compressor() {
        let mut c = Codec::new(agreed(15, true));
        let mut out = [0u8; 64];
        let a = c.compress(b"Hello", true, &mut out).unwrap();
        let first = out[..a].to_vec();
        let b = c.compress(b"Hello", true, &mut out).unwrap();
        assert_eq!(&out[..b], &first[..]);
    }

    #[test]
    fn state_lives_only_while_it_is_needed() {
        let mut c = Codec::new(agreed(15, true));
        assert!(c.deflate.is_none() && c.inflate.is_none());
        let mut out = [0u8; 64];
        let n = c.compress(b"Hello", false, &mut out).unwrap();
        assert!(c.deflate.is_some(), "kept within a message");
        let m = c.compress(b"", true, &mut out[n..]).unwrap();
        assert!(c.deflate.is_none(), "dropped at its end");
        let mut wire = out[..n + m].to_vec();
        wire.extend_from_slice(&TAIL);
        let mut plain = [0u8; 16];
        assert_eq!(c.decompress(&wire, &mut plain).unwrap().1, 5);
        assert!(c.inflate.is_some());
        c.received();
        assert!(c.inflate.is_none());
        // With context takeover both stay.
        let mut k = Codec::new(agreed(15, false));
        k.compress(b"Hello", true, &mut out).unwrap();
        k.decompress(&wire, &mut plain).unwrap();
        k.received();
        assert!(k.deflate.is_some() && k.inflate.is_some());
    }

    #[test]
    fn fragments_and_small_windows_round_trip() {
        let text: Vec<u8> = (0..20_000u32)
            .flat_map(|i| (i % 700).to_le_bytes())
            .collect();
        for bits in 9..=15 {
            let mut c = Codec::new(agreed(bits, false));
            let mut d = Codec::new(agreed(bits, false));
            let mut wire = Vec::new();
            let chunks: Vec<&[u8]> = text.chunks(7000).collect();
            for (i, chunk) in chunks.iter().enumerate() {
                let mut out = vec![0u8; Codec::bound(chunk.len())];
                let n = c.compress(chunk, i + 1 == chunks.len(), &mut out).unwrap();
                wire.extend_from_slice(&out[..n]);
            }
            assert!(wire.len() < text.len() / 2, "bits {bits}: {}", wire.len());
            wire.extend_from_slice(&TAIL);
            let mut plain = vec![0u8; text.len()];
            let mut got = 0;
            let mut used = 0;
            while used < wire.len() {
                let (u, w) = d.decompress(&wire[used..], &mut plain[got..]).unwrap();
                used += u;
                got += w;
            }
            assert_eq!(&plain[..got], &text[..], "bits {bits}");
        }
    }

    #[test]
    fn empty_messages_after_a_flush_still_inflate() {
        let mut c = Codec::new(agreed(15, false));
        let mut d = Codec::new(agreed(15, false));
        let mut plain = [0u8; 16];
        for input in [&b"ab"[..], b"", b"", b"ab"] {
            let mut out = [0u8; 64];
            let n = c.compress(input, true, &mut out).unwrap();
            let mut wire = out[..n].to_vec();
            wire.extend_from_slice(&TAIL);
            let (used, wrote) = d.decompress(&wire, &mut plain).unwrap();
            assert_eq!((used, &plain[..wrote]), (wire.len(), input));
        }
    }

    #[test]
    fn corrupt_input_is_an_error() {
        let mut d = Codec::new(agreed(15, false));
        let mut plain = [0u8; 64];
        assert_eq!(
            d.decompress(&[0xff, 0xff, 0xff, 0xff], &mut plain),
            Err(CorruptData)
        );
    }
}
