#!/usr/bin/env bash
# The one command that runs every websock test on a fresh machine.
# It installs what it needs (rustup targets, a venv with kosoku, and what
# each suite needs), then runs the Rust checks and every tests/suite-*.sh.
set -uo pipefail
cd "$(dirname "$0")/.."
source tests/setup.sh || exit 1

passed=0
failed=0
failures=()
step() {
    local name="$1"; shift
    echo "=== $name"
    local start=$SECONDS
    if "$@"; then
        passed=$((passed + 1)); echo "=== $name: ok ($((SECONDS - start))s)"
    else
        failed=$((failed + 1)); failures+=("$name"); echo "=== $name: FAILED ($((SECONDS - start))s)"
    fi
}

step "cargo fmt" cargo fmt --all --check
step "cargo clippy" cargo clippy --workspace --all-targets --quiet -- -D warnings
step "cargo clippy (core, all features)" cargo clippy -p websock-core --all-targets --all-features --quiet -- -D warnings
step "cargo test" cargo test --workspace --quiet
# The workspace unifies features, so core is also tested alone: without
# deflate (what embedded users build) and with it.
step "cargo test (core, no features)" cargo test -p websock-core --quiet
step "cargo test (core, deflate)" cargo test -p websock-core --features deflate --quiet
step "core on thumbv7em (no std, no alloc)" \
    cargo build --quiet -p websock-core --no-default-features --target thumbv7em-none-eabihf
for suite in tests/suite-*.sh; do
    step "$suite" bash "$suite"
done

for f in "${failures[@]}"; do echo "FAILED: $f"; done
echo "steps: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
