#!/usr/bin/env bash
# Footprint: one complete server session on a Cortex-M4 (QEMU) and in
# wasm32, every figure held to its budget in core/footprint/budget (see
# tests/footprint.sh). Installs what it needs: qemu-system-arm (apt_install),
# the rustup targets, and wasm-opt (npm's binaryen, pinned in footprint.sh).
set -uo pipefail
cd "$(dirname "$0")/.."
source tests/setup.sh || exit 1 # apt_install
set +e

failed=0
step() {
    local name="$1"
    shift
    local start=$SECONDS
    echo "--- $name"
    if "$@"; then
        echo "--- ok ($((SECONDS - start))s)"
    else
        failed=1
        echo "--- FAILED: $name ($((SECONDS - start))s)"
    fi
}

install() {
    if ! command -v qemu-system-arm >/dev/null; then
        apt_install qemu-system-arm || return 1
    fi
    local installed
    installed="$(rustup target list --installed)"
    for t in thumbv7em-none-eabihf wasm32-unknown-unknown; do
        grep -qx "$t" <<<"$installed" || rustup target add "$t" || return 1
    done
}

step "install qemu-system-arm and targets" install
step "footprint within budget (tests/footprint.sh)" bash tests/footprint.sh
exit $failed
