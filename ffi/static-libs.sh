#!/usr/bin/env bash
# Prints the system libraries a program must link after libwebsock.a, as
# linker flags (e.g. "-lutil -lrt -lpthread -lm -ldl -lc"), taken from
# rustc's own list for the library as built (--print native-static-libs;
# cargo replays it from its cache, so this costs no rebuild). Extra
# arguments go to `cargo rustc` (e.g. --no-default-features).
#
# rustc links with -nodefaultlibs and so also names the C compiler's
# runtime (-lgcc_s, the unwinder std refers to). A C compiler driver links
# that runtime by itself, shared or, under -static, static; naming the
# shared one would break `cc -static` (there is no libgcc_s.a), so it is
# left out here.
set -euo pipefail
cd "$(dirname "$0")/.."
line=$(cargo rustc --quiet --release -p websock-ffi --crate-type staticlib "$@" \
    -- --print native-static-libs 2>&1 | sed -n 's/^note: native-static-libs: *//p' | tail -n 1)
if [ -z "$line" ]; then
    echo "static-libs.sh: rustc printed no native-static-libs" >&2
    exit 1
fi
out=()
for flag in $line; do
    case "$flag" in
    -lgcc_s | -lgcc_eh | -lgcc) ;;
    *) out+=("$flag") ;;
    esac
done
echo "${out[*]}"
