#!/usr/bin/env bash
# test_docs.sh AIRLOCK GUIDE.md: every example in the guide (a ```js block preceded by
# "<!-- example: NAME -->") is a complete plugin that loads and renders cleanly.
set -u
bin=$1
doc=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
awk -v dir="$tmp" '
  /<!-- example: [A-Za-z0-9_-]+ -->/ { match($0, /example: [A-Za-z0-9_-]+/); name = substr($0, RSTART + 9, RLENGTH - 9); want = 1; next }
  want && /^```js/ { out = dir "/" name ".js"; grab = 1; want = 0; next }
  grab && /^```/ { grab = 0; close(out); next }
  grab { print > out }
' "$doc"
pass=0
fail=0
for f in "$tmp"/*.js; do
  [ -e "$f" ] || break
  if out=$("$bin" check "$f" 2>&1); then
    pass=$((pass + 1))
  else
    fail=$((fail + 1))
    echo "FAIL: example $(basename "$f" .js)"
    echo "$out"
  fi
done
echo "$pass passed, $fail failed"
[ "$pass" -ge 5 ] && [ "$fail" -eq 0 ]
