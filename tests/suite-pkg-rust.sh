#!/usr/bin/env bash
# The crates as crates.io and docs.rs see them: complete metadata,
# `cargo package` (which builds the packaged crate alone; README and both
# license texts must be in it), docs without a warning the way docs.rs
# builds them, and the declared rust-version checked with that very
# toolchain (installed by rustup, minimal profile).
# Only websock-core is published; ffi and host say publish = false.
# Run by tests/run.sh; runs alone too.
set -uo pipefail
cd "$(dirname "$0")/.."
source tests/setup.sh || exit 1
set +e

OUT="$PWD/tests/out/pkg-rust"
mkdir -p "$OUT"
PUBLISHED=(websock-core)
# The C library (shipped by `make install`) and the project's own binary.
NOT_PUBLISHED=(websock-ffi websock-host)

passed=0
failed=0
failures=()
step() {
    local name="$1"
    shift
    local start=$SECONDS
    echo "--- $name"
    if "$@"; then
        passed=$((passed + 1))
        echo "--- ok ($((SECONDS - start))s)"
    else
        failed=$((failed + 1))
        failures+=("$name")
        echo "--- FAILED: $name ($((SECONDS - start))s)"
    fi
}

cargo metadata --format-version 1 --no-deps >"$OUT/metadata.json" || exit 1
# A field of a workspace package from cargo's view of the manifests.
field() {
    python3 - "$OUT/metadata.json" "$1" "$2" <<'PY'
import json, sys
meta = json.load(open(sys.argv[1]))
pkg = next(p for p in meta["packages"] if p["name"] == sys.argv[2])
value = pkg
for key in sys.argv[3].split("."):
    value = value.get(key) if isinstance(value, dict) else None
print(json.dumps(value) if isinstance(value, (list, dict)) else ("" if value is None else value))
PY
}

metadata_complete() {
    local crate key value bad=0
    for crate in "${PUBLISHED[@]}"; do
        for key in description license repository readme rust_version keywords categories \
            metadata.docs.rs.all-features; do
            value="$(field "$crate" "$key")"
            case "$value" in "" | "[]" | "false" | "False") echo "$crate: no $key"; bad=1 ;; esac
        done
        [ "$(field "$crate" publish)" = "[]" ] && { echo "$crate: publish = false"; bad=1; }
    done
    for crate in "${NOT_PUBLISHED[@]}"; do
        [ "$(field "$crate" publish)" = "[]" ] || { echo "$crate: not marked publish = false"; bad=1; }
    done
    return "$bad"
}

# Packs each crate and builds it from the tarball, offline from the
# workspace; any warning (missing metadata, files left out) fails.
package() {
    local crate
    for crate in "${PUBLISHED[@]}"; do
        # --allow-dirty: a developer's uncommitted work; CI's clone is clean.
        cargo package --quiet --allow-dirty -p "$crate" >"$OUT/package-$crate.log" 2>&1 ||
            { cat "$OUT/package-$crate.log"; return 1; }
        if grep -i 'warning' "$OUT/package-$crate.log"; then return 1; fi
        cargo package --quiet --allow-dirty --list -p "$crate" >"$OUT/package-$crate.list" || return 1
        for f in README.md LICENSE-MIT LICENSE-APACHE; do
            grep -qx "$f" "$OUT/package-$crate.list" || { echo "$crate: $f not packaged"; return 1; }
        done
        echo "$crate: $(wc -l <"$OUT/package-$crate.list") files, $(stat -c %s target/package/"$crate"-*.crate | tail -n 1) bytes"
    done
}

# docs.rs builds with the features its metadata names (all of them here).
docs_rs() {
    local crate
    for crate in "${PUBLISHED[@]}"; do
        [ "$(field "$crate" metadata.docs.rs.all-features)" = True ] ||
            [ "$(field "$crate" metadata.docs.rs.all-features)" = true ] || { echo "$crate: docs.rs would not build every feature"; return 1; }
        RUSTDOCFLAGS="-D warnings" cargo doc --quiet --no-deps -p "$crate" --all-features || return 1
        RUSTDOCFLAGS="-D warnings" cargo doc --quiet --no-deps -p "$crate" --no-default-features || return 1
    done
}

workspace_docs() {
    RUSTDOCFLAGS="-D warnings" cargo doc --quiet --no-deps --workspace 2>&1 | tee "$OUT/doc.log"
    [ "${PIPESTATUS[0]}" -eq 0 ] && ! grep -q 'warning' "$OUT/doc.log"
}

msrv="$(field websock-core rust_version)"
msrv_toolchain() {
    rustup toolchain list | grep -q "^$msrv-" ||
        rustup toolchain install "$msrv" --profile minimal >/dev/null || return 1
    rustup target list --toolchain "$msrv" --installed | grep -qx thumbv7em-none-eabihf ||
        rustup target add --toolchain "$msrv" thumbv7em-none-eabihf >/dev/null
}

# With Cargo.lock's versions; a target folder of its own so that the
# current toolchain's builds are not thrown away. Every feature but
# `async`: through embassy-sync it needs heapless 0.9, which needs Rust
# 1.88 (0.9.1 claims 1.85 but does not build with it); core's README
# says so. The async feature is built by the current toolchain only.
msrv_check() {
    local check=(cargo "+$msrv" check --quiet --target-dir target/msrv)
    "${check[@]}" -p websock-core &&
        "${check[@]}" -p websock-core --features std &&
        "${check[@]}" -p websock-core --features std,deflate,inflate &&
        "${check[@]}" -p websock-core --target thumbv7em-none-eabihf &&
        "${check[@]}" -p websock-ffi &&
        "${check[@]}" -p websock-ffi --no-default-features --target thumbv7em-none-eabihf
}

step "metadata of ${PUBLISHED[*]}; publish = false on ${NOT_PUBLISHED[*]}" metadata_complete
step "cargo package, built from the tarball" package
step "docs as docs.rs builds them (all features), and without features, -D warnings" docs_rs
step "cargo doc --workspace, -D warnings" workspace_docs
step "Rust $msrv toolchain (the declared rust-version)" msrv_toolchain
step "cargo +$msrv check: core (no features, std, std+deflate+inflate; thumbv7em), ffi (default; thumbv7em)" msrv_check

for f in "${failures[@]}"; do echo "FAILED: $f"; done
echo "suite-pkg-rust: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
