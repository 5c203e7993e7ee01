//! One complete server session, the same bytes for every engine: accept the
//! RFC 6455 section 1.3 upgrade request, then a masked text message in two
//! fragments (a UTF-8 character split between them), a ping, a binary
//! message and a close, echoing each message and answering the ping and the
//! close. Each phase checks what the engine wrote against the transcript
//! below, so a broken session cannot report a small size.
//!
//! `src/main.rs` runs the phases on a Cortex-M4 (under QEMU) and measures
//! each one's stack; on wasm32 the `session` export runs them all.
//!
//! With the `inflate` feature (websock-core's allocator-free receive path)
//! the request also offers permessage-deflate and the binary message comes
//! compressed (RFC 7692, with a 512-byte window lent by the probe); the
//! echoes are the same.
#![no_std]

#[cfg(feature = "ews")]
mod ews;
#[cfg(feature = "ews")]
pub use ews::{new as new_engine, Engine, ENGINE};
#[cfg(all(feature = "websock", not(feature = "ews")))]
mod websock;
#[cfg(all(feature = "websock", not(feature = "ews")))]
pub use websock::{new as new_engine, Engine, ENGINE};

/// The client's upgrade request (RFC 6455 section 1.3, no subprotocol).
#[cfg(not(feature = "inflate"))]
pub const REQUEST: &[u8] = b"GET /chat HTTP/1.1\r\nHost: server.example.com\r\n\
    Upgrade: websocket\r\nConnection: Upgrade\r\n\
    Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
    Origin: http://example.com\r\nSec-WebSocket-Version: 13\r\n\r\n";
/// The same request with a browser's permessage-deflate offer.
#[cfg(feature = "inflate")]
pub const REQUEST: &[u8] = b"GET /chat HTTP/1.1\r\nHost: server.example.com\r\n\
    Upgrade: websocket\r\nConnection: Upgrade\r\n\
    Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
    Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\
    Origin: http://example.com\r\nSec-WebSocket-Version: 13\r\n\r\n";

/// What the 101 must carry: the RFC's accept value for that key.
pub const ACCEPT_LINE: &[u8] = b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n";

const BINARY: &[u8] = &[0, 1, 2, 0xfe, 0xff];
/// BINARY compressed by Python's zlib (raw, 9-bit window, sync flush, the
/// 4-byte tail stripped: RFC 7692 section 7.2.1).
#[cfg(feature = "inflate")]
const BINARY_DEFLATED: &[u8] = &[0x62, 0x60, 0x64, 0xfa, 0xf7, 0x1f, 0x00];
const CLOSE_BODY: &[u8] = &[0x03, 0xe8, b'b', b'y', b'e'];

/// The client's frames after the handshake: (first header byte, payload).
/// "Hé!" is split inside the é, so UTF-8 is checked across fragments.
const FRAMES_IN: [(u8, &[u8]); 5] = [
    (0x01, b"H\xc3"),
    (0x80, b"\xa9!"),
    (0x89, b"ping"),
    BINARY_IN,
    (0x88, CLOSE_BODY),
];
#[cfg(not(feature = "inflate"))]
const BINARY_IN: (u8, &[u8]) = (0x82, BINARY);
/// RSV1: compressed (RFC 7692 section 6).
#[cfg(feature = "inflate")]
const BINARY_IN: (u8, &[u8]) = (0xc2, BINARY_DEFLATED);
/// The frames of the messages phase: all but the close.
pub const MESSAGE_FRAMES: usize = 4;

/// What the server must write back: the echoes fragment by fragment, the
/// pong, then the close reply echoing the code (section 5.5.1).
const FRAMES_OUT: [(u8, &[u8]); 5] = [
    (0x01, b"H\xc3"),
    (0x80, b"\xa9!"),
    (0x8a, b"ping"),
    (0x82, BINARY),
    (0x88, &[0x03, 0xe8]),
];

const MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

const fn frames_len(frames: &[(u8, &[u8])], masked: bool) -> usize {
    let mut n = 0;
    let mut i = 0;
    while i < frames.len() {
        n += 2 + frames[i].1.len() + if masked { 4 } else { 0 };
        i += 1;
    }
    n
}

const fn frames<const N: usize>(frames: &[(u8, &[u8])], masked: bool) -> [u8; N] {
    let mut out = [0u8; N];
    let mut o = 0;
    let mut i = 0;
    while i < frames.len() {
        let (first, payload) = frames[i];
        out[o] = first;
        out[o + 1] = payload.len() as u8 | if masked { 0x80 } else { 0 };
        o += 2;
        if masked {
            let mut k = 0;
            while k < 4 {
                out[o + k] = MASK[k];
                k += 1;
            }
            o += 4;
        }
        let mut j = 0;
        while j < payload.len() {
            out[o + j] = payload[j] ^ if masked { MASK[j % 4] } else { 0 };
            j += 1;
        }
        o += payload.len();
        i += 1;
    }
    out
}

