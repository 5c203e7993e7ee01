//! A closed-loop echo load generator on one epoll loop (mio): each
//! connection sends one binary message and sends the next as soon as the
//! echo is back in full. Frames are built once (masked with a fixed key)
//! and echoes are only parsed for their frame headers, so the generator
//! spends as little as it can per message and the server is the bottleneck.
//!
//! After a warm-up it measures for a window and prints one line of
//! `key=value` figures: echoes per second, and when `--pid` names the
//! server, its CPU time over the window (utime + stime of every thread,
//! from `/proc/PID/stat`), CPU per message and its peak RSS (`VmHWM`).
//!
//! Usage: `load ADDR --conns N --size BYTES [--seconds S] [--warmup S]
//! [--raw] [--pid PID] [--messages N]`. `--raw` speaks no WebSocket (no
//! handshake; the same bytes must come back), for a plain TCP echo.
//! `--messages N` stops after N echoes instead of after a time (no
//! warm-up): a fixed amount of work, for counting the server's
//! instructions (e.g. under `valgrind --tool=callgrind`, where time means
//! little).

use std::io::{self, Read, Write};
use std::net::TcpStream as StdStream;
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};

const MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

struct Args {
    addr: String,
    conns: usize,
    size: usize,
    seconds: f64,
    warmup: f64,
    raw: bool,
    pid: Option<u32>,
    messages: Option<u64>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = std::env::args().skip(1);
    let mut parsed = Args {
        addr: String::new(),
        conns: 100,
        size: 20,
        seconds: 3.0,
        warmup: 1.0,
        raw: false,
        pid: None,
        messages: None,
    };
    while let Some(a) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match a.as_str() {
            "--conns" => parsed.conns = value(&a)?.parse().map_err(|e| format!("{a}: {e}"))?,
            "--size" => parsed.size = value(&a)?.parse().map_err(|e| format!("{a}: {e}"))?,
            "--seconds" => parsed.seconds = value(&a)?.parse().map_err(|e| format!("{a}: {e}"))?,
            "--warmup" => parsed.warmup = value(&a)?.parse().map_err(|e| format!("{a}: {e}"))?,
            "--pid" => parsed.pid = Some(value(&a)?.parse().map_err(|e| format!("{a}: {e}"))?),
            "--messages" => {
                parsed.messages = Some(value(&a)?.parse().map_err(|e| format!("{a}: {e}"))?)
            }
            "--raw" => parsed.raw = true,
            _ if a.starts_with('-') => return Err(format!("unknown option {a}")),
            _ => parsed.addr = a,
        }
    }
    if parsed.addr.is_empty() {
        return Err("usage: load ADDR --conns N --size BYTES [--seconds S] [--warmup S] [--raw] [--pid PID] [--messages N]".into());
    }
    if parsed.messages.is_some() {
        parsed.warmup = 0.0;
        parsed.seconds = f64::INFINITY;
    }
    Ok(parsed)
}

/// A masked binary frame carrying `size` bytes.
fn client_frame(size: usize) -> Vec<u8> {
    let mut f = vec![0x82];
    match size {
        0..=125 => f.push(0x80 | size as u8),
        126..=65535 => {
            f.push(0x80 | 126);
            f.extend_from_slice(&(size as u16).to_be_bytes());
        }
        _ => {
            f.push(0x80 | 127);
            f.extend_from_slice(&(size as u64).to_be_bytes());
        }
    }
    f.extend_from_slice(&MASK);
    f.extend((0..size).map(|i| b'x' ^ MASK[i % 4]));
    f
}

/// Counts whole messages in a server's stream of frames.
#[derive(Default)]
struct Frames {
    head: [u8; 14],
    head_len: usize,
    payload_left: u64,
    in_payload: bool,
    /// The frame being read ends a data message.
    ends_message: bool,
}

impl Frames {
    /// Consumes `data`; returns the messages it completed.
    fn feed(&mut self, mut data: &[u8]) -> usize {
        let mut done = 0;
        while !data.is_empty() || (self.in_payload && self.payload_left == 0) {
            if self.in_payload {
                let take = (self.payload_left.min(data.len() as u64)) as usize;
                self.payload_left -= take as u64;
                data = &data[take..];
                if self.payload_left == 0 {
                    self.in_payload = false;
                    done += usize::from(self.ends_message);
                }
                continue;
            }
            self.head[self.head_len] = data[0];
            self.head_len += 1;
            data = &data[1..];
            if self.head_len < 2 {
                continue;
            }
            let len7 = self.head[1] & 0x7f;
            let need =
                2 + match len7 {
                    126 => 2,
                    127 => 8,
                    _ => 0,
                } + if self.head[1] & 0x80 != 0 { 4 } else { 0 };
            if self.head_len < need {
                continue;
            }
            self.payload_left = match len7 {
                126 => u16::from_be_bytes([self.head[2], self.head[3]]) as u64,
                127 => u64::from_be_bytes(self.head[2..10].try_into().unwrap_or([0; 8])),
                n => n as u64,
            };
            let fin = self.head[0] & 0x80 != 0;
            let control = self.head[0] & 0x08 != 0;
            self.ends_message = fin && !control;
            self.in_payload = true;
            self.head_len = 0;
        }
        done
    }
}

