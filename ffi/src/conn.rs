//! The memory of one connection: the caller provides it (on the stack, in
//! a struct, in a static, from any allocator), the init functions write the
//! engine's state into it in place, and every other call reaches the engine
//! through it. Nothing is allocated, except by permessage-deflate once
//! negotiated, which `websock_conn_deinit` releases.

use core::ffi::c_void;
use core::mem::{align_of, size_of};

use websock_core::Connection;

use crate::config::Config;
use crate::raw::{self, Region};
use crate::status::{status, Status};

/// 8-byte words in a `websock_conn`.
pub const WEBSOCK_CONN_WORDS: usize = 24;

/// Bytes of a `websock_conn`: enough for the engine's state on every
/// supported target, with or without permessage-deflate.
/// `websock_conn_size()` gives the exact need of this build on this
/// target, which may be smaller (128 bytes on x86_64 and 32-bit targets,
/// 160 on x86_64 with deflate, whose codec is on the heap).
pub const WEBSOCK_CONN_SIZE: usize = WEBSOCK_CONN_WORDS * 8;

/// Bytes of entropy a client connection needs.
pub const WEBSOCK_ENTROPY_LEN: usize = 32;

/// Storage for one connection, owned by the caller. Declare one (or
/// allocate `websock_conn_size()` bytes aligned to `websock_conn_align()`),
/// then call `websock_server_init` or `websock_client_init` on it before
/// any other function. Its contents are private. When the connection is
/// over, call `websock_conn_deinit`, then reuse or free the memory (without
/// permessage-deflate the connection holds no resources and deinit only
/// marks it unused). Do not copy or move it once initialised. One
/// connection must not be used from two threads at once; distinct
/// connections are independent.
#[repr(C)]
pub struct Conn {
    /// Private: only the library reads or writes it.
    pub opaque: [u64; WEBSOCK_CONN_WORDS],
}

/// What the init functions write into a `Conn`.
#[repr(C)]
struct Slot {
    /// [`MAGIC`] once initialised: catches zeroed or foreign memory.
    magic: u32,
    conn: Connection,
}

const MAGIC: u32 = u32::from_le_bytes(*b"wsk1");

// The public storage must hold the engine's state on every target.
const _: () = assert!(size_of::<Slot>() <= size_of::<Conn>());
const _: () = assert!(align_of::<Slot>() <= align_of::<Conn>());

/// Bytes of memory a connection needs on this target.
#[no_mangle]
pub extern "C" fn websock_conn_size() -> usize {
    size_of::<Slot>()
}

/// The alignment, in bytes, that a connection's memory needs.
#[no_mangle]
pub extern "C" fn websock_conn_align() -> usize {
    align_of::<Slot>()
}

/// The memory a connection argument covers, for overlap checks.
pub(crate) fn region(conn: *const Conn) -> Region {
    Region::new(conn.cast::<u8>(), size_of::<Slot>())
}

/// Checks a connection pointer and reads its magic.
fn check(conn: *const Conn) -> Result<*mut Slot, Status> {
    if conn.is_null() {
        return Err(Status::NullPointer);
    }
    if (conn as usize) % align_of::<Slot>() != 0 {
        return Err(Status::Misaligned);
    }
    Ok(conn.cast::<Slot>().cast_mut())
}

/// The engine behind a connection pointer.
///
/// # Safety
/// A non-NULL `conn` must point to at least `websock_conn_size()` bytes of
/// memory that nothing else accesses while the returned borrow lives, and
/// that an init function filled (the magic check only catches zeroed or
/// foreign memory, not every mistake).
pub(crate) unsafe fn engine<'a>(conn: *mut Conn) -> Result<&'a mut Connection, Status> {
    let slot = check(conn)?;
    // SAFETY: `slot` is non-NULL and aligned (checked) and readable (the
    // caller's promise); a u32 has no invalid bit patterns.
    if unsafe { (*slot).magic } != MAGIC {
        return Err(Status::NotInitialized);
    }
    // SAFETY: the magic says an init function wrote a valid `Slot` here, and
    // the caller promises exclusive access for the borrow's lifetime.
    Ok(unsafe { &mut (*slot).conn })
}

/// Like [`engine`], for reading only.
///
/// # Safety
/// As for [`engine`], except that others may read concurrently.
pub(crate) unsafe fn engine_ref<'a>(conn: *const Conn) -> Result<&'a Connection, Status> {
    let slot = check(conn)?;
    // SAFETY: as in `engine`.
    if unsafe { (*slot).magic } != MAGIC {
        return Err(Status::NotInitialized);
    }
    // SAFETY: as in `engine`; only shared access is taken.
    Ok(unsafe { &(*slot).conn })
}

/// Writes a fresh engine into the caller's memory.
///
/// # Safety
/// A non-NULL `conn` must point to `conn_size` writable bytes.
unsafe fn init(conn: *mut Conn, conn_size: usize, engine: Connection) -> Result<Status, Status> {
    let slot = check(conn)?;
    if conn_size < size_of::<Slot>() {
        return Err(Status::ConnTooSmall);
    }
    // SAFETY: non-NULL and aligned (checked), `conn_size` bytes writable
    // (the caller's promise) and that is enough for a Slot (checked).
    // `write` neither reads nor drops the old, possibly garbage, contents.
    unsafe {
        slot.write(Slot {
            magic: MAGIC,
            conn: engine,
        })
    };
    Ok(Status::Ok)
}

/// Reads the optional configuration argument.
///
/// # Safety
/// A non-NULL `config` must point to a readable `websock_config`.
unsafe fn config(config: *const Config) -> Result<websock_core::Config, Status> {
    // SAFETY: forwarded from this function's contract. Every field is an
    // integer or a bool; C's `bool` holds only 0 or 1.
    let c = unsafe { raw::get(config) }?;
    c.unwrap_or_default().to_core()
}

