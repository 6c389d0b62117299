#!/usr/bin/env bash
# The one test command (README, .ci/run): installs what is missing, builds the release
# tree (build/), the ThreadSanitizer tree (build-tsan/) and the ASan+UBSan tree
# (build-asan/), runs every parser's fuzz target for a bounded time, the thread-mode tests
# under TSan, the workbench's end-to-end tests (chromium) against the release build, then
# the official pi extension examples, then every test under ASan+UBSan (whose ctest
# summary closes the output).
set -euo pipefail
cd "$(dirname "$0")/.."
AIRLOCK_FUZZ=1 bash scripts/setup.sh
bash scripts/build.sh release
bash scripts/build.sh tsan
bash scripts/build.sh asan
bash scripts/fuzz.sh "${AIRLOCK_FUZZ_SECONDS:-20}"
(cd build-tsan && TSAN_OPTIONS=halt_on_error=1 \
  ctest --output-on-failure -j"$(nproc)" -R '^(test_pool|test_workers|test_host|test_limits|test_sandbox|test_process|test_process_socket|test_resident|test_regexp|test_reload|test_session|serve_http|test_hooks|test_hostcalls|test_waiting|test_vm_reuse|test_pi_ext|conform_shared|conform_shared_process)$')
# The workbench end to end: node --test + playwright-core driving Debian's chromium.
PATH="$(bash scripts/node.sh):$PATH"
[ -d tests/e2e/node_modules/playwright-core ] || npm ci --prefix tests/e2e --no-audit --no-fund
e2e_flags=()
node --help | grep -q -- --test-concurrency && e2e_flags+=(--test-concurrency=1)
AIRLOCK_BIN=build/airlock node --test "${e2e_flags[@]}" tests/e2e/
# The official pi extension examples (issue 11) against the release build: fetch with
# pinned sha512, survey, load checks and scenarios (tests/pi/run.mjs; ctest label pi).
ctest --test-dir build -L pi --output-on-failure
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
cd build-asan
ctest --output-on-failure -j"$(nproc)"
