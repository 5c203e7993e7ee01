//! `websock` as a tool, over real sockets: the client's options and exit
//! statuses, the server's refusal of a port already served, subprotocols,
//! the built-in page, and the server's log.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::thread;
use std::time::Duration;

use common::{connect, read_head, run_websock, wait_child, Server, Ws, IO_TIMEOUT};

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A request for `path` with these extra header lines.
fn request(extra: &str) -> String {
    format!(
        "GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n"
    )
}

fn response_to(addr: SocketAddr, request: &str) -> String {
    let mut s = connect(addr);
    s.write_all(request.as_bytes()).unwrap();
    read_head(&mut s).0
}

// ----- serve -----

#[test]
fn serve_refuses_an_address_another_server_listens_on() {
    let first = Server::start(&[]);
    let addr = first.addr.to_string();
    let out = run_websock(&["serve", "--ws", &addr, "--no-wss"], b"");
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(err.lines().count(), 1, "{err:?}");
    assert!(
        err.contains(&format!(
            "cannot listen on {addr}: another process is already listening there"
        )),
        "{err}"
    );
    assert_eq!(out.stdout, b"", "no start line");
    // The first server still has every connection.
    for _ in 0..4 {
        Ws::open(first.addr).echo_text("still mine");
    }
}

#[test]
fn serve_picks_the_first_subprotocol_the_client_offers() {
    let server = Server::start(&["--protocol", "chat", "--protocol", "superchat"]);
    let head = response_to(
        server.addr,
        &request("Sec-WebSocket-Protocol: superchat, chat\r\n"),
    );
    assert!(
        head.contains("\r\nSec-WebSocket-Protocol: superchat\r\n"),
        "{head}"
    );
    let head = response_to(
        server.addr,
        &request("Sec-WebSocket-Protocol: x\r\nSec-WebSocket-Protocol: chat\r\n"),
    );
    assert!(
        head.contains("\r\nSec-WebSocket-Protocol: chat\r\n"),
        "{head}"
    );
    let head = response_to(server.addr, &request("Sec-WebSocket-Protocol: other\r\n"));
    assert!(
        head.starts_with("HTTP/1.1 101 ") && !head.contains("Protocol:"),
        "{head}"
    );
    // Without --protocol nothing is chosen.
    let plain = Server::start(&[]);
    let head = response_to(plain.addr, &request("Sec-WebSocket-Protocol: chat\r\n"));
    assert!(
        head.starts_with("HTTP/1.1 101 ") && !head.contains("Protocol:"),
        "{head}"
    );
}

