//! Prints what a connection costs in memory.
//!
//! Run: `cargo run -p websock-core --example sizes`

fn main() {
    println!(
        "size_of::<websock_core::Connection>() = {} bytes",
        core::mem::size_of::<websock_core::Connection>()
    );
    println!(
        "align_of::<websock_core::Connection>() = {} bytes",
        core::mem::align_of::<websock_core::Connection>()
    );
}
