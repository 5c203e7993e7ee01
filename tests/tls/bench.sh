#!/usr/bin/env bash
# Echo throughput over ws:// and wss:// (not a test): one `websock serve`
# with both listeners and one worker, then `websock bench` against each, in
# turn, for 1 KiB, 16 KiB and 64 KiB messages, ROUNDS times. Besides messages per
# second it prints the CPU time each side spent per message (the server's
# from /proc, the client's from time(1)): on a shared machine throughput
# swings with the load, CPU per message much less.
#   bash tests/tls/bench.sh [ROUNDS] [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${1:-3}
seconds=${2:-3}
bin=${WEBSOCK_BIN:-target/release/websock}
[ -x "$bin" ] || cargo build --release --quiet -p websock-host
work=$(mktemp -d)
"$bin" serve --ws 127.0.0.1:0 --wss 127.0.0.1:0 --workers 1 >"$work/start" 2>"$work/log" &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 50); do [ -s "$work/start" ] && break; sleep 0.1; done
# The first line names both listeners; the second suggests a client.
ws=$(head -1 "$work/start" | grep -o ' ws://127.0.0.1:[0-9]*' | tr -d ' ')
wss=$(head -1 "$work/start" | grep -o 'wss://127.0.0.1:[0-9]*')
cert=$(head -1 "$work/start" | sed 's/.*written to //')
ticks=$(getconf CLK_TCK)
server_cpu() { awk '{print $14 + $15}' "/proc/$server/stat"; }
for round in $(seq "$rounds"); do
    for size in 1024 16384 65536; do
        for url in "$ws" "$wss"; do
            before=$(server_cpu)
            /usr/bin/time -f "%U %S" -o "$work/time" "$bin" bench --ca "$cert" \
                --connections 16 --depth 4 --size "$size" --seconds "$seconds" "$url/" >"$work/out"
            after=$(server_cpu)
            python3 - "$round" "$size" "${url%%:*}" "$before" "$after" "$ticks" \
                "$(cat "$work/time")" "$(cat "$work/out")" <<'EOF'
import re, sys
round_, size, scheme, before, after, ticks, client, line = sys.argv[1:]
rate = float(re.search(r"s: (\d+) msg/s", line).group(1))
secs = float(re.search(r", ([\d.]+) s:", line).group(1))
messages = rate * secs
server = (float(after) - float(before)) / float(ticks)
client = sum(map(float, client.split()))
mb = messages * int(size) / 1e6
print(f"round {round_} {size:>5}-byte {scheme:<3}: {rate:8.0f} msg/s {mb / secs:7.1f} MB/s echoed; "
      f"CPU per message: server {server / messages * 1e6:5.1f} us, client {client / messages * 1e6:5.1f} us")
EOF
        done
    done
done
