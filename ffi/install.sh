#!/usr/bin/env bash
# Installs libwebsock for C and C++ users, from the release build in
# target/release (`make` builds it; `make install` runs this):
#
#   INCLUDEDIR/websock.h
#   LIBDIR/libwebsock.a
#   LIBDIR/libwebsock.so.X.Y.Z, with the soname link (libwebsock.so.0.MINOR
#       before 1.0, libwebsock.so.MAJOR after) and the libwebsock.so link
#   LIBDIR/pkgconfig/websock.pc                  pkg-config websock
#   LIBDIR/cmake/websock/websockConfig*.cmake    find_package(websock)
#
# Settings from the environment: PREFIX (default /usr/local), LIBDIR
# (PREFIX/lib), INCLUDEDIR (PREFIX/include), DESTDIR (a staging root put
# in front of every path written, not of the paths the files record).
# `ffi/install.sh --uninstall` removes what an install with the same
# settings wrote.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
PREFIX="${PREFIX:-/usr/local}"
LIBDIR="${LIBDIR:-$PREFIX/lib}"
INCLUDEDIR="${INCLUDEDIR:-$PREFIX/include}"
DESTDIR="${DESTDIR:-}"
lib="$DESTDIR$LIBDIR"
inc="$DESTDIR$INCLUDEDIR"

# The version is the workspace's (cargo pkgid ends in "@X.Y.Z").
version="$(cargo pkgid -p websock-ffi)"
version="${version##*[@#]}"
so=target/release/libwebsock.so
a=target/release/libwebsock.a

if [ "${1:-}" = "--uninstall" ]; then
    rm -f "$inc/websock.h" "$lib/libwebsock.a" "$lib"/libwebsock.so "$lib"/libwebsock.so.[0-9]* \
        "$lib/pkgconfig/websock.pc" "$lib/cmake/websock/websockConfig.cmake" \
        "$lib/cmake/websock/websockConfigVersion.cmake"
    rmdir "$lib/cmake/websock" 2>/dev/null || true
    exit 0
fi

for f in "$so" "$a" include/websock.h; do
    [ -f "$f" ] || { echo "install.sh: $f is missing; run make first" >&2; exit 1; }
done
# build.rs gave the library its soname; read it back rather than compute it twice.
soname="$(readelf -d "$so" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')"
case "$soname" in
libwebsock.so.*) ;;
*) echo "install.sh: $so has no soname (got '$soname')" >&2; exit 1 ;;
esac
static_libs="$(ffi/static-libs.sh)"

install -d "$inc" "$lib/pkgconfig" "$lib/cmake/websock"
install -m 644 include/websock.h "$inc/websock.h"
install -m 644 "$a" "$lib/libwebsock.a"
install -m 755 "$so" "$lib/libwebsock.so.$version"
[ "$soname" = "libwebsock.so.$version" ] || ln -sf "libwebsock.so.$version" "$lib/$soname"
ln -sf "$soname" "$lib/libwebsock.so"

# The installed library is the default build, with the alloc feature, so
# the header's optional declarations are turned on for its users.
# Paths under the prefix are written relative to it, as pkg-config expects.
under_prefix() {
    case "$1" in
    "$PREFIX"/*) echo "\${prefix}${1#"$PREFIX"}" ;;
    *) echo "$1" ;;
    esac
}
pc_libdir="$(under_prefix "$LIBDIR")"
pc_includedir="$(under_prefix "$INCLUDEDIR")"
cat >"$lib/pkgconfig/websock.pc" <<PC
prefix=$PREFIX
libdir=$pc_libdir
includedir=$pc_includedir

Name: websock
Description: WebSocket (RFC 6455) engine with caller-owned memory, C interface
Version: $version
Cflags: -I\${includedir} -DWEBSOCK_HAVE_ALLOC
Libs: -L\${libdir} -lwebsock
Libs.private: $static_libs
PC

# CMake takes the libraries without their -l.
cmake_libs="$(sed -e 's/-l//g' -e 's/ /;/g' <<<"$static_libs")"
cat >"$lib/cmake/websock/websockConfig.cmake" <<CMAKE
# find_package(websock) for libwebsock $version. Targets:
#   websock::websock         the shared library, or the static one when
#                            WEBSOCK_USE_STATIC_LIBS is set before find_package
#   websock::websock_shared  $LIBDIR/$soname
#   websock::websock_static  $LIBDIR/libwebsock.a and the system libraries it needs
if(NOT TARGET websock::websock)
  add_library(websock::websock_shared SHARED IMPORTED)
  set_target_properties(websock::websock_shared PROPERTIES
    IMPORTED_LOCATION "$LIBDIR/libwebsock.so.$version"
    IMPORTED_SONAME "$soname"
    INTERFACE_INCLUDE_DIRECTORIES "$INCLUDEDIR"
    INTERFACE_COMPILE_DEFINITIONS "WEBSOCK_HAVE_ALLOC")
  add_library(websock::websock_static STATIC IMPORTED)
  set_target_properties(websock::websock_static PROPERTIES
    IMPORTED_LOCATION "$LIBDIR/libwebsock.a"
    IMPORTED_LINK_INTERFACE_LANGUAGES "C"
    INTERFACE_LINK_LIBRARIES "$cmake_libs"
    INTERFACE_INCLUDE_DIRECTORIES "$INCLUDEDIR"
    INTERFACE_COMPILE_DEFINITIONS "WEBSOCK_HAVE_ALLOC")
  add_library(websock::websock INTERFACE IMPORTED)
  if(WEBSOCK_USE_STATIC_LIBS)
    set_target_properties(websock::websock PROPERTIES INTERFACE_LINK_LIBRARIES websock::websock_static)
  else()
    set_target_properties(websock::websock PROPERTIES INTERFACE_LINK_LIBRARIES websock::websock_shared)
  endif()
endif()
CMAKE

# Which requests this version satisfies: the ABI rule of build.rs (same
# major, and before 1.0 the same minor too), never an older version.
IFS=. read -r major minor _ <<<"$version"
cat >"$lib/cmake/websock/websockConfigVersion.cmake" <<CMAKE
set(PACKAGE_VERSION "$version")
set(PACKAGE_VERSION_COMPATIBLE FALSE)
if(NOT PACKAGE_FIND_VERSION VERSION_GREATER PACKAGE_VERSION
   AND PACKAGE_FIND_VERSION_MAJOR STREQUAL "$major"
   AND ("$major" STREQUAL "0" AND PACKAGE_FIND_VERSION_MINOR STREQUAL "$minor" OR NOT "$major" STREQUAL "0"))
  set(PACKAGE_VERSION_COMPATIBLE TRUE)
endif()
if(PACKAGE_FIND_VERSION STREQUAL PACKAGE_VERSION)
  set(PACKAGE_VERSION_EXACT TRUE)
endif()
CMAKE
echo "installed libwebsock $version ($soname) under ${DESTDIR}$PREFIX"
