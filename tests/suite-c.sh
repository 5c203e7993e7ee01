#!/usr/bin/env bash
# The C ABI: libwebsock and include/websock.h, the C examples against
# Autobahn (kosoku; sections 1 to 10 in full, a sample of 12 and 13 with
# permessage-deflate) and under valgrind, the header's drift and its use
# from C99 and C++, the no_std build for thumbv7em, and the wasm32-wasip1
# build under node:wasi. Run by tests/run.sh; runs alone too.
set -uo pipefail
standalone=${WEBSOCK_SETUP_DONE:-}
cd "$(dirname "$0")/.."
source tests/setup.sh || exit 1
set +e

OUT=tests/out/c
mkdir -p "$OUT"
# Sections 1 to 10 of the Autobahn cases (there is no section 8).
ALL_CASES=(-i '1.*' -i '2.*' -i '3.*' -i '4.*' -i '5.*' -i '6.*' -i '7.*' -i '9.*' -i '10.*')
# permessage-deflate (36 cases): the first three (smallest) of each group
# of sections 12 and 13, which cover every parameter combination; the
# whole sections take many minutes under kosoku.
DEFLATE_CASES=()
for g in 12.1 12.2 12.3 12.4 12.5 13.1 13.2 13.3 13.4 13.5 13.6 13.7; do
    DEFLATE_CASES+=(-i "$g.1" -i "$g.2" -i "$g.3")
done
# A short run for valgrind (86 cases): framing, pings, fragments, UTF-8,
# closing, and compression (whose codec lives on the heap).
SHORT_CASES=(-i '1.*' -i '2.*' -i '5.*' -i '6.2.*' -i '6.4.*' -i '7.1.*' -i '7.3.*' -i '7.7.*'
             -i '12.1.1' -i '12.2.1' -i '13.1.1' -i '13.3.1' -i '13.5.1' -i '13.7.1')
VALGRIND=(valgrind -q --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=all
          --show-leak-kinds=all)
# What the system must supply when libwebsock.a is linked, as rustc says.
read -ra SYSLIBS <<<"$(ffi/static-libs.sh)"
STRICT=(-Wall -Wextra -Werror -pedantic)

passed=0
failed=0
failures=()
step() {
    local name="$1"
    shift
    local start=$SECONDS
    echo "--- $name"
    if "$@"; then
        passed=$((passed + 1))
        echo "--- ok ($((SECONDS - start))s)"
    else
        failed=$((failed + 1))
        failures+=("$name")
        echo "--- FAILED: $name ($((SECONDS - start))s)"
    fi
}

need_valgrind() {
    command -v valgrind >/dev/null || apt_install valgrind
}

build_examples() {
    make --no-print-directory -s -C examples-c
}

header_is_current() {
    ffi/header.sh "$OUT/websock.h" && diff -u include/websock.h "$OUT/websock.h"
}

# Every function libwebsock.so exports is declared in the header, and the
# other way round.
header_matches_library() {
    diff -u <(nm -D --defined-only target/release/libwebsock.so |
                  awk '$3 ~ /^websock_/ {print $3}' | sort) \
            <(grep -oE '\bwebsock_[a-z_]+\(' include/websock.h | tr -d '(' | sort -u)
}

c99_api_test() {
    # Warning-free as C99, with and without the optional declarations.
    gcc -std=c99 "${STRICT[@]}" -fsyntax-only -x c include/websock.h &&
        gcc -std=c99 "${STRICT[@]}" -fsyntax-only -DWEBSOCK_HAVE_ALLOC -x c include/websock.h &&
        gcc -std=c99 "${STRICT[@]}" -g -Iinclude tests/c/api_test.c target/release/libwebsock.a \
            "${SYSLIBS[@]}" -o "$OUT/api_test" &&
        "${VALGRIND[@]}" "$OUT/api_test"
}

cxx_header_test() {
    g++ "${STRICT[@]}" -fsyntax-only -x c++ include/websock.h &&
        g++ "${STRICT[@]}" -g -Iinclude -DWEBSOCK_HAVE_ALLOC tests/c/header_cxx.cpp \
            target/release/libwebsock.a "${SYSLIBS[@]}" -o "$OUT/header_cxx" &&
        "${VALGRIND[@]}" "$OUT/header_cxx"
}

