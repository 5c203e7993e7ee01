//! Property tests over the public API: no input makes the engine panic or
//! stall, and whatever a client sends, a server receives unchanged.

use proptest::prelude::*;
use websock_core::{Accept, Config, Connection, DataKind, Event, Received, Transport};

const REQUEST: &[u8] =
    b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
    Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

fn server() -> Connection {
    let mut s = Connection::server(Config::new(), 0);
    let mut out = [0u8; 512];
    assert!(matches!(
        s.accept(REQUEST, &[], &mut out),
        Ok(Accept::Accepted { .. })
    ));
    s
}

fn client() -> Connection {
    let mut c = Connection::client(Config::new(), 0, [3; 32]);
    let mut req = [0u8; 512];
    let n = c.write_request("x", "/", &[], &mut req).unwrap();
    let mut s = Connection::server(Config::new(), 0);
    let mut resp = [0u8; 512];
    let Ok(Accept::Accepted { written, .. }) = s.accept(&req[..n], &[], &mut resp) else {
        panic!()
    };
    c.read_response(&resp[..written], &[]).unwrap().unwrap();
    c
}

/// Feeds `bytes` in pieces; returns the data received per message. Panics
/// (failing the property) if the engine neither consumes nor reports.
fn drive(conn: &mut Connection, bytes: &[u8], cuts: &[usize]) -> Vec<(DataKind, Vec<u8>)> {
    let mut messages = Vec::new();
    let mut current = Vec::new();
    let mut pending = Vec::new();
    let mut start = 0;
    let mut ends: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
    ends.sort_unstable();
    ends.push(bytes.len());
    for end in ends {
        pending.extend_from_slice(&bytes[start..end.max(start)]);
        start = end.max(start);
        while !pending.is_empty() {
            let mut buf = pending.clone();
            let mut out = [0u8; 256];
            let Ok(Received {
                consumed: used,
                event,
                ..
            }) = conn.receive(&mut buf, &mut out)
            else {
                return messages;
            };
            let had_event = event.is_some();
            if let Some(Event::Data { kind, chunk, last }) = event {
                current.extend_from_slice(chunk);
                if last {
                    messages.push((kind, std::mem::take(&mut current)));
                }
            }
            pending.drain(..used);
            let wrote = conn.poll_output(&mut out);
            if used == 0 && !had_event && wrote == 0 {
                // Waiting for the rest of a header or control frame.
                break;
            }
        }
    }
    messages
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn server_survives_any_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..600),
                                 cuts in proptest::collection::vec(any::<usize>(), 0..8)) {
        let mut s = server();
        drive(&mut s, &bytes, &cuts);
        let mut out = [0u8; 256];
        while s.poll_output(&mut out) > 0 {}
        let _ = s.transport();
    }

    #[test]
    fn client_survives_any_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..600),
                                 cuts in proptest::collection::vec(any::<usize>(), 0..8)) {
        let mut c = client();
        drive(&mut c, &bytes, &cuts);
    }

    #[test]
    fn handshake_parsers_survive_any_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let mut s = Connection::server(Config::new(), 0);
        let mut out = [0u8; 512];
        let _ = s.accept(&bytes, &["chat"], &mut out);
        let mut c = Connection::client(Config::new(), 0, [1; 32]);
        let _ = c.write_request("x", "/", &[], &mut out);
        let _ = c.read_response(&bytes, &[]);
    }

    #[test]
    fn messages_arrive_unchanged(messages in proptest::collection::vec(
                                    (any::<bool>(), proptest::collection::vec(any::<u8>(), 0..300), 1usize..5), 1..6),
                                 cuts in proptest::collection::vec(any::<usize>(), 0..10)) {
        let mut c = client();
        let mut wire = Vec::new();
        let mut expected = Vec::new();
        for (text, bytes, fragments) in &messages {
            let (kind, payload) = if *text {
                (DataKind::Text, String::from_utf8_lossy(bytes).into_owned().into_bytes())
            } else {
                (DataKind::Binary, bytes.clone())
            };
            let step = payload.len().div_ceil(*fragments).max(1);
            let pieces: Vec<&[u8]> = if payload.is_empty() { vec![&[][..]] } else { payload.chunks(step).collect() };
            for (i, piece) in pieces.iter().enumerate() {
                let mut out = vec![0u8; piece.len() + 14];
                let n = c.send(kind, piece, i + 1 == pieces.len(), &mut out).unwrap();
                wire.extend_from_slice(&out[..n]);
            }
            expected.push((kind, payload));
        }
        let mut s = server();
        prop_assert_eq!(drive(&mut s, &wire, &cuts), expected);
        prop_assert_eq!(s.transport(), Transport::Open);
    }
}

