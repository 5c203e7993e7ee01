//! Building plain JS objects field by field, with the property names made
//! once per module instance rather than once per event.

use js_sys::{Object, Reflect};
use wasm_bindgen::JsValue;

/// Property names and the `type` values of events, as JS strings.
pub struct Names {
    pub type_: JsValue,
    pub data: JsValue,
    pub code: JsValue,
    pub reason: JsValue,
    pub error: JsValue,
    pub text: JsValue,
    pub binary: JsValue,
    pub ping: JsValue,
    pub pong: JsValue,
    pub close: JsValue,
}

thread_local! {
    static NAMES: Names = Names {
        type_: "type".into(),
        data: "data".into(),
        code: "code".into(),
        reason: "reason".into(),
        error: "error".into(),
        text: "text".into(),
        binary: "binary".into(),
        ping: "ping".into(),
        pong: "pong".into(),
        close: "close".into(),
    };
}

/// Runs `f` with the cached names.
pub fn with_names<R>(f: impl FnOnce(&Names) -> R) -> R {
    NAMES.with(f)
}

/// Sets `target[key] = value`.
pub fn set(target: &JsValue, key: &JsValue, value: &JsValue) {
    // Defining a property can only fail on a frozen object or a throwing
    // proxy; every target here is a fresh plain object or Error.
    let _ = Reflect::set(target, key, value);
}

/// A fresh object from `(name, value)` pairs.
pub fn object(fields: &[(&str, JsValue)]) -> JsValue {
    let obj: JsValue = Object::new().into();
    for (key, value) in fields {
        set(&obj, &JsValue::from_str(key), value);
    }
    obj
}
