//! Sessions wired together in memory: what the JS classes rely on, without
//! JavaScript.

use websock_core::{HandshakeError, Violation};

use super::*;

/// What a test sees of one received event, owned.
#[derive(Debug, PartialEq, Clone)]
enum Seen {
    Text(String),
    Binary(Vec<u8>),
    Ping(Vec<u8>),
    Pong(Vec<u8>),
    Close(u16, String),
    Failed(Error),
}

/// One `receive` call's events.
fn receive_once(session: &mut Session, bytes: &[u8]) -> Vec<Seen> {
    let mut seen = Vec::new();
    session
        .receive(bytes.to_vec(), |r| seen.push(seen_of(r)))
        .unwrap();
    seen
}

fn seen_of(r: Received<'_>) -> Seen {
    match r {
        Received::Text(t) => Seen::Text(String::from_utf8(t.to_vec()).unwrap()),
        Received::Binary(b) => Seen::Binary(b.to_vec()),
        Received::Ping(p) => Seen::Ping(p.to_vec()),
        Received::Pong(p) => Seen::Pong(p.to_vec()),
        Received::Close { code, reason } => Seen::Close(code, reason.to_owned()),
        Received::Failed(e) => Seen::Failed(e),
    }
}

/// [`collect`] through `receive_in_place` and one reused staging buffer,
/// as the JS host drives it: the buffer is overwritten after every call,
/// as the host's next read would.
fn collect_in_place(session: &mut Session, bytes: &[u8], staging: &mut Vec<u8>) -> Vec<Seen> {
    staging.clear();
    staging.extend_from_slice(bytes);
    let mut len = staging.len();
    let mut seen = Vec::new();
    for _ in 0..1000 {
        let mut got = Vec::new();
        session
            .receive_in_place(&mut staging[..len], |r| got.push(seen_of(r)))
            .unwrap();
        staging.fill(0xee);
        len = 0;
        if got.is_empty() {
            return seen;
        }
        seen.extend(got);
    }
    panic!("receive_in_place never ran dry")
}

/// Everything `bytes` carry: `receive` until it has nothing more to say.
fn collect(session: &mut Session, bytes: &[u8]) -> Vec<Seen> {
    let mut seen = receive_once(session, bytes);
    for _ in 0..1000 {
        let more = receive_once(session, &[]);
        if more.is_empty() {
            return seen;
        }
        seen.extend(more);
    }
    panic!("receive never ran dry")
}

fn take(session: &mut Session) -> Vec<u8> {
    let out = session.output().to_vec();
    session.clear_output();
    out
}

fn settings(protocols: &[&str]) -> Settings {
    Settings {
        config: Config::new(),
        protocols: protocols.iter().map(|p| p.to_string()).collect(),
    }
}

/// A client and a server after the opening handshake.
fn pair() -> (Session, Session) {
    let mut client = Session::client(settings(&["b", "a"]), 0, [5; 32]);
    let mut server = Session::server(settings(&["a", "b"]), 0);
    client.write_request("localhost:9", "/chat").unwrap();
    let request = take(&mut client);
    let accepted = server.accept(&request).unwrap().unwrap();
    assert_eq!(accepted.path, "/chat");
    assert_eq!(accepted.host, "localhost:9");
    assert_eq!(accepted.protocol.as_deref(), Some("a"));
    let response = take(&mut server);
    assert!(response.starts_with(b"HTTP/1.1 101"));
    let opened = client.read_response(&response).unwrap().unwrap();
    assert_eq!(opened.protocol.as_deref(), Some("a"));
    assert_eq!((client.state(), server.state()), (State::Open, State::Open));
    (client, server)
}

#[test]
fn messages_cross_both_ways() {
    let (mut client, mut server) = pair();
    client
        .send(DataKind::Text, "héllo".as_bytes(), true)
        .unwrap();
    client.send(DataKind::Binary, &[0, 1, 2], true).unwrap();
    let wire = take(&mut client);
    assert_eq!(
        collect(&mut server, &wire),
        [Seen::Text("héllo".into()), Seen::Binary(vec![0, 1, 2])]
    );
    server.send(DataKind::Text, b"back", true).unwrap();
    assert_eq!(
        collect(&mut client, &take(&mut server)),
        [Seen::Text("back".into())]
    );
}

