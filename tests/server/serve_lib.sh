# serve_lib.sh: what the `airlock serve` tests share, sourced after `set -uo pipefail`:
# the binary from $1, a scratch directory removed on exit with the server ($pid), the
# check() counter, and curl helpers for a page's status and a WebSocket upgrade's.
bin=$1
tmp=$(mktemp -d)
fails=0
pid=
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

check() { # name, condition result (0 ok)
  if [ "$2" -eq 0 ]; then echo "ok   $1"; else echo "FAIL $1"; fails=$((fails + 1)); fi
}

status() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
ws() { # extra curl args...; prints the status of a WebSocket upgrade
  curl -s -o /dev/null -w '%{http_code}' --max-time 3 -H 'Connection: Upgrade' -H 'Upgrade: websocket' \
    -H 'Sec-WebSocket-Version: 13' -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' "$@"
}
