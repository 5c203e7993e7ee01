#!/usr/bin/env bash
# Builds the websock-wasm package into wasm/pkg/: the crate for
# wasm32-unknown-unknown in release mode, bound by wasm-bindgen-cli at
# exactly the version of the wasm-bindgen crate in Cargo.lock (the CLI
# refuses modules from another version), plus a package.json so that Node
# imports it as an ES module with no bundler.
#
#   wasm/build.sh               with permessage-deflate, into wasm/pkg/
#   wasm/build.sh --no-deflate  without it (a smaller module), into
#                               wasm/pkg-no-deflate/
#   wasm/build.sh --no-simd     (either way) without WebAssembly SIMD
#
# The module uses WebAssembly SIMD (simd128) by default: zlib-rs's match
# finder and UTF-8 validation use it, and compression runs about a quarter
# faster. Every current engine has it (Node 16.4+, Deno, Chrome 91+,
# Firefox 89+, Safari 16.4+); --no-simd builds for older ones.
#
# The CLI is installed on first use into a cache folder outside the repo
# (WEBSOCK_CACHE, default ${XDG_CACHE_HOME:-$HOME/.cache}/websock) and
# reused while the version matches. It takes a few minutes to compile.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

features=()
pkg="$root/wasm/pkg"
simd=1
for arg in "$@"; do
    case "$arg" in
        --no-deflate)
            features=(--no-default-features)
            pkg="$root/wasm/pkg-no-deflate"
            ;;
        --no-simd) simd=0 ;;
        *)
            echo "usage: wasm/build.sh [--no-deflate] [--no-simd]" >&2
            exit 2
            ;;
    esac
done
rustflags=""
if [ "$simd" -eq 1 ]; then rustflags="-C target-feature=+simd128"; fi

version="$(awk '$0 == "name = \"wasm-bindgen\"" { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)"
if [ -z "$version" ]; then
    echo "build.sh: no wasm-bindgen in Cargo.lock (run cargo build -p websock-wasm once)" >&2
    exit 1
fi
cache="${WEBSOCK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/websock}"
cli_root="$cache/wasm-bindgen-cli-$version"
bindgen="$cli_root/bin/wasm-bindgen"
if [ "$("$bindgen" --version 2>/dev/null || true)" != "wasm-bindgen $version" ]; then
    echo "build.sh: installing wasm-bindgen-cli $version into $cli_root (a few minutes)" >&2
    # Not --locked: the CLI's own lock file names a crate version the
    # registry no longer serves, so a locked install cannot resolve.
    cargo install --quiet wasm-bindgen-cli --version "=$version" --root "$cli_root"
fi

rustup target list --installed | grep -qx wasm32-unknown-unknown ||
    rustup target add wasm32-unknown-unknown

# Size and speed matter more than debug info here; these settings apply to
# this wasm32 build only, whose artifacts nothing else shares.
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="$rustflags" \
CARGO_PROFILE_RELEASE_DEBUG=0 \
CARGO_PROFILE_RELEASE_LTO=true \
CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1 \
    cargo build --quiet --release --lib -p websock-wasm --target wasm32-unknown-unknown ${features[@]+"${features[@]}"}

target_dir="$(cargo metadata --format-version 1 --no-deps | node -e \
    'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).target_directory))')"
rm -rf "$pkg"
"$bindgen" --target experimental-nodejs-module --out-dir "$pkg" --out-name websock \
    "$target_dir/wasm32-unknown-unknown/release/websock_wasm.wasm"

crate_version="$(cargo metadata --format-version 1 --no-deps | node -e '
let s = "";
process.stdin.on("data", (d) => (s += d)).on("end", () => {
  const p = JSON.parse(s).packages.find((p) => p.name === "websock-wasm");
  console.log(p.version);
});')"
cat >"$pkg/package.json" <<EOF
{
  "name": "websock-wasm",
  "version": "$crate_version",
  "description": "The websock WebSocket (RFC 6455) engine for JavaScript hosts, in WebAssembly",
  "license": "MIT OR Apache-2.0",
  "type": "module",
  "main": "./websock.js",
  "types": "./websock.d.ts",
  "exports": {
    ".": {
      "types": "./websock.d.ts",
      "default": "./websock.js"
    }
  },
  "files": ["websock.js", "websock.d.ts", "websock_bg.wasm", "websock_bg.wasm.d.ts"],
  "sideEffects": false
}
EOF

wasm="$pkg/websock_bg.wasm"
echo "build.sh: $wasm: $(wc -c <"$wasm") bytes, $(gzip -9 -c "$wasm" | wc -c) gzipped"
