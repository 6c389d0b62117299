#!/usr/bin/env bash
# test_cli.sh AIRLOCK SRC_DIR: the CLI's observable behaviour (output, exit status, errors).
set -u
bin=$1
src=$2
ex="$src/examples/plugins"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# shellcheck source=expect.sh
. "$(dirname "$0")/expect.sh"

expect 0 'Counter: 2' -- "$bin" run "$ex/counter.js" --event counter:increment --event counter:increment
expect 0 '\[Increment\]' -- "$bin" run "$ex/counter.js"
expect 0 'Counter: 5' -- "$bin" run "$ex/counter.js" --state '{"value":5}'
expect 1 '^error: IO_ERROR: cannot read' -- "$bin" run "$tmp/missing.js"
expect 2 'unknown or incomplete option' -- "$bin" run "$ex/counter.js" --bogus
expect 2 'WIDGET:HANDLER' -- "$bin" run "$ex/counter.js" --event nocolon
expect 1 '^error: HANDLER_NOT_FOUND: Handler not found: nope' -- "$bin" run "$ex/counter.js" --event counter:nope
expect 2 'read:DOMAIN' -- "$bin" run "$ex/counter.js" --grant admin:all

printf 'definePlugin(() => ({ widgets: {} })' >"$tmp/syntax.js"
expect 1 '^error: PLUGIN_LOAD_ERROR: SyntaxError' -- "$bin" run "$tmp/syntax.js"
printf 'definePlugin(({ui}) => ({ widgets: { a: { render() { for(;;){} } }, b: { render() { return ui.text("fine"); } } } }));' >"$tmp/loop.js"
expect 1 'error: VM_TIMEOUT' -- "$bin" run "$tmp/loop.js"
expect 1 'fine' -- "$bin" run "$tmp/loop.js"
expect 1 'render a +FAIL +VM_TIMEOUT' -- "$bin" check "$tmp/loop.js"
expect 0 '0 errors' -- "$bin" check "$ex/counter.js"
expect 0 '"ok": true' -- "$bin" check "$ex/counter.js" --json

# --json is one parseable document with the documented keys; denied writes show up
out=$("$bin" run "$ex/counter.js" --package custom --event counter:increment --json --trace)
if node -e '
  const d = JSON.parse(require("fs").readFileSync(0, "utf8"));
  for (const k of ["plugin", "state", "trees", "timeline", "errors", "telemetry"]) if (!(k in d)) throw new Error("missing " + k);
  if (d.errors.length !== 0) throw new Error("errors");
  if (!d.timeline.some(e => e.outcome === "ignored" || e.outcome === "denied")) throw new Error("custom package: expected an ignored or denied action");
  if (!d.telemetry.every(t => typeof t.elapsedUs === "number")) throw new Error("telemetry");
' <<<"$out"; then ok; else bad "--json document"; fi

# --json keeps the library's numbers as it wrote them (shortest round-trip form): the
# document is spliced from its texts, not parsed and printed again (issue 15)
out=$("$bin" run "$ex/counter.js" --state '{"count":0.1,"sum":0.30000000000000004,"big":1e300}' --json)
if grep -qE '^    "count": 0\.1,$' <<<"$out" && grep -qE '"sum": 0\.30000000000000004,$' <<<"$out" &&
   grep -qE '"big": 1e\+?300$' <<<"$out" && ! grep -q '0\.10000000000000001' <<<"$out" &&
   node -e 'const d = JSON.parse(require("fs").readFileSync(0, "utf8")); if (d.state.count !== 0.1 || d.state.sum !== 0.1 + 0.2) throw 0;' <<<"$out"; then
  ok
else
  bad "run --json reprints numbers"; grep -n 'count\|sum\|big' <<<"$out"
fi

