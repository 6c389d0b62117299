#!/usr/bin/env bash
# ctest's entry to the pi examples suite (tests/pi/run.mjs): finds a node >= 20 through
# scripts/node.sh, as the e2e tests do, and runs the suite against the given airlock binary,
# extracting the examples into the given directory of the build tree.
# Usage: tests/pi/run.sh AIRLOCK_BIN DEST_DIR
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
PATH="$(bash "$here/../../scripts/node.sh"):$PATH"
AIRLOCK_BIN="$1" exec node "$here/run.mjs" --dest "$2"
