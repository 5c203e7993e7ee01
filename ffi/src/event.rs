//! Receiving: bytes from the transport go in, events come out, a ping's
//! pong is written in the same call, and the engine's close frames (the
//! close reply, the failure close) wait for `websock_poll_output`.

use core::ffi::c_void;
use core::ptr;

use websock_core::{DataKind, Error, Event as CoreEvent, Received, MAX_CONTROL_FRAME};

use crate::conn::{self, Conn};
use crate::raw::{self, Region};
use crate::status::{status, Status};

/// The largest payload of a ping, pong or close frame.
pub const WEBSOCK_MAX_CONTROL_PAYLOAD: usize = 125;

/// The largest control frame on the wire (header included): an output
/// buffer of this size always lets `websock_receive` (for a pong) and
/// `websock_poll_output` make progress, and an input buffer must have room
/// for this many bytes after what a call left unconsumed.
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
    /// Nothing yet: feed more input (or give room for a pong, see
    /// `websock_receive`).
    None = 0,
    /// A chunk of a text message; the message so far is valid UTF-8, but a
    /// chunk may end inside a character.
    Text = 1,
    /// A chunk of a binary message.
    Binary = 2,
    /// A ping; its pong is in `out` (`*written` bytes), unless our close
    /// frame has gone out.
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
    /// It points into the caller's `input` buffer (unmasked in place,
    /// nothing copied): it stays valid as long as those bytes stay in
    /// place, unchanged. The engine never touches consumed input again, so
    /// that is until the caller moves, overwrites or frees them. A chunk of
    /// a compressed message points into the `scratch` buffer given to
    /// `websock_receive_with`, valid until the next call given it.
    pub data: *const u8,
    /// Bytes at `data` (0 for an empty chunk or payload).
    pub len: usize,
}

impl Event {
    const NONE: Event = Event {
        kind: EventType::None,
        fin: false,
        close_code: 0,
        data: ptr::null(),
        len: 0,
    };

    /// The event for a control frame, pointing at its payload in the input.
    fn control(kind: EventType, payload: &[u8]) -> Event {
        Event {
            kind,
            data: payload.as_ptr(),
            len: payload.len(),
            ..Event::NONE
        }
    }
}

/// Feeds bytes read from the transport. Stores in `*consumed` how many
/// bytes of `input` were used, in `*written` how many bytes of `out` hold
/// the pong of a ping taken in this call (write them to the transport),
/// and in `*event` what the input made (possibly `WEBSOCK_EVENT_TYPE_NONE`).
///
/// Payloads are unmasked in place, which is why `input` is not const; an
/// event's data points into it (see `websock_event.data`). Bytes past
/// `*consumed` were not used: present them again, with more appended, on
/// the next call. A frame header, and a whole control frame, are taken
/// only once they are complete in `input`, so keep room for
/// `WEBSOCK_MAX_CONTROL_FRAME` bytes after what is left unconsumed.
/// `*consumed` is less than `input_len` when an event is returned, when
/// such a piece is not complete yet, or when `out` has no room for the
/// pong a ping needs (give it `WEBSOCK_MAX_CONTROL_FRAME` bytes and it
/// always has). After every call, write `*written` bytes of `out`, handle
/// the event, then call `websock_poll_output` and write what it gives.
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
/// `input_len` readable and writable bytes and `out` to `out_cap` writable
/// bytes (NULL when 0); `consumed`, `written` and `event` must point to
/// writable memory. No argument may overlap another.
#[no_mangle]
pub unsafe extern "C" fn websock_receive(
    conn: *mut Conn,
    input: *mut c_void,
    input_len: usize,
    out: *mut c_void,
    out_cap: usize,
    consumed: *mut usize,
    written: *mut usize,
    event: *mut Event,
) -> Status {
    let no_scratch = ptr::null_mut();
    // SAFETY: forwarded from this function's contract; no scratch.
    unsafe {
        websock_receive_with(
            conn, input, input_len, no_scratch, 0, out, out_cap, consumed, written, event,
        )
    }
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
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn websock_receive_with(
    conn: *mut Conn,
    input: *mut c_void,
    input_len: usize,
    scratch: *mut c_void,
    scratch_cap: usize,
    out: *mut c_void,
    out_cap: usize,
    consumed: *mut usize,
    written: *mut usize,
    event: *mut Event,
) -> Status {
    let result = (|| {
        raw::disjoint(&[
            conn::region(conn),
            Region::new(input, input_len),
            Region::new(scratch, scratch_cap),
            Region::new(out, out_cap),
            Region::of(consumed),
            Region::of(written),
            Region::of(event),
        ])?;
        // SAFETY: the caller promises the out-parameters are writable.
        unsafe { raw::put(consumed, 0) }?;
        // SAFETY: as above.
        unsafe { raw::put(written, 0) }?;
        // SAFETY: as above.
        unsafe { raw::put(event, Event::NONE) }?;
        // SAFETY: the caller's promises about each argument; they do not
        // overlap (checked above).
        let (engine, input, scratch, out) = unsafe {
            (
                conn::engine(conn)?,
                raw::bytes_mut(input, input_len)?,
                raw::bytes_mut(scratch, scratch_cap)?,
                raw::bytes_mut(out, out_cap)?,
            )
        };
        // Core would take a compressed frame's header before finding it has
        // nowhere to inflate to, yet report nothing consumed; presenting the
        // same bytes again would then corrupt the stream. So without
        // scratch, a compressing connection reads nothing at all.
        if scratch.is_empty() && engine.compression_active() {
            return Ok(Status::BufferTooSmall);
        }
        let (used, pong, found, outcome) = match engine.receive_with(input, scratch, out) {
            Ok(Received {
                consumed,
                written,
                event,
            }) => (consumed, written, event, Status::Ok),
            Err(e @ Error::Protocol(_)) => (input_len, 0, None, e.into()),
            Err(e) => (0, 0, None, e.into()),
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
            Some(CoreEvent::Ping(p)) => Event::control(EventType::Ping, p),
            Some(CoreEvent::Pong(p)) => Event::control(EventType::Pong, p),
            Some(CoreEvent::Close { code, reason }) => Event {
                close_code: code.0,
                ..Event::control(EventType::Close, reason)
            },
        };
        // SAFETY: checked writable above; it does not overlap `input`, which
        // the event's chunk borrows.
        unsafe { raw::put(consumed, used) }?;
        // SAFETY: as above.
        unsafe { raw::put(written, pong) }?;
        // SAFETY: as above.
        unsafe { raw::put(event, out) }?;
        Ok(outcome)
    })();
    status(result)
}

/// Writes the engine's queued close frame (the close reply or the close
/// that fails the connection) into `out` and stores the byte count
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
