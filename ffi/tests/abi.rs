//! The exported functions driven from Rust as a C caller would: random
//! messages through a client and a server wired together, and random
//! garbage wherever a peer controls the bytes. Nothing may panic, every
//! answer must be a documented status, and every pointer handed back must
//! point where the header says.

use core::ffi::c_void;
use core::ptr;

use websock::conn::{
    websock_client_init, websock_server_init, WEBSOCK_CONN_WORDS, WEBSOCK_ENTROPY_LEN,
};
use websock::event::{websock_poll_output, websock_receive};
use websock::handshake::{websock_accept, websock_client_request, websock_client_response};
use websock::lifecycle::{websock_should_close, websock_state};
use websock::send::{websock_close, websock_send_binary, websock_send_text};
use websock::{Conn, Event, EventType, Request, Response, State, Status};

/// xorshift64*: reproducible randomness without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }

    /// Random bytes, fewer than `max` of them.
    fn noise(&mut self, max: usize) -> Vec<u8> {
        let len = self.below(max);
        self.bytes(len)
    }
}

/// Connection memory, as a C caller would declare it.
fn storage() -> Box<Conn> {
    Box::new(Conn {
        opaque: [0; WEBSOCK_CONN_WORDS],
    })
}

const REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\
    Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
    Sec-WebSocket-Version: 13\r\n\r\n";

fn open_server() -> Box<Conn> {
    let mut conn = storage();
    let mut out = [0u8; 512];
    let mut req = empty_request();
    // SAFETY: `conn` is a whole, aligned websock_conn; the buffers are live
    // locals of the sizes passed, and nothing overlaps.
    unsafe {
        assert_eq!(
            websock_server_init(&mut *conn, size_of::<Conn>(), ptr::null(), 0),
            Status::Ok
        );
        let st = websock_accept(
            &mut *conn,
            REQUEST.as_ptr().cast(),
            REQUEST.len(),
            ptr::null(),
            0,
            out.as_mut_ptr().cast(),
            out.len(),
            &mut req,
        );
        assert_eq!(st, Status::Ok);
    }
    conn
}

fn empty_request() -> Request {
    Request {
        consumed: 0,
        written: 0,
        protocol: 0,
        path: ptr::null(),
        path_len: 0,
        host: ptr::null(),
        host_len: 0,
        origin: ptr::null(),
        origin_len: 0,
    }
}

fn empty_response() -> Response {
    Response {
        consumed: 0,
        http_status: 0,
        protocol: 0,
        extensions: ptr::null(),
        extensions_len: 0,
    }
}

fn empty_event() -> Event {
    Event {
        kind: EventType::None,
        fin: false,
        close_code: 0,
        data: ptr::null(),
        len: 0,
    }
}

/// What `feed` saw: messages reassembled, control payloads (a close's
/// with its code in front), the engine's own output, and the violation
/// that failed the connection, if any.
struct Fed {
    seen: Vec<(EventType, Vec<u8>)>,
    replies: Vec<u8>,
    violation: Option<Status>,
}

