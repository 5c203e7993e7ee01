#!/usr/bin/env bash
# What one complete server session costs on a microcontroller and in wasm32:
# builds the probe in core/footprint (see its src/lib.rs for the session),
# runs it under QEMU (mps2-an386, a Cortex-M4F) to measure each phase's
# stack peak and check the transcript, and prints .text, .rodata, the
# connection state and the wasm sizes; then the same on the Cortex-M4 for
# the probe's `inflate` feature (websock-core's allocator-free
# permessage-deflate receive path, with a compressed message in the
# session). Fails, with the numbers, when a figure is over its budget in
# core/footprint/budget.
#
#   bash tests/footprint.sh            websock at opt-level z, checked against the budget
#   bash tests/footprint.sh --compare  also opt-levels s and 3, and embedded-websocket
#                                      0.9.5 running the same session (README table)
#
# Needs: qemu-system-arm, readelf, the thumbv7em-none-eabihf and wasm32-unknown-unknown
# targets, node and npx (wasm-opt from npm's binaryen, pinned below).
# tests/suite-footprint.sh installs them and runs this.
set -uo pipefail
cd "$(dirname "$0")/../core/footprint" || exit 1

BINARYEN=binaryen@132.0.0
# What a size-minded wasm user runs on the module rustc made, and what the
# wasm figures are measured after: -Oz until it stops shrinking, then the
# two custom sections the toolchain leaves that no runtime reads (the
# producers' names, and the target features, which wasm-opt reads first
# to know it may use bulk memory; so they go after the optimization).
WASM_OPT=(-Oz --converge --strip-producers --strip-target-features)
THUMB=thumbv7em-none-eabihf
WASM=wasm32-unknown-unknown
compare=false
[ "${1:-}" = "--compare" ] && compare=true

fail() {
    echo "footprint: $*" >&2
    exit 1
}

# build ENGINE PROFILE TARGET: builds the probe; prints the artifact's path.
build() {
    local engine=$1 profile=$2 target=$3 dir=target/$1
    local features=(--no-default-features --features "$engine")
    # wasm32 too builds the binary (not a cdylib, which keeps panic data:
    # see src/main.rs), whose exports are the library's session.
    cargo build --quiet --locked --profile "$profile" --target "$target" --target-dir "$dir" \
        "${features[@]}" --bin probe >&2 || return 1
    if [ "$target" = "$WASM" ]; then
        echo "$dir/$target/$profile/probe.wasm"
    else
        echo "$dir/$target/$profile/probe"
    fi
}