# Lines piped through the terminal client come back from the echo server.
terminal_client() {
    local port pid out rc
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    examples-c/build/echo_server "$port" 2>"$OUT/terminal-server.log" &
    pid=$!
    for _ in $(seq 50); do
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
        sleep 0.1
    done
    out=$(printf 'hello\n\nsecond line, with UTF-8: \xc3\xa9t\xc3\xa9\nno newline at the end' |
        timeout 20 examples-c/build/client "ws://127.0.0.1:$port/any/path" 2>"$OUT/terminal-client.log")
    rc=$?
    kill -TERM "$pid"
    wait "$pid"
    [ "$rc" -eq 0 ] || { echo "client exited with $rc"; cat "$OUT/terminal-client.log"; return 1; }
    [ "$out" = "$(printf 'hello\n\nsecond line, with UTF-8: \xc3\xa9t\xc3\xa9\nno newline at the end')" ] ||
        { echo "unexpected echo: $out"; return 1; }
    grep -q 'connection closed (clean, code 1000)' "$OUT/terminal-client.log"
}

autobahn_server() {
    # Two cases at a time: the server runs many connections on one thread.
    python3 tests/autobahn.py --min-cases 301 --timeout 600 -p 2 "${ALL_CASES[@]}" \
        server c-server -- examples-c/build/echo_server '{port}'
}

autobahn_client() {
    python3 tests/autobahn.py --min-cases 301 --timeout 600 "${ALL_CASES[@]}" \
        client c-client -- examples-c/build/client --autobahn 'ws://127.0.0.1:{port}' --agent websock-c
}

autobahn_server_deflate() {
    python3 tests/autobahn.py --min-cases 36 --timeout 600 -p 2 "${DEFLATE_CASES[@]}" \
        server c-server-deflate -- examples-c/build/echo_server '{port}' --deflate
}

autobahn_client_deflate() {
    python3 tests/autobahn.py --min-cases 36 --timeout 600 "${DEFLATE_CASES[@]}" \
        client c-client-deflate -- examples-c/build/client --deflate --autobahn \
        'ws://127.0.0.1:{port}' --agent websock-c-deflate
}

valgrind_server() {
    local status="$OUT/valgrind-server.status"
    rm -f "$status"
    python3 tests/autobahn.py --min-cases 86 --timeout 600 "${SHORT_CASES[@]}" \
        server c-server-valgrind -- tests/c/record-exit.sh "$status" -- \
        "${VALGRIND[@]}" examples-c/build/echo_server '{port}' --deflate || return 1
    [ -f "$status" ] || { echo "the server's exit status was not recorded"; return 1; }
    echo "valgrind'd echo_server exited with $(cat "$status")"
    [ "$(cat "$status")" = 0 ]
}

valgrind_client() {
    # autobahn.py fails the run if the client exits non-zero: valgrind's
    # --error-exitcode makes any error or leak do that.
    python3 tests/autobahn.py --min-cases 86 --timeout 600 "${SHORT_CASES[@]}" \
        client c-client-valgrind -- "${VALGRIND[@]}" examples-c/build/client --deflate --autobahn \
        'ws://127.0.0.1:{port}' --agent websock-c-valgrind
}

no_std_thumbv7em() {
    # The staticlib on a bare-metal target, without std (and so without
    # the alloc conveniences); cdylib makes no sense there.
    cargo rustc --quiet --release -p websock-ffi --target thumbv7em-none-eabihf \
        --no-default-features --crate-type staticlib
}

wasi_build() {
    cargo build --quiet --release -p websock-ffi --target wasm32-wasip1
}

wasi_tests() {
    node --test tests/wasi/
}

wasi_autobahn() {
    python3 tests/autobahn.py --min-cases 301 --timeout 600 "${ALL_CASES[@]}" \
        server wasi-node -- node tests/wasi/echo-server.mjs '{port}'
}

# tests/run.sh runs the crate's Rust tests with the workspace's.
[ -z "$standalone" ] && step "cargo test -p websock-ffi" cargo test --quiet -p websock-ffi
step "install valgrind" need_valgrind
step "build libwebsock and examples-c" build_examples
step "include/websock.h matches a fresh cbindgen run" header_is_current
step "include/websock.h declares exactly what libwebsock.so exports" header_matches_library
step "C99 API test (-Wall -Wextra -Werror -pedantic, valgrind)" c99_api_test
step "C++ translation unit with the header (valgrind)" cxx_header_test
step "terminal client against the echo server" terminal_client
step "autobahn: C echo server, sections 1-10" autobahn_server
step "autobahn: C client driver, sections 1-10" autobahn_client
step "autobahn: C echo server with permessage-deflate, 12.x/13.x sample" autobahn_server_deflate
step "autobahn: C client with permessage-deflate, 12.x/13.x sample" autobahn_client_deflate
step "valgrind: C echo server, short autobahn run" valgrind_server
step "valgrind: C client driver, short autobahn run" valgrind_client
step "libwebsock.a for thumbv7em-none-eabihf without std" no_std_thumbv7em
step "libwebsock for wasm32-wasip1" wasi_build
step "WASI host tests (node:wasi)" wasi_tests
step "autobahn: WASI module in Node, sections 1-10" wasi_autobahn

for f in "${failures[@]}"; do echo "FAILED: $f"; done
echo "suite-c: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
