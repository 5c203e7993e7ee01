//! The allocator-free inflater against streams it did not make: Python's
//! zlib (every window 9-15, every strategy) and our compressor, fed in
//! arbitrary splits of input and output, with the history kept across
//! messages as permessage-deflate does (RFC 7692 section 7.2.2).
#![cfg(feature = "inflate")]

use std::process::Command;
use std::sync::OnceLock;

use proptest::prelude::*;
use websock_core::deflate::inflate::{InflateError, Inflater};
use websock_core::deflate::TAIL;

/// One permessage-deflate conversation: plain messages and, for each, the
/// compressed payload with its tail stripped.
#[derive(Debug)]
struct Conversation {
    name: String,
    bits: u8,
    messages: Vec<(Vec<u8>, Vec<u8>)>,
}

/// Python's zlib compresses three messages per window and strategy with
/// a sync flush and context takeover, as a browser would.
const MAKE: &str = r#"
import sys, zlib, random
rng = random.Random(7)
words = [b"websocket ", b"frame ", b"deflate ", b"window ", b"message ", b"engine ", b"\xce\xba\xcf\x8c "]
def text(n):
    out = b""
    while len(out) < n:
        out += rng.choice(words)
    return out[:n]
def noise(n):
    return bytes(rng.randrange(256) for _ in range(n))
msgs = [text(3000), text(700) + noise(300) + text(2000), b"", bytes(range(256)) * 12]
strategies = [("l1", 1, zlib.Z_DEFAULT_STRATEGY), ("l6", 6, zlib.Z_DEFAULT_STRATEGY),
              ("l9", 9, zlib.Z_DEFAULT_STRATEGY), ("fixed", 6, zlib.Z_FIXED),
              ("huffman", 6, zlib.Z_HUFFMAN_ONLY), ("rle", 6, zlib.Z_RLE), ("stored", 0, zlib.Z_DEFAULT_STRATEGY)]
out = sys.stdout.buffer
for bits in range(9, 16):
    for name, level, strategy in strategies:
        c = zlib.compressobj(level, zlib.DEFLATED, -bits, 8, strategy)
        tag = f"{name}-w{bits}".encode()
        out.write(bytes([len(tag)]) + tag + bytes([bits, len(msgs)]))
        for m in msgs:
            z = c.compress(m) + c.flush(zlib.Z_SYNC_FLUSH)
            assert z.endswith(b"\x00\x00\xff\xff")
            z = z[:-4] or b"\x00"
            out.write(len(m).to_bytes(4, "little") + m + len(z).to_bytes(4, "little") + z)
"#;

fn python_streams() -> &'static [Conversation] {
    static STREAMS: OnceLock<Vec<Conversation>> = OnceLock::new();
    STREAMS.get_or_init(|| {
        let out = Command::new("python3")
            .args(["-c", MAKE])
            .output()
            .expect("python3 runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        parse(&out.stdout)
    })
}

fn parse(mut b: &[u8]) -> Vec<Conversation> {
    fn take<'a>(b: &mut &'a [u8], n: usize) -> &'a [u8] {
        let (head, rest) = b.split_at(n);
        *b = rest;
        head
    }
    fn block(b: &mut &[u8]) -> Vec<u8> {
        let n = u32::from_le_bytes(take(b, 4).try_into().unwrap()) as usize;
        take(b, n).to_vec()
    }
    let mut all = Vec::new();
    while !b.is_empty() {
        let n = usize::from(take(&mut b, 1)[0]);
        let name = String::from_utf8(take(&mut b, n).to_vec()).unwrap();
        let bits = take(&mut b, 1)[0];
        let count = take(&mut b, 1)[0];
        let messages = (0..count)
            .map(|_| {
                let plain = block(&mut b);
                (plain, block(&mut b))
            })
            .collect();
        all.push(Conversation {
            name,
            bits,
            messages,
        });
    }
    all
}

/// Inflates each message of `c`, with its tail, feeding input in pieces
/// of the sizes in `cuts` (cycled) into output room of the sizes in
/// `rooms` (cycled). The window is exactly `2^bits`.
fn replay(c: &Conversation, cuts: &[usize], rooms: &[usize]) -> Result<(), InflateError> {
    let mut window = vec![0u8; Inflater::window_len(c.bits)];
    let mut inflater = Inflater::new();
    let (mut ci, mut ri) = (0, 0);
    for (i, (plain, payload)) in c.messages.iter().enumerate() {
        let mut wire = payload.clone();
        wire.extend_from_slice(&TAIL);
        let mut got = Vec::new();
        let mut pos = 0;
        let mut stalls = 0;
        loop {
            let cut = cuts[ci % cuts.len()].max(1);
            let room = rooms[ri % rooms.len()].max(1);
            ci += 1;
            ri += 1;
            let end = (pos + cut).min(wire.len());
            let mut out = vec![0u8; room];
            let (used, wrote) = inflater.inflate(&mut window, &wire[pos..end], &mut out)?;
            got.extend_from_slice(&out[..wrote]);
            pos += used;
            // Done when all input is in and the output did not fill up.
            if pos == wire.len() && wrote < room {
                break;
            }
            stalls = if used == 0 && wrote == 0 {
                stalls + 1
            } else {
                0
            };
            assert!(stalls < 4, "{} message {i}: no progress", c.name);
        }
        assert_eq!(got.len(), plain.len(), "{} message {i}", c.name);
        assert!(got == *plain, "{} message {i}: content", c.name);
        inflater.end_message(true);
    }
    Ok(())
}

