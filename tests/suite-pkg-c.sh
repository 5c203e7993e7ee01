#!/usr/bin/env bash
# libwebsock as an installed C package: `make install` into a temporary
# prefix, then the C examples copied out of the tree and built against
# that prefix three ways (cc with pkg-config and the shared library, CMake
# find_package, cc -static with pkg-config --static), each run; the
# pkg-config build passes Autobahn sections 1-10 (kosoku). Then
# `make uninstall` leaves the prefix empty. Last, the bare-metal example
# (examples-c/bare-metal): the no_std library for thumbv7em with C built
# freestanding, run in QEMU. Run by tests/run.sh; runs alone too.
set -uo pipefail
cd "$(dirname "$0")/.."
source tests/setup.sh || exit 1
set +e

OUT="$PWD/tests/out/pkg-c"
mkdir -p "$OUT"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
prefix="$work/prefix"
src="$work/src"
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
version="$(cargo pkgid -p websock-ffi)"
version="${version##*[@#]}"
IFS=. read -r major minor _ <<<"$version"
if [ "$major" = 0 ]; then soname="libwebsock.so.0.$minor"; else soname="libwebsock.so.$major"; fi
STRICT=(-std=c99 -Wall -Wextra -Werror -pedantic -O2)

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

need_tools() {
    command -v cmake >/dev/null && command -v pkg-config >/dev/null && return 0
    apt_install cmake pkg-config
}

need_cross_tools() {
    local want=()
    command -v arm-none-eabi-gcc >/dev/null || want+=(gcc-arm-none-eabi)
    command -v qemu-system-arm >/dev/null || want+=(qemu-system-arm)
    [ "${#want[@]}" -eq 0 ] || apt_install "${want[@]}"
}

install_into_prefix() {
    make --no-print-directory -s install PREFIX="$prefix"
}

# Every file where it belongs, the soname from the version, the links a
# linker and a loader look for, and what pkg-config tells.
installed_layout() {
    local f
    for f in include/websock.h lib/libwebsock.a "lib/libwebsock.so.$version" \
        lib/pkgconfig/websock.pc lib/cmake/websock/websockConfig.cmake \
        lib/cmake/websock/websockConfigVersion.cmake; do
        [ -f "$prefix/$f" ] || { echo "missing: $f"; return 1; }
    done
    cmp include/websock.h "$prefix/include/websock.h" || return 1
    [ "$(readlink "$prefix/lib/libwebsock.so")" = "$soname" ] || { echo "libwebsock.so does not point at $soname"; return 1; }
    [ "$(readlink -f "$prefix/lib/$soname")" = "$(readlink -f "$prefix/lib/libwebsock.so.$version")" ] ||
        { echo "$soname does not lead to libwebsock.so.$version"; return 1; }
    readelf -d "$prefix/lib/libwebsock.so.$version" | grep -F "Library soname: [$soname]" || return 1
    [ "$(pkg-config --modversion websock)" = "$version" ] || { echo "pkg-config version: $(pkg-config --modversion websock)"; return 1; }
    local want got
    want="-L$prefix/lib -lwebsock $(ffi/static-libs.sh)"
    got="$(pkg-config --static --libs websock)"
    echo "pkg-config --static --libs websock: $got"
    [ "$(echo $got)" = "$(echo $want)" ] || { echo "expected: $want"; return 1; }
}

# The header as installed, included alone from C99 and C++.
installed_header() {
    # shellcheck disable=SC2046
    echo '#include <websock.h>' | gcc "${STRICT[@]}" -fsyntax-only $(pkg-config --cflags websock) -x c - &&
        echo '#include <websock.h>' | g++ -Wall -Wextra -Werror -pedantic -fsyntax-only \
            $(pkg-config --cflags websock) -x c++ -
}

