//! Receiving: bytes from the transport go in, events come out, and the
//! engine's automatic replies (pong, close reply, failure close) wait for
//! `websock_poll_output`.

use core::ffi::c_void;
use core::mem::offset_of;
use core::ptr;

use websock_core::{ControlPayload, DataKind, Error, Event as CoreEvent, MAX_CONTROL_FRAME};

use crate::conn::{self, Conn};
use crate::raw::{self, Region};
use crate::status::{status, Status};

/// The largest payload of a ping, pong or close frame.
pub const WEBSOCK_MAX_CONTROL_PAYLOAD: usize = 125;

/// The largest control frame on the wire (header included): an output
/// buffer of this size always lets `websock_poll_output` make progress.
pub const WEBSOCK_MAX_CONTROL_FRAME: usize = 131;

/// The largest frame header: a data frame of n payload bytes takes at most
/// n + `WEBSOCK_MAX_FRAME_HEADER` bytes of output.
pub const WEBSOCK_MAX_FRAME_HEADER: usize = 14;

const _: () = assert!(WEBSOCK_MAX_CONTROL_FRAME == MAX_CONTROL_FRAME);
const _: () = assert!(WEBSOCK_MAX_FRAME_HEADER == websock_core::frame::MAX_HEADER_LEN);
const _: () = assert!(WEBSOCK_MAX_CONTROL_PAYLOAD == websock_core::frame::MAX_CONTROL_PAYLOAD);

/// What `websock_receive` found.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventType {
    /// Nothing yet: feed more input (or drain output, see `websock_receive`).
    None = 0,
    /// A chunk of a text message; the message so far is valid UTF-8, but a
    /// chunk may end inside a character.
    Text = 1,
    /// A chunk of a binary message.
    Binary = 2,
    /// A ping; the engine has queued the pong for `websock_poll_output`.
    Ping = 3,
    /// A pong.
    Pong = 4,
    /// The peer's close frame; the engine has queued the reply (unless this
    /// answers our close). Keep calling `websock_poll_output` and close the
    /// transport when `websock_should_close` says so.
    Close = 5,
}

/// One event. Filled in by `websock_receive`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct Event {
    /// What happened.
    pub kind: EventType,
    /// Text and binary: this chunk ends its message.
    pub fin: bool,
    /// Close: the peer's close code, 1005 when its frame carried none.
    pub close_code: u16,
    /// The payload: the chunk for text and binary, the payload for ping
    /// and pong, the reason (UTF-8) for close; NULL for none.
    ///
    /// A chunk points into the caller's `input` buffer (unmasked in place,
    /// nothing copied): it stays valid as long as those bytes stay in
    /// place, unchanged. The engine never touches consumed input again, so
    /// that is until the caller moves, overwrites or frees them. A chunk of
    /// a compressed message points into the `scratch` buffer given to
    /// `websock_receive_with`, valid until the next call given it. A control
    /// payload is copied into `control` below and `data` points there: it
    /// stays valid as long as this struct is neither moved nor overwritten.
    pub data: *const u8,
    /// Bytes at `data` (0 for an empty chunk or payload).
    pub len: usize,
    /// Storage for the payload of ping, pong and close events.
    pub control: [u8; WEBSOCK_MAX_CONTROL_PAYLOAD],
}

impl Event {
    const NONE: Event = Event {
        kind: EventType::None,
        fin: false,
        close_code: 0,
        data: ptr::null(),
        len: 0,
        control: [0; WEBSOCK_MAX_CONTROL_PAYLOAD],
    };

    /// The event for a control frame whose payload is copied into the
    /// struct that will live at `at`.
    fn control(kind: EventType, payload: &ControlPayload, at: *mut Event) -> Event {
        let bytes = payload.as_bytes();
        let mut e = Event {
            kind,
            len: bytes.len(),
            data: at.cast::<u8>().wrapping_add(offset_of!(Event, control)),
            ..Event::NONE
        };
        for (to, from) in e.control.iter_mut().zip(bytes) {
            *to = *from;
        }
        e
    }
}

/// Feeds bytes read from the transport. Stores in `*consumed` how many
/// bytes of `input` were used and in `*event` what they made (possibly
/// `WEBSOCK_EVENT_TYPE_NONE`).
///
/// Payloads are unmasked in place, which is why `input` is not const; a
/// text or binary event points into it (see `websock_event.data`). Bytes
/// past `*consumed` were not looked at: present them again, with more
/// appended, on the next call. `*consumed` is less than `input_len` only
/// when an event is returned, or when the engine holds back because a pong
/// is still waiting to be written: after every call, handle the event, then
/// call `websock_poll_output` and write what it gives.
///
/// A `WEBSOCK_STATUS_*` from 100 to 199 means the peer broke the protocol:
/// the connection has failed, a close frame with the right code waits for
/// `websock_poll_output`, the rest of the input is ignored (`*consumed` is
/// `input_len`), and `websock_should_close` turns true once it is written.
/// `WEBSOCK_STATUS_INVALID_STATE` means the handshake is not done yet.
/// Once permessage-deflate is in force (`websock_compression_active`),
/// messages may need somewhere to inflate to: use `websock_receive_with`;
/// this call then answers `WEBSOCK_STATUS_BUFFER_TOO_SMALL`, consuming
/// nothing.
///
/// # Safety
/// `conn` must be an initialised connection; `input` must point to
/// `input_len` readable and writable bytes (NULL when 0); `consumed` and
/// `event` must point to writable memory. No argument may overlap another.
#[no_mangle]
pub unsafe extern "C" fn websock_receive(
    conn: *mut Conn,
    input: *mut c_void,
    input_len: usize,
    consumed: *mut usize,
    event: *mut Event,
) -> Status {
    // SAFETY: forwarded from this function's contract; no scratch.
    unsafe { websock_receive_with(conn, input, input_len, ptr::null_mut(), 0, consumed, event) }
}

