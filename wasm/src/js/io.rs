//! Staged I/O: the calls a host that reads and writes the module's memory
//! itself uses instead of `receive`, `sendBinary` and `takeOutput`. Per
//! message they cost one call each way and no JS value made by the module:
//! the host copies received bytes and payloads into a staging area, and
//! copies events and output out of buffers whose addresses the calls
//! return. The buffers are the module's, shared by every connection: a
//! JS realm runs one call at a time, and each is read before the next.

use std::cell::RefCell;

use wasm_bindgen::prelude::*;
use websock_core::{DataKind, Error};

use super::errors::{invalid_argument, thrown};
use crate::output::Output;
use crate::packed;
use crate::session::Session;

thread_local! {
    /// Where the host puts received bytes and payloads to send.
    static STAGING: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    /// The packed events of the last `receiveStaged`.
    static EVENTS: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    /// The output of the last `flushOutput`.
    static TAKEN: RefCell<Output> = RefCell::new(Output::new());
    /// What `flushOutput` reports: output address and length, whether to
    /// close, and the next deadline (-1 for none).
    static STATUS: RefCell<[f64; 4]> = const { RefCell::new([0.0; 4]) };
}

/// The module's `WebAssembly.Memory`, for hosts that read and write it
/// through the staged calls.
#[wasm_bindgen(js_name = wasmMemory)]
pub fn wasm_memory() -> JsValue {
    wasm_bindgen::memory()
}

/// Makes the staging area exactly `capacity` bytes (growing or shrinking
/// it) and returns its address in the module's memory. It stays there
/// until the next call of this function; the host writes at most
/// `capacity` bytes into it before `receiveStaged` or `sendStaged`.
#[wasm_bindgen(js_name = stagingArea)]
pub fn staging_area(capacity: usize) -> usize {
    STAGING.with(|s| {
        let mut s = s.borrow_mut();
        if s.len() != capacity {
            *s = vec![0; capacity];
        }
        address(&s)
    })
}

/// The address of a buffer's first byte in the module's memory.
fn address(bytes: &[u8]) -> usize {
    bytes.as_ptr() as usize
}

/// `receiveStaged`: the events of the first `len` staged bytes, packed.
pub fn receive_staged(
    session: &mut Session,
    len: usize,
    failure: &mut Option<Error>,
) -> Result<usize, JsValue> {
    STAGING.with(|staging| {
        EVENTS.with(|events| {
            let mut staging = staging.borrow_mut();
            let len = len.min(staging.len());
            let mut events = events.borrow_mut();
            let events = &mut *events;
            packed::begin(events);
            session
                .receive_in_place(&mut staging[..len], |r| {
                    if let Some(e) = packed::push(events, r) {
                        *failure = Some(e);
                    }
                })
                .map_err(thrown)?;
            let flags = if session.has_buffered_input() {
                packed::FLAG_BUFFERED
            } else {
                0
            };
            packed::finish(events, flags);
            Ok(address(events))
        })
    })
}

/// `sendStaged`: the first `len` staged bytes as a message or fragment;
/// `kind` is 1 for text, 2 for binary.
pub fn send_staged(
    session: &mut Session,
    kind: u32,
    len: usize,
    last: bool,
) -> Result<(), JsValue> {
    let kind = match kind {
        1 => DataKind::Text,
        2 => DataKind::Binary,
        _ => return Err(invalid_argument("kind must be 1 (text) or 2 (binary)")),
    };
    STAGING.with(|staging| {
        let staging = staging.borrow();
        let payload = staging
            .get(..len)
            .ok_or_else(|| invalid_argument("more bytes than the staging area holds"))?;
        session.send(kind, payload, last).map_err(thrown)
    })
}

/// `flushOutput`: moves the output where the host can copy it from, and
/// returns the address of the status.
pub fn flush_output(session: &mut Session) -> usize {
    let (at, len) = TAKEN.with(|taken| {
        let mut taken = taken.borrow_mut();
        session.swap_output(&mut taken);
        (address(taken.as_slice()), taken.len())
    });
    STATUS.with(|status| {
        let mut status = status.borrow_mut();
        *status = [
            at as f64,
            len as f64,
            if session.should_close() { 1.0 } else { 0.0 },
            session.deadline().map_or(-1.0, |d| d as f64),
        ];
        status.as_ptr() as usize
    })
}
