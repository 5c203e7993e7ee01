#!/usr/bin/env bash
# `websock serve` under heavy load and against hostile peers:
#   - 10,000 connections open at once (`websock load`), each sending
#     messages that must come back exactly once, byte for byte, while a
#     second group measures round trips; the server's memory is printed
#     (figures, not assertions: see the README);
#   - the faults of host/tests/faults.rs, each with a well-behaved client
#     echoing alongside: slowloris handshakes, peers that stop reading,
#     resets mid-message and mid-close, stalled TLS handshakes, silent
#     peers (idle timeout), SIGTERM with 1,000 connections mid-message.
# The one-byte-per-write transport tests are unit tests of the link
# (host/src/link/trickle_tests.rs), run with every `cargo test`.
#
# Every connection is a descriptor here and one in the server, so the
# open-file limit is raised to the hard limit first.
set -uo pipefail
source "$(dirname "$0")/setup.sh" || exit 1
cd "$WEBSOCK_ROOT"
start=$SECONDS
failed=0
say() { echo "[$((SECONDS - start))s] $*"; }

connections=${WEBSOCK_LOAD_CONNECTIONS:-10000}
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt $((connections + 500)) ]; then
    say "FAILED: the open-file limit is $(ulimit -n) (hard $(ulimit -Hn)); $connections connections need $((connections + 500))"
    exit 1
fi

work="$(mktemp -d)"
server_pid=""
cleanup() {
    [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

# --- 10,000 connections ----------------------------------------------------
t=$SECONDS
say "--- load: $connections connections at once"
"$WEBSOCK_BIN" serve --ws 127.0.0.1:0 --no-wss --workers 2 >"$work/serve.out" 2>"$work/serve.err" &
server_pid=$!
url=""
for _ in $(seq 100); do
    url="$(grep -o -m1 'ws://[0-9.:]*' "$work/serve.out" | head -n1 || true)"
    [ -n "$url" ] && break
    sleep 0.1
done
if [ -z "$url" ]; then
    say "--- load: FAILED: the server did not start"; cat "$work/serve.err"; failed=$((failed + 1))
else
    # shellcheck disable=SC2086
    if timeout 300 "$WEBSOCK_BIN" load --connections "$connections" --messages 20 --size 64 \
        --latency-connections 50 --server-pid "$server_pid" "$url/"; then
        load_ok=1
    else
        load_ok=0
    fi
    kill -TERM "$server_pid"
    if ! timeout 15 tail --pid="$server_pid" -f /dev/null; then
        say "--- load: the server did not exit after SIGTERM"; load_ok=0
    fi
    wait "$server_pid"; rc=$?
    server_pid=""
    [ "$rc" -eq 0 ] || { say "--- load: the server exited with $rc"; load_ok=0; }
    if [ "$load_ok" -eq 1 ]; then
        say "--- load: ok ($((SECONDS - t))s)"
    else
        say "--- load: FAILED ($((SECONDS - t))s)"; cat "$work/serve.err"; failed=$((failed + 1))
    fi
fi

# --- faults, side by side (most of their time is waiting for timeouts) ------
t=$SECONDS
say "--- faults: building"
if ! cargo test --release --quiet -p websock-host --test faults --no-run 2>"$work/build.log"; then
    cat "$work/build.log"; say "--- faults: FAILED to build"; exit 1
fi
tests=(
    slowloris_handshakes_are_cut_by_the_handshake_timeout
    peers_that_stop_reading_are_held_to_the_limit_then_dropped
    peers_that_reset_mid_message_and_mid_close_leave_no_trace
    stalled_tls_handshakes_are_cut_by_the_handshake_timeout
    silent_peers_are_closed_and_live_ones_kept_by_pings
    sigterm_mid_message_completes_every_message_then_closes_with_1001
)
pids=()
for name in "${tests[@]}"; do
    (
        s=$SECONDS
        if timeout 240 cargo test --release --quiet -p websock-host --test faults -- \
            --ignored --exact "$name" --nocapture >"$work/$name.log" 2>&1; then
            echo "ok $((SECONDS - s))" >"$work/$name.rc"
        else
            echo "FAILED $((SECONDS - s))" >"$work/$name.rc"
        fi
    ) &
    pids+=($!)
done
wait "${pids[@]}"
for name in "${tests[@]}"; do
    read -r verdict secs <"$work/$name.rc"
    grep -Ev '^(running .*|test result.*|\.+|)$' "$work/$name.log" | grep -v '^test .* \.\.\. ok$' | sed 's/^/    /' || true
    say "--- $name: $verdict (${secs}s)"
    [ "$verdict" = ok ] || failed=$((failed + 1))
done
say "--- faults: done ($((SECONDS - t))s)"

[ "$failed" -eq 0 ]
