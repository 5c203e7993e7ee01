//! What a compressed connection costs the server in resident memory:
//! 2,000 connections that agreed on permessage-deflate with 9-bit windows
//! both ways, each echoing one compressed message and then held open, against
//! `websock serve --deflate-memory small`. The growth of the server's RSS
//! (VmRSS) per connection must stay within `BOUND`.
//!
//! Run alone: `cargo test --release -p websock-host --test deflate_rss -- --nocapture`

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;

use common::{Server, IO_TIMEOUT};
use websock_core::deflate::{Memory, Options};
use websock_core::{Config, Connection, DataKind, Event};

const CONNECTIONS: usize = 2_000;
/// Connections opened before the baseline, so that the worker threads,
/// their buffers and the allocator's arenas exist already.
const WARM_UP: usize = 100;
/// Resident bytes per connection: the codec's heap at 9 bits (4.6 KiB,
/// `core/deflate-heap.budget`), the engine (under 1 KiB), the link and
/// its output buffer, allocator rounding and the event loop's slab.
const BOUND: usize = 12 * 1024;

fn rss(pid: u32) -> usize {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kb: usize = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .expect("VmRSS in /proc/PID/status");
    kb * 1024
}

/// A client whose offer asks for 9-bit windows both ways.
fn client() -> Connection {
    let mut config = Config::new();
    config.deflate = Some(Options {
        server_max_window_bits: 9,
        client_max_window_bits: 9,
        memory: Memory::Small,
        ..Options::new()
    });
    Connection::client(config, 0, [3; 32])
}

/// Opens a connection, checks the agreement, and echoes one compressed
/// message; returns the socket, still open.
fn open_and_echo(server: &Server, message: &[u8]) -> (TcpStream, Connection) {
    let mut c = client();
    let mut s = TcpStream::connect(server.addr).unwrap();
    s.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    let mut buf = vec![0u8; 4096];
    let n = c
        .write_request(&server.addr.to_string(), "/", &[], &mut buf)
        .unwrap();
    s.write_all(&buf[..n]).unwrap();
    let mut head = Vec::new();
    let end = loop {
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0, "closed during the handshake");
        head.extend_from_slice(&buf[..n]);
        if let Some(i) = head.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let text = String::from_utf8_lossy(&head[..end]);
    assert!(
        text.contains("server_max_window_bits=9") && text.contains("client_max_window_bits=9"),
        "{text}"
    );
    c.read_response(&head[..end], &[]).unwrap();
    assert!(c.compression_active());
    let mut wire = head[end..].to_vec();
    let mut frame = vec![0u8; c.max_frame_len(message.len())];
    let n = c.send(DataKind::Text, message, true, &mut frame).unwrap();
    s.write_all(&frame[..n]).unwrap();
    // Read the echo, which comes back compressed.
    let mut got = Vec::new();
    let mut scratch = vec![0u8; 1024];
    loop {
        let mut pos = 0;
        let mut done = false;
        loop {
            let r = c
                .receive_with(&mut wire[pos..], &mut scratch, &mut [])
                .unwrap();
            let (used, event) = (r.consumed, r.event);
            pos += used;
            match event {
                Some(Event::Data { chunk, last, .. }) => {
                    got.extend_from_slice(chunk);
                    if last {
                        done = true;
                        break;
                    }
                }
                Some(_) => {}
                None if used == 0 => break,
                None => {}
            }
        }
        wire.drain(..pos);
        if done {
            break;
        }
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0, "closed before the echo");
        wire.extend_from_slice(&buf[..n]);
    }
    assert_eq!(got, message);
    (s, c)
}

#[test]
fn two_thousand_compressed_connections_at_9_bits() {
    let server = Server::start(&["--deflate-memory", "small", "--quiet"]);
    let pid = server.child.id();
    let message: Vec<u8> = b"permessage-deflate at 9-bit windows, "
        .iter()
        .cycle()
        .take(600)
        .copied()
        .collect();
    let mut open = Vec::with_capacity(WARM_UP + CONNECTIONS);
    for _ in 0..WARM_UP {
        open.push(open_and_echo(&server, &message));
    }
    let before = rss(pid);
    for _ in 0..CONNECTIONS {
        open.push(open_and_echo(&server, &message));
    }
    let after = rss(pid);
    let per = after.saturating_sub(before) / CONNECTIONS;
    println!(
        "server RSS {} KiB -> {} KiB for {CONNECTIONS} connections: {per} B each (bound {BOUND})",
        before / 1024,
        after / 1024
    );
    assert!(per <= BOUND, "{per} B per connection > {BOUND}");
    drop(open);
}
