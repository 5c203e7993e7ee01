//! The server's I/O backends: io_uring where the kernel allows it, epoll
//! where it does not (or when asked with `WEBSOCK_IO=epoll`), said on the
//! start line, and both echoing the same. The other test files run on
//! whichever backend the environment picks; tests/suite-host.sh runs them
//! once per backend.

mod common;

use std::io::Write;

use common::{close_code, masked, Server, Ws};

/// Echoes of every size class over `connections` connections opened at
/// once, their requests sent before any answer is read, so that input for
/// all of them arrives in the same turn of the server's loop.
fn echo_everything(server: &Server, connections: usize) {
    let mut conns: Vec<Ws> = (0..connections).map(|_| Ws::open(server.addr)).collect();
    for size in [20usize, 1024, 16 * 1024, 64 * 1024 + 3, 200 * 1024] {
        let payloads: Vec<Vec<u8>> = (0..conns.len())
            .map(|i| (0..size).map(|j| ((i * 7 + j) % 251) as u8).collect())
            .collect();
        for (ws, payload) in conns.iter_mut().zip(&payloads) {
            let wire = masked(true, 2, payload);
            ws.stream.write_all(&wire).expect("send");
        }
        for (ws, payload) in conns.iter_mut().zip(&payloads) {
            let (opcode, echoed) = ws.message();
            assert_eq!(opcode, 2);
            assert!(echoed == *payload, "echo of {size} bytes differs");
        }
        // Keep the big rounds short: a few connections are enough there.
        if size >= 16 * 1024 {
            conns.truncate(8);
        }
    }
    for ws in &mut conns {
        ws.send_raw(&masked(true, 8, &1000u16.to_be_bytes()));
        let reply = ws.frame().expect("close reply");
        assert_eq!(close_code(&reply), 1000);
        ws.expect_eof();
    }
}

#[test]
#[cfg(target_os = "linux")]
fn the_start_line_says_io_uring_where_the_kernel_allows_it() {
    let disabled = std::fs::read_to_string("/proc/sys/kernel/io_uring_disabled")
        .map(|s| s.trim() != "0")
        .unwrap_or(false);
    let server = Server::start_with(&["--workers", "1"], |c| c.env_remove("WEBSOCK_IO"));
    let line = &server.start_line;
    if disabled {
        assert!(line.contains("epoll: io_uring refused:"), "{line}");
    } else {
        assert!(line.contains("(1 workers, io_uring)"), "{line}");
    }
    // 300 connections: more than the loop's 128 receive buffers, all
    // receiving in the same turn, so the ring runs dry and refills.
    echo_everything(&server, 300);
}

#[test]
fn websock_io_epoll_forces_the_epoll_fallback_which_echoes_the_same() {
    let server = Server::start_with(&["--workers", "1"], |c| c.env("WEBSOCK_IO", "epoll"));
    let line = &server.start_line;
    assert!(
        line.contains("(1 workers, epoll: io_uring off by WEBSOCK_IO=epoll)"),
        "{line}"
    );
    echo_everything(&server, 300);
}

