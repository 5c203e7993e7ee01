//! `ServerConnection`: the server end of one WebSocket.

use wasm_bindgen::prelude::*;

use super::errors::thrown;
use super::object::object;
use super::options::{parse, ConnectionOptions};
use super::shared::shared_methods;
use crate::session::Session;

#[wasm_bindgen(typescript_custom_section)]
const UPGRADE_REQUEST_TS: &str = r#"
/** A client's accepted upgrade request. */
export interface UpgradeRequest {
  /** The request target, e.g. "/chat?room=1". */
  path: string;
  /** The Host header. */
  host: string;
  /** The Origin header, if any. */
  origin?: string;
  /** The subprotocol chosen from `options.protocols`, if any. */
  protocol?: string;
  /**
   * The Sec-WebSocket-Extensions value of the 101 response, when
   * permessage-deflate was agreed (also `conn.extensions`).
   */
  extensions?: string;
}
"#;

/// The server end of one WebSocket connection: feed it the bytes the
/// socket reads, write the bytes it gives back.
///
/// ```js
/// const conn = new ServerConnection({ maxMessageSize: 1 << 20 });
/// socket.on("data", (bytes) => {
///   if (conn.state === "handshake") {
///     // Throws ERR_WEBSOCK_HANDSHAKE on a bad request (HTTP error in the output).
///     if (!conn.accept(bytes)) return;
///     bytes = undefined;
///   }
///   for (let events = conn.receive(bytes); events.length; events = conn.receive()) {
///     for (const e of events) if (e.type === "text") conn.sendText(e.data);
///   }
///   socket.write(conn.takeOutput());
///   if (conn.shouldClose()) socket.end();
/// });
/// ```
#[wasm_bindgen]
pub struct ServerConnection {
    session: Session,
    text_as_bytes: bool,
    /// The error of the last staged receive's `error` event.
    failure: Option<websock_core::Error>,
}

#[wasm_bindgen]
impl ServerConnection {
    /// A connection waiting for the client's upgrade request.
    #[wasm_bindgen(constructor)]
    pub fn new(options: Option<ConnectionOptions>) -> Result<ServerConnection, JsValue> {
        let parsed = parse(options)?;
        Ok(ServerConnection {
            session: Session::server(parsed.settings, parsed.now),
            text_as_bytes: parsed.text_as_bytes,
            failure: None,
        })
    }

    /// Feeds bytes of the upgrade request. Returns `undefined` until the
    /// request is complete, then the request; the 101 response is in
    /// `takeOutput()` and frames that came with the request wait for
    /// `receive()`. A bad request throws ERR_WEBSOCK_HANDSHAKE with
    /// `status` (400, 405, 426 or 431): write `takeOutput()`, the HTTP
    /// error, then close the transport.
    #[wasm_bindgen(unchecked_return_type = "UpgradeRequest | undefined")]
    pub fn accept(&mut self, bytes: &[u8]) -> Result<JsValue, JsValue> {
        let Some(request) = self.session.accept(bytes).map_err(thrown)? else {
            return Ok(JsValue::UNDEFINED);
        };
        let mut fields = vec![("path", request.path.into()), ("host", request.host.into())];
        if let Some(origin) = request.origin {
            fields.push(("origin", origin.into()));
        }
        if let Some(protocol) = request.protocol {
            fields.push(("protocol", protocol.into()));
        }
        if let Some(extensions) = request.extensions {
            fields.push(("extensions", extensions.into()));
        }
        Ok(object(&fields))
    }
}

shared_methods!(ServerConnection);
