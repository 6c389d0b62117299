#!/usr/bin/env bash
# The README's first command: set up, build, and start the workbench (`airlock serve`) with
# the bundled example plugins. It prints the URL to open (with its per-run token) and
# opens a browser when there is a display; Ctrl-C stops it. Extra arguments go to
# `airlock serve` (e.g. --port 0, --no-open).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh release >/dev/null
exec build/airlock serve "$@"