/// Bytes of client frames.
pub const INPUT_LEN: usize = frames_len(&FRAMES_IN, true);
/// The client's frames, masked.
pub static INPUT: [u8; INPUT_LEN] = frames(&FRAMES_IN, true);
/// Bytes of the messages phase's expected output.
pub const ECHO_LEN: usize = frames_len(&FRAMES_OUT, false) - 4;
/// The server's expected frames.
pub static OUTPUT: [u8; ECHO_LEN + 4] = frames(&FRAMES_OUT, false);

/// Room for the request (the longer one with an offer) and the frames.
#[cfg(not(feature = "inflate"))]
const INPUT_ROOM: usize = 256;
#[cfg(feature = "inflate")]
const INPUT_ROOM: usize = 320;

/// The caller's side of the session: the engine's state and the buffers a
/// transport would own.
pub struct Probe {
    /// The engine's per-connection state (its size is the "state" figure).
    pub engine: Engine,
    /// Bytes read from the transport.
    pub input: [u8; INPUT_ROOM],
    /// How many of them there are, and how many were used.
    pub input_len: usize,
    /// Bytes used so far.
    pub input_pos: usize,
    /// Bytes for the transport.
    pub out: [u8; 512],
    /// How many of them there are.
    pub out_len: usize,
    /// What compressed messages inflate into.
    #[cfg(feature = "inflate")]
    pub scratch: [u8; 64],
    /// The inflater's state and history, lent to the engine.
    #[cfg(feature = "inflate")]
    pub window: websock_core::deflate::Window<512>,
}

impl Probe {
    /// A fresh session with the request in the input buffer.
    pub fn new() -> Self {
        let mut p = Probe {
            engine: new_engine(),
            input: [0; INPUT_ROOM],
            input_len: 0,
            input_pos: 0,
            out: [0; 512],
            out_len: 0,
            #[cfg(feature = "inflate")]
            scratch: [0; 64],
            #[cfg(feature = "inflate")]
            window: websock_core::deflate::Window::new(),
        };
        p.fill(core::hint::black_box(REQUEST));
        p
    }

    /// What the transport delivered next.
    fn fill(&mut self, bytes: &[u8]) {
        self.input[..bytes.len()].copy_from_slice(bytes);
        self.input_len = bytes.len();
        self.input_pos = 0;
        self.out_len = 0;
    }
}

impl Default for Probe {
    fn default() -> Self {
        Probe::new()
    }
}

/// Phase 1: the opening handshake.
#[inline(never)]
pub fn accept(p: &mut Probe) -> bool {
    let ok = ENGINE.accept(p);
    let out = &p.out[..p.out_len];
    let ok = ok
        && out.starts_with(b"HTTP/1.1 101 ")
        && out.ends_with(b"\r\n\r\n")
        && out.windows(ACCEPT_LINE.len()).any(|w| w == ACCEPT_LINE);
    p.fill(core::hint::black_box(&INPUT));
    ok
}

/// Phase 2: the fragmented text, the ping and the binary message, each
/// echoed, the ping answered.
#[inline(never)]
pub fn messages(p: &mut Probe) -> bool {
    let ok = ENGINE.messages(p);
    ok && p.out[..p.out_len] == OUTPUT[..ECHO_LEN]
}

/// Phase 3: the peer's close, answered; the server then drops the transport.
#[inline(never)]
pub fn close(p: &mut Probe) -> bool {
    p.out_len = 0;
    let ok = ENGINE.close(p);
    ok && p.out[..p.out_len] == OUTPUT[ECHO_LEN..] && p.input_pos == p.input_len
}

/// The three phases an engine implements over a [`Probe`].
pub trait Session {
    /// Reads the request in `p.input`, writes the 101 into `p.out`.
    fn accept(&self, p: &mut Probe) -> bool;
    /// Reads [`MESSAGE_FRAMES`] frames, writes the echoes and the pong.
    fn messages(&self, p: &mut Probe) -> bool;
    /// Reads the close, writes the reply; the transport is to be closed.
    fn close(&self, p: &mut Probe) -> bool;
}

/// wasm32: runs the whole session; 0 when the transcript matched, else the
/// number of the phase that failed.
#[cfg(target_arch = "wasm32")]
#[no_mangle]
pub extern "C" fn session() -> u32 {
    let mut p = Probe::new();
    if !accept(&mut p) {
        return 1;
    }
    if !messages(&mut p) {
        return 2;
    }
    if !close(&mut p) {
        return 3;
    }
    0
}

/// wasm32: the size of the engine's per-connection state.
#[cfg(target_arch = "wasm32")]
#[no_mangle]
pub extern "C" fn state_size() -> u32 {
    core::mem::size_of::<Engine>() as u32
}

#[cfg(target_arch = "wasm32")]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    core::arch::wasm32::unreachable()
}
