//! Deterministic engine tests: no sockets, a client and a server wired
//! together in memory, and scripted wire bytes fed split at every boundary.

extern crate std;
use std::vec;
use std::vec::Vec;

use super::*;

const REQUEST: &[u8] = b"GET /chat HTTP/1.1\r\nHost: server.example.com\r\n\
    Upgrade: websocket\r\nConnection: Upgrade\r\n\
    Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

/// What a test sees of one received event, owned.
#[derive(Debug, PartialEq, Clone)]
enum Seen {
    Message(DataKind, Vec<u8>),
    Ping(Vec<u8>),
    Pong(Vec<u8>),
    Close(u16, Vec<u8>),
    Error(Error),
}

fn open_server() -> Connection {
    let mut server = Connection::server(Config::new(), 0);
    let mut out = [0u8; 512];
    match server.accept(REQUEST, &[], &mut out) {
        Ok(Accept::Accepted { .. }) => server,
        other => panic!("{other:?}"),
    }
}

fn open_client() -> Connection {
    let mut client = Connection::client(Config::new(), 0, [9; 32]);
    let mut out = [0u8; 512];
    let n = client
        .write_request("localhost", "/", &[], &mut out)
        .unwrap();
    let mut server = Connection::server(Config::new(), 0);
    let mut resp = [0u8; 512];
    let Ok(Accept::Accepted { written, .. }) = server.accept(&out[..n], &[], &mut resp) else {
        panic!("server refused the client's request")
    };
    assert!(client
        .read_response(&resp[..written], &[])
        .unwrap()
        .is_some());
    client
}

/// Feeds `wire` to `conn` in pieces cut at `cuts`, collecting what it says
/// (messages reassembled) and what it writes back.
fn feed(conn: &mut Connection, wire: &[u8], cuts: &[usize]) -> (Vec<Seen>, Vec<u8>) {
    let mut seen = Vec::new();
    let mut written = Vec::new();
    let mut message: Vec<u8> = Vec::new();
    let mut pending: Vec<u8> = Vec::new();
    let mut start = 0;
    for &end in cuts.iter().chain(core::iter::once(&wire.len())) {
        pending.extend_from_slice(&wire[start..end]);
        start = end;
        let mut guard = 0;
        while !pending.is_empty() {
            guard += 1;
            assert!(guard < 10_000, "no progress");
            let mut buf = pending.clone();
            let mut out = [0u8; 200];
            let Received {
                consumed: used,
                written: pong,
                event,
            } = match conn.receive(&mut buf, &mut out) {
                Ok(r) => r,
                Err(e) => {
                    seen.push(Seen::Error(e));
                    pending.clear();
                    break;
                }
            };
            let had_event = event.is_some();
            match event {
                Some(Event::Data { kind, chunk, last }) => {
                    message.extend_from_slice(chunk);
                    if last {
                        seen.push(Seen::Message(kind, core::mem::take(&mut message)));
                    }
                }
                Some(Event::Ping(p)) => seen.push(Seen::Ping(p.to_vec())),
                Some(Event::Pong(p)) => seen.push(Seen::Pong(p.to_vec())),
                Some(Event::Close { code, reason }) => {
                    seen.push(Seen::Close(code.0, reason.to_vec()))
                }
                None => {}
            }
            written.extend_from_slice(&out[..pong]);
            pending.drain(..used);
            let n = conn.poll_output(&mut out);
            written.extend_from_slice(&out[..n]);
            if used == 0 && n == 0 && !had_event {
                // The rest of a header or control frame is still to come.
                break;
            }
        }
    }
    assert!(pending.is_empty(), "{} bytes never taken", pending.len());
    let mut out = [0u8; 200];
    loop {
        let n = conn.poll_output(&mut out);
        if n == 0 {
            break;
        }
        written.extend_from_slice(&out[..n]);
    }
    (seen, written)
}

/// Masked client frame bytes.
fn masked(first: u8, payload: &[u8]) -> Vec<u8> {
    let key = [0x11, 0x22, 0x33, 0x44];
    let mut out = vec![0u8; 14 + payload.len()];
    let h = Header {
        fin: first & 0x80 != 0,
        rsv: (first >> 4) & 7,
        opcode: Opcode::Binary,
        mask: Some(key),
        len: payload.len() as u64,
    };
    let n = encode_header(&h, &mut out).unwrap();
    out[0] = first; // any opcode, reserved ones included
    out[n..n + payload.len()].copy_from_slice(payload);
    apply_mask(&mut out[n..n + payload.len()], key, 0);
    out.truncate(n + payload.len());
    out
}

/// Runs a script through a fresh server whole, and split at every single
/// boundary and at every pair of boundaries, and checks all agree.
fn server_sees(wire: &[u8]) -> (Vec<Seen>, Vec<u8>) {
    let whole = feed(&mut open_server(), wire, &[]);
    for i in 0..=wire.len() {
        assert_eq!(feed(&mut open_server(), wire, &[i]), whole, "cut at {i}");
    }
    let bytewise: Vec<usize> = (1..wire.len()).collect();
    assert_eq!(
        feed(&mut open_server(), wire, &bytewise),
        whole,
        "one byte at a time"
    );
    whole
}

