#!/usr/bin/env bash
# pi_ext.sh: what a pi extension costs through `airlock emit`, end to end, and what the
# transpile cache saves. The extension is pi's own permission-gate.ts from the pinned
# official examples (the pi test suite extracts them into <build>/pi-examples; run
# `ctest --test-dir build -L pi` once first), given a harmless tool_call so it answers
# "continue". Variants, interleaved sample by sample so all see the same machine load:
#   - cold: the transpile cache emptied before each sample (sucrase runs in its own VM);
#   - cached: the cache kept (the output found by content hash: no transpile);
# each with process and thread isolation; and `airlock version` (process start alone).
#
# usage: bench/pi_ext.sh [build-dir] [samples]   (defaults: build, 20)
# Prints one row per variant: median and p99 (nearest rank) wall time in ms, then the
# cached / cold ratios of the medians.
set -euo pipefail
BUILD=${1:-build}
N=${2:-20}
AL=$(cd "$BUILD" && pwd)/airlock
EXT=$(cd "$BUILD" && pwd)/pi-examples/package/examples/extensions/permission-gate.ts
[ -f "$EXT" ] || { echo "pi_ext: $EXT is missing: run 'ctest --test-dir $BUILD -L pi' first" >&2; exit 1; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
printf '{"toolName":"bash","toolCallId":"c1","input":{"command":"ls -la"}}' >"$T/tc.json"
emit() { echo "'$AL' emit tool_call '$T/tc.json' --plugin '$EXT' --home '$T/$1' --isolation $2 --no-prompt"; }
names=("cold (transpiled), process isolation" "cached, process isolation"
       "cold (transpiled), thread isolation" "cached, thread isolation" "airlock version (process start only)")
cmds=("rm -rf '$T/hc/cache'; $(emit hc process)" "$(emit hw process)"
      "rm -rf '$T/tc/cache'; $(emit tc thread)" "$(emit tw thread)" "'$AL' version")
# Correctness first: the gate lets `ls -la` through (exit 0, action continue).
for c in "${cmds[@]:0:4}"; do
  sh -c "$c" | grep -q '"action": "continue"' || { echo "pi_ext: '$c' did not answer continue" >&2; exit 1; }
done
for i in "${!cmds[@]}"; do : >"$T/s$i"; done
for ((s = 0; s < N; s++)); do
  for i in "${!cmds[@]}"; do
    if ((i == 0 || i == 2)); then sh -c "${cmds[$i]%%;*}"; fi # the cache removal is not timed
    t0=$EPOCHREALTIME
    sh -c "${cmds[$i]#*; }" >/dev/null 2>&1 || true
    t1=$EPOCHREALTIME
    echo "$(( (${t1/./} - ${t0/./}) ))" >>"$T/s$i" # microseconds
  done
done
printf '%-40s %9s %9s  (n=%d, %s, load %s)\n' "airlock emit tool_call, permission-gate.ts" "p50 ms" "p99 ms" "$N" \
  "$(date -u +%H:%MZ)" "$(cut -d' ' -f1-3 /proc/loadavg)"
for i in "${!cmds[@]}"; do
  sort -n "$T/s$i" | awk -v name="${names[$i]}" '{a[NR]=$1} END {
    p50 = (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2
    r = int(0.99 * NR); if (r < 0.99 * NR) r++; if (r < 1) r = 1
    printf "%-40s %9.2f %9.2f\n", name, p50 / 1000, a[r] / 1000 }'
  sort -n "$T/s$i" | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}' >"$T/med$i"
done
awk -v a="$(cat "$T/med1")" -v b="$(cat "$T/med0")" -v c="$(cat "$T/med3")" -v d="$(cat "$T/med2")" \
  'BEGIN { printf "cached / cold (medians): process %.2f, thread %.2f\n", a / b, c / d }'
