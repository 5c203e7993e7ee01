#!/usr/bin/env bash
# websock-wasm, the wasm-bindgen package for JavaScript hosts: builds it
# (wasm/build.sh, which installs the pinned wasm-bindgen-cli on first use),
# runs its node --test suite (API, errors, real sockets, the package as
# imported by name, the TypeScript declarations), then puts the Node
# examples through the Autobahn cases, sections 1 to 10, judged strictly:
# the echo server against kosoku, and the client against kosoku's
# fuzzingserver.
set -uo pipefail
source "$(dirname "$0")/setup.sh" || exit 1
cd "$WEBSOCK_ROOT"

bash wasm/build.sh || exit 1
(cd wasm && npm ci --no-audit --no-fund --loglevel=error) || exit 1

failed=0
run() {
    echo "--- $*"
    "$@" || { echo "--- FAILED: $*"; failed=$((failed + 1)); }
}

run node --test wasm/test/*.test.mjs

# Sections 1-7, 9 and 10: Autobahn has no section 8. 301 cases in all.
cases=()
for s in 1 2 3 4 5 6 7 9 10; do cases+=(-i "$s.*"); done
run python3 tests/autobahn.py --min-cases 301 --timeout 600 "${cases[@]}" \
    server wasm-server -- node wasm/examples/echo-server.mjs '{port}'
run python3 tests/autobahn.py --min-cases 301 --timeout 600 "${cases[@]}" \
    client wasm-client -- node wasm/examples/autobahn-client.mjs 'ws://127.0.0.1:{port}' --agent websock-wasm

[ "$failed" -eq 0 ]
