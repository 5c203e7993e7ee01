//! A client's `read_response`: the 101 parser (RFC 6455 section 4.2.2 and
//! 4.1's client rules) and the permessage-deflate answer check. The
//! fuzzer writes `@A` where the right Sec-WebSocket-Accept value goes, so
//! it reaches past the key check. Checks: the response length is within
//! the input; success opens the connection with a subprotocol from our
//! list and compression only if we offered it; a failure fails the
//! connection and asks for the transport to close; a prefix of an accepted
//! response is incomplete; an open connection can send.
#![no_main]

use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;
use websock_core::handshake::accept_key;
use websock_core::{Config, Connection, DataKind, Error, State, Transport};
use websock_fuzz::pair::DeflateSetup;

const START: &[u8] = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: @A\r\n";

#[derive(Arbitrary, Debug)]
struct Case {
    entropy: [u8; 32],
    deflate: Option<DeflateSetup>,
    protocols: Vec<String>,
    max_len: u16,
    cut: u16,
    template: bool,
    input: Vec<u8>,
}

/// Replaces every `@A` with `accept`.
fn fill(input: &[u8], accept: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len() + 32);
    let mut i = 0;
    while i < input.len() {
        if input[i..].starts_with(b"@A") {
            out.extend_from_slice(accept);
            i += 2;
        } else {
            out.push(input[i]);
            i += 1;
        }
    }
    out
}

fn client(config: Config, entropy: [u8; 32], protocols: &[&str]) -> (Connection, Vec<u8>) {
    let mut conn = Connection::client(config, 0, entropy);
    let mut request = vec![0u8; 4096];
    let n = match conn.write_request("fuzz.example", "/", protocols, &mut request) {
        Ok(n) => n,
        Err(e) => panic!("write_request: {e:?}"),
    };
    request.truncate(n);
    (conn, request)
}

fuzz_target!(|case: Case| {
    let mut config = Config::new();
    config.deflate = case.deflate.map(DeflateSetup::options);
    config.max_handshake_len = usize::from(case.max_len);
    // Subprotocols must be tokens to be written into a request.
    let protocols: Vec<&str> = case
        .protocols
        .iter()
        .take(4)
        .map(String::as_str)
        .filter(|p| websock_wasm::session::valid_protocol_name(p))
        .collect();
    let (mut conn, request) = client(config, case.entropy, &protocols);
    let text = String::from_utf8(request).expect("request is text");
    let key = text
        .lines()
        .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
        .expect("request has a key");
    let accept = accept_key(key.as_bytes());
    let mut raw = Vec::new();
    if case.template {
        raw.extend_from_slice(START);
    }
    raw.extend_from_slice(&case.input);
    let input = fill(&raw, &accept);

    match conn.read_response(&input, &protocols) {
        Ok(None) => {
            assert_eq!(conn.state(), State::AwaitingResponse);
            assert!(input.len() < config.max_handshake_len);
        }
        Ok(Some(r)) => {
            assert!(r.len <= input.len() && r.len <= config.max_handshake_len);
            assert_eq!(conn.state(), State::Open);
            assert!(r.protocol.is_none_or(|i| i < protocols.len()));
            assert!(
                !conn.compression_active() || (config.deflate.is_some() && r.extensions.is_some())
            );
            assert!(input.starts_with(b"HTTP/1."));
            // A prefix is incomplete.
            let k = usize::from(case.cut) % r.len.max(1);
            let (mut again, _) = client(config, case.entropy, &protocols);
            let p = again.read_response(&input[..k], &protocols);
            assert!(matches!(p, Ok(None)), "prefix {k}: {p:?}");
            // The open connection can send.
            let mut out = vec![0u8; 256];
            let n = conn
                .send(DataKind::Text, b"hello", true, &mut out)
                .expect("send when open");
            assert!(n <= out.len());
        }
        Err(Error::Handshake(_)) => {
            assert_eq!(conn.state(), State::Failed);
            assert_eq!(conn.transport(), Transport::Close);
            let mut more = *b"\x81\x00";
            let r = conn.receive(&mut more, &mut []);
            assert!(
                matches!(&r, Ok(r) if r.consumed == 2 && r.event.is_none()),
                "{r:?}"
            );
        }
        Err(e) => panic!("read_response: {e:?}"),
    }
});
