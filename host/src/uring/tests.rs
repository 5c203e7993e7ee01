//! The io_uring loop against real sockets.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use websock_core::Config;

use super::Ring;
use crate::clock::Clock;
use crate::echo::Echo;
use crate::link::Link;
use crate::reactor::Reactor;

/// A client's masked binary frame.
fn masked(payload: &[u8]) -> Vec<u8> {
    let mut wire = vec![0x82];
    match payload.len() {
        n if n < 126 => wire.push(0x80 | n as u8),
        n if n < 65_536 => {
            wire.push(0x80 | 126);
            wire.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            wire.push(0x80 | 127);
            wire.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    let key = [0x12, 0x34, 0x56, 0x78];
    wire.extend_from_slice(&key);
    wire.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    wire
}

/// Reads one unmasked message (the echo sends large ones in
/// fragments): its opcode and payload.
fn message(stream: &mut TcpStream) -> (u8, Vec<u8>) {
    let (fin, opcode, mut payload) = frame(stream);
    let mut last = fin;
    while !last {
        let (fin, more, rest) = frame(stream);
        assert_eq!(more, 0, "a continuation");
        payload.extend_from_slice(&rest);
        last = fin;
    }
    (opcode, payload)
}

/// Reads one unmasked frame: whether it is final, its opcode and
/// payload.
fn frame(stream: &mut TcpStream) -> (bool, u8, Vec<u8>) {
    let mut head = [0u8; 2];
    stream.read_exact(&mut head).expect("frame header");
    let len = match head[1] & 0x7f {
        126 => {
            let mut b = [0u8; 2];
            stream.read_exact(&mut b).unwrap();
            usize::from(u16::from_be_bytes(b))
        }
        127 => {
            let mut b = [0u8; 8];
            stream.read_exact(&mut b).unwrap();
            u64::from_be_bytes(b) as usize
        }
        n => usize::from(n),
    };
    let mut payload = vec![0; len];
    stream.read_exact(&mut payload).expect("payload");
    (head[0] & 0x80 != 0, head[0] & 0x0f, payload)
}

/// A connection stays in the ring while its messages are small, and
/// moves to the epoll loop in the middle of its first large frame,
/// which it echoes whole from there, as it does what follows.
#[test]
fn a_connection_receiving_large_frames_moves_to_the_epoll_loop() {
    let clock = Clock::new();
    let mut reactor = Reactor::<Echo>::new(clock).expect("epoll");
    let mut ring = Ring::<Echo>::new(clock).expect("io_uring (these machines allow it)");
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (said, heard) = mpsc::channel::<&str>();
    let (go_on, wait) = mpsc::channel::<()>();
    let client = std::thread::spawn(move || {
        let mut c = TcpStream::connect(addr).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        c.write_all(
            b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
              Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        )
        .unwrap();
        let mut response = Vec::new();
        while !response.ends_with(b"\r\n\r\n") {
            let mut byte = [0u8; 1];
            c.read_exact(&mut byte).expect("handshake response");
            response.push(byte[0]);
        }
        assert!(response.starts_with(b"HTTP/1.1 101"));
        for size in [20, 1024] {
            let payload = vec![7u8; size];
            c.write_all(&masked(&payload)).unwrap();
            assert!(message(&mut c) == (2, payload), "a small echo");
        }
        said.send("small").unwrap();
        wait.recv().unwrap();
        // The frame's header and first bytes, then the rest.
        let large: Vec<u8> = (0..100_003u32).map(|i| (i * 31 % 256) as u8).collect();
        let wire = masked(&large);
        c.write_all(&wire[..1000]).unwrap();
        std::thread::sleep(Duration::from_millis(30));
        c.write_all(&wire[1000..]).unwrap();
        assert!(message(&mut c) == (2, large), "the large echo");
        c.write_all(&masked(b"after")).unwrap();
        assert!(message(&mut c) == (2, b"after".to_vec()), "the echo after");
        said.send("large").unwrap();
        // Counted while the connection is open; then the closing
        // handshake, from the epoll loop.
        wait.recv().unwrap();
        let mut close = masked(&1000u16.to_be_bytes());
        close[0] = 0x88;
        c.write_all(&close).unwrap();
        let (_, opcode, code) = frame(&mut c);
        assert_eq!((opcode, code), (8, 1000u16.to_be_bytes().to_vec()));
    });
    let (server, _) = listener.accept().unwrap();
    server.set_nonblocking(true).unwrap();
    server.set_nodelay(true).unwrap();
    ring.insert(
        Link::server(Config::new(), clock.now_ms()),
        server,
        Echo::default(),
    )
    .unwrap();
    let end = Instant::now() + Duration::from_secs(20);
    let mut seen = Vec::new();
    while !client.is_finished() && Instant::now() < end {
        ring.turn(&mut reactor, Some(Duration::from_millis(5)))
            .unwrap();
        if let Ok(what) = heard.try_recv() {
            // (ring, epoll) connections at each point.
            seen.push((what, ring.keys().len(), reactor.keys().len()));
            let _ = go_on.send(());
        }
    }
    client.join().expect("the client saw every echo");
    assert_eq!(seen, [("small", 1, 0), ("large", 0, 1)]);
}
