#!/usr/bin/env bash
# `websock` as a tool:
#   - the client's end of input against a peer we did not write
#     (python-websockets, pinned in tests/requirements.txt) under CPU load;
#   - the built-in page and a subprotocol in Debian's chromium (headless,
#     installed here with apt-get when missing), driven by playwright-core
#     (pinned with a lock file in tests/page/); screenshots in tests/reports/;
#   - the options of `client` and `serve` and the server's log over real
#     sockets (host/tests/tool.rs, host/tests/log.rs: run here when this
#     suite is called alone, by rust-checks' `cargo test --workspace`
#     otherwise).
set -uo pipefail
standalone=${WEBSOCK_SETUP_DONE:-}
source "$(dirname "$0")/setup.sh" || exit 1
# setup.sh turns on -e; here failures are counted, and a probe that fails
# (playwright-core not yet installed in a clean clone) is an answer.
set +e
cd "$WEBSOCK_ROOT"

failed=0
run() {
    local start=$SECONDS
    echo "--- $*"
    if "$@"; then echo "--- ok ($((SECONDS - start))s): $1 ${2:-}"
    else echo "--- FAILED ($((SECONDS - start))s): $*"; failed=$((failed + 1)); fi
}

if [ -z "$standalone" ]; then
    run cargo test --quiet -p websock-host --test tool --test log
fi

echo "--- chromium (apt-get when missing)"
apt_install chromium || { echo "--- FAILED: cannot install chromium"; exit 1; }
# npm ci again unless the pinned playwright-core is what is installed.
pinned=$(node -p 'require("./tests/page/package.json").dependencies["playwright-core"]')
installed=$(node -p 'require("./tests/page/node_modules/playwright-core/package.json").version' 2>/dev/null)
if [ "$pinned" != "$installed" ]; then
    (cd tests/page && npm ci --no-audit --no-fund --loglevel=error) \
        || { echo "--- FAILED: npm ci in tests/page"; exit 1; }
fi

# 50 runs of 20 lines each against an echo server that answers a close at
# once, with a busy loop on every core for those few seconds.
run python3 tests/tool/client_linger.py "$WEBSOCK_BIN" "$WEBSOCK_VENV/bin/python" --runs 50

# The client on a pseudo-terminal: connected line, prompts, markers, Ctrl-C.
run python3 tests/tool/terminal.py "$WEBSOCK_BIN"

run env WEBSOCK_BIN="$WEBSOCK_BIN" node --test tests/page/page.test.mjs

[ "$failed" -eq 0 ]
