//! Sending: the application's messages, pings, pongs and close, each
//! written as one frame straight into the caller's output buffer.

use core::ffi::{c_char, c_void};

use websock_core::{CloseCode, Connection, DataKind, Error};

use crate::conn::{self, Conn};
use crate::raw::MAX_LEN;
use crate::raw::{self, Region};
use crate::status::{status, Status};

/// Runs `write` on the engine and the output buffer once every argument is
/// checked, and reports the bytes written (or needed) in `*written`.
/// `write` may refuse the payload itself (outer `Err`) before the engine
/// sees it.
///
/// # Safety
/// `conn` must be an initialised connection, `payload` point to
/// `payload_len` readable bytes, `out` to `out_cap` writable bytes and
/// `written` to a writable `usize`.
unsafe fn write_frame(
    conn: *mut Conn,
    payload: *const c_void,
    payload_len: usize,
    out: *mut c_void,
    out_cap: usize,
    written: *mut usize,
    write: impl FnOnce(&mut Connection, &[u8], &mut [u8]) -> Result<Result<usize, Error>, Status>,
) -> Status {
    let result = (|| {
        let out_region = Region::new(out, out_cap);
        // The payload is only read: it may overlap nothing written.
        raw::disjoint(&[
            conn::region(conn),
            out_region,
            Region::of(written),
            Region::new(payload, payload_len),
        ])?;
        // SAFETY: the caller promises `written` is writable.
        unsafe { raw::put(written, 0) }?;
        // SAFETY: the caller's promises about each argument; the memory
        // borrowed mutably overlaps no other argument (checked above).
        let (engine, payload, out) = unsafe {
            (
                conn::engine(conn)?,
                raw::bytes(payload, payload_len)?,
                raw::bytes_mut(out, out_cap)?,
            )
        };
        let (outcome, n) = match write(engine, payload, out)? {
            Ok(n) => (Status::Ok, n),
            Err(Error::BufferTooSmall { needed }) => (Status::BufferTooSmall, needed),
            Err(e) => (e.into(), 0),
        };
        // SAFETY: as above.
        unsafe { raw::put(written, n) }?;
        Ok(outcome)
    })();
    status(result)
}

/// Sends a text message, or one fragment of it: with `fin` false the
/// message stays open and the next `websock_send_text` (or
/// `websock_send_binary`: the kind of a message is set by its first
/// fragment) continues it. The frame (at most `data_len` +
/// `WEBSOCK_MAX_FRAME_HEADER` bytes) is written into `out` whole or not at
/// all; `*written` gets its size, or with `WEBSOCK_STATUS_BUFFER_TOO_SMALL`
/// the size needed. The engine does not check that the text is UTF-8 (a
/// fragment may split a character); the peer will. Pings, pongs and close
/// may be sent between fragments.
///
/// # Safety
/// `conn` must be an initialised connection; `data` must point to
/// `data_len` readable bytes (NULL when 0), `out` to `out_cap` writable
/// bytes, `written` to a writable `size_t`; the memory written may not
/// overlap any other argument. `data` is read during the call only.
#[no_mangle]
pub unsafe extern "C" fn websock_send_text(
    conn: *mut Conn,
    data: *const c_void,
    data_len: usize,
    fin: bool,
    out: *mut c_void,
    out_cap: usize,
    written: *mut usize,
) -> Status {
    // SAFETY: forwarded from this function's contract.
    unsafe {
        write_frame(conn, data, data_len, out, out_cap, written, |e, p, o| {
            Ok(e.send(DataKind::Text, p, fin, o))
        })
    }
}

/// Sends a binary message, or one fragment of it; as `websock_send_text`.
///
/// # Safety
/// As for `websock_send_text`.
#[no_mangle]
pub unsafe extern "C" fn websock_send_binary(
    conn: *mut Conn,
    data: *const c_void,
    data_len: usize,
    fin: bool,
    out: *mut c_void,
    out_cap: usize,
    written: *mut usize,
) -> Status {
    // SAFETY: forwarded from this function's contract.
    unsafe {
        write_frame(conn, data, data_len, out, out_cap, written, |e, p, o| {
            Ok(e.send(DataKind::Binary, p, fin, o))
        })
    }
}

