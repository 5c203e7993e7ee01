//! wss:// over real sockets: the client's trust decisions (untrusted CA,
//! `--ca`, `--insecure`, wrong name, expired), the server's self-signed
//! default, and bad TLS peers (plain HTTP on the TLS port, a handshake
//! that stalls) being closed and logged while a good connection on the
//! same event loop keeps echoing.

mod common;
mod tls_support;

use std::io::{Read, Write};
use std::sync::Arc;

use common::{connect, read_to_eof, run_websock, Server};
use tls_support::{tls_connect, written_cert, Ca, TempDir, TlsServer, Typist};

/// A server with a certificate for localhost from a private CA; returns
/// the server, the CA's PEM file and the folder holding the files.
fn server_with_ca(extra: &[&str]) -> (TlsServer, String, TempDir) {
    let dir = TempDir::new("ca");
    let ca = Ca::new("websock test CA");
    let (cert, key) = ca.leaf(&["localhost", "127.0.0.1"], 2020, 2100);
    let ca_file = dir.file("ca.pem", &ca.pem);
    let cert_file = dir.file("cert.pem", &cert);
    let key_file = dir.file("key.pem", &key);
    let mut args = vec![
        "--cert",
        cert_file.to_str().unwrap(),
        "--key",
        key_file.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let server = TlsServer::start(&args);
    (server, ca_file.to_str().unwrap().to_string(), dir)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The one line a failed client printed.
fn one_error_line(stderr: &[u8]) -> String {
    let stderr = text(stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line expected: {stderr:?}");
    lines[0].to_string()
}

#[test]
fn an_untrusted_certificate_fails_in_one_line_and_ca_or_insecure_make_it_work() {
    let (server, ca, _dir) = server_with_ca(&[]);
    let url = server.url();

    let out = run_websock(&["client", &url], b"hello\n");
    assert!(!out.status.success());
    let line = one_error_line(&out.stderr);
    assert!(
        line.starts_with("websock: ") && line.contains("not signed by a trusted CA"),
        "{line}"
    );
    assert!(
        out.stdout.is_empty(),
        "nothing was echoed: {:?}",
        out.stdout
    );

    let out = run_websock(&["client", "--ca", &ca, &url], b"hello\n");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "hello\n");
    assert!(out.stderr.is_empty(), "{}", text(&out.stderr));

    let out = run_websock(&["client", "--insecure", &url], b"hello\n");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "hello\n");
    let warning = one_error_line(&out.stderr);
    assert!(
        warning.contains("WARNING") && warning.contains("--insecure"),
        "{warning}"
    );
}

#[test]
fn the_certificate_must_name_the_host_and_be_current() {
    let dir = TempDir::new("names");
    let ca = Ca::new("websock test CA");
    let ca_file = dir.file("ca.pem", &ca.pem);
    let ca_file = ca_file.to_str().unwrap();
    for (name, names, from, until, expected) in [
        (
            "other",
            &["other.example"][..],
            2020,
            2100,
            "not valid for name \"localhost\"",
        ),
        ("expired", &["localhost"][..], 2000, 2001, "expired"),
        ("future", &["localhost"][..], 2090, 2100, "not valid yet"),
    ] {
        let (cert, key) = ca.leaf(names, from, until);
        let cert = dir.file(&format!("{name}.pem"), &cert);
        let key = dir.file(&format!("{name}.key"), &key);
        let server = TlsServer::start(&[
            "--cert",
            cert.to_str().unwrap(),
            "--key",
            key.to_str().unwrap(),
        ]);
        let out = run_websock(&["client", "--ca", ca_file, &server.url()], b"hi\n");
        assert!(!out.status.success(), "{name}");
        let line = one_error_line(&out.stderr);
        assert!(
            line.contains("TLS handshake") && line.contains(expected),
            "{name}: {line}"
        );
        // The server saw the client's alert and logged it.
        server.expect_log("TLS handshake failed");
    }
}

#[test]
fn the_default_self_signed_certificate_is_written_and_trusted_with_ca() {
    let mut server = TlsServer::start(&[]);
    let cert = written_cert(&server.start_line);
    assert!(cert.is_file(), "{}", server.start_line);
    let out = run_websock(
        &["client", "--ca", cert.to_str().unwrap(), &server.url()],
        b"one\ntwo\n",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "one\ntwo\n");
    // The IP address is in the certificate too.
    let url = format!("wss://127.0.0.1:{}/", server.addr.port());
    let out = run_websock(&["client", "--ca", cert.to_str().unwrap(), &url], b"ip\n");
    assert!(out.status.success(), "{}", text(&out.stderr));

    let pid = server.child.id().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(killed.success());
    assert!(server.wait_exit().success());
    assert!(
        !cert.exists(),
        "the generated certificate is removed at exit"
    );
}

#[test]
fn plain_http_to_the_tls_port_is_closed_while_a_good_connection_echoes() {
    let (server, ca, _dir) = server_with_ca(&["--workers", "1"]);
    let mut good = Typist::start(&["--ca", &ca, &server.url()]);
    good.echo("before");

    let mut plain = connect(server.addr);
    plain
        .write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n\r\n")
        .unwrap();
    let answer = text(&read_to_eof(&mut plain));
    assert!(
        answer.starts_with("HTTP/1.1 400 ") && answer.contains("speaks TLS"),
        "{answer:?}"
    );
    let log = server.expect_log("plain text");
    assert!(log.contains("127.0.0.1:"), "names the peer: {log}");

    good.echo("after");
    let (ok, stderr) = good.finish();
    assert!(ok, "{stderr:?}");
}

/// Completes the upgrade on an open TLS stream, reading the response head
/// byte by byte so that nothing after it is taken.
fn upgrade(tls: &mut (impl Read + Write)) {
    tls.write_all(common::GOOD_REQUEST.as_bytes()).unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        assert_eq!(tls.read(&mut byte).unwrap(), 1, "response head cut short");
        head.push(byte[0]);
    }
    assert!(head.starts_with(b"HTTP/1.1 101 "), "{}", text(&head));
}

