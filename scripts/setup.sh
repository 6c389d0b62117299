#!/usr/bin/env bash
# Installs what Airlock needs to build and test on Debian bookworm, as root, and only
# what is missing (so a second run costs a few dpkg queries). Safe to re-run.
set -euo pipefail

pkgs=(build-essential patch cmake ninja-build pkg-config git ca-certificates
      libjansson-dev libcmocka-dev libseccomp-dev libsqlite3-dev zlib1g-dev
      libcurl4-openssl-dev libwebsockets-dev libarchive-dev libssl-dev curl jq chromium
      openssh-client openssl)
# sqlite3: the host database; libarchive: reading package tarballs (tar and gzip); zlib:
# their gzip trailer check; libssl-dev: libcrypto's SHA-512 for npm integrity strings
# and ECDSA for npm's registry signatures; openssh-client: ssh-keygen checks publisher
# signatures at install; openssl: the tests make their signing keys with it;
# libcurl: pi.http; libwebsockets: `airlock serve`; curl: its HTTP tests; jq: the
# agent-hook tests read settings.json and the hooks' JSON answers with it; chromium: the
# workbench's end-to-end tests (driven by playwright-core from tests/e2e, which never
# downloads a browser). npm fetches QuickJS at configure time (qjsc@0.3.0) and the e2e
# tests' one dependency.
command -v npm >/dev/null 2>&1 || pkgs+=(nodejs npm)
if [ "${AIRLOCK_FUZZ:-0}" = 1 ]; then pkgs+=(clang-14 libclang-rt-14-dev); fi

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing packages: ${missing[*]}; run as root or install them" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