# section FILE NAME: bytes of an ELF section (binutils' readelf reads any ELF).
section() {
    local hex
    hex=$(readelf -SW "$1" | sed 's/^ *\[ *[0-9]*\] *//' | awk -v s="$2" '$1 == s { print $5 }')
    [ -n "$hex" ] && echo $((16#$hex))
}

# Panic locations name source files by path; map the paths that depend on
# where the checkout and cargo's home are, so the figures do not.
core_dir=$(cd .. && pwd)
export RUSTFLAGS="--remap-path-prefix=$core_dir=websock-core --remap-path-prefix=${CARGO_HOME:-$HOME/.cargo}=cargo"

declare -A fig

# measure_mcu ENGINE: fills fig[ENGINE.*] from the opt-level z Cortex-M
# build: its sections, and the stack and state its session printed.
measure_mcu() {
    local engine=$1 elf log
    elf=$(build "$engine" release "$THUMB") || fail "$engine: the Cortex-M build failed"
    fig[$engine.text]=$(section "$elf" .text)
    fig[$engine.rodata]=$(section "$elf" .rodata)
    log=$(timeout 30 qemu-system-arm -M mps2-an386 -nographic -monitor none \
        -semihosting-config enable=on,target=native -kernel "$elf" 2>&1)
    local rc=$?
    if [ $rc -ne 0 ] || ! grep -qx 'transcript ok' <<<"$log"; then
        echo "$log" >&2
        fail "$engine: the probe's session failed under QEMU (exit $rc)"
    fi
    for k in state stack_accept stack_messages stack_close; do
        fig[$engine.$k]=$(awk -v k="$k" '$1 == k { print $2 }' <<<"$log")
        [ -n "${fig[$engine.$k]}" ] || fail "$engine: the probe printed no $k"
    done
}

# measure ENGINE: fills fig[ENGINE.*] from the opt-level z builds.
measure() {
    local engine=$1 elf wasm
    measure_mcu "$engine"
    wasm=$(build "$engine" release "$WASM") || fail "$engine: the wasm32 build failed"
    npx --yes -p "$BINARYEN" wasm-opt "${WASM_OPT[@]}" "$wasm" -o "target/$engine/probe.wasm" ||
        fail "$engine: wasm-opt failed"
    # The optimised module must still run the session right.
    node -e '
        const m = new WebAssembly.Module(require("fs").readFileSync(process.argv[1]));
        const r = new WebAssembly.Instance(m).exports.session();
        if (r !== 0) { console.error("wasm session failed in phase", r); process.exit(1); }
    ' "target/$engine/probe.wasm" || fail "$engine: the wasm32 session failed under node"
    fig[$engine.wasm]=$(wc -c <"target/$engine/probe.wasm")
    fig[$engine.wasm_gz]=$(gzip -9 -n -c "target/$engine/probe.wasm" | wc -c)
    if $compare; then
        local p
        for p in s 3; do
            elf=$(build "$engine" "release-$p" "$THUMB") || fail "$engine: opt-level $p build failed"
            fig[$engine.text_$p]=$(section "$elf" .text)
        done
    fi
}

measure websock
measure_mcu inflate
for k in text rodata state stack_accept stack_messages stack_close; do
    fig[websock.inflate_$k]=${fig[inflate.$k]}
done
$compare && measure ews

row() { # label key goal
    local line
    line=$(printf '| %-42s | %8s |' "$1" "${fig[websock.$2]}")
    $compare && line+=$(printf ' %8s |' "${fig[ews.$2]}")
    printf '%s %8s | %8s |\n' "$line" "${budget[$2]:-}" "$3"
}

declare -A budget
while read -r key value _; do
    case "$key" in '' | '#'*) continue ;; esac
    budget[$key]=$value
done <budget

head='| figure (thumbv7em opt z unless said)       |  websock |'
$compare && head+=' embedded-websocket 0.9.5 |'
echo "$head   budget |     goal |"
row ".text" text 10240
$compare && row ".text, opt-level s" text_s "" && row ".text, opt-level 3" text_3 ""
row ".rodata" rodata ""
row "connection state (size_of)" state 128
row "stack peak: accept" stack_accept 1024
row "stack peak: messages" stack_messages 1024
row "stack peak: close" stack_close 1024
row "wasm32 after wasm-opt (WASM_OPT): raw" wasm 12288
row "wasm32 after wasm-opt (WASM_OPT): gzip -9" wasm_gz 6144
echo
echo '| with the inflate receive path (feature inflate) |    bytes |   budget | more than without |'
for k in text rodata state stack_accept stack_messages stack_close; do
    printf '| %-47s | %8s | %8s | %17s |\n' "$k" "${fig[inflate.$k]}" "${budget[inflate_$k]:-}" \
        "$((fig[inflate.$k] - fig[websock.$k]))"
done

over=0
for key in "${!budget[@]}"; do
    value=${fig[websock.$key]:-}
    [ -n "$value" ] || fail "no figure for budget key $key"
    if [ "$value" -gt "${budget[$key]}" ]; then
        echo "footprint: $key is $value bytes, over its budget of ${budget[$key]}" >&2
        over=1
    fi
done
[ $over -eq 0 ] || fail "over budget (core/footprint/budget)"
echo "footprint: every figure within core/footprint/budget"
