#!/usr/bin/env bash
# The README's first command (until the workbench lands): set up, build, and run the
# counter example through two increments.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh release >/dev/null
exec build/airlock run examples/plugins/counter.js --event counter:increment --event counter:increment
