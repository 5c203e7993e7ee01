//! wss:// over a test transport that takes one byte per write and gives
//! one byte per read, with `WouldBlock` every other call: a real rustls
//! session at each end (the server's self-signed configuration, the client
//! trusting it through `--ca`), each [`TlsStream`] driven by the event
//! loop's own [`drive`], so every partial write of a TLS record, every
//! record split across reads and every queued-record path runs with no
//! kernel in the way: the TLS handshake, the upgrade, pings each way,
//! messages past a 16 KiB record, and the closing handshake from either
//! end followed by close_notify each way.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::Arc;

use rustls::pki_types::ServerName;
use rustls::{ClientConnection, ServerConnection};
use websock_core::{deflate, CloseCode, Config, DataKind, Event};

use super::client::{self, ClientOptions};
use super::server::{self, Identity};
use super::stream::{Socket, TlsStream};
use crate::echo::Echo;
use crate::link::trickle_tests::{script, Script, SCRIPT_PING};
use crate::link::{Handler, Link, Target, Tx};
use crate::reactor::drive;

/// One direction of a connection: bytes in flight and whether the writer
/// ended its stream.
#[derive(Debug, Default)]
struct Pipe {
    bytes: VecDeque<u8>,
    shut: bool,
}

/// What crossed one end's socket, for the assertions.
#[derive(Debug, Default)]
struct Tally {
    written: u64,
    read: u64,
    refused: u64,
    /// Reads of the socket, whatever they returned.
    read_calls: u64,
}

/// One end of a connection that moves at most one byte per call and
/// refuses every other read and every other write, as a congested socket
/// might.
#[derive(Debug)]
struct TrickleSocket {
    out: Rc<RefCell<Pipe>>,
    inp: Rc<RefCell<Pipe>>,
    /// Calls so far (reads, writes), each counted apart so that neither
    /// kind can fall into step with the refusals.
    calls: [u64; 2],
    tally: Rc<RefCell<Tally>>,
    /// Not a trickle: every call moves all it can and none is refused, as
    /// a socket on a fast loopback does (for counting reads).
    bulk: bool,
}

impl TrickleSocket {
    /// Every other call of a kind (0 read, 1 write) says `WouldBlock`.
    fn refuse(&mut self, kind: usize) -> bool {
        if self.bulk {
            return false;
        }
        self.calls[kind] += 1;
        let refuse = self.calls[kind] % 2 == 0;
        if refuse {
            self.tally.borrow_mut().refused += 1;
        }
        refuse
    }
}

impl Write for TrickleSocket {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.refuse(1) {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let mut out = self.out.borrow_mut();
        assert!(!out.shut, "a write after shutdown");
        let n = if self.bulk { buf.len() } else { 1 };
        out.bytes.extend(&buf[..n]);
        self.tally.borrow_mut().written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Read for TrickleSocket {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        self.tally.borrow_mut().read_calls += 1;
        if self.refuse(0) {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let mut inp = self.inp.borrow_mut();
        let want = if self.bulk { buf.len() } else { 1 };
        let n = want.min(inp.bytes.len());
        if n == 0 {
            return if inp.shut {
                Ok(0)
            } else {
                Err(io::ErrorKind::WouldBlock.into())
            };
        }
        for (to, from) in buf.iter_mut().zip(inp.bytes.drain(..n)) {
            *to = from;
        }
        self.tally.borrow_mut().read += n as u64;
        Ok(n)
    }
}

impl Socket for TrickleSocket {
    fn shutdown_write(&mut self) -> io::Result<()> {
        self.out.borrow_mut().shut = true;
        Ok(())
    }

