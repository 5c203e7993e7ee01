//! wasm-bindgen layer for websock (filled in by the wasm issue).
