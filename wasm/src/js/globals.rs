//! What the module takes from its JavaScript host: a UTF-8 decoder, a
//! clock and a random source, all standard in Node, Deno and browsers.

use js_sys::JsString;
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    /// The WHATWG `TextDecoder` (UTF-8).
    type TextDecoder;

    #[wasm_bindgen(constructor)]
    fn new(label: &str, options: &JsValue) -> TextDecoder;

    /// Decodes straight from a view of the module's memory: no copy on the
    /// Rust side, and no second UTF-8 check (the engine made one).
    #[wasm_bindgen(method)]
    fn decode(this: &TextDecoder, bytes: &[u8]) -> JsString;

    #[wasm_bindgen(js_namespace = crypto, js_name = getRandomValues, catch)]
    fn get_random_values(bytes: &mut [u8]) -> Result<JsValue, JsValue>;

    #[wasm_bindgen(js_namespace = performance, js_name = now)]
    fn performance_now() -> f64;
}

thread_local! {
    // ignoreBOM: a message that starts with U+FEFF keeps it; by default
    // the decoder would strip it as a byte order mark.
    static DECODER: TextDecoder =
        TextDecoder::new("utf-8", &super::object::object(&[("ignoreBOM", true.into())]));
}

/// Text the engine has already validated as UTF-8, as a JS string.
pub fn decode_utf8(bytes: &[u8]) -> JsString {
    DECODER.with(|d| d.decode(bytes))
}

/// Fresh random bytes from `crypto.getRandomValues`.
pub fn entropy() -> Result<[u8; 32], JsValue> {
    let mut bytes = [0u8; 32];
    get_random_values(&mut bytes)?;
    Ok(bytes)
}

/// The default clock: `performance.now()`, monotonic, in milliseconds.
pub fn now() -> f64 {
    performance_now()
}
