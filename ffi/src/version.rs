//! The library's version, for the header (compile time) and the binary
//! (run time), so a program can check it runs with the library it was
//! built against.

use core::ffi::c_char;

/// The major version of the header.
pub const WEBSOCK_VERSION_MAJOR: u32 = 0;
/// The minor version of the header.
pub const WEBSOCK_VERSION_MINOR: u32 = 1;
/// The patch version of the header.
pub const WEBSOCK_VERSION_PATCH: u32 = 0;

/// The library's version as a static NUL-terminated string, e.g. "0.1.0"
/// (never freed, never changes).
#[no_mangle]
pub extern "C" fn websock_version() -> *const c_char {
    const VERSION: &core::ffi::CStr = match core::ffi::CStr::from_bytes_with_nul(
        concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes(),
    ) {
        Ok(v) => v,
        Err(_) => c"unknown",
    };
    VERSION.as_ptr()
}

/// The library's version as one number: major * 10000 + minor * 100 +
/// patch, comparable with the header's `WEBSOCK_VERSION_*`.
#[no_mangle]
pub extern "C" fn websock_version_number() -> u32 {
    WEBSOCK_VERSION_MAJOR * 10000 + WEBSOCK_VERSION_MINOR * 100 + WEBSOCK_VERSION_PATCH
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constants_match_the_package_version() {
        let parts = [
            env!("CARGO_PKG_VERSION_MAJOR"),
            env!("CARGO_PKG_VERSION_MINOR"),
            env!("CARGO_PKG_VERSION_PATCH"),
        ];
        let ours = [
            WEBSOCK_VERSION_MAJOR,
            WEBSOCK_VERSION_MINOR,
            WEBSOCK_VERSION_PATCH,
        ];
        for (p, o) in parts.iter().zip(ours) {
            assert_eq!(p.parse::<u32>().ok(), Some(o));
        }
        // SAFETY: websock_version returns a static NUL-terminated string.
        let s = unsafe { core::ffi::CStr::from_ptr(websock_version()) };
        assert_eq!(s.to_bytes(), env!("CARGO_PKG_VERSION").as_bytes());
    }
}
