#!/usr/bin/env bash
# Side-by-side echo benchmark (not a test): each server alone on core 0,
# the closed-loop load generator (bench/src/bin/load.rs) on core 1, binary
# messages, one in flight per connection, a fresh server process per run,
# the servers interleaved within each repetition, best of N. Prints one
# table: echoes per second, server CPU per message (utime + stime from
# /proc/PID/stat over the measured window) and peak RSS (VmHWM).
#
#   bash bench/run.sh [-n REPS] [-s SECONDS] [-c "100 1000"] [-z "20 1024 16384 65536"]
#                     [--only name,name] [--server 'NAME=COMMAND {addr}']...
#
# websock runs twice: on its default backend (io_uring on Linux where the
# kernel allows it) and forced onto epoll (the fallback), as websock-epoll.
# --server adds a server built elsewhere, e.g. another project's example:
# its command gets the listen address (host:port) where {addr} is, or
# {port} for the port alone. Needs taskset and two cores.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
reps=3 secs=3 warmup=1
conns_list="100 1000"
sizes="20 1024 16384 65536"
only=""
extra=()
while [ $# -gt 0 ]; do
    case "$1" in
        -n) reps=$2; shift 2 ;;
        -s) secs=$2; shift 2 ;;
        -c) conns_list=$2; shift 2 ;;
        -z) sizes=$2; shift 2 ;;
        --only) only=$2; shift 2 ;;
        --server) extra+=("$2"); shift 2 ;;
        *) echo "unknown argument $1" >&2; exit 2 ;;
    esac
done

websock="$root/target/release/websock"
b="$root/bench/target/release"
# One line per server: NAME=COMMAND, with {addr} for where to listen.
servers=(
    "websock=$websock serve --workers 1 --no-wss --ws {addr}"
    "websock-epoll=env WEBSOCK_IO=epoll $websock serve --workers 1 --no-wss --ws {addr}"
    "fastwebsockets=$b/fastwebsockets-echo {addr}"
    "tokio-tungstenite=$b/tungstenite-echo {addr}"
    "tcp-echo=$b/tcp-echo {addr}"
)
servers+=("${extra[@]}")
if [ -n "$only" ]; then
    kept=()
    for s in "${servers[@]}"; do
        [[ ",$only," == *",${s%%=*},"* ]] && kept+=("$s")
    done
    servers=("${kept[@]}")
fi

echo "building (release)..." >&2
(cd "$root" && cargo build --release --quiet -p websock-host)
(cd "$root/bench" && cargo build --release --quiet)
ulimit -n 65536 2>/dev/null || ulimit -n 4096

port=9400
results="$(mktemp)"
trap 'rm -f "$results"' EXIT

wait_port() {
    for _ in $(seq 1 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.05
    done
    return 1
}

start=$(date +%s)
for rep in $(seq 1 "$reps"); do
    for conns in $conns_list; do
        for size in $sizes; do
            for entry in "${servers[@]}"; do
                name=${entry%%=*}
                cmd=${entry#*=}
                port=$((port + 1))
                [ "$port" -gt 9900 ] && port=9401
                addr="127.0.0.1:$port"
                cmd=${cmd//\{addr\}/$addr}
                cmd=${cmd//\{port\}/$port}
                # shellcheck disable=SC2086
                taskset -c 0 $cmd >/dev/null 2>&1 &
                pid=$!
                if ! wait_port "$port"; then
                    echo "$name did not listen on $addr" >&2
                    kill "$pid" 2>/dev/null || true
                    wait "$pid" 2>/dev/null || true
                    continue
                fi
                raw=()
                # A plain TCP echo (ours, or another's named *tcp-echo)
                # gets bytes that are not WebSocket frames.
                [[ "$name" == *tcp-echo ]] && raw=(--raw)
                line=$(taskset -c 1 "$b/load" "$addr" --conns "$conns" --size "$size" \
                    --seconds "$secs" --warmup "$warmup" --pid "$pid" "${raw[@]}" 2>&1) || true
                kill "$pid" 2>/dev/null || true
                wait "$pid" 2>/dev/null || true
                echo "rep $rep $name $line" >&2
                echo "$name $line" >>"$results"
            done
        done
    done
done
echo "elapsed $(( $(date +%s) - start )) s" >&2

python3 - "$results" "${servers[@]%%=*}" <<'PY'
import sys, collections
path, names = sys.argv[1], sys.argv[2:]
best = collections.defaultdict(dict)
for line in open(path):
    parts = line.split()
    name, kv = parts[0], dict(p.split("=", 1) for p in parts[1:] if "=" in p)
    if "msgs_per_s" not in kv:
        continue
    cell = (int(kv["conns"]), int(kv["size"]))
    b = best[cell].setdefault(name, {"rate": 0.0, "us": float("inf"), "hwm": 0})
    b["rate"] = max(b["rate"], float(kv["msgs_per_s"]))
    if float(kv.get("server_us_per_msg", 0)) > 0:
        b["us"] = min(b["us"], float(kv["server_us_per_msg"]))
    b["hwm"] = max(b["hwm"], int(kv.get("server_hwm_kb", 0)))
def size(n):
    return f"{n // 1024} KiB" if n >= 1024 else f"{n} B"
print("| cell (conns x size): msgs/s; server us/msg; peak RSS MB | " + " | ".join(names) + " |")
print("|---" * (len(names) + 1) + "|")
for cell in sorted(best):
    row = [f"{cell[0]:,} x {size(cell[1])}"]
    for n in names:
        b = best[cell].get(n)
        row.append("failed" if b is None else
                   f"{b['rate'] / 1000:.1f}k; {b['us']:.2f}; {b['hwm'] / 1024:.1f}")
    print("| " + " | ".join(row) + " |")
PY
