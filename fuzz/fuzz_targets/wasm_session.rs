//! The wasm package's session (its Rust API, under the JS classes): an
//! upgrade request and then a peer's bytes, at fuzzer-chosen splits, with
//! and without permessage-deflate, every message echoed. Checks: text
//! messages are valid UTF-8; nothing is delivered after a failure; the same
//! bytes fed whole give the same messages and control frames; the client
//! engine at the other end reads the session's output without a protocol
//! error, the echoes byte for byte.
#![no_main]

use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;
use websock_core::deflate::{self, Codec};
use websock_core::{Config, Connection, DataKind, Event, MAX_CONTROL_FRAME};
use websock_fuzz::pair::DeflateSetup;
use websock_fuzz::wire::{self, Piece};
use websock_wasm::session::{Received, Session, Settings};

#[derive(Arbitrary, Debug)]
struct Case {
    server_deflate: Option<DeflateSetup>,
    client_deflate: Option<DeflateSetup>,
    max_message: Option<u16>,
    entropy: [u8; 32],
    /// Request bytes are fed in pieces of these lengths too.
    request_splits: Vec<u8>,
    splits: Vec<u8>,
    echo: bool,
    pieces: Vec<Piece>,
}

/// What the session delivered, owned.
#[derive(Debug, Clone, PartialEq)]
enum Got {
    Text(Vec<u8>),
    Binary(Vec<u8>),
    Ping(Vec<u8>),
    Pong(Vec<u8>),
    Close(u16, String),
    Failed,
}

fn cut<'a>(bytes: &'a [u8], splits: &[u8]) -> Vec<&'a [u8]> {
    let mut at = 0;
    let mut out = Vec::new();
    for &s in splits {
        let end = (at + usize::from(s)).min(bytes.len());
        out.push(&bytes[at..end]);
        at = end;
    }
    out.push(&bytes[at..]);
    out
}

/// Feeds `pieces` to the session, collecting what it delivers and,
/// when `echo`, sending every message back.
fn drive(
    session: &mut Session,
    pieces: &[&[u8]],
    echo: bool,
    got: &mut Vec<Got>,
    output: &mut Vec<u8>,
) {
    for piece in pieces {
        let mut bytes = piece.to_vec();
        for _ in 0..100_000 {
            let mut delivered = Vec::new();
            session
                .receive(std::mem::take(&mut bytes), |r| {
                    if got.last() == Some(&Got::Failed) || delivered.last() == Some(&Got::Failed) {
                        panic!("delivered after a failure: {r:?}");
                    }
                    delivered.push(match r {
                        Received::Text(t) => {
                            assert!(std::str::from_utf8(t).is_ok(), "text that is not UTF-8");
                            Got::Text(t.to_vec())
                        }
                        Received::Binary(b) => Got::Binary(b.to_vec()),
                        Received::Ping(p) => Got::Ping(p.to_vec()),
                        Received::Pong(p) => Got::Pong(p.to_vec()),
                        Received::Close { code, reason } => Got::Close(code, reason.to_owned()),
                        Received::Failed(_) => Got::Failed,
                    })
                })
                .expect("receive after the handshake");
            let more = delivered
                .iter()
                .any(|g| matches!(g, Got::Text(_) | Got::Binary(_)));
            for g in &delivered {
                if echo {
                    let _ = match g {
                        Got::Text(t) => session.send(DataKind::Text, t, true),
                        Got::Binary(b) => session.send(DataKind::Binary, b, true),
                        _ => Ok(()),
                    };
                }
            }
            got.extend(delivered);
            output.extend_from_slice(session.output());
            session.clear_output();
            if !more {
                break;
            }
        }
    }
}

fuzz_target!(|case: Case| {
    let mut server_config = Config::new();
    server_config.deflate = case.server_deflate.map(DeflateSetup::options);
    if let Some(m) = case.max_message {
        server_config.max_message_size = u64::from(m);
    }
    let mut client_config = Config::new();
    client_config.deflate = case.client_deflate.map(DeflateSetup::options);

    // A real client's request, fed at splits.
    let open = |splits: &[u8]| {
        let mut client = Connection::client(client_config, 0, case.entropy);
        let mut request = vec![0u8; 1024];
        let n = client
            .write_request("fuzz.example", "/", &[], &mut request)
            .expect("request");
        request.truncate(n);
        let settings = Settings {
            config: server_config,
            protocols: Vec::new(),
        };
        let mut session = Session::server(settings, 0);
        let mut accepted = None;
        for piece in cut(&request, splits) {
            if accepted.is_none() {
                accepted = session.accept(piece).expect("a real client's request");
            }
        }
        let accepted = accepted.expect("request complete");
        let response = session.output().to_vec();
        session.clear_output();
        let opened = client
            .read_response(&response, &[])
            .expect("the 101")
            .expect("complete");
        assert_eq!(opened.len, response.len());
        assert_eq!(accepted.extensions.is_some(), session.compression_active());
        let agreed = opened.extensions.and_then(|v| {
            client_config
                .deflate
                .map(|o| deflate::accept_response(v, &o).expect("agreed"))
        });
        (session, client, agreed)
    };

    let (mut session, client, agreed) = open(&case.request_splits);
    let mut codec = agreed.map(Codec::new);
    let bytes = wire::encode(&case.pieces, true, codec.as_mut());
    let mut got = Vec::new();
    let mut output = Vec::new();
    drive(
        &mut session,
        &cut(&bytes, &case.splits),
        case.echo,
        &mut got,
        &mut output,
    );

    let (mut whole, _, _) = open(&[]);
    let mut reference = Vec::new();
    drive(
        &mut whole,
        &[&bytes],
        false,
        &mut reference,
        &mut Vec::new(),
    );
    assert_eq!(got, reference, "deliveries differ between splits");

    // The client at the other end reads all of it.
    let mut client = client;
    let mut input = output;
    let mut scratch = vec![0u8; 1 << 16];
    let mut pos = 0;
    let mut echoed: Vec<(DataKind, Vec<u8>)> = Vec::new();
    let mut current: Vec<u8> = Vec::new();
    for _ in 0..1_000_000 {
        let mut out = [0u8; MAX_CONTROL_FRAME];
        let r = client
            .receive_with(&mut input[pos..], &mut scratch, &mut out)
            .expect("the client reads the session's output");
        let (used, event) = (r.consumed, r.event);
        pos += used;
        let none = event.is_none();
        if let Some(Event::Data { kind, chunk, last }) = event {
            current.extend_from_slice(chunk);
            if last {
                echoed.push((kind, std::mem::take(&mut current)));
            }
        }
        client.poll_output(&mut out);
        if none && (pos == input.len() || used == 0) {
            break;
        }
    }
    if case.echo {
        let sent: Vec<(DataKind, Vec<u8>)> = got
            .iter()
            .filter_map(|g| match g {
                Got::Text(t) => Some((DataKind::Text, t.clone())),
                Got::Binary(b) => Some((DataKind::Binary, b.clone())),
                _ => None,
            })
            .collect();
        assert!(sent.starts_with(&echoed), "echoes differ");
    }
});
