//! A server's `accept`: the upgrade request parser (RFC 6455 section
//! 4.2.1), subprotocol and extension negotiation, and the response writer.
//! Checks: the request length is within the input; a 101 parses back as
//! the client would (same key, same subprotocol) and its permessage-deflate
//! answer is one a client accepts; a refusal is an HTTP error with the
//! error's own status; a prefix of an accepted request is incomplete; too
//! small an output buffer changes nothing and says how much is needed.
#![no_main]

use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;
use websock_core::deflate::{self, Options};
use websock_core::handshake::{self, HandshakeError};
use websock_core::{Accept, Config, Connection, Error, State, Transport};
use websock_fuzz::pair::DeflateSetup;

const START: &[u8] = b"GET /chat HTTP/1.1\r\nHost: fuzz.example\r\nUpgrade: websocket\r\n\
Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n";

#[derive(Arbitrary, Debug)]
struct Case {
    deflate: Option<DeflateSetup>,
    protocols: Vec<String>,
    max_len: u16,
    out_len: u16,
    cut: u16,
    /// Prefix the input with the start of a valid request.
    template: bool,
    input: Vec<u8>,
}

/// The status code of an HTTP/1.1 response's status line.
fn status_of(response: &[u8]) -> Option<u16> {
    let text = std::str::from_utf8(response.get(..12)?).ok()?;
    text.strip_prefix("HTTP/1.1 ")?.parse().ok()
}

fuzz_target!(|case: Case| {
    let mut config = Config::new();
    config.deflate = case.deflate.map(DeflateSetup::options);
    config.max_handshake_len = usize::from(case.max_len);
    let protocols: Vec<&str> = case.protocols.iter().take(4).map(String::as_str).collect();
    let mut input = Vec::new();
    if case.template {
        input.extend_from_slice(START);
    }
    input.extend_from_slice(&case.input);

    let mut conn = Connection::server(config, 0);
    let mut out = vec![0u8; usize::from(case.out_len)];
    let mut result = conn.accept(&input, &protocols, &mut out);
    if let Err(Error::BufferTooSmall { needed }) = result {
        assert!(needed > out.len());
        assert_eq!(conn.state(), State::AwaitingRequest);
        out = vec![0u8; needed];
        result = conn.accept(&input, &protocols, &mut out);
        assert!(matches!(result, Ok(Accept::Accepted { .. })), "{result:?}");
    }
    match result {
        Ok(Accept::Incomplete) => {
            assert!(input.len() < config.max_handshake_len);
            assert_eq!(conn.state(), State::AwaitingRequest);
            assert_eq!(conn.transport(), Transport::Open);
        }
        Ok(Accept::Accepted { request, written }) => {
            assert!(request.len <= input.len() && request.len <= config.max_handshake_len);
            assert!(written <= out.len());
            assert_eq!(conn.state(), State::Open);
            assert!(request.protocol.is_none_or(|i| i < protocols.len()));
            let path = request.path;
            assert!(input[..request.len].windows(path.len()).any(|w| w == path));
            // The client's view of the 101.
            let response =
                handshake::parse_response(&out[..written], &request.key, &protocols, true, 1 << 16)
                    .expect("our 101 parses")
                    .expect("our 101 is complete");
            assert_eq!(response.len, written);
            assert_eq!(response.protocol, request.protocol);
            assert_eq!(response.extensions.is_some(), conn.compression_active());
            if let Some(value) = response.extensions {
                let client = deflate::accept_response(value, &Options::new());
                assert!(
                    client.is_ok(),
                    "a client refuses our answer {:?}",
                    String::from_utf8_lossy(value)
                );
            }
            // Any prefix of an accepted request is incomplete.
            let k = usize::from(case.cut) % request.len.max(1);
            let mut again = Connection::server(config, 0);
            let r = again.accept(&input[..k], &protocols, &mut out);
            assert!(matches!(r, Ok(Accept::Incomplete)), "prefix {k}: {r:?}");
        }
        Ok(Accept::Rejected { error, written }) => {
            assert!(written <= out.len());
            assert_eq!(conn.state(), State::Failed);
            assert_eq!(conn.transport(), Transport::Close);
            if written > 0 {
                assert_eq!(status_of(&out[..written]), Some(error.http_status().0));
            }
            assert!(!matches!(error, HandshakeError::Status(_)));
        }
        Err(e) => panic!("accept: {e:?}"),
    }
});
