//! Prints what a connection costs in memory.
//!
//! Run: `cargo run -p websock-core --example sizes` (add `--features inflate`
//! for the window a receiver without an allocator lends).

fn main() {
    println!(
        "size_of::<websock_core::Connection>() = {} bytes",
        core::mem::size_of::<websock_core::Connection>()
    );
    println!(
        "align_of::<websock_core::Connection>() = {} bytes",
        core::mem::align_of::<websock_core::Connection>()
    );
    #[cfg(feature = "inflate")]
    for (bits, size) in [
        (
            9,
            core::mem::size_of::<websock_core::deflate::Window<512>>(),
        ),
        (
            15,
            core::mem::size_of::<websock_core::deflate::Window<32768>>(),
        ),
    ] {
        println!("size_of::<deflate::Window<{}>>() = {size} bytes", 1 << bits);
    }
}
