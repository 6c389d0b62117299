#!/usr/bin/env bash
# Regenerates the workbench screenshots in docs/ (1280x800) from a running `airlock serve`.
# Builds nothing: point AIRLOCK_BIN at an existing binary (default build/airlock). Needs
# Debian's chromium and the e2e test dependencies (installed here if missing).
set -euo pipefail
cd "$(dirname "$0")/.."

bin="${AIRLOCK_BIN:-build/airlock}"
if [ ! -x "$bin" ]; then
  echo "screenshots: $bin not found; build first (bash scripts/build.sh) or set AIRLOCK_BIN" >&2
  exit 1
fi
PATH="$(bash scripts/node.sh):$PATH"
if [ ! -d tests/e2e/node_modules/playwright-core ]; then
  npm ci --prefix tests/e2e --no-audit --no-fund
fi
AIRLOCK_BIN="$bin" node tests/e2e/screenshots.mjs
