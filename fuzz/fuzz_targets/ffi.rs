//! The C ABI: a connection in caller memory driven through its exported
//! functions by a fuzzer-chosen sequence of calls, with fuzzer-chosen
//! buffers and sizes (NULL with zero length included), as a C program
//! would make them. Checks: every status has a message; counts never
//! exceed the buffers; an event's data points into the input, the scratch
//! buffer or the event's own control storage; a too-small output buffer
//! writes nothing and reports the size needed, which then suffices;
//! deinit releases everything (LeakSanitizer) and a second deinit is
//! refused.
#![no_main]

use std::ffi::{c_int, c_void, CStr};
use std::ptr;

use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;
use websock::conn::{websock_client_init, websock_conn_deinit, websock_server_init, Conn};
use websock::event::{websock_poll_output, websock_receive, websock_receive_with};
use websock::handshake::{websock_accept, websock_client_request, websock_client_response};
use websock::lifecycle::{
    websock_deadline, websock_has_output, websock_should_close, websock_state, websock_tick,
    websock_transport_closed,
};
use websock::send::{
    websock_close, websock_max_frame_len, websock_ping, websock_pong, websock_send_binary,
    websock_send_text,
};
use websock::status::websock_status_str;
use websock::{Closure, Config, Event, EventType, Request, Response, Status};
use websock_core::handshake::accept_key;

const REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: fuzz.example\r\nUpgrade: websocket\r\n\
Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n";

#[derive(Arbitrary, Debug)]
enum Op {
    Receive {
        data: Vec<u8>,
        scratch: Option<u16>,
    },
    Poll {
        cap: u16,
    },
    Text {
        data: Vec<u8>,
        fin: bool,
        cap: u16,
    },
    Binary {
        data: Vec<u8>,
        fin: bool,
        cap: u16,
    },
    Ping {
        data: Vec<u8>,
        cap: u16,
    },
    Pong {
        data: Vec<u8>,
        cap: u16,
    },
    Close {
        code: u16,
        reason: Vec<u8>,
        cap: u16,
    },
    Tick {
        ms: u32,
    },
    TransportClosed,
    MaxFrameLen {
        len: usize,
    },
}

#[derive(Arbitrary, Debug)]
struct Case {
    server: bool,
    deflate: bool,
    level: u8,
    max_message: u32,
    entropy: [u8; 32],
    /// Server: header lines after the standard ones (an offer, say).
    /// Client: header lines of the 101 after the accept value.
    extra: Vec<u8>,
    handshake_cap: u16,
    ops: Vec<Op>,
}

fn check(s: Status) -> Status {
    // Any int is allowed; the result is a static C string.
    let msg = websock_status_str(s as c_int);
    assert!(!msg.is_null());
    // SAFETY: non-NULL, from the library: a NUL-terminated static string.
    assert!(!unsafe { CStr::from_ptr(msg) }.to_bytes().is_empty());
    s
}

fn ptr_of(v: &mut Vec<u8>) -> *mut c_void {
    if v.is_empty() {
        ptr::null_mut()
    } else {
        v.as_mut_ptr().cast()
    }
}

/// Calls a send-like function with `cap` bytes, and again with what it
/// asked for when that was too small.
fn write(
    cap: u16,
    mut call: impl FnMut(*mut c_void, usize, *mut usize) -> Status,
) -> Option<Vec<u8>> {
    let mut out = vec![0u8; usize::from(cap)];
    let mut written = usize::MAX;
    let s = check(call(ptr_of(&mut out), out.len(), &mut written));
    match s {
        Status::Ok => {
            assert!(written <= out.len());
            out.truncate(written);
            Some(out)
        }
        Status::BufferTooSmall => {
            assert!(written > out.len(), "needed {written} with {}", out.len());
            let mut out = vec![0u8; written];
            let mut again = usize::MAX;
            let s = check(call(ptr_of(&mut out), out.len(), &mut again));
            assert_eq!(s, Status::Ok, "with the size it asked for");
            assert!(again <= out.len());
            out.truncate(again);
            Some(out)
        }
        _ => {
            assert_eq!(written, 0);
            None
        }
    }
}

