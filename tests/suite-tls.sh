#!/usr/bin/env bash
# wss:// in the host binary, proven against a TLS implementation we did not
# write (stunnel, i.e. OpenSSL), judged strictly on the Autobahn cases of
# sections 1 to 10 (301 cases; Autobahn has no section 8):
#   - server: kosoku -> stunnel (client mode, checks our certificate)
#             -> `websock serve --wss` with its self-signed default;
#   - client: `websock autobahn --ca CA wss://localhost:...` -> stunnel
#             (server mode, certificate from a CA the test makes) -> kosoku.
# Then the TLS integration tests (host/tests/tls.rs): untrusted, expired and
# mismatched certificates, --ca and --insecure, plain HTTP on the TLS port
# and stalled handshakes next to a connection that keeps echoing.
# stunnel4 is installed with apt-get when missing; the test never skips.
set -uo pipefail
source "$(dirname "$0")/setup.sh" || exit 1
cd "$WEBSOCK_ROOT"

if ! command -v stunnel4 >/dev/null && ! command -v stunnel >/dev/null; then
    echo "--- installing stunnel4"
    apt_install stunnel4 || { echo "--- FAILED: cannot install stunnel4"; exit 1; }
fi

failed=0
run() {
    echo "--- $*"
    "$@" || { echo "--- FAILED: $*"; failed=$((failed + 1)); }
}

run cargo test --quiet -p websock-host --test tls

cases=()
for s in 1 2 3 4 5 6 7 9 10; do cases+=(-i "$s.*"); done
reports="$WEBSOCK_ROOT/tests/reports"
mkdir -p "$reports/host-tls-server" "$reports/host-tls-client"
run python3 tests/autobahn.py --min-cases 301 --timeout 600 -p 2 "${cases[@]}" \
    server host-tls-server -- \
    python3 tests/tls/stunnel_chain.py server --port '{port}' \
    --log "$reports/host-tls-server/stunnel.log" -- \
    "$WEBSOCK_BIN" serve --no-ws --wss '127.0.0.1:{tls_port}'
run python3 tests/autobahn.py --min-cases 301 --timeout 600 "${cases[@]}" \
    client host-tls-client -- \
    python3 tests/tls/stunnel_chain.py client --port '{port}' \
    --log "$reports/host-tls-client/stunnel.log" -- \
    "$WEBSOCK_BIN" autobahn --agent websock-tls --ca '{ca}' 'wss://localhost:{tls_port}'

[ "$failed" -eq 0 ]
