//! `websock serve` against hostile and broken peers, over real sockets,
//! each fault with a well-behaved client echoing alongside that must see no
//! error and no stall: slowloris handshakes, peers that stop reading,
//! resets mid-message and mid-close, stalled TLS handshakes, silent peers
//! (idle timeout), and SIGTERM with a thousand connections mid-message.
//!
//! They hold a thousand and more sockets each, so they are marked ignored
//! for the plain `cargo test` and run by tests/suite-hostile.sh, which
//! raises the open-file limit first (`cargo test --release --test faults
//! -- --ignored`).

mod common;

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use common::{close_code, connect, masked, read_head, wait_child, Ws, BIN, GOOD_REQUEST};
use socket2::SockRef;

/// The longest a well-behaved client's echo may take before it counts as
/// stalled: far above a loopback round trip even on a loaded machine.
const STALL: Duration = Duration::from_secs(3);

/// A `websock serve` with its ws:// (and optionally wss://) address; killed
/// on drop.
struct Serve {
    child: Child,
    ws: SocketAddr,
    wss: Option<SocketAddr>,
    /// stderr lines, collected by a thread.
    log: Arc<std::sync::Mutex<Vec<String>>>,
    /// Plain connections are on the io_uring backend (the start line says).
    io_uring: bool,
}

impl Serve {
    fn start(tls: bool, args: &[&str]) -> Serve {
        Serve::start_with(tls, args, &[])
    }

