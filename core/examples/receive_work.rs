//! A fixed receive workload for instruction counts: about 1 MiB of masked
//! text frames of 20 B, 1 KiB and 64 KiB, then 20-byte text frames each
//! followed by a ping whose pong is written. Compare builds with
//! `valgrind --tool=callgrind` (wall times on a shared machine are noisy).
//!
//! Run: `cargo run --release -p websock-core --example receive_work`

use websock_core::frame::{apply_mask, encode_header, Header, Opcode};
use websock_core::{Accept, Config, Connection, Event};

const REQUEST: &[u8] =
    b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
    Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

fn frame(out: &mut Vec<u8>, opcode: Opcode, payload: &[u8], i: usize) {
    let key = (i as u32).wrapping_mul(0x9E37_79B9).to_le_bytes();
    let h = Header {
        fin: true,
        rsv: 0,
        opcode,
        mask: Some(key),
        len: payload.len() as u64,
    };
    let mut head = [0u8; 14];
    let n = encode_header(&h, &mut head).unwrap();
    out.extend_from_slice(&head[..n]);
    let start = out.len();
    out.extend_from_slice(payload);
    apply_mask(&mut out[start..], key, 0);
}

fn main() {
    let text: Vec<u8> = "websock κόσμε € 𝄞 ".bytes().cycle().take(1 << 17).collect();
    let mut wire = Vec::new();
    let mut expected = 0;
    for size in [20, 1024, 65536] {
        let mut payload = text[..size].to_vec();
        while std::str::from_utf8(&payload).is_err() {
            payload.pop();
        }
        for i in 0..((1 << 20) / size).max(1) {
            frame(&mut wire, Opcode::Text, &payload, i);
            expected += payload.len();
        }
    }
    let short = b"twenty bytes of text";
    for i in 0..20_000 {
        frame(&mut wire, Opcode::Text, short, i);
        frame(&mut wire, Opcode::Ping, b"ping payload", i);
        expected += short.len();
    }
    let mut conn = Connection::server(Config::new(), 0);
    let mut out = [0u8; 512];
    assert!(matches!(
        conn.accept(REQUEST, &[], &mut out),
        Ok(Accept::Accepted { .. })
    ));
    let (mut pos, mut seen, mut pongs) = (0, 0, 0);
    while pos < wire.len() {
        let r = conn.receive(&mut wire[pos..], &mut out).unwrap();
        match r.event {
            Some(Event::Data { chunk, .. }) => seen += chunk.len(),
            Some(Event::Ping(_)) => {}
            Some(other) => panic!("{other:?}"),
            None => assert!(r.consumed > 0),
        }
        if r.written > 0 {
            pongs += 1;
        }
        pos += r.consumed;
    }
    assert_eq!((seen, pongs), (expected, 20_000));
    println!("{seen} bytes, {pongs} pongs");
}
