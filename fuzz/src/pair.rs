//! A client and a server engine, opened by a real handshake between them.

use libfuzzer_sys::arbitrary::{self, Arbitrary};
use websock_core::deflate::{self, Agreed, Options};
use websock_core::{Accept, Config, Connection};

/// Fuzzer-chosen permessage-deflate options, brought into their valid range.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub struct DeflateSetup {
    level: u8,
    server_no_context_takeover: bool,
    client_no_context_takeover: bool,
    server_max_window_bits: u8,
    client_max_window_bits: u8,
}

impl DeflateSetup {
    /// The engine's options.
    pub fn options(self) -> Options {
        Options {
            level: self.level % 10,
            server_no_context_takeover: self.server_no_context_takeover,
            client_no_context_takeover: self.client_no_context_takeover,
            server_max_window_bits: 9 + self.server_max_window_bits % 7,
            client_max_window_bits: 9 + self.client_max_window_bits % 7,
            ..Options::new()
        }
    }
}

/// Both ends of one connection, open.
pub struct Pair {
    /// The server end.
    pub server: Connection,
    /// The client end.
    pub client: Connection,
    /// What the server agreed to, if permessage-deflate is in force.
    pub server_agreed: Option<Agreed>,
    /// What the client agreed to.
    pub client_agreed: Option<Agreed>,
}

/// Opens a pair through a real handshake; panics if either end refuses
/// what the other wrote (a bug: each end writes what the other accepts).
pub fn open(server_config: Config, client_config: Config, entropy: [u8; 32]) -> Pair {
    let mut client = Connection::client(client_config, 0, entropy);
    let mut request = [0u8; 1024];
    let n = client
        .write_request("fuzz.example", "/", &[], &mut request)
        .expect("request fits");
    let mut server = Connection::server(server_config, 0);
    let mut response = [0u8; 1024];
    let (written, server_agreed) = match server.accept(&request[..n], &[], &mut response) {
        Ok(Accept::Accepted {
            request: r,
            written,
        }) => {
            assert_eq!(r.len, n);
            let agreed = server_config
                .deflate
                .and_then(|o| deflate::negotiate(r.extensions.iter(), &o))
                .map(|(a, _)| a);
            (written, agreed)
        }
        other => panic!("server refused the client's request: {other:?}"),
    };
    let opened = client
        .read_response(&response[..written], &[])
        .expect("client accepts the server's 101")
        .expect("101 complete");
    assert_eq!(opened.len, written);
    let client_agreed = match (opened.extensions, client_config.deflate) {
        (Some(v), Some(o)) => Some(deflate::accept_response(v, &o).expect("agreed")),
        _ => None,
    };
    assert_eq!(server.compression_active(), server_agreed.is_some());
    assert_eq!(client.compression_active(), client_agreed.is_some());
    assert_eq!(server_agreed.is_some(), client_agreed.is_some());
    if let (Some(s), Some(c)) = (server_agreed, client_agreed) {
        // Each end's inflater must take the other's compressor's window.
        assert!(c.local_window_bits <= s.remote_window_bits);
        assert!(s.local_window_bits <= c.remote_window_bits);
    }
    Pair {
        server,
        client,
        server_agreed,
        client_agreed,
    }
}