struct Conn {
    sock: TcpStream,
    /// Bytes of the current message written.
    sent: usize,
    frames: Frames,
    /// Raw mode: bytes of the current echo received.
    raw_received: usize,
}

fn handshake(addr: &str) -> io::Result<StdStream> {
    let mut s = StdStream::connect(addr)?;
    s.set_nodelay(true)?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    let req = format!(
        "GET / HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    s.write_all(req.as_bytes())?;
    let mut resp = Vec::new();
    let mut byte = [0u8; 1];
    while !resp.ends_with(b"\r\n\r\n") {
        if s.read(&mut byte)? == 0 {
            return Err(io::Error::other("server closed during the handshake"));
        }
        resp.push(byte[0]);
    }
    if !resp.starts_with(b"HTTP/1.1 101") {
        return Err(io::Error::other(format!(
            "handshake refused: {}",
            String::from_utf8_lossy(&resp[..resp.len().min(80)])
        )));
    }
    Ok(s)
}

/// utime + stime of every thread of `pid`, in clock ticks.
fn cpu_ticks(pid: &str) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which may hold spaces, in parentheses.
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split(' ').collect();
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

fn vm_hwm_kb(pid: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn ticks_per_second() -> f64 {
    // The kernel's USER_HZ is 100 on every Linux architecture we run.
    100.0
}

fn main() {
    if let Err(e) = run() {
        eprintln!("load: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let args = parse_args()?;
    let frame = if args.raw {
        vec![b'x'; args.size.max(1)]
    } else {
        client_frame(args.size)
    };
    let mut poll = Poll::new().map_err(|e| e.to_string())?;
    let mut conns = Vec::with_capacity(args.conns);
    for i in 0..args.conns {
        let s = if args.raw {
            let s = StdStream::connect(&args.addr).map_err(|e| format!("connect: {e}"))?;
            s.set_nodelay(true).map_err(|e| e.to_string())?;
            s
        } else {
            handshake(&args.addr).map_err(|e| format!("connection {i}: {e}"))?
        };
        s.set_nonblocking(true).map_err(|e| e.to_string())?;
        let mut sock = TcpStream::from_std(s);
        poll.registry()
            .register(&mut sock, Token(i), Interest::READABLE | Interest::WRITABLE)
            .map_err(|e| e.to_string())?;
        conns.push(Conn {
            sock,
            sent: 0,
            frames: Frames::default(),
            raw_received: 0,
        });
    }
    let mut buf = vec![0u8; 256 * 1024];
    let mut events = Events::with_capacity(4096);
    let start = Instant::now();
    let warmup = Duration::from_secs_f64(args.warmup);
    let end =
        warmup.saturating_add(Duration::try_from_secs_f64(args.seconds).unwrap_or(Duration::MAX));
    let pid = args.pid.map(|p| p.to_string());
    let mut measuring = false;
    let (mut echoes, mut window_start, mut cpu_start) = (0u64, start, 0u64);
    for conn in &mut conns {
        send(conn, &frame)?;
    }
    loop {
        let now = start.elapsed();
        if !measuring && now >= warmup {
            measuring = true;
            echoes = 0;
            window_start = Instant::now();
            cpu_start = pid.as_deref().and_then(cpu_ticks).unwrap_or(0);
        }
        if now >= end || args.messages.is_some_and(|n| echoes >= n) {
            break;
        }
        poll.poll(&mut events, Some(Duration::from_millis(50)))
            .map_err(|e| e.to_string())?;
        for event in events.iter() {
            let conn = &mut conns[event.token().0];
            loop {
                let n = match conn.sock.read(&mut buf) {
                    Ok(0) => return Err("the server closed a connection".into()),
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(format!("read: {e}")),
                };
                let done = if args.raw {
                    conn.raw_received += n;
                    let d = conn.raw_received / frame.len();
                    conn.raw_received %= frame.len();
                    d
                } else {
                    conn.frames.feed(&buf[..n])
                };
                for _ in 0..done {
                    echoes += 1;
                    conn.sent = 0;
                }
            }
            send(conn, &frame)?;
        }
    }
    let secs = window_start.elapsed().as_secs_f64();
    let rate = echoes as f64 / secs;
    let mut line = format!(
        "conns={} size={} secs={secs:.2} echoes={echoes} msgs_per_s={rate:.0}",
        args.conns, args.size
    );
    if let Some(pid) = pid.as_deref() {
        let cpu = cpu_ticks(pid).unwrap_or(0).saturating_sub(cpu_start) as f64 / ticks_per_second();
        let us = if echoes > 0 {
            cpu * 1e6 / echoes as f64
        } else {
            0.0
        };
        let hwm = vm_hwm_kb(pid).unwrap_or(0);
        line += &format!(" server_cpu_s={cpu:.2} server_us_per_msg={us:.2} server_hwm_kb={hwm}");
    }
    println!("{line}");
    Ok(())
}

/// Writes what is left of the current message, if the socket takes it.
fn send(conn: &mut Conn, frame: &[u8]) -> Result<(), String> {
    while conn.sent < frame.len() {
        match conn.sock.write(&frame[conn.sent..]) {
            Ok(n) => conn.sent += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(format!("write: {e}")),
        }
    }
    Ok(())
}
