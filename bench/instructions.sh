#!/usr/bin/env bash
# Server instructions per echo under callgrind (not a test; deterministic
# enough to compare on a loaded machine, unlike time): each server runs
# under `valgrind --tool=callgrind`, the load generator sends --messages
# echoes over --conns connections, twice (LOW then HIGH echoes, a fresh
# server each time), and the figure is (Ir at HIGH - Ir at LOW) /
# (HIGH - LOW): start-up, handshakes and teardown cancel out. User-space
# instructions only (system calls are not counted).
#
#   bash bench/instructions.sh [-c CONNS] [-z "20 1024 16384 65536"] [-l LOW] [-h HIGH] \
#        'NAME=COMMAND {addr}' ...
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
conns=50 sizes="20 1024 16384 65536" low=1000 high=5000
while [ $# -gt 0 ]; do
    case "$1" in
        -c) conns=$2; shift 2 ;;
        -z) sizes=$2; shift 2 ;;
        -l) low=$2; shift 2 ;;
        -h) high=$2; shift 2 ;;
        *) break ;;
    esac
done
load="$root/bench/target/release/load"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

wait_port() {
    for _ in $(seq 1 1200); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.05
    done
    return 1
}

# The server's Ir for N echoes of SIZE bytes.
ir() {
    local cmd=$1 size=$2 n=$3
    # A port nothing else holds now (other benchmarks may share the machine).
    local port
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    local addr="127.0.0.1:$port" file="$out/cg.$port"
    cmd=${cmd//\{addr\}/$addr}
    # shellcheck disable=SC2086
    valgrind --tool=callgrind --callgrind-out-file="$file" $cmd >/dev/null 2>&1 &
    local pid=$!
    wait_port "$port" || { echo "no server on $addr" >&2; kill "$pid"; return 1; }
    "$load" "$addr" --conns "$conns" --size "$size" --messages "$n" >/dev/null
    sleep 1
    kill -TERM "$pid"
    wait "$pid" 2>/dev/null || true
    sed -n 's/^summary: //p' "$file"
}

for size in $sizes; do
    for entry in "$@"; do
        name=${entry%%=*}
        cmd=${entry#*=}
        a=$(ir "$cmd" "$size" "$low")
        b=$(ir "$cmd" "$size" "$high")
        echo "$name size=$size conns=$conns ir_per_echo=$(( (b - a) / (high - low) )) ir_low=$a ir_high=$b"
    done
done
