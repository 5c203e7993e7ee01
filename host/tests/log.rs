//! The server's log: timestamped lines, and a flood of bad peers costs a
//! bounded number of lines that still account for every one of them.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use common::{connect, read_to_eof, wait_child, BIN, IO_TIMEOUT};

/// Runs `websock serve --no-ws --wss 127.0.0.1:0 ARGS`, sends `bad` plain
/// HTTP requests to its TLS port (each a failed TLS handshake), stops it
/// with SIGTERM and returns every line of its stderr.
fn flood(bad: usize, args: &[&str]) -> Vec<String> {
    let mut child = Command::new(BIN)
        .args(["serve", "--no-ws", "--wss", "127.0.0.1:0"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start websock serve");
    let mut start = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut start)
        .unwrap();
    let addr: std::net::SocketAddr = start
        .split_whitespace()
        .find_map(|w| w.strip_prefix("wss://"))
        .expect("a wss:// address")
        .trim_end_matches([',', ';', ')'])
        .parse()
        .unwrap();
    let lines = Arc::new(Mutex::new(Vec::new()));
    let stderr = child.stderr.take().unwrap();
    let sink = Arc::clone(&lines);
    let reader = thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            sink.lock().unwrap().push(line);
        }
    });
    // Four at a time, like a small crowd of misconfigured clients.
    let per = bad / 4;
    let senders: Vec<_> = (0..4)
        .map(|i| {
            let n = if i == 3 { bad - 3 * per } else { per };
            thread::spawn(move || {
                for _ in 0..n {
                    let mut s = connect(addr);
                    s.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
                        .unwrap();
                    read_to_eof(&mut s);
                }
            })
        })
        .collect();
    for s in senders {
        s.join().unwrap();
    }
    // Every connection has ended on our side; give the server a moment to
    // have logged the last of them, then stop it.
    thread::sleep(Duration::from_millis(200));
    let pid = child.id().to_string();
    Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    let status = wait_child(&mut child, IO_TIMEOUT);
    assert!(status.success(), "{status:?}");
    reader.join().unwrap();
    let lines = lines.lock().unwrap().clone();
    lines
}

/// `2026-12-02T01:02:03.456Z websock: ` at the start.
fn timestamped(line: &str) -> bool {
    let b = line.as_bytes();
    b.len() > 34
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && b[19] == b'.'
        && b[23] == b'Z'
        && line[24..].starts_with(" websock: ")
        && [0..4, 5..7, 8..10, 11..13, 14..16, 17..19, 20..23]
            .into_iter()
            .all(|r| b[r].iter().all(u8::is_ascii_digit))
}

#[test]
fn a_thousand_bad_tls_handshakes_give_a_few_lines_that_count_them_all() {
    let lines = flood(1000, &[]);
    assert!(
        lines.len() <= 20,
        "{} lines for 1000 bad peers:\n{}",
        lines.len(),
        lines.join("\n")
    );
    let mut accounted = 0;
    for line in &lines {
        assert!(timestamped(line), "{line}");
        if line.contains("wss peer 127.0.0.1:") {
            assert!(line.contains("plain text"), "{line}");
            accounted += 1;
        } else if let Some(n) = line
            .split_once(" websock: ")
            .and_then(|(_, rest)| rest.strip_suffix(" s (not printed)"))
            .and_then(|rest| rest.split_once(" more warnings about peers in the last "))
        {
            accounted += n.0.parse::<usize>().expect("a count");
        } else {
            assert!(line.contains("are counted, not printed"), "{line}");
        }
    }
    assert_eq!(accounted, 1000, "{}", lines.join("\n"));
}

#[test]
fn quiet_drops_peer_warnings() {
    let lines = flood(20, &["--quiet"]);
    assert!(lines.is_empty(), "{lines:?}");
}

#[test]
fn accept_failing_for_want_of_descriptors_is_summarised_not_repeated() {
    // 24 descriptors: a few connections exhaust them, and accept fails
    // again at every retry (every 100 ms) while they stay open.
    let mut child = Command::new("sh")
        .args([
            "-c",
            "ulimit -n 24 && exec \"$0\" serve --ws 127.0.0.1:0 --no-wss --workers 1",
        ])
        .arg(BIN)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start websock serve");
    let mut start = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut start)
        .unwrap();
    let addr: std::net::SocketAddr = start
        .split_whitespace()
        .find_map(|w| w.strip_prefix("ws://"))
        .expect("a ws:// address")
        .parse()
        .unwrap();
    let held: Vec<_> = (0..30).map(|_| connect(addr)).collect();
    thread::sleep(Duration::from_millis(2000));
    drop(held);
    thread::sleep(Duration::from_millis(200));
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let status = wait_child(&mut child, IO_TIMEOUT);
    assert!(status.success(), "{status:?}");
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    let failures = err.lines().filter(|l| l.contains("accept failed")).count();
    assert!((1..=5).contains(&failures), "{err}");
    assert!(err.lines().count() <= 8, "{err}");
    assert!(
        err.lines().any(|l| l.contains(" more errors in the last ")),
        "about 20 retries in 2 s: the rest are counted\n{err}"
    );
    assert!(err.lines().all(timestamped), "{err}");
}
