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

        /// Our compressing client (either codec) and a server that lends
        /// its window, negotiated over the wire, every window 9-15, with
        /// and without context takeover.
        #[test]
        fn our_client_to_a_server_that_lends_its_window(
            bits in 9u8..=15,
            small in any::<bool>(),
            reset in any::<bool>(),
            fragment in 16usize..5000,
            cuts in prop::collection::vec(1usize..3000, 1..8),
            scratch in 1usize..3000,
        ) {
            use websock_core::deflate::Options;
            use websock_core::{Accept, Connection, DataKind};
            use super::through_a_connection::{config, receive_in};

            let memory = if small { Memory::Small } else { Memory::Large };
            let mut c = Connection::client(
                config(Options { memory, client_no_context_takeover: reset, ..Options::new() }),
                0,
                [3; 32],
            );
            let lent = Options { client_no_context_takeover: reset, ..Options::receive_only(bits) };
            let mut s = Connection::server(config(lent), 0);
            let mut request = [0u8; 512];
            let n = c.write_request("x", "/", &[], &mut request).unwrap();
            let mut response = [0u8; 512];
            let Ok(Accept::Accepted { written, .. }) = s.accept(&request[..n], &[], &mut response)
            else {
                panic!("not accepted")
            };
            c.read_response(&response[..written], &[]).unwrap().unwrap();
            prop_assert!(c.compression_active() && s.compression_active());
            let text: Vec<u8> = "κόσμε websock deflate ".repeat(400).into_bytes();
            let binary: Vec<u8> = (0..9000u32).map(|i| (i * i % 251) as u8).collect();
            let messages = [
                (DataKind::Text, text.clone()),
                (DataKind::Binary, binary),
                (DataKind::Binary, Vec::new()),
                (DataKind::Text, text),
            ];
            let mut wire = Vec::new();
            for (kind, payload) in &messages {
                let pieces: Vec<&[u8]> = if payload.is_empty() {
                    vec![&[][..]]
                } else {
                    payload.chunks(fragment).collect()
                };
                for (i, piece) in pieces.iter().enumerate() {
                    let mut out = vec![0u8; c.max_frame_len(piece.len())];
                    let n = c.send(*kind, piece, i + 1 == pieces.len(), &mut out).unwrap();
                    wire.extend_from_slice(&out[..n]);
                }
            }
            prop_assert_eq!(wire[0] & 0x40, 0x40, "RSV1: the first message is compressed");
            let got = receive_in(bits, &mut s, &wire, &cuts, scratch);
            prop_assert!(got == Ok(messages.to_vec()), "{:?}", got.map(|m| m.len()));
        }
    }
}

/// The same streams through a [`Connection`] that has no inflater of its
/// own: it negotiates the window the caller lends (RFC 7692 section
/// 7.1.2) and inflates each message into scratch with it, fed in arbitrary
/// splits with pings between fragments, as either role.
mod through_a_connection {
    use super::*;
    use websock_core::deflate::{Options, Window};
    use websock_core::frame::{apply_mask, encode_header, Header, Opcode};
    use websock_core::{Accept, Config, Connection, DataKind, Error, Event, Violation};

    pub(super) fn config(options: Options) -> Config {
        let mut c = Config::new();
        c.deflate = Some(options);
        c
    }

    const REQUEST: &str = "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\
        Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
        Sec-WebSocket-Version: 13\r\n";

    /// A server configured with `options` that answered `offer`, and its
    /// Sec-WebSocket-Extensions answer ("" when it declined).
    pub(super) fn server(options: Options, offer: &str) -> (Connection, String) {
        let mut s = Connection::server(config(options), 0);
        let request = format!("{REQUEST}Sec-WebSocket-Extensions: {offer}\r\n\r\n");
        let mut out = [0u8; 512];
        let Ok(Accept::Accepted { written, .. }) = s.accept(request.as_bytes(), &[], &mut out)
        else {
            panic!("{offer}: not accepted")
        };
        let response = String::from_utf8(out[..written].to_vec()).unwrap();
        let answer = response
            .lines()
            .find_map(|l| l.strip_prefix("Sec-WebSocket-Extensions: "))
            .unwrap_or("")
            .to_string();
        (s, answer)
    }

