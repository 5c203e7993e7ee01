#!/usr/bin/env bash
# `websock` as a tool: the client's end of input against a peer we did not
# write (python-websockets, pinned in tests/requirements.txt) under CPU
# load, and the options of `client` and `serve` over real sockets
# (host/tests/tool.rs; run here when this suite is called alone, and by
# rust-checks' `cargo test --workspace` otherwise).
set -uo pipefail
standalone=${WEBSOCK_SETUP_DONE:-}
source "$(dirname "$0")/setup.sh" || exit 1
cd "$WEBSOCK_ROOT"

failed=0
run() {
    local start=$SECONDS
    echo "--- $*"
    if "$@"; then echo "--- ok ($((SECONDS - start))s): $1 ${2:-}"
    else echo "--- FAILED ($((SECONDS - start))s): $*"; failed=$((failed + 1)); fi
}

if [ -z "$standalone" ]; then
    run cargo test --quiet -p websock-host --test tool
fi

# 50 runs of 20 lines each against an echo server that answers a close at
# once, with a busy loop on every core for those few seconds.
run python3 tests/tool/client_linger.py "$WEBSOCK_BIN" "$WEBSOCK_VENV/bin/python" --runs 50

[ "$failed" -eq 0 ]