#[test]
fn fragments_are_reassembled_whatever_the_cuts() {
    let (mut client, _) = pair();
    client
        .send(DataKind::Text, "frag".as_bytes(), false)
        .unwrap();
    client.ping(b"mid").unwrap();
    client
        .send(DataKind::Text, "ment€".as_bytes(), false)
        .unwrap();
    client.send(DataKind::Text, b"", true).unwrap();
    let wire = take(&mut client);
    for step in [1, 2, 3, 7, wire.len()] {
        let (_, mut server) = pair();
        let mut seen = Vec::new();
        for piece in wire.chunks(step) {
            seen.extend(collect(&mut server, piece));
        }
        assert_eq!(
            seen,
            [Seen::Ping(b"mid".to_vec()), Seen::Text("fragment€".into())],
            "fed {step} bytes at a time"
        );
        assert_eq!(take(&mut server), [0x8a, 3, b'm', b'i', b'd'], "the pong");
    }
}

#[test]
fn frames_that_came_with_the_handshake_wait_for_receive() {
    let mut client = Session::client(settings(&[]), 0, [1; 32]);
    let mut server = Session::server(settings(&[]), 0);
    client.write_request("h", "/").unwrap();
    let mut request = take(&mut client);
    // The client may not send before the 101, but a peer can; the server
    // must keep those bytes, not drop them.
    let mut early = pair().0;
    early.send(DataKind::Text, b"early", true).unwrap();
    request.extend_from_slice(&take(&mut early));
    assert!(server.accept(&request[..10]).unwrap().is_none());
    assert!(server.accept(&request[10..]).unwrap().is_some());
    assert_eq!(collect(&mut server, &[]), [Seen::Text("early".into())]);
}

#[test]
fn garbage_fails_with_1002_and_keeps_earlier_events() {
    let (mut client, mut server) = pair();
    client.send(DataKind::Text, b"ok", true).unwrap();
    let mut wire = take(&mut client);
    // Reserved opcode 0x3, masked, then more bytes the engine must ignore.
    wire.extend_from_slice(&[0x83, 0x80, 1, 2, 3, 4, 0xff, 0xff, 0xff]);
    let seen = collect(&mut server, &wire);
    assert_eq!(
        seen,
        [
            Seen::Text("ok".into()),
            Seen::Failed(Error::Protocol(Violation::ReservedOpcode))
        ]
    );
    let out = take(&mut server);
    assert_eq!(&out[..4], &[0x88, out[1], 0x03, 0xea], "close 1002 first");
    assert!(server.should_close());
    assert_eq!(server.state(), State::Failed);
    // Later input is ignored, not an error, and never loops.
    assert_eq!(collect(&mut server, &[0xff; 64]), []);
    assert!(take(&mut server).is_empty());
}

#[test]
fn receive_stops_after_each_message_so_replies_precede_the_close_reply() {
    let (mut client, mut server) = pair();
    client.send(DataKind::Text, b"one", true).unwrap();
    client.ping(b"p").unwrap();
    client.send(DataKind::Binary, b"two", true).unwrap();
    client.close(1000, "").unwrap();
    let wire = take(&mut client);
    assert_eq!(receive_once(&mut server, &wire), [Seen::Text("one".into())]);
    // Still open: the echo goes out before the engine reads the close.
    server.send(DataKind::Text, b"one", true).unwrap();
    assert!(server.has_buffered_input());
    assert_eq!(
        receive_once(&mut server, &[]),
        [Seen::Ping(b"p".to_vec()), Seen::Binary(b"two".to_vec())]
    );
    server.send(DataKind::Binary, b"two", true).unwrap();
    assert_eq!(
        receive_once(&mut server, &[]),
        [Seen::Close(1000, String::new())]
    );
    assert!(!server.has_buffered_input());
    assert_eq!(receive_once(&mut server, &[]), []);
    let seen = collect(&mut client, &take(&mut server));
    assert_eq!(
        seen,
        [
            Seen::Text("one".into()),
            Seen::Pong(b"p".to_vec()),
            Seen::Binary(b"two".to_vec()),
            Seen::Close(1000, String::new())
        ]
    );
}

