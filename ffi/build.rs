//! Gives libwebsock.so its soname on ELF platforms, from the package
//! version, so that programs record which ABI they were linked against and
//! `make install` can lay out the usual symlinks (ffi/install.sh reads the
//! soname back from the built library rather than computing it again).
//!
//! The ABI follows Cargo's reading of the version: from 1.0 a major release
//! may break it (soname libwebsock.so.MAJOR); before 1.0 a minor one may
//! (libwebsock.so.0.MINOR).

use std::env;

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    let family = env::var("CARGO_CFG_TARGET_FAMILY").unwrap_or_default();
    let vendor = env::var("CARGO_CFG_TARGET_VENDOR").unwrap_or_default();
    // Apple's linker has install names instead; wasm and Windows have
    // neither, and bare-metal targets build no shared library.
    if !family.split(',').any(|f| f == "unix") || vendor == "apple" {
        return;
    }
    let major = env::var("CARGO_PKG_VERSION_MAJOR").unwrap_or_default();
    let minor = env::var("CARGO_PKG_VERSION_MINOR").unwrap_or_default();
    let abi = if major == "0" {
        format!("0.{minor}")
    } else {
        major
    };
    println!("cargo::rustc-cdylib-link-arg=-Wl,-soname,libwebsock.so.{abi}");
}
