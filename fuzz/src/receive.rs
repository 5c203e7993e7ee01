//! The receive driver. One engine of an open pair is fed a peer's bytes at
//! fuzzer-chosen splits, with a scratch buffer of fuzzer-chosen size,
//! polling its output after fuzzer-chosen calls and echoing every data
//! chunk back; on every call it checks the contract of `receive_with`:
//!
//! - consumed never exceeds the input, and is short of it only when an
//!   event comes back, when the output has no room for a ping's pong, or
//!   when what is left is less than a whole frame header or control frame
//!   (kept and fed again with the next piece);
//! - a pong is written in the call that takes its ping, into output of
//!   fuzzer-chosen size;
//! - data chunks are slices of the input (consumed part) or of scratch;
//! - a text message's chunks concatenate to valid UTF-8, and every prefix
//!   is a valid UTF-8 prefix;
//! - after a protocol error the engine writes only the failing close (with
//!   the violation's code; none if our close was already sent), and
//!   ignores all later input;
//! - the same bytes fed whole, with a large scratch buffer, give the same
//!   messages, control frames and failure;
//! - the other end of the pair reads everything the engine wrote without a
//!   protocol error: the echoes byte for byte, pongs for pings, the close.

use libfuzzer_sys::arbitrary::{self, Arbitrary};
use websock_core::deflate::Codec;
use websock_core::{
    CloseCode, Config, Connection, DataKind, Error, Event, Received, Role, State, Transport,
    Violation, MAX_CONTROL_FRAME,
};

use crate::pair::{self, DeflateSetup};
use crate::wire::{self, Piece};

/// One fuzz case for either role.
#[derive(Arbitrary, Debug)]
pub struct Case {
    /// The server's permessage-deflate options, if it accepts offers.
    pub server_deflate: Option<DeflateSetup>,
    /// The client's, if it makes an offer.
    pub client_deflate: Option<DeflateSetup>,
    /// A small message size limit for the engine under test.
    pub max_message: Option<u16>,
    /// Scratch buffer length (0 included).
    pub scratch: u16,
    /// Lengths of the pieces the input is fed in; the rest goes last.
    pub splits: Vec<u8>,
    /// Bit `i % 32`: poll output after call `i` (it is polled anyway when
    /// the engine holds back).
    pub polls: u32,
    /// Output buffer given to `receive_with` (for pongs) and `poll_output`.
    pub out_len: u8,
    /// Output buffer for echoes; `None`: no echo.
    pub echo_room: Option<u16>,
    /// Before this piece, the application starts the closing handshake.
    pub close_at: Option<u8>,
    /// Client entropy (key and masks).
    pub entropy: [u8; 32],
    /// What the peer sends.
    pub pieces: Vec<Piece>,
}

/// What the engine reported, owned and normalised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rec {
    /// A data message, its chunks joined; `complete` once `last` came.
    Message {
        /// Text or binary.
        kind: DataKind,
        /// The bytes so far.
        bytes: Vec<u8>,
        /// Its last chunk came.
        complete: bool,
    },
    /// A ping's payload.
    Ping(Vec<u8>),
    /// A pong's payload.
    Pong(Vec<u8>),
    /// A close frame's code and reason.
    Close(u16, Vec<u8>),
    /// The connection failed.
    Failed(Violation),
}

/// A message with its fragments joined: kind, bytes, complete.
type Joined = (DataKind, Vec<u8>, bool);

/// How one engine is driven.
struct Driver {
    conn: Connection,
    /// Output frames are masked (the engine is a client).
    masked: bool,
    scratch: Vec<u8>,
    polls: u32,
    out_len: usize,
    echo_room: Option<usize>,
    calls: u32,
    recs: Vec<Rec>,
    /// Everything the engine wrote, in wire order.
    wire_out: Vec<u8>,
    /// Messages as echoed, joined.
    echoed: Vec<Joined>,
    echoing: bool,
    failed: bool,
    /// Input the engine has not taken yet (the start of a frame header or
    /// control frame): fed again, first, with the next piece.
    pending: Vec<u8>,
}