/// Large messages written at once with a ping among them, read back only
/// once all are written: the server's socket fills, so its sends (header
/// and payload from the receive buffer in one vectored write) go out in
/// parts and the rest is copied before the buffer is reused. Every echo
/// comes back whole and in order, the pong in its place between them.
fn echoes_in_order_through_a_full_socket(server: &Server) {
    let mut ws = Ws::open(server.addr);
    let sizes = [4096usize, 65_536, 20_000, 200_000, 5_000, 60_000, 20];
    // About 8 MB: more than the kernel buffers both ways hold, less than
    // the output that stops the server reading (16 MiB).
    let payloads: Vec<Vec<u8>> = (0..161)
        .map(|i| {
            let n = sizes[i % sizes.len()];
            (0..n).map(|j| ((i * 31 + j) % 253) as u8).collect()
        })
        .collect();
    let halfway = payloads.len() / 2;
    let mut wire = Vec::new();
    for (i, payload) in payloads.iter().enumerate() {
        wire.extend_from_slice(&masked(true, 2, payload));
        if i == halfway {
            wire.extend_from_slice(&masked(true, 9, b"halfway"));
        }
    }
    ws.send_raw(&wire);
    for (i, payload) in payloads.iter().enumerate() {
        let (opcode, echoed) = ws.message();
        assert_eq!(opcode, 2);
        assert!(
            echoed == *payload,
            "echo {i} ({} bytes) differs",
            payload.len()
        );
        if i == halfway {
            let pong = ws.frame().expect("the pong");
            assert_eq!((pong.opcode, &pong.payload[..]), (10, &b"halfway"[..]));
        }
    }
    ws.send_raw(&masked(true, 8, &1000u16.to_be_bytes()));
    assert_eq!(close_code(&ws.frame().expect("close reply")), 1000);
    ws.expect_eof();
}

#[test]
fn io_uring_echoes_in_order_through_a_full_socket() {
    let server = Server::start_with(&["--workers", "1"], |c| c.env_remove("WEBSOCK_IO"));
    echoes_in_order_through_a_full_socket(&server);
}

#[test]
fn epoll_echoes_in_order_through_a_full_socket() {
    let server = Server::start_with(&["--workers", "1"], |c| c.env("WEBSOCK_IO", "epoll"));
    echoes_in_order_through_a_full_socket(&server);
}

/// Large messages sent one at a time to a client that reads nothing until
/// the end: each echo starts when no other is in flight, so it goes out
/// from the receive buffer, until the socket has room for only part of
/// one; the rest is then copied out and the buffer let go.
fn echoes_one_at_a_time_into_a_filling_socket(server: &Server) {
    let mut ws = Ws::open(server.addr);
    // 12 MB, enough to fill the kernel's socket buffers (on loopback here
    // a send first came back short after about 4 MB).
    let payloads: Vec<Vec<u8>> = (0..200)
        .map(|i| (0..60_000).map(|j| ((i * 7 + j) % 251) as u8).collect())
        .collect();
    for payload in &payloads {
        ws.send_raw(&masked(true, 2, payload));
        // Time for the echo to go out before the next message comes.
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    for (i, payload) in payloads.iter().enumerate() {
        let (opcode, echoed) = ws.message();
        assert_eq!(opcode, 2);
        assert!(echoed == *payload, "echo {i} differs");
    }
}

#[test]
fn io_uring_echoes_one_at_a_time_into_a_filling_socket() {
    let server = Server::start_with(&["--workers", "1"], |c| c.env_remove("WEBSOCK_IO"));
    echoes_one_at_a_time_into_a_filling_socket(&server);
}

#[test]
fn epoll_echoes_one_at_a_time_into_a_filling_socket() {
    let server = Server::start_with(&["--workers", "1"], |c| c.env("WEBSOCK_IO", "epoll"));
    echoes_one_at_a_time_into_a_filling_socket(&server);
}

/// Sends `bytes` in two writes with a pause between, so that the server
/// sees the first part (a frame's header and a little payload) before the
/// rest has arrived.
fn send_split(ws: &mut Ws, bytes: &[u8], at: usize) {
    ws.send_raw(&bytes[..at]);
    ws.stream.flush().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(30));
    ws.send_raw(&bytes[at..]);
}

