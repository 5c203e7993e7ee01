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

# Installs Debian packages that are missing. Suites run side by side and
# dpkg takes one client at a time, so installs queue on a lock file here
# (and wait for dpkg's own lock) instead of failing on it.
apt_install() {
    local missing=()
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    (
        flock -w 900 9 || exit 1
        $sudo apt-get -o DPkg::Lock::Timeout=600 update -qq &&
            DEBIAN_FRONTEND=noninteractive $sudo apt-get -o DPkg::Lock::Timeout=600 \
                install -y -qq "${missing[@]}" >/dev/null
    ) 9>"${TMPDIR:-/tmp}/websock-apt.lock"
}

# The Rust checks run the server under valgrind (host/tests/server.rs), as
# suite-c does the C examples.
command -v valgrind >/dev/null || apt_install valgrind
