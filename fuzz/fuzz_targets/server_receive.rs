//! A server engine's `receive_with`, fed a client's bytes at fuzzer-chosen
//! splits, with and without permessage-deflate; see `receive` for the
//! invariants checked.
#![no_main]

use libfuzzer_sys::fuzz_target;
use websock_core::Role;
use websock_fuzz::receive::{run, Case};

fuzz_target!(|case: Case| run(case, Role::Server));
