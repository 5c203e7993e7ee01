//! An echo server that receives permessage-deflate with only the `inflate`
//! feature: the engine allocates nothing, each connection's inflater and
//! its `2^bits` window are this program's memory, lent on every
//! `receive_inflating`. It answers an offer with the
//! `client_max_window_bits` its window holds and declines one that does not
//! allow a limit (unless BITS is 15). Autobahn's sections 12 and 13 run
//! against it (`tests/suite-deflate.sh`).
//!
//! The engine would send the echo uncompressed, which RFC 7692 section 6
//! allows and browsers and python-websockets take; kosoku 0.1.0's
//! compression cases do not (every case fails: "Strings must be encoded
//! before hashing"). So this program frames its echoes itself as
//! compressed messages of fixed-code literals (RFC 1951 section 3.2.6):
//! valid DEFLATE that needs no window and no tables.
//!
//! Run: `cargo run --release -p websock-core --features inflate --example inflate_echo -- PORT [BITS]`

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::time::Duration;

use websock_core::deflate::{Options, Window};
use websock_core::{Accept, Config, Connection, DataKind, Event, Received, Transport};

fn main() {
    let mut args = std::env::args().skip(1);
    let usage = "usage: inflate_echo PORT [BITS (9 to 15, default 15)]";
    let port: u16 = args.next().and_then(|a| a.parse().ok()).expect(usage);
    let bits: u8 = args
        .next()
        .map_or(Some(15), |a| a.parse().ok())
        .expect(usage);
    assert!((9..=15).contains(&bits), "{usage}");
    let listener = TcpListener::bind(("127.0.0.1", port)).expect("bind 127.0.0.1:PORT");
    println!(
        "inflate_echo on 127.0.0.1:{port}, {} byte windows",
        1 << bits
    );
    for stream in listener.incoming().flatten() {
        std::thread::spawn(move || {
            let served = match bits {
                9 => serve::<512>(stream),
                10 => serve::<1024>(stream),
                11 => serve::<2048>(stream),
                12 => serve::<4096>(stream),
                13 => serve::<8192>(stream),
                14 => serve::<16384>(stream),
                _ => serve::<32768>(stream),
            };
            if let Err(e) = served {
                eprintln!("connection: {e}");
            }
        });
    }
}

/// Buffers of one connection; the engine itself holds none of these.
struct Buffers {
    rx: Vec<u8>,
    start: usize,
    end: usize,
    out: Vec<u8>,
}

impl Buffers {
    /// Reads more input behind what is unread. `false` at end of stream.
    fn fill(&mut self, stream: &mut TcpStream) -> io::Result<bool> {
        self.rx.copy_within(self.start..self.end, 0);
        self.end -= self.start;
        self.start = 0;
        if self.end == self.rx.len() {
            return Err(io::Error::other("input buffer full"));
        }
        let n = stream.read(&mut self.rx[self.end..])?;
        self.end += n;
        Ok(n > 0)
    }
}

