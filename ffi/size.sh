#!/usr/bin/env bash
# Prints the code size of libwebsock as a firmware would link it, and of
# the wasm32-wasip1 module.
#
# thumbv7em-none-eabihf: builds the staticlib without std (as
# `--no-default-features`), then links it with rust-lld, keeping every
# exported websock_* function as a root and dropping unreachable sections
# (--gc-sections), which is what a C program calling the whole API pulls
# in; llvm-size reports the result. OPT_LEVEL (default: the release
# profile's) picks the optimisation level, e.g. OPT_LEVEL=s.
#
# wasm32-wasip1: the release module as built, and stripped of debug info
# and names (llvm-strip), which is what a host loads.
set -euo pipefail
cd "$(dirname "$0")/.."
target=thumbv7em-none-eabihf
env=()
dir=target
if [ -n "${OPT_LEVEL:-}" ]; then
    env=(CARGO_PROFILE_RELEASE_OPT_LEVEL="$OPT_LEVEL")
    dir=target/size-opt-$OPT_LEVEL
fi
env "${env[@]}" cargo rustc --quiet --release -p websock-ffi --target "$target" \
    --no-default-features --crate-type staticlib --target-dir "$dir"
lib="$dir/$target/release/libwebsock.a"
lld="$(rustc --print sysroot)/lib/rustlib/$(rustc -vV | sed -n 's/^host: //p')/bin/rust-lld"
roots=()
while read -r sym; do roots+=("--undefined=$sym"); done < <(llvm-nm --defined-only "$lib" 2>/dev/null |
    awk '$2 == "T" && $3 ~ /^websock_/ {print $3}' | sort -u)
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
"$lld" -flavor gnu --gc-sections -e 0 "${roots[@]}" "$lib" -o "$out/linked.elf"
echo "$target, opt-level ${OPT_LEVEL:-release default}, ${#roots[@]} exported functions linked:"
llvm-size -A "$out/linked.elf" | awk '$1 ~ /^\.(text|rodata|data|bss|ARM\.exidx)$/'
llvm-size "$out/linked.elf"

env "${env[@]}" cargo build --quiet --release -p websock-ffi --target wasm32-wasip1 --target-dir "$dir"
wasm="$dir/wasm32-wasip1/release/websock.wasm"
llvm-strip --strip-all -o "$out/websock.wasm" "$wasm"
echo "wasm32-wasip1: $(stat -c %s "$wasm") bytes as built, $(stat -c %s "$out/websock.wasm") stripped"
