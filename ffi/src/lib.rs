//! C ABI for websock (filled in by the C ABI issue).
