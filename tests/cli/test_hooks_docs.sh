#!/usr/bin/env bash
# test_hooks_docs.sh AIRLOCK HOOKS.md: every "<!-- hook-example: NAME EVENT EXIT -->" in the
# guide is followed by a ```js block (the package's index.js) and a ```json block (the
# payload); the example is loaded as a package and `airlock emit` must exit with EXIT.
set -u
bin=$1
doc=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
awk -v dir="$tmp" '
  /<!-- hook-example: / { split($0, f, " "); name = f[3]; print f[4] " " f[5] > (dir "/" name ".meta"); close(dir "/" name ".meta"); want = 1; next }
  want && /^```js$/ { out = dir "/" name ".js"; grab = 1; next }
  want && /^```json/ { out = dir "/" name ".json"; grab = 1; want = 0; next }
  grab && /^```/ { grab = 0; close(out); next }
  grab { print > out }
' "$doc"
pass=0
fail=0
for meta in "$tmp"/*.meta; do
  [ -e "$meta" ] || break
  name=$(basename "$meta" .meta)
  read -r event want <"$meta"
  pkg="$tmp/pkg-$name"
  mkdir -p "$pkg"
  cp "$tmp/$name.js" "$pkg/index.js"
  printf '{"id":"%s","version":"1.0.0"}\n' "$name" >"$pkg/airlock.json"
  out=$("$bin" emit "$event" "$tmp/$name.json" --home "$tmp/home" --plugin "$pkg" --isolation thread 2>&1)
  got=$?
  if [ "$got" = "$want" ] && ! grep -q "not loaded" <<<"$out"; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1))
    echo "FAIL: example $name: exit $got, expected $want"
    echo "$out"
  fi
done
echo "$pass passed, $fail failed"
[ "$pass" -ge 3 ] && [ "$fail" -eq 0 ]