    /// A client lending a window of `bits`, opened against our server.
    fn client(bits: u8) -> Connection {
        let mut c = Connection::client(config(Options::receive_only(bits)), 0, [5; 32]);
        let mut request = [0u8; 512];
        let n = c.write_request("x", "/", &[], &mut request).unwrap();
        let mut s = Connection::server(config(Options::receive_only(15)), 0);
        let mut response = [0u8; 512];
        let Ok(Accept::Accepted { written, .. }) = s.accept(&request[..n], &[], &mut response)
        else {
            panic!("not accepted")
        };
        c.read_response(&response[..written], &[]).unwrap().unwrap();
        assert!(c.compression_active());
        c
    }

    fn frame(
        wire: &mut Vec<u8>,
        first: bool,
        opcode: Opcode,
        fin: bool,
        payload: &[u8],
        mask: bool,
    ) {
        let key = mask.then_some([0x37, 0xfa, 0x21, 0x3d]);
        let header = Header {
            fin,
            rsv: if first && !opcode.is_control() {
                0b100
            } else {
                0
            },
            opcode,
            mask: key,
            len: payload.len() as u64,
        };
        let mut head = [0u8; 14];
        let n = encode_header(&header, &mut head).unwrap();
        wire.extend_from_slice(&head[..n]);
        let start = wire.len();
        wire.extend_from_slice(payload);
        if let Some(key) = key {
            apply_mask(&mut wire[start..], key, 0);
        }
    }

    /// The conversation's compressed messages as frames: text when the
    /// plain bytes are UTF-8, cut into fragments of `fragment` bytes with
    /// a ping after each fragment but the last.
    pub(super) fn frames(c: &Conversation, fragment: usize, mask: bool) -> Vec<u8> {
        let mut wire = Vec::new();
        for (plain, payload) in &c.messages {
            let kind = if std::str::from_utf8(plain).is_ok() {
                Opcode::Text
            } else {
                Opcode::Binary
            };
            let pieces: Vec<&[u8]> = payload.chunks(fragment.max(1)).collect();
            for (i, piece) in pieces.iter().enumerate() {
                let last = i + 1 == pieces.len();
                let opcode = if i == 0 { kind } else { Opcode::Continuation };
                frame(&mut wire, i == 0, opcode, last, piece, mask);
                if !last {
                    frame(&mut wire, false, Opcode::Ping, true, b"p", mask);
                }
            }
        }
        wire
    }

    pub(super) fn expected(c: &Conversation) -> Vec<(DataKind, Vec<u8>)> {
        c.messages
            .iter()
            .map(|(plain, _)| {
                let kind = if std::str::from_utf8(plain).is_ok() {
                    DataKind::Text
                } else {
                    DataKind::Binary
                };
                (kind, plain.clone())
            })
            .collect()
    }

    /// Feeds `wire` in pieces of the sizes in `cuts` (cycled), with
    /// `scratch` bytes to inflate into, writing the engine's replies as a
    /// transport would. Returns the messages, or the first error.
    pub(super) fn receive<const N: usize>(
        conn: &mut Connection,
        window: &mut Window<N>,
        wire: &[u8],
        cuts: &[usize],
        scratch: usize,
    ) -> Result<Vec<(DataKind, Vec<u8>)>, Error> {
        let mut messages = Vec::new();
        let mut message = Vec::new();
        let mut pending: Vec<u8> = Vec::new();
        let mut space = vec![0u8; scratch];
        let (mut fed, mut ci, mut calls) = (0, 0, 0);
        loop {
            let end = (fed + cuts[ci % cuts.len()].max(1)).min(wire.len());
            ci += 1;
            pending.extend_from_slice(&wire[fed..end]);
            fed = end;
            loop {
                calls += 1;
                assert!(calls < 1_000_000, "no progress");
                let mut buf = pending.clone();
                let mut out = [0u8; 256];
                let r = conn.receive_inflating(&mut buf, &mut space, window, &mut out)?;
                let (used, event) = (r.consumed, r.event);
                let had_event = event.is_some();
                if let Some(Event::Data { kind, chunk, last }) = event {
                    message.extend_from_slice(chunk);
                    if last {
                        messages.push((kind, std::mem::take(&mut message)));
                    }
                }
                pending.drain(..used);
                conn.poll_output(&mut out);
                if !had_event && used == 0 {
                    break;
                }
            }
            if fed == wire.len() {
                assert!(pending.is_empty(), "{} bytes left unread", pending.len());
                return Ok(messages);
            }
        }
    }

