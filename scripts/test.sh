#!/usr/bin/env bash
# The one test command (README, .ci/run): installs what is missing, builds the release
# tree (build/) and the ASan+UBSan tree (build-asan/), and runs every test in the latter.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh release
bash scripts/build.sh asan
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
cd build-asan
ctest --output-on-failure -j"$(nproc)"
