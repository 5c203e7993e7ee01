#!/usr/bin/env bash
# permessage-deflate in the engine, checked against a zlib we did not write:
# streams made for each window size (9-15) must inflate with Python's zlib
# at that window, and a 15-bit stream must not inflate at 9 bits (control).
# Then the allocator-free receive path on the wire: Autobahn's sections 12
# and 13 (216 cases, every message compressed by the client) against an echo
# server built on websock-core with only the `inflate` feature
# (core/examples/inflate_echo.rs), lending a 512-byte window per connection:
# it answers each offer with client_max_window_bits=9 (its echoes are blocks of
# fixed-code literals, since kosoku fails these cases on uncompressed echoes).
set -euo pipefail
source "$(dirname "$0")/setup.sh"
cd "$WEBSOCK_ROOT"
echo "--- windows 9-15 against Python's zlib"
cargo build --quiet -p websock-core --features deflate --example deflate_stream
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python3 tests/check_window.py target/debug/examples/deflate_stream "$work"
echo "--- autobahn 12.* and 13.* against the inflate-only echo server (9-bit window)"
cargo build --quiet --release -p websock-core --features inflate --example inflate_echo
python3 tests/autobahn.py --min-cases 216 --timeout 1500 -p 2 -i '12.*' -i '13.*' \
    server inflate-echo -- target/release/examples/inflate_echo '{port}' 9