#[test]
fn in_place_receive_sees_what_receive_sees_whatever_the_cuts() {
    let (mut client, _) = pair();
    client.send(DataKind::Text, b"frag", false).unwrap();
    client.ping(b"mid").unwrap();
    client
        .send(DataKind::Text, "ment€".as_bytes(), true)
        .unwrap();
    client.send(DataKind::Binary, &[7; 300], true).unwrap();
    client.close(1000, "bye").unwrap();
    let wire = take(&mut client);
    for step in [1, 2, 5, 13, 200, wire.len()] {
        let (_, mut copied) = pair();
        let (_, mut in_place) = pair();
        let mut staging = Vec::new();
        let (mut a, mut b) = (Vec::new(), Vec::new());
        for piece in wire.chunks(step) {
            a.extend(collect(&mut copied, piece));
            b.extend(collect_in_place(&mut in_place, piece, &mut staging));
        }
        assert_eq!(
            b,
            [
                Seen::Ping(b"mid".to_vec()),
                Seen::Text("fragment€".into()),
                Seen::Binary(vec![7; 300]),
                Seen::Close(1000, "bye".into())
            ],
            "fed {step} bytes at a time"
        );
        assert_eq!(a, b, "fed {step} bytes at a time");
        assert_eq!(
            take(&mut copied),
            take(&mut in_place),
            "pong and close reply"
        );
    }
}

#[test]
fn in_place_receive_keeps_what_follows_a_message_for_the_next_call() {
    let (mut client, mut server) = pair();
    client.send(DataKind::Text, b"one", true).unwrap();
    client.send(DataKind::Binary, b"two", true).unwrap();
    let wire = take(&mut client);
    let mut staging = wire.clone();
    let mut seen = Vec::new();
    server
        .receive_in_place(&mut staging, |r| seen.push(seen_of(r)))
        .unwrap();
    assert_eq!(seen, [Seen::Text("one".into())]);
    assert!(server.has_buffered_input());
    staging.fill(0);
    server
        .receive_in_place(&mut [], |r| seen.push(seen_of(r)))
        .unwrap();
    assert_eq!(seen[1..], [Seen::Binary(b"two".to_vec())]);
    assert!(!server.has_buffered_input());
}

#[test]
fn swapped_output_holds_the_bytes_and_the_session_refills_the_spare() {
    let (_, mut server) = pair();
    let mut taken = Output::new();
    taken.extend(&[1, 2, 3]);
    server.send(DataKind::Binary, b"x", true).unwrap();
    server.swap_output(&mut taken);
    assert_eq!(taken.as_slice(), [0x82, 1, b'x']);
    assert!(server.output().is_empty());
    server.send(DataKind::Binary, b"y", true).unwrap();
    server.swap_output(&mut taken);
    assert_eq!(taken.as_slice(), [0x82, 1, b'y']);
    server.swap_output(&mut taken);
    assert!(taken.is_empty());
}

#[test]
fn new_bytes_join_the_leftovers() {
    let (mut client, mut server) = pair();
    for word in ["a", "b", "c"] {
        client.send(DataKind::Text, word.as_bytes(), true).unwrap();
    }
    let wire = take(&mut client);
    let (first, rest) = wire.split_at(wire.len() - 3);
    assert_eq!(receive_once(&mut server, first), [Seen::Text("a".into())]);
    // Bytes arrive while "b" and part of "c" still wait.
    assert_eq!(
        collect(&mut server, rest),
        [Seen::Text("b".into()), Seen::Text("c".into())]
    );
}

#[test]
fn oversized_messages_fail_with_1009() {
    let mut config = Config::new();
    config.max_message_size = 4;
    let mut client = Session::client(settings(&[]), 0, [2; 32]);
    let mut server = Session::server(
        Settings {
            config,
            protocols: Vec::new(),
        },
        0,
    );
    client.write_request("h", "/").unwrap();
    server.accept(&take(&mut client)).unwrap().unwrap();
    client.read_response(&take(&mut server)).unwrap().unwrap();
    client.send(DataKind::Binary, b"1234", true).unwrap();
    client.send(DataKind::Binary, b"12", false).unwrap();
    client.send(DataKind::Binary, b"345", true).unwrap();
    let seen = collect(&mut server, &take(&mut client));
    assert_eq!(
        seen,
        [
            Seen::Binary(b"1234".to_vec()),
            Seen::Failed(Error::Protocol(Violation::MessageTooBig))
        ]
    );
    let out = take(&mut server);
    assert_eq!(&out[2..4], &1009u16.to_be_bytes());
}

