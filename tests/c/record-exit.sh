#!/usr/bin/env bash
# record-exit.sh FILE -- CMD...
# Runs CMD and writes its exit status to FILE when it ends. tests/autobahn.py
# stops a server by signalling its whole process group; this wrapper ignores
# that signal itself (CMD, started first, keeps the default and stops), so
# it lives to record how CMD ended: under valgrind, whether it found errors.
set -u
file="$1"
shift
[ "${1:-}" = "--" ] && shift
"$@" &
child=$!
trap '' TERM INT
wait "$child"
echo "$?" >"$file"
