#!/usr/bin/env bash
# permessage-deflate in the engine, checked against a zlib we did not write:
# streams made for each window size (9-15) must inflate with Python's zlib
# at that window, and a 15-bit stream must not inflate at 9 bits (control).
set -euo pipefail
source "$(dirname "$0")/setup.sh"
cd "$WEBSOCK_ROOT"
cargo build --quiet -p websock-core --features deflate --example deflate_stream
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python3 tests/check_window.py target/debug/examples/deflate_stream "$work"