fn close_frame_unmasked(code: u16) -> Vec<u8> {
    let mut v = vec![0x88, 2];
    v.extend_from_slice(&code.to_be_bytes());
    v
}

#[test]
fn fragmented_text_with_interleaved_ping() {
    let mut wire = masked(0x01, "Hel".as_bytes());
    wire.extend(masked(0x89, b"hi"));
    wire.extend(masked(0x00, "lo κ".as_bytes()));
    wire.extend(masked(0x80, "όσμε".as_bytes()));
    let (seen, written) = server_sees(&wire);
    assert_eq!(
        seen,
        vec![
            Seen::Ping(b"hi".to_vec()),
            Seen::Message(DataKind::Text, "Hello κόσμε".as_bytes().to_vec())
        ]
    );
    assert_eq!(written, vec![0x8A, 2, b'h', b'i']);
}

#[test]
fn close_handshake_from_client_side() {
    let mut wire = masked(0x82, &[1, 2, 3]);
    wire.extend(masked(0x88, &[0x03, 0xE8, b'b', b'y', b'e']));
    wire.extend(masked(0x81, b"ignored after close"));
    let (seen, written) = server_sees(&wire);
    assert_eq!(
        seen,
        vec![
            Seen::Message(DataKind::Binary, vec![1, 2, 3]),
            Seen::Close(1000, b"bye".to_vec())
        ]
    );
    assert_eq!(written, close_frame_unmasked(1000));
    let mut s = open_server();
    feed(&mut s, &wire, &[]);
    assert_eq!(s.state(), State::Closed);
    assert_eq!(s.transport(), Transport::Close);
    assert_eq!(
        s.transport_closed(),
        Closure {
            clean: true,
            code: CloseCode(1000)
        }
    );
}

#[test]
fn sending_may_finish_before_the_close_reply() {
    let mut s = open_server();
    let mut wire = masked(0x81, b"last words");
    wire.extend(masked(0x88, &[0x03, 0xE8]));
    let mut buf = wire.clone();
    let r = s.receive(&mut buf, &mut []).unwrap();
    assert!(matches!(r.event, Some(Event::Data { last: true, .. })));
    let mut rest = wire[r.consumed..].to_vec();
    let r = s.receive(&mut rest, &mut []).unwrap();
    assert!(matches!(r.event, Some(Event::Close { .. })));
    // The echo goes out before the close reply...
    let mut out = [0u8; 64];
    let n = s
        .send(DataKind::Text, b"last words", true, &mut out)
        .unwrap();
    assert_eq!(&out[..2], &[0x81, 10]);
    let m = s.poll_output(&mut out[n..]);
    assert_eq!(&out[n..n + m], &close_frame_unmasked(1000)[..]);
    // ...and nothing may follow the reply.
    assert_eq!(
        s.send(DataKind::Text, b"x", true, &mut out),
        Err(Error::InvalidState)
    );
}

/// Found by the client_receive fuzz target: two empty pings in one read.
/// (When pongs were queued inside the engine, the second one's header was
/// consumed while the first pong was owed, and a caller with nothing more
/// to read never got the second ping.) Each ping is now answered in its
/// own call.
#[test]
fn two_empty_pings_in_one_read_get_two_pongs() {
    let mut s = open_server();
    let mut wire = masked(0x89, &[]);
    wire.extend(masked(0x89, &[]));
    let mut out = [0u8; 16];
    let r = s.receive(&mut wire, &mut out).unwrap();
    assert_eq!((r.consumed, r.written), (6, 2));
    assert_eq!(r.event, Some(Event::Ping(&[])));
    assert_eq!(&out[..2], &[0x8A, 0], "the first pong");
    let mut rest = wire[6..].to_vec();
    let r = s.receive(&mut rest, &mut out).unwrap();
    assert_eq!((r.consumed, r.written), (6, 2), "the second pong");
    assert!(matches!(r.event, Some(Event::Ping(_))), "{r:?}");
}

#[test]
fn empty_close_gets_empty_reply() {
    let (seen, written) = server_sees(&masked(0x88, &[]));
    assert_eq!(seen, vec![Seen::Close(1005, vec![])]);
    assert_eq!(written, vec![0x88, 0]);
}

fn fails_with(wire: &[u8], v: Violation) {
    let (seen, written) = server_sees(wire);
    assert_eq!(
        seen.last(),
        Some(&Seen::Error(Error::Protocol(v))),
        "{seen:?}"
    );
    let code = v.close_code().0.to_be_bytes();
    assert_eq!(
        &written[..4],
        &[0x88, 2 + v.reason().len() as u8, code[0], code[1]]
    );
    let mut s = open_server();
    feed(&mut s, wire, &[]);
    assert_eq!(s.transport(), Transport::Close);
}

