//! [`Link`] driven over a test transport that takes one byte per write and
//! gives one byte per read, and says `WouldBlock` every other call: every
//! partial-write and split-read path of the link runs, with no kernel in
//! the way. A variant reads everything at once and writes one byte of a
//! vectored write at a time, so that echoed payloads go out by reference to
//! the read buffer and are copied only when it is read into again. Also
//! the link's policies (write timeout, idle timeout, shutdown between
//! messages) stepped by hand with a fake clock.

use std::collections::VecDeque;
use std::io;

use websock_core::{deflate, CloseCode, Config, DataKind, Event, State};

use crate::echo::Echo;
use crate::link::{Failure, Handler, Link, Step, Target, Tx, GATHER_ROOM, READ_SIZE};

/// One direction of a connection: bytes in flight and whether the writer
/// shut it down.
#[derive(Default)]
struct Pipe {
    bytes: VecDeque<u8>,
    shut: bool,
}

/// A transport end that moves at most one byte per call and refuses every
/// other write, as a congested socket might; or one that writes
/// everything (`whole_writes`) or reads all there is (`whole_reads`).
#[derive(Default)]
struct Trickle {
    writes: u64,
    whole_writes: bool,
    whole_reads: bool,
    /// The read buffer, kept between calls.
    rbuf: Vec<u8>,
    /// Reads after which output was queued by reference.
    borrowed_reads: u64,
}

impl Trickle {
    fn one_byte(writes: u64) -> Trickle {
        Trickle {
            writes,
            ..Trickle::default()
        }
    }

