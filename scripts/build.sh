#!/usr/bin/env bash
# Configures and builds one tree. Usage: scripts/build.sh [release|asan|tsan] [build-dir]
set -euo pipefail
cd "$(dirname "$0")/.."
kind=${1:-release}
case "$kind" in
  release) dir=${2:-build}; flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo) ;;
  asan)    dir=${2:-build-asan}; flags=(-DCMAKE_BUILD_TYPE=Debug -DAIRLOCK_SANITIZE=ON -DAIRLOCK_WERROR=ON) ;;
  tsan)    dir=${2:-build-tsan}; flags=(-DCMAKE_BUILD_TYPE=Debug -DAIRLOCK_TSAN=ON -DAIRLOCK_WERROR=ON) ;;
  *) echo "usage: $0 [release|asan|tsan] [build-dir]" >&2; exit 2 ;;
esac
cmake -S . -B "$dir" -G Ninja "${flags[@]}" >/dev/null
ninja -C "$dir"