#[test]
fn protocol_violations_fail_with_the_right_code() {
    fails_with(&masked(0xC1, b"x"), Violation::ReservedBits);
    fails_with(&masked(0x83, b"x"), Violation::ReservedOpcode);
    fails_with(&masked(0x80, b"x"), Violation::UnexpectedContinuation);
    fails_with(&masked(0x09, b"x"), Violation::FragmentedControl);
    fails_with(&masked(0x89, &[0; 126]), Violation::ControlTooLong);
    fails_with(&masked(0x88, &[3]), Violation::CloseLength);
    fails_with(&masked(0x88, &[0x03, 0xED]), Violation::CloseCode);
    fails_with(&masked(0x88, &[0x03, 0xE8, 0xFF]), Violation::InvalidUtf8);
    fails_with(&[0x81, 0x01, b'x'], Violation::UnmaskedFrame);
    let mut wire = masked(0x01, b"a");
    wire.extend(masked(0x81, b"b"));
    fails_with(&wire, Violation::ExpectedContinuation);
}

#[test]
fn invalid_utf8_fails_before_the_message_ends() {
    // First fragment is bad; the final fragment never arrives.
    let wire = masked(0x01, &[b'o', b'k', 0xF4, 0x90, 0x80, 0x80]);
    fails_with(&wire, Violation::InvalidUtf8);
    // Truncated character at the end of the message.
    fails_with(&masked(0x81, &[0xE2, 0x82]), Violation::InvalidUtf8);
}

#[test]
fn message_size_limit_fails_at_the_header() {
    let mut config = Config::new();
    config.max_message_size = 10;
    let mut s = Connection::server(config, 0);
    let mut out = [0u8; 512];
    assert!(matches!(
        s.accept(REQUEST, &[], &mut out),
        Ok(Accept::Accepted { .. })
    ));
    let mut wire = masked(0x02, &[0; 6]);
    wire.extend(masked(0x80, &[0; 6]));
    let (seen, written) = feed(&mut s, &wire, &[]);
    assert_eq!(
        seen,
        vec![Seen::Error(Error::Protocol(Violation::MessageTooBig))]
    );
    assert_eq!(&written[2..4], &1009u16.to_be_bytes());
}

#[test]
fn a_ping_waits_unread_for_room_for_its_pong() {
    let mut s = open_server();
    let mut wire = masked(0x89, b"one");
    wire.extend(masked(0x89, b"two"));
    let mut buf = wire.clone();
    let mut out = [0u8; 64];
    // No room for the pong: nothing consumed, nothing said.
    let r = s.receive(&mut buf, &mut out[..4]).unwrap();
    assert_eq!(r, Received::none(0), "held until there is room");
    assert_eq!(buf, wire, "left as it was (still masked)");
    let r = s.receive(&mut buf, &mut out).unwrap();
    assert_eq!(r.event, Some(Event::Ping(b"one")));
    assert_eq!(&out[..r.written], &[0x8A, 3, b'o', b'n', b'e']);
    assert_eq!(s.poll_output(&mut out), 0, "one pong per ping");
    let mut rest = wire[r.consumed..].to_vec();
    let left = rest.len();
    let r = s.receive(&mut rest, &mut out).unwrap();
    assert_eq!(r.consumed, left);
    assert_eq!(r.event, Some(Event::Ping(b"two")));
    assert_eq!(&out[..r.written], &[0x8A, 3, b't', b'w', b'o']);
}

#[test]
fn a_control_frame_is_taken_only_whole() {
    let mut s = open_server();
    let wire = masked(0x8A, b"pong payload");
    let mut out = [0u8; 64];
    for cut in 0..wire.len() {
        let mut part = wire[..cut].to_vec();
        let r = s.receive(&mut part, &mut out).unwrap();
        assert_eq!(r, Received::none(0), "cut at {cut}");
        assert_eq!(part, wire[..cut], "cut at {cut}: untouched");
    }
    let mut whole = wire.clone();
    let r = s.receive(&mut whole, &mut out).unwrap();
    assert_eq!(r.consumed, wire.len());
    assert_eq!(r.event, Some(Event::Pong(b"pong payload")));
}

#[test]
fn a_client_masks_its_pong() {
    let mut c = open_client();
    let mut wire = vec![0x89, 3];
    wire.extend_from_slice(b"abc");
    let mut out = [0u8; 64];
    let r = c.receive(&mut wire, &mut out).unwrap();
    assert_eq!(r.event, Some(Event::Ping(b"abc")));
    assert_eq!(r.written, 9);
    assert_eq!(&out[..2], &[0x8A, 0x83]);
    let key = [out[2], out[3], out[4], out[5]];
    let mut payload = out[6..9].to_vec();
    apply_mask(&mut payload, key, 0);
    assert_eq!(payload, b"abc");
}