/// Large frames whose header and first bytes come before the rest: the
/// io_uring loop hands such a connection to the epoll loop there, in the
/// middle of the frame (and of the header, at 3 bytes), with what the
/// link and the echo hold of it. The echo is exact at any offset, text is
/// checked across the move (characters split across the two parts, a
/// fragmented message, and a bad byte deep in the rest failing with
/// 1007), later messages echo on, and a close frame right behind a large
/// frame is read as the next frame. Both backends, to compare.
#[test]
fn large_frames_split_after_their_header_echo_exactly_on_both_backends() {
    for epoll in [false, true] {
        let server = if epoll {
            Server::start_with(&[], |c| c.env("WEBSOCK_IO", "epoll"))
        } else {
            Server::start(&[])
        };
        let mut ws = Ws::open(server.addr);
        let text = "a\u{e9}\u{20ac}\u{1f600}".repeat(15_000); // 150 KB
        for at in [3, 11, 1001, 20_000] {
            // A whole message in one frame, its header and `at` bytes first.
            send_split(&mut ws, &masked(true, 1, text.as_bytes()), at);
            assert_eq!(ws.message(), (1, text.as_bytes().to_vec()), "at {at}");
            // The same in two fragments, each split.
            let (a, b) = text.as_bytes().split_at(40_001); // inside a character
            send_split(&mut ws, &masked(false, 1, a), at);
            send_split(&mut ws, &masked(true, 0, b), at);
            assert_eq!(ws.message(), (1, text.as_bytes().to_vec()), "at {at}");
            // Binary, of a length that is no multiple of anything.
            let binary: Vec<u8> = (0..100_003u32).map(|i| (i * 31 % 256) as u8).collect();
            send_split(&mut ws, &masked(true, 2, &binary), at);
            assert_eq!(ws.message(), (2, binary), "at {at}");
        }
        // A large frame and a close frame in one write: echo, then close.
        let binary = vec![0x42u8; 70_000];
        let mut both = masked(true, 2, &binary);
        both.extend_from_slice(&masked(true, 8, &1000u16.to_be_bytes()));
        send_split(&mut ws, &both, 100);
        assert_eq!(ws.message(), (2, binary));
        let close = ws.frame().expect("close reply");
        assert_eq!(close_code(&close), 1000);
        ws.expect_eof();
        // A bad byte deep in the rest of a text frame: 1007.
        let mut ws = Ws::open(server.addr);
        let mut bad = text.as_bytes().to_vec();
        bad[90_000] = 0xff;
        send_split(&mut ws, &masked(true, 1, &bad), 50);
        let close = loop {
            let f = ws.frame().expect("a close frame");
            if f.opcode == 8 {
                break f;
            }
        };
        assert_eq!(close_code(&close), 1007, "epoll: {epoll}");
    }
}

/// The peer's end of stream right behind a message, in the same readiness
/// event (sent back to back) and in a later one (sent after a pause): the
/// echo comes back and the server then ends the connection. The epoll
/// loop ends a link's turn after a read that drained the socket, and
/// relies on the end of stream raising an edge of its own unless it came
/// with the event it is handling. A lost one would be found only when the
/// link's next timer runs it (the output buffer's trim, a second later),
/// so the end of stream must come well before that: within half a second.
fn end_of_stream_behind_a_message_is_seen(server: &Server) {
    for round in 0..40 {
        let mut ws = Ws::open(server.addr);
        ws.stream
            .set_read_timeout(Some(std::time::Duration::from_millis(500)))
            .unwrap();
        let text = format!("round {round}");
        ws.send_raw(&masked(true, 1, text.as_bytes()));
        if round % 2 == 1 {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        ws.stream
            .shutdown(std::net::Shutdown::Write)
            .expect("shutdown");
        assert_eq!(ws.message(), (1, text.into_bytes()), "round {round}");
        ws.expect_eof();
    }
}

#[test]
fn io_uring_sees_the_end_of_stream_behind_a_message() {
    let server = Server::start_with(&["--workers", "1"], |c| c.env_remove("WEBSOCK_IO"));
    end_of_stream_behind_a_message_is_seen(&server);
}

#[test]
fn epoll_sees_the_end_of_stream_behind_a_message() {
    let server = Server::start_with(&["--workers", "1"], |c| c.env("WEBSOCK_IO", "epoll"));
    end_of_stream_behind_a_message_is_seen(&server);
}
