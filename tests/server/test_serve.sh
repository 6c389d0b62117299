#!/usr/bin/env bash
# `airlock serve` over real sockets, with curl: Host and Origin checks, the WebSocket
# token, security headers, MIME types, path handling, loopback-only binding. Usage:
#   test_serve.sh <airlock binary>
set -uo pipefail
# shellcheck source=serve_lib.sh
. "$(dirname "$0")/serve_lib.sh"

"$bin" serve --no-open --port 0 --isolation thread --home "$tmp/home" >"$tmp/out" 2>"$tmp/err" &
pid=$!
for _ in $(seq 100); do grep -q '^airlock serve: http' "$tmp/out" && break; sleep 0.1; done
url=$(sed -n 's/^airlock serve: //p' "$tmp/out")
[[ "$url" =~ ^http://127\.0\.0\.1:([0-9]+)/\?token=([0-9a-f]{32})$ ]]
check "prints http://127.0.0.1:PORT/?token=<32 hex>" $?
port=${BASH_REMATCH[1]:-0}
token=${BASH_REMATCH[2]:-x}
hp=127.0.0.1:$port


curl -s -D "$tmp/h" -o "$tmp/index" "http://$hp/"
grep -qi "^content-security-policy: default-src 'self'" "$tmp/h"; check "CSP default-src 'self'" $?
grep -qi '^x-content-type-options: nosniff' "$tmp/h"; check "nosniff" $?
grep -qi '^cache-control: no-store' "$tmp/h"; check "no-store" $?
grep -qi '^content-type: text/html' "$tmp/h"; check "index is text/html" $?
grep -qi '<html' "$tmp/index"; check "index served" $?
js=$(grep -o 'src="[^"]*\.js"' "$tmp/index" | head -1 | sed 's/src="//; s/"$//; s|^\./|/|; s|^\([^/]\)|/\1|')
[ -n "$js" ] && curl -s -D - -o /dev/null "http://$hp$js" | grep -qi '^content-type: text/javascript'
check "module $js is text/javascript" $?
curl -s -D - -o /dev/null "http://$hp/docs/plugin-authoring.md" | grep -qi '^content-type: text/markdown'
check "guide is text/markdown" $?
[ "$(status "http://$hp/nope.js")" = 404 ]; check "missing file 404" $?
[ "$(status --path-as-is "http://$hp/../CMakeLists.txt")" = 404 ]; check "../ refused" $?
[ "$(status "http://$hp/.hidden")" = 404 ]; check "hidden file refused" $?

[ "$(status -H 'Origin: http://evil.example' "http://$hp/")" = 403 ]; check "foreign Origin 403" $?
[ "$(status -H "Origin: http://$hp.evil.example" "http://$hp/")" = 403 ]; check "look-alike Origin 403" $?
[ "$(status -H 'Host: evil.example' "http://$hp/")" = 403 ]; check "foreign Host 403" $?
[ "$(status -H "Host: evil.example:$port" "http://$hp/")" = 403 ]; check "foreign Host, our port 403" $?
[ "$(status -H "Origin: http://$hp" "http://$hp/")" = 200 ]; check "own Origin 200" $?
[ "$(status -H "Host: localhost:$port" "http://$hp/")" = 200 ]; check "localhost:PORT Host 200" $?
curl -s -D - -o /dev/null -H 'Host: evil.example' "http://$hp/" | grep -qi "^content-security-policy: default-src 'self'"
check "CSP on a refusal too" $?

[ "$(ws "http://$hp/ws")" = 403 ]; check "WebSocket without token 403" $?
ws -D "$tmp/wsh" "http://$hp/ws" >/dev/null; grep -qi "^content-security-policy: default-src 'self'" "$tmp/wsh"
check "CSP on a WebSocket refusal" $?
[ "$(ws "http://$hp/ws?token=${token%?}0")" = 403 ] || [ "${token: -1}" = 0 ]; check "WebSocket wrong token 403" $?
[ "$(ws "http://$hp/ws?token=")" = 403 ]; check "WebSocket empty token 403" $?
[ "$(ws "http://$hp/ws?token=${token}x")" = 403 ]; check "WebSocket longer token 403" $?
[ "$(ws "http://$hp/other?token=$token")" = 403 ]; check "WebSocket on another path 403" $?
[ "$(ws -H 'Origin: http://evil.example' "http://$hp/ws?token=$token")" = 403 ]; check "WebSocket foreign Origin 403" $?
[ "$(ws -H 'Host: evil.example' "http://$hp/ws?token=$token")" = 403 ]; check "WebSocket foreign Host 403" $?
[ "$(ws -H "Origin: http://$hp" "http://$hp/ws?token=$token")" = 101 ]; check "WebSocket with token 101" $?

kill -0 "$pid" 2>/dev/null; check "server still running" $?
kill "$pid"; wait "$pid"; check "exits 0 on SIGTERM" $?
pid=

"$bin" serve --no-open --port 0 --host 0.0.0.0 >"$tmp/out2" 2>"$tmp/err2"
[ $? = 2 ] && grep -q 'not a loopback address' "$tmp/err2"; check "non-loopback --host refused" $?
"$bin" serve --no-open --port 99999 >/dev/null 2>"$tmp/err3"
[ $? = 2 ] && grep -q 'INVALID_ARGUMENT' "$tmp/err3"; check "bad --port refused" $?

echo "$fails failed"
[ "$fails" -eq 0 ]