#[test]
fn client_and_server_talk_and_close_cleanly() {
    let mut client = open_client();
    let mut server = open_server();
    let mut wire = [0u8; 4096];
    let n = client
        .send(DataKind::Text, "ab".as_bytes(), false, &mut wire)
        .unwrap();
    let m = client
        .send(DataKind::Text, "c".as_bytes(), true, &mut wire[n..])
        .unwrap();
    let k = client
        .close(CloseCode::NORMAL, "done", &mut wire[n + m..])
        .unwrap();
    assert_eq!(client.state(), State::CloseSent);
    let (seen, reply) = feed(&mut server, &wire[..n + m + k], &[]);
    assert_eq!(
        seen,
        vec![
            Seen::Message(DataKind::Text, b"abc".to_vec()),
            Seen::Close(1000, b"done".to_vec())
        ]
    );
    assert_eq!(server.transport(), Transport::Close);
    let (seen, _) = feed(&mut client, &reply, &[]);
    assert_eq!(seen, vec![Seen::Close(1000, vec![])]);
    assert_eq!(client.state(), State::Closed);
    // The client waits for the server to drop TCP, up to the close timeout.
    assert_eq!(client.transport(), Transport::Open);
    assert_eq!(client.deadline(), Some(5_000));
    client.tick(5_000);
    assert_eq!(client.transport(), Transport::Close);
    assert!(client.transport_closed().clean);
}

#[test]
fn client_rejects_masked_server_frames() {
    let mut c = open_client();
    let (seen, written) = feed(&mut c, &masked(0x81, b"x"), &[]);
    assert_eq!(
        seen,
        vec![Seen::Error(Error::Protocol(Violation::MaskedFrame))]
    );
    // The client's close frame is masked: 0x88, 0x80 | len.
    assert_eq!(
        &written[..2],
        &[
            0x88,
            0x80 | (2 + Violation::MaskedFrame.reason().len() as u8)
        ]
    );
}

#[test]
fn timeouts() {
    let mut s = Connection::server(Config::new(), 100);
    assert_eq!(s.deadline(), Some(10_100));
    s.tick(10_099);
    assert_eq!(s.transport(), Transport::Open);
    s.tick(10_100);
    assert_eq!(
        (s.state(), s.transport()),
        (State::Failed, Transport::Close)
    );

    let mut s = open_server();
    let mut out = [0u8; 64];
    s.close(CloseCode::GOING_AWAY, "", &mut out).unwrap();
    s.tick(4_999);
    assert_eq!(s.transport(), Transport::Open);
    s.tick(5_000);
    assert_eq!(s.transport(), Transport::Close);
    assert!(!s.transport_closed().clean);
}

#[test]
fn rejected_handshake_writes_http_error_and_closes() {
    let mut s = Connection::server(Config::new(), 0);
    let mut out = [0u8; 512];
    let bad = b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
        Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n";
    let Ok(Accept::Rejected { error, written }) = s.accept(bad, &[], &mut out) else {
        panic!()
    };
    assert_eq!(error, HandshakeError::UnsupportedVersion);
    assert!(out[..written].starts_with(b"HTTP/1.1 426 Upgrade Required\r\n"));
    assert_eq!(s.transport(), Transport::Close);
}

#[test]
fn application_errors_are_values() {
    let mut s = open_server();
    let mut small = [0u8; 4];
    assert_eq!(
        s.send(DataKind::Binary, &[0; 10], true, &mut small),
        Err(Error::BufferTooSmall { needed: 12 })
    );
    assert_eq!(
        s.ping(&[0; 126], &mut [0u8; 200]),
        Err(Error::ControlTooLong)
    );
    assert_eq!(
        s.close(CloseCode(1005), "", &mut [0u8; 200]),
        Err(Error::InvalidCloseCode)
    );
    let mut fresh = Connection::server(Config::new(), 0);
    assert_eq!(
        fresh.send(DataKind::Text, b"x", true, &mut [0u8; 64]),
        Err(Error::InvalidState)
    );
}

#[test]
fn frame_sizes_never_overflow() {
    let s = open_server();
    assert_eq!(s.max_frame_len(usize::MAX), usize::MAX);
    #[cfg(feature = "deflate")]
    assert_eq!(crate::deflate::Codec::bound(usize::MAX), usize::MAX);
}

#[test]
fn connection_state_is_small() {
    let size = core::mem::size_of::<Connection>();
    std::println!("size_of::<Connection>() = {size} bytes");
    // On 64-bit targets: 120 bytes, 152 with permessage-deflate (what was
    // agreed and where a message is in its inflating; the codec and zlib's
    // stream headers are on the heap, allocated only when it is agreed).
    // A server keeps one per connection, so every byte here is a KB per
    // thousand connections.
    let bound = if cfg!(any(feature = "inflate", feature = "deflate")) {
        152
    } else {
        120
    };
    assert!(size <= bound, "{size} > {bound}");
}