fuzz_target!(|case: Case| {
    let mut config = Config::new();
    config.deflate = case.deflate;
    config.deflate_level = case.level % 10;
    config.max_message_size = u64::from(case.max_message);
    let mut memory: Box<Conn> = Box::new(Conn {
        opaque: [0; websock::conn::WEBSOCK_CONN_WORDS],
    });
    let conn: *mut Conn = &mut *memory;
    let size = std::mem::size_of::<Conn>();
    // SAFETY: `conn` is a live, aligned `Conn` of `size` bytes; the other
    // pointers are to live values of the right types throughout.
    unsafe {
        if case.server {
            assert_eq!(
                check(websock_server_init(conn, size, &config, 0)),
                Status::Ok
            );
            let mut input = REQUEST.to_vec();
            input.extend_from_slice(&case.extra);
            let mut out = vec![0u8; usize::from(case.handshake_cap)];
            let mut request = std::mem::zeroed::<Request>();
            let s = check(websock_accept(
                conn,
                input.as_ptr().cast(),
                input.len(),
                ptr::null(),
                0,
                ptr_of(&mut out),
                out.len(),
                &mut request,
            ));
            match s {
                Status::Ok => {
                    assert!(request.consumed <= input.len());
                    assert!(request.written <= out.len());
                }
                Status::BufferTooSmall => assert!(request.written > out.len()),
                _ => assert!(request.written <= out.len()),
            }
        } else {
            let e = case.entropy;
            assert_eq!(
                check(websock_client_init(
                    conn,
                    size,
                    &config,
                    0,
                    e.as_ptr().cast(),
                    e.len()
                )),
                Status::Ok
            );
            let (host, path) = ("fuzz.example", "/");
            let req = write(case.handshake_cap, |out, cap, written| {
                websock_client_request(
                    conn,
                    host.as_ptr().cast(),
                    host.len(),
                    path.as_ptr().cast(),
                    path.len(),
                    ptr::null(),
                    0,
                    out,
                    cap,
                    written,
                )
            })
            .expect("request written");
            let text = String::from_utf8(req).expect("request is text");
            let key = text
                .lines()
                .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
                .expect("request has a key");
            let mut input = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ".to_vec();
            input.extend_from_slice(&accept_key(key.as_bytes()));
            input.extend_from_slice(b"\r\n");
            input.extend_from_slice(&case.extra);
            let mut response = std::mem::zeroed::<Response>();
            let s = check(websock_client_response(
                conn,
                input.as_ptr().cast(),
                input.len(),
                ptr::null(),
                0,
                &mut response,
            ));
            if s == Status::Ok {
                assert!(response.consumed <= input.len());
                assert_eq!(response.http_status, 101);
            }
        }

        let mut now = 0u64;
        for op in &case.ops {
            match op {
                Op::Receive { data, scratch } => {
                    let mut input = data.clone();
                    let mut scratch = vec![0u8; scratch.map_or(0, |s| usize::from(s % 4096))];
                    // Room for a pong, from none to more than one takes.
                    let mut out = vec![0u8; data.len() * 7 % 200];
                    let mut consumed = usize::MAX;
                    let mut written = usize::MAX;
                    let mut event = std::mem::zeroed::<Event>();
                    let s = if scratch.is_empty() && data.len() % 2 == 0 {
                        websock_receive(
                            conn,
                            ptr_of(&mut input),
                            input.len(),
                            ptr_of(&mut out),
                            out.len(),
                            &mut consumed,
                            &mut written,
                            &mut event,
                        )
                    } else {
                        websock_receive_with(
                            conn,
                            ptr_of(&mut input),
                            input.len(),
                            ptr_of(&mut scratch),
                            scratch.len(),
                            ptr_of(&mut out),
                            out.len(),
                            &mut consumed,
                            &mut written,
                            &mut event,
                        )
                    };
                    check(s);
                    assert!(consumed <= input.len());
                    assert!(written <= out.len());
                    if written > 0 {
                        assert_eq!(event.kind, EventType::Ping);
                    }
                    if event.kind != EventType::None {
                        let start = event.data as usize;
                        let end = start + event.len;
                        let inside = |v: &[u8]| {
                            let r = v.as_ptr_range();
                            start >= r.start as usize && end <= r.end as usize
                        };
                        assert!(
                            event.data.is_null() && event.len == 0
                                || inside(&input[..consumed])
                                || inside(&scratch),
                            "event data outside the buffers"
                        );
                    } else {
                        assert_eq!(event.len, 0);
                    }
                }
                Op::Poll { cap } => {
                    let mut out = vec![0u8; usize::from(*cap)];
                    let mut written = usize::MAX;
                    let s = check(websock_poll_output(
                        conn,
                        ptr_of(&mut out),
                        out.len(),
                        &mut written,
                    ));
                    assert!(written <= out.len());
                    if s == Status::BufferTooSmall {
                        assert!(websock_has_output(conn) && out.len() < 131);
                    }
                }
                Op::Text { data, fin, cap } => {
                    write(*cap, |o, c, w| {
                        websock_send_text(conn, data.as_ptr().cast(), data.len(), *fin, o, c, w)
                    });
                }
                Op::Binary { data, fin, cap } => {
                    write(*cap, |o, c, w| {
                        websock_send_binary(conn, data.as_ptr().cast(), data.len(), *fin, o, c, w)
                    });
                }
                Op::Ping { data, cap } => {
                    write(*cap, |o, c, w| {
                        websock_ping(conn, data.as_ptr().cast(), data.len(), o, c, w)
                    });
                }
                Op::Pong { data, cap } => {
                    write(*cap, |o, c, w| {
                        websock_pong(conn, data.as_ptr().cast(), data.len(), o, c, w)
                    });
                }
                Op::Close { code, reason, cap } => {
                    write(*cap, |o, c, w| {
                        websock_close(conn, *code, reason.as_ptr().cast(), reason.len(), o, c, w)
                    });
                }
                Op::Tick { ms } => {
                    now += u64::from(*ms);
                    assert_eq!(check(websock_tick(conn, now)), Status::Ok);
                    let d = websock_deadline(conn);
                    assert!(d == websock::lifecycle::WEBSOCK_NO_DEADLINE || d > now);
                }
                Op::TransportClosed => {
                    let mut closure = std::mem::zeroed::<Closure>();
                    assert_eq!(
                        check(websock_transport_closed(conn, &mut closure)),
                        Status::Ok
                    );
                    assert!(websock_should_close(conn));
                }
                Op::MaxFrameLen { len } => {
                    let n = websock_max_frame_len(conn, *len);
                    assert!(n >= *len);
                }
            }
            let _ = websock_state(conn);
        }
        assert_eq!(check(websock_conn_deinit(conn)), Status::Ok);
        assert_eq!(check(websock_conn_deinit(conn)), Status::NotInitialized);
    }
});
