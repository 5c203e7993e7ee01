#!/usr/bin/env bash
# The one command that runs every websock test on a fresh machine.
# It installs what it needs (rustup targets, a venv with kosoku, and what
# each suite needs), then runs the Rust checks and every tests/suite-*.sh.
#
# Most of the run is Autobahn cases, bound by one single-threaded kosoku
# process each, so the steps run side by side: WEBSOCK_TEST_JOBS at a time
# (default 3 on two cores: a step that waits on a peer leaves its core to
# the others). Every line a step prints is shown as it comes, prefixed with
# the step's name and its elapsed seconds, so a stall is visible; the whole
# log of each step is kept under tests/out/run/.
#
#   bash tests/run.sh                 everything
#   bash tests/run.sh host tls        only the steps whose name contains one of the words
set -uo pipefail
cd "$(dirname "$0")/.."
source tests/setup.sh || exit 1
# setup.sh stops on the first error; from here failures are counted instead.
set +e

jobs_max=${WEBSOCK_TEST_JOBS:-3}
# A step that runs longer than this is stopped and counts as failed, so a
# hang cannot use up CI's time.
step_limit=${WEBSOCK_STEP_LIMIT:-2700}
logs=tests/out/run
rm -rf "$logs" && mkdir -p "$logs"

rust_checks() {
    local failed=0
    sub() {
        local name="$1" start=$SECONDS; shift
        echo "--- $name"
        if "$@"; then echo "--- $name: ok ($((SECONDS - start))s)"
        else echo "--- $name: FAILED ($((SECONDS - start))s)"; failed=1; fi
    }
    sub "cargo fmt" cargo fmt --all --check
    sub "cargo clippy" cargo clippy --workspace --all-targets --quiet -- -D warnings
    sub "cargo clippy (core, all features)" \
        cargo clippy -p websock-core --all-targets --all-features --quiet -- -D warnings
    sub "cargo test" cargo test --workspace --quiet
    # The workspace unifies features, so core is also tested alone: without
    # deflate (what embedded users build) and with it.
    sub "cargo test (core, no features)" cargo test -p websock-core --quiet
    sub "cargo test (core, deflate)" cargo test -p websock-core --features deflate --quiet
    sub "cargo test (core, async)" cargo test -p websock-core --features async --quiet
    sub "core on thumbv7em (no std, no alloc)" \
        cargo build --quiet -p websock-core --no-default-features --target thumbv7em-none-eabihf
    # The allocator-free inflater: tested alone, and built for the MCU.
    sub "cargo test (core, inflate)" cargo test -p websock-core --features inflate --quiet
    sub "core with inflate on thumbv7em (no std, no alloc)" \
        cargo build --quiet -p websock-core --no-default-features --features inflate \
        --target thumbv7em-none-eabihf
    sub "core async on thumbv7em (no std, no alloc)" \
        cargo build --quiet -p websock-core --no-default-features --features async --target thumbv7em-none-eabihf
    sub "embassy example on thumbv7em (no std, no alloc)" \
        cargo build --quiet -p websock-core --no-default-features --features async \
        --example embassy_sensor --target thumbv7em-none-eabihf
    return "$failed"
}

# The steps, longest first so that the long ones start at once.
names=()
commands=()
add() { names+=("$1"); commands+=("$2"); }
for suite in tests/suite-wasm.sh tests/suite-host.sh; do
    [ -f "$suite" ] && add "$(basename "$suite" .sh)" "bash $suite"
done
add "rust-checks" "rust_checks"
for suite in tests/suite-*.sh; do
    case "$suite" in tests/suite-wasm.sh | tests/suite-host.sh) continue ;; esac
    add "$(basename "$suite" .sh)" "bash $suite"
done

if [ $# -gt 0 ]; then
    keep_names=() keep_commands=()
    for i in "${!names[@]}"; do
        for word in "$@"; do
            if [[ "${names[$i]}" == *"$word"* ]]; then
                keep_names+=("${names[$i]}"); keep_commands+=("${commands[$i]}"); break
            fi
        done
    done
    names=("${keep_names[@]}") commands=("${keep_commands[@]}")
fi

# Runs one step with its output prefixed, and leaves its exit status and
# the CPU seconds it and its children used beside its log.
run_step() {
    local name="$1" command="$2" log="$logs/$1.log" start=$SECONDS
    {
        (
            timeout -k 30 "$step_limit" bash -c "$(declare -f rust_checks); $command" 2>&1
            rc=$?
            times >"$logs/$name.cpu" # not in a pipe: a forked `times` has no children
            exit "$rc"
        )
        echo $? >"$logs/$name.rc"
    } | while IFS= read -r line; do
        printf '[%s %ds] %s\n' "$name" $((SECONDS - start)) "$line"
        printf '%s\n' "$line" >>"$log"
    done
}

cpu_seconds() {
    # `times` prints "0m1.500s 0m0.250s": user and system time of children.
    awk 'END { t = 0; for (i = 1; i <= 2; i++) { split($i, a, /m|s/); t += a[1] * 60 + a[2] }; printf "%d", t }' "$1"
}

declare -A started=() pid_name=()
passed=0
failed=0
failures=()
finish() {
    local name="$1" rc cpu
    rc=$(cat "$logs/$name.rc" 2>/dev/null || echo 1)
    cpu=$(cpu_seconds "$logs/$name.cpu" 2>/dev/null || echo "?")
    if [ "$rc" -eq 0 ]; then
        passed=$((passed + 1))
        echo "=== $name: ok ($((SECONDS - ${started[$name]}))s, ${cpu}s CPU) [total $((SECONDS))s]"
    else
        failed=$((failed + 1)); failures+=("$name")
        [ "$rc" -eq 124 ] && echo "=== $name: stopped after ${step_limit}s"
        echo "=== $name: FAILED, exit $rc ($((SECONDS - ${started[$name]}))s, ${cpu}s CPU) [total $((SECONDS))s]"
    fi
}

next=0
running=0
while [ "$next" -lt "${#names[@]}" ] || [ "$running" -gt 0 ]; do
    while [ "$running" -lt "$jobs_max" ] && [ "$next" -lt "${#names[@]}" ]; do
        name="${names[$next]}"
        echo "=== $name: started [total $((SECONDS))s]"
        started[$name]=$SECONDS
        run_step "$name" "${commands[$next]}" &
        pid_name[$!]="$name"
        next=$((next + 1)) running=$((running + 1))
    done
    wait -n -p done_pid
    name="${pid_name[$done_pid]:-}"
    [ -n "$name" ] || continue
    unset "pid_name[$done_pid]"
    running=$((running - 1))
    finish "$name"
done

for f in "${failures[@]}"; do echo "FAILED: $f (whole log: $logs/$f.log)"; done
echo "steps: $passed passed, $failed failed, ${SECONDS}s"
[ "$failed" -eq 0 ]