    /// [`receive`] with a fresh window of `2^bits` bytes.
    pub(super) fn receive_in(
        bits: u8,
        conn: &mut Connection,
        wire: &[u8],
        cuts: &[usize],
        scratch: usize,
    ) -> Result<Vec<(DataKind, Vec<u8>)>, Error> {
        fn go<const N: usize>(
            conn: &mut Connection,
            wire: &[u8],
            cuts: &[usize],
            scratch: usize,
        ) -> Result<Vec<(DataKind, Vec<u8>)>, Error> {
            receive(conn, &mut Box::new(Window::<N>::new()), wire, cuts, scratch)
        }
        match bits {
            9 => go::<512>(conn, wire, cuts, scratch),
            10 => go::<1024>(conn, wire, cuts, scratch),
            11 => go::<2048>(conn, wire, cuts, scratch),
            12 => go::<4096>(conn, wire, cuts, scratch),
            13 => go::<8192>(conn, wire, cuts, scratch),
            14 => go::<16384>(conn, wire, cuts, scratch),
            _ => go::<32768>(conn, wire, cuts, scratch),
        }
    }

    fn round(c: &Conversation, fragment: usize, cuts: &[usize], scratch: usize, as_client: bool) {
        let mut conn = if as_client {
            client(c.bits)
        } else {
            server(
                Options::receive_only(c.bits),
                "permessage-deflate; client_max_window_bits",
            )
            .0
        };
        let wire = frames(c, fragment, !as_client);
        let got = receive_in(c.bits, &mut conn, &wire, cuts, scratch);
        assert!(
            got.as_ref() == Ok(&expected(c)),
            "{} (client {as_client}, fragment {fragment}, scratch {scratch}): {:?}",
            c.name,
            got.map(|m| m.len())
        );
    }

    #[test]
    fn a_server_answers_with_the_window_it_holds() {
        for bits in 9..=15u8 {
            let o = Options::receive_only(bits);
            let (s, answer) = server(o, "permessage-deflate; client_max_window_bits");
            assert!(s.compression_active());
            if bits < 15 {
                assert_eq!(
                    answer,
                    format!("permessage-deflate; client_max_window_bits={bits}")
                );
            } else {
                assert_eq!(answer, "permessage-deflate");
            }
            // Without client_max_window_bits the client may use 15 bits:
            // only a caller's 32 KiB window takes that (section 7.1.2.2).
            let (s, answer) = server(o, "permessage-deflate");
            assert_eq!(s.compression_active(), bits == 15, "{bits}: {answer}");
            // A next offer that allows it is taken instead.
            let (s, _) = server(
                o,
                "permessage-deflate, permessage-deflate; client_max_window_bits=9",
            );
            assert!(s.compression_active());
        }
        // A smaller limit of the client's own is kept; a limit on our
        // compressor, even 8, is kept by sending uncompressed.
        let (_, answer) = server(
            Options::receive_only(12),
            "permessage-deflate; server_max_window_bits=8; client_max_window_bits=10",
        );
        assert_eq!(
            answer,
            "permessage-deflate; server_max_window_bits=8; client_max_window_bits=10"
        );
    }

    #[test]
    fn python_streams_through_a_server_whole_and_byte_by_byte() {
        for c in python_streams() {
            round(c, 1 << 20, &[1 << 20], 1 << 16, false);
            round(c, 700, &[1], 37, false);
        }
    }

    #[test]
    fn python_streams_through_a_client() {
        for c in python_streams() {
            round(c, 1000, &[333, 1], 500, true);
        }
    }

    /// The control: a 15-bit stream sent to a server that holds, and
    /// negotiated, 9 bits fails the connection with 1007 instead of
    /// inflating wrong bytes.
    #[test]
    fn a_stream_past_the_negotiated_window_fails_with_1007() {
        let c = python_streams()
            .iter()
            .find(|c| c.name == "l9-w15")
            .unwrap();
        let mut window = Window::<512>::new();
        let (mut s, answer) = server(
            Options::receive_only(9),
            "permessage-deflate; client_max_window_bits",
        );
        assert_eq!(answer, "permessage-deflate; client_max_window_bits=9");
        let wire = frames(c, 4096, true);
        let got = receive(&mut s, &mut window, &wire, &[4096], 4096);
        assert_eq!(got, Err(Error::Protocol(Violation::Compression)));
        let mut out = [0u8; 64];
        let n = s.poll_output(&mut out);
        assert_eq!(
            (out[0], &out[2..4]),
            (0x88, &[0x03, 0xef][..]),
            "{:?}",
            &out[..n]
        );
    }

