//! The connection's life around the frames: its state, when to close the
//! transport, what to tell the engine when the transport closed, and time.
//!
//! The queries here return a value rather than a status, for use in
//! conditions; each documents what it answers for a NULL or uninitialised
//! connection (always the cautious answer: close, nothing to write).

use websock_core::{State as CoreState, Transport};

use crate::conn::{self, Conn};
use crate::raw;
use crate::status::{status, Status};

/// `websock_deadline`'s answer when no deadline is set.
pub const WEBSOCK_NO_DEADLINE: u64 = 0xFFFF_FFFF_FFFF_FFFF;

/// A coarse view of the connection's state.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// Server: waiting for the client's upgrade request.
    AwaitingRequest = 0,
    /// Client: waiting for the server's 101.
    AwaitingResponse = 1,
    /// Messages flow both ways.
    Open = 2,
    /// We sent a close frame and wait for the peer's.
    CloseSent = 3,
    /// The peer sent a close frame; our reply is queued.
    CloseReceived = 4,
    /// Both close frames have been exchanged.
    Closed = 5,
    /// The connection failed (protocol error, refused handshake, timeout,
    /// transport closed early), or the connection argument is invalid.
    Failed = 6,
}

/// How the connection ended, from `websock_transport_closed`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Closure {
    /// Both close frames were exchanged before the transport closed.
    pub clean: bool,
    /// The peer's close code (1005 when its frame had none), or 1006 when
    /// the transport closed without a closing handshake.
    pub code: u16,
}

/// The connection's state; `WEBSOCK_CONN_STATE_FAILED` for a NULL or
/// uninitialised connection.
///
/// # Safety
/// A non-NULL `conn` must point to a connection's memory
/// (`websock_conn_size()` readable bytes).
#[no_mangle]
pub unsafe extern "C" fn websock_state(conn: *const Conn) -> State {
    // SAFETY: forwarded from this function's contract.
    match unsafe { conn::engine_ref(conn) }.map(|e| e.state()) {
        Ok(CoreState::AwaitingRequest) => State::AwaitingRequest,
        Ok(CoreState::AwaitingResponse) => State::AwaitingResponse,
        Ok(CoreState::Open) => State::Open,
        Ok(CoreState::CloseSent) => State::CloseSent,
        Ok(CoreState::CloseReceived) => State::CloseReceived,
        Ok(CoreState::Closed) => State::Closed,
        Ok(CoreState::Failed) | Err(_) => State::Failed,
    }
}

/// Whether the engine has replies waiting for `websock_poll_output`;
/// false for a NULL or uninitialised connection.
///
/// # Safety
/// As for `websock_state`.
#[no_mangle]
pub unsafe extern "C" fn websock_has_output(conn: *const Conn) -> bool {
    // SAFETY: forwarded from this function's contract.
    unsafe { conn::engine_ref(conn) }.is_ok_and(|e| e.has_output())
}

/// Whether permessage-deflate is in force on this connection (negotiated
/// in the opening handshake); false for a NULL or uninitialised connection.
///
/// # Safety
/// As for `websock_state`.
#[no_mangle]
pub unsafe extern "C" fn websock_compression_active(conn: *const Conn) -> bool {
    // SAFETY: forwarded from this function's contract.
    unsafe { conn::engine_ref(conn) }.is_ok_and(|e| e.compression_active())
}

/// Whether to close the transport now: true once the engine has nothing
/// more to write (its queued frames taken by `websock_poll_output`) and
/// the connection is over (closing handshake done on a server, handshake
/// refused, protocol failure, timeout). Before closing, write out every
/// byte already taken from the engine; then, so that the peer reads our
/// close frame rather than a reset, shut down the write side and read
/// (discarding) until end of stream or a short timeout. A client whose
/// closing handshake is done waits for the server to close first, up to
/// the close timeout. True for a NULL or uninitialised connection.
///
/// # Safety
/// As for `websock_state`.
#[no_mangle]
pub unsafe extern "C" fn websock_should_close(conn: *const Conn) -> bool {
    // SAFETY: forwarded from this function's contract.
    unsafe { conn::engine_ref(conn) }.map_or(true, |e| e.transport() == Transport::Close)
}

/// Tells the engine that the transport has closed (end of stream, error,
/// or we closed it) and stores in `*closure` how the connection ended
/// (`closure` may be NULL). Later calls change nothing; queued output is
/// dropped.
///
/// # Safety
/// `conn` must be an initialised connection; a non-NULL `closure` must
/// point to a writable `websock_closure` outside the connection's memory.
#[no_mangle]
pub unsafe extern "C" fn websock_transport_closed(
    conn: *mut Conn,
    closure: *mut Closure,
) -> Status {
    let result = (|| {
        raw::disjoint(&[conn::region(conn), raw::Region::of(closure)])?;
        // SAFETY: forwarded from this function's contract.
        let engine = unsafe { conn::engine(conn) }?;
        let c = engine.transport_closed();
        if !closure.is_null() {
            let value = Closure {
                clean: c.clean,
                code: c.code.0,
            };
            // SAFETY: non-NULL, so writable by the caller's promise.
            unsafe { raw::put(closure, value) }?;
        }
        Ok(Status::Ok)
    })();
    status(result)
}

/// The time (same clock and origin as `now_ms`) at which `websock_tick`
/// must next be called: a handshake, close or transport-close timeout.
/// `WEBSOCK_NO_DEADLINE` (UINT64_MAX) when none is set, or for a NULL or
/// uninitialised connection. Ask again after every call that changes the
/// connection.
///
/// # Safety
/// As for `websock_state`.
#[no_mangle]
pub unsafe extern "C" fn websock_deadline(conn: *const Conn) -> u64 {
    // SAFETY: forwarded from this function's contract.
    unsafe { conn::engine_ref(conn) }
        .ok()
        .and_then(|e| e.deadline())
        .unwrap_or(WEBSOCK_NO_DEADLINE)
}

/// Advances the engine's clock to `now_ms` (a clock going backwards is
/// ignored). When a deadline has passed the connection gives up and
/// `websock_should_close` turns true.
///
/// # Safety
/// `conn` must be an initialised connection.
#[no_mangle]
pub unsafe extern "C" fn websock_tick(conn: *mut Conn, now_ms: u64) -> Status {
    // SAFETY: forwarded from this function's contract.
    status(unsafe { conn::engine(conn) }.map(|e| {
        e.tick(now_ms);
        Status::Ok
    }))
}
