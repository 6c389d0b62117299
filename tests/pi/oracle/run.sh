#!/usr/bin/env bash
# Runs the pi examples suite against pi's own runtime (airlock-oracle.mjs) instead of
# Airlock, to check the scenarios themselves. Not part of ctest: it installs pi and its npm
# dependencies (npm install of the pinned version, into DIR, once) and runs every step
# through jiti, which takes minutes. Usage: tests/pi/oracle/run.sh [DIR] [run.mjs options]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
dir="$(realpath -m "${1:-$here/../../../build/pi-oracle}")"; shift || true
PATH="$(bash "$here/../../../scripts/node.sh"):$PATH"
pkg="$dir/node_modules/@mariozechner/pi-coding-agent"
if [ ! -f "$pkg/package.json" ]; then
  mkdir -p "$dir"
  npm install --prefix "$dir" --no-audit --no-fund --loglevel=error @mariozechner/pi-coding-agent@0.73.1
fi
printf '#!/bin/sh\nexec node "%s/airlock-oracle.mjs" "%s" "$@"\n' "$here" "$pkg" >"$dir/airlock"
chmod +x "$dir/airlock"
AIRLOCK_BIN="$dir/airlock" PI_ORACLE=1 exec node "$here/../run.mjs" --dest "$dir/examples" "$@"
