#!/usr/bin/env bash
# Benchmark (not a test): the npm package's echo server
# (node/examples/echo-server.mjs, WebSocketServer on the wasm engine) against
# the ws package's (node/bench/ws-echo-server.mjs, ws as pinned in
# node/package-lock.json), both one Node process on 127.0.0.1 without
# compression. It runs bench/run.sh, which pins each server alone on core 0
# and the Rust closed-loop load generator on core 1, starts a fresh server
# process per run, interleaves the two servers within each repetition and
# keeps the best of N: echoes per second, server CPU per message, peak RSS.
# node-tcp-echo (node/bench/tcp-echo-server.mjs, no WebSocket: each chunk
# read is written back) is the floor under both: one read and one write
# through node:net streams per message.
#
#   bash node/bench/run.sh [-n REPS] [-s SECONDS] [-c "100"] [-z "16 1024 65536"]
#
# Run it on a quiet machine; the goal is >= 1.3x ws's messages per second
# in every cell.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
bash node/build.sh >/dev/null
(cd node && npm ci --no-audit --no-fund --loglevel=error)
node="$(command -v node)"
exec bash bench/run.sh -c 100 -z "16 1024 65536" "$@" --only websock-node,ws,node-tcp-echo \
    --server "websock-node=$node $root/node/examples/echo-server.mjs {port} --no-deflate" \
    --server "ws=$node $root/node/bench/ws-echo-server.mjs {port}" \
    --server "node-tcp-echo=$node $root/node/bench/tcp-echo-server.mjs {port}"
