//! The `ConnectionOptions` object both classes take.

use wasm_bindgen::prelude::*;
#[cfg(feature = "deflate")]
use websock_core::deflate;

#[cfg(not(feature = "deflate"))]
use super::errors::error;
use super::errors::invalid_argument;
use super::globals;
#[cfg(not(feature = "deflate"))]
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
   * Deliver text messages as their UTF-8 bytes (`Uint8Array`, already
   * checked) instead of a string: for hosts that pass them on as bytes,
   * which saves a decode and an encode. Default false. (`WebSocketEvent`
   * types text `data` as the default, a string.)
   */
  textAsBytes?: boolean;
  /**
   * permessage-deflate (RFC 7692). By default (`true`) a server accepts a
   * client's offer and a client makes one; `false` goes without; an object
   * sets the parameters. A module built without compression
   * (`build.sh --no-deflate`) throws ERR_WEBSOCK_UNSUPPORTED for anything
   * but `false` or absent. See `compression` and `extensions` on the
   * connection for what was agreed.
   */
  perMessageDeflate?: boolean | PerMessageDeflateOptions;
}

/**
 * permessage-deflate parameters. For a server they are limits applied to
 * whatever a client offers; for a client they make the offer.
 */
export interface PerMessageDeflateOptions {
  /** zlib compression level, 0 (store) to 9 (smallest); default 6. */
  level?: number;
  /**
   * Server: reset our compressor after every message even if the client
   * did not ask. Client: ask the server to. Default false.
   */
  serverNoContextTakeover?: boolean;
  /**
   * Server: ask the client to reset its compressor after every message.
   * Client: reset ours, and say so in the offer. Default false.
   */
  clientNoContextTakeover?: boolean;
  /**
   * Server: the largest window (as bits, 9 to 15) our compressor uses.
   * Client: below 15, ask the server for at most this window. Default 15.
   */
  serverMaxWindowBits?: number;
  /**
   * Server: below 15, have a client that allows it use at most this window.
   * Client: the largest window our compressor uses (the offer always lets
   * the server lower it). Default 15.
   */
  clientMaxWindowBits?: number;
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
    /// Text messages as bytes rather than strings (`textAsBytes`).
    pub text_as_bytes: bool,
}

/// Reads `options` (absent means all defaults).
pub fn parse(options: Option<ConnectionOptions>) -> Result<Parsed, JsValue> {
    let mut settings = Settings::default();
    // On unless turned off, as in the host binary: compression costs a
    // little CPU and per-connection memory, and saves bandwidth, which a
    // JS host usually cares about more.
    #[cfg(feature = "deflate")]
    {
        settings.config.deflate = Some(deflate::Options::new());
    }
    let Some(options) = options else {
        return Ok(Parsed {
            settings,
            now: time(globals::now()),
            text_as_bytes: false,
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
    let deflate = field(obj, "perMessageDeflate")?;
    #[cfg(feature = "deflate")]
    {
        settings.config.deflate = deflate_options(&deflate)?;
    }
    #[cfg(not(feature = "deflate"))]
    no_deflate(&deflate)?;
    let now = match number(obj, "now")? {
        Some(now) => now,
        None => time(globals::now()),
    };
    let text_as_bytes = match field(obj, "textAsBytes")? {
        v if v.is_undefined() => false,
        v => v
            .as_bool()
            .ok_or_else(|| invalid_argument("textAsBytes must be a boolean"))?,
    };
    Ok(Parsed {
        settings,
        now,
        text_as_bytes,
    })
}

/// The `perMessageDeflate` option: absent or `true` for the defaults,
/// `false` for none, or an object of parameters.
#[cfg(feature = "deflate")]
fn deflate_options(value: &JsValue) -> Result<Option<deflate::Options>, JsValue> {
    if value.is_undefined() {
        return Ok(Some(deflate::Options::new()));
    }
    if let Some(on) = value.as_bool() {
        return Ok(on.then(deflate::Options::new));
    }
    if !value.is_object() || js_sys::Array::is_array(value) {
        return Err(invalid_argument(
            "perMessageDeflate must be a boolean or an object of parameters",
        ));
    }
    let mut o = deflate::Options::new();
    if let Some(level) = small_integer(value, "level", 0..=9)? {
        o.level = level;
    }
    if let Some(on) = boolean(value, "serverNoContextTakeover")? {
        o.server_no_context_takeover = on;
    }
    if let Some(on) = boolean(value, "clientNoContextTakeover")? {
        o.client_no_context_takeover = on;
    }
    // zlib cannot make raw deflate streams with an 8-bit window, which RFC
    // 7692 would allow, so 9 is the least.
    if let Some(bits) = small_integer(value, "serverMaxWindowBits", 9..=15)? {
        o.server_max_window_bits = bits;
    }
    if let Some(bits) = small_integer(value, "clientMaxWindowBits", 9..=15)? {
        o.client_max_window_bits = bits;
    }
    Ok(Some(o))
}

/// Without the `deflate` feature: only "off" is possible.
#[cfg(not(feature = "deflate"))]
fn no_deflate(value: &JsValue) -> Result<(), JsValue> {
    if value.is_undefined() || value.as_bool() == Some(false) {
        Ok(())
    } else if value.as_bool() == Some(true) || value.is_object() {
        Err(error(
            ErrorCode::Unsupported,
            "this websock-wasm build has no permessage-deflate (built with --no-deflate)",
        ))
    } else {
        Err(invalid_argument(
            "perMessageDeflate must be a boolean or an object of parameters",
        ))
    }
}

/// An integer in `range`, or `None` when the field is absent.
#[cfg(feature = "deflate")]
fn small_integer(
    obj: &JsValue,
    name: &str,
    range: core::ops::RangeInclusive<u8>,
) -> Result<Option<u8>, JsValue> {
    let value = field(obj, name)?;
    if value.is_undefined() {
        return Ok(None);
    }
    match value.as_f64() {
        Some(v)
            if v.fract() == 0.0
                && (f64::from(*range.start())..=f64::from(*range.end())).contains(&v) =>
        {
            Ok(Some(v as u8))
        }
        _ => Err(invalid_argument(&format!(
            "perMessageDeflate.{name} must be an integer from {} to {}",
            range.start(),
            range.end()
        ))),
    }
}

/// A boolean, or `None` when the field is absent.
#[cfg(feature = "deflate")]
fn boolean(obj: &JsValue, name: &str) -> Result<Option<bool>, JsValue> {
    let value = field(obj, name)?;
    if value.is_undefined() {
        return Ok(None);
    }
    value
        .as_bool()
        .map(Some)
        .ok_or_else(|| invalid_argument(&format!("perMessageDeflate.{name} must be a boolean")))
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