    /// With `client_no_context_takeover` in our answer the window's history
    /// is dropped after each message, so a peer that keeps its context
    /// anyway is caught at its first reference back.
    #[test]
    fn history_is_dropped_when_the_peer_agreed_to_reset() {
        let c = python_streams()
            .iter()
            .find(|c| c.name == "l6-w15")
            .unwrap();
        let reset = Options {
            client_no_context_takeover: true,
            ..Options::receive_only(15)
        };
        let (mut s, answer) = server(reset, "permessage-deflate");
        assert_eq!(answer, "permessage-deflate; client_no_context_takeover");
        let mut window = Box::new(Window::<32768>::new());
        let wire = frames(c, 1 << 20, true);
        let got = receive(&mut s, &mut window, &wire, &[1 << 20], 1 << 16);
        assert_eq!(got, Err(Error::Protocol(Violation::Compression)));
    }

    /// As with our own codec (core's connection tests): output the lent
    /// window still holds for a frame's consumed payload comes before the
    /// next frame is read, even when that frame fails.
    #[test]
    fn inflated_output_is_delivered_before_a_failing_next_frame() {
        let (mut s, _) = server(Options::receive_only(15), "permessage-deflate");
        let mut window = Box::new(Window::<32768>::new());
        let mut wire = Vec::new();
        // 40 times "a" (zlib, Z_BLOCK flush), then a continuation with
        // RSV1 set: 1002 (RFC 7692 section 6.1).
        frame(
            &mut wire,
            true,
            Opcode::Binary,
            false,
            &[74, 76, 36, 14, 0],
            true,
        );
        frame(&mut wire, true, Opcode::Continuation, true, b"x", true);
        let mut scratch = [0u8; 1];
        let (mut got, mut pos) = (Vec::new(), 0);
        let failure = loop {
            let mut rest = wire[pos..].to_vec();
            match s.receive_inflating(&mut rest, &mut scratch, &mut window, &mut []) {
                Ok(r) => {
                    assert!(r.consumed > 0 || r.event.is_some(), "stalled");
                    if let Some(Event::Data { chunk, .. }) = r.event {
                        got.extend_from_slice(chunk);
                    }
                    pos += r.consumed;
                }
                Err(e) => break e,
            }
        };
        assert_eq!(failure, Error::Protocol(Violation::ReservedBits));
        assert_eq!(got, [b'a'; 40]);
    }

    #[test]
    fn the_buffer_contract_is_checked_before_anything_is_read() {
        let c = &python_streams()[0];
        let (mut s, _) = server(
            Options::receive_only(12),
            "permessage-deflate; client_max_window_bits",
        );
        let wire = frames(c, 1 << 20, true);
        let mut input = wire.clone();
        let mut scratch = [0u8; 64];
        // No window, or one smaller than agreed: the size it needs.
        assert_eq!(
            s.receive_with(&mut input, &mut scratch, &mut []),
            Err(Error::BufferTooSmall { needed: 4096 })
        );
        let mut window = Window::<2048>::new();
        assert_eq!(
            s.receive_inflating(&mut input, &mut scratch, &mut window, &mut []),
            Err(Error::BufferTooSmall { needed: 4096 })
        );
        assert_eq!(
            s.receive_inflating(&mut input, &mut [], &mut window, &mut []),
            Err(Error::BufferTooSmall { needed: 1 })
        );
        assert_eq!(input, wire, "nothing consumed or unmasked");
        // A larger window than agreed is fine.
        let mut window = Box::new(Window::<32768>::new());
        assert_eq!(
            receive(&mut s, &mut window, &wire, &[100], 64),
            Ok(expected(c))
        );
        // What it sends is uncompressed (RSV1 clear), which section 6
        // allows message by message.
        let mut out = [0u8; 64];
        let n = s.send(DataKind::Text, b"Hello", true, &mut out).unwrap();
        assert_eq!(&out[..n], b"\x81\x05Hello");
        assert_eq!(s.max_frame_len(5), 7);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn python_streams_through_a_connection_in_any_split(
            which in 0usize..49,
            fragment in 1usize..3000,
            cuts in prop::collection::vec(1usize..300, 1..8),
            scratch in 1usize..600,
            as_client in any::<bool>(),
        ) {
            round(&python_streams()[which], fragment, &cuts, scratch, as_client);
        }
    }
}