    fn start_with(tls: bool, args: &[&str], env: &[(&str, &str)]) -> Serve {
        need_descriptors(2_400);
        let mut cmd = Command::new(BIN);
        cmd.envs(env.iter().copied());
        cmd.args(["serve", "--ws", "127.0.0.1:0", "--workers", "2"]);
        if tls {
            cmd.args(["--wss", "127.0.0.1:0"]);
        } else {
            cmd.arg("--no-wss");
        }
        let mut child = cmd
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start websock serve");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .expect("read the start line");
        let addr = |scheme: &str| {
            line.split_whitespace()
                .find_map(|w| w.strip_prefix(scheme))
                .map(|a| a.trim_end_matches(';').parse().expect("an address"))
        };
        let log = Arc::new(std::sync::Mutex::new(Vec::new()));
        let lines = Arc::clone(&log);
        let stderr = child.stderr.take().unwrap();
        thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                lines.lock().unwrap().push(line);
            }
        });
        Serve {
            ws: addr("ws://").unwrap_or_else(|| panic!("no ws:// in {line:?}")),
            wss: addr("wss://"),
            io_uring: line.contains(", io_uring)"),
            child,
            log,
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// TCP connections the server holds (listeners not counted), from the
    /// socket inodes among its descriptors and the kernel's TCP table.
    fn connections(&self) -> usize {
        let inodes: std::collections::HashSet<String> =
            std::fs::read_dir(format!("/proc/{}/fd", self.pid()))
                .expect("read the server's fd folder")
                .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
                .filter_map(|t| {
                    let t = t.to_string_lossy().into_owned();
                    Some(t.strip_prefix("socket:[")?.strip_suffix(']')?.to_string())
                })
                .collect();
        let table = std::fs::read_to_string("/proc/net/tcp").expect("read /proc/net/tcp");
        table
            .lines()
            .skip(1)
            .map(|l| l.split_whitespace().collect::<Vec<_>>())
            // Column 3 is the state (0A: listening), column 9 the inode.
            .filter(|f| f.len() > 9 && f[3] != "0A" && inodes.contains(f[9]))
            .count()
    }

    /// Resident memory in KiB.
    fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS")
    }

    /// Waits (bounded) until the server holds at most `n` connections.
    fn wait_connections_at_most(&self, n: usize, limit: Duration, what: &str) -> Duration {
        let start = Instant::now();
        loop {
            let now = self.connections();
            if now <= n {
                return start.elapsed();
            }
            assert!(
                start.elapsed() < limit,
                "{what}: the server still holds {now} connections after {limit:?} (wanted at most {n})"
            );
            thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Fails clearly when the open-file limit cannot hold the test.
fn need_descriptors(n: u64) {
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
    let soft = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|v| v.parse::<u64>().ok());
    if let Some(soft) = soft {
        assert!(
            soft >= n,
            "the open-file limit is {soft}; this test needs {n} (ulimit -n, as tests/suite-hostile.sh does)"
        );
    }
}

/// A well-behaved client echoing on its own thread until told to stop:
/// every echo must come back whole and within [`STALL`].
struct Good {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<u64>,
}

impl Good {
    fn start(addr: SocketAddr) -> Good {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = thread::spawn(move || {
            let mut ws = Ws::open(addr);
            ws.stream.set_read_timeout(Some(STALL)).unwrap();
            let mut n = 0u64;
            while !flag.load(Ordering::Relaxed) {
                let started = Instant::now();
                ws.echo_text(&format!(
                    "good client, message {n}: {}",
                    "x".repeat(n as usize % 300)
                ));
                assert!(started.elapsed() < STALL, "echo {n} stalled");
                n += 1;
                thread::sleep(Duration::from_millis(5));
            }
            ws.send_raw(&masked(true, 8, &1000u16.to_be_bytes()));
            let reply = ws.frame().expect("the close reply");
            assert_eq!(close_code(&reply), 1000);
            ws.expect_eof();
            n
        });
        Good { stop, thread }
    }

    /// Stops it and checks that it echoed all along.
    fn finish(self, at_least: u64) {
        self.stop.store(true, Ordering::Relaxed);
        let n = self
            .thread
            .join()
            .expect("the well-behaved client saw an error or a stall");
        assert!(
            n >= at_least,
            "the well-behaved client echoed only {n} messages"
        );
    }
}

/// Opens a connection and completes the handshake, leaving the socket as is.
fn opened(addr: SocketAddr) -> TcpStream {
    let mut s = connect(addr);
    s.write_all(GOOD_REQUEST.as_bytes()).unwrap();
    let (head, rest) = read_head(&mut s);
    assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
    assert!(rest.is_empty());
    s
}

/// Whether the peer has ended the connection (EOF or reset), without
/// blocking; data that arrives is read and dropped.
fn ended(s: &mut TcpStream) -> bool {
    s.set_nonblocking(true).unwrap();
    let mut buf = [0u8; 4096];
    let ended = loop {
        match s.read(&mut buf) {
            Ok(0) => break true,
            Ok(_) => continue,
            Err(e) if e.kind() == ErrorKind::WouldBlock => break false,
            Err(_) => break true,
        }
    };
    s.set_nonblocking(false).unwrap();
    ended
}

/// Closes with a reset (SO_LINGER 0) instead of a FIN.
fn reset(s: TcpStream) {
    SockRef::from(&s).set_linger(Some(Duration::ZERO)).unwrap();
    drop(s);
}

#[test]
#[ignore = "1000 connections: run by tests/suite-hostile.sh"]
fn slowloris_handshakes_are_cut_by_the_handshake_timeout() {
    let server = Serve::start(false, &["--handshake-timeout-ms", "2000"]);
    let good = Good::start(server.ws);
    let start = Instant::now();
    let mut loris: Vec<(TcpStream, Option<Duration>)> =
        (0..1000).map(|_| (connect(server.ws), None)).collect();
    let request = GOOD_REQUEST.as_bytes();
    // A byte of the request every half second each: the request would take
    // over a minute, the timeout is two seconds.
    let mut sent = 0;
    while loris.iter().any(|(_, end)| end.is_none()) {
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "slowloris connections outlived the timeout"
        );
        for (s, end) in loris.iter_mut().filter(|(_, end)| end.is_none()) {
            if ended(s) {
                *end = Some(start.elapsed());
            } else {
                let _ = s.write(&request[sent % request.len()..][..1]);
            }
        }
        sent += 1;
        thread::sleep(Duration::from_millis(500));
    }
    let first = loris.iter().filter_map(|(_, e)| *e).min().unwrap();
    let last = loris.iter().filter_map(|(_, e)| *e).max().unwrap();
    assert!(
        first >= Duration::from_millis(1_900),
        "cut before the timeout: {first:?}"
    );
    // The handshake timeout, then at most the linger time for their end of
    // stream (they keep sending), plus the half second between looks.
    assert!(last <= Duration::from_secs(6), "last one cut at {last:?}");
    drop(loris);
    server.wait_connections_at_most(1, Duration::from_secs(5), "slowloris");
    good.finish(10);
    println!("1000 slowloris connections cut between {first:?} and {last:?}");
}