fn within(inner: &[u8], outer: (usize, usize)) -> bool {
    let r = inner.as_ptr_range();
    let (s, e) = (r.start as usize, r.end as usize);
    inner.is_empty() || (s >= outer.0 && e <= outer.1)
}

fn range(b: &[u8]) -> (usize, usize) {
    let r = b.as_ptr_range();
    (r.start as usize, r.end as usize)
}

impl Driver {
    fn new(
        conn: Connection,
        scratch: usize,
        polls: u32,
        out_len: usize,
        echo: Option<usize>,
    ) -> Self {
        let masked = conn.role() == Role::Client;
        Driver {
            conn,
            masked,
            scratch: vec![0; scratch],
            polls,
            out_len,
            echo_room: echo,
            calls: 0,
            recs: Vec::new(),
            wire_out: Vec::new(),
            echoed: Vec::new(),
            echoing: echo.is_some(),
            failed: false,
            pending: Vec::new(),
        }
    }

    /// Writes the engine's queued replies through a buffer of `room` bytes.
    fn poll(&mut self, room: usize) -> usize {
        let mut out = vec![0u8; room];
        let had = self.conn.has_output();
        let n = self.conn.poll_output(&mut out);
        assert!(n <= room);
        if had && room >= MAX_CONTROL_FRAME {
            assert!(n > 0, "poll_output made no progress with {room} bytes");
        }
        self.wire_out.extend_from_slice(&out[..n]);
        n
    }

    fn drain(&mut self) {
        while self.conn.has_output() {
            self.poll(MAX_CONTROL_FRAME);
        }
    }

    /// The application starts the closing handshake.
    fn close(&mut self) {
        if self.conn.state() == State::Open {
            let mut out = [0u8; MAX_CONTROL_FRAME];
            let n = self
                .conn
                .close(CloseCode::NORMAL, "fuzz", &mut out)
                .expect("close while open");
            self.wire_out.extend_from_slice(&out[..n]);
        }
    }