#[test]
fn closing_handshake_then_the_server_drops_tcp() {
    let (mut client, mut server) = pair();
    client.close(1000, "bye").unwrap();
    assert_eq!(
        collect(&mut server, &take(&mut client)),
        [Seen::Close(1000, "bye".into())]
    );
    let reply = take(&mut server);
    assert!(server.should_close());
    assert_eq!(
        collect(&mut client, &reply),
        [Seen::Close(1000, String::new())]
    );
    // The client waits for the server to close TCP, up to the timeout.
    assert!(!client.should_close());
    let deadline = client.deadline().unwrap();
    client.tick(deadline);
    assert!(client.should_close());
    let closure = server.transport_closed();
    assert!(closure.clean);
    assert_eq!(closure.code.0, 1000);
}

#[test]
fn pings_get_pongs_even_when_they_pile_up() {
    let (mut client, mut server) = pair();
    for p in [b"1", b"2", b"3"] {
        client.ping(p).unwrap();
    }
    let seen = collect(&mut server, &take(&mut client));
    assert_eq!(
        seen,
        [
            Seen::Ping(b"1".to_vec()),
            Seen::Ping(b"2".to_vec()),
            Seen::Ping(b"3".to_vec())
        ]
    );
    assert_eq!(
        collect(&mut client, &take(&mut server)),
        [
            Seen::Pong(b"1".to_vec()),
            Seen::Pong(b"2".to_vec()),
            Seen::Pong(b"3".to_vec())
        ]
    );
}

#[test]
fn bad_requests_get_an_http_error() {
    let mut server = Session::server(settings(&[]), 0);
    let request = b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\
        Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
        Sec-WebSocket-Version: 8\r\n\r\n";
    assert_eq!(
        server.accept(request),
        Err(Error::Handshake(HandshakeError::UnsupportedVersion))
    );
    let out = take(&mut server);
    assert!(
        out.starts_with(b"HTTP/1.1 426"),
        "{}",
        String::from_utf8_lossy(&out)
    );
    assert!(server.should_close());
    assert_eq!(server.accept(request), Err(Error::InvalidState));
}

#[test]
fn a_refused_response_fails_the_client() {
    let mut client = Session::client(settings(&[]), 0, [3; 32]);
    client.write_request("h", "/").unwrap();
    let refusal = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
    assert_eq!(
        client.read_response(refusal),
        Err(Error::Handshake(HandshakeError::Status(404)))
    );
    assert!(client.should_close());
}

#[test]
fn calls_out_of_state_are_errors_that_write_nothing() {
    let mut server = Session::server(settings(&[]), 0);
    assert_eq!(server.receive(vec![1, 2], |_| {}), Err(Error::InvalidState));
    assert_eq!(
        server.send(DataKind::Text, b"x", true),
        Err(Error::InvalidState)
    );
    let (mut client, _) = pair();
    assert_eq!(client.ping(&[0; 126]), Err(Error::ControlTooLong));
    assert_eq!(client.close(1005, ""), Err(Error::InvalidCloseCode));
    assert!(client.output().is_empty());
}

#[test]
fn the_handshake_times_out() {
    let mut server = Session::server(settings(&[]), 100);
    let deadline = server.deadline().unwrap();
    server.tick(deadline - 1);
    assert!(!server.should_close());
    server.tick(deadline);
    assert!(server.should_close());
}

#[test]
fn protocol_names_must_be_tokens() {
    assert!(valid_protocol_name("chat.v2+json"));
    assert!(!valid_protocol_name(""));
    assert!(!valid_protocol_name("a b"));
    assert!(!valid_protocol_name("x\r\nSet-Cookie: y"));
}

/// permessage-deflate through sessions: what the engine negotiates and
/// inflates, as the JS classes see it.
#[cfg(feature = "deflate")]
mod deflate {
    use websock_core::deflate::Options;

    use super::*;

    fn with_deflate(options: Option<Options>, max_message_size: u64) -> Settings {
        let mut config = Config::new();
        config.deflate = options;
        config.max_message_size = max_message_size;
        Settings {
            config,
            protocols: Vec::new(),
        }
    }

