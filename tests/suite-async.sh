#!/usr/bin/env bash
# The async adapters against kosoku, judged strictly:
#   - core's io_async (feature async) over tokio sockets through
#     embedded-io-adapters (core/examples/async_echo.rs): echo server and
#     client driver, sections 1 to 10 (no deflate: the adapter is no-alloc);
#   - websock-tokio (tokio/examples/echo_server.rs, echo_client.rs
#     autobahn): the whole suite, 517 cases each way, deflate on, four
#     cases at a time against the server.
# Each direction of a pair runs at the same time (one kosoku each, two
# cores). The adapters' own tests (core/tests/io_async.rs) run with the
# Rust checks in tests/run.sh, and here too when this suite runs alone.
set -uo pipefail
standalone=${WEBSOCK_SETUP_DONE:-}
source "$(dirname "$0")/setup.sh" || exit 1
cd "$WEBSOCK_ROOT"

failed=0
step() {
    local name="$1" start=$SECONDS; shift
    echo "--- $name"
    if "$@"; then echo "--- $name: ok ($((SECONDS - start))s)"
    else echo "--- $name: FAILED ($((SECONDS - start))s)"; failed=$((failed + 1)); fi
}

if [ -z "$standalone" ]; then
    step "cargo test (core, async)" cargo test --quiet -p websock-core --features async
    step "cargo test (websock-tokio)" cargo test --quiet -p websock-tokio
fi
step "build core async example" \
    cargo build --quiet --release -p websock-core --features async --example async_echo
core_bin="$WEBSOCK_ROOT/target/release/examples/async_echo"
step "build websock-tokio examples" cargo build --quiet --release -p websock-tokio --examples
tokio_server="$WEBSOCK_ROOT/target/release/examples/echo_server"
tokio_client="$WEBSOCK_ROOT/target/release/examples/echo_client"

logs="$(mktemp -d)"
trap 'rm -rf "$logs"' EXIT

# Runs a server and a client Autobahn run side by side: NAME CASES... -- SERVER_CMD -- CLIENT_CMD
both_ways() {
    local name="$1" min="$2" timeout="$3"; shift 3
    local cases=()
    while [ "$1" != "--" ]; do cases+=("$1"); shift; done
    shift
    local server_cmd=() client_cmd=()
    while [ "$1" != "--" ]; do server_cmd+=("$1"); shift; done
    shift
    client_cmd=("$@")
    python3 tests/autobahn.py --min-cases "$min" --timeout "$timeout" -p 4 "${cases[@]}" \
        server "$name-server" -- "${server_cmd[@]}" >"$logs/$name-server" 2>&1 &
    local s=$!
    python3 tests/autobahn.py --min-cases "$min" --timeout "$timeout" "${cases[@]}" \
        client "$name-client" -- "${client_cmd[@]}" >"$logs/$name-client" 2>&1 &
    local c=$!
    wait "$s"; local src=$?
    wait "$c"; local crc=$?
    cat "$logs/$name-server" "$logs/$name-client"
    [ "$src" -eq 0 ] && [ "$crc" -eq 0 ]
}

sections_1_10=()
for s in 1 2 3 4 5 6 7 9 10; do sections_1_10+=(-i "$s.*"); done
step "autobahn 1-10: core io_async server and client" both_ways core-async 301 600 \
    "${sections_1_10[@]}" -- "$core_bin" serve '127.0.0.1:{port}' \
    -- "$core_bin" autobahn 'ws://127.0.0.1:{port}'

all_sections=()
for s in 1 2 3 4 5 6 7 9 10 12 13; do all_sections+=(-i "$s.*"); done
step "autobahn 1-13: websock-tokio server and client" both_ways tokio 517 1500 \
    "${all_sections[@]}" -- "$tokio_server" '127.0.0.1:{port}' \
    -- "$tokio_client" autobahn 'ws://127.0.0.1:{port}'

echo "suite-async: $failed failed"
[ "$failed" -eq 0 ]
