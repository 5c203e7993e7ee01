#!/usr/bin/env bash
# websock-wasm, the wasm-bindgen package for JavaScript hosts: builds it
# with permessage-deflate (wasm/build.sh, which installs the pinned
# wasm-bindgen-cli on first use) and without (--no-deflate), runs its
# node --test suite (API, errors, compression, real sockets, the package as
# imported by name, the TypeScript declarations, the build without
# compression), then puts the Node examples through the Autobahn cases,
# sections 1-7, 9, 10, 12 and 13 (517 cases; 12 and 13 are compression),
# judged strictly: the echo server against kosoku, and the client against
# kosoku's fuzzingserver. Each step's wall time is printed.
#
# Sections 12 and 13 send 1000 messages per case, up to 128 KiB each, and
# kosoku paces large messages slowly, so a serial run spends most of its
# time waiting: both directions run several cases at once (kosoku -p in
# server mode, the client's --parallel in client mode).
set -uo pipefail
source "$(dirname "$0")/setup.sh" || exit 1
cd "$WEBSOCK_ROOT"

PARALLEL="${WEBSOCK_WASM_AUTOBAHN_PARALLEL:-4}"

failed=0
run() {
    echo "--- $*"
    local start=$SECONDS
    "$@" || { echo "--- FAILED: $*"; failed=$((failed + 1)); }
    local what="$*"
    echo "--- $((SECONDS - start))s: ${what:0:100}"
}

run bash wasm/build.sh --no-deflate || exit 1
run bash wasm/build.sh || exit 1
(cd wasm && npm ci --no-audit --no-fund --loglevel=error) || exit 1

# The build without compression must be there and is tested too.
WEBSOCK_WASM_NO_DEFLATE=require run node --test wasm/test/*.test.mjs

# Autobahn has no section 8.
cases=()
for s in 1 2 3 4 5 6 7 9 10 12 13; do cases+=(-i "$s.*"); done
run python3 tests/autobahn.py --min-cases 517 --timeout 1500 -p "$PARALLEL" "${cases[@]}" \
    server wasm-server -- node wasm/examples/echo-server.mjs '{port}'
run python3 tests/autobahn.py --min-cases 517 --timeout 1500 "${cases[@]}" \
    client wasm-client -- node wasm/examples/autobahn-client.mjs 'ws://127.0.0.1:{port}' \
    --agent websock-wasm --parallel "$PARALLEL"

[ "$failed" -eq 0 ]