/// `websock_receive`, with `scratch` for the inflated data of compressed
/// messages (permessage-deflate): their chunks point into `scratch`, and
/// stay valid until the next call given the same scratch buffer; chunks of
/// uncompressed messages point into `input` as usual. Any size of scratch
/// works, but not none once compression is in force
/// (`WEBSOCK_STATUS_BUFFER_TOO_SMALL`, nothing consumed); a larger one
/// means fewer, larger chunks.
///
/// # Safety
/// As for `websock_receive`; `scratch` must point to `scratch_cap`
/// writable bytes (NULL when 0) that overlap no other argument.
#[no_mangle]
pub unsafe extern "C" fn websock_receive_with(
    conn: *mut Conn,
    input: *mut c_void,
    input_len: usize,
    scratch: *mut c_void,
    scratch_cap: usize,
    consumed: *mut usize,
    event: *mut Event,
) -> Status {
    let result = (|| {
        raw::disjoint(&[
            conn::region(conn),
            Region::new(input, input_len),
            Region::new(scratch, scratch_cap),
            Region::of(consumed),
            Region::of(event),
        ])?;
        // SAFETY: the caller promises both out-parameters are writable.
        unsafe { raw::put(consumed, 0) }?;
        // SAFETY: as above.
        unsafe { raw::put(event, Event::NONE) }?;
        // SAFETY: the caller's promises about each argument; they do not
        // overlap (checked above).
        let (engine, input, scratch) = unsafe {
            (
                conn::engine(conn)?,
                raw::bytes_mut(input, input_len)?,
                raw::bytes_mut(scratch, scratch_cap)?,
            )
        };
        // Core would take a compressed frame's header before finding it has
        // nowhere to inflate to, yet report nothing consumed; presenting the
        // same bytes again would then corrupt the stream. So without
        // scratch, a compressing connection reads nothing at all.
        if scratch.is_empty() && engine.compression_active() {
            return Ok(Status::BufferTooSmall);
        }
        let (used, found, outcome) = match engine.receive_with(input, scratch) {
            Ok((used, found)) => (used, found, Status::Ok),
            Err(e @ Error::Protocol(_)) => (input_len, None, e.into()),
            Err(e) => (0, None, e.into()),
        };
        let out = match found {
            None => Event::NONE,
            Some(CoreEvent::Data { kind, chunk, last }) => Event {
                kind: match kind {
                    DataKind::Text => EventType::Text,
                    DataKind::Binary => EventType::Binary,
                },
                fin: last,
                data: chunk.as_ptr(),
                len: chunk.len(),
                ..Event::NONE
            },
            Some(CoreEvent::Ping(p)) => Event::control(EventType::Ping, &p, event),
            Some(CoreEvent::Pong(p)) => Event::control(EventType::Pong, &p, event),
            Some(CoreEvent::Close { code, reason }) => Event {
                close_code: code.0,
                ..Event::control(EventType::Close, &reason, event)
            },
        };
        // SAFETY: checked writable above; it does not overlap `input`, which
        // the event's chunk borrows.
        unsafe { raw::put(consumed, used) }?;
        // SAFETY: as above.
        unsafe { raw::put(event, out) }?;
        Ok(outcome)
    })();
    status(result)
}

/// Writes the engine's queued replies (pong, then the close reply or the
/// close that fails the connection) into `out` and stores the byte count
/// in `*written` (0 when nothing waits). Each frame is written whole or
/// not at all; an `out_cap` of `WEBSOCK_MAX_CONTROL_FRAME` or more always
/// takes the next one. With less, `WEBSOCK_STATUS_BUFFER_TOO_SMALL` says
/// a frame is waiting that did not fit. Call it after every
/// `websock_receive` and write the bytes to the transport, in order with
/// the frames the application sends.
///
/// # Safety
/// `conn` must be an initialised connection; `out` must point to `out_cap`
/// writable bytes (NULL when 0) and `written` to a writable `size_t`; none
/// may overlap another.
#[no_mangle]
pub unsafe extern "C" fn websock_poll_output(
    conn: *mut Conn,
    out: *mut c_void,
    out_cap: usize,
    written: *mut usize,
) -> Status {
    let result = (|| {
        raw::disjoint(&[
            conn::region(conn),
            Region::new(out, out_cap),
            Region::of(written),
        ])?;
        // SAFETY: the caller promises `written` is writable.
        unsafe { raw::put(written, 0) }?;
        // SAFETY: the caller's promises about each argument; they do not
        // overlap (checked above).
        let (engine, out) = unsafe { (conn::engine(conn)?, raw::bytes_mut(out, out_cap)?) };
        let n = engine.poll_output(out);
        // SAFETY: as above.
        unsafe { raw::put(written, n) }?;
        Ok(if n == 0 && engine.has_output() {
            Status::BufferTooSmall
        } else {
            Status::Ok
        })
    })();
    status(result)
}
