#!/usr/bin/env bash
# websock-tokio's echo server (tokio/examples/echo_server.rs) against the
# fastwebsockets 0.10 and tokio-tungstenite 0.30 echo servers of bench/,
# each on a current-thread runtime pinned to core 0 with the load generator
# on core 1, interleaved, a fresh process per run, best of 5 (bench/run.sh
# does the measuring). io_async is core's embedded-io-async adapter over
# tokio (core/examples/async_echo.rs): what websock-tokio would cost if it
# sat on that adapter instead of driving the engine from its poll calls.
# Not a test: run it on a quiet machine.
#
#   bash bench/tokio.sh [bench/run.sh options, e.g. -n 5 -s 5]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
cargo build --release --quiet -p websock-tokio --example echo_server
cargo build --release --quiet -p websock-core --features async --example async_echo
exec bash bench/run.sh -n 5 \
    --only websock-tokio,io_async,fastwebsockets,tokio-tungstenite \
    --server "websock-tokio=$root/target/release/examples/echo_server {addr} --no-deflate" \
    --server "io_async=$root/target/release/examples/async_echo serve {addr}" \
    "$@"
