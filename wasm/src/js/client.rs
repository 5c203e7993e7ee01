//! `ClientConnection`: the client end of one WebSocket.

use wasm_bindgen::prelude::*;

use super::errors::thrown;
use super::globals;
use super::object::object;
use super::options::{parse, ConnectionOptions};
use super::shared::shared_methods;
use crate::session::Session;

#[wasm_bindgen(typescript_custom_section)]
const UPGRADE_RESPONSE_TS: &str = r#"
/** A server's accepted 101 response. */
export interface UpgradeResponse {
  /** The subprotocol the server chose from `options.protocols`, if any. */
  protocol?: string;
  /**
   * The server's Sec-WebSocket-Extensions value, when it accepted our
   * permessage-deflate offer (also `conn.extensions`).
   */
  extensions?: string;
}
"#;

/// The client end of one WebSocket connection. Its handshake key and
/// masking keys come from `crypto.getRandomValues`.
///
/// ```js
/// const conn = new ClientConnection();
/// conn.writeRequest("example.com:8080", "/chat");
/// socket.write(conn.takeOutput());
/// // then feed readResponse() until it returns the response, then receive().
/// ```
#[wasm_bindgen]
pub struct ClientConnection {
    session: Session,
    text_as_bytes: bool,
    /// The error of the last staged receive's `error` event.
    failure: Option<websock_core::Error>,
}

#[wasm_bindgen]
impl ClientConnection {
    /// A connection that has not sent its upgrade request yet.
    #[wasm_bindgen(constructor)]
    pub fn new(options: Option<ConnectionOptions>) -> Result<ClientConnection, JsValue> {
        let parsed = parse(options)?;
        let entropy = globals::entropy()?;
        Ok(ClientConnection {
            session: Session::client(parsed.settings, parsed.now, entropy),
            text_as_bytes: parsed.text_as_bytes,
            failure: None,
        })
    }

    /// Puts the upgrade request in `takeOutput()`. `host` is the Host
    /// header (with `:port` unless it is the scheme's default); `path`
    /// defaults to "/".
    #[wasm_bindgen(js_name = writeRequest)]
    pub fn write_request(&mut self, host: &str, path: Option<String>) -> Result<(), JsValue> {
        self.session
            .write_request(host, path.as_deref().unwrap_or("/"))
            .map_err(thrown)
    }

    /// Feeds bytes of the server's response. Returns `undefined` until it
    /// is complete, then the response; frames that came with it wait for
    /// `receive()`. A refusal throws ERR_WEBSOCK_HANDSHAKE (with `status`
    /// when the server answered something other than 101); then close the
    /// transport.
    #[wasm_bindgen(js_name = readResponse, unchecked_return_type = "UpgradeResponse | undefined")]
    pub fn read_response(&mut self, bytes: &[u8]) -> Result<JsValue, JsValue> {
        let Some(opened) = self.session.read_response(bytes).map_err(thrown)? else {
            return Ok(JsValue::UNDEFINED);
        };
        let mut fields = Vec::new();
        if let Some(protocol) = opened.protocol {
            fields.push(("protocol", protocol.into()));
        }
        if let Some(extensions) = opened.extensions {
            fields.push(("extensions", extensions.into()));
        }
        Ok(object(&fields))
    }
}

shared_methods!(ClientConnection);