    /// Feeds one piece of input, after what the engine left of the last
    /// one, until the engine has consumed all it can and has nothing more
    /// to report.
    fn feed(&mut self, chunk: &[u8]) {
        let mut buf = std::mem::take(&mut self.pending);
        buf.extend_from_slice(chunk);
        let mut pos = 0;
        let mut idle = 0;
        // Output room for a pong: the fuzzer's, widened to what always
        // takes one when the engine holds a ping back.
        let mut room = self.out_len;
        loop {
            let len = buf.len() - pos;
            if self.failed {
                let r = self
                    .conn
                    .receive_with(&mut buf[pos..], &mut self.scratch, &mut []);
                assert!(
                    matches!(&r, Ok(r) if r.consumed == len && r.event.is_none()),
                    "input after failure: {r:?}"
                );
                return;
            }
            let state = self.conn.state();
            let owed = self.conn.has_output();
            let input_range = range(&buf[pos..]);
            let scratch_range = range(&self.scratch);
            let compressing = self.conn.compression_active();
            let mut out = vec![0u8; room];
            let result = self
                .conn
                .receive_with(&mut buf[pos..], &mut self.scratch, &mut out);
            self.calls += 1;
            let (used, got) = match result {
                Ok(Received {
                    consumed: used,
                    written,
                    event,
                }) => {
                    assert!(used <= len, "consumed {used} of {len}");
                    assert!(written <= room);
                    if written > 0 {
                        assert!(matches!(event, Some(Event::Ping(_))), "{event:?}");
                        assert_eq!(state, State::Open, "a pong after our close");
                    }
                    self.wire_out.extend_from_slice(&out[..written]);
                    let got = event.is_some();
                    if let Some(event) = event {
                        if let Event::Data { chunk, .. } = &event {
                            let consumed = (input_range.0, input_range.0 + used);
                            assert!(
                                within(chunk, consumed) || within(chunk, scratch_range),
                                "chunk outside the consumed input and scratch"
                            );
                            if !compressing {
                                assert!(within(chunk, consumed));
                            }
                        }
                        record(
                            event,
                            &mut self.recs,
                            &mut self.conn,
                            &mut self.wire_out,
                            &mut self.echoed,
                            &mut self.echoing,
                            self.echo_room,
                        );
                    }
                    (used, got)
                }
                Err(Error::Protocol(v)) => {
                    assert_eq!(self.conn.state(), State::Failed);
                    self.recs.push(Rec::Failed(v));
                    self.failed = true;
                    let start = self.wire_out.len();
                    self.drain();
                    let frames = wire::frames(&self.wire_out[start..], self.masked);
                    let rest = frames.as_slice();
                    assert!(!owed, "a close was owed, yet the engine read on");
                    match state {
                        State::Open => {
                            assert_eq!(rest.len(), 1, "after a failure: {frames:?}");
                            assert_eq!(rest[0].opcode, 0x8);
                            let code = u16::from_be_bytes([rest[0].payload[0], rest[0].payload[1]]);
                            assert_eq!(code, v.close_code().0);
                        }
                        _ => assert!(rest.is_empty(), "after a failure in {state:?}: {frames:?}"),
                    }
                    assert_eq!(self.conn.transport(), Transport::Close);
                    continue;
                }
                Err(Error::BufferTooSmall { .. }) => {
                    assert!(self.scratch.is_empty() && compressing);
                    assert_eq!(self.conn.state(), state);
                    self.scratch = vec![0; 1];
                    continue;
                }
                Err(e) => panic!("unexpected error from receive: {e:?}"),
            };
            pos += used;
            let stalled = used == 0 && !got && len > 0;
            if stalled || self.polls & (1 << (self.calls % 32)) != 0 {
                self.poll(if stalled {
                    MAX_CONTROL_FRAME
                } else {
                    self.out_len
                });
            }
            if stalled && room < MAX_CONTROL_FRAME {
                // Perhaps a ping with no room for its pong: widen once.
                room = MAX_CONTROL_FRAME;
                idle += 1;
                assert!(idle < 2, "no progress");
                continue;
            }
            if stalled {
                // The rest is the start of a header or control frame.
                assert!(len < MAX_CONTROL_FRAME, "stalled on {len} bytes");
                self.pending = buf[pos..].to_vec();
                return;
            }
            idle = 0;
            room = self.out_len;
            if pos == buf.len() && !got {
                return;
            }
        }
    }
}

/// Records an event (joining data into messages, checking UTF-8) and
/// echoes data back.
fn record(
    event: Event<'_>,
    recs: &mut Vec<Rec>,
    conn: &mut Connection,
    wire_out: &mut Vec<u8>,
    echoed: &mut Vec<Joined>,
    echoing: &mut bool,
    echo_room: Option<usize>,
) {
    match event {
        Event::Data { kind, chunk, last } => {
            match recs.last_mut() {
                Some(Rec::Message {
                    kind: k,
                    bytes,
                    complete: c @ false,
                }) => {
                    assert_eq!(*k, kind, "kind changed inside a message");
                    *c = last;
                    bytes.extend_from_slice(chunk);
                }
                // A new message, or one continued after a control frame
                // (a record of its own, so interleaving is compared).
                _ => recs.push(Rec::Message {
                    kind,
                    bytes: chunk.to_vec(),
                    complete: last,
                }),
            }
            let whole = message_so_far(recs);
            if kind == DataKind::Text {
                match std::str::from_utf8(&whole) {
                    Ok(_) => {}
                    Err(e) => assert!(
                        !last && e.error_len().is_none(),
                        "text that is not UTF-8 was delivered"
                    ),
                }
            }
            if *echoing {
                echo(
                    conn,
                    kind,
                    chunk,
                    last,
                    wire_out,
                    echoed,
                    echoing,
                    echo_room.unwrap_or(0),
                );
            }
        }
        Event::Ping(p) => recs.push(Rec::Ping(p.to_vec())),
        Event::Pong(p) => recs.push(Rec::Pong(p.to_vec())),
        Event::Close { code, reason } => {
            assert!(std::str::from_utf8(reason).is_ok());
            recs.push(Rec::Close(code.0, reason.to_vec()))
        }
    }
}