/// Feeds `wire` to `conn` in random pieces, checking every answer against
/// the header's promises.
fn feed(conn: &mut Conn, wire: &[u8], rng: &mut Rng) -> Fed {
    let mut fed = Fed {
        seen: Vec::new(),
        replies: Vec::new(),
        violation: None,
    };
    let mut message = Vec::new();
    let mut buf = wire.to_vec();
    let mut pos = 0;
    let mut end = 0;
    for guard in 0.. {
        assert!(guard < 1_000_000, "no progress");
        if pos == buf.len() && guard > 0 {
            break;
        }
        end = (end.max(pos) + 1 + rng.below(40)).min(buf.len());
        let input = &mut buf[pos..end];
        let (start, len) = (input.as_ptr() as usize, input.len());
        let mut used = usize::MAX;
        let mut out = [0u8; 256];
        let mut pong = usize::MAX;
        let mut ev = empty_event();
        // SAFETY: `input` is a live mutable slice; `out`, `used`, `pong`
        // and `ev` are locals; none overlaps the connection.
        let st = unsafe {
            websock_receive(
                conn,
                input.as_mut_ptr().cast(),
                len,
                out.as_mut_ptr().cast(),
                out.len(),
                &mut used,
                &mut pong,
                &mut ev,
            )
        };
        assert!(
            st == Status::Ok || (100..200).contains(&(st as i32)),
            "{st:?}"
        );
        assert!(used <= len);
        // A ping's pong, written in the same call.
        fed.replies.extend_from_slice(&out[..pong]);
        if st != Status::Ok {
            assert_eq!(used, len, "a failed connection ignores the rest");
            assert_eq!(ev.kind, EventType::None);
            fed.violation.get_or_insert(st);
        }
        if ev.kind != EventType::None {
            let at = ev.data as usize;
            assert!(
                at >= start && at + ev.len <= start + used,
                "data outside the input"
            );
        }
        match ev.kind {
            EventType::Text | EventType::Binary => {
                // SAFETY: just checked to lie inside `buf`, still alive.
                message.extend_from_slice(unsafe { core::slice::from_raw_parts(ev.data, ev.len) });
                if ev.fin {
                    fed.seen.push((ev.kind, core::mem::take(&mut message)));
                }
            }
            EventType::Ping | EventType::Pong | EventType::Close => {
                assert!(ev.len <= 125);
                let mut payload = Vec::new();
                if ev.kind == EventType::Close {
                    payload.extend(ev.close_code.to_be_bytes());
                }
                // SAFETY: checked above to lie inside `buf`, still alive.
                payload.extend_from_slice(unsafe { core::slice::from_raw_parts(ev.data, ev.len) });
                fed.seen.push((ev.kind, payload));
            }
            EventType::None => {}
        }
        pos += used;
        let mut n = usize::MAX;
        // SAFETY: `out` and `n` are locals that overlap nothing.
        let st = unsafe { websock_poll_output(conn, out.as_mut_ptr().cast(), out.len(), &mut n) };
        assert_eq!(st, Status::Ok);
        fed.replies.extend_from_slice(&out[..n]);
    }
    fed
}