    fn write(&mut self, pipe: &mut Pipe, buf: &[u8]) -> io::Result<usize> {
        if self.whole_writes {
            pipe.bytes.extend(buf);
            return Ok(buf.len());
        }
        self.writes += 1;
        if self.writes % 2 == 0 || buf.is_empty() {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        pipe.bytes.push_back(buf[0]);
        Ok(1)
    }

    /// Writes what it takes of the first piece, as a vectored write that
    /// the socket takes only in part.
    fn write_vectored(&mut self, pipe: &mut Pipe, parts: &[&[u8]]) -> io::Result<usize> {
        self.write(pipe, parts.first().copied().unwrap_or(&[]))
    }

    fn read(&mut self, pipe: &mut Pipe, buf: &mut [u8]) -> io::Result<usize> {
        let n = if self.whole_reads { buf.len() } else { 1 };
        let mut got = 0;
        while got < n {
            match pipe.bytes.pop_front() {
                Some(b) => {
                    buf[got] = b;
                    got += 1;
                }
                None => break,
            }
        }
        match got {
            0 if pipe.shut => Ok(0),
            0 => Err(io::ErrorKind::WouldBlock.into()),
            n => Ok(n),
        }
    }
}

/// Does what the epoll backend's `drive` does, over a [`Trickle`]: write
/// what the link queued, then follow [`Link::step`]. True when anything
/// moved. A `whole_reads` reader reads like the backend does over
/// TCP, with [`Link::received_borrowing`] into one buffer, and copies what
/// is queued by reference before it reads into it again.
fn pump<H: Handler>(
    link: &mut Link,
    handler: &mut H,
    t: &mut Trickle,
    out: &mut Pipe,
    inp: &mut Pipe,
    now: u64,
) -> bool {
    let mut rbuf = std::mem::take(&mut t.rbuf);
    rbuf.resize(if t.whole_reads { READ_SIZE } else { 64 }, 0);
    let moved = pump_from(link, handler, t, out, inp, now, &mut rbuf);
    settle(link, &mut rbuf);
    t.rbuf = rbuf;
    moved
}

/// Copies what is queued by reference out of `rbuf`, then overwrites it,
/// so that a reference left behind would show in the echo.
fn settle(link: &mut Link, rbuf: &mut [u8]) {
    if link.has_borrowed() {
        link.settle(rbuf);
        assert!(!link.has_borrowed());
        rbuf.fill(0xee);
    }
}

fn pump_from<H: Handler>(
    link: &mut Link,
    handler: &mut H,
    t: &mut Trickle,
    out: &mut Pipe,
    inp: &mut Pipe,
    now: u64,
    rbuf: &mut [u8],
) -> bool {
    link.tick(now);
    let mut moved = false;
    for _ in 0..8 {
        while link.output_len() > 0 {
            let wrote = if link.has_borrowed() {
                let (parts, n) = link.output_parts(rbuf);
                t.write_vectored(out, &parts[..n])
            } else {
                t.write(out, link.output())
            };
            match wrote {
                Ok(n) => {
                    link.written(n);
                    moved = true;
                }
                Err(_) => break,
            }
        }
        match link.step(now, true) {
            Step::Read => {}
            Step::Wait | Step::Done => return moved,
            Step::ShutdownWrite => {
                out.shut = true;
                continue;
            }
        }
        settle(link, rbuf);
        match t.read(inp, rbuf) {
            Ok(0) => {
                link.end_of_stream(now);
                moved = true;
            }
            Ok(n) if t.whole_reads => {
                link.received_borrowing(&mut rbuf[..n], handler);
                t.borrowed_reads += u64::from(link.has_borrowed());
                moved = true;
            }
            Ok(n) => {
                link.received(&mut rbuf[..n], handler);
                moved = true;
            }
            Err(_) => return moved,
        }
    }
    moved
}

/// The ping a [`Script`] sends before its messages.
pub(crate) const SCRIPT_PING: &[u8] = b"client ping";

/// A client that pings, sends a script of messages (some in fragments),
/// records every message and pong that comes back, and closes once all
/// messages have (unless the server is to close).
#[derive(Default)]
pub(crate) struct Script {
    pub(crate) messages: Vec<(DataKind, Vec<u8>)>,
    pub(crate) received: Vec<(DataKind, Vec<u8>)>,
    pub(crate) current: Vec<u8>,
    pub(crate) pongs: Vec<Vec<u8>>,
    pub(crate) closed_with: Option<CloseCode>,
    /// Leave the close to the peer.
    pub(crate) server_closes: bool,
    /// Send every message in one frame, with a second ping after the
    /// second message.
    pub(crate) whole: bool,
    /// How many messages had come back when each pong came.
    pub(crate) pongs_after: Vec<usize>,
}

impl Handler for Script {
    fn opened(&mut self, tx: &mut Tx<'_>) {
        tx.ping(SCRIPT_PING).unwrap();
        for (i, (kind, payload)) in self.messages.iter().enumerate() {
            if self.whole {
                tx.send(*kind, payload, true).unwrap();
                if i == 1 {
                    tx.ping(b"between").unwrap();
                }
                continue;
            }
            // Larger messages go in three fragments of uneven size.
            if payload.len() > 1000 {
                let (a, rest) = payload.split_at(payload.len() / 3);
                let (b, c) = rest.split_at(7);
                tx.send(*kind, a, false).unwrap();
                tx.send(*kind, b, false).unwrap();
                tx.send(*kind, c, true).unwrap();
            } else {
                tx.send(*kind, payload, true).unwrap();
            }
        }
    }