#[test]
#[ignore = "many sockets and megabytes: run by tests/suite-hostile.sh"]
fn peers_that_stop_reading_are_held_to_the_limit_then_dropped() {
    const PEERS: usize = 12;
    const HIGH_WATER: u64 = 256 * 1024;
    // glibc raises its mmap threshold each time a large block is freed,
    // after which freed output queues stay in its heap instead of going
    // back to the system; a fixed threshold keeps them on their own
    // mappings, so the server's RSS shows what websock holds.
    let server = Serve::start_with(
        false,
        &[
            "--max-pending-output",
            "262144",
            "--write-timeout-ms",
            "3000",
        ],
        &[("MALLOC_MMAP_THRESHOLD_", "131072")],
    );
    let good = Good::start(server.ws);
    let rss_before = server.rss_kib();
    // Each peer, on its own thread, writes until the server stops reading
    // it (its echo output is at the mark and the socket buffers both ways
    // are full) and never reads.
    let peers: Vec<JoinHandle<TcpStream>> = (0..PEERS)
        .map(|_| {
            let addr = server.ws;
            thread::spawn(move || {
                let message = masked(true, 2, &vec![0x5a; 60_000]);
                let mut s = opened(addr);
                // Small buffers on our side, so that less has to pass
                // before the server's own buffers and queue are full.
                SockRef::from(&s).set_recv_buffer_size(64 * 1024).unwrap();
                SockRef::from(&s).set_send_buffer_size(64 * 1024).unwrap();
                s.set_write_timeout(Some(Duration::from_millis(500)))
                    .unwrap();
                while s.write_all(&message).is_ok() {}
                s
            })
        })
        .collect();
    // The server's memory, sampled until the write timeout has dropped them.
    let start = Instant::now();
    let mut rss_full = rss_before;
    let mut filled = false;
    loop {
        rss_full = rss_full.max(server.rss_kib());
        filled = filled || peers.iter().all(|p| p.is_finished());
        if filled && server.connections() <= 1 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "stuck peers still connected after 20 s"
        );
        thread::sleep(Duration::from_millis(20));
    }
    let took = start.elapsed();
    let peers: Vec<TcpStream> = peers.into_iter().map(|p| p.join().unwrap()).collect();
    let grew = rss_full - rss_before;
    // What a peer can hold: the output queue up to the mark plus one read's
    // echo past it (64 KiB), in a buffer grown by doubling (so 512 KiB),
    // and the echo's gathering buffer (up to 128 KiB). On io_uring, two
    // such output buffers (the one the kernel writes from and the one
    // filling behind it, both counted toward the mark), and each worker's
    // loop keeps its receive buffers (2 MiB) and up to 1 MiB of send
    // buffers for reuse.
    let (output_buffers, loops_kib) = if server.io_uring {
        (2, 2 * 3072)
    } else {
        (1, 0)
    };
    let bound_kib = PEERS as u64 * (512 * output_buffers + 128) + loops_kib;
    assert!(
        grew < bound_kib + 4 * 1024,
        "memory grew by {grew} KiB with {PEERS} stuck peers (bound {bound_kib} KiB)"
    );
    // And it did hold their output (so the drop below frees something).
    assert!(
        grew >= PEERS as u64 * HIGH_WATER / 1024,
        "memory grew by only {grew} KiB: the peers never filled their queues"
    );
    // The queues are gone with their connections: most of that memory is
    // back (what stays is small blocks glibc keeps in its heap).
    let rss_after = server.rss_kib();
    assert!(
        rss_after <= rss_before + grew / 2 + loops_kib / 2,
        "memory did not return: {rss_before} KiB before, {rss_full} KiB full, {rss_after} KiB after"
    );
    drop(peers);
    good.finish(10);
    println!(
        "{PEERS} stuck peers: server RSS {rss_before} KiB -> {rss_full} KiB at most -> {rss_after} KiB; all dropped {took:?} after the start"
    );
}

#[test]
#[ignore = "hundreds of connections: run by tests/suite-hostile.sh"]
fn peers_that_reset_mid_message_and_mid_close_leave_no_trace() {
    let server = Serve::start(false, &[]);
    let good = Good::start(server.ws);
    for round in 0..100u64 {
        // Half a frame header, half a payload, a whole frame of a message
        // whose echo is being written, a close frame unanswered, a close
        // frame with its reply unread: then a reset.
        let mut a = opened(server.ws);
        a.write_all(&masked(true, 2, &[1; 200])[..1]).unwrap();
        reset(a);
        let mut b = opened(server.ws);
        b.write_all(&masked(true, 2, &[2; 5000])[..3000]).unwrap();
        reset(b);
        let mut c = opened(server.ws);
        c.write_all(&masked(false, 2, &vec![3; 200_000])).unwrap();
        reset(c);
        let mut d = opened(server.ws);
        d.write_all(&masked(true, 8, &1000u16.to_be_bytes()))
            .unwrap();
        reset(d);
        let mut e = opened(server.ws);
        e.write_all(&masked(true, 2, &[4; 100])).unwrap();
        e.write_all(&masked(true, 8, &1001u16.to_be_bytes()))
            .unwrap();
        thread::sleep(Duration::from_millis(round % 3));
        reset(e);
        // A reset in the middle of the handshake too.
        let mut f = connect(server.ws);
        f.write_all(&GOOD_REQUEST.as_bytes()[..40]).unwrap();
        reset(f);
    }
    server.wait_connections_at_most(1, Duration::from_secs(10), "reset peers");
    good.finish(10);
    // The server is still whole: a new connection echoes.
    Ws::open(server.ws).echo_text("after the resets");
}

