//! # websock-ffi
//!
//! The C ABI of the websock engine: `libwebsock.a` / `libwebsock.so`, with
//! `include/websock.h` generated from this crate by cbindgen. C users get the
//! whole engine of `websock-core`: caller-provided connection memory (no
//! malloc), server and client handshakes, streaming events that borrow the
//! caller's input buffer, frames written into caller-provided output
//! buffers, the closing handshake, deadlines and transport closing.
//!
//! Every exported function checks its pointers (NULL, alignment, overlap)
//! and lengths and reports failures as a [`Status`]; none of them panics.
//! The header documents, for every pointer, who owns it and how long it
//! must stay valid; those comments come from the doc comments here.
//!
//! The crate is `#![no_std]`. Features, all on by default:
//! - `std` links std, whose panic handler then serves; without it the
//!   crate brings its own, so the staticlib builds for bare-metal targets
//!   such as `thumbv7em-none-eabihf` (`--no-default-features`);
//! - `alloc` (implies `std`) adds heap conveniences: `websock_alloc`,
//!   `websock_conn_new` and their frees, which a WASI host uses to get
//!   memory inside the module;
//! - `deflate` (implies `alloc`) offers permessage-deflate (RFC 7692),
//!   turned on per connection by `websock_config.deflate`; its codec lives
//!   on the heap until `websock_conn_deinit`.
#![no_std]
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(missing_docs)]

#[cfg(feature = "std")]
extern crate std;

pub mod config;
pub mod conn;
pub mod event;
pub mod handshake;
#[cfg(feature = "alloc")]
pub mod heap;
pub mod lifecycle;
mod raw;
pub mod send;
pub mod status;
pub mod version;

pub use config::Config;
pub use conn::Conn;
pub use event::{Event, EventType};
pub use handshake::{Request, Response, Str};
pub use lifecycle::{Closure, State};
pub use status::Status;

/// Without std nothing else provides a panic handler. The code is written
/// so that no path panics (every index and length is checked), so this is
/// never reached; if it were, stopping here is the only sound choice in a
/// library that cannot unwind into C.
#[cfg(all(not(feature = "std"), not(test)))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    loop {
        core::hint::spin_loop();
    }
}