/// A header from `send_header` followed by the payload (masked with the
/// key it returns) is, byte for byte, the frame `send` writes: same
/// opcodes through a fragmented message, same masking keys drawn.
#[test]
fn send_header_then_payload_is_the_frame_send_writes() {
    let payload: Vec<u8> = (0..70_000u32).map(|i| (i % 251) as u8).collect();
    for client in [false, true] {
        let open = if client { open_client } else { open_server };
        let (mut whole, mut split) = (open(), open());
        let pieces = [
            (&payload[..10], false),
            (&payload[10..300], false),
            (&payload[300..], true),
            (&payload[..0], true),
            (&payload[..126], true),
        ];
        for (piece, last) in pieces {
            let mut frame = vec![0u8; piece.len() + MAX_HEADER_LEN];
            let n = whole.send(DataKind::Text, piece, last, &mut frame).unwrap();
            let mut head = [0u8; MAX_HEADER_LEN];
            let (h, mask) = split
                .send_header(DataKind::Text, piece.len(), last, &mut head)
                .unwrap();
            assert_eq!(mask.is_some(), client);
            let mut body = piece.to_vec();
            if let Some(key) = mask {
                apply_mask(&mut body, key, 0);
            }
            assert_eq!(&frame[..h], &head[..h], "header, {} bytes", piece.len());
            assert_eq!(&frame[h..n], &body[..], "payload, {} bytes", piece.len());
        }
    }
}

/// `frame_remaining` counts down a data frame's payload as it arrives, and
/// says nothing of control frames or between frames.
#[test]
fn frame_remaining_counts_the_data_frame_being_received() {
    let mut server = open_server();
    let mut client = open_client();
    let payload = vec![5u8; 1000];
    let mut frame = vec![0u8; 2000];
    let n = client
        .send(DataKind::Binary, &payload, true, &mut frame)
        .unwrap();
    let mut ping = [0u8; 64];
    let p = client.ping(b"abc", &mut ping).unwrap();
    assert_eq!(server.frame_remaining(), 0);
    // Header and 100 payload bytes: 900 to come.
    let head = n - 1000;
    let mut out = [0u8; 64];
    let used = server
        .receive(&mut frame[..head + 100], &mut out)
        .unwrap()
        .consumed;
    assert_eq!(used, head + 100);
    assert_eq!(server.frame_remaining(), 900);
    let used = server
        .receive(&mut frame[head + 100..n], &mut out)
        .unwrap()
        .consumed;
    assert_eq!(used, 900);
    assert_eq!(server.frame_remaining(), 0);
    // A control frame's header and part of its payload.
    let used = server
        .receive(&mut ping[..p - 1], &mut out)
        .unwrap()
        .consumed;
    assert_eq!(used, 0);
    assert_eq!(
        server.frame_remaining(),
        0,
        "control frames are not counted"
    );
}

#[test]
fn send_header_refuses_without_changing_anything() {
    let mut server = open_server();
    let mut small = [0u8; 3];
    assert_eq!(
        server.send_header(DataKind::Binary, 1000, false, &mut small),
        Err(Error::BufferTooSmall { needed: 4 })
    );
    // The refused call did not start a message: this one is not a
    // continuation.
    let mut head = [0u8; MAX_HEADER_LEN];
    let (n, _) = server
        .send_header(DataKind::Binary, 5, true, &mut head)
        .unwrap();
    assert_eq!(&head[..n], &[0x82, 5]);
    let fresh = &mut Connection::server(Config::new(), 0);
    assert_eq!(
        fresh.send_header(DataKind::Binary, 5, true, &mut head),
        Err(Error::InvalidState),
        "before the handshake"
    );
}

#[cfg(feature = "deflate")]
mod compressed {
    use super::*;
    use crate::deflate::Options;

    fn config(options: Options) -> Config {
        let mut c = Config::new();
        c.deflate = Some(options);
        c
    }

    /// A client and a server that negotiated permessage-deflate.
    fn pair(client: Options, server: Options) -> (Connection, Connection, std::string::String) {
        let mut c = Connection::client(config(client), 0, [4; 32]);
        let mut req = [0u8; 512];
        let n = c.write_request("x", "/", &[], &mut req).unwrap();
        let mut s = Connection::server(config(server), 0);
        let mut resp = [0u8; 512];
        let Ok(Accept::Accepted { written, .. }) = s.accept(&req[..n], &[], &mut resp) else {
            panic!()
        };
        c.read_response(&resp[..written], &[]).unwrap().unwrap();
        assert!(
            c.compression_active() && s.compression_active(),
            "{}\n{}",
            std::string::String::from_utf8_lossy(&req[..n]),
            std::string::String::from_utf8_lossy(&resp[..written])
        );
        let text = std::string::String::from_utf8(resp[..written].to_vec()).unwrap();
        (c, s, text)
    }

