//! Received messages and frames as plain JS objects.

use wasm_bindgen::prelude::*;

use super::errors::engine_error;
use super::globals::decode_utf8;
use super::object::{set, with_names};
use crate::session::Received;

#[wasm_bindgen(typescript_custom_section)]
const EVENT_TS: &str = r#"
/**
 * What `receive()` reports, in order: whole messages, control frames, and
 * (last) the peer's protocol violation. The engine's replies (pong, close
 * reply, failing close) are already in `takeOutput()`.
 */
export type WebSocketEvent =
  /** (With the `textAsBytes` option, `data` is a `Uint8Array` of UTF-8 instead.) */
  | { type: "text"; data: string }
  | { type: "binary"; data: Uint8Array }
  | { type: "ping"; data: Uint8Array }
  | { type: "pong"; data: Uint8Array }
  /** The peer's close frame; `code` is 1005 when it carried none. */
  | { type: "close"; code: number; reason: string }
  /**
   * The peer broke the protocol. The close frame with `error.closeCode` is
   * in `takeOutput()`; later input is ignored; `shouldClose()` is true.
   */
  | { type: "error"; error: WebSockError };
"#;

/// One [`Received`] as a `WebSocketEvent` object; text as a string, or as
/// its bytes when `text_as_bytes`.
pub fn event(received: Received<'_>, text_as_bytes: bool) -> JsValue {
    with_names(|n| {
        let obj: JsValue = js_sys::Object::new().into();
        let (kind, data): (&JsValue, JsValue) = match received {
            Received::Text(bytes) if text_as_bytes => {
                (&n.text, js_sys::Uint8Array::from(bytes).into())
            }
            Received::Text(bytes) => (&n.text, decode_utf8(bytes).into()),
            Received::Binary(bytes) => (&n.binary, js_sys::Uint8Array::from(bytes).into()),
            Received::Ping(bytes) => (&n.ping, js_sys::Uint8Array::from(bytes).into()),
            Received::Pong(bytes) => (&n.pong, js_sys::Uint8Array::from(bytes).into()),
            Received::Close { code, reason } => {
                set(&obj, &n.type_, &n.close);
                set(&obj, &n.code, &code.into());
                set(&obj, &n.reason, &reason.into());
                return obj;
            }
            Received::Failed(e) => {
                set(&obj, &n.type_, &n.error);
                set(&obj, &n.error, &engine_error(&e));
                return obj;
            }
        };
        set(&obj, &n.type_, kind);
        set(&obj, &n.data, &data);
        obj
    })
}