    fn event(&mut self, event: Event<'_>, tx: &mut Tx<'_>) {
        match event {
            Event::Data { kind, chunk, last } => {
                self.current.extend_from_slice(chunk);
                if last {
                    self.received
                        .push((kind, std::mem::take(&mut self.current)));
                    if self.received.len() == self.messages.len() && !self.server_closes {
                        tx.close(CloseCode::NORMAL, "done").unwrap();
                    }
                }
            }
            Event::Pong(payload) => {
                self.pongs.push(payload.to_vec());
                self.pongs_after.push(self.received.len());
            }
            Event::Close { code, .. } => self.closed_with = Some(code),
            Event::Ping(_) => {}
        }
    }
}

/// Messages of many sizes: empty, short, at the frame header's length
/// boundaries, text with multi-byte characters, and one of several TLS
/// records (70,000 bytes, more than four 16 KiB records).
pub(crate) fn script() -> Vec<(DataKind, Vec<u8>)> {
    let big: Vec<u8> = (0..70_000u32).map(|i| (i % 251) as u8).collect();
    vec![
        (DataKind::Text, Vec::new()),
        (
            DataKind::Text,
            "h\u{e9}llo \u{1f600} w\u{f6}rld".as_bytes().to_vec(),
        ),
        (DataKind::Binary, vec![0xff; 125]),
        (DataKind::Binary, vec![7; 126]),
        (DataKind::Text, "\u{20ac}".repeat(3000).into_bytes()),
        (DataKind::Binary, big),
    ]
}

/// Echoes the script through a server that writes one byte per call; with
/// `vectored`, the client sends every message whole and fast, so that the
/// server reads large frames at once and echoes them from its read buffer
/// by reference (header and payload in a vectored write).
fn echo_over_trickle(config: Config, vectored: bool) {
    let target = Target {
        host: "localhost",
        resource: "/",
        headers: "",
    };
    let mut client = Link::client(config, 0, [9; 32], &target, &[]).unwrap();
    let mut server = Link::server(config, 0);
    let mut messages = script();
    if vectored {
        // Sizes around the threshold of going by reference, and one larger
        // than a read.
        for size in [4095, 4096, 20_000, 65_536] {
            messages.push((
                DataKind::Binary,
                (0..size).map(|i| (i % 13) as u8).collect(),
            ));
        }
    }
    let mut script_handler = Script {
        messages,
        whole: vectored,
        ..Script::default()
    };
    let mut echo = Echo::default();
    let (mut up, mut down) = (Pipe::default(), Pipe::default());
    let (mut tc, mut ts) = (Trickle::one_byte(0), Trickle::one_byte(1));
    // The client writes everything at once; the server reads all there is
    // (so it borrows) and writes one byte at a time.
    tc.whole_writes = vectored;
    tc.whole_reads = vectored;
    ts.whole_reads = vectored;
    let mut rounds = 0u64;
    let mut idle = 0;
    while !(client.is_done() && server.is_done()) {
        rounds += 1;
        assert!(rounds < 5_000_000, "no progress: stuck");
        // Time stands still: nothing here may need a timeout to finish.
        let a = pump(
            &mut client,
            &mut script_handler,
            &mut tc,
            &mut up,
            &mut down,
            1,
        );
        let b = pump(&mut server, &mut echo, &mut ts, &mut down, &mut up, 1);
        idle = if a || b { 0 } else { idle + 1 };
        if idle > 4 {
            // Neither end can move (a refused call moves the next time).
            panic!(
                "stalled after {rounds} rounds ({} up, {} down): client {:?}/{:?}, server {:?}/{:?}",
                up.bytes.len(),
                down.bytes.len(),
                client.state(),
                client.failure(),
                server.state(),
                server.failure()
            );
        }
    }
    assert_eq!(script_handler.received, script_handler.messages);
    if vectored {
        if config.deflate.is_none() {
            assert!(ts.borrowed_reads > 0, "nothing went out by reference");
        } else {
            assert_eq!(
                ts.borrowed_reads, 0,
                "a compressed payload is not the input"
            );
        }
        // Interleaved with payloads by reference, the engine's replies
        // keep their places.
        assert_eq!(script_handler.pongs, [SCRIPT_PING, b"between"]);
        assert_eq!(script_handler.pongs_after, [0, 2]);
    } else {
        assert_eq!(script_handler.pongs, [SCRIPT_PING]);
    }
    assert_eq!(script_handler.closed_with, Some(CloseCode::NORMAL));
    assert!(client.closure().unwrap().clean, "{:?}", client.failure());
    assert!(server.closure().unwrap().clean, "{:?}", server.failure());
    assert!(client.failure().is_none() && server.failure().is_none());
}

#[test]
fn echo_one_byte_per_call() {
    echo_over_trickle(Config::new(), false);
}

#[test]
fn vectored_echo_one_byte_per_write() {
    echo_over_trickle(Config::new(), true);
}

/// With compression nothing goes by reference (the payload changes), and
/// the same whole reads still echo right.
#[test]
fn whole_reads_compressed_echo_one_byte_per_write() {
    let config = Config {
        deflate: Some(deflate::Options::new()),
        ..Config::new()
    };
    echo_over_trickle(config, true);
}

#[test]
fn echo_one_byte_per_call_compressed() {
    let config = Config {
        deflate: Some(deflate::Options::new()),
        ..Config::new()
    };
    echo_over_trickle(config, false);
}

const REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n\
    Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
    Sec-WebSocket-Version: 13\r\n\r\n";

/// A client frame with a zero mask key (masked, so valid, and readable).
fn frame(fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![(u8::from(fin) << 7) | opcode];
    match payload.len() {
        n @ 0..=125 => f.push(0x80 | n as u8),
        n => {
            f.push(0x80 | 126);
            f.extend_from_slice(&(n as u16).to_be_bytes());
        }
    }
    f.extend_from_slice(&[0; 4]);
    f.extend_from_slice(payload);
    f
}

/// A server link past its handshake at time `now`, its 101 taken away.
fn open_server(link: Link, now: u64, echo: &mut Echo) -> Link {
    let mut link = link;
    link.tick(now);
    link.received(&mut REQUEST.to_vec(), echo);
    assert_eq!(link.state(), State::Open);
    let n = link.output_len();
    link.written(n);
    link
}

#[test]
fn a_peer_that_stops_reading_is_held_to_the_mark_then_dropped() {
    let mut echo = Echo::default();
    let link = Link::server(Config::new(), 0)
        .with_high_water(4096)
        .with_write_timeout(1_000);
    let mut link = open_server(link, 0, &mut echo);
    assert_eq!(link.step(0, true), Step::Read);
    let message = frame(true, 2, &[1; 1000]);
    let mut reads = 0;
    while link.step(10, true) == Step::Read {
        link.received(&mut message.clone(), &mut echo);
        reads += 1;
        assert!(reads < 100, "backpressure never engaged");
    }
    assert_eq!(link.step(10, true), Step::Wait);
    assert!(link.output_len() < 4096 + 1100, "{}", link.output_len());
    // A byte written now and then keeps it alive.
    link.written(1);
    link.tick(1_000);
    assert!(!link.is_done());
    assert_eq!(link.deadline(), Some(1_010));
    link.tick(1_009);
    assert!(!link.is_done());
    link.tick(1_010);
    assert!(link.is_done());
    assert!(matches!(link.failure(), Some(Failure::WriteStalled)));
}

#[test]
fn a_quiet_peer_is_pinged_and_a_silent_one_closed() {
    let mut echo = Echo::default();
    let link = Link::server(Config::new(), 0).with_idle_timeout(1_000);
    let mut link = open_server(link, 100, &mut echo);
    assert_eq!(link.deadline(), Some(600));
    link.tick(600);
    assert_eq!(link.output(), [0x89, 0x00], "a ping after half the timeout");
    link.written(2);
    // Its pong (any input) resets the clock.
    link.tick(800);
    link.received(&mut frame(true, 10, &[]), &mut echo);
    link.tick(1_100);
    assert_eq!(link.output_len(), 0, "no ping: input came at 800");
    assert_eq!(link.deadline(), Some(1_300));
    link.tick(1_299);
    assert_eq!(link.output_len(), 0);
    link.tick(1_300);
    assert_eq!(link.output(), [0x89, 0x00]);
    link.written(2);
    link.tick(1_799);
    assert_eq!(link.output_len(), 0, "nothing before the whole timeout");
    link.tick(1_800);
    // Silence for the whole timeout: 1001 and the transport shut.
    assert_eq!(&link.output()[..4], &[0x88, 14, 0x03, 0xe9]);
    let n = link.output_len();
    link.written(n);
    assert_eq!(link.step(1_800, true), Step::ShutdownWrite);
    assert!(matches!(
        link.failure(),
        Some(Failure::TimedOut(State::Open))
    ));
}

#[test]
fn going_away_waits_for_the_message_in_progress() {
    let mut echo = Echo::default();
    let mut link = open_server(Link::server(Config::new(), 0), 0, &mut echo);
    link.received(&mut frame(false, 1, b"first half, "), &mut echo);
    link.go_away(5, 1_000, "server shutting down");
    // Nothing closes while the message is unfinished (the echo gathers
    // small pieces, so nothing of it is out yet either).
    assert!(!link.output().contains(&0x88), "{:?}", link.output());
    link.received(&mut frame(true, 0, b"second half"), &mut echo);
    let out = link.output().to_vec();
    let text = b"first half, second half";
    assert_eq!(&out[..2], &[0x81, text.len() as u8]);
    assert_eq!(&out[2..2 + text.len()], text);
    assert_eq!(out[2 + text.len()], 0x88, "then the close: {out:?}");
    assert_eq!(&out[4 + text.len()..6 + text.len()], &[0x03, 0xe9]);
    // A peer that never finishes its message is dropped at the deadline.
    let mut other = open_server(Link::server(Config::new(), 0), 0, &mut echo);
    other.received(&mut frame(false, 2, b"never ends"), &mut echo);
    other.go_away(10, 1_000, "server shutting down");
    other.tick(1_000); // frees the idle output buffer
    assert_eq!(other.deadline(), Some(1_010));
    other.tick(1_010);
    assert!(other.is_done());
}

/// The engine takes a header or control frame only whole; the link keeps
/// a piece cut off by the end of a read and completes it from the next,
/// moving no more than it needs: every cut gives the same output.
#[test]
fn frames_cut_anywhere_between_two_reads_give_the_same_output() {
    let mut wire = frame(true, 1, b"hello");
    wire.extend(frame(true, 9, b"abc"));
    wire.extend(frame(true, 2, &[7; 300]));
    wire.extend(frame(true, 10, b""));
    wire.extend(frame(true, 1, b"end"));
    let run = |cuts: &[usize]| {
        let mut echo = Echo::default();
        let mut link = open_server(Link::server(Config::new(), 0), 0, &mut echo);
        let mut at = 0;
        for &cut in cuts.iter().chain([&wire.len()]) {
            link.received(&mut wire[at..cut].to_vec(), &mut echo);
            at = cut;
        }
        link.output().to_vec()
    };
    let whole = run(&[]);
    let mut expected = b"\x81\x05hello\x8a\x03abc\x82\x7e\x01\x2c".to_vec();
    expected.extend([7; 300]);
    expected.extend(b"\x81\x03end");
    assert_eq!(whole, expected);
    for cut in 1..wire.len() {
        assert_eq!(run(&[cut]), whole, "cut at {cut}");
        for second in (cut + 1..wire.len()).step_by(7) {
            assert_eq!(run(&[cut, second]), whole, "cuts at {cut}, {second}");
        }
    }
}

#[test]
fn an_idle_connection_frees_its_output_buffer() {
    let mut echo = Echo::default();
    let mut link = Link::server(Config::new(), 0);
    link.tick(0);
    link.received(&mut REQUEST.to_vec(), &mut echo);
    let n = link.output_len();
    link.written(n);
    assert!(link.output_capacity() > 0, "the 101 was written from it");
    assert_eq!(link.deadline(), Some(1_000));
    // Busy: a burst at 600 keeps the buffer past the first look.
    link.tick(600);
    link.received(&mut frame(true, 2, &[1; 5000]), &mut echo);
    let n = link.output_len();
    link.written(n);
    link.tick(1_000);
    assert!(link.output_capacity() >= 5000);
    assert_eq!(
        link.deadline(),
        Some(1_600),
        "looks again a second after the burst"
    );
    link.tick(1_600);
    assert_eq!(link.output_capacity(), 0);
    assert_eq!(link.deadline(), None);
    // The next message allocates again, and echoes as ever.
    link.received(&mut frame(true, 1, b"again"), &mut echo);
    assert_eq!(link.output(), b"\x81\x05again");
}

#[test]
fn after_the_peer_ends_its_stream_the_transport_writes_its_last_bytes() {
    let mut echo = Echo::default();
    let mut link = open_server(Link::server(Config::new(), 0), 0, &mut echo);
    link.end_of_stream(10);
    // The transport still holds bytes of its own (a TLS record).
    assert_eq!(link.step(10, false), Step::Wait);
    assert_eq!(link.step(10, true), Step::ShutdownWrite);
    // The shutdown queued more (a TLS close_notify): dropping the
    // transport now would cut it, so the link waits for it.
    assert_eq!(link.step(10, false), Step::Wait);
    assert!(!link.is_done());
    assert_eq!(link.step(10, true), Step::Done);
    assert!(link.is_done());
    assert!(link.failure().is_none());

    // A peer that takes none of it holds the link until the linger time.
    let mut link = open_server(Link::server(Config::new(), 0), 0, &mut echo);
    link.end_of_stream(10);
    assert_eq!(link.step(10, true), Step::ShutdownWrite);
    assert_eq!(link.step(10, false), Step::Wait);
    assert_eq!(link.deadline(), Some(10 + crate::link::LINGER_MS));
    link.tick(9 + crate::link::LINGER_MS);
    assert!(!link.is_done());
    link.tick(10 + crate::link::LINGER_MS);
    assert!(link.is_done());
}

/// Gathers a message's pieces behind room for the header and sends it
/// with [`Tx::send_gathered`], noting where the payload was gathered.
#[derive(Default)]
struct Gather {
    buf: Vec<u8>,
    /// The address of the gathered payload when it was sent.
    payload_at: usize,
}

impl Handler for Gather {
    fn event(&mut self, event: Event<'_>, tx: &mut Tx<'_>) {
        let Event::Data { kind, chunk, last } = event else {
            return;
        };
        if self.buf.is_empty() {
            self.buf.resize(GATHER_ROOM, 0);
        }
        self.buf.extend_from_slice(chunk);
        if last {
            self.payload_at = self.buf.as_ptr() as usize + GATHER_ROOM;
            tx.send_gathered(kind, &mut self.buf, true).unwrap();
            self.buf.clear();
        }
    }
}

/// A message gathered from pieces goes out from where it was gathered,
/// its header written into the room in front; with output already
/// queued (a pong, here) it is copied in after it instead, in order.
#[test]
fn a_gathered_message_goes_out_from_where_it_was_gathered() {
    let payload: Vec<u8> = (0..40_000u32).map(|i| (i % 253) as u8).collect();
    let mut want = vec![0x82, 126];
    want.extend_from_slice(&40_000u16.to_be_bytes());
    want.extend_from_slice(&payload);
    for ping_between in [false, true] {
        let mut gather = Gather::default();
        let mut link = Link::server(Config::new(), 0);
        link.received(&mut REQUEST.to_vec(), &mut gather);
        let n = link.output_len();
        link.written(n);
        let mut first = frame(false, 0x2, &payload[..20_000]);
        let mut second = frame(true, 0x0, &payload[20_000..]);
        // The first frame in two reads, so that it comes in pieces too.
        let rest = first.split_off(9_000);
        link.received(&mut first, &mut gather);
        link.received(&mut rest.clone(), &mut gather);
        let mut expected = Vec::new();
        if ping_between {
            link.received(&mut frame(true, 0x9, b"hi"), &mut gather);
            expected.extend_from_slice(&[0x8a, 2, b'h', b'i']);
        }
        link.received(&mut second, &mut gather);
        expected.extend_from_slice(&want);
        assert_eq!(link.output(), &expected[..], "ping between: {ping_between}");
        let at = link.output().as_ptr() as usize + link.output().len() - payload.len();
        if ping_between {
            assert_ne!(at, gather.payload_at, "copied after the pong");
        } else {
            assert_eq!(at, gather.payload_at, "not copied");
        }
    }
}

/// The engine is given room for a pong only once a ping stops for want
/// of it: a ping first, between messages and last in one read, on a link
/// whose output queue has no memory at all, is answered in order.
#[test]
fn pings_are_answered_in_order_when_the_queue_has_no_room() {
    let mut echo = Echo::default();
    let mut link = open_server(Link::server(Config::new(), 0), 0, &mut echo);
    let mut wire = frame(true, 0x9, b"p1");
    wire.extend(frame(true, 0x2, b"a"));
    wire.extend(frame(true, 0x9, b"p2"));
    wire.extend(frame(true, 0x2, b"b"));
    wire.extend(frame(true, 0x9, b"p3"));
    for cut in [None, Some(wire.len() - 3)] {
        // Its memory goes back to the loop: nothing to write into.
        link.return_spare(&mut Vec::new());
        assert_eq!(link.output_capacity(), 0);
        match cut {
            None => link.received(&mut wire.clone(), &mut echo),
            Some(at) => {
                // The last ping cut short: it waits for the rest.
                link.received(&mut wire[..at].to_vec(), &mut echo);
                link.received(&mut wire[at..].to_vec(), &mut echo);
            }
        }
        let mut want = vec![0x8a, 2, b'p', b'1', 0x82, 1, b'a'];
        want.extend_from_slice(&[0x8a, 2, b'p', b'2', 0x82, 1, b'b', 0x8a, 2, b'p', b'3']);
        assert_eq!(link.output(), &want[..], "cut: {cut:?}");
        let n = link.output_len();
        link.written(n);
    }
}
