#!/usr/bin/env bash
# `airlock serve`'s browser opener never sees the token: it gets a one-time `?code=` URL
# (server/server.c). AIRLOCK_OPENER points the server at a script that records the argv and
# environment it was given, as xdg-open would be; then, over real sockets with curl: the
# code's page carries the token and that token opens a WebSocket, the code is refused
# (403, with the message) when presented again, the terminal's token URL still works,
# and a server started with --no-open accepts no code at all. Usage:
#   test_serve_code.sh <airlock binary>
set -uo pipefail
# shellcheck source=serve_lib.sh
. "$(dirname "$0")/serve_lib.sh"

# The fake opener: one argument a line, then its environment; "done" last, so the test
# reads the files only once they are whole.
cat >"$tmp/opener" <<SH
#!/bin/sh
for a in "\$0" "\$@"; do printf '%s\n' "\$a"; done >"$tmp/argv"
env >"$tmp/env"
: >"$tmp/done"
SH
chmod +x "$tmp/opener"

DISPLAY=:airlock-test AIRLOCK_OPENER="$tmp/opener" \
  "$bin" serve --port 0 --isolation thread --home "$tmp/home" >"$tmp/out" 2>"$tmp/err" &
pid=$!
for _ in $(seq 100); do grep -q '^airlock serve: http' "$tmp/out" && [ -e "$tmp/done" ] && break; sleep 0.1; done
url=$(sed -n 's/^airlock serve: //p' "$tmp/out")
[[ "$url" =~ ^http://127\.0\.0\.1:([0-9]+)/\?token=([0-9a-f]{32})$ ]]
check "the terminal gets http://127.0.0.1:PORT/?token=<32 hex>" $?
port=${BASH_REMATCH[1]:-0}
token=${BASH_REMATCH[2]:-x}
hp=127.0.0.1:$port

[ -e "$tmp/done" ]; check "the opener ran" $?
opened=$(sed -n 2p "$tmp/argv" 2>/dev/null)
[ "$(wc -l <"$tmp/argv" 2>/dev/null)" = 2 ] && [[ "$opened" =~ ^http://127\.0\.0\.1:$port/\?code=([0-9a-f]{32})$ ]]
check "the opener's argv is one URL, http://127.0.0.1:PORT/?code=<32 hex>" $?
code=${BASH_REMATCH[1]:-}
! grep -q "$token" "$tmp/argv"; check "the token is nowhere in the opener's argv" $?
! grep -q "$token" "$tmp/env"; check "the token is nowhere in the opener's environment" $?
[ -n "$code" ] && [ "$code" != "$token" ]; check "the code is not the token" $?


# Refusals by Host or Origin come first and do not spend the code.
[ "$(status -H 'Host: evil.example' "http://$hp/?code=$code")" = 403 ]; check "code with a foreign Host 403" $?
[ "$(status -H 'Origin: http://evil.example' "http://$hp/?code=$code")" = 403 ]; check "code with a foreign Origin 403" $?
[ "$(status "http://$hp/?code=${code%?}x")" = 403 ]; check "a wrong code 403" $?
[ "$(status "http://$hp/?code=$token")" = 403 ]; check "the token as a code 403" $?
# The code on another path is just a file request: it neither opens nor spends anything.
curl -s -o "$tmp/js" "http://$hp/favicon.svg?code=$code"
! grep -q "$token" "$tmp/js"; check "the code on another path gives no token" $?

curl -s -D "$tmp/h1" -o "$tmp/page1" -w '%{http_code}\n' "http://$hp/?code=$code" >"$tmp/s1"
[ "$(cat "$tmp/s1")" = 200 ]; check "the code's first use 200" $?
grep -qi '^content-type: text/html' "$tmp/h1"; check "the code's page is text/html" $?
grep -qi '^cache-control: no-store' "$tmp/h1"; check "the code's page is no-store" $?
grep -qi "^content-security-policy: default-src 'self'" "$tmp/h1"; check "the code's page has the CSP" $?
! grep -qi '^set-cookie' "$tmp/h1"; check "the code's page sets no cookie" $?
got=$(sed -n 's/.*<meta name="airlock-token" content="\([0-9a-f]*\)">.*/\1/p' "$tmp/page1")
[ "$got" = "$token" ]; check "the code's page carries the token" $?
grep -q '<script type="module" src="/js/main.js">' "$tmp/page1"; check "the code's page is the workbench" $?
[ "$(ws -H "Origin: http://$hp" "http://$hp/ws?token=$got")" = 101 ]; check "its token opens the WebSocket (101)" $?

curl -s -o "$tmp/page2" -w '%{http_code}\n' "http://$hp/?code=$code" >"$tmp/s2"
[ "$(cat "$tmp/s2")" = 403 ]; check "the code's second use 403" $?
grep -q 'already used or has expired' "$tmp/page2" && grep -q 'printed on its terminal' "$tmp/page2"
check "the second use says the code was used or expired and to use the terminal's URL" $?
! grep -q "$token" "$tmp/page2"; check "the refusal gives no token" $?

curl -s -o "$tmp/plain" "http://$hp/"
! grep -q 'airlock-token' "$tmp/plain"; check "the plain page carries no token" $?
curl -s -o "$tmp/tokpage" "http://$hp/?token=$token"
! grep -q 'airlock-token' "$tmp/tokpage" && grep -q '<html' "$tmp/tokpage"; check "the token URL serves the page" $?
[ "$(ws -H "Origin: http://$hp" "http://$hp/ws?token=$token")" = 101 ]; check "the token URL's token still opens the WebSocket" $?
[ "$(ws "http://$hp/ws?code=$code")" = 403 ]; check "a code does not open the WebSocket" $?

kill "$pid"; wait "$pid"; check "exits 0 on SIGTERM" $?
pid=

# --no-open: no opener runs and no code exists, so none is accepted.
rm -f "$tmp/done"
DISPLAY=:airlock-test AIRLOCK_OPENER="$tmp/opener" \
  "$bin" serve --no-open --port 0 --isolation thread --home "$tmp/home" >"$tmp/out2" 2>"$tmp/err2" &
pid=$!
for _ in $(seq 100); do grep -q '^airlock serve: http' "$tmp/out2" && break; sleep 0.1; done
url2=$(sed -n 's/^airlock serve: //p' "$tmp/out2")
[[ "$url2" =~ ^http://127\.0\.0\.1:([0-9]+)/ ]]; hp2=127.0.0.1:${BASH_REMATCH[1]:-0}
[ "$(status "http://$hp2/?code=$code")" = 403 ]; check "--no-open: the old run's code 403" $?
[ "$(status "http://$hp2/?code=")" = 403 ]; check "--no-open: an empty code 403" $?
[ ! -e "$tmp/done" ]; check "--no-open: no opener ran" $?
kill "$pid"; wait "$pid"; check "--no-open: exits 0 on SIGTERM" $?
pid=

echo "$fails failed"
[ "$fails" -eq 0 ]