#[test]
#[ignore = "hundreds of connections: run by tests/suite-hostile.sh"]
fn stalled_tls_handshakes_are_cut_by_the_handshake_timeout() {
    let server = Serve::start(true, &["--handshake-timeout-ms", "2000"]);
    let wss = server.wss.expect("a wss:// address");
    let good = Good::start(server.ws);
    let start = Instant::now();
    // 200 that say nothing, 200 that stop inside a ClientHello's record.
    let mut stalled: Vec<TcpStream> = (0..400).map(|_| connect(wss)).collect();
    for s in &mut stalled[200..] {
        s.write_all(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01])
            .unwrap();
    }
    for s in &mut stalled {
        // A blocking read: the server must end it (15 s at most).
        let mut buf = [0u8; 64];
        loop {
            match s.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
    }
    let took = start.elapsed();
    assert!(
        took >= Duration::from_millis(1_900),
        "cut before the timeout: {took:?}"
    );
    assert!(took <= Duration::from_secs(5), "cut only after {took:?}");
    drop(stalled);
    server.wait_connections_at_most(1, Duration::from_secs(5), "stalled TLS");
    good.finish(10);
    // Peer warnings are rate limited: the first few are printed in full.
    let log = server.log.lock().unwrap().join("\n");
    assert!(log.contains("TLS handshake timed out"), "{log}");
}

#[test]
#[ignore = "waits for timeouts: run by tests/suite-hostile.sh"]
fn silent_peers_are_closed_and_live_ones_kept_by_pings() {
    let server = Serve::start(false, &["--idle-timeout-ms", "2000"]);
    let good = Good::start(server.ws);
    // A live peer that sends nothing but answers pings (as every client
    // must), and one that pings on its own and ignores ours.
    let live = thread::spawn({
        let addr = server.ws;
        move || {
            let mut ws = Ws::open(addr);
            ws.stream
                .set_read_timeout(Some(Duration::from_millis(200)))
                .unwrap();
            let start = Instant::now();
            let mut pings = 0;
            let mut buf = [0u8; 64];
            while start.elapsed() < Duration::from_secs(5) {
                match ws.stream.read(&mut buf[..2]) {
                    Ok(2) => {
                        assert_eq!(buf[..2], [0x89, 0x00], "only an empty ping may come");
                        ws.send_raw(&masked(true, 10, &[]));
                        pings += 1;
                    }
                    Ok(n) => panic!("unexpected {n} bytes"),
                    Err(e) => assert!(
                        matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
                        "{e}"
                    ),
                }
            }
            ws.stream.set_read_timeout(Some(STALL)).unwrap();
            // A ping may still cross our message: answer it, then the
            // echo must come.
            let text = b"still here after 5 s of silence";
            ws.send_raw(&masked(true, 1, text));
            loop {
                match ws.message() {
                    (9, payload) => {
                        assert!(payload.is_empty(), "only an empty ping may come");
                        ws.send_raw(&masked(true, 10, &[]));
                        pings += 1;
                    }
                    (op, payload) => {
                        assert_eq!((op, payload), (1, text.to_vec()));
                        break;
                    }
                }
            }
            pings
        }
    });
    let pinger = thread::spawn({
        let addr = server.ws;
        move || {
            let mut ws = Ws::open(addr);
            let start = Instant::now();
            while start.elapsed() < Duration::from_secs(5) {
                ws.send_raw(&masked(true, 9, b"are you there"));
                thread::sleep(Duration::from_millis(400));
            }
            // Our pings' pongs and perhaps the server's pings are queued;
            // an echo still comes after them.
            ws.send_raw(&masked(true, 1, b"still here"));
            loop {
                let (op, payload) = ws.message();
                if op == 1 {
                    assert_eq!(payload, b"still here");
                    break;
                }
                assert!(op == 10 || op == 9, "opcode {op}");
            }
        }
    });
    // The silent peers: open, then never read nor write again.
    let start = Instant::now();
    let mut silent: Vec<TcpStream> = (0..200).map(|_| opened(server.ws)).collect();
    let mut frames = Vec::new();
    for s in &mut silent {
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut all = Vec::new();
        let _ = s.read_to_end(&mut all);
        frames.push(all);
    }
    let took = start.elapsed();
    for all in &frames {
        // A ping after half the timeout, then a 1001 close, then the end.
        assert_eq!(all[..2], [0x89, 0x00], "{all:?}");
        assert_eq!(all[2], 0x88, "{all:?}");
        assert_eq!(all[4..6], [0x03, 0xe9], "{all:?}");
    }
    assert!(
        took >= Duration::from_millis(1_900),
        "closed before the timeout: {took:?}"
    );
    assert!(took <= Duration::from_secs(6), "closed only after {took:?}");
    let pings = live.join().expect("the live peer was dropped");
    assert!(pings >= 2, "the live peer saw {pings} pings in 5 s");
    pinger.join().expect("the pinging peer was dropped");
    good.finish(10);
}

