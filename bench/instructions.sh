#!/usr/bin/env bash
# Instructions per VM and per counter increment, counted by callgrind (valgrind), so that
# two builds compare on a busy machine as on an idle one. Usage:
#   bench/instructions.sh [build-dir] [source-dir]
# The source dir (default: this checkout) gives the headers; for a tree from before the
# workbench profile left the library (6cf565c and older) set AL_PROFILE_FIELD=1. Prints
# one JSON line: {vm_once, vm_each, event_once, event_each} in instructions.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$here/build}" && pwd)
src=$(cd "${2:-$here}" && pwd)
command -v valgrind >/dev/null || { echo "bench/instructions.sh needs valgrind" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
libs="-ljansson -lm -lpthread -ldl -lseccomp -lsqlite3 -larchive -lcrypto -lz"
internal=$build/libairlock_internal.a
[ -f "$internal" ] || internal=$build/libairlock.a # older trees had one archive
cc -O2 -I"$src/src" -I"$src/include" -I"$build/_deps/quickjs" -o "$tmp/vm" "$here/bench/instr/vm_probe.c" \
  "$internal" $libs
if [ -n "${AL_PROFILE_FIELD:-}" ]; then
  cc -O2 -DAL_PROFILE_FIELD -I"$src/include" -o "$tmp/ev" "$here/bench/instr/event_probe.c" "$build/libairlock.a" $libs
else
  cc -O2 -I"$src/include" -I"$src/workbench" -o "$tmp/ev" "$here/bench/instr/event_probe.c" \
    "$build/libairlock_workbench.a" "$build/libairlock.a" $libs
fi
count() { valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 | sed -n 's/.*Collected : \([0-9]*\).*/\1/p'; }
v1=$(count "$tmp/vm" 1); v21=$(count "$tmp/vm" 21)
e1=$(count "$tmp/ev" "$src/examples/plugins/counter.js" 1); e51=$(count "$tmp/ev" "$src/examples/plugins/counter.js" 51)
each_vm=$(( (v21 - v1) / 20 )); each_ev=$(( (e51 - e1) / 50 ))
printf '{"vm_once":%d,"vm_each":%d,"event_once":%d,"event_each":%d}\n' $((v1 - each_vm)) $each_vm $((e1 - each_ev)) $each_ev
