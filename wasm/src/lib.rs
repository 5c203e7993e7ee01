//! # websock-wasm
//!
//! The websock engine for JavaScript hosts (Node, Deno, browsers with a
//! transport of their own), built with wasm-bindgen: `wasm/build.sh` makes
//! an ES module package with TypeScript declarations in `wasm/pkg/`.
//!
//! Each connection is a JS class, [`ServerConnection`] or
//! [`ClientConnection`]: the host feeds it the bytes its socket read
//! (`receive`) and writes what `takeOutput()` returns. Events come back as
//! plain objects holding whole messages; errors are thrown as `Error`s with
//! a machine-readable `code` ([`error_code::ErrorCode`]).
//!
//! The layering, so that everything but value conversion is tested
//! natively:
//! - [`session`]: the engine with growable buffers and reassembly, plain Rust;
//! - [`message`]: whole messages from the engine's streamed chunks;
//! - [`output`]: the output buffer, written into without zeroing;
//! - [`error_code`]: the table of error codes;
//! - [`packed`]: received events as bytes, for hosts that read the module's
//!   memory themselves (the Node adapter: no JS object per event);
//! - `js` (private): the classes, options, events and errors as JS values.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod error_code;
mod js;
pub mod message;
pub mod output;
pub mod packed;
pub mod session;

pub use js::{staging_area, wasm_memory, ClientConnection, ServerConnection};