copy_examples() {
    mkdir -p "$src" && cp examples-c/*.c examples-c/*.h examples-c/CMakeLists.txt "$src/"
}

needs_shared() {
    readelf -d "$1" | grep -F "Shared library: [$soname]" >/dev/null ||
        { echo "$1 does not load $soname"; return 1; }
}

build_pkg_config() {
    local p
    mkdir -p "$work/pc"
    for p in echo_server client; do
        # shellcheck disable=SC2046
        (cd "$src" && cc "${STRICT[@]}" $(pkg-config --cflags websock) "$p.c" conn_io.c \
            $(pkg-config --libs websock) -Wl,-rpath,"$(pkg-config --variable=libdir websock)" \
            -o "$work/pc/$p") || return 1
        needs_shared "$work/pc/$p" || return 1
    done
    # The loader finds the library in the prefix by its soname.
    ldd "$work/pc/echo_server" | grep -F "$soname => $prefix/lib/$soname"
}

build_cmake() {
    cmake -S "$src" -B "$work/cmake" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release >"$OUT/cmake.log" &&
        cmake --build "$work/cmake" >>"$OUT/cmake.log" || { cat "$OUT/cmake.log"; return 1; }
    needs_shared "$work/cmake/client" &&
        cmake -S "$src" -B "$work/cmake-static" -DCMAKE_PREFIX_PATH="$prefix" -DWEBSOCK_USE_STATIC_LIBS=ON \
            >"$OUT/cmake-static.log" && cmake --build "$work/cmake-static" >>"$OUT/cmake-static.log" ||
        { cat "$OUT/cmake-static.log"; return 1; }
    if readelf -d "$work/cmake-static/client" | grep -F libwebsock; then
        echo "WEBSOCK_USE_STATIC_LIBS still loads the shared library"
        return 1
    fi
}

# find_package honours the ABI rule: this version, not the next minor (0.x).
cmake_version_rule() {
    local d="$work/cmake-version" want next
    mkdir -p "$d"
    if [ "$major" = 0 ]; then next="0.$((minor + 1))"; else next="$((major + 1))"; fi
    for want in "$version EXACT" "$major.$minor" "$next"; do
        printf 'cmake_minimum_required(VERSION 3.13)\nproject(v C)\nfind_package(websock %s REQUIRED)\n' "$want" \
            >"$d/CMakeLists.txt"
        rm -rf "$d/build"
        if cmake -S "$d" -B "$d/build" -DCMAKE_PREFIX_PATH="$prefix" >"$OUT/cmake-version.log" 2>&1; then
            [ "$want" != "$next" ] || { echo "find_package(websock $want) accepted $version"; return 1; }
        else
            [ "$want" = "$next" ] || { echo "find_package(websock $want) refused $version"; cat "$OUT/cmake-version.log"; return 1; }
        fi
    done
}

build_static() {
    local p
    mkdir -p "$work/static"
    for p in echo_server client; do
        # shellcheck disable=SC2046
        (cd "$src" && cc -static "${STRICT[@]}" $(pkg-config --cflags websock) "$p.c" conn_io.c \
            $(pkg-config --static --libs websock) -o "$work/static/$p" 2>"$OUT/static-$p.log") ||
            { cat "$OUT/static-$p.log"; return 1; }
        if readelf -d "$work/static/$p" | grep -q NEEDED; then
            echo "$p is not static:"
            readelf -d "$work/static/$p" | grep NEEDED
            return 1
        fi
    done
}

# Lines through a client built one way to a server built another.
echo_lines() {
    local server="$1" client="$2" port pid out rc
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    "$server" "$port" 2>"$OUT/echo-server.log" &
    pid=$!
    for _ in $(seq 50); do
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
        sleep 0.1
    done
    out=$(printf 'one\ntwo: \xc3\xa9\n' | timeout 20 "$client" "ws://127.0.0.1:$port/" 2>"$OUT/echo-client.log")
    rc=$?
    kill -TERM "$pid"
    wait "$pid"
    [ "$rc" -eq 0 ] || { echo "client exited with $rc"; cat "$OUT/echo-client.log"; return 1; }
    [ "$out" = "$(printf 'one\ntwo: \xc3\xa9')" ] || { echo "unexpected echo: $out"; return 1; }
}

autobahn_pkg_config_server() {
    python3 tests/autobahn.py --min-cases 301 --timeout 600 -p 2 \
        server pkg-c-server -- "$work/pc/echo_server" '{port}'
}

# The bare-metal example: libwebsock.a without std for thumbv7em, C
# compiled freestanding and linked with -nostdlib (no C library at all).
bare_metal_build() {
    make --no-print-directory -s -C examples-c/bare-metal clean all || return 1
    # ws_echo.c needs nothing but the library: every symbol it leaves
    # undefined is a websock_ function.
    local foreign
    foreign="$(arm-none-eabi-nm -u examples-c/bare-metal/build/ws_echo.o | awk '$2 !~ /^websock_/ {print $2}')"
    [ -z "$foreign" ] || { echo "ws_echo.o needs more than libwebsock: $foreign"; return 1; }
    make --no-print-directory -s -C examples-c/bare-metal size CARGO=
}

# The scripted client's session in QEMU; the program checks every byte
# the server wrote and exits QEMU with 1 on any difference.
bare_metal_run() {
    local log
    log="$(make --no-print-directory -s -C examples-c/bare-metal run CARGO= 2>&1)"
    local rc=$?
    echo "$log"
    [ "$rc" -eq 0 ] && grep -qx 'bare-metal echo ok' <<<"$log"
}

# A packager's staged install: files under DESTDIR, paths without it.
staged_install() {
    local stage="$work/stage"
    make --no-print-directory -s install PREFIX=/usr DESTDIR="$stage" || return 1
    [ -f "$stage/usr/lib/libwebsock.so.$version" ] && [ -f "$stage/usr/include/websock.h" ] ||
        { echo "nothing under $stage/usr"; return 1; }
    grep -qx 'prefix=/usr' "$stage/usr/lib/pkgconfig/websock.pc" &&
        grep -q '"/usr/lib/libwebsock.a"' "$stage/usr/lib/cmake/websock/websockConfig.cmake" ||
        { echo "the staged files record the staging path"; return 1; }
}

uninstall_empties_prefix() {
    make --no-print-directory -s uninstall PREFIX="$prefix" || return 1
    local left
    left="$(find "$prefix" ! -type d)"
    [ -z "$left" ] || { echo "left after uninstall:"; echo "$left"; return 1; }
}

step "cmake and pkg-config" need_tools
step "make install PREFIX=<temporary>" install_into_prefix
step "installed files, soname and links, pkg-config answers" installed_layout
step "installed header alone from C99 and C++" installed_header
step "copy examples-c out of the tree" copy_examples
step "build: cc \$(pkg-config --cflags --libs websock), shared" build_pkg_config
step "build: CMake find_package(websock), shared and WEBSOCK_USE_STATIC_LIBS" build_cmake
step "CMake package version rule" cmake_version_rule
step "build: cc -static \$(pkg-config --static --libs websock)" build_static
step "run: static client -> CMake-built server" echo_lines "$work/cmake/echo_server" "$work/static/client"
step "run: CMake-built client -> static server" echo_lines "$work/static/echo_server" "$work/cmake/client"
step "autobahn: pkg-config-built (shared) echo server, sections 1-10" autobahn_pkg_config_server
step "make uninstall empties the prefix" uninstall_empties_prefix
step "make install PREFIX=/usr DESTDIR=<stage>" staged_install
step "arm-none-eabi-gcc and qemu-system-arm" need_cross_tools
step "bare-metal: ws_echo for thumbv7em, freestanding C, -nostdlib, no_std libwebsock.a" bare_metal_build
step "bare-metal: scripted session on a Cortex-M4 in QEMU" bare_metal_run

for f in "${failures[@]}"; do echo "FAILED: $f"; done
echo "suite-pkg-c: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