#[test]
fn python_streams_inflate_whole() {
    let all = python_streams();
    assert_eq!(all.len(), 7 * 7);
    for c in all {
        replay(c, &[usize::MAX / 2], &[1 << 16]).unwrap();
    }
}

#[test]
fn python_streams_inflate_a_byte_at_a_time() {
    for c in python_streams() {
        replay(c, &[1], &[1, 3, 1000]).unwrap();
    }
}

/// The control: a stream made for 15 bits reaches past a 9-bit window,
/// and the inflater says so instead of writing wrong bytes.
#[test]
fn a_smaller_window_than_the_stream_needs_is_an_error() {
    let c = python_streams()
        .iter()
        .find(|c| c.name == "l9-w15")
        .unwrap();
    let small = Conversation {
        name: c.name.clone(),
        bits: 9,
        messages: c.messages.clone(),
    };
    assert_eq!(replay(&small, &[4096], &[4096]), Err(InflateError));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn python_streams_inflate_in_any_split(
        which in 0usize..49,
        cuts in prop::collection::vec(1usize..300, 1..8),
        rooms in prop::collection::vec(1usize..600, 1..8),
    ) {
        let c = &python_streams()[which];
        prop_assert!(replay(c, &cuts, &rooms).is_ok(), "{}", c.name);
    }

    #[test]
    fn garbage_never_panics(
        bits in 9u8..=15,
        data in prop::collection::vec(any::<u8>(), 0..2000),
        room in 1usize..512,
    ) {
        let mut window = vec![0u8; Inflater::window_len(bits)];
        let mut inflater = Inflater::new();
        let mut out = vec![0u8; room];
        let mut pos = 0;
        for _ in 0..10_000 {
            match inflater.inflate(&mut window, &data[pos..], &mut out) {
                Ok((used, wrote)) => {
                    pos += used;
                    if used == 0 && wrote == 0 {
                        break;
                    }
                }
                Err(_) => break,
            }
        }
    }
}

#[cfg(feature = "deflate")]
mod ours {
    use super::*;
    use websock_core::deflate::{Agreed, Codec, Memory};

    /// Our compressor's conversation (zlib-rs for `Large`, the fixed-code
    /// one for `Small`): `messages` at `bits`, fragmented.
    fn ours(
        bits: u8,
        level: u8,
        memory: Memory,
        messages: &[Vec<u8>],
        fragment: usize,
    ) -> Conversation {
        let mut codec = Codec::new(Agreed {
            local_no_context_takeover: false,
            remote_no_context_takeover: false,
            local_window_bits: bits,
            remote_window_bits: bits,
            level,
            memory,
        });
        let messages = messages
            .iter()
            .map(|m| {
                let mut payload = Vec::new();
                let pieces: Vec<&[u8]> = if m.is_empty() {
                    vec![&[][..]]
                } else {
                    m.chunks(fragment.max(1)).collect()
                };
                for (i, piece) in pieces.iter().enumerate() {
                    let mut out = vec![0u8; Codec::bound(piece.len())];
                    let n = codec
                        .compress(piece, i + 1 == pieces.len(), &mut out)
                        .unwrap();
                    payload.extend_from_slice(&out[..n]);
                }
                (m.clone(), payload)
            })
            .collect();
        Conversation {
            name: format!("ours-l{level}-w{bits}-{memory:?}"),
            bits,
            messages,
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn our_streams_inflate_in_any_split(
            bits in 9u8..=15,
            level in 0u8..=9,
            seed in any::<u64>(),
            fragment in 1usize..5000,
            small in any::<bool>(),
            cuts in prop::collection::vec(1usize..300, 1..8),
            rooms in prop::collection::vec(1usize..600, 1..8),
        ) {
            let mut s = seed | 1;
            let mut next = move || {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                s
            };
            // Repetitive text with far and near repeats, and some noise.
            let messages: Vec<Vec<u8>> = (0..3)
                .map(|_| {
                    let len = (next() % 6000) as usize;
                    let mut m = Vec::with_capacity(len);
                    while m.len() < len {
                        let r = next();
                        if r % 5 == 0 && m.len() > 40 {
                            let back = 1 + (r >> 8) as usize % m.len().min(40_000);
                            let n = 3 + (r >> 24) as usize % 60;
                            for _ in 0..n {
                                m.push(m[m.len() - back]);
                            }
                        } else {
                            m.push(b"abcdefgh "[(r >> 8) as usize % 9]);
                        }
                    }
                    m.truncate(len);
                    m
                })
                .collect();
            let memory = if small { Memory::Small } else { Memory::Large };
            let c = ours(bits, level, memory, &messages, fragment);
            prop_assert!(replay(&c, &cuts, &rooms).is_ok(), "{}", c.name);
        }
    }
}
