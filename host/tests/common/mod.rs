//! Shared helpers for the integration tests: start the real `websock`
//! binary, and speak raw HTTP and WebSocket frames to it over real sockets.
//! Every wait is bounded (socket timeouts, process deadlines) so that a
//! broken server fails a test instead of hanging it.

#![allow(dead_code)] // each test file uses its own subset

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_websock");

/// The longest any single read may block; far above what any step needs,
/// it only turns a hang into a failure.
pub const IO_TIMEOUT: Duration = Duration::from_secs(15);

/// A `websock serve` process on a port the system picked; killed on drop.
pub struct Server {
    pub child: Child,
    pub addr: SocketAddr,
    /// What it printed first (where it serves, with which I/O backend).
    pub start_line: String,
}

impl Server {
    /// Starts `websock serve --ws 127.0.0.1:0 --no-wss` plus `args` and
    /// reads the address from its start line.
    pub fn start(args: &[&str]) -> Server {
        Server::start_with(args, |c| c)
    }

    /// [`Server::start`] with the command adjusted first (environment).
    pub fn start_with(args: &[&str], adjust: impl FnOnce(&mut Command) -> &mut Command) -> Server {
        let mut command = Command::new(BIN);
        command
            .args(["serve", "--ws", "127.0.0.1:0", "--no-wss"])
            .args(args);
        let mut child = adjust(&mut command)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start websock serve");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read the start line");
        let addr = line
            .split_whitespace()
            .find_map(|w| w.strip_prefix("ws://"))
            .unwrap_or_else(|| panic!("no ws:// address in start line {line:?}"))
            .parse()
            .unwrap_or_else(|e| panic!("bad address in {line:?}: {e}"));
        Server {
            child,
            addr,
            start_line: line,
        }
    }

    /// `ws://HOST:PORT/`.
    pub fn url(&self) -> String {
        format!("ws://{}/", self.addr)
    }

    /// Waits (bounded) for the process to exit by itself.
    pub fn wait_exit(&mut self) -> ExitStatus {
        wait_child(&mut self.child, IO_TIMEOUT)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits for `child` up to `limit`, killing it and failing past that.
pub fn wait_child(child: &mut Child, limit: Duration) -> ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("process did not exit within {limit:?}");
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// Runs `websock ARGS` with `stdin` as input and returns its output,
/// bounded in time.
pub fn run_websock(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start websock");
    let mut input = child.stdin.take().expect("piped stdin");
    let bytes = stdin.to_vec();
    // Written from a thread so that a child that does not read cannot
    // block the test; dropping the pipe is the end of input.
    let writer = thread::spawn(move || {
        let _ = input.write_all(&bytes);
    });
    let mut stdout = child.stdout.take().expect("piped stdout");
    let mut stderr = child.stderr.take().expect("piped stderr");
    let out = thread::spawn(move || {
        let mut v = Vec::new();
        let _ = stdout.read_to_end(&mut v);
        v
    });
    let err = thread::spawn(move || {
        let mut v = Vec::new();
        let _ = stderr.read_to_end(&mut v);
        v
    });
    let status = wait_child(&mut child, Duration::from_secs(30));
    writer.join().expect("stdin writer");
    Output {
        status,
        stdout: out.join().expect("stdout reader"),
        stderr: err.join().expect("stderr reader"),
    }
}

/// A TCP connection with bounded reads and writes.
pub fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    s.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
    s.set_nodelay(true).unwrap();
    s
}

/// Everything the peer sends until it closes the connection.
pub fn read_to_eof(s: &mut TcpStream) -> Vec<u8> {
    let mut all = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return all,
            Ok(n) => all.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return all,
            Err(e) => panic!("no end of stream within {IO_TIMEOUT:?}: {e}"),
        }
    }
}

/// A well-formed upgrade request (RFC 6455 section 1.3's key).
pub const GOOD_REQUEST: &str = "GET /chat HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n\
    Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
    Sec-WebSocket-Version: 13\r\n\r\n";

/// Reads an HTTP response head; returns it and any bytes read past it.
pub fn read_head(s: &mut TcpStream) -> (String, Vec<u8>) {
    let mut all = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        if let Some(end) = all.windows(4).position(|w| w == b"\r\n\r\n") {
            let rest = all.split_off(end + 4);
            return (String::from_utf8(all).expect("ASCII head"), rest);
        }
        let n = s.read(&mut buf).expect("read the response head");
        assert!(
            n > 0,
            "connection closed before the response head ended: {all:?}"
        );
        all.extend_from_slice(&buf[..n]);
    }
}