    /// Sends messages from `from`, in fragments of `frag` bytes.
    fn send_all(from: &mut Connection, messages: &[(DataKind, Vec<u8>)], frag: usize) -> Vec<u8> {
        let mut wire = Vec::new();
        for (kind, payload) in messages {
            let pieces: Vec<&[u8]> = if payload.is_empty() {
                vec![&[][..]]
            } else {
                payload.chunks(frag).collect()
            };
            for (i, piece) in pieces.iter().enumerate() {
                let mut out = vec![0u8; from.max_frame_len(piece.len())];
                let n = from
                    .send(*kind, piece, i + 1 == pieces.len(), &mut out)
                    .unwrap();
                wire.extend_from_slice(&out[..n]);
            }
        }
        wire
    }

    /// Receives with a scratch buffer of `scratch` bytes, input cut at `cuts`.
    fn receive_all(to: &mut Connection, wire: &[u8], cuts: &[usize], scratch: usize) -> Vec<Seen> {
        let mut seen = Vec::new();
        let mut message = Vec::new();
        let mut pending: Vec<u8> = Vec::new();
        let mut start = 0;
        let mut space = vec![0u8; scratch];
        for &end in cuts.iter().chain(core::iter::once(&wire.len())) {
            pending.extend_from_slice(&wire[start..end]);
            start = end;
            let mut guard = 0;
            loop {
                guard += 1;
                assert!(guard < 1_000_000, "no progress");
                let mut buf = pending.clone();
                let mut out = [0u8; 200];
                let Received {
                    consumed: used,
                    event,
                    ..
                } = match to.receive_with(&mut buf, &mut space, &mut out) {
                    Ok(r) => r,
                    Err(e) => {
                        seen.push(Seen::Error(e));
                        return seen;
                    }
                };
                let had_event = event.is_some();
                if let Some(Event::Data { kind, chunk, last }) = event {
                    message.extend_from_slice(chunk);
                    if last {
                        seen.push(Seen::Message(kind, core::mem::take(&mut message)));
                    }
                }
                pending.drain(..used);
                if !had_event && used == 0 {
                    break;
                }
            }
        }
        seen
    }

    /// A failure message that does not print megabytes.
    fn short(s: &Seen) -> std::string::String {
        match s {
            Seen::Message(k, p) => std::format!("{k:?} of {} bytes", p.len()),
            other => std::format!("{other:?}"),
        }
    }

    fn sample_messages() -> Vec<(DataKind, Vec<u8>)> {
        let text: Vec<u8> = "κόσμε websock ".repeat(300).into_bytes();
        let binary: Vec<u8> = (0..5000u32).map(|i| (i * i % 251) as u8).collect();
        vec![
            (DataKind::Text, b"Hello".to_vec()),
            (DataKind::Text, text.clone()),
            (DataKind::Binary, binary),
            (DataKind::Binary, Vec::new()),
            (DataKind::Text, text),
        ]
    }

    #[test]
    fn compressed_messages_round_trip_any_split_any_scratch() {
        for (client, server) in [
            (Options::new(), Options::new()),
            (
                Options {
                    client_no_context_takeover: true,
                    server_no_context_takeover: true,
                    ..Options::new()
                },
                Options::new(),
            ),
            (
                Options {
                    server_max_window_bits: 9,
                    client_max_window_bits: 9,
                    ..Options::new()
                },
                Options {
                    client_max_window_bits: 9,
                    ..Options::new()
                },
            ),
        ] {
            let messages = sample_messages();
            let (mut c, mut s, _) = pair(client, server);
            let wire = send_all(&mut c, &messages, 1000);
            let plain: usize = messages.iter().map(|m| m.1.len()).sum();
            assert!(
                wire.len() < plain / 2,
                "compressed {} of {}",
                wire.len(),
                plain
            );
            let expected: Vec<Seen> = messages
                .iter()
                .map(|(k, p)| Seen::Message(*k, p.clone()))
                .collect();
            for scratch in [1, 7, 4096] {
                let (mut c2, mut s2, _) = pair(client, server);
                let wire2 = send_all(&mut c2, &messages, 1000);
                let cuts: Vec<usize> = (1..wire2.len()).step_by(97).collect();
                let got = receive_all(&mut s2, &wire2, &cuts, scratch);
                assert!(
                    got == expected,
                    "scratch {scratch}: {:?}",
                    got.iter().map(short).collect::<Vec<_>>()
                );
            }
            assert!(receive_all(&mut s, &wire, &[], 65536) == expected);
            // And the other way: server to client.
            let back = send_all(&mut s, &messages, 3000);
            assert!(receive_all(&mut c, &back, &[5, 50, 500], 100) == expected);
        }
    }

    #[test]
    fn negotiated_headers() {
        let (_, _, resp) = pair(
            Options {
                server_max_window_bits: 9,
                ..Options::new()
            },
            Options::new(),
        );
        assert!(
            resp.contains(
                "Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=9\r\n"
            ),
            "{resp}"
        );
    }

