//! The `ConnectionOptions` object both classes take.

use wasm_bindgen::prelude::*;

use super::errors::{error, invalid_argument};
use super::globals;
use crate::error_code::ErrorCode;
use crate::session::{valid_protocol_name, Settings};

#[wasm_bindgen(typescript_custom_section)]
const OPTIONS_TS: &str = r#"
/**
 * Options for a connection. Times are milliseconds on one clock: the one
 * `now` is read from (by default `performance.now()`), which `tick(now)`
 * and `deadline()` then share.
 */
export interface ConnectionOptions {
  /**
   * The largest message accepted, in bytes (default 64 MiB). A frame that
   * would take a message past it fails the connection with close code 1009
   * before its payload is read.
   */
  maxMessageSize?: number;
  /** The largest opening handshake header block, in bytes (default 8192). */
  maxHandshakeSize?: number;
  /** How long the opening handshake may take (default 10000). */
  handshakeTimeout?: number;
  /** How long to wait for the closing handshake (default 5000). */
  closeTimeout?: number;
  /** Subprotocols the server speaks or the client offers, preferred first. */
  protocols?: string[];
  /** The current time, which starts the handshake timeout. */
  now?: number;
  /**
   * Reserved for permessage-deflate (RFC 7692), which the engine does not
   * have yet: `true` throws ERR_WEBSOCK_UNSUPPORTED.
   */
  perMessageDeflate?: boolean;
}
"#;

#[wasm_bindgen]
extern "C" {
    /// A `ConnectionOptions` object from JS, read field by field.
    #[wasm_bindgen(typescript_type = "ConnectionOptions")]
    pub type ConnectionOptions;
}

/// Options read and checked.
pub struct Parsed {
    /// For the session.
    pub settings: Settings,
    /// The construction time, in ms.
    pub now: u64,
}

/// Reads `options` (absent means all defaults).
pub fn parse(options: Option<ConnectionOptions>) -> Result<Parsed, JsValue> {
    let mut settings = Settings::default();
    let Some(options) = options else {
        return Ok(Parsed {
            settings,
            now: time(globals::now()),
        });
    };
    let obj: &JsValue = options.as_ref();
    if !obj.is_object() {
        return Err(invalid_argument("options must be an object"));
    }
    let config = &mut settings.config;
    if let Some(v) = number(obj, "maxMessageSize")? {
        config.max_message_size = v;
    }
    if let Some(v) = number(obj, "maxHandshakeSize")? {
        config.max_handshake_len = usize::try_from(v).unwrap_or(usize::MAX);
    }
    if let Some(v) = number(obj, "handshakeTimeout")? {
        config.handshake_timeout_ms = v;
    }
    if let Some(v) = number(obj, "closeTimeout")? {
        config.close_timeout_ms = v;
    }
    settings.protocols = protocols(&field(obj, "protocols")?)?;
    if field(obj, "perMessageDeflate")?.is_truthy() {
        return Err(error(
            ErrorCode::Unsupported,
            "permessage-deflate is not supported by this engine build yet",
        ));
    }
    let now = match number(obj, "now")? {
        Some(now) => now,
        None => time(globals::now()),
    };
    Ok(Parsed { settings, now })
}

fn field(obj: &JsValue, name: &str) -> Result<JsValue, JsValue> {
    js_sys::Reflect::get(obj, &JsValue::from_str(name))
}

/// A whole number of at least 0, or `None` when the field is absent.
fn number(obj: &JsValue, name: &str) -> Result<Option<u64>, JsValue> {
    let value = field(obj, name)?;
    if value.is_undefined() {
        return Ok(None);
    }
    match value.as_f64() {
        Some(v) if v.is_finite() && v >= 0.0 => Ok(Some(time(v))),
        _ => Err(invalid_argument(&format!(
            "{name} must be a finite number of at least 0"
        ))),
    }
}

fn protocols(value: &JsValue) -> Result<Vec<String>, JsValue> {
    if value.is_undefined() {
        return Ok(Vec::new());
    }
    let bad = || invalid_argument("protocols must be an array of subprotocol names (tokens)");
    if !js_sys::Array::is_array(value) {
        return Err(bad());
    }
    js_sys::Array::from(value)
        .iter()
        .map(|p| match p.as_string() {
            Some(name) if valid_protocol_name(&name) => Ok(name),
            _ => Err(bad()),
        })
        .collect()
}

/// Milliseconds as the engine counts them: whole, never negative (a NaN,
/// which the callers have ruled out, would become 0).
pub fn time(ms: f64) -> u64 {
    ms as u64
}

/// Checks a `now` given to a call, or reads the default clock.
pub fn now_or_clock(now: Option<f64>) -> Result<u64, JsValue> {
    match now {
        None => Ok(time(globals::now())),
        Some(v) if v.is_finite() && v >= 0.0 => Ok(time(v)),
        Some(_) => Err(invalid_argument(
            "now must be a finite number of at least 0",
        )),
    }
}