/// A frame as the server sent it.
#[derive(Debug, PartialEq, Eq)]
pub struct Frame {
    pub fin: bool,
    pub opcode: u8,
    pub payload: Vec<u8>,
}

/// A client's masked frame.
pub fn masked(fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
    let key = [0x37, 0xfa, 0x21, 0x3d];
    let mut f = vec![(u8::from(fin) << 7) | opcode];
    match payload.len() {
        n @ 0..=125 => f.push(0x80 | n as u8),
        n @ 126..=65535 => {
            f.push(0x80 | 126);
            f.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            f.push(0x80 | 127);
            f.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    f.extend_from_slice(&key);
    f.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    f
}

/// An open WebSocket connection driven by hand: the test's own client.
pub struct Ws {
    pub stream: TcpStream,
    /// Bytes read but not yet parsed.
    buf: Vec<u8>,
}

impl Ws {
    /// Connects and completes the opening handshake.
    pub fn open(addr: SocketAddr) -> Ws {
        let mut stream = connect(addr);
        stream.write_all(GOOD_REQUEST.as_bytes()).unwrap();
        let (head, rest) = read_head(&mut stream);
        assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
        assert!(
            head.contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"),
            "{head}"
        );
        Ws { stream, buf: rest }
    }

    /// A connection whose handshake the test did itself; `rest` is what
    /// was read past the response head.
    pub fn from_parts(stream: TcpStream, rest: Vec<u8>) -> Ws {
        Ws { stream, buf: rest }
    }

    /// Sends raw bytes.
    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).unwrap();
    }

    /// Reads one frame; `None` at end of stream.
    pub fn frame(&mut self) -> Option<Frame> {
        loop {
            if let Some((frame, used)) = parse_frame(&self.buf) {
                self.buf.drain(..used);
                return Some(frame);
            }
            let mut chunk = [0u8; 65536];
            match self.stream.read(&mut chunk) {
                Ok(0) => {
                    assert!(self.buf.is_empty(), "stream ended inside a frame");
                    return None;
                }
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) => panic!("no frame within {IO_TIMEOUT:?}: {e}"),
            }
        }
    }

    /// Reads one whole message (fragments joined): (opcode, payload).
    pub fn message(&mut self) -> (u8, Vec<u8>) {
        let first = self.frame().expect("a message, not end of stream");
        let (opcode, mut payload, mut fin) = (first.opcode, first.payload, first.fin);
        while !fin {
            let next = self.frame().expect("a continuation, not end of stream");
            assert_eq!(next.opcode, 0, "expected a continuation frame");
            payload.extend_from_slice(&next.payload);
            fin = next.fin;
        }
        (opcode, payload)
    }

    /// Sends a text message and checks that the same comes back.
    pub fn echo_text(&mut self, text: &str) {
        self.send_raw(&masked(true, 1, text.as_bytes()));
        assert_eq!(self.message(), (1, text.as_bytes().to_vec()));
    }

    /// Reads to the end of stream; the bytes must be empty (nothing after
    /// what the test already read).
    pub fn expect_eof(&mut self) {
        assert_eq!(self.frame(), None);
    }
}

/// Parses one unmasked server frame from the start of `buf`.
fn parse_frame(buf: &[u8]) -> Option<(Frame, usize)> {
    if buf.len() < 2 {
        return None;
    }
    assert_eq!(buf[1] & 0x80, 0, "server frames must not be masked");
    let (len, head) = match buf[1] & 0x7f {
        126 => (
            u16::from_be_bytes(buf.get(2..4)?.try_into().ok()?) as usize,
            4,
        ),
        127 => (
            u64::from_be_bytes(buf.get(2..10)?.try_into().ok()?) as usize,
            10,
        ),
        n => (n as usize, 2),
    };
    let payload = buf.get(head..head + len)?.to_vec();
    let frame = Frame {
        fin: buf[0] & 0x80 != 0,
        opcode: buf[0] & 0x0f,
        payload,
    };
    assert_eq!(buf[0] & 0x70, 0, "no RSV bits without an extension");
    Some((frame, head + len))
}

/// A close frame's code.
pub fn close_code(frame: &Frame) -> u16 {
    assert_eq!(frame.opcode, 8, "expected a close frame, got {frame:?}");
    u16::from_be_bytes([frame.payload[0], frame.payload[1]])
}