    #[test]
    fn bomb_stops_at_the_limit_while_inflating() {
        let (mut c, _, _) = pair(Options::new(), Options::new());
        let zeros = vec![0u8; 1 << 20];
        let wire = send_all(&mut c, &[(DataKind::Binary, zeros)], 1 << 20);
        assert!(
            wire.len() < 2000,
            "1 MiB of zeros compresses small: {}",
            wire.len()
        );
        let mut server_config = config(Options::new());
        server_config.max_message_size = 100_000;
        let mut s = Connection::server(server_config, 0);
        let mut req = [0u8; 512];
        let mut c2 = Connection::client(config(Options::new()), 0, [4; 32]);
        let n = c2.write_request("x", "/", &[], &mut req).unwrap();
        let mut out = [0u8; 512];
        assert!(matches!(
            s.accept(&req[..n], &[], &mut out),
            Ok(Accept::Accepted { .. })
        ));
        let seen = receive_all(&mut s, &wire, &[], 4096);
        assert_eq!(
            seen,
            vec![Seen::Error(Error::Protocol(Violation::MessageTooBig))]
        );
        let mut reply = [0u8; 64];
        let k = s.poll_output(&mut reply);
        assert_eq!(
            &reply[2..4],
            &1009u16.to_be_bytes()[..],
            "{:?}",
            &reply[..k]
        );
    }

    #[test]
    fn rsv1_only_on_first_frame_of_data_messages() {
        let (_, mut s, _) = pair(Options::new(), Options::new());
        // A compressed ping (RSV1 on a control frame).
        let seen = receive_all(&mut s, &masked(0xC9, b""), &[], 64);
        assert_eq!(
            seen,
            vec![Seen::Error(Error::Protocol(Violation::ReservedBits))]
        );
        let (_, mut s, _) = pair(Options::new(), Options::new());
        let mut wire = masked(0x02, &[0xf2, 0x48]);
        wire.extend(masked(0xC0, &[0xcd]));
        let seen = receive_all(&mut s, &wire, &[], 64);
        assert_eq!(
            seen,
            vec![Seen::Error(Error::Protocol(Violation::ReservedBits))]
        );
        // Without negotiation RSV1 is reserved.
        let seen = feed(
            &mut open_server(),
            &masked(0xC1, &[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]),
            &[],
        )
        .0;
        assert_eq!(
            seen,
            vec![Seen::Error(Error::Protocol(Violation::ReservedBits))]
        );
    }

    #[test]
    fn rfc7692_hello_on_the_wire() {
        let (_, mut s, _) = pair(Options::new(), Options::new());
        let wire = masked(0xC1, &[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]);
        assert_eq!(
            receive_all(&mut s, &wire, &[], 64),
            vec![Seen::Message(DataKind::Text, b"Hello".to_vec())]
        );
        let garbage = masked(0xC1, &[0xff, 0xff, 0xff]);
        let seen = receive_all(&mut s, &garbage, &[], 64);
        assert_eq!(
            seen,
            vec![Seen::Error(Error::Protocol(Violation::Compression))]
        );
    }

    /// Found by the client_receive fuzz target: an empty first fragment of
    /// a compressed message made `receive_with` stop after its header with
    /// no event and nothing owed, though the next frame was in the input.
    #[test]
    fn empty_compressed_fragment_does_not_stall() {
        let (_, mut s, _) = pair(Options::new(), Options::new());
        let mut wire = masked(0x41, &[]);
        wire.extend(masked(0x80, &[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]));
        let mut scratch = [0u8; 64];
        let r = s.receive_with(&mut wire, &mut scratch, &mut []).unwrap();
        let (used, event) = (r.consumed, r.event);
        assert_eq!(used, 6 + 13, "stopped after the empty fragment");
        let Some(Event::Data { chunk, .. }) = event else {
            panic!("no data: {event:?}")
        };
        assert_eq!(chunk, b"Hello");
        // The rest of the message is its end, from the inflater alone.
        let seen = receive_all(&mut s, &[], &[], 64);
        assert_eq!(seen, vec![Seen::Message(DataKind::Text, Vec::new())]);
    }

