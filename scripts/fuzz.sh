#!/usr/bin/env bash
# Builds the libFuzzer targets with clang-14 (ASan+UBSan) and runs each for a bounded
# time, seeded from the examples and conformance plugins. Usage: scripts/fuzz.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-30}
AIRLOCK_FUZZ=1 bash scripts/setup.sh
CC=clang-14 cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DAIRLOCK_FUZZ=ON -DAIRLOCK_SANITIZE=ON -DAIRLOCK_WERROR=ON -DAIRLOCK_TESTS=OFF >/dev/null
ninja -C build-fuzz fuzz_validate fuzz_plugin fuzz_ipc fuzz_wsmsg
seeds=build-fuzz/seeds
rm -rf "$seeds" && mkdir -p "$seeds/plugin" "$seeds/validate" "$seeds/ipc" "$seeds/wsmsg"
cp examples/plugins/*.js "$seeds/plugin/"
[ -d ../shared/conformance/plugins ] && cp ../shared/conformance/plugins/*.js "$seeds/plugin/"
printf '{"kind":"panel","children":[{"kind":"button","props":{"label":"x","onClick":{"handler":"h"}}}]}' >"$seeds/validate/tree.json"
printf '[{"scope":"shared","domain":"d","actionType":"a","payload":1}]' >"$seeds/validate/intents.json"
printf '{"title":"t","widgets":["a","b"]}' >"$seeds/validate/meta.json"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
printf '\0\0\0\017{"op":"health"}\0\0\0\002{}' >"$seeds/ipc/two-frames"
printf '{"id":1,"type":"hello"}' >"$seeds/wsmsg/hello"
printf '{"id":2,"type":"load","packageId":"p","source":"definePlugin(({ui})=>({widgets:{w:{render(){return ui.text(\\"x\\")},handlers:{h({dispatchSharedAction}){dispatchSharedAction(\\"counter-summary\\",\\"set-instance\\",{value:1})}}}}}))"}' >"$seeds/wsmsg/load"
printf '{"id":3,"type":"event","instanceId":"p@x","widgetId":"w","handler":"h","args":[1]}' >"$seeds/wsmsg/event"
printf '{"id":"g","type":"grants.set","instanceId":"p@x","grants":{"writeShared":["counter-summary"]}}' >"$seeds/wsmsg/grants"
printf '{"id":5,"type":"reload","instanceId":"p@x","source":"definePlugin(("}' >"$seeds/wsmsg/reload"
for t in validate plugin ipc wsmsg; do
  mkdir -p "build-fuzz/corpus-$t"
  log="build-fuzz/fuzz_$t.log"
  if build-fuzz/fuzz/fuzz_$t -max_total_time="$secs" -timeout=10 -rss_limit_mb=4096 \
      -print_final_stats=1 "build-fuzz/corpus-$t" "$seeds/$t" >"$log" 2>&1; then
    runs=$(grep -m1 '^stat::number_of_executed_units' "$log" | awk '{print $2}')
    echo "fuzz_$t: ${secs}s, ${runs:-?} inputs, no crash"
  else
    tail -40 "$log" >&2
    echo "fuzz_$t found a crash (input saved in the working directory, log $log)" >&2
    exit 1
  fi
done