    /// A client and a server after the handshake, with these offers.
    fn pair_with(client: Option<Options>, server: Option<Options>, max: u64) -> (Session, Session) {
        let mut c = Session::client(with_deflate(client, 64 << 20), 0, [9; 32]);
        let mut s = Session::server(with_deflate(server, max), 0);
        c.write_request("h", "/").unwrap();
        let accepted = s.accept(&take(&mut c)).unwrap().unwrap();
        let opened = c.read_response(&take(&mut s)).unwrap().unwrap();
        assert_eq!(accepted.extensions, opened.extensions);
        assert_eq!(s.extensions(), c.extensions());
        (c, s)
    }

    /// Bytes that compress poorly: xorshift output.
    fn noise(len: usize) -> Vec<u8> {
        let mut x = 0x1234_5678u32;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            })
            .collect()
    }

    #[test]
    fn default_offer_is_accepted_and_reported() {
        let (client, server) = pair_with(Some(Options::new()), Some(Options::new()), 1 << 20);
        assert!(client.compression_active() && server.compression_active());
        assert_eq!(server.extensions(), Some("permessage-deflate"));
    }

    #[test]
    fn either_side_can_go_without() {
        for (c, s) in [(None, Some(Options::new())), (Some(Options::new()), None)] {
            let (mut client, mut server) = pair_with(c, s, 1 << 20);
            assert!(!client.compression_active() && !server.compression_active());
            assert_eq!(server.extensions(), None);
            client.send(DataKind::Text, b"plain", true).unwrap();
            let wire = take(&mut client);
            assert_eq!(wire[0], 0x81, "no RSV1");
            assert_eq!(collect(&mut server, &wire), [Seen::Text("plain".into())]);
        }
    }

    #[test]
    fn a_smaller_server_window_is_asked_for_and_granted() {
        let ask = Options {
            server_max_window_bits: 9,
            client_no_context_takeover: true,
            ..Options::new()
        };
        let (mut client, mut server) = pair_with(Some(ask), Some(Options::new()), 1 << 20);
        // The client's hint that it resets is its own business: the
        // response need not repeat it.
        assert_eq!(
            server.extensions(),
            Some("permessage-deflate; server_max_window_bits=9")
        );
        server.send(DataKind::Text, b"fine", true).unwrap();
        assert_eq!(
            collect(&mut client, &take(&mut server)),
            [Seen::Text("fine".into())]
        );
    }

    #[test]
    fn a_client_that_keeps_its_context_despite_its_hint_is_understood() {
        // RFC 7692 section 7.1.1.2 makes an offer's
        // client_no_context_takeover a promise to reset; Autobahn-style
        // clients (kosoku's default offer has it) read it as "I would reset
        // if asked" and, not asked, keep their context. Our client keeps
        // its context; the request it sends is given that hint on the way.
        let mut client = Session::client(with_deflate(Some(Options::new()), 1 << 20), 0, [4; 32]);
        let mut server = Session::server(with_deflate(Some(Options::new()), 1 << 20), 0);
        client.write_request("h", "/").unwrap();
        let request = String::from_utf8(take(&mut client)).unwrap().replace(
            "permessage-deflate; client_max_window_bits",
            "permessage-deflate; client_no_context_takeover; client_max_window_bits",
        );
        assert!(request.contains("client_no_context_takeover"));
        server.accept(request.as_bytes()).unwrap().unwrap();
        client.read_response(&take(&mut server)).unwrap().unwrap();
        assert_eq!(client.extensions(), Some("permessage-deflate"));
        let words = "context kept from one message to the next, ".repeat(4);
        client.send(DataKind::Text, words.as_bytes(), true).unwrap();
        let first = take(&mut client);
        client.send(DataKind::Text, words.as_bytes(), true).unwrap();
        let second = take(&mut client);
        assert!(
            second.len() * 2 < first.len(),
            "the second refers back: {} then {} bytes",
            first.len(),
            second.len()
        );
        assert_eq!(
            collect(&mut server, &[first, second].concat()),
            [Seen::Text(words.clone()), Seen::Text(words)]
        );
    }

    #[test]
    fn compressed_messages_cross_in_place_whatever_the_cuts() {
        let text = "all work and no play makes jack a dull boy. ".repeat(3000);
        let binary = noise(100_000);
        let (mut client, _) = pair_with(Some(Options::new()), Some(Options::new()), 1 << 20);
        client.send(DataKind::Text, text.as_bytes(), true).unwrap();
        client.send(DataKind::Binary, &binary, true).unwrap();
        let wire = take(&mut client);
        for step in [1000, 65536, wire.len()] {
            let (_, mut server) = pair_with(Some(Options::new()), Some(Options::new()), 1 << 20);
            let mut staging = Vec::new();
            let mut seen = Vec::new();
            for piece in wire.chunks(step) {
                seen.extend(collect_in_place(&mut server, piece, &mut staging));
            }
            assert_eq!(
                seen,
                [Seen::Text(text.clone()), Seen::Binary(binary.clone())],
                "fed {step} bytes at a time"
            );
        }
    }

    #[test]
    fn compressed_messages_cross_whatever_the_cuts() {
        let text = "all work and no play makes jack a dull boy. ".repeat(3000);
        let binary = noise(100_000); // larger than the scratch buffer
        let (mut client, _) = pair_with(Some(Options::new()), Some(Options::new()), 1 << 20);
        client.send(DataKind::Text, text.as_bytes(), true).unwrap();
        client
            .send(DataKind::Binary, &binary[..60_000], false)
            .unwrap();
        client.ping(b"mid").unwrap();
        client
            .send(DataKind::Binary, &binary[60_000..], true)
            .unwrap();
        client.send(DataKind::Text, b"", true).unwrap();
        let wire = take(&mut client);
        assert_eq!(wire[0], 0xc1, "text, FIN and RSV1");
        assert!(
            wire.len() < binary.len() + text.len() / 10,
            "{}",
            wire.len()
        );
        for step in [1, 3, 4096, wire.len()] {
            let (_, mut server) = pair_with(Some(Options::new()), Some(Options::new()), 1 << 20);
            // The same client bytes only inflate on the server they were
            // made for if both sides start afresh: they do, per pair.
            let mut seen = Vec::new();
            for piece in wire.chunks(step) {
                seen.extend(collect(&mut server, piece));
            }
            assert_eq!(
                seen,
                [
                    Seen::Text(text.clone()),
                    Seen::Ping(b"mid".to_vec()),
                    Seen::Binary(binary.clone()),
                    Seen::Text(String::new())
                ],
                "fed {step} bytes at a time"
            );
        }
    }

    #[test]
    fn echoes_are_compressed_and_precede_the_close_reply() {
        let (mut client, mut server) =
            pair_with(Some(Options::new()), Some(Options::new()), 1 << 20);
        let words = "echo echo echo echo echo echo echo echo";
        client.send(DataKind::Text, words.as_bytes(), true).unwrap();
        client.close(1000, "").unwrap();
        let wire = take(&mut client);
        assert_eq!(receive_once(&mut server, &wire), [Seen::Text(words.into())]);
        server.send(DataKind::Text, words.as_bytes(), true).unwrap();
        assert_eq!(
            collect(&mut server, &[]),
            [Seen::Close(1000, String::new())]
        );
        let back = take(&mut server);
        assert_eq!(back[0], 0xc1, "compressed echo first");
        assert!((back[1] as usize) < words.len());
        assert_eq!(
            collect(&mut client, &back),
            [Seen::Text(words.into()), Seen::Close(1000, String::new())]
        );
        assert!(server.should_close());
    }

    #[test]
    fn a_decompression_bomb_fails_with_1009() {
        let (mut client, mut server) =
            pair_with(Some(Options::new()), Some(Options::new()), 10_000);
        client
            .send(DataKind::Binary, &vec![0u8; 1 << 20], true)
            .unwrap();
        let wire = take(&mut client);
        assert!(wire.len() < 10_000, "small on the wire: {}", wire.len());
        let seen = collect(&mut server, &wire);
        assert_eq!(
            seen,
            [Seen::Failed(Error::Protocol(Violation::MessageTooBig))]
        );
        let out = take(&mut server);
        assert_eq!(&out[2..4], &1009u16.to_be_bytes());
        assert!(server.should_close());
    }

    #[test]
    fn corrupt_compressed_data_fails_with_1007() {
        let (_, mut server) = pair_with(Some(Options::new()), Some(Options::new()), 1 << 20);
        // RSV1 text frame, masked with a zero key, holding an invalid
        // deflate block type (0b11).
        let wire = [0xc1, 0x82, 0, 0, 0, 0, 0x07, 0x00];
        assert_eq!(
            collect(&mut server, &wire),
            [Seen::Failed(Error::Protocol(Violation::Compression))]
        );
        assert_eq!(&take(&mut server)[2..4], &1007u16.to_be_bytes());
    }
}