/// Initialises a server connection in the caller's memory, waiting for the
/// client's upgrade request (see `websock_accept`). `now_ms` is the current
/// time in milliseconds from any fixed origin (a monotonic clock); it starts
/// the handshake timeout. Do not initialise a connection that is still in
/// use: `websock_conn_deinit` it first, or its deflate memory leaks.
///
/// # Safety
/// `conn` must point to `conn_size` writable bytes aligned to
/// `websock_conn_align()`; `conn_size` must be at least
/// `websock_conn_size()` (`sizeof(websock_conn)` always is). `config` may
/// be NULL for the defaults; it is read during the call only.
#[no_mangle]
pub unsafe extern "C" fn websock_server_init(
    conn: *mut Conn,
    conn_size: usize,
    config: *const Config,
    now_ms: u64,
) -> Status {
    // SAFETY: forwarded from this function's contract.
    status(unsafe { self::config(config) }.and_then(|config| {
        // SAFETY: forwarded from this function's contract.
        unsafe { init(conn, conn_size, Connection::server(config, now_ms)) }
    }))
}

/// Initialises a client connection in the caller's memory; next write the
/// upgrade request with `websock_client_request`. `entropy` must be
/// `WEBSOCK_ENTROPY_LEN` (32) fresh random bytes (from getrandom(2) or
/// /dev/urandom): they make the Sec-WebSocket-Key and seed the masking
/// keys. They are copied; the buffer may be reused after the call.
///
/// # Safety
/// As for `websock_server_init`; `entropy` must point to `entropy_len`
/// readable bytes.
#[no_mangle]
pub unsafe extern "C" fn websock_client_init(
    conn: *mut Conn,
    conn_size: usize,
    config: *const Config,
    now_ms: u64,
    entropy: *const c_void,
    entropy_len: usize,
) -> Status {
    let result = (|| {
        // SAFETY: forwarded from this function's contract.
        let config = unsafe { self::config(config) }?;
        // SAFETY: forwarded from this function's contract.
        let bytes = unsafe { raw::bytes(entropy, entropy_len) }?;
        let seed: [u8; WEBSOCK_ENTROPY_LEN] = bytes.try_into().map_err(|_| Status::BadEntropy)?;
        // SAFETY: forwarded from this function's contract.
        unsafe { init(conn, conn_size, Connection::client(config, now_ms, seed)) }
    })();
    status(result)
}

/// Ends a connection's use of its memory: releases what permessage-deflate
/// allocated, if it was negotiated, and marks the memory uninitialised, so
/// that later calls with it answer `WEBSOCK_STATUS_NOT_INITIALIZED`. The
/// memory may then be freed or initialised again. Call it for every
/// connection that was initialised; a second call answers
/// `WEBSOCK_STATUS_NOT_INITIALIZED` and does nothing.
///
/// # Safety
/// `conn` must be a connection's memory (`websock_conn_size()` bytes, as
/// for the other calls); nothing may use it during the call.
#[no_mangle]
pub unsafe extern "C" fn websock_conn_deinit(conn: *mut Conn) -> Status {
    // SAFETY: forwarded from this function's contract.
    status(unsafe { engine(conn) }.map(|engine| {
        // SAFETY: `engine` points to a live, initialised Connection (the
        // magic says so) that nobody else uses; it is dropped exactly once,
        // as clearing the magic below stops every later call from reaching
        // it again.
        unsafe { core::ptr::drop_in_place(engine) };
        // SAFETY: `engine` checked the pointer (non-NULL, aligned); the
        // magic is a plain integer outside the dropped value.
        unsafe { (*conn.cast::<Slot>()).magic = 0 };
        Status::Ok
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::ptr;

    #[test]
    fn slot_sizes() {
        assert!(websock_conn_size() <= WEBSOCK_CONN_SIZE);
        assert_eq!(websock_conn_align(), align_of::<Conn>());
        assert_eq!(WEBSOCK_CONN_SIZE % 8, 0);
    }

    #[test]
    fn init_checks_its_memory() {
        let mut storage = [0u64; WEBSOCK_CONN_SIZE / 8 + 1];
        let conn = storage.as_mut_ptr().cast::<Conn>();
        // SAFETY: every call gets either NULL or `storage`, which is
        // writable, aligned and large enough unless the test says otherwise.
        unsafe {
            assert_eq!(
                websock_server_init(ptr::null_mut(), 4096, ptr::null(), 0),
                Status::NullPointer
            );
            let odd = conn.cast::<u8>().add(1).cast::<Conn>();
            assert_eq!(
                websock_server_init(odd, WEBSOCK_CONN_SIZE, ptr::null(), 0),
                Status::Misaligned
            );
            assert_eq!(
                websock_server_init(conn, websock_conn_size() - 1, ptr::null(), 0),
                Status::ConnTooSmall
            );
            assert_eq!(engine(conn).err(), Some(Status::NotInitialized));
            let short = [0u8; 16];
            assert_eq!(
                websock_client_init(
                    conn,
                    WEBSOCK_CONN_SIZE,
                    ptr::null(),
                    0,
                    short.as_ptr().cast(),
                    16
                ),
                Status::BadEntropy
            );
            assert_eq!(
                websock_server_init(conn, websock_conn_size(), ptr::null(), 0),
                Status::Ok
            );
            assert!(engine(conn).is_ok());
            assert_eq!(websock_conn_deinit(conn), Status::Ok);
            assert_eq!(engine(conn).err(), Some(Status::NotInitialized));
            assert_eq!(websock_conn_deinit(conn), Status::NotInitialized);
        }
    }
}