    /// Found by the client_receive fuzz target: with a small scratch, the
    /// inflater's output for a frame's last bytes was lost when the next
    /// frame failed, so what was delivered depended on the scratch size.
    #[test]
    fn inflated_output_is_delivered_before_the_next_frame_is_read() {
        for scratch in [1, 2, 3, 64] {
            let (_, mut s, _) = pair(Options::new(), Options::new());
            // 40 times "a" (zlib, Z_BLOCK flush): a literal and a long
            // match, all in the input while a small scratch takes a byte.
            let mut wire = masked(0x41, &[74, 76, 36, 14, 0]);
            // A continuation with RSV1 set: 1002 (RFC 7692 section 6.1).
            wire.extend(masked(0xC0, b"x"));
            let mut space = vec![0u8; scratch];
            let mut got = Vec::new();
            let mut pos = 0;
            let failure = loop {
                let mut rest = wire[pos..].to_vec();
                match s.receive_with(&mut rest, &mut space, &mut []) {
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
            assert_eq!(got, [b'a'; 40], "scratch {scratch}");
        }
    }

    #[test]
    fn plain_receive_refuses_compressed_data_without_losing_it() {
        let (_, mut s, _) = pair(Options::new(), Options::new());
        let mut wire = masked(0xC1, &[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]);
        let original = wire.clone();
        assert_eq!(
            s.receive(&mut wire, &mut []),
            Err(Error::BufferTooSmall { needed: 1 })
        );
        assert_eq!(wire, original, "nothing consumed or unmasked");
        // The same bytes again, with somewhere to inflate to.
        let seen = receive_all(&mut s, &wire, &[], 64);
        assert_eq!(seen, vec![Seen::Message(DataKind::Text, b"Hello".to_vec())]);
    }

    #[test]
    fn send_header_is_refused_while_compressing() {
        let (mut c, mut s, _) = pair(Options::new(), Options::new());
        let mut head = [0u8; MAX_HEADER_LEN];
        for conn in [&mut c, &mut s] {
            assert_eq!(
                conn.send_header(DataKind::Binary, 5, true, &mut head),
                Err(Error::InvalidState)
            );
        }
    }
}

#[cfg(feature = "deflate")]
#[test]
fn inflater_keeps_context_even_when_the_offer_hinted_otherwise() {
    use crate::deflate::{Agreed, Codec, Options};
    // The client's offer says client_no_context_takeover, but (as
    // Autobahn's client does) it keeps its context anyway.
    let mut config = Config::new();
    config.deflate = Some(Options::new());
    let mut s = Connection::server(config, 0);
    let request = b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
        Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
        Sec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover\r\n\r\n";
    let mut out = [0u8; 512];
    assert!(matches!(
        s.accept(request, &[], &mut out),
        Ok(Accept::Accepted { .. })
    ));
    let mut peer = Codec::new(Agreed {
        local_no_context_takeover: false,
        remote_no_context_takeover: false,
        local_window_bits: 15,
        remote_window_bits: 15,
        level: 6,
        memory: Default::default(),
    });
    let mut scratch = [0u8; 64];
    for _ in 0..3 {
        let mut payload = [0u8; 64];
        let n = peer
            .compress(b"same words again", true, &mut payload)
            .unwrap();
        let mut wire = masked(0xC1, &payload[..n]);
        let mut got = Vec::new();
        let mut pos = 0;
        loop {
            let r = s
                .receive_with(&mut wire[pos..], &mut scratch, &mut [])
                .unwrap();
            let (used, event) = (r.consumed, r.event);
            pos += used;
            match event {
                Some(Event::Data { chunk, last, .. }) => {
                    got.extend_from_slice(chunk);
                    if last {
                        break;
                    }
                }
                _ => assert!(used > 0, "stalled"),
            }
        }
        assert_eq!(got, b"same words again");
    }
}

/// Found by the `ffi` fuzz target: a client with a permessage-deflate
/// offer (or a subprotocol) was told a buffer size that still did not hold
/// its request. The size asked for must always suffice, exactly.
#[test]
fn handshake_buffer_too_small_says_the_size_that_fits() {
    #[cfg_attr(not(feature = "deflate"), allow(unused_mut))]
    let mut config = Config::new();
    #[cfg(feature = "deflate")]
    {
        config.deflate = Some(crate::deflate::Options {
            server_max_window_bits: 10,
            client_no_context_takeover: true,
            server_no_context_takeover: true,
            client_max_window_bits: 9,
            ..crate::deflate::Options::new()
        });
    }
    let protocols = ["chat", "superchat"];
    let mut c = Connection::client(config, 0, [5; 32]);
    let mut small = [0u8; 8];
    let Err(Error::BufferTooSmall { needed }) = c.write_request("h", "/", &protocols, &mut small)
    else {
        panic!("an 8-byte buffer held a request")
    };
    let mut req = vec![0u8; needed];
    assert_eq!(c.write_request("h", "/", &protocols, &mut req), Ok(needed));

    let mut s = Connection::server(config, 0);
    let Err(Error::BufferTooSmall { needed }) = s.accept(&req, &["superchat"], &mut small) else {
        panic!("an 8-byte buffer held a 101")
    };
    assert_eq!(s.state(), State::AwaitingRequest);
    let mut resp = vec![0u8; needed];
    let Ok(Accept::Accepted { written, .. }) = s.accept(&req, &["superchat"], &mut resp) else {
        panic!("the size asked for did not hold the 101")
    };
    assert_eq!(written, needed);
    assert!(c.read_response(&resp, &protocols).unwrap().is_some());
}