/// One connection, lending a window of `N` bytes.
fn serve<const N: usize>(mut stream: TcpStream) -> io::Result<()> {
    stream.set_nodelay(true)?;
    let mut config = Config::new();
    config.deflate = Some(Options::receive_only(Window::<N>::BITS));
    let mut conn = Connection::server(config, 0);
    let mut b = Buffers {
        rx: vec![0; 1 << 16],
        start: 0,
        end: 0,
        out: vec![0; 4096],
    };
    loop {
        if !b.fill(&mut stream)? {
            return Ok(());
        }
        match conn.accept(&b.rx[..b.end], &[], &mut b.out) {
            Ok(Accept::Incomplete) => {}
            Ok(Accept::Accepted { request, written }) => {
                b.start = request.len;
                stream.write_all(&b.out[..written])?;
                break;
            }
            Ok(Accept::Rejected { written, .. }) => return stream.write_all(&b.out[..written]),
            Err(e) => return Err(io::Error::other(format!("{e:?}"))),
        }
    }
    let mut window = Window::<N>::new();
    let mut scratch = vec![0u8; 16 << 10];
    let mut message = Vec::new();
    loop {
        // Called with no new input too: a compressed message ends with a
        // last event the inflater makes from the implied tail (RFC 7692
        // section 7.2.2) after the input is used up. Only a call that
        // makes no progress waits for the socket.
        let input = &mut b.rx[b.start..b.end];
        let result = conn.receive_inflating(input, &mut scratch, &mut window, &mut b.out);
        let mut stalled = false;
        match result {
            Ok(Received {
                consumed,
                written,
                event,
            }) => {
                // The pong for a ping taken just now.
                stream.write_all(&b.out[..written])?;
                b.start += consumed;
                stalled = consumed == 0 && event.is_none();
                if let Some(Event::Data { kind, chunk, last }) = event {
                    message.extend_from_slice(chunk);
                    if last {
                        stream.write_all(&literal_message(kind, &message))?;
                        message.clear();
                    }
                }
            }
            // The engine queued the close that fails the connection.
            Err(e) => eprintln!("receive: {e:?}"),
        }
        let n = conn.poll_output(&mut b.out);
        stream.write_all(&b.out[..n])?;
        if conn.transport() == Transport::Close {
            // Read what the client still sends, so closing does not reset
            // the connection before it has read our close frame.
            stream.shutdown(Shutdown::Write)?;
            stream.set_read_timeout(Some(Duration::from_secs(2)))?;
            let mut sink = [0u8; 1024];
            while stream.read(&mut sink).is_ok_and(|n| n > 0) {}
            return Ok(());
        }
        if stalled && n == 0 && !b.fill(&mut stream)? {
            return Ok(());
        }
    }
}

/// A whole server message (unmasked, RFC 6455 section 5.2) with RSV1 set
/// (RFC 7692 section 7.2.1): `bytes` as literals of one fixed-code block
/// (RFC 1951 section 3.2.6), then the start of the empty stored block a
/// sync flush writes, whose last 4 bytes the receiver appends itself.
fn literal_message(kind: DataKind, bytes: &[u8]) -> Vec<u8> {
    let mut bits = Bits::default();
    bits.put(0b010, 3); // BFINAL 0, BTYPE 01 (fixed codes)
    for &b in bytes {
        match b {
            0..=143 => bits.put_code(0x30 + u32::from(b), 8),
            _ => bits.put_code(0x190 + u32::from(b - 144), 9),
        }
    }
    bits.put_code(0, 7); // end of block
    bits.put(0, 3); // BFINAL 0, BTYPE 00: the sync flush's stored block
    let payload = bits.finish();
    let opcode = match kind {
        DataKind::Text => 0x1,
        DataKind::Binary => 0x2,
    };
    let mut frame = vec![0x80 | 0x40 | opcode];
    match payload.len() {
        n @ 0..=125 => frame.push(n as u8),
        n @ 126..=0xffff => {
            frame.push(126);
            frame.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            frame.push(127);
            frame.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    frame.extend_from_slice(&payload);
    frame
}

/// Bits packed least significant first (RFC 1951 section 3.1.1).
#[derive(Default)]
struct Bits {
    out: Vec<u8>,
    acc: u32,
    count: u32,
}

impl Bits {
    fn put(&mut self, value: u32, n: u32) {
        self.acc |= value << self.count;
        self.count += n;
        while self.count >= 8 {
            self.out.push(self.acc as u8);
            self.acc >>= 8;
            self.count -= 8;
        }
    }

    /// Huffman codes go most significant bit first.
    fn put_code(&mut self, code: u32, n: u32) {
        self.put(code.reverse_bits() >> (32 - n), n);
    }

    /// Pads to a byte boundary.
    fn finish(mut self) -> Vec<u8> {
        if self.count > 0 {
            self.out.push(self.acc as u8);
        }
        self.out
    }
}
