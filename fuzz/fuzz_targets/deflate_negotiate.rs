//! permessage-deflate negotiation (RFC 7692 section 7.1): the server's
//! parser of offers, the client's parser of answers, and the codecs they
//! configure. Checks: agreed windows are 9 to 15 and levels at most 9; any
//! answer the server writes is accepted by a client with default options,
//! with each end's inflater window at least the other's compressor's; a
//! client's own offer is always answered and its answer accepted; the two
//! codecs then carry a message both ways byte for byte; whatever answer a
//! client accepts stays within what it asked for.
#![no_main]

use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;
use websock_core::deflate::{self, Agreed, Codec, Options, MAX_HEADER_VALUE};
use websock_fuzz::pair::DeflateSetup;

#[derive(Arbitrary, Debug)]
struct Case {
    server: DeflateSetup,
    client: DeflateSetup,
    offers: Vec<Vec<u8>>,
    answer: Vec<u8>,
    message: Vec<u8>,
    fragments: u8,
}

fn in_range(a: &Agreed) {
    assert!((9..=15).contains(&a.local_window_bits), "{a:?}");
    assert!((9..=15).contains(&a.remote_window_bits), "{a:?}");
    assert!(a.level <= 9);
}

/// The client's view must mirror the server's.
fn mirrored(server: &Agreed, client: &Agreed) {
    assert_eq!(
        client.remote_window_bits, server.local_window_bits,
        "{server:?} {client:?}"
    );
    assert_eq!(
        client.local_window_bits, server.remote_window_bits,
        "{server:?} {client:?}"
    );
    assert_eq!(
        client.remote_no_context_takeover,
        server.local_no_context_takeover
    );
}

/// `from` compresses `message` in `fragments` pieces; `to` inflates them.
fn carry(from: &mut Codec, to: &mut Codec, message: &[u8], fragments: usize) {
    let step = message.len().div_ceil(fragments.max(1)).max(1);
    let mut pieces: Vec<&[u8]> = message.chunks(step).collect();
    if pieces.is_empty() {
        pieces.push(&[]);
    }
    let mut wire = Vec::new();
    for (i, p) in pieces.iter().enumerate() {
        let mut out = vec![0u8; Codec::bound(p.len())];
        let n = from
            .compress(p, i + 1 == pieces.len(), &mut out)
            .expect("compress");
        wire.extend_from_slice(&out[..n]);
    }
    wire.extend_from_slice(&deflate::TAIL);
    let mut got = Vec::new();
    let mut input = wire.as_slice();
    let mut buf = vec![0u8; 4096];
    loop {
        let (used, wrote) = to.decompress(input, &mut buf).expect("inflates");
        got.extend_from_slice(&buf[..wrote]);
        input = &input[used..];
        if input.is_empty() && wrote < buf.len() {
            break;
        }
        assert!(used > 0 || wrote > 0, "inflater stuck");
    }
    assert_eq!(got, message);
}

fuzz_target!(|case: Case| {
    let server = case.server.options();
    let client = case.client.options();

    // Whatever the offers, an answer is one a default client accepts.
    let offers = case.offers.iter().take(4).map(Vec::as_slice);
    if let Some((agreed, value)) = deflate::negotiate(offers, &server) {
        in_range(&agreed);
        let bytes = value.as_bytes();
        assert!(bytes.len() <= MAX_HEADER_VALUE);
        assert!(bytes.iter().all(|b| b.is_ascii_graphic() || *b == b' '));
        let view =
            deflate::accept_response(bytes, &Options::new()).expect("a default client accepts");
        in_range(&view);
        mirrored(&agreed, &view);
    }

    // A client's own offer is answered, the answer accepted, and the
    // codecs carry a message both ways.
    let offer = deflate::offer(&client);
    let (s, value) =
        deflate::negotiate([offer.as_bytes()], &server).expect("our offer is answered");
    let c = deflate::accept_response(value.as_bytes(), &client).expect("our answer is accepted");
    in_range(&s);
    in_range(&c);
    mirrored(&s, &c);
    assert!(c.local_window_bits <= client.client_max_window_bits);
    assert!(s.local_window_bits <= server.server_max_window_bits);
    let (mut sc, mut cc) = (Codec::new(s), Codec::new(c));
    let fragments = usize::from(case.fragments % 4) + 1;
    for _ in 0..2 {
        carry(&mut cc, &mut sc, &case.message, fragments);
        carry(&mut sc, &mut cc, &case.message, fragments);
    }

    // Any answer a client accepts stays within its offer.
    if let Ok(a) = deflate::accept_response(&case.answer, &client) {
        in_range(&a);
        assert!(a.local_window_bits <= client.client_max_window_bits);
        assert!(a.remote_window_bits <= client.server_max_window_bits);
        if client.server_no_context_takeover {
            assert!(a.remote_no_context_takeover);
        }
    }
});
