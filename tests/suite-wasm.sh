#!/usr/bin/env bash
# JavaScript: websock-wasm, the wasm-bindgen package, and the npm package
# `websock` (node/: that engine under a ws-style Node adapter). Builds the
# engine with permessage-deflate (node/build.sh, through wasm/build.sh, which
# installs the pinned wasm-bindgen-cli on first use) and without
# (--no-deflate), runs the engine's node --test suite (API, errors,
# compression, real sockets, the package as imported by name, its
# TypeScript declarations, the build without compression) and the npm
# package's (npm pack installed into a fresh project with its examples run
# there and its types checked, the ws-style API, interop with the pinned
# ws package both ways), then puts the npm package's Node examples through
# the Autobahn cases, sections 1-7, 9, 10, 12 and 13 (517 cases; 12 and 13
# are compression), judged strictly: the echo server (WebSocketServer)
# against kosoku, and the client (WebSocket) against kosoku's
# fuzzingserver. Each step's wall time is printed.
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
    local start=$SECONDS rc=0
    "$@" || { rc=$?; echo "--- FAILED: $*"; failed=$((failed + 1)); }
    local what="$*"
    echo "--- $((SECONDS - start))s: ${what:0:100}"
    return "$rc"
}

run bash wasm/build.sh --no-deflate || exit 1
run bash node/build.sh || exit 1
for dir in wasm node; do
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error) || exit 1
done

# The build without compression must be there and is tested too.
WEBSOCK_WASM_NO_DEFLATE=require run node --test wasm/test/*.test.mjs
run node --test node/test/*.test.mjs

# Autobahn has no section 8. The two directions run one after the other:
# side by side, under the rest of the test command's load, the client run
# went past its 1500 s timeout.
cases=()
for s in 1 2 3 4 5 6 7 9 10 12 13; do cases+=(-i "$s.*"); done
run python3 tests/autobahn.py --min-cases 517 --timeout 1500 -p "$PARALLEL" "${cases[@]}" \
    server wasm-server -- node node/examples/echo-server.mjs '{port}'
run python3 tests/autobahn.py --min-cases 517 --timeout 1500 "${cases[@]}" \
    client wasm-client -- node node/examples/autobahn-client.mjs 'ws://127.0.0.1:{port}' \
    --agent websock-wasm --parallel "$PARALLEL"

[ "$failed" -eq 0 ]
