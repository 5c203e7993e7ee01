#!/usr/bin/env bash
# The host binary `websock` over ws://, judged strictly on the whole
# Autobahn suite in one run per direction: sections 1 to 10 (301 cases;
# Autobahn has no section 8) and the permessage-deflate sections 12 and 13
# (216 cases), 517 in all, with deflate on as it is by default. Four cases
# run at once each way: kosoku paces large messages, so most of a serial
# run is waiting.
#   - `websock serve` against kosoku;
#   - `websock autobahn` as the client under kosoku's fuzzingserver.
# The server serves plain connections from io_uring on Linux where the
# kernel allows it, and from epoll elsewhere; both backends drive the same
# Link (host/src/link/). The full run below is on the io_uring server
# (the default here) and, on the client side, on the epoll loop; the epoll
# server (the fallback, forced with WEBSOCK_IO=epoll) gets sections 1-10
# (seconds: 12 and 13 exercise deflate in the shared Link, which the
# io_uring run covers) and the host's socket tests run once more on it.
# The binary's own integration tests (host/tests/, real sockets) run with
# `cargo test` in tests/run.sh; this suite runs them too when called alone
# (WEBSOCK_SETUP_DONE unset), so that it proves the whole host by itself.
set -uo pipefail
standalone=${WEBSOCK_SETUP_DONE:-}
source "$(dirname "$0")/setup.sh" || exit 1
cd "$WEBSOCK_ROOT"

failed=0
run() {
    echo "--- $*"
    "$@" || { echo "--- FAILED: $*"; failed=$((failed + 1)); }
}

if [ -z "$standalone" ]; then
    run cargo test --quiet -p websock-host
fi
# tests/run.sh's cargo test runs them on the default backend (io_uring).
run env WEBSOCK_IO=epoll cargo test --quiet -p websock-host --test server --test client --test tls --test backend

cases=()
for s in 1 2 3 4 5 6 7 9 10 12 13; do cases+=(-i "$s.*"); done
# The two directions run at the same time: each is bound by one kosoku
# process, which uses one core, and the machine has two.
logs="$(mktemp -d)"
trap 'rm -rf "$logs"' EXIT
echo "--- autobahn: host-server and host-client at once"
python3 tests/autobahn.py --min-cases 517 --timeout 1500 -p 4 "${cases[@]}" \
    server host-server -- "$WEBSOCK_BIN" serve --ws '127.0.0.1:{port}' --no-wss \
    >"$logs/server" 2>&1 &
server_pid=$!
python3 tests/autobahn.py --min-cases 517 --timeout 1500 "${cases[@]}" \
    client host-client -- "$WEBSOCK_BIN" autobahn --parallel 4 --agent websock 'ws://127.0.0.1:{port}' \
    >"$logs/client" 2>&1 &
client_pid=$!
wait "$server_pid"; server_rc=$?
wait "$client_pid"; client_rc=$?
cat "$logs/server" "$logs/client"
[ "$server_rc" -eq 0 ] || { echo "--- FAILED: autobahn host-server"; failed=$((failed + 1)); }
[ "$client_rc" -eq 0 ] || { echo "--- FAILED: autobahn host-client"; failed=$((failed + 1)); }

basic=()
for s in 1 2 3 4 5 6 7 9 10; do basic+=(-i "$s.*"); done
run env WEBSOCK_IO=epoll python3 tests/autobahn.py --min-cases 301 --timeout 600 -p 4 "${basic[@]}" \
    server host-server-epoll -- "$WEBSOCK_BIN" serve --ws '127.0.0.1:{port}' --no-wss

[ "$failed" -eq 0 ]
