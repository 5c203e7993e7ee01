//! Heap conveniences (feature `alloc`): memory from the library's
//! allocator (malloc on hosted targets). A C program rarely needs them, as
//! every call works on memory the caller provides; they exist for hosts
//! that cannot hand the library memory of their own, such as JavaScript
//! driving the wasm32-wasip1 module, whose memory only the module can
//! carve up: it allocates the connection, the buffers and the out-
//! parameters with `websock_alloc` and passes their addresses.

extern crate alloc;

use alloc::alloc::{alloc, alloc_zeroed, dealloc, Layout};
use core::ffi::c_void;
use core::ptr;

use crate::conn::{websock_conn_deinit, websock_conn_size, Conn};

/// The alignment of every block from `websock_alloc`: enough for a
/// connection and for every struct in this header.
pub const WEBSOCK_ALLOC_ALIGN: usize = 8;

const _: () = assert!(WEBSOCK_ALLOC_ALIGN >= core::mem::align_of::<Conn>());

fn layout(size: usize) -> Option<Layout> {
    Layout::from_size_align(size, WEBSOCK_ALLOC_ALIGN).ok()
}

/// Allocates `size` bytes aligned to `WEBSOCK_ALLOC_ALIGN`, uninitialised.
/// Returns NULL when `size` is 0 or memory is short. Free the block with
/// `websock_free(ptr, size)`, passing the same size.
#[no_mangle]
pub extern "C" fn websock_alloc(size: usize) -> *mut c_void {
    match layout(size) {
        Some(l) if size > 0 => {
            // SAFETY: the layout has a non-zero size, as `alloc` requires.
            unsafe { alloc(l) }.cast()
        }
        _ => ptr::null_mut(),
    }
}

/// Frees a block from `websock_alloc`; `size` must be the size it was
/// allocated with. NULL is ignored.
///
/// # Safety
/// A non-NULL `ptr` must come from `websock_alloc(size)` and not have been
/// freed yet; it must not be used afterwards.
#[no_mangle]
pub unsafe extern "C" fn websock_free(ptr: *mut c_void, size: usize) {
    if ptr.is_null() {
        return;
    }
    if let Some(l) = layout(size) {
        // SAFETY: the caller promises `ptr` came from `websock_alloc(size)`,
        // which allocated it with this very layout, and is still live.
        unsafe { dealloc(ptr.cast(), l) };
    }
}

/// Allocates memory for one connection (`websock_conn_size()` bytes,
/// zeroed), still to be initialised with `websock_server_init` or
/// `websock_client_init`. NULL when memory is short. Free it with
/// `websock_conn_free`.
#[no_mangle]
pub extern "C" fn websock_conn_new() -> *mut Conn {
    match layout(websock_conn_size()) {
        // SAFETY: the layout has a non-zero size (a connection's), as
        // `alloc_zeroed` requires. Zeroed, the memory reads as never
        // initialised until an init function fills it.
        Some(l) => unsafe { alloc_zeroed(l) }.cast(),
        None => ptr::null_mut(),
    }
}

/// Frees a connection from `websock_conn_new`, deinitialising it first if
/// it is still initialised (see `websock_conn_deinit`). NULL is ignored.
///
/// # Safety
/// A non-NULL `conn` must come from `websock_conn_new` and not have been
/// freed yet; it must not be used afterwards.
#[no_mangle]
pub unsafe extern "C" fn websock_conn_free(conn: *mut Conn) {
    // SAFETY: the memory came zeroed from websock_conn_new and only init
    // (valid state) or deinit (zero magic) wrote its magic, so deinit
    // either drops a live connection or finds none.
    let _ = unsafe { websock_conn_deinit(conn) };
    // SAFETY: forwarded from this function's contract; websock_conn_new
    // allocated this size.
    unsafe { websock_free(conn.cast(), websock_conn_size()) }
}