#[test]
fn a_browser_gets_the_page_and_other_plain_requests_keep_426() {
    let server = Server::start(&[]);
    let mut s = connect(server.addr);
    s.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\nAccept: text/html,*/*;q=0.8\r\n\r\n")
        .unwrap();
    let all = common::read_to_eof(&mut s);
    let all = text(&all);
    let (head, body) = all.split_once("\r\n\r\n").expect("a whole response");
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert!(
        head.contains("Content-Type: text/html; charset=utf-8"),
        "{head}"
    );
    assert!(
        head.contains(&format!("Content-Length: {}\r\n", body.len())),
        "{head}"
    );
    assert!(
        body.contains("new WebSocket(") && body.contains("websock "),
        "{body}"
    );
    for plain in [
        "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: localhost\r\nAccept: application/json\r\n\r\n",
    ] {
        assert!(
            response_to(server.addr, plain).starts_with("HTTP/1.1 426 "),
            "{plain}"
        );
    }
    let no_page = Server::start(&["--no-page"]);
    let head = response_to(
        no_page.addr,
        "GET / HTTP/1.1\r\nHost: h\r\nAccept: text/html\r\n\r\n",
    );
    assert!(head.starts_with("HTTP/1.1 426 "), "{head}");
}

// ----- client -----

/// A one-connection fake server: completes the opening handshake (with
/// `extra` response headers) and hands the socket and the request to
/// `then`, on a thread. Returns its URL.
fn fake_server(
    extra: &'static str,
    then: impl FnOnce(TcpStream, String) + Send + 'static,
) -> (String, thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    let handle = thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        let mut req = Vec::new();
        let mut buf = [0u8; 4096];
        while !req.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = s.read(&mut buf).unwrap();
            assert!(n > 0, "request ended early");
            req.extend_from_slice(&buf[..n]);
        }
        let req = text(&req);
        let key = req
            .lines()
            .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
            .expect("a key");
        let accept = websock_core::handshake::accept_key(key.trim().as_bytes());
        write!(
            s,
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: {}\r\n{extra}\r\n",
            std::str::from_utf8(&accept).unwrap()
        )
        .unwrap();
        then(s, req);
    });
    (url, handle)
}

/// Reads one masked client frame: (opcode, payload).
fn client_frame(s: &mut TcpStream) -> (u8, Vec<u8>) {
    let mut head = [0u8; 2];
    s.read_exact(&mut head).unwrap();
    assert_ne!(head[1] & 0x80, 0, "client frames are masked");
    let len = match head[1] & 0x7f {
        126 => {
            let mut b = [0u8; 2];
            s.read_exact(&mut b).unwrap();
            u16::from_be_bytes(b) as usize
        }
        127 => {
            let mut b = [0u8; 8];
            s.read_exact(&mut b).unwrap();
            u64::from_be_bytes(b) as usize
        }
        n => n as usize,
    };
    let mut mask = [0u8; 4];
    s.read_exact(&mut mask).unwrap();
    let mut payload = vec![0u8; len];
    s.read_exact(&mut payload).unwrap();
    for (i, b) in payload.iter_mut().enumerate() {
        *b ^= mask[i % 4];
    }
    (head[0] & 0x0f, payload)
}

/// An unmasked server frame.
fn server_frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    assert!(payload.len() < 126);
    let mut f = vec![0x80 | opcode, payload.len() as u8];
    f.extend_from_slice(payload);
    f
}

#[test]
fn client_offers_protocols_and_adds_headers() {
    let (url, server) = fake_server("Sec-WebSocket-Protocol: v2\r\n", |mut s, req| {
        assert!(
            req.contains("\r\nSec-WebSocket-Protocol: chat, v2\r\n"),
            "{req}"
        );
        assert!(req.contains("\r\nAuthorization: Bearer abc\r\n"), "{req}");
        assert!(req.contains("\r\nOrigin: http://example.com\r\n"), "{req}");
        assert!(
            req.ends_with("\r\n\r\n") && !req.ends_with("\r\n\r\n\r\n"),
            "{req:?}"
        );
        assert_eq!(client_frame(&mut s), (1, b"hi".to_vec()));
        s.write_all(&server_frame(1, b"hi")).unwrap();
        assert_eq!(client_frame(&mut s).0, 8);
        s.write_all(&server_frame(8, &1000u16.to_be_bytes()))
            .unwrap();
    });
    let out = run_websock(
        &[
            "client",
            "--protocol",
            "chat",
            "--protocol",
            "v2",
            "-H",
            "Authorization: Bearer abc",
            "--header",
            "Origin:http://example.com",
            "--linger",
            "100",
            &url,
        ],
        b"hi\n",
    );
    server.join().unwrap();
    assert_eq!(text(&out.stdout), "hi\n");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

#[test]
fn client_against_serve_with_a_subprotocol() {
    let server = Server::start(&["--protocol", "chat"]);
    let out = run_websock(
        &[
            "client",
            "--protocol",
            "chat",
            "--linger",
            "50",
            &server.url(),
        ],
        b"a\nb\n",
    );
    assert_eq!(text(&out.stdout), "a\nb\n");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

#[test]
fn client_waits_for_late_replies_after_end_of_input() {
    // The reply comes 150 ms after the line: the default linger (500 ms)
    // waits for it; with --exit-on-eof the close goes out first.
    let script = |mut s: TcpStream, _req: String| {
        let (op, line) = client_frame(&mut s);
        assert_eq!(op, 1);
        thread::sleep(Duration::from_millis(150));
        let _ = s.write_all(&server_frame(1, &line));
        // Answer the close at once, as python-websockets does.
        loop {
            match client_frame(&mut s) {
                (8, _) => break,
                _ => continue,
            }
        }
        let _ = s.write_all(&server_frame(8, &1000u16.to_be_bytes()));
    };
    let (url, server) = fake_server("", script);
    let out = run_websock(&["client", &url], b"late\n");
    server.join().unwrap();
    assert_eq!(text(&out.stdout), "late\n");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));

    let script = |mut s: TcpStream, _req: String| {
        assert_eq!(client_frame(&mut s).0, 1);
        // The close frame arrives right after the line.
        assert_eq!(client_frame(&mut s).0, 8);
        let _ = s.write_all(&server_frame(8, &1000u16.to_be_bytes()));
    };
    let (url, server) = fake_server("", script);
    let out = run_websock(&["client", "--exit-on-eof", &url], b"late\n");
    server.join().unwrap();
    assert_eq!(out.stdout, b"");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

#[test]
fn client_linger_is_measured_from_the_last_message() {
    // Messages keep coming every 100 ms for 1.5 s after end of input,
    // three times the linger: the client waits for all of them.
    let script = |mut s: TcpStream, _req: String| {
        for i in 0..15 {
            thread::sleep(Duration::from_millis(100));
            s.write_all(&server_frame(1, format!("tick {i}").as_bytes()))
                .unwrap();
        }
        assert_eq!(client_frame(&mut s).0, 8);
        let _ = s.write_all(&server_frame(8, &1000u16.to_be_bytes()));
    };
    let (url, server) = fake_server("", script);
    let out = run_websock(&["client", "--linger", "500", &url], b"");
    server.join().unwrap();
    let want: String = (0..15).map(|i| format!("tick {i}\n")).collect();
    assert_eq!(text(&out.stdout), want);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

#[test]
fn client_exit_status_says_what_happened() {
    // 4: the server drops TCP without a closing handshake.
    let (url, server) = fake_server("", |s, _| drop(s));
    let out = run_websock(&["client", &url], b"");
    server.join().unwrap();
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("without a closing handshake"),
        "{}",
        text(&out.stderr)
    );

    // 5: no answer to the opening handshake in time.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    let out = run_websock(&["client", "--handshake-timeout-ms", "200", &url], b"");
    assert_eq!(out.status.code(), Some(5), "{}", text(&out.stderr));
    drop(listener);

    // 5: no answer to our close in time.
    let (url, server) = fake_server("", |mut s, _| {
        assert_eq!(client_frame(&mut s).0, 8);
        thread::sleep(Duration::from_millis(800));
    });
    let out = run_websock(
        &[
            "client",
            "--close-timeout-ms",
            "200",
            "--linger",
            "10",
            &url,
        ],
        b"",
    );
    server.join().unwrap();
    assert_eq!(out.status.code(), Some(5), "{}", text(&out.stderr));

    // 4: the server breaks the protocol (a masked frame).
    let (url, server) = fake_server("", |mut s, _| {
        let _ = s.write_all(&[0x81, 0x81, 1, 2, 3, 4, b'x' ^ 1]);
        let mut sink = Vec::new();
        let _ = s.read_to_end(&mut sink);
    });
    let out = run_websock(&["client", &url], b"");
    server.join().unwrap();
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stderr));

    // 6: the server closes cleanly, but with 1011; 0 for 1000 and 1001.
    for (code, status) in [(1011u16, 6), (1000, 0), (1001, 0)] {
        let (url, server) = fake_server("", move |mut s, _| {
            let mut payload = code.to_be_bytes().to_vec();
            payload.extend_from_slice(b"oops");
            s.write_all(&server_frame(8, &payload)).unwrap();
            let (opcode, reply) = client_frame(&mut s);
            assert_eq!((opcode, &reply[..2]), (8, &code.to_be_bytes()[..]));
        });
        let out = run_websock(&["client", &url], b"");
        server.join().unwrap();
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(status), "{code}: {stderr}");
        assert!(
            stderr.contains(&format!("the server closed the connection ({code} oops)")),
            "{stderr}"
        );
    }

    // 3 for a refused handshake is in client.rs; 0 everywhere else here.
}

#[test]
fn client_binary_round_trips_bytes() {
    let server = Server::start(&[]);
    let bytes: Vec<u8> = (0..=255u8).cycle().take(3000).collect();
    let out = run_websock(
        &["client", "--binary", "--linger", "100", &server.url()],
        &bytes,
    );
    assert_eq!(out.stdout, bytes);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

#[test]
fn client_slash_commands_ping_and_close_with_a_code() {
    let (url, server) = fake_server("", |mut s, _| {
        assert_eq!(client_frame(&mut s), (9, b"are you there".to_vec()));
        s.write_all(&server_frame(10, b"are you there")).unwrap();
        assert_eq!(client_frame(&mut s), (1, b"/etc".to_vec()));
        let (op, payload) = client_frame(&mut s);
        assert_eq!(op, 8);
        assert_eq!(&payload[..2], &4000u16.to_be_bytes());
        assert_eq!(&payload[2..], b"done here");
        s.write_all(&server_frame(8, &payload)).unwrap();
    });
    let out = run_websock(
        &["client", "--slash", "--show-ping-pong", &url],
        b"/ping are you there\n/nonsense\n//etc\n/close 4000 done here\nnot sent\n",
    );
    server.join().unwrap();
    assert_eq!(text(&out.stdout), "[pong] are you there\n");
    let err = text(&out.stderr);
    assert!(err.contains("unknown command '/nonsense'"), "{err}");
    assert_eq!(out.status.code(), Some(0), "{err}");
}

#[test]
fn client_pings_on_an_interval() {
    let (url, server) = fake_server("", |mut s, _| {
        for _ in 0..3 {
            let (op, payload) = client_frame(&mut s);
            assert_eq!(op, 9);
            s.write_all(&server_frame(10, &payload)).unwrap();
        }
        s.write_all(&server_frame(8, &1000u16.to_be_bytes()))
            .unwrap();
        assert_eq!(client_frame(&mut s).0, 8);
    });
    // stdin stays open (a child's pipe that is never written), so only the
    // pings and the server's close happen.
    let mut child = std::process::Command::new(common::BIN)
        .args(["client", "--ping-interval", "0.1", "--show-ping-pong", &url])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    server.join().unwrap();
    let status = wait_child(&mut child, IO_TIMEOUT);
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    assert_eq!(out, "[pong]\n[pong]\n[pong]\n");
    assert_eq!(status.code(), Some(0));
}

#[test]
fn ctrl_c_closes_with_1000_and_a_second_one_exits_at_once() {
    let (url, server) = fake_server("", |mut s, _| {
        s.write_all(&server_frame(1, b"ready")).unwrap();
        let (op, payload) = client_frame(&mut s);
        assert_eq!((op, &payload[..]), (8, &1000u16.to_be_bytes()[..]));
        // Never answer: the second Ctrl-C must end it.
        thread::sleep(Duration::from_secs(3));
    });
    let mut child = std::process::Command::new(common::BIN)
        .args(["client", "--close-timeout-ms", "20000", &url])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Once the first message is printed the connection is open.
    let mut ready = [0u8; 6];
    child
        .stdout
        .as_mut()
        .unwrap()
        .read_exact(&mut ready)
        .unwrap();
    assert_eq!(&ready, b"ready\n");
    let pid = child.id().to_string();
    let kill = |pid: &str| {
        let status = std::process::Command::new("kill")
            .args(["-INT", pid])
            .status()
            .unwrap();
        assert!(status.success());
    };
    kill(&pid);
    thread::sleep(Duration::from_millis(300));
    assert!(
        child.try_wait().unwrap().is_none(),
        "waits for the closing handshake"
    );
    kill(&pid);
    let status = wait_child(&mut child, Duration::from_secs(5));
    assert_eq!(status.code(), Some(130));
    server.join().unwrap();
}

#[test]
fn serve_says_where_to_point_a_browser() {
    let mut child = std::process::Command::new(common::BIN)
        .args(["serve", "--ws", "127.0.0.1:0", "--no-wss"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(child.stdout.take().unwrap()));
    let first = lines.next().unwrap().unwrap();
    let second = lines.next().unwrap().unwrap();
    let _ = child.kill();
    let _ = child.wait();
    let ws = first
        .split_whitespace()
        .find(|w| w.starts_with("ws://"))
        .unwrap();
    let http = ws.replace("ws://", "http://");
    assert_eq!(
        second,
        format!("websock: open {http}/ in a browser, or run: websock client {ws}/")
    );
}

#[test]
fn piped_lines_starting_with_a_slash_are_text_unless_slash_is_asked_for() {
    let server = Server::start(&[]);
    let url = server.url();
    for args in [
        &["client", "--linger", "50", &url][..],
        &["client", "--no-slash", "--linger", "50", &url],
    ] {
        let out = run_websock(args, b"/ping x\n/close 4000\n");
        assert_eq!(text(&out.stdout), "/ping x\n/close 4000\n", "{args:?}");
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    }
}