#[test]
#[ignore = "1000 connections: run by tests/suite-hostile.sh"]
fn sigterm_mid_message_completes_every_message_then_closes_with_1001() {
    const CONNECTIONS: usize = 1000;
    const CLOSE_TIMEOUT: Duration = Duration::from_secs(4);
    let mut server = Serve::start(false, &["--close-timeout-ms", "4000"]);
    // Even connections are inside a small fragmented text message (the
    // echo is still gathering it); odd ones inside a large binary one of
    // which a first fragment (64 KiB or more of its first 70,000 bytes, as
    // the reads fall) has already been echoed.
    let big = |i: usize| -> Vec<u8> { (0..70_000).map(|j| (i * 7 + j) as u8).collect() };
    let mut conns: Vec<Ws> = (0..CONNECTIONS)
        .map(|i| {
            let mut ws = Ws::open(server.ws);
            if i % 2 == 0 {
                ws.send_raw(&masked(false, 1, format!("connection {i}, ").as_bytes()));
            } else {
                ws.send_raw(&masked(false, 2, &big(i)));
            }
            ws
        })
        .collect();
    // Odd ones: wait for the echo's first fragment, so the server is
    // mid-message on its side too when the signal comes.
    let mut echoed = vec![0; CONNECTIONS];
    for (i, ws) in conns.iter_mut().enumerate().skip(1).step_by(2) {
        let f = ws.frame().expect("the first fragment");
        assert_eq!((f.fin, f.opcode), (false, 2));
        assert!(f.payload.len() >= 64 * 1024, "{} bytes", f.payload.len());
        assert!(f.payload == big(i)[..f.payload.len()], "connection {i}");
        echoed[i] = f.payload.len();
    }
    let signalled = Instant::now();
    let status = Command::new("kill")
        .args(["-TERM", &server.pid().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success());
    thread::sleep(Duration::from_millis(300));
    for (i, ws) in conns.iter_mut().enumerate() {
        if i % 2 == 0 {
            ws.send_raw(&masked(false, 0, b"second part, "));
            ws.send_raw(&masked(true, 0, b"end."));
            let (op, payload) = ws.message();
            assert_eq!(op, 1);
            assert_eq!(
                payload,
                format!("connection {i}, second part, end.").as_bytes()
            );
        } else {
            ws.send_raw(&masked(true, 0, b"tail"));
            let mut rest = Vec::new();
            loop {
                let f = ws.frame().expect("the rest of the echo");
                assert_eq!(f.opcode, 0, "a continuation, not {f:?}");
                rest.extend_from_slice(&f.payload);
                if f.fin {
                    break;
                }
            }
            let mut want = big(i)[echoed[i]..].to_vec();
            want.extend_from_slice(b"tail");
            assert!(rest == want, "connection {i}");
        }
        let close = ws.frame().expect("the close frame");
        assert_eq!(close_code(&close), 1001, "connection {i}");
        ws.send_raw(&masked(true, 8, &1001u16.to_be_bytes()));
    }
    for ws in &mut conns {
        ws.expect_eof();
    }
    let status = wait_child(&mut server.child, CLOSE_TIMEOUT + Duration::from_secs(2));
    let took = signalled.elapsed();
    assert!(status.success(), "{status:?}");
    assert!(
        took < CLOSE_TIMEOUT + Duration::from_secs(1),
        "exit took {took:?}"
    );
    println!("{CONNECTIONS} connections mid-message: all completed, closed with 1001; exit after {took:?}");
}