#[test]
fn alpn_is_http_1_1_and_closing_sends_close_notify_both_ways() {
    let dir = TempDir::new("close");
    let ca = Ca::new("websock test CA");
    let (cert, key) = ca.leaf(&["localhost"], 2020, 2100);
    let cert = dir.file("cert.pem", &cert);
    let key = dir.file("key.pem", &key);
    let server = TlsServer::start(&[
        "--cert",
        cert.to_str().unwrap(),
        "--key",
        key.to_str().unwrap(),
    ]);

    // A polite peer: the server's close comes with a close_notify (read
    // ends with Ok(0), not UnexpectedEof), and ours goes back.
    let mut tls = tls_connect(server.addr, &ca.pem, &[b"h2", b"http/1.1"]).unwrap();
    assert_eq!(tls.conn.alpn_protocol(), Some(&b"http/1.1"[..]));
    upgrade(&mut tls);
    tls.write_all(&common::masked(true, 8, &[0x03, 0xe8]))
        .unwrap();
    let mut rest = Vec::new();
    tls.read_to_end(&mut rest)
        .expect("the server's close_notify ends the stream cleanly");
    assert_eq!(
        rest,
        [0x88, 0x02, 0x03, 0xe8],
        "the close reply, then nothing"
    );
    tls.conn.send_close_notify();
    tls.flush().unwrap();
    drop(tls);

    // Our own client answers the server's close_notify with its own.
    let ca_file = dir.file("ca.pem", &ca.pem);
    let out = run_websock(
        &["client", "--ca", ca_file.to_str().unwrap(), &server.url()],
        b"hi\n",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));

    // A rude peer: it drops TCP without a close_notify; the server says so.
    let mut tls = tls_connect(server.addr, &ca.pem, &[b"http/1.1"]).unwrap();
    upgrade(&mut tls);
    tls.write_all(&common::masked(true, 8, &[0x03, 0xe8]))
        .unwrap();
    let mut close = [0u8; 4];
    tls.read_exact(&mut close).unwrap();
    let rude = tls.sock.local_addr().unwrap();
    // Read the rest as raw bytes (the server's close_notify, then its
    // FIN): a socket closed with unread data sends a reset instead of a
    // FIN, and a reset is not the plain end of stream this case is about.
    let mut raw = Vec::new();
    tls.sock.set_read_timeout(Some(common::IO_TIMEOUT)).unwrap();
    let _ = tls.sock.read_to_end(&mut raw);
    drop(tls);
    // The first such line names the rude peer: the polite ones had none.
    let line = server.expect_log("without a TLS close_notify");
    assert!(line.contains(&format!("wss peer {rude}:")), "{line}");

    // A peer that speaks only h2 is refused: the upgrade is HTTP/1.1.
    let e = tls_connect(server.addr, &ca.pem, &[b"h2"]).expect_err("refused");
    assert!(e.to_string().contains("NoApplicationProtocol"), "{e}");
    server.expect_log("no common ALPN protocol");
}