#[test]
fn random_messages_cross_from_client_to_server() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for round in 0..40 {
        let mut server = storage();
        let mut client = storage();
        let seed = rng.bytes(WEBSOCK_ENTROPY_LEN);
        let mut wire = Vec::new();
        let mut expected = Vec::new();
        // SAFETY: every buffer is a live local or Vec of the size passed;
        // nothing overlaps.
        unsafe {
            assert_eq!(
                websock_client_init(
                    &mut *client,
                    size_of::<Conn>(),
                    ptr::null(),
                    0,
                    seed.as_ptr().cast(),
                    seed.len()
                ),
                Status::Ok
            );
            let mut out = [0u8; 512];
            let mut n = 0;
            let st = websock_client_request(
                &mut *client,
                c"x".as_ptr(),
                1,
                c"/".as_ptr(),
                1,
                ptr::null(),
                0,
                out.as_mut_ptr().cast(),
                out.len(),
                &mut n,
            );
            assert_eq!(st, Status::Ok);
            // The server accepts the client's own request.
            let mut resp = [0u8; 512];
            let mut req = empty_request();
            assert_eq!(
                websock_server_init(&mut *server, size_of::<Conn>(), ptr::null(), 0),
                Status::Ok
            );
            let st = websock_accept(
                &mut *server,
                out.as_ptr().cast(),
                n,
                ptr::null(),
                0,
                resp.as_mut_ptr().cast(),
                resp.len(),
                &mut req,
            );
            assert_eq!(st, Status::Ok);
            let mut r = empty_response();
            let st = websock_client_response(
                &mut *client,
                resp.as_ptr().cast(),
                req.written,
                ptr::null(),
                0,
                &mut r,
            );
            assert_eq!(st, Status::Ok);

            for _ in 0..1 + rng.below(6) {
                let text = rng.below(2) == 0;
                let body: Vec<u8> = if text {
                    (0..rng.below(300))
                        .map(|_| b'a' + rng.below(26) as u8)
                        .collect()
                } else {
                    rng.noise(70_000)
                };
                let mut at = 0;
                loop {
                    let piece = (1 + rng.below(body.len().max(1))).min(body.len() - at);
                    let fin = at + piece == body.len();
                    let mut frame = vec![0u8; piece + 14];
                    let mut w = 0;
                    let f = if text {
                        websock_send_text
                    } else {
                        websock_send_binary
                    };
                    let st = f(
                        &mut *client,
                        body[at..].as_ptr().cast::<c_void>(),
                        piece,
                        fin,
                        frame.as_mut_ptr().cast(),
                        frame.len(),
                        &mut w,
                    );
                    assert_eq!(st, Status::Ok);
                    wire.extend_from_slice(&frame[..w]);
                    at += piece;
                    if fin {
                        break;
                    }
                }
                expected.push((
                    if text {
                        EventType::Text
                    } else {
                        EventType::Binary
                    },
                    body,
                ));
            }
            let mut frame = [0u8; 64];
            let mut w = 0;
            let st = websock_close(
                &mut *client,
                1000,
                c"done".as_ptr(),
                4,
                frame.as_mut_ptr().cast(),
                64,
                &mut w,
            );
            assert_eq!(st, Status::Ok);
            wire.extend_from_slice(&frame[..w]);
        }
        expected.push((
            EventType::Close,
            [&1000u16.to_be_bytes()[..], b"done"].concat(),
        ));
        let fed = feed(&mut server, &wire, &mut rng);
        assert_eq!(fed.violation, None, "round {round}");
        assert_eq!(fed.seen, expected, "round {round}");
        // The close reply, then the server asks to drop TCP.
        assert_eq!(
            &fed.replies[..4],
            &[0x88, 0x02, 0x03, 0xe8],
            "round {round}"
        );
        // SAFETY: `server` is initialised.
        unsafe {
            assert!(websock_should_close(&*server));
            assert_eq!(websock_state(&*server), State::Closed);
        }
    }
}

/// A masked client frame with any header bits.
fn frame(rng: &mut Rng, first: u8, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![first];
    match payload.len() {
        n if n < 126 => f.push(0x80 | n as u8),
        n if n < 65536 => {
            f.push(0x80 | 126);
            f.extend((n as u16).to_be_bytes());
        }
        n => {
            f.push(0x80 | 127);
            f.extend((n as u64).to_be_bytes());
        }
    }
    let key = rng.bytes(4);
    f.extend(&key);
    f.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    f
}

/// The last of the unmasked, short frames in `out` (the server's replies).
fn last_frame(out: &[u8]) -> &[u8] {
    let mut at = 0;
    let mut last = &out[0..0];
    while at + 2 <= out.len() {
        let len = 2 + (out[at + 1] & 0x7f) as usize;
        last = &out[at..(at + len).min(out.len())];
        at += len;
    }
    last
}