/// A frame built from arbitrary parts: any opcode and RSV bits, masked or
/// not, lengths that may lie, so the decoder's deeper paths are reached.
fn arbitrary_frame() -> impl Strategy<Value = Vec<u8>> {
    (
        any::<u8>(),
        any::<bool>(),
        proptest::collection::vec(any::<u8>(), 0..200),
        any::<[u8; 4]>(),
        0u8..3,
    )
        .prop_map(|(first, masked, payload, key, lie)| {
            let mut out = vec![first];
            let len = payload.len();
            let mask_bit = if masked { 0x80 } else { 0 };
            match (lie, len) {
                (1, _) => {
                    out.push(mask_bit | 126);
                    out.extend_from_slice(&(len as u16).to_be_bytes());
                }
                (2, _) => {
                    out.push(mask_bit | 127);
                    out.extend_from_slice(&(len as u64).to_be_bytes());
                }
                (_, l) if l < 126 => out.push(mask_bit | l as u8),
                _ => {
                    out.push(mask_bit | 126);
                    out.extend_from_slice(&(len as u16).to_be_bytes());
                }
            }
            if masked {
                out.extend_from_slice(&key);
            }
            out.extend(
                payload
                    .iter()
                    .enumerate()
                    .map(|(i, b)| if masked { b ^ key[i % 4] } else { *b }),
            );
            out
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn structured_frames_never_panic_or_stall(frames in proptest::collection::vec(arbitrary_frame(), 1..8),
                                              cuts in proptest::collection::vec(any::<usize>(), 0..6)) {
        let wire: Vec<u8> = frames.concat();
        drive(&mut server(), &wire, &cuts);
        drive(&mut client(), &wire, &cuts);
    }
}

#[cfg(feature = "deflate")]
mod compressed {
    use super::*;
    use websock_core::deflate::Options;

    fn deflate_server() -> Connection {
        let mut config = Config::new();
        config.deflate = Some(Options::new());
        config.max_message_size = 1 << 20;
        let mut s = Connection::server(config, 0);
        let request = b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
            Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
            Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n";
        let mut out = [0u8; 512];
        assert!(matches!(
            s.accept(request, &[], &mut out),
            Ok(Accept::Accepted { .. })
        ));
        assert!(s.compression_active());
        s
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// Arbitrary bytes as the payload of compressed (RSV1) frames.
        #[test]
        fn garbage_compressed_payloads_never_panic(payloads in proptest::collection::vec(
                                                       proptest::collection::vec(any::<u8>(), 0..120), 1..4),
                                                   scratch_len in 1usize..300) {
            let mut s = deflate_server();
            let mut wire = Vec::new();
            for (i, p) in payloads.iter().enumerate() {
                let first = if i == 0 { 0xC2 } else { 0x80 };
                let last = i + 1 == payloads.len();
                let b0 = if last { first } else { first & 0x7F };
                wire.push(b0);
                wire.push(0x80 | p.len() as u8);
                wire.extend_from_slice(&[1, 2, 3, 4]);
                wire.extend(p.iter().enumerate().map(|(j, b)| b ^ [1, 2, 3, 4][j % 4]));
            }
            let mut scratch = vec![0u8; scratch_len];
            let mut pos = 0;
            let mut guard = 0;
            while pos < wire.len() {
                guard += 1;
                prop_assert!(guard < 100_000, "stalled");
                match s.receive_with(&mut wire[pos..], &mut scratch, &mut []) {
                    Ok(r) => pos += r.consumed,
                    Err(_) => break,
                }
            }
        }
    }
}