    fn peer_addr(&self) -> Option<SocketAddr> {
        None
    }
}

/// The server's application: echoes, pings the client once open, records
/// pongs and the client's close, and closes itself after `close_after`
/// messages if asked to.
struct PingingEcho {
    echo: Echo,
    echoed: usize,
    close_after: Option<usize>,
    pongs: Vec<Vec<u8>>,
    closed_with: Option<CloseCode>,
}

const SERVER_PING: &[u8] = b"server ping";

impl Handler for PingingEcho {
    fn opened(&mut self, tx: &mut Tx<'_>) {
        tx.ping(SERVER_PING).unwrap();
    }

    fn event(&mut self, event: Event<'_>, tx: &mut Tx<'_>) {
        match event {
            Event::Pong(payload) => self.pongs.push(payload.to_vec()),
            Event::Close { code, .. } => self.closed_with = Some(code),
            Event::Data { last, .. } => {
                self.echo.event(event, tx);
                if last {
                    self.echoed += 1;
                    if self.close_after == Some(self.echoed) {
                        tx.close(CloseCode::NORMAL, "server done").unwrap();
                    }
                }
            }
            Event::Ping(_) => {}
        }
    }
}

/// A client and a server stream over two pipes, with the host's own TLS
/// configurations: the server's self-signed certificate, which the client
/// trusts as a `--ca` file and checks against the name "localhost".
fn tls_pair() -> (
    TlsStream<TrickleSocket>,
    TlsStream<TrickleSocket>,
    Rc<RefCell<Tally>>,
) {
    tls_pair_over(false)
}

/// [`tls_pair`] over trickling sockets or, with `bulk`, over sockets that
/// move all they can.
fn tls_pair_over(
    bulk: bool,
) -> (
    TlsStream<TrickleSocket>,
    TlsStream<TrickleSocket>,
    Rc<RefCell<Tally>>,
) {
    let server_tls = server::configure(&Identity::SelfSigned).unwrap();
    let ca = server_tls.written.as_ref().unwrap().path.clone();
    let client_config = client::configure(&ClientOptions {
        ca: vec![ca],
        insecure: false,
    })
    .unwrap();
    let (up, down) = (Rc::default(), Rc::default());
    let tally = Rc::new(RefCell::new(Tally::default()));
    let client_socket = TrickleSocket {
        out: Rc::clone(&up),
        inp: Rc::clone(&down),
        calls: [0, 0],
        tally: Rc::clone(&tally),
        bulk,
    };
    // Out of step with the client, so each sees both outcomes in turn.
    let server_socket = TrickleSocket {
        out: down,
        inp: up,
        calls: [1, 1],
        tally: Rc::clone(&tally),
        bulk,
    };
    let name = ServerName::try_from("localhost").unwrap();
    let client_conn = ClientConnection::new(client_config, name).unwrap();
    let server_conn = ServerConnection::new(Arc::clone(&server_tls.config)).unwrap();
    (
        TlsStream::new(client_socket, client_conn),
        TlsStream::new(server_socket, server_conn),
        tally,
    )
}

/// What the event loop does with a finished link's transport: drops it,
/// and the kernel ends the stream (records still queued are lost).
fn close(t: &mut TlsStream<TrickleSocket>) {
    t.socket_mut().out.borrow_mut().shut = true;
}

fn echo_over_trickling_tls(config: Config, server_closes: bool) {
    let messages = script();
    let (mut client_tls, mut server_tls, tally) = tls_pair();
    let target = Target {
        host: "localhost",
        resource: "/",
        headers: "",
    };
    let mut client = Link::client(config, 0, [9; 32], &target, &[]).unwrap();
    let mut server = Link::server(config, 0);
    let mut script_handler = Script {
        messages: messages.clone(),
        server_closes,
        ..Script::default()
    };
    let mut echo = PingingEcho {
        echo: Echo::default(),
        echoed: 0,
        close_after: server_closes.then_some(messages.len()),
        pongs: Vec::new(),
        closed_with: None,
    };
    // As large as the event loop's, so that a read is never cut short by
    // the buffer: the transport alone decides how little arrives.
    let mut rbuf = vec![0u8; crate::link::READ_SIZE];
    // Whether each end's transport is still there.
    let (mut client_up, mut server_up) = (true, true);
    let mut rounds = 0u64;
    let mut idle = 0;
    let mut last = (0, 0);
    while !(client.is_done() && server.is_done()) {
        rounds += 1;
        assert!(rounds < 20_000_000, "no progress: stuck");
        // Time stands still: nothing here may need a timeout to finish.
        if client_up {
            drive(
                &mut client,
                &mut client_tls,
                &mut rbuf,
                &mut script_handler,
                1,
            );
            if client.is_done() {
                close(&mut client_tls);
                client_up = false;
            }
        }
        if server_up {
            drive(&mut server, &mut server_tls, &mut rbuf, &mut echo, 1);
            if server.is_done() {
                close(&mut server_tls);
                server_up = false;
            }
        }
        let now = {
            let t = tally.borrow();
            (t.written, t.read)
        };
        idle = if now != last { 0 } else { idle + 1 };
        last = now;
        assert!(
            idle <= 4,
            "stalled after {rounds} rounds ({:?}): client {:?}/{:?}, server {:?}/{:?}",
            tally.borrow(),
            client.state(),
            client.failure(),
            server.state(),
            server.failure()
        );
    }
    let t = tally.borrow();
    assert_eq!(t.written, t.read, "every byte written was read");
    assert!(
        t.refused > t.written,
        "half of all calls were refused: {t:?}"
    );
    if config.deflate.is_none() {
        // Every message went out and came back, in one-byte writes.
        let total: usize = messages.iter().map(|(_, m)| m.len()).sum();
        assert!(t.written > 2 * total as u64, "{t:?}");
    }

    assert_eq!(script_handler.received, messages, "every message echoed");
    assert_eq!(script_handler.pongs, [SCRIPT_PING]);
    assert_eq!(echo.pongs, [SERVER_PING]);
    assert_eq!(echo.echoed, messages.len());
    assert_eq!(script_handler.closed_with, Some(CloseCode::NORMAL));
    assert_eq!(echo.closed_with, Some(CloseCode::NORMAL));
    assert!(client.closure().unwrap().clean, "{:?}", client.failure());
    assert!(server.closure().unwrap().clean, "{:?}", server.failure());
    assert!(client.failure().is_none() && server.failure().is_none());
    // Each side saw the other's close_notify before its end of stream.
    assert!(!client_tls.truncated(), "the server's close_notify was cut");
    assert!(!server_tls.truncated(), "the client's close_notify was cut");
    assert!(!client_tls.is_handshaking() && !server_tls.is_handshaking());
}

#[test]
fn wss_echo_one_byte_per_call_client_closes() {
    echo_over_trickling_tls(Config::new(), false);
}

#[test]
fn wss_echo_one_byte_per_call_server_closes() {
    echo_over_trickling_tls(Config::new(), true);
}

#[test]
fn wss_echo_one_byte_per_call_compressed() {
    let config = Config {
        deflate: Some(deflate::Options::new()),
        ..Config::new()
    };
    echo_over_trickling_tls(config, false);
}

/// The script's messages are what the assertions above count on.
#[test]
fn the_script_crosses_tls_records() {
    let messages = script();
    assert!(messages.iter().any(|(_, m)| m.len() > 4 * 16 * 1024));
    assert!(messages.iter().any(|(kind, _)| *kind == DataKind::Text));
}

/// [`tls_pair_over`] sockets that move all they can, with the TLS
/// handshake done.
fn handshaken_bulk_pair() -> (
    TlsStream<TrickleSocket>,
    TlsStream<TrickleSocket>,
    Rc<RefCell<Tally>>,
) {
    let (mut client, mut server, tally) = tls_pair_over(true);
    let mut buf = vec![0u8; 64 * 1024];
    for _ in 0..10 {
        client.send_records().unwrap();
        let _ = server.read(&mut buf);
        let _ = client.read(&mut buf);
    }
    assert!(!client.is_handshaking() && !server.is_handshaking());
    (client, server, tally)
}

/// rustls asks for 4 KiB at a time; the stream reads ahead, so records
/// that arrived together cost one read of the socket, not one per 4 KiB.
/// What one `read` leaves behind comes first on the next, in order, even
/// when another stream on the same thread read in between; and one `read`
/// gives the plaintext of every record read ahead, not one record's.
#[test]
fn records_that_arrived_together_are_read_from_the_socket_at_once() {
    let (mut client, mut server, tally) = handshaken_bulk_pair();
    let mut buf = vec![0u8; 64 * 1024];
    // 40,000 bytes: three records, about 40 KB on the wire.
    let sent: Vec<u8> = (0..40_000u32).map(|i| (i % 251) as u8).collect();
    assert_eq!(client.write(&sent).unwrap(), sent.len());
    assert!(client.send_records().unwrap());
    let before = tally.borrow().read_calls;

    let mut got = vec![0u8; 1000];
    assert_eq!(server.read(&mut got).unwrap(), 1000);
    // The client reads on this thread in between: nothing for it.
    let err = client.read(&mut buf).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
    let mut reads = 0;
    loop {
        match server.read(&mut buf) {
            Ok(n) => {
                assert!(n > 0);
                reads += 1;
                got.extend_from_slice(&buf[..n]);
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) => panic!("{e}"),
        }
    }
    assert!(got == sent, "the bytes came out as they went in");
    // The rest of the three records' plaintext came out of one read.
    assert_eq!(reads, 1, "reads that gave plaintext");
    // One read for the records, one that found the socket empty, and the
    // client's one: without reading ahead the records alone took ten.
    let calls = tally.borrow().read_calls - before;
    assert!(calls <= 3, "{calls} reads of the sockets");
}

/// A read says it left the socket empty (so that an edge-triggered loop
/// may skip the read that would only say "would block") only when its
/// last `recv` was short and it handed on all that recv brought; not when
/// the caller's buffer filled first, nor when the read-ahead filled (more
/// may wait in the socket).
#[test]
fn a_read_says_whether_it_left_the_socket_empty() {
    let (mut client, mut server, tally) = handshaken_bulk_pair();
    let mut buf = vec![0u8; 256 * 1024];

    // 40,000 bytes: one recv takes all of it.
    let sent: Vec<u8> = (0..40_000u32).map(|i| (i % 251) as u8).collect();
    assert_eq!(client.write(&sent).unwrap(), sent.len());
    assert!(client.send_records().unwrap());
    assert_eq!(server.read(&mut buf[..1000]).unwrap(), 1000);
    assert!(!server.read_drained(), "the caller's buffer filled first");
    assert_eq!(server.read(&mut buf).unwrap(), 39_000);
    assert!(server.read_drained(), "all of a short recv was handed on");
    let calls = tally.borrow().read_calls;
    let err = server.read(&mut buf).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
    assert!(!server.read_drained());
    assert_eq!(tally.borrow().read_calls, calls + 1);

    // 100,000 bytes: the first recv fills the 64 KiB read-ahead.
    let sent: Vec<u8> = (0..100_000u32).map(|i| (i % 241) as u8).collect();
    let mut written = 0;
    while written < sent.len() {
        written += client.write(&sent[written..]).unwrap();
        assert!(client.send_records().unwrap());
    }
    let mut got = Vec::new();
    let n = server.read(&mut buf).unwrap();
    got.extend_from_slice(&buf[..n]);
    assert!(n < sent.len());
    assert!(
        !server.read_drained(),
        "a full recv may have left bytes behind"
    );
    let n = server.read(&mut buf).unwrap();
    got.extend_from_slice(&buf[..n]);
    assert!(got == sent, "the bytes came out as they went in");
    assert!(server.read_drained());
}