/// A ClientHello from a real TLS client (rustls), for peers that stop
/// half-way.
fn client_hello() -> Vec<u8> {
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(rustls::RootCertStore::empty())
    .with_no_client_auth();
    let mut conn =
        rustls::ClientConnection::new(Arc::new(config), "localhost".try_into().unwrap()).unwrap();
    let mut hello = Vec::new();
    while conn.wants_write() {
        conn.write_tls(&mut hello).unwrap();
    }
    hello
}

#[test]
fn a_stalled_tls_handshake_is_dropped_after_the_timeout() {
    // Long enough for the good connection's handshake on a loaded machine.
    let (server, ca, _dir) = server_with_ca(&["--workers", "1", "--handshake-timeout-ms", "1000"]);
    let mut good = Typist::start(&["--ca", &ca, &server.url()]);
    good.echo("before");

    // One peer sends half a ClientHello; the other sends all of it, reads
    // the server's answer, and never finishes its side.
    let hello = client_hello();
    let mut half = connect(server.addr);
    half.write_all(&hello[..hello.len() / 2]).unwrap();
    let mut stalled = connect(server.addr);
    stalled.write_all(&hello).unwrap();
    let mut first = [0u8; 5];
    stalled.read_exact(&mut first).unwrap();
    assert_eq!(first[0], 22, "a handshake record (ServerHello)");

    // Both are closed by the server (bounded: reads time out and fail).
    read_to_eof(&mut half);
    read_to_eof(&mut stalled);
    server.expect_log("TLS handshake timed out");
    server.expect_log("TLS handshake timed out");

    // The opened connection had the same deadline behind it and is fine.
    good.echo("after");
    let (ok, stderr) = good.finish();
    assert!(ok, "{stderr:?}");
}

#[test]
fn a_server_that_stalls_the_tls_handshake_is_a_one_line_timeout() {
    // Accepts and reads the ClientHello, then says nothing.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let silent = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.set_read_timeout(Some(common::IO_TIMEOUT)).unwrap();
        let mut buf = [0u8; 4096];
        while matches!(s.read(&mut buf), Ok(n) if n > 0) {}
    });
    let url = format!("wss://localhost:{port}/");
    let out = run_websock(&["client", "--handshake-timeout-ms", "300", &url], b"hi\n");
    assert!(!out.status.success());
    let line = one_error_line(&out.stderr);
    assert!(
        line.contains("did not complete the TLS handshake in time"),
        "{line}"
    );
    silent.join().unwrap();
}

#[test]
fn a_wss_url_to_a_plain_server_says_so() {
    let server = Server::start(&[]);
    let url = format!("wss://127.0.0.1:{}/", server.addr.port());
    let out = run_websock(&["client", "--insecure", &url], b"hi\n");
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    let line = stderr.lines().last().unwrap_or_default();
    assert!(line.contains("plain text"), "{stderr}");
}

#[test]
fn nothing_listens_where_tls_is_switched_off_and_bad_files_are_refused() {
    let dir = TempDir::new("files");
    let not_pem = dir.file("junk.pem", "not a certificate\n");
    let out = run_websock(
        &[
            "serve",
            "--no-ws",
            "--wss",
            "127.0.0.1:0",
            "--cert",
            not_pem.to_str().unwrap(),
            "--key",
            not_pem.to_str().unwrap(),
        ],
        b"",
    );
    assert!(!out.status.success());
    let line = one_error_line(&out.stderr);
    assert!(line.contains("no certificate in"), "{line}");

    let out = run_websock(&["serve", "--no-ws", "--no-wss"], b"");
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("nothing to serve"));

    let out = run_websock(&["serve", "--cert", not_pem.to_str().unwrap()], b"");
    assert_eq!(out.status.code(), Some(2), "--cert needs --key");
}