/// Sends a ping with up to `WEBSOCK_MAX_CONTROL_PAYLOAD` bytes of payload
/// (more gives `WEBSOCK_STATUS_CONTROL_TOO_LONG`). Output as for
/// `websock_send_text`.
///
/// # Safety
/// As for `websock_send_text`.
#[no_mangle]
pub unsafe extern "C" fn websock_ping(
    conn: *mut Conn,
    data: *const c_void,
    data_len: usize,
    out: *mut c_void,
    out_cap: usize,
    written: *mut usize,
) -> Status {
    // SAFETY: forwarded from this function's contract.
    unsafe {
        write_frame(conn, data, data_len, out, out_cap, written, |e, p, o| {
            Ok(e.ping(p, o))
        })
    }
}

/// Sends an unsolicited pong (a heartbeat; the engine answers pings
/// itself). As `websock_ping`.
///
/// # Safety
/// As for `websock_send_text`.
#[no_mangle]
pub unsafe extern "C" fn websock_pong(
    conn: *mut Conn,
    data: *const c_void,
    data_len: usize,
    out: *mut c_void,
    out_cap: usize,
    written: *mut usize,
) -> Status {
    // SAFETY: forwarded from this function's contract.
    unsafe {
        write_frame(conn, data, data_len, out, out_cap, written, |e, p, o| {
            Ok(e.pong(p, o))
        })
    }
}

/// Starts the closing handshake with `code` (valid on the wire: 1000-1003,
/// 1007-1014 or 3000-4999, else `WEBSOCK_STATUS_INVALID_CLOSE_CODE`) and a
/// UTF-8 `reason` of at most 123 bytes (NULL when 0). Output as for
/// `websock_send_text`. The connection then waits for the peer's close
/// frame, up to the close timeout (see `websock_deadline`).
///
/// # Safety
/// As for `websock_send_text`, with `reason` in the place of `data`.
#[no_mangle]
pub unsafe extern "C" fn websock_close(
    conn: *mut Conn,
    code: u16,
    reason: *const c_char,
    reason_len: usize,
    out: *mut c_void,
    out_cap: usize,
    written: *mut usize,
) -> Status {
    // SAFETY: forwarded from this function's contract.
    unsafe {
        write_frame(
            conn,
            reason.cast(),
            reason_len,
            out,
            out_cap,
            written,
            |e, p, o| {
                let reason = core::str::from_utf8(p).map_err(|_| Status::NotUtf8)?;
                Ok(e.close(CloseCode(code), reason, o))
            },
        )
    }
}

/// The output space a frame carrying `payload_len` bytes of a message may
/// need: the header plus the payload, or with permessage-deflate in force
/// the worst case of compression. An output buffer this large never gets
/// `WEBSOCK_STATUS_BUFFER_TOO_SMALL` from `websock_send_text` or
/// `websock_send_binary`. SIZE_MAX when no buffer could be that large, and
/// for a NULL or uninitialised connection.
///
/// # Safety
/// A non-NULL `conn` must point to a connection's memory
/// (`websock_conn_size()` readable bytes).
#[no_mangle]
pub unsafe extern "C" fn websock_max_frame_len(conn: *const Conn, payload_len: usize) -> usize {
    // Far above any real buffer, and small enough that the engine's
    // arithmetic (header plus a fraction of the length) cannot overflow.
    if payload_len > MAX_LEN / 2 {
        return usize::MAX;
    }
    // SAFETY: forwarded from this function's contract.
    unsafe { conn::engine_ref(conn) }.map_or(usize::MAX, |e| e.max_frame_len(payload_len))
}