# grants from the command line reach the store
out=$("$bin" run "$ex/counter.js" --grant read:counter-summary --grant write:counter-summary --event counter:increment --json)
if node -e '
  const d = JSON.parse(require("fs").readFileSync(0, "utf8"));
  const shared = d.timeline.filter(e => e.scope === "shared");
  if (!shared.length || shared.some(e => e.outcome !== "applied")) throw new Error(JSON.stringify(d.timeline));
' <<<"$out"; then ok; else bad "--grant write applies"; fi

# plugin text reaches the terminal escaped (issue 16 item 5): a log line, the title, a
# widget name, UI text and a thrown message carry ESC, CR, BEL and a right-to-left
# override; none may reach either stream raw, each must show as its escaped form. The
# --json document is for programs and keeps the plugin's text exactly.
cat >"$tmp/esc.js" <<'JS'
pi.logger.warn("log \u001b[2J\r\u202eend");
definePlugin(({ ui }) => ({
  title: "T\u001b]0;pwned\u0007",
  widgets: {
    "w\u001b[1m": {
      render() { return ui.panel([ui.text("a\u001b[2Jb"), ui.button("\u202eok", { onClick: { handler: "h" } })]); },
      handlers: { h() { throw new Error("boom \u001b[31m"); } },
    },
  },
}));
JS
raw_free() { # raw_free WHAT FILE: no ESC, CR, BEL or U+202E byte in FILE
  if LC_ALL=C grep -qP '\x1b|\r|\x07|\xe2\x80\xae' "$2"; then bad "$1: raw control bytes on the terminal"; cat -v "$2" | head; else ok; fi
}
"$bin" run "$tmp/esc.js" --event $'w\e[1m:h' >"$tmp/esc.out" 2>&1
raw_free "airlock run" "$tmp/esc.out"
for want in '[esc] warn: log \x1b[2J\x0d\u202eend' 'T\x1b]0;pwned\x07  (' '-- w\x1b[1m --' '  a\x1b[2Jb' \
    '[\u202eok]' 'error: PLUGIN_ERROR: Error: boom \x1b[31m'; do
  if grep -qF -- "$want" "$tmp/esc.out"; then ok; else bad "airlock run: no '$want' in"; cat -v "$tmp/esc.out"; fi
done
"$bin" check "$tmp/esc.js" >"$tmp/esc.out" 2>&1
raw_free "airlock check" "$tmp/esc.out"
if grep -qF 'title          T\x1b]0;pwned\x07' "$tmp/esc.out" && grep -qF 'render w\x1b[1m ok' "$tmp/esc.out"; then ok; else bad "airlock check: escaped title and widget"; cat -v "$tmp/esc.out"; fi
out=$("$bin" run "$tmp/esc.js" --json 2>/dev/null)
if node -e '
  const d = JSON.parse(require("fs").readFileSync(0, "utf8"));
  if (d.plugin.title !== "T\u001b]0;pwned\u0007") throw new Error("title " + JSON.stringify(d.plugin.title));
  if (!("w\u001b[1m" in d.trees)) throw new Error("widget " + JSON.stringify(Object.keys(d.trees)));
' <<<"$out"; then ok; else bad "--json keeps the plugin's text exactly"; fi

# process isolation end to end, and the sandbox report
expect 0 'Counter: 2' -- "$bin" run "$ex/counter.js" --isolation process --event counter:increment --event counter:increment
expect 1 'error: VM_TIMEOUT' -- "$bin" run "$tmp/loop.js" --isolation process
expect 2 'takes thread, inline or process' -- "$bin" run "$ex/counter.js" --isolation vm
expect 0 'seccomp allowlist +active' -- "$bin" doctor
expect 0 '"processIsolation":true' -- "$bin" doctor --json

expect 2 'usage' -- "$bin" conform
expect 2 'INVALID_ARGUMENT' -- "$bin" conform "$tmp/missing.json"
expect 2 'unknown command' -- "$bin" frobnicate
expect 0 'airlock [0-9]' -- "$bin" version

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
