//! The JavaScript face: two classes, `ServerConnection` and
//! `ClientConnection`, over [`Session`](crate::session::Session). This
//! module only converts values; behaviour lives in the session.

mod client;
mod errors;
mod events;
mod globals;
mod io;
mod object;
mod options;
mod server;
mod shared;

pub use client::ClientConnection;
pub use io::{staging_area, wasm_memory};
pub use server::ServerConnection;

use wasm_bindgen::prelude::*;
use websock_core::State;

#[wasm_bindgen(typescript_custom_section)]
const COMMON_TS: &str = r#"
/**
 * "handshake" until the opening handshake completes, "open" while messages
 * flow, "closeSent"/"closeReceived" during the closing handshake, then
 * "closed" (clean) or "failed".
 */
export type ConnectionState =
  "handshake" | "open" | "closeSent" | "closeReceived" | "closed" | "failed";

/** How a connection ended, from `transportClosed()`. */
export interface Closure {
  /** Both close frames were exchanged before the transport closed. */
  clean: boolean;
  /** The peer's close code, or 1006 when the transport closed first. */
  code: number;
}
"#;

/// The `ConnectionState` string for an engine state.
fn state_name(state: State) -> &'static str {
    match state {
        State::AwaitingRequest | State::AwaitingResponse => "handshake",
        State::Open => "open",
        State::CloseSent => "closeSent",
        State::CloseReceived => "closeReceived",
        State::Closed => "closed",
        State::Failed => "failed",
    }
}
