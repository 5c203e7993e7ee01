//! Errors as thrown JS `Error`s with a machine-readable `code`.

use wasm_bindgen::prelude::*;
use websock_core::Error;

use super::object::set;
use crate::error_code::{http_status, ErrorCode};

/// The TypeScript view of the errors; it must list every
/// [`ErrorCode`] (checked by a test). The custom section below reads it
/// at compile time, which the dead-code lint does not count as a use.
#[allow(dead_code)]
const ERROR_TS: &str = r#"
/** The `code` of every error this module throws or reports. */
export type WebSockErrorCode =
  | "ERR_WEBSOCK_PROTOCOL"
  | "ERR_WEBSOCK_HANDSHAKE"
  | "ERR_WEBSOCK_INVALID_STATE"
  | "ERR_WEBSOCK_CONTROL_TOO_LONG"
  | "ERR_WEBSOCK_INVALID_CLOSE_CODE"
  | "ERR_WEBSOCK_INVALID_ARGUMENT"
  | "ERR_WEBSOCK_UNSUPPORTED"
  | "ERR_WEBSOCK_INTERNAL";

/** An `Error` from this module: match on `code`, not on `message`. */
export interface WebSockError extends Error {
  code: WebSockErrorCode;
  /** ERR_WEBSOCK_PROTOCOL: the close code sent to the peer (1002, 1007, 1009). */
  closeCode?: number;
  /**
   * ERR_WEBSOCK_HANDSHAKE: the HTTP status the server answered with (its
   * response is in `takeOutput()`), or the one the client received.
   */
  status?: number;
}
"#;

#[wasm_bindgen(typescript_custom_section)]
const ERROR_TS_SECTION: &str = ERROR_TS;

/// A JS `Error` with `code` set.
pub fn error(code: ErrorCode, message: &str) -> JsValue {
    let err: JsValue = js_sys::Error::new(message).into();
    set(&err, &"code".into(), &code.as_str().into());
    err
}

/// An engine error as a JS `Error`, with `closeCode` or `status` when they
/// apply.
pub fn engine_error(e: &Error) -> JsValue {
    let err = error(ErrorCode::of(e), &e.to_string());
    match e {
        Error::Protocol(v) => set(&err, &"closeCode".into(), &v.close_code().0.into()),
        Error::Handshake(h) => set(&err, &"status".into(), &http_status(*h).into()),
        _ => {}
    }
    err
}

/// For `?` on engine calls.
pub fn thrown(e: Error) -> JsValue {
    engine_error(&e)
}

/// A bad argument.
pub fn invalid_argument(message: &str) -> JsValue {
    error(ErrorCode::InvalidArgument, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typescript_lists_every_code() {
        for code in ErrorCode::ALL {
            assert!(
                ERROR_TS.contains(&format!("\"{}\"", code.as_str())),
                "{code:?}"
            );
        }
        assert_eq!(
            ERROR_TS.matches("\"ERR_WEBSOCK_").count(),
            ErrorCode::ALL.len()
        );
    }
}