#[test]
fn garbage_frames_get_statuses_never_panics() {
    let mut rng = Rng(0xD1B5_4A32_D192_ED03);
    let mut violations = 0;
    for _ in 0..400 {
        let mut server = open_server();
        let mut wire = Vec::new();
        for _ in 0..1 + rng.below(8) {
            match rng.below(4) {
                // Pure noise.
                0 => wire.extend(rng.noise(64)),
                // Any first byte (opcode, RSV, FIN), plausible payload.
                1 => {
                    let first = rng.next() as u8;
                    let len = rng.below(200);
                    let payload = rng.bytes(len);
                    wire.extend(frame(&mut rng, first, &payload));
                }
                // Well-formed text frames, possibly invalid UTF-8.
                2 => {
                    let payload = rng.noise(10);
                    wire.extend(frame(&mut rng, 0x81, &payload));
                }
                // Close frames with any code and reason.
                _ => {
                    let payload = rng.noise(8);
                    wire.extend(frame(&mut rng, 0x88, &payload));
                }
            }
        }
        let fed = feed(&mut server, &wire, &mut rng);
        if let Some(v) = fed.violation {
            violations += 1;
            // The failing close frame went out, and the engine wants TCP gone.
            let want: u16 = match v {
                Status::InvalidUtf8 => 1007,
                Status::MessageTooBig => 1009,
                _ => 1002,
            };
            let last = last_frame(&fed.replies);
            assert_eq!(
                last.first(),
                Some(&0x88),
                "{v:?}: the last frame is not a close"
            );
            assert_eq!(last.get(2..4), Some(&want.to_be_bytes()[..]), "{v:?}");
            // SAFETY: `server` is initialised.
            unsafe {
                assert!(websock_should_close(&*server), "{v:?}");
                assert_eq!(websock_state(&*server), State::Failed);
            }
        }
    }
    // The generator must actually reach the error paths.
    assert!(violations > 100, "only {violations} violations");
}

#[test]
fn garbage_handshakes_get_statuses_never_panics() {
    let mut rng = Rng(0x94D0_49BB_1331_11EB);
    for _ in 0..2000 {
        let mut input = REQUEST.to_vec();
        // Flip, drop or insert a few bytes of a valid request, or use noise.
        match rng.below(4) {
            0 => input = rng.noise(300),
            1 => {
                for _ in 0..1 + rng.below(4) {
                    let i = rng.below(input.len());
                    input[i] = rng.next() as u8;
                }
            }
            2 => input.truncate(rng.below(input.len())),
            _ => {
                let i = rng.below(input.len());
                let extra = rng.noise(20);
                input.splice(i..i, extra);
            }
        }
        let mut server = storage();
        let mut out = vec![0u8; rng.below(400)];
        let mut req = empty_request();
        let mut client = storage();
        let mut resp = empty_response();
        // SAFETY: every buffer is a live local or Vec of the size passed;
        // nothing overlaps.
        unsafe {
            assert_eq!(
                websock_server_init(&mut *server, size_of::<Conn>(), ptr::null(), 0),
                Status::Ok
            );
            let st = websock_accept(
                &mut *server,
                input.as_ptr().cast(),
                input.len(),
                ptr::null(),
                0,
                out.as_mut_ptr().cast(),
                out.len(),
                &mut req,
            );
            let code = st as i32;
            assert!(
                code <= 1 || code == 16 || (200..214).contains(&code),
                "{st:?}"
            );
            assert!(req.consumed <= input.len());
            if st != Status::BufferTooSmall {
                assert!(req.written <= out.len());
            }
            // The same bytes as a server's response to a client.
            let seed = [7u8; WEBSOCK_ENTROPY_LEN];
            assert_eq!(
                websock_client_init(
                    &mut *client,
                    size_of::<Conn>(),
                    ptr::null(),
                    0,
                    seed.as_ptr().cast(),
                    32
                ),
                Status::Ok
            );
            let mut req_out = [0u8; 512];
            let mut n = 0;
            let st = websock_client_request(
                &mut *client,
                c"x".as_ptr(),
                1,
                ptr::null(),
                0,
                ptr::null(),
                0,
                req_out.as_mut_ptr().cast(),
                512,
                &mut n,
            );
            assert_eq!(st, Status::Ok);
            let st = websock_client_response(
                &mut *client,
                input.as_ptr().cast(),
                input.len(),
                ptr::null(),
                0,
                &mut resp,
            );
            let code = st as i32;
            assert!(code <= 1 || (200..214).contains(&code), "{st:?}");
            assert!(resp.consumed <= input.len());
        }
    }
}
