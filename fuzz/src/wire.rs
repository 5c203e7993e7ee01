//! Wire bytes from fuzzer-chosen descriptions: frames that are mostly well
//! formed (so the fuzzer reaches deep states, compressed messages included)
//! mixed with raw bytes, and a small frame reader for checking output.

use libfuzzer_sys::arbitrary::{self, Arbitrary};
use websock_core::deflate::Codec;

/// One piece of the byte stream a peer sends.
#[derive(Arbitrary, Debug, Clone)]
pub enum Piece {
    /// A frame, encoded by the harness.
    Frame(FrameSpec),
    /// Bytes as they are.
    Raw(Vec<u8>),
}

/// A payload: arbitrary bytes, or text that is valid UTF-8 by construction.
#[derive(Arbitrary, Debug, Clone)]
pub enum Payload {
    /// Any bytes.
    Bytes(Vec<u8>),
    /// Valid UTF-8.
    Text(String),
}

impl Payload {
    fn bytes(&self) -> &[u8] {
        match self {
            Payload::Bytes(b) => b,
            Payload::Text(t) => t.as_bytes(),
        }
    }
}

/// A frame's header fields and payload. Defaults follow the rules; each
/// field lets the fuzzer break one of them.
#[derive(Arbitrary, Debug, Clone)]
pub struct FrameSpec {
    /// The low four bits are the opcode (reserved ones included).
    pub opcode: u8,
    /// FIN.
    pub fin: bool,
    /// RSV bits XORed onto what the harness sets (RSV1 when compressed).
    pub rsv_flip: u8,
    /// Compress the payload with the sender's codec, when one is agreed.
    pub compress: bool,
    /// Break the masking rule of the sender's role.
    pub wrong_mask: bool,
    /// The masking key, when masked.
    pub key: [u8; 4],
    /// 0: shortest length encoding; 1: 16-bit; 2: 64-bit.
    pub long_len: u8,
    /// Added to the announced length (wrapping), to lie about it.
    pub len_lie: i8,
    /// The payload before compression and masking.
    pub payload: Payload,
}

/// Builds the bytes a peer sends. `masked`: the sender is a client.
/// `codec`: the sender's compressor, when permessage-deflate is agreed.
pub fn encode(pieces: &[Piece], masked: bool, mut codec: Option<&mut Codec>) -> Vec<u8> {
    let mut out = Vec::new();
    for piece in pieces {
        match piece {
            Piece::Raw(bytes) => out.extend_from_slice(bytes),
            Piece::Frame(f) => {
                let op = f.opcode & 0x0F;
                let mut rsv = 0u8;
                let mut body = f.payload.bytes().to_vec();
                if let (true, Some(c)) = (f.compress, codec.as_deref_mut()) {
                    let mut buf = vec![0u8; Codec::bound(body.len())];
                    if let Ok(n) = c.compress(&body, f.fin, &mut buf) {
                        buf.truncate(n);
                        body = buf;
                        if op == 1 || op == 2 {
                            rsv = 0b100;
                        }
                    }
                }
                rsv ^= f.rsv_flip & 0x07;
                let mask = masked != f.wrong_mask;
                let len = (body.len() as u64).wrapping_add(f.len_lie as i64 as u64);
                out.push(u8::from(f.fin) << 7 | rsv << 4 | op);
                let m = u8::from(mask) << 7;
                let form = match f.long_len % 3 {
                    0 if len <= 125 => 0,
                    0 | 1 if len <= 0xFFFF => 1,
                    _ => 2,
                };
                match form {
                    0 => out.push(m | len as u8),
                    1 => {
                        out.push(m | 126);
                        out.extend_from_slice(&(len as u16).to_be_bytes());
                    }
                    _ => {
                        out.push(m | 127);
                        out.extend_from_slice(&len.to_be_bytes());
                    }
                }
                if mask {
                    out.extend_from_slice(&f.key);
                    for (i, b) in body.iter_mut().enumerate() {
                        *b ^= f.key[i % 4];
                    }
                }
                out.extend_from_slice(&body);
            }
        }
    }
    out
}

/// A frame read back from an engine's output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutFrame {
    /// The opcode bits.
    pub opcode: u8,
    /// The unmasked payload.
    pub payload: Vec<u8>,
}

/// Splits an engine's output into whole frames; panics on a partial or
/// malformed one (the engine writes frames whole or not at all) or on a
/// masking that breaks the role's rule.
pub fn frames(mut bytes: &[u8], masked: bool) -> Vec<OutFrame> {
    let mut frames = Vec::new();
    while !bytes.is_empty() {
        match websock_core::frame::decode_header(bytes) {
            Ok(websock_core::frame::Decoded::Complete(h, n)) => {
                assert_eq!(h.mask.is_some(), masked, "masking direction in output");
                let len = usize::try_from(h.len).expect("length");
                assert!(bytes.len() >= n + len, "partial frame in output");
                let mut payload = bytes[n..n + len].to_vec();
                if let Some(key) = h.mask {
                    websock_core::frame::apply_mask(&mut payload, key, 0);
                }
                frames.push(OutFrame {
                    opcode: h.opcode.bits(),
                    payload,
                });
                bytes = &bytes[n + len..];
            }
            other => panic!("bad frame in output: {other:?}"),
        }
    }
    frames
}
