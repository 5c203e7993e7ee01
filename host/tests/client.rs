//! `websock client`, `websock serve` and the other commands as a person
//! meets them: echo through stdin and stdout, a clean close on end of
//! input, and one line on stderr (with a non-zero exit) for each way
//! things go wrong.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::thread;

use common::{run_websock, Server, IO_TIMEOUT};

/// stderr as text, checked to be exactly one line.
fn one_line(stderr: &[u8]) -> String {
    let text = String::from_utf8(stderr.to_vec()).expect("UTF-8 stderr");
    assert_eq!(
        text.lines().count(),
        1,
        "expected one line on stderr, got {text:?}"
    );
    assert!(text.starts_with("websock: "), "{text:?}");
    text
}

#[test]
fn client_sends_stdin_lines_prints_the_echoes_and_closes_cleanly_at_eof() {
    let server = Server::start(&[]);
    let out = run_websock(
        &["client", &server.url()],
        "hello\nwörld, ünïcode\n\nlast line without newline".as_bytes(),
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "hello\nwörld, ünïcode\n\nlast line without newline\n"
    );
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
    assert!(out.status.success(), "{:?}", out.status);
}

#[test]
fn client_with_no_input_closes_cleanly() {
    let server = Server::start(&[]);
    let out = run_websock(&["client", &server.url()], b"");
    assert_eq!(out.stdout, b"");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
    assert!(out.status.success(), "{:?}", out.status);
}

#[test]
fn a_refused_connection_is_one_line_and_exit_1() {
    // A port that was just free: nothing listens on it now.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = run_websock(&["client", &format!("ws://127.0.0.1:{port}/")], b"");
    let line = one_line(&out.stderr);
    assert!(
        line.contains(&format!("cannot connect to 127.0.0.1:{port}")),
        "{line}"
    );
    assert!(line.to_lowercase().contains("refused"), "{line}");
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn bad_urls_are_one_line_and_exit_1() {
    for (url, says) in [
        ("wss://127.0.0.1:1/", "cannot connect to 127.0.0.1:1"),
        ("http://127.0.0.1:1/", "unsupported scheme 'http'"),
        ("ws://127.0.0.1:99999/", "bad port '99999'"),
        ("127.0.0.1:8888", "not a URL"),
        (
            "ws://no-such-host.invalid/",
            "cannot resolve 'no-such-host.invalid'",
        ),
    ] {
        let out = run_websock(&["client", url], b"");
        let line = one_line(&out.stderr);
        assert!(line.contains(says), "{url}: {line}");
        assert_eq!(out.status.code(), Some(1), "{url}");
    }
}

#[test]
fn a_rejected_handshake_shows_the_status_line_and_the_reason() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    // A plain HTTP server that refuses the upgrade.
    let refuser = thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        let mut request = Vec::new();
        let mut buf = [0u8; 1024];
        while !request.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = s.read(&mut buf).unwrap();
            assert!(n > 0, "client closed before its request ended");
            request.extend_from_slice(&buf[..n]);
        }
        s.write_all(
            b"HTTP/1.1 403 Forbidden\r\nContent-Length: 3\r\nConnection: close\r\n\r\nno\n",
        )
        .unwrap();
        String::from_utf8(request).unwrap()
    });
    let out = run_websock(
        &["client", &format!("ws://127.0.0.1:{port}/room?x=1")],
        b"hi\n",
    );
    let request = refuser.join().unwrap();
    assert!(
        request.starts_with("GET /room?x=1 HTTP/1.1\r\n"),
        "{request}"
    );
    assert!(
        request.contains(&format!("\r\nHost: 127.0.0.1:{port}\r\n")),
        "{request}"
    );
    let line = one_line(&out.stderr);
    assert!(line.contains("HTTP/1.1 403 Forbidden"), "{line}");
    assert!(line.contains("server did not switch protocols"), "{line}");
    assert_eq!(out.stdout, b"");
    assert_eq!(
        out.status.code(),
        Some(3),
        "3: the opening handshake failed"
    );
}

#[test]
fn serve_with_a_bad_address_is_one_line_and_exit_1() {
    // Held without SO_REUSEPORT, so the server cannot share it.
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let taken_addr = taken.local_addr().unwrap().to_string();
    for (addr, says) in [
        ("not an address", "bad listen address 'not an address'"),
        ("127.0.0.1:99999", "bad listen address '127.0.0.1:99999'"),
        (taken_addr.as_str(), "cannot listen on"),
    ] {
        let out = run_websock(&["serve", "--ws", addr, "--no-wss"], b"");
        let line = one_line(&out.stderr);
        assert!(line.contains(says), "{addr}: {line}");
        assert_eq!(out.status.code(), Some(1), "{addr}");
    }
}

#[test]
fn usage_mistakes_are_one_line_and_exit_2() {
    for args in [
        &["frobnicate"][..],
        &["serve", "--bogus"],
        &["client"],
        &["autobahn", "--agent"],
    ] {
        let out = run_websock(args, b"");
        let line = one_line(&out.stderr);
        assert!(line.contains("--help"), "{args:?}: {line}");
        assert_eq!(out.status.code(), Some(2), "{args:?}");
    }
}

#[test]
fn help_says_how_to_use_each_command() {
    let top = run_websock(&["--help"], b"");
    assert!(top.status.success());
    let text = String::from_utf8_lossy(&top.stdout);
    for command in ["serve", "client", "autobahn", "bench"] {
        assert!(text.contains(&format!("websock {command}")), "{text}");
        let out = run_websock(&[command, "--help"], b"");
        assert!(out.status.success(), "{command}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.starts_with(&format!("Usage: websock {command}")),
            "{text}"
        );
    }
}

#[test]
fn bench_runs_against_the_server_and_reports_rates() {
    let server = Server::start(&[]);
    let out = run_websock(
        &[
            "bench",
            &server.url(),
            "--connections",
            "3",
            "--threads",
            "2",
            "--size",
            "100",
            "--seconds",
            "0.3",
        ],
        b"",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with("bench: 3 connections") && text.contains("msg/s"),
        "{text}"
    );
}

#[test]
fn client_echoes_interactively_and_reports_a_server_side_close() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    use std::sync::mpsc;

    let mut server = Server::start(&[]);
    let mut child = Command::new(common::BIN)
        .args(["client", &server.url()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // stdin stays open: the echo must come back while the user is typing.
    let mut stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if tx.send(line.unwrap()).is_err() {
                return;
            }
        }
    });
    stdin.write_all(b"typed live\n").unwrap();
    assert_eq!(
        rx.recv_timeout(IO_TIMEOUT)
            .expect("echo while stdin is open"),
        "typed live"
    );
    // The server stops: the client sees a clean close it did not start.
    let status = Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = common::wait_child(&mut child, IO_TIMEOUT);
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(exit.success(), "{exit:?}: {stderr}");
    assert_eq!(
        stderr,
        "websock: the server closed the connection (1001 server shutting down)\n"
    );
    assert!(server.wait_exit().success());
    drop(stdin);
}
