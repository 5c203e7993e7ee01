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
