//! An echo server that receives permessage-deflate with only the `inflate`
//! feature: the engine allocates nothing, each connection's inflater and
//! its `2^bits` window are this program's memory, lent on every
//! `receive_inflating`, and echoes go back uncompressed (RFC 7692 section 6
//! lets each message choose). It answers an offer with the
//! `client_max_window_bits` its window holds and declines one that does not
//! allow a limit (unless BITS is 15). Autobahn's sections 12 and 13 run
//! against it (`tests/suite-deflate.sh`).
//!
//! Run: `cargo run --release -p websock-core --features inflate --example inflate_echo -- PORT [BITS]`

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::time::Duration;

use websock_core::deflate::{Options, Window};
use websock_core::{Accept, Config, Connection, Event, Transport};

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
        if b.start == b.end && !b.fill(&mut stream)? {
            return Ok(());
        }
        let result = conn.receive_inflating(&mut b.rx[b.start..b.end], &mut scratch, &mut window);
        let mut stalled = false;
        match result {
            Ok((used, event)) => {
                b.start += used;
                stalled = used == 0 && event.is_none();
                if let Some(Event::Data { kind, chunk, last }) = event {
                    message.extend_from_slice(chunk);
                    if last {
                        let need = conn.max_frame_len(message.len());
                        let mut frame = vec![0u8; need];
                        let n = conn
                            .send(kind, &message, true, &mut frame)
                            .map_err(|e| io::Error::other(format!("{e:?}")))?;
                        stream.write_all(&frame[..n])?;
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