/// The current message's bytes, across control frames in between: the
/// last data record and the unfinished ones before it.
fn message_so_far(recs: &[Rec]) -> Vec<u8> {
    let mut groups: Vec<&[u8]> = Vec::new();
    for r in recs.iter().rev() {
        if let Rec::Message {
            bytes, complete, ..
        } = r
        {
            if !groups.is_empty() && *complete {
                break;
            }
            groups.push(bytes);
        }
    }
    groups
        .iter()
        .rev()
        .flat_map(|g| g.iter().copied())
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn echo(
    conn: &mut Connection,
    kind: DataKind,
    chunk: &[u8],
    last: bool,
    wire_out: &mut Vec<u8>,
    echoed: &mut Vec<Joined>,
    echoing: &mut bool,
    room: usize,
) {
    let mut out = vec![0u8; room];
    let n = match conn.send(kind, chunk, last, &mut out) {
        Ok(n) => n,
        Err(Error::BufferTooSmall { needed }) => {
            assert!(needed > room, "asked for {needed} with {room}");
            assert!(needed <= conn.max_frame_len(chunk.len()));
            out = vec![0u8; needed];
            conn.send(kind, chunk, last, &mut out)
                .expect("send with the room it asked for")
        }
        Err(Error::InvalidState) => {
            assert!(matches!(
                conn.state(),
                State::CloseSent | State::CloseReceived | State::Closed | State::Failed
            ));
            *echoing = false;
            return;
        }
        Err(e) => panic!("send: {e:?}"),
    };
    assert!(n <= out.len());
    wire_out.extend_from_slice(&out[..n]);
    match echoed.last_mut() {
        Some((_, bytes, done @ false)) => {
            bytes.extend_from_slice(chunk);
            *done = last;
        }
        _ => echoed.push((kind, chunk.to_vec(), last)),
    }
}

/// Messages with their fragments joined across control frames, and the
/// control records, separately.
fn split_records(recs: &[Rec]) -> (Vec<Joined>, Vec<Rec>, Option<Violation>) {
    let mut messages: Vec<Joined> = Vec::new();
    let mut controls = Vec::new();
    let mut failed = None;
    for r in recs {
        match r {
            Rec::Message {
                kind,
                bytes,
                complete,
            } => match messages.last_mut() {
                Some((_, b, done @ false)) => {
                    b.extend_from_slice(bytes);
                    *done = *complete;
                }
                _ => messages.push((*kind, bytes.clone(), *complete)),
            },
            Rec::Failed(v) => failed = Some(*v),
            other => controls.push(other.clone()),
        }
    }
    (messages, controls, failed)
}

/// Messages must agree; a message the failure cut short may have been
/// delivered further in one run than in the other.
fn same_messages(a: &[Joined], b: &[Joined], cut_short: bool) {
    if !cut_short {
        assert_eq!(a, b, "messages differ between splits");
        return;
    }
    let (mut a, mut b) = (a.to_vec(), b.to_vec());
    let partial = |m: &mut Vec<Joined>| match m.last() {
        Some((_, _, false)) => m.pop(),
        _ => None,
    };
    // One run may have delivered none of the message the other began.
    let pa = partial(&mut a);
    let pb = partial(&mut b);
    assert_eq!(a, b, "complete messages differ between splits");
    if let (Some(x), Some(y)) = (pa, pb) {
        let n = x.1.len().min(y.1.len());
        assert_eq!(x.0, y.0);
        assert_eq!(x.1[..n], y.1[..n], "partial message differs between splits");
    }
}

/// Runs a case with `role` under test.
pub fn run(case: Case, role: Role) {
    let mut server_config = Config::new();
    let mut client_config = Config::new();
    server_config.deflate = case.server_deflate.map(DeflateSetup::options);
    client_config.deflate = case.client_deflate.map(DeflateSetup::options);
    let limit = case.max_message.map(u64::from);
    match (role, limit) {
        (Role::Server, Some(m)) => server_config.max_message_size = m,
        (Role::Client, Some(m)) => client_config.max_message_size = m,
        _ => {}
    }
    let open = || pair::open(server_config, client_config, case.entropy);
    let p = open();
    // The peer's compressor, for the frames the fuzzer asks to compress.
    let peer_agreed = match role {
        Role::Server => p.client_agreed,
        Role::Client => p.server_agreed,
    };
    let mut codec = peer_agreed.map(Codec::new);
    let bytes = wire::encode(&case.pieces, role == Role::Server, codec.as_mut());
    let deflate = peer_agreed.is_some();
    let (under_test, peer) = match role {
        Role::Server => (p.server, p.client),
        Role::Client => (p.client, p.server),
    };

    // Split run.
    let mut d = Driver::new(
        under_test,
        usize::from(case.scratch % 2049),
        case.polls,
        usize::from(case.out_len),
        case.echo_room.map(usize::from),
    );
    let mut at = 0;
    let mut close_offset = None;
    let mut pieces: Vec<&[u8]> = Vec::new();
    for &s in &case.splits {
        let end = (at + usize::from(s)).min(bytes.len());
        pieces.push(&bytes[at..end]);
        at = end;
    }
    pieces.push(&bytes[at..]);
    let mut offset = 0;
    for (i, piece) in pieces.iter().enumerate() {
        if case.close_at.map(usize::from) == Some(i) && d.conn.state() == State::Open {
            d.close();
            close_offset = Some(offset);
        }
        d.feed(piece);
        offset += piece.len();
    }
    d.drain();
    if d.failed {
        assert_eq!(d.conn.transport(), Transport::Close);
    }

    // Reference run: the same bytes whole (cut only where the application
    // closed), a large scratch buffer, output polled after every call.
    let p = open();
    let conn = match role {
        Role::Server => p.server,
        Role::Client => p.client,
    };
    let mut r = Driver::new(conn, 1 << 16, u32::MAX, MAX_CONTROL_FRAME, None);
    match close_offset {
        Some(c) => {
            r.feed(&bytes[..c]);
            r.close();
            r.feed(&bytes[c..]);
        }
        None => r.feed(&bytes),
    }
    r.drain();

    let (ma, ca, fa) = split_records(&d.recs);
    let (mb, cb, fb) = split_records(&r.recs);
    assert_eq!(
        fa.is_some(),
        fb.is_some(),
        "failure differs between splits: {fa:?} {fb:?}"
    );
    if !deflate {
        assert_eq!(fa, fb, "violation differs between splits");
    }
    assert_eq!(ca, cb, "control frames differ between splits");
    same_messages(&ma, &mb, fa.is_some());
    if !deflate && fa.is_none() {
        assert_eq!(d.recs, r.recs, "events differ between splits");
    }

    // The other end reads all the engine wrote, echoes included.
    let mut peer_driver = Driver::new(peer, 1 << 16, u32::MAX, MAX_CONTROL_FRAME, None);
    let out = std::mem::take(&mut d.wire_out);
    peer_driver.feed(&out);
    let (pm, pc, pf) = split_records(&peer_driver.recs);
    assert_eq!(pf, None, "the peer failed on what the engine wrote");
    same_messages(&pm, &d.echoed, false);
    let pings: Vec<&Vec<u8>> = d
        .recs
        .iter()
        .filter_map(|r| match r {
            Rec::Ping(p) => Some(p),
            _ => None,
        })
        .collect();
    let mut next = 0;
    for c in &pc {
        if let Rec::Pong(p) = c {
            let k = pings[next..].iter().position(|q| *q == p);
            let k = k.expect("a pong the engine was not asked for");
            next += k + 1;
        }
    }
    if let (Some(v), None) = (fa, close_offset) {
        // Failed while open: the peer reads the failing close, last.
        assert!(
            matches!(pc.last(), Some(Rec::Close(code, _)) if *code == v.close_code().0),
            "the peer did not read the failing close: {pc:?}"
        );
    }
}
