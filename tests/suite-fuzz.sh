#!/usr/bin/env bash
# Coverage-guided fuzzing (cargo-fuzz, libFuzzer, AddressSanitizer) of every
# parser and entry point: see fuzz/fuzz_targets/. Each target first replays
# its committed corpus (fuzz/corpus/TARGET: every input must pass the
# target's invariants), then fuzzes for WEBSOCK_FUZZ_SECONDS (default 30),
# two targets at a time (two cores). New inputs go to a scratch copy, so the
# committed corpus only changes when someone minimises into it (see
# fuzz/README.md). A crash leaves its input under fuzz/artifacts/TARGET/.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root/fuzz"
seconds=${WEBSOCK_FUZZ_SECONDS:-30}
start=$SECONDS
step() { echo "[$((SECONDS - start))s] $*"; }

# cargo-fuzz at a pinned version, built once into a cache folder.
fuzz_version=0.13.2
cache="$HOME/.cache/websock/cargo-fuzz-$fuzz_version"
if [ ! -x "$cache/bin/cargo-fuzz" ]; then
    step "installing cargo-fuzz $fuzz_version"
    cargo install --quiet --locked cargo-fuzz --version "$fuzz_version" --root "$cache"
fi
export PATH="$cache/bin:$PATH"
# libFuzzer needs nightly (-Z sanitizer); this machine has one installed.
rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal

targets=(server_receive client_receive accept read_response deflate_negotiate ffi wasm_session)
step "building ${#targets[@]} targets"
cargo +nightly fuzz build 2>&1 | grep -Ev '^\s+(Compiling|Downloaded|Downloading)' || true
bin="target/x86_64-unknown-linux-gnu/release"
for t in "${targets[@]}"; do [ -x "$bin/$t" ] || { step "FAILED: $t did not build"; exit 1; }; done

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# One target: replay, then fuzz from a copy of the corpus.
run() {
    local t="$1" log="$work/$1.log" n
    mkdir -p "$work/$t" "artifacts/$t"
    n=$(find "corpus/$t" -type f | wc -l)
    if ! "$bin/$t" -runs=0 -artifact_prefix="artifacts/$t/" "corpus/$t" >"$log" 2>&1; then
        step "FAILED: $t corpus replay ($n inputs)"; tail -30 "$log"; return 1
    fi
    cp -r "corpus/$t/." "$work/$t/"
    if ! "$bin/$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="artifacts/$t/" "$work/$t" >>"$log" 2>&1; then
        step "FAILED: $t fuzzing"; grep -E 'panicked|ERROR|Test unit' -A3 "$log" | head -30; return 1
    fi
    local execs cov
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')
    cov=$(grep -E '^#[0-9]+\s+DONE' "$log" | grep -o 'cov: [0-9]*' | tail -1)
    step "ok: $t: replayed $n inputs, then ${seconds}s: $execs executions, $cov"
}

failed=0
pids=()
for t in "${targets[@]}"; do
    run "$t" &
    pids+=($!)
    if [ ${#pids[@]} -eq 2 ]; then
        wait "${pids[0]}" || failed=1
        pids=("${pids[1]}")
    fi
done
for p in "${pids[@]}"; do wait "$p" || failed=1; done
step "done"
exit "$failed"
