//! Receive-path throughput: frame decode + unmask + UTF-8 validation, on
//! masked text frames of 20 B, 1 KiB and 64 KiB, as a server sees them.
//!
//! Run: `cargo bench -p websock-core --bench decode`

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use websock_core::frame::{apply_mask, encode_header, Header, Opcode};
use websock_core::{Accept, Config, Connection, Event};

const REQUEST: &[u8] =
    b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
    Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

/// About 1 MiB of masked text frames of `size` bytes each (mixed ASCII and
/// multi-byte characters, so validation is not just the ASCII fast path).
fn wire(size: usize) -> (Vec<u8>, usize) {
    let text: Vec<u8> = "websock κόσμε € 𝄞 "
        .bytes()
        .cycle()
        .take(size * 2)
        .collect();
    let mut payload = text[..size].to_vec();
    while std::str::from_utf8(&payload).is_err() {
        payload.pop();
        payload.push(b'.');
    }
    let frames = ((1 << 20) / size).max(1);
    let mut out = Vec::new();
    for i in 0..frames {
        let key = (i as u32).wrapping_mul(0x9E37_79B9).to_le_bytes();
        let h = Header {
            fin: true,
            rsv: 0,
            opcode: Opcode::Text,
            mask: Some(key),
            len: payload.len() as u64,
        };
        let mut head = [0u8; 14];
        let n = encode_header(&h, &mut head).unwrap();
        out.extend_from_slice(&head[..n]);
        let start = out.len();
        out.extend_from_slice(&payload);
        apply_mask(&mut out[start..], key, 0);
    }
    (out, frames * payload.len())
}

fn server() -> Connection {
    let mut s = Connection::server(Config::new(), 0);
    let mut out = [0u8; 512];
    assert!(matches!(
        s.accept(REQUEST, &[], &mut out),
        Ok(Accept::Accepted { .. })
    ));
    s
}

fn decode(c: &mut Criterion) {
    let mut group = c.benchmark_group("receive");
    for (name, size) in [("20B", 20), ("1KiB", 1024), ("64KiB", 65536)] {
        let (bytes, payload) = wire(size);
        group.throughput(Throughput::Bytes(payload as u64));
        group.bench_function(name, |b| {
            b.iter_batched_ref(
                || (bytes.clone(), server()),
                |(buf, conn)| {
                    let mut pos = 0;
                    let mut seen = 0usize;
                    while pos < buf.len() {
                        let r = conn.receive(&mut buf[pos..], &mut []).unwrap();
                        if let Some(Event::Data { chunk, .. }) = r.event {
                            seen += chunk.len();
                        }
                        pos += r.consumed;
                    }
                    assert_eq!(seen, payload);
                },
                BatchSize::LargeInput,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, decode);
criterion_main!(benches);
