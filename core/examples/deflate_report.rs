//! Memory per connection and compression ratio of permessage-deflate at
//! each window size, measured: heap bytes are counted by a wrapping global
//! allocator while a negotiated server connection compresses and inflates.
//!
//! Run: `cargo run --release -p websock-core --features deflate --example deflate_report`

#[path = "../tests/support/heap.rs"]
mod heap;

use websock_core::deflate::{Memory, Options};
use websock_core::{Accept, Config, Connection, DataKind, Event};

/// A server connection that agreed to `offer`, and a client to talk to it.
fn pair(offer: &str, client_bits: u8, memory: Memory) -> (Connection, Connection) {
    let mut config = Config::new();
    config.deflate = Some(Options {
        memory,
        ..Options::new()
    });
    let mut server = Connection::server(config, 0);
    let request = format!(
        "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
         Sec-WebSocket-Extensions: {offer}\r\n\r\n"
    );
    let mut out = vec![0u8; 1024];
    assert!(matches!(
        server.accept(request.as_bytes(), &[], &mut out),
        Ok(Accept::Accepted { .. })
    ));
    let mut client_config = Config::new();
    client_config.deflate = Some(Options {
        client_max_window_bits: client_bits,
        ..Options::new()
    });
    let mut client = Connection::client(client_config, 0, [7; 32]);
    let n = client.write_request("x", "/", &[], &mut out).unwrap();
    let mut s2 = Connection::server(config, 0);
    let mut resp = vec![0u8; 1024];
    let Ok(Accept::Accepted { written, .. }) = s2.accept(&out[..n], &[], &mut resp) else {
        panic!()
    };
    client.read_response(&resp[..written], &[]).unwrap();
    (server, client)
}

fn binary(len: usize) -> Vec<u8> {
    // Sensor-like samples: a slow wave plus noise, as u16 little-endian.
    (0..len / 2)
        .flat_map(|i| {
            let v = (2048.0 + 1000.0 * (i as f64 / 50.0).sin()) as u16
                + (i as u16).wrapping_mul(7919) % 13;
            v.to_le_bytes()
        })
        .collect()
}

fn main() {
    println!("| configuration | heap per server connection after a message each way |");
    println!("|---|---|");
    let all = [Memory::Large, Memory::Small].map(|memory| {
        heap::cases(Options {
            memory,
            ..Options::new()
        })
    });
    for case in all.iter().flatten() {
        let bytes = heap::server_heap(case);
        println!(
            "| {} | {bytes} B ({} KiB) |",
            case.name,
            bytes.div_ceil(1024)
        );
    }
    println!(
        "\nsize_of::<Connection>() = {} bytes (inline, beside the heap above)\n",
        std::mem::size_of::<Connection>()
    );
    println!("| payload | window bits | memory | compressed | ratio |");
    println!("|---|---|---|---|---|");
    for (name, data) in [
        ("text 1 KiB", heap::text(1024)),
        ("text 64 KiB", heap::text(65536)),
        ("binary 1 KiB", binary(1024)),
        ("binary 64 KiB", binary(65536)),
    ] {
        for (bits, memory) in [9u8, 15]
            .into_iter()
            .flat_map(|b| [(b, Memory::Large), (b, Memory::Small)])
        {
            let offer = format!("permessage-deflate; server_max_window_bits={bits}");
            let (mut server, mut client) = pair(&offer, 15, memory);
            // The second message shows context takeover at work too; report the first.
            let mut frame = vec![0u8; server.max_frame_len(data.len())];
            let n = server
                .send(DataKind::Binary, &data, true, &mut frame)
                .unwrap();
            // Check it inflates back on the client.
            let mut scratch = vec![0u8; 4096];
            let mut got = Vec::new();
            let mut pos = 0;
            while pos < n {
                let r = client
                    .receive_with(&mut frame[pos..n], &mut scratch, &mut [])
                    .unwrap();
                let (used, event) = (r.consumed, r.event);
                if let Some(Event::Data { chunk, .. }) = event {
                    got.extend_from_slice(chunk);
                }
                pos += used;
                if used == 0 && pos < n {
                    continue;
                }
            }
            loop {
                let event = client
                    .receive_with(&mut [], &mut scratch, &mut [])
                    .unwrap()
                    .event;
                match event {
                    Some(Event::Data { chunk, last, .. }) => {
                        got.extend_from_slice(chunk);
                        if last {
                            break;
                        }
                    }
                    _ => break,
                }
            }
            assert_eq!(got, data, "round trip");
            println!(
                "| {name} | {bits} | {memory:?} | {} B | {:.1}% |",
                n,
                100.0 * n as f64 / data.len() as f64
            );
        }
    }
}
