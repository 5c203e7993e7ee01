#!/usr/bin/env bash
# Writes the C header generated from this crate by cbindgen (pinned below)
# to $1, default include/websock.h. Installs that cbindgen into a cache
# folder outside the repository on first use and reuses it afterwards.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${1:-$root/include/websock.h}"
version=0.29.4
prefix="${XDG_CACHE_HOME:-$HOME/.cache}/websock/cbindgen-$version"
cbindgen="$prefix/bin/cbindgen"
if [ ! -x "$cbindgen" ] || [ "$("$cbindgen" --version)" != "cbindgen $version" ]; then
    mkdir -p "$prefix"
    # --locked needs every crate of cbindgen's lock file in the registry;
    # fall back to a fresh resolution when one is missing.
    cargo install --quiet cbindgen --version "$version" --locked --root "$prefix" ||
        cargo install --quiet cbindgen --version "$version" --root "$prefix"
fi
cd "$root"
"$cbindgen" --quiet --config ffi/cbindgen.toml --crate websock-ffi --output "$out" ffi
