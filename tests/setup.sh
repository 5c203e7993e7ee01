# Sourced by tests/run.sh and by each suite: installs what the tests need,
# idempotently, and exports WEBSOCK_VENV (a venv with kosoku) and
# WEBSOCK_BIN (the release `websock` binary, built here).
set -euo pipefail
WEBSOCK_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export WEBSOCK_ROOT
export WEBSOCK_VENV="${WEBSOCK_VENV:-$WEBSOCK_ROOT/.venv}"

if [ -z "${WEBSOCK_SETUP_DONE:-}" ]; then
    # Installed again whenever requirements.txt changes (a copy is kept
    # in the venv), so an old venv gets newly pinned packages.
    if [ ! -x "$WEBSOCK_VENV/bin/kosoku" ] \
        || ! cmp -s "$WEBSOCK_ROOT/tests/requirements.txt" "$WEBSOCK_VENV/requirements.txt"; then
        [ -x "$WEBSOCK_VENV/bin/pip" ] || python3 -m venv "$WEBSOCK_VENV"
        "$WEBSOCK_VENV/bin/pip" install --quiet --disable-pip-version-check -r "$WEBSOCK_ROOT/tests/requirements.txt"
        cp "$WEBSOCK_ROOT/tests/requirements.txt" "$WEBSOCK_VENV/requirements.txt"
    fi
    installed_targets="$(rustup target list --installed)"
    for t in thumbv7em-none-eabihf wasm32-unknown-unknown wasm32-wasip1; do
        grep -qx "$t" <<<"$installed_targets" || rustup target add "$t"
    done
    (cd "$WEBSOCK_ROOT" && cargo build --release --quiet -p websock-host)
    export WEBSOCK_SETUP_DONE=1
fi
export WEBSOCK_BIN="$WEBSOCK_ROOT/target/release/websock"
